"""Fixtures shared by the unit tests: a genesis with issuers for USD (2 decimals) and JPY (0 decimals) and
funded accounts, all built from KeyPair.from_seed, a fresh State over it, and a LevelDB Store made from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from corridor.ledger.genesis import Genesis
from corridor.ledger.state import MemoryReader, State
from corridor.ledger.store import Store

from unit_support import genesis_reader, make_genesis

# Moderate example counts keep the whole unit suite well under a minute; CI can raise them with
# `--hypothesis-profile=thorough`.
settings.register_profile("unit", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("unit")


@pytest.fixture(scope="session")
def genesis() -> Genesis:
    return make_genesis()


@pytest.fixture()
def reader(genesis: Genesis) -> MemoryReader:
    """The committed genesis state, as encoded entries in a dict."""
    return genesis_reader(genesis)


@pytest.fixture()
def state(reader: MemoryReader) -> State:
    """A fresh overlay over the genesis state: writes stay in it."""
    return State(reader)


@pytest.fixture()
def store(tmp_path: Path, genesis: Genesis) -> Iterator[Store]:
    """A LevelDB store made from the test genesis, closed after the test."""
    opened = Store(tmp_path / "db", genesis)
    yield opened
    opened.close()
