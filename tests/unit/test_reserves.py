"""Reserves attested by an auditor, and minting bounded by them (ledger/reserves.py, docs/compliance.md section 1).

The attestation is the auditor's (never the issuer's): accepted with its exact writes and event, refused with
every code it can meet (`not_auditor`, `attestation_in_future`, `attestation_out_of_order`,
`unknown_currency`) leaving the state exactly as it was. A mint is bounded by the latest attested reserve
(`exceeds_reserves`) and by its age (`reserve_attestation_stale`). Governance names the auditor (at
registration and with `gov_set_auditor`), never the issuer (`auditor_is_issuer`); so does the genesis file.
Every block header commits to every currency's supply and reserve (`supply_root`), and a header alone
reproduces them at every height (`verify_supply`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from corridor import codec
from corridor.client.verify import VerificationError, verify_block_bundle, verify_supply
from corridor.hashing import merkle_root
from corridor.keys import format_address
from corridor.ledger import limits
from corridor.ledger.block import HEADER_FIELDS, Block, InvalidBlock, execute_block
from corridor.ledger.genesis import GenesisError, parse_genesis
from corridor.ledger.outcome import BlockContext
from corridor.ledger.refusals import Refusal
from corridor.ledger.reserves import SupplyLeaf, coverage_text, reserve_view, supply_document, supply_leaves, supply_root
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State, account_key, currency_key
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, TxError, assemble_tx, build_body, decode_tx, signing_bytes, tx_to_json
from corridor.node import api

from unit_support import (
    ADDRESSES,
    AUDITORS,
    CHAIN_ID,
    GENESIS_TIME_MS,
    KEYS,
    USD_RESERVE_MINOR,
    attest,
    burn,
    commit,
    genesis_document,
    make_genesis,
    mint,
    snapshot,
    transfer,
    tx_document,
)

USD_SUPPLY = 700_000  # alice 500_000 + bob 200_000 at genesis
DAY_MS = 86_400_000
MAX_AGE_MS = limits.RESERVE_MAX_AGE_MS_DEFAULT
DRIFT_MS = limits.RESERVE_AS_OF_DRIFT_MS_MAX


def at(time_ms: int, height: int = 1) -> BlockContext:
    return BlockContext(height, time_ms)


CTX = at(GENESIS_TIME_MS + 1_000)


def gov(type_name: str, fields: dict[str, Any], nonce: int) -> SignedTx:
    """A governance transaction signed by the unit genesis' single validator (its whole power)."""
    key = KEYS["validator"]
    body = build_body(type_name, {"signer": key.public_key, "nonce": nonce, **fields})
    return assemble_tx(body, [key.public_key + key.sign(signing_bytes(CHAIN_ID, body))])


def set_auditor(code: str, auditor: str, max_age_ms: int = MAX_AGE_MS, nonce: int = 0) -> SignedTx:
    return gov("gov_set_auditor", {"currency": code, "auditor": ADDRESSES[auditor], "reserve_max_age_ms": max_age_ms}, nonce)


def register(code: str, issuer: str, auditor: str, max_age_ms: int = MAX_AGE_MS, nonce: int = 0) -> SignedTx:
    return gov("gov_register_currency", {"currency": code, "decimals": 2, "issuer": ADDRESSES[issuer], "auditor": ADDRESSES[auditor],
                                         "holders_need_authorization": False, "reserve_max_age_ms": max_age_ms}, nonce)


def apply_ok(state: State, tx: SignedTx, context: BlockContext = CTX) -> tuple[dict[str, Any], ...]:
    outcome = apply_tx(state, tx, context)
    assert outcome.applied, f"{tx.body.TYPE} refused: {outcome.refusal}"
    return outcome.events


def assert_refused(state: State, tx: SignedTx, refusal: Refusal, context: BlockContext = CTX) -> None:
    """`tx` is refused with `refusal`, emits nothing and leaves everything readable and every pending write as it was."""
    before = snapshot(state)
    outcome = apply_tx(state, tx, context)
    assert outcome.refusal == refusal, f"{tx.body.TYPE}: expected {refusal.code}, got {outcome.refusal}"
    assert outcome.events == ()
    assert snapshot(state) == before


def usd(state: State):
    currency = state.get_currency("USD")
    assert currency is not None
    return currency


# The attestation --------------------------------------------------------------------------------------------


def test_the_auditor_attests_the_reserve_as_of_a_time(state: State) -> None:
    as_of = GENESIS_TIME_MS + 500
    report = bytes([9]) * 32
    events = apply_ok(state, attest("usd_auditor", 0, "USD", 20_000_000, report, as_of_ms=as_of), at(GENESIS_TIME_MS + 1_000, height=7))
    assert events == ({"kind": "reserve_attested", "currency": "USD", "reserve_minor": 20_000_000, "report_hash": report,
                       "reserve_as_of_ms": as_of, "account": ADDRESSES["usd_auditor"]},)
    currency = usd(state)
    assert (currency.reserve_minor, currency.reserve_report_hash, currency.reserve_height, currency.reserve_as_of_ms) == (
        20_000_000, report, 7, as_of)
    assert (currency.issuer, currency.auditor, currency.supply_minor) == (ADDRESSES["usd_issuer"], ADDRESSES["usd_auditor"], USD_SUPPLY)
    assert {key for key, _ in state.changes()} == {currency_key("USD"), account_key(ADDRESSES["usd_auditor"])}


@pytest.mark.parametrize("signer", ["usd_issuer", "alice", "jpy_auditor", "jpy_issuer"])
def test_only_the_currencys_auditor_attests(state: State, signer: str) -> None:
    assert_refused(state, attest(signer, 0, "USD", USD_RESERVE_MINOR * 10), Refusal.NOT_AUDITOR)


def test_a_stolen_issuer_key_alone_cannot_raise_the_reserve_and_mint(state: State) -> None:
    headroom = USD_RESERVE_MINOR - USD_SUPPLY
    assert_refused(state, attest("usd_issuer", 0, "USD", 10**15), Refusal.NOT_AUDITOR)
    assert_refused(state, mint("usd_issuer", 0, "dave", "USD", headroom + 1), Refusal.EXCEEDS_RESERVES)
    apply_ok(state, mint("usd_issuer", 0, "dave", "USD", headroom))
    assert_refused(state, mint("usd_issuer", 1, "dave", "USD", 1), Refusal.EXCEEDS_RESERVES)


def test_an_attestation_of_an_unknown_currency_is_refused(state: State) -> None:
    assert_refused(state, attest("usd_auditor", 0, "EUR", 1), Refusal.UNKNOWN_CURRENCY)


def test_an_as_of_time_ahead_of_the_block_time_is_refused_beyond_the_drift(state: State) -> None:
    block_time = GENESIS_TIME_MS + 10_000
    assert_refused(state, attest("usd_auditor", 0, "USD", 1, as_of_ms=block_time + DRIFT_MS + 1), Refusal.ATTESTATION_IN_FUTURE,
                   at(block_time))
    apply_ok(state, attest("usd_auditor", 0, "USD", 1, as_of_ms=block_time + DRIFT_MS), at(block_time))
    assert usd(state).reserve_as_of_ms == block_time + DRIFT_MS


def test_an_attestation_older_than_the_latest_is_refused_and_an_equal_one_restates_it(state: State) -> None:
    assert_refused(state, attest("usd_auditor", 0, "USD", 1, as_of_ms=GENESIS_TIME_MS - 1), Refusal.ATTESTATION_OUT_OF_ORDER)
    apply_ok(state, attest("usd_auditor", 0, "USD", 30_000_000, as_of_ms=GENESIS_TIME_MS + 800))
    assert_refused(state, attest("usd_auditor", 1, "USD", 40_000_000, as_of_ms=GENESIS_TIME_MS + 799), Refusal.ATTESTATION_OUT_OF_ORDER)
    apply_ok(state, attest("usd_auditor", 1, "USD", 25_000_000, as_of_ms=GENESIS_TIME_MS + 800))  # a restatement of the same date
    assert (usd(state).reserve_minor, usd(state).reserve_as_of_ms) == (25_000_000, GENESIS_TIME_MS + 800)


# Minting bounded by the attestation -----------------------------------------------------------------------


def test_minting_stops_once_the_attestation_is_older_than_the_maximum_age(state: State) -> None:
    limit = GENESIS_TIME_MS + MAX_AGE_MS
    apply_ok(state, mint("usd_issuer", 0, "dave", "USD", 1), at(limit))  # exactly the maximum age: still fresh
    assert_refused(state, mint("usd_issuer", 1, "dave", "USD", 1), Refusal.RESERVE_ATTESTATION_STALE, at(limit + 1))
    # Moving, burning and attesting go on; the auditor's new attestation lets minting resume.
    apply_ok(state, transfer("alice", 0, "bob", "USD", 5), at(limit + 1))
    apply_ok(state, burn("bob", 0, "USD", 5), at(limit + 1))
    apply_ok(state, attest("usd_auditor", 0, "USD", USD_RESERVE_MINOR, as_of_ms=limit), at(limit + 1))
    apply_ok(state, mint("usd_issuer", 1, "dave", "USD", 1), at(limit + 1))


def test_exceeding_the_reserve_is_reported_before_staleness(state: State) -> None:
    late = at(GENESIS_TIME_MS + MAX_AGE_MS + 1)
    assert_refused(state, mint("usd_issuer", 0, "dave", "USD", USD_RESERVE_MINOR), Refusal.EXCEEDS_RESERVES, late)
    assert_refused(state, mint("usd_issuer", 0, "dave", "USD", 1), Refusal.RESERVE_ATTESTATION_STALE, late)


def test_a_maximum_age_of_zero_never_goes_stale(state: State) -> None:
    apply_ok(state, set_auditor("USD", "usd_auditor", max_age_ms=0))
    apply_ok(state, mint("usd_issuer", 0, "dave", "USD", 1), at(GENESIS_TIME_MS + 100 * 365 * DAY_MS))


def test_a_tiny_maximum_age_makes_every_later_block_stale(state: State) -> None:
    apply_ok(state, set_auditor("USD", "usd_auditor", max_age_ms=1))
    apply_ok(state, attest("usd_auditor", 0, "USD", USD_RESERVE_MINOR, as_of_ms=GENESIS_TIME_MS + 5_000), at(GENESIS_TIME_MS + 5_000))
    apply_ok(state, mint("usd_issuer", 0, "dave", "USD", 10), at(GENESIS_TIME_MS + 5_001))
    assert_refused(state, mint("usd_issuer", 1, "dave", "USD", 10), Refusal.RESERVE_ATTESTATION_STALE, at(GENESIS_TIME_MS + 5_002))


# Governance names the auditor -----------------------------------------------------------------------------


def test_governance_hands_the_attestation_to_another_auditor(state: State) -> None:
    events = apply_ok(state, set_auditor("USD", "carol", max_age_ms=7 * DAY_MS))
    assert events == ({"kind": "auditor_changed", "currency": "USD", "account": ADDRESSES["carol"], "reserve_max_age_ms": 7 * DAY_MS},)
    currency = usd(state)
    assert (currency.auditor, currency.reserve_max_age_ms) == (ADDRESSES["carol"], 7 * DAY_MS)
    assert (currency.reserve_minor, currency.reserve_as_of_ms) == (USD_RESERVE_MINOR, GENESIS_TIME_MS)  # the latest attestation stays
    assert_refused(state, attest("usd_auditor", 0, "USD", 1), Refusal.NOT_AUDITOR)
    apply_ok(state, attest("carol", 0, "USD", USD_RESERVE_MINOR * 2))
    # The shorter maximum age applies to the latest attestation at once.
    assert_refused(state, mint("usd_issuer", 0, "dave", "USD", 1), Refusal.RESERVE_ATTESTATION_STALE, at(GENESIS_TIME_MS + 7 * DAY_MS + 1))


def test_the_auditor_is_never_the_issuer(state: State) -> None:
    assert_refused(state, set_auditor("USD", "usd_issuer"), Refusal.AUDITOR_IS_ISSUER)
    assert_refused(state, gov("gov_set_issuer", {"currency": "USD", "issuer": ADDRESSES["usd_auditor"]}, 0), Refusal.AUDITOR_IS_ISSUER)
    assert_refused(state, register("KRW", "dave", "dave"), Refusal.AUDITOR_IS_ISSUER)
    assert_refused(state, set_auditor("EUR", "carol"), Refusal.UNKNOWN_CURRENCY)


def test_a_registered_currency_is_minted_once_its_auditor_attests(state: State) -> None:
    events = apply_ok(state, register("KRW", "dave", "carol", max_age_ms=DAY_MS))
    assert events[0]["auditor"] == ADDRESSES["carol"] and events[0]["reserve_max_age_ms"] == DAY_MS
    krw = state.get_currency("KRW")
    assert (krw.auditor, krw.reserve_max_age_ms, krw.reserve_minor, krw.reserve_as_of_ms) == (ADDRESSES["carol"], DAY_MS, 0, 0)
    assert_refused(state, mint("dave", 0, "alice", "KRW", 1), Refusal.EXCEEDS_RESERVES)
    assert_refused(state, attest("dave", 0, "KRW", 1_000), Refusal.NOT_AUDITOR)
    apply_ok(state, attest("carol", 0, "KRW", 1_000, as_of_ms=GENESIS_TIME_MS + 1_000))
    apply_ok(state, mint("dave", 0, "alice", "KRW", 1_000))
    assert_refused(state, mint("dave", 1, "alice", "KRW", 1), Refusal.EXCEEDS_RESERVES)


def test_governance_without_a_quorum_changes_no_auditor(state: State) -> None:
    key = KEYS["alice"]
    body = build_body("gov_set_auditor", {"signer": key.public_key, "nonce": 0, "currency": "USD", "auditor": ADDRESSES["carol"],
                                          "reserve_max_age_ms": 0})
    tx = assemble_tx(body, [key.public_key + key.sign(signing_bytes(CHAIN_ID, body))])
    assert_refused(state, tx, Refusal.GOVERNANCE_QUORUM_MISSING)


# Wire form ----------------------------------------------------------------------------------------------


def test_the_new_fields_round_trip_and_are_checked() -> None:
    tx = attest("usd_auditor", 3, "USD", 5, as_of_ms=GENESIS_TIME_MS)
    assert decode_tx(tx.raw) == tx
    assert tx_to_json(tx)["body"]["reserve_as_of_ms"] == GENESIS_TIME_MS
    document = tx_document(tx)
    del document["body"]["reserve_as_of_ms"]
    with pytest.raises(TxError) as missing:
        decode_tx(codec.encode(document))
    assert missing.value.refusal is Refusal.BAD_FIELD and "reserve_as_of_ms" in missing.value.message
    for field, value in (("reserve_as_of_ms", -1), ("reserve_as_of_ms", "now"), ("reserve_as_of_ms", 2**63)):
        bad = tx_document(tx)
        bad["body"][field] = value
        with pytest.raises(TxError) as wrong:
            decode_tx(codec.encode(bad))
        assert wrong.value.refusal is Refusal.BAD_FIELD
    change = set_auditor("USD", "carol", max_age_ms=0)
    assert decode_tx(change.raw) == change
    assert tx_to_json(change)["body"]["auditor"] == format_address(ADDRESSES["carol"])
    with pytest.raises(TxError):
        build_body("gov_set_auditor", {"signer": KEYS["validator"].public_key, "nonce": 0, "currency": "USD",
                                       "auditor": bytes(19), "reserve_max_age_ms": 0})
    with pytest.raises(TxError):  # a registration names its auditor
        build_body("gov_register_currency", {"signer": KEYS["validator"].public_key, "nonce": 0, "currency": "KRW", "decimals": 0,
                                             "issuer": ADDRESSES["dave"], "holders_need_authorization": False})


# Genesis --------------------------------------------------------------------------------------------------


def test_genesis_names_each_auditor_and_attests_as_of_its_time_with_the_default_maximum_age() -> None:
    genesis = make_genesis()
    by_code = {c.code: c for c in genesis.currencies}
    for code, auditor in AUDITORS.items():
        assert by_code[code].auditor == ADDRESSES[auditor]
        assert (by_code[code].reserve_as_of_ms, by_code[code].reserve_max_age_ms) == (GENESIS_TIME_MS, 35 * DAY_MS)
    document = genesis_document()
    document["currencies"][0].update(reserve_as_of_ms=GENESIS_TIME_MS - DAY_MS, reserve_max_age_ms=0)
    usd_currency = parse_genesis(document).currencies[0]
    assert (usd_currency.reserve_as_of_ms, usd_currency.reserve_max_age_ms) == (GENESIS_TIME_MS - DAY_MS, 0)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.pop("auditor"), "a currency has"),
    (lambda c: c.update(auditor=c["issuer"]), "auditor must be another account"),
    (lambda c: c.update(auditor="cor1notanaddress"), "auditor"),
    (lambda c: c.update(reserve_as_of_ms=GENESIS_TIME_MS + 1), "reserve_as_of_ms"),
    (lambda c: c.update(reserve_max_age_ms=-1), "reserve_max_age_ms"),
    (lambda c: c.update(reserve_max_age_ms="35d"), "reserve_max_age_ms"),
])
def test_a_genesis_currency_without_a_proper_auditor_or_attestation_time_is_refused(edit: Any, message: str) -> None:
    document = genesis_document()
    edit(document["currencies"][0])
    with pytest.raises(GenesisError, match=message):
        parse_genesis(document)


# The header commits to supply and reserves -----------------------------------------------------------------


def test_the_header_has_a_supply_root_over_every_currency_in_code_order(store: Store) -> None:
    assert "supply_root" in HEADER_FIELDS
    executed, _ = commit(store, [mint("usd_issuer", 0, "dave", "USD", 300)])
    header = executed.block.header
    leaves = [SupplyLeaf.from_bytes(raw) for raw in executed.supply_leaves]
    assert leaves == [SupplyLeaf("JPY", 1_030_000, 50_000_000, GENESIS_TIME_MS), SupplyLeaf("USD", USD_SUPPLY + 300, USD_RESERVE_MINOR, GENESIS_TIME_MS)]
    assert executed.supply_leaves[0] == codec.encode(["JPY", 1_030_000, 50_000_000, GENESIS_TIME_MS])
    assert header.supply_root == merkle_root(list(executed.supply_leaves)) == supply_root(supply_leaves(State(store)))
    assert store.get_supply_leaves(1) == list(executed.supply_leaves)
    assert store.get_supply_leaves(2) is None


def test_a_block_with_a_wrong_supply_root_is_invalid(store: Store, tmp_path) -> None:
    executed, _ = commit(store, [mint("usd_issuer", 0, "dave", "USD", 300)])
    other = Store(tmp_path / "other", make_genesis())
    try:
        forged = Block(replace(executed.block.header, supply_root=bytes(32)), executed.block.txs)
        with pytest.raises(InvalidBlock, match="header does not match"):
            execute_block(other, other.tip, CHAIN_ID, forged)
        assert execute_block(other, other.tip, CHAIN_ID, executed.block).block.header == executed.block.header
    finally:
        other.close()
    raw = codec.decode(executed.block.to_bytes(), limits.BLOCK_SIZE_BYTES_MAX)
    for bad in (bytes(31), None):
        document = copy.deepcopy(raw)
        if bad is None:
            del document["header"]["supply_root"]
        else:
            document["header"]["supply_root"] = bad
        with pytest.raises(InvalidBlock):
            Block.from_bytes(codec.encode(document))


def test_a_header_alone_reproduces_each_currencys_supply_and_reserve_at_every_height(store: Store) -> None:
    """A chain of blocks minting, burning, attesting and registering a currency; at every height, the header
    (certified, checked offline against the genesis) and the node's supply proof give exactly the figures the
    state had after that block."""
    genesis = make_genesis()
    blocks = [
        [mint("usd_issuer", 0, "dave", "USD", 12_345), burn("carol", 0, "JPY", 1_000)],
        [attest("jpy_auditor", 0, "JPY", 60_000_000, as_of_ms=GENESIS_TIME_MS + 1_500), mint("jpy_issuer", 0, "alice", "JPY", 7)],
        [register("KRW", "dave", "carol"), transfer("alice", 0, "bob", "USD", 10)],
        [attest("carol", 1, "KRW", 5_000, as_of_ms=GENESIS_TIME_MS + 3_500), mint("dave", 0, "bob", "KRW", 4_999)],
        [],
    ]
    expected: dict[int, dict[str, tuple[int, int, int]]] = {}
    for height, txs in enumerate(blocks, start=1):
        _, left_out = commit(store, txs)
        assert left_out == []
        state = State(store)
        codes = [key[2:].decode() for key, _ in store.iterate(b"c/")]
        expected[height] = {code: (state.get_currency(code).supply_minor, state.get_currency(code).reserve_minor,
                                   state.get_currency(code).reserve_as_of_ms) for code in codes}
    assert expected[4]["KRW"] == (4_999, 5_000, GENESIS_TIME_MS + 3_500)
    decimals = {"USD": 2, "JPY": 0, "KRW": 2}
    for height, figures in expected.items():
        verified = verify_block_bundle(api.block_bundle(store, height), genesis)  # the header, certified
        header = verified.block.header
        from_leaves = verify_supply(header, store.get_supply_leaves(height))
        assert {e.code: (e.supply_minor, e.reserve_minor, e.reserve_as_of_ms) for e in from_leaves} == figures
        proof = json.loads(json.dumps(supply_document(header, store.get_supply_leaves(height), decimals)))
        assert {e.code: (e.supply_minor, e.reserve_minor, e.reserve_as_of_ms) for e in verify_supply(header, proof)} == figures
        for code in figures:  # one currency's proof alone
            one = json.loads(json.dumps(supply_document(header, store.get_supply_leaves(height), decimals, only=code)))
            assert [(e.code, e.supply_minor) for e in verify_supply(header, one)] == [(code, figures[code][0])]


def test_a_supply_proof_that_does_not_match_the_header_is_refused(store: Store) -> None:
    commit(store, [mint("usd_issuer", 0, "dave", "USD", 300)])
    commit(store, [mint("usd_issuer", 1, "dave", "USD", 1)])
    header1, header2 = store.get_block(1).header, store.get_block(2).header
    leaves = store.get_supply_leaves(1)
    proof = json.loads(json.dumps(supply_document(header1, leaves, {})))
    with pytest.raises(VerificationError, match="supply_root"):
        verify_supply(header2, leaves)  # the figures of block 1 against block 2's header
    with pytest.raises(VerificationError, match="not in block 2's supply_root"):
        verify_supply(header2, proof)
    inflated = [leaves[0], SupplyLeaf("USD", 1, USD_RESERVE_MINOR, GENESIS_TIME_MS).to_bytes()]
    with pytest.raises(VerificationError, match="do not match"):
        verify_supply(header1, inflated)
    with pytest.raises(VerificationError, match="do not match"):
        verify_supply(header1, leaves[:1])  # a currency left out
    tampered = copy.deepcopy(proof)
    tampered["currencies"][1]["leaf"]["raw"] = SupplyLeaf("USD", 1, USD_RESERVE_MINOR, GENESIS_TIME_MS).to_bytes().hex()
    with pytest.raises(VerificationError, match="not in block 1's supply_root"):
        verify_supply(header1, tampered)
    moved = copy.deepcopy(proof)
    moved["currencies"][1]["leaf"]["leaf_index"] = 0
    with pytest.raises(VerificationError):
        verify_supply(header1, moved)
    for broken in ({**proof, "format": "other"}, {**proof, "currencies": "all"}, "leaves"):
        with pytest.raises(VerificationError, match="malformed"):
            verify_supply(header1, broken)


# What the API shows ---------------------------------------------------------------------------------------


def test_the_currency_view_shows_the_auditor_the_attestations_age_and_staleness(state: State) -> None:
    currency = usd(state)
    fresh = reserve_view(currency, GENESIS_TIME_MS + DAY_MS)
    assert fresh == {"auditor": format_address(ADDRESSES["usd_auditor"]), "reserve_as_of_ms": GENESIS_TIME_MS,
                     "reserve_max_age_ms": MAX_AGE_MS, "reserve_stale_at_ms": GENESIS_TIME_MS + MAX_AGE_MS,
                     "reserve_stale": False, "reserve_coverage": "14.2857"}
    assert reserve_view(currency, GENESIS_TIME_MS + MAX_AGE_MS + 1)["reserve_stale"] is True
    never = reserve_view(replace(currency, reserve_max_age_ms=0), GENESIS_TIME_MS + 10**12)
    assert (never["reserve_stale"], never["reserve_stale_at_ms"]) == (False, None)
    assert (coverage_text(1, 0), coverage_text(999, 1_000), coverage_text(1_000, 1_000)) == (None, "0.9990", "1.0000")
    json_view = api.currency_to_json(currency, [], GENESIS_TIME_MS)
    assert json_view["auditor"] == fresh["auditor"] and json_view["reserve_stale"] is False
