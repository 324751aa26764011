"""The safety guard never signs two conflicting messages, with either store, and across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.consensus.core import Resume, Step
from corridor.consensus.safety import RESEND_ROUNDS_MAX, DoubleSignRefused, MemorySafetyStore, SafetyGuard, SafetyState
from corridor.ledger.genesis import Genesis
from corridor.ledger.store import Store
from corridor.node.runner import StoreSafety

from unit_support import KEYS

B1, B2 = b"\x01" * 32, b"\x02" * 32


class _ChainStub:
    def __init__(self, store: Store) -> None:
        self.store = store


class GuardFactory:
    """Makes guards over one persistent store; `restart()` forgets everything held in memory."""

    def __init__(self, kind: str, directory: Path, genesis: Genesis) -> None:
        self.kind, self.directory, self.genesis = kind, directory, genesis
        self.memory = MemorySafetyStore()
        self.store: Store | None = None

    def guard(self) -> SafetyGuard:
        if self.kind == "memory":
            return SafetyGuard(self.memory, KEYS["validator"].sign)
        if self.store is not None:
            self.store.close()
        self.store = Store(self.directory / "db", self.genesis)
        return SafetyGuard(StoreSafety(_ChainStub(self.store)), KEYS["validator"].sign)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@pytest.fixture(params=["memory", "leveldb"])
def guards(request: pytest.FixtureRequest, tmp_path: Path, genesis: Genesis):
    factory = GuardFactory(request.param, tmp_path, genesis)
    yield factory
    factory.close()


def sign(guard: SafetyGuard, height: int, round_number: int, step: str, block_hash: bytes) -> bytes:
    return guard.sign(height, round_number, step, block_hash, repr((height, round_number, step, block_hash)).encode())


def test_conflicting_prevote_in_the_same_round_is_refused(guards: GuardFactory) -> None:
    guard = guards.guard()
    sign(guard, 5, 0, "prevote", B1)
    with pytest.raises(DoubleSignRefused):
        sign(guard, 5, 0, "prevote", B2)


def test_the_same_request_gets_the_same_signature(guards: GuardFactory) -> None:
    guard = guards.guard()
    assert sign(guard, 5, 0, "prevote", B1) == sign(guard, 5, 0, "prevote", B1)


def test_older_positions_are_refused(guards: GuardFactory) -> None:
    guard = guards.guard()
    sign(guard, 5, 2, "precommit", B1)
    for height, round_number, step in ((5, 2, "prevote"), (5, 1, "precommit"), (4, 9, "precommit"), (5, 2, "proposal")):
        with pytest.raises(DoubleSignRefused):
            sign(guard, height, round_number, step, B1)
    sign(guard, 5, 3, "prevote", B2)
    sign(guard, 6, 0, "proposal", B2)


def test_a_restarted_guard_still_refuses_and_keeps_its_lock(guards: GuardFactory) -> None:
    guard = guards.guard()
    sign(guard, 7, 1, "precommit", B1)
    sign(guard, 7, 2, "prevote", B1)
    restarted = guards.guard()
    with pytest.raises(DoubleSignRefused):
        sign(restarted, 7, 2, "prevote", B2)
    resume, records = restarted.state.resume_point(7)
    assert resume == Resume(7, 2, Step.PREVOTE, (1, B1))
    assert [(r.round, r.step, r.block_hash) for r in records] == [(1, "precommit", B1), (2, "prevote", B1)]
    assert restarted.state.resume_point(8) == (None, ())


def test_every_message_of_the_height_is_kept_for_resending(guards: GuardFactory) -> None:
    guard = guards.guard()
    sign(guard, 8, 3, "precommit", B1)
    sign(guard, 9, 0, "prevote", B1)
    sign(guard, 9, 1, "proposal", B2)
    sign(guard, 9, 1, "prevote", B2)
    sign(guard, 9, 1, "precommit", B2)
    resume, records = guards.guard().state.resume_point(9)
    assert resume == Resume(9, 1, Step.PRECOMMIT, (1, B2))
    assert [(r.round, r.step) for r in records] == [(0, "prevote"), (1, "proposal"), (1, "prevote"), (1, "precommit")]


def test_only_the_last_rounds_of_a_height_are_kept() -> None:
    guard = SafetyGuard(MemorySafetyStore(), KEYS["validator"].sign)
    for round_number in range(40):
        sign(guard, 2, round_number, "prevote", b"")
    _, records = guard.state.resume_point(2)
    assert [r.round for r in records] == list(range(40 - RESEND_ROUNDS_MAX, 40))
    assert len(SafetyState.from_bytes(guard.state.to_bytes()).height_records) == RESEND_ROUNDS_MAX


def test_a_nil_precommit_does_not_replace_the_lock() -> None:
    guard = SafetyGuard(MemorySafetyStore(), KEYS["validator"].sign)
    sign(guard, 3, 0, "precommit", B1)
    sign(guard, 3, 1, "precommit", b"")
    resume, _ = guard.state.resume_point(3)
    assert resume == Resume(3, 1, Step.PRECOMMIT, (0, B1))


def test_safety_state_round_trips() -> None:
    guard = SafetyGuard(MemorySafetyStore(), KEYS["validator"].sign)
    sign(guard, 3, 0, "precommit", B1)
    assert SafetyState.from_bytes(guard.state.to_bytes()) == guard.state
