"""The genesis document: a good one starts the chain with supply equal to its balances; a bad one is refused
with GenesisError and a reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from corridor import codec
from corridor.hashing import sha256
from corridor.ledger.genesis import GenesisError, load_genesis, parse_genesis
from corridor.ledger.state import MemoryReader

from unit_support import ADDRESSES, CHAIN_ID, KEYS, USD_RESERVE_MINOR, genesis_document


def test_good_genesis_is_parsed_with_supply_from_balances() -> None:
    genesis = parse_genesis(genesis_document())
    assert genesis.chain_id == CHAIN_ID
    assert [v.public_key for v in genesis.validators] == [KEYS["validator"].public_key]
    by_code = {c.code: c for c in genesis.currencies}
    assert by_code["USD"].supply_minor == 700_000 and by_code["USD"].decimals == 2
    assert by_code["JPY"].supply_minor == 1_030_000 and by_code["JPY"].decimals == 0
    assert by_code["USD"].issuer == ADDRESSES["usd_issuer"]
    assert genesis.hash == sha256(codec.encode(genesis_document()))
    state = genesis.initial_state(MemoryReader())
    assert state.get_balance(ADDRESSES["alice"], "JPY") == 1_000_000
    assert state.get_currency("USD") == by_code["USD"]


def test_genesis_hash_changes_with_any_change() -> None:
    base = parse_genesis(genesis_document()).hash
    changed = genesis_document()
    changed["balances"][1]["amount_minor"] += 1
    assert parse_genesis(changed).hash != base
    assert parse_genesis(genesis_document()).hash == base


def test_two_balances_of_one_account_add_up() -> None:
    document = genesis_document()
    document["balances"].append(dict(document["balances"][0]))
    genesis = parse_genesis(document)
    state = genesis.initial_state(MemoryReader())
    assert state.get_balance(ADDRESSES["alice"], "USD") == 1_000_000
    assert {c.code: c.supply_minor for c in genesis.currencies}["USD"] == 1_200_000


def _edit(path: tuple[Any, ...], value: Any) -> Callable[[dict], None]:
    def apply(document: dict) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return apply


DELETE = object()

BAD_GENESIS: dict[str, Callable[[dict], None]] = {
    "missing_balances": _edit(("balances",), DELETE),
    "extra_field": _edit(("fees",), 0),
    "chain_id_upper_case": _edit(("chain_id",), "Corridor"),
    "chain_id_too_short": _edit(("chain_id",), "ab"),
    "chain_id_with_space": _edit(("chain_id",), "corridor test"),
    "time_negative": _edit(("genesis_time_ms",), -1),
    "time_float": _edit(("genesis_time_ms",), 1.5),
    "no_validators": _edit(("validators",), []),
    "validator_key_not_hex": _edit(("validators", 0, "public_key"), "zz" * 32),
    "validator_key_short": _edit(("validators", 0, "public_key"), "00" * 31),
    "validator_power_zero": _edit(("validators", 0, "power"), 0),
    "validator_power_bool": _edit(("validators", 0, "power"), True),
    "validator_name_empty": _edit(("validators", 0, "name"), ""),
    "currency_code_lower": _edit(("currencies", 0, "code"), "usd"),
    "currency_decimals_19": _edit(("currencies", 0, "decimals"), 19),
    "currency_issuer_mistyped": _edit(("currencies", 0, "issuer"), "cor1" + "q" * 38),
    "currency_issuer_hex": _edit(("currencies", 0, "issuer"), ADDRESSES["usd_issuer"].hex()),
    "currency_report_hash_short": _edit(("currencies", 0, "reserve_report_hash"), "00" * 31),
    "currency_missing_reserve": _edit(("currencies", 0, "reserve_minor"), DELETE),
    "supply_exceeds_reserve": _edit(("currencies", 0, "reserve_minor"), 699_999),
    "balance_zero": _edit(("balances", 0, "amount_minor"), 0),
    "balance_unregistered_currency": _edit(("balances", 0, "currency"), "EUR"),
    "balance_address_mistyped": _edit(("balances", 0, "address"), KEYS["alice"].address_text[:-1] + "q"),
}


@pytest.mark.parametrize("edit", BAD_GENESIS.values(), ids=BAD_GENESIS.keys())
def test_bad_genesis_is_refused_with_genesis_error(edit: Callable[[dict], None]) -> None:
    document = genesis_document()
    edit(document)
    with pytest.raises(GenesisError):
        parse_genesis(document)


def test_duplicate_currency_and_validator_are_refused() -> None:
    document = genesis_document()
    document["currencies"].append(copy.deepcopy(document["currencies"][0]))
    with pytest.raises(GenesisError, match="twice"):
        parse_genesis(document)
    document = genesis_document()
    document["validators"].append({**document["validators"][0], "name": "twin"})
    with pytest.raises(GenesisError, match="twice"):
        parse_genesis(document)


def test_supply_exactly_at_reserve_is_accepted() -> None:
    document = genesis_document()
    document["currencies"][0]["reserve_minor"] = 700_000
    assert {c.code: c.reserve_minor for c in parse_genesis(document).currencies}["USD"] == 700_000
    assert USD_RESERVE_MINOR > 700_000


@pytest.mark.parametrize(
    ("path", "value"),
    [(("chain_id",), CHAIN_ID + "\n"), (("currencies", 0, "code"), "USD\n")],
    ids=["chain_id", "currency_code"],
)
def test_identifier_with_a_trailing_newline_is_refused(path: tuple[Any, ...], value: str) -> None:
    # Regression: a pattern ending in '$' used with re.match also matches before a trailing newline.
    document = genesis_document()
    _edit(path, value)(document)
    if path[0] == "currencies":
        document["balances"] = [b for b in document["balances"] if b["currency"] != "USD"]
    with pytest.raises(GenesisError):
        parse_genesis(document)


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("validators", 5),
        ("currencies", None),
        ("balances", 7),
        ("balances", [{"address": KEYS["alice"].address_text, "currency": ["USD"], "amount_minor": 1}]),
    ],
    ids=["validators_int", "currencies_null", "balances_int", "balance_currency_list"],
)
def test_section_that_is_not_a_list_is_refused_with_genesis_error(section: str, value: Any) -> None:
    document = genesis_document()
    document[section] = value
    with pytest.raises(GenesisError):
        parse_genesis(document)


def test_genesis_file_round_trip_and_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(genesis_document(), indent=2))
    assert load_genesis(path).hash == parse_genesis(genesis_document()).hash
    with pytest.raises(GenesisError):
        load_genesis(tmp_path / "absent.json")
    path.write_text("{not json")
    with pytest.raises(GenesisError):
        load_genesis(path)
    document = genesis_document()
    document["validators"] = 5
    path.write_text(json.dumps(document))
    with pytest.raises(GenesisError):
        load_genesis(path)
