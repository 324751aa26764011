"""The licence registry (ledger/licences.py): `grant_licence`, `revoke_licence`, `set_licence_required` and the
legacy `set_distributor`, each accepted with its exact record, index entries and events, and each refusal
with its code and nothing written. Then what the licences gate, in block time: under distributors_only a mint
to, a burn by and a redemption request of an account with no distribute licence are refused
`not_distributor`, with a revoked one `licence_revoked`, with one whose expiry the block time has reached
`licence_expired`, at once and with no transaction at expiry; an exchange licence, once required, gates
placing offers (`licence_required`, `licence_revoked`, `licence_expired`) and a lapsed licensee's resting
offers leave the book at the next walk, while payments and swaps need none. Then the queries, decoding, and
one committed block.

Genesis (unit_support): alice 5,000.00 USD and 1,000,000 JPY, bob 2,000.00 USD, carol 30,000 JPY, dave nothing.
Block time at height h is GENESIS_TIME_MS + h seconds.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from corridor import codec
from corridor.keys import format_address
from corridor.ledger import fx, licences
from corridor.ledger.licences import Licence
from corridor.ledger.outcome import BlockContext
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import Outcome, apply_tx
from corridor.ledger.state import State, account_key, currency_key
from corridor.ledger.store import Store
from corridor.ledger.tx import (
    Burn,
    GrantLicence,
    Mint,
    OfferCreate,
    Pay,
    RedeemRequest,
    SignedTx,
    Swap,
    Transfer,
    TxError,
    build_body,
    decode_tx,
    signatures_valid,
    tx_to_json,
)

from fx_support import FX_ADDRESSES, FX_KEYS, Desk, Unchanged, fx_state
from issuer_support import set_distributor, set_policy
from licences_support import REVOCATION, grant, licence_keyspace, require, revoke
from unit_support import CHAIN_ID, GENESIS_TIME_MS, certificate_for, produce, recompute_state_hash, tx_document

ALICE, BOB, CAROL, DAVE = (FX_ADDRESSES[n] for n in ("alice", "bob", "carol", "dave"))
USD_ISSUER = FX_ADDRESSES["usd_issuer"]


def ctx(height: int = 1, time_ms: int | None = None) -> BlockContext:
    return BlockContext(height, GENESIS_TIME_MS + height * 1_000 if time_ms is None else time_ms)


CTX = ctx(1)
NOW = CTX.time_ms


@pytest.fixture()
def state() -> State:
    return fx_state(third=True)  # USD, JPY and GBP


def ok(state: State, tx: SignedTx, context: BlockContext = CTX) -> Outcome:
    outcome = apply_tx(state, tx, context)
    assert outcome.applied, f"{tx.body.TYPE} refused: {outcome.refusal}"
    return outcome


def assert_refused(state: State, tx: SignedTx, refusal: Refusal, context: BlockContext = CTX) -> None:
    """Refused with `refusal`, no events, and nothing in the state (the licence keyspace included) changed."""
    with Unchanged(state):
        outcome = apply_tx(state, tx, context)
    assert outcome.refusal == refusal, f"{tx.body.TYPE}: expected {refusal.code}, got {outcome.refusal}"
    assert outcome.events == ()


def sign(state: State, name: str, body_type: type, **fields: Any) -> SignedTx:
    return Desk(state).sign(name, body_type, **fields)


def mint(state: State, to: str, amount_minor: int = 100, code: str = "USD") -> SignedTx:
    return sign(state, f"{code.lower()}_issuer", Mint, to=FX_ADDRESSES[to], currency=code, amount_minor=amount_minor)


def burn(state: State, name: str, amount_minor: int = 1, code: str = "USD") -> SignedTx:
    return sign(state, name, Burn, currency=code, amount_minor=amount_minor)


def redeem(state: State, name: str, amount_minor: int = 1, code: str = "USD") -> SignedTx:
    return sign(state, name, RedeemRequest, currency=code, amount_minor=amount_minor)


def offer(state: State, name: str, sell: str, amount_minor: int, buy: str, num: int, den: int) -> SignedTx:
    return sign(state, name, OfferCreate, sell_currency=sell, sell_amount_minor=amount_minor, buy_currency=buy, price_num=num,
                price_den=den)


def distributors_only(state: State, code: str = "USD") -> None:
    issuer = f"{code.lower()}_issuer"
    ok(state, set_policy(issuer, state.get_nonce(FX_ADDRESSES[issuer]), code, distributors_only=True))


# ---------------------------------------------------------------------------------------------------------
# grant_licence


def test_grant_writes_the_record_and_the_account_index(state: State) -> None:
    outcome = ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US", NOW + 60_000))
    assert outcome.events == ({"kind": "licence_granted", "currency": "USD", "account": BOB, "scope": "distribute",
                               "jurisdiction": "US", "expires_at_ms": NOW + 60_000},)
    licence = licences.get_licence(state, "USD", BOB, "distribute")
    assert licence == Licence("USD", BOB, "distribute", "US", NOW + 60_000, "active", 1, NOW)
    assert {key for key, _ in state.changes()} == {
        account_key(USD_ISSUER), licences.record_key("USD", BOB, "distribute"), licences.account_key(BOB, "USD", "distribute")}
    assert licences.get_licence(state, "USD", BOB, "exchange") is None and licences.get_licence(state, "JPY", BOB, "distribute") is None


def test_a_grant_renews_or_replaces_the_licence_of_its_scope(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US", NOW + 60_000))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "exchange", "HK"))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "EU"), ctx(2))
    assert licences.get_licence(state, "USD", BOB, "distribute") == Licence("USD", BOB, "distribute", "EU", 0, "active", 2, ctx(2).time_ms)
    assert licences.get_licence(state, "USD", BOB, "exchange").jurisdiction == "HK"  # type: ignore[union-attr]


def test_a_grant_after_a_revocation_is_a_new_active_licence(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob"))
    ok(state, revoke(state, "usd_issuer", "USD", "bob"))
    ok(state, grant(state, "usd_issuer", "USD", "bob", jurisdiction="SG"), ctx(3))
    assert licences.get_licence(state, "USD", BOB, "distribute") == Licence("USD", BOB, "distribute", "SG", 0, "active", 3, ctx(3).time_ms)


@pytest.mark.parametrize("sender", ["alice", "bob", "jpy_issuer"])
def test_only_the_issuer_grants(state: State, sender: str) -> None:
    assert_refused(state, grant(state, sender, "USD", "bob"), Refusal.NOT_ISSUER)


def test_a_grant_in_an_unknown_currency_is_refused(state: State) -> None:
    assert_refused(state, grant(state, "usd_issuer", "EUR", "bob"), Refusal.UNKNOWN_CURRENCY)


def test_the_issuer_needs_no_licence_and_gets_none(state: State) -> None:
    assert_refused(state, grant(state, "usd_issuer", "USD", "usd_issuer"), Refusal.ISSUER_ACCOUNT)


@pytest.mark.parametrize("jurisdiction", ["", "XX", "UK", "ZZ"])
def test_a_licence_names_a_real_jurisdiction(state: State, jurisdiction: str) -> None:
    assert_refused(state, grant(state, "usd_issuer", "USD", "bob", jurisdiction=jurisdiction), Refusal.UNKNOWN_JURISDICTION)


@pytest.mark.parametrize("expires_at_ms", [1, NOW - 1, NOW])
def test_an_expiry_at_or_before_the_block_time_is_refused(state: State, expires_at_ms: int) -> None:
    assert_refused(state, grant(state, "usd_issuer", "USD", "bob", expires_at_ms=expires_at_ms), Refusal.LICENCE_EXPIRY_PASSED)
    ok(state, grant(state, "usd_issuer", "USD", "bob", expires_at_ms=NOW + 1))


# ---------------------------------------------------------------------------------------------------------
# revoke_licence


def test_revoke_keeps_the_record_with_its_reason(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US", NOW + 60_000))
    outcome = ok(state, revoke(state, "usd_issuer", "USD", "bob"), ctx(2))
    assert outcome.events == ({"kind": "licence_revoked", "currency": "USD", "account": BOB, "scope": "distribute",
                               "reason_hash": REVOCATION},)
    assert licences.get_licence(state, "USD", BOB, "distribute") == Licence(
        "USD", BOB, "distribute", "US", NOW + 60_000, "revoked", 1, NOW, REVOCATION, 2, ctx(2).time_ms)


def test_revoking_what_does_not_exist_or_twice_is_refused(state: State) -> None:
    assert_refused(state, revoke(state, "usd_issuer", "USD", "bob"), Refusal.UNKNOWN_LICENCE)
    ok(state, grant(state, "usd_issuer", "USD", "bob", "exchange"))
    assert_refused(state, revoke(state, "usd_issuer", "USD", "bob", "distribute"), Refusal.UNKNOWN_LICENCE)
    assert_refused(state, revoke(state, "usd_issuer", "JPY", "bob", "exchange"), Refusal.NOT_ISSUER)
    assert_refused(state, revoke(state, "jpy_issuer", "JPY", "bob", "exchange"), Refusal.UNKNOWN_LICENCE)
    ok(state, revoke(state, "usd_issuer", "USD", "bob", "exchange"))
    assert_refused(state, revoke(state, "usd_issuer", "USD", "bob", "exchange"), Refusal.LICENCE_REVOKED)


def test_an_expired_licence_may_still_be_revoked(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob", expires_at_ms=NOW + 1_000))
    ok(state, revoke(state, "usd_issuer", "USD", "bob"), ctx(5))
    assert licences.get_licence(state, "USD", BOB, "distribute").status == "revoked"  # type: ignore[union-attr]


@pytest.mark.parametrize("sender", ["alice", "bob", "jpy_issuer"])
def test_only_the_issuer_revokes(state: State, sender: str) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob"))
    assert_refused(state, revoke(state, sender, "USD", "bob"), Refusal.NOT_ISSUER)
    assert_refused(state, revoke(state, "usd_issuer", "EUR", "bob"), Refusal.UNKNOWN_CURRENCY)


# ---------------------------------------------------------------------------------------------------------
# set_licence_required and set_distributor


def test_requiring_exchange_writes_its_flag_and_distribute_is_distributors_only(state: State) -> None:
    outcome = ok(state, require(state, "usd_issuer", "USD", "exchange"))
    assert outcome.events == ({"kind": "licence_required_set", "currency": "USD", "scope": "exchange", "required": True},)
    assert dict(licence_keyspace(state)) == {licences.required_key("USD", "exchange"): True}
    usd = state.get_currency("USD")
    assert licences.required_scopes(state, usd) == ["exchange"] and not usd.distributors_only  # type: ignore[union-attr, arg-type]
    ok(state, require(state, "usd_issuer", "USD", "distribute"))
    usd = state.get_currency("USD")
    assert usd.distributors_only and licences.required_scopes(state, usd) == ["distribute", "exchange"]  # type: ignore[union-attr, arg-type]
    ok(state, require(state, "usd_issuer", "USD", "exchange", False), ctx(2))
    ok(state, require(state, "usd_issuer", "USD", "distribute", False), ctx(2))
    assert licence_keyspace(state) == {} and not state.get_currency("USD").distributors_only  # type: ignore[union-attr]
    assert dict(state.changes())[licences.required_key("USD", "exchange")] is None
    assert currency_key("USD") in dict(state.changes())


@pytest.mark.parametrize("sender", ["alice", "jpy_issuer"])
def test_only_the_issuer_requires(state: State, sender: str) -> None:
    assert_refused(state, require(state, sender, "USD"), Refusal.NOT_ISSUER)
    assert_refused(state, require(state, "usd_issuer", "EUR"), Refusal.UNKNOWN_CURRENCY)


def test_set_distributor_is_a_distribute_licence_without_jurisdiction_or_expiry_and_its_withdrawal(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US", NOW + 5_000))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "exchange", "US"))
    ok(state, set_distributor("usd_issuer", state.get_nonce(USD_ISSUER), "USD", "alice"))
    assert licences.get_licence(state, "USD", ALICE, "distribute") == Licence("USD", ALICE, "distribute", "", 0, "active", 1, NOW)
    # Withdrawing deletes the distribute licence whatever made it; other scopes stay.
    outcome = ok(state, set_distributor("usd_issuer", state.get_nonce(USD_ISSUER), "USD", "bob", False))
    assert outcome.events == ({"kind": "distributor_revoked", "currency": "USD", "account": BOB},)
    assert licences.get_licence(state, "USD", BOB, "distribute") is None
    assert licences.get_licence(state, "USD", BOB, "exchange") is not None
    distributors_only(state)
    assert_refused(state, mint(state, "bob"), Refusal.NOT_DISTRIBUTOR)  # as if it never had one
    ok(state, mint(state, "alice"))


# ---------------------------------------------------------------------------------------------------------
# distribute: mint, burn, redeem_request under distributors_only


def test_no_licence_is_not_distributor_for_mint_burn_and_redemption(state: State) -> None:
    distributors_only(state)
    assert_refused(state, mint(state, "bob"), Refusal.NOT_DISTRIBUTOR)
    assert_refused(state, burn(state, "bob"), Refusal.NOT_DISTRIBUTOR)
    assert_refused(state, redeem(state, "bob"), Refusal.NOT_DISTRIBUTOR)
    ok(state, grant(state, "usd_issuer", "USD", "bob"))
    ok(state, mint(state, "bob"))
    ok(state, burn(state, "bob"))
    ok(state, redeem(state, "bob"))


def test_a_revoked_licence_stops_at_once(state: State) -> None:
    distributors_only(state)
    ok(state, grant(state, "usd_issuer", "USD", "bob"))
    ok(state, mint(state, "bob"))
    ok(state, revoke(state, "usd_issuer", "USD", "bob"))
    assert_refused(state, mint(state, "bob"), Refusal.LICENCE_REVOKED)
    assert_refused(state, burn(state, "bob"), Refusal.LICENCE_REVOKED)
    assert_refused(state, redeem(state, "bob"), Refusal.LICENCE_REVOKED)
    # Payments between holders are not gated by the distribution model.
    ok(state, sign(state, "bob", Transfer, to=ALICE, currency="USD", amount_minor=10, memo=""))


def test_an_expired_licence_stops_at_its_expiry_in_block_time(state: State) -> None:
    distributors_only(state)
    expiry = NOW + 10_000
    ok(state, grant(state, "usd_issuer", "USD", "bob", expires_at_ms=expiry))
    before = ctx(5, expiry - 1)
    ok(state, mint(state, "bob"), before)
    ok(state, burn(state, "bob"), before)
    at = ctx(6, expiry)
    assert_refused(state, mint(state, "bob"), Refusal.LICENCE_EXPIRED, at)
    assert_refused(state, burn(state, "bob"), Refusal.LICENCE_EXPIRED, at)
    assert_refused(state, redeem(state, "bob"), Refusal.LICENCE_EXPIRED, ctx(7, expiry + 5_000))
    assert licences.get_licence(state, "USD", BOB, "distribute").status == "active"  # type: ignore[union-attr]  # recorded
    # Revocation is reported before expiry, and a renewal restores it.
    ok(state, revoke(state, "usd_issuer", "USD", "bob"), at)
    assert_refused(state, mint(state, "bob"), Refusal.LICENCE_REVOKED, at)
    ok(state, grant(state, "usd_issuer", "USD", "bob", expires_at_ms=expiry + 60_000), at)
    ok(state, mint(state, "bob"), at)


def test_licences_matter_only_where_required_and_per_currency_and_scope(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob"))
    ok(state, revoke(state, "usd_issuer", "USD", "bob"))
    ok(state, mint(state, "bob"))  # USD is not distributors_only: a revoked licence changes nothing
    distributors_only(state, "JPY")
    ok(state, grant(state, "usd_issuer", "USD", "carol"))
    ok(state, grant(state, "jpy_issuer", "JPY", "carol", "exchange"))
    assert_refused(state, burn(state, "carol", 1, "JPY"), Refusal.NOT_DISTRIBUTOR)  # a USD or exchange licence is no JPY distribute one
    # The issuer itself is exempt.
    ok(state, mint(state, "jpy_issuer", 5, "JPY"))
    ok(state, burn(state, "jpy_issuer", 5, "JPY"))


def test_the_licence_check_comes_after_freezes_and_before_the_reserve(state: State) -> None:
    distributors_only(state)
    assert_refused(state, mint(state, "dave", 10**12), Refusal.NOT_DISTRIBUTOR)
    ok(state, grant(state, "usd_issuer", "USD", "dave"))
    ok(state, revoke(state, "usd_issuer", "USD", "dave"))
    assert_refused(state, mint(state, "dave", 10**12), Refusal.LICENCE_REVOKED)
    assert_refused(state, burn(state, "dave", 10**12), Refusal.LICENCE_REVOKED)


# ---------------------------------------------------------------------------------------------------------
# exchange: placing offers, resting offers, what it does not gate


def test_exchange_licences_gate_offers_only_once_required(state: State) -> None:
    ok(state, offer(state, "alice", "USD", 100, "JPY", 150, 1))  # not required yet: anyone places offers
    ok(state, require(state, "usd_issuer", "USD"))
    assert_refused(state, offer(state, "alice", "USD", 100, "JPY", 150, 1), Refusal.LICENCE_REQUIRED)  # selling USD
    assert_refused(state, offer(state, "carol", "JPY", 1_000, "USD", 1, 200), Refusal.LICENCE_REQUIRED)  # buying USD
    ok(state, offer(state, "carol", "JPY", 1_000, "GBP", 1, 100))  # another pair: no licence needed
    ok(state, grant(state, "usd_issuer", "USD", "carol", "exchange", "HK"))
    ok(state, offer(state, "carol", "JPY", 1_000, "USD", 1, 200))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US"))
    assert_refused(state, offer(state, "bob", "USD", 100, "JPY", 150, 1), Refusal.LICENCE_REQUIRED)  # a distribute licence is not one


def test_a_revoked_or_expired_exchange_licence_stops_offers(state: State) -> None:
    ok(state, require(state, "usd_issuer", "USD"))
    ok(state, grant(state, "usd_issuer", "USD", "alice", "exchange", "US", NOW + 10_000))
    ok(state, offer(state, "alice", "USD", 100, "JPY", 150, 1))
    assert_refused(state, offer(state, "alice", "USD", 100, "JPY", 150, 1), Refusal.LICENCE_EXPIRED, ctx(20))
    ok(state, revoke(state, "usd_issuer", "USD", "alice", "exchange"))
    assert_refused(state, offer(state, "alice", "USD", 100, "JPY", 150, 1), Refusal.LICENCE_REVOKED)


def test_a_lapsed_licensees_resting_offer_leaves_the_book_at_the_next_walk(state: State) -> None:
    ok(state, require(state, "usd_issuer", "USD"))
    ok(state, grant(state, "usd_issuer", "USD", "alice", "exchange", "US", NOW + 10_000))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "exchange", "US"))
    placed = ok(state, offer(state, "alice", "USD", 100, "JPY", 150, 1))
    offer_id = placed.events[-1]["offer_id"]
    assert fx.get_offer(state, offer_id) is not None
    # Before the expiry carol's payment takes it; after, the walk removes the rest and refunds alice.
    pay = sign(state, "carol", Pay, to=DAVE, send_currency="JPY", send_max_minor=1_500, receive_currency="USD",
               receive_amount_minor=10, memo="", travel_rule_hash=b"")
    ok(state, pay, ctx(2))
    assert fx.get_offer(state, offer_id).remaining_minor == 90  # type: ignore[union-attr]
    alice_usd = state.get_balance(ALICE, "USD")
    late = sign(state, "carol", Pay, to=DAVE, send_currency="JPY", send_max_minor=1_500, receive_currency="USD",
                receive_amount_minor=10, memo="", travel_rule_hash=b"")
    outcome = apply_tx(state, late, ctx(11))
    assert outcome.refusal == Refusal.BOOK_TOO_THIN  # nothing else sells USD for JPY; the refused walk wrote nothing
    assert fx.get_offer(state, offer_id) is not None
    # bob (licensed) places a crossing offer after the expiry: its walk removes alice's offer instead of taking it.
    ok(state, sign(state, "jpy_issuer", Mint, to=BOB, currency="JPY", amount_minor=50_000), ctx(11))
    outcome = ok(state, offer(state, "bob", "JPY", 15_000, "USD", 1, 150), ctx(11))
    assert {"kind": "offer_removed", "offer_id": offer_id, "account": ALICE, "currency": "USD", "refunded_minor": 90} in outcome.events
    assert fx.get_offer(state, offer_id) is None and state.get_balance(ALICE, "USD") == alice_usd + 90


def test_an_offer_resting_before_the_requirement_is_removed_once_required(state: State) -> None:
    placed = ok(state, offer(state, "alice", "USD", 100, "JPY", 150, 1))
    offer_id = placed.events[-1]["offer_id"]
    ok(state, require(state, "usd_issuer", "USD"))
    ok(state, grant(state, "usd_issuer", "USD", "carol", "exchange", "HK"))
    outcome = ok(state, offer(state, "carol", "JPY", 15_000, "USD", 1, 150))
    assert outcome.events[1]["kind"] == "offer_removed" and outcome.events[1]["offer_id"] == offer_id


def test_payments_and_swaps_need_no_exchange_licence(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "alice", "exchange"))
    ok(state, offer(state, "alice", "USD", 1_000, "JPY", 150, 1))
    ok(state, require(state, "usd_issuer", "USD"))
    pay = sign(state, "carol", Pay, to=DAVE, send_currency="JPY", send_max_minor=1_500, receive_currency="USD",
               receive_amount_minor=10, memo="", travel_rule_hash=b"")
    ok(state, pay)
    swap = Desk(state).sign("bob", Swap, keys=[FX_KEYS["bob"], FX_KEYS["carol"]], counterparty=FX_KEYS["carol"].public_key,
                            give_currency="USD", give_amount_minor=10, get_currency="JPY", get_amount_minor=1_400,
                            expiry_height=5, travel_rule_hash=b"")
    ok(state, swap)


# ---------------------------------------------------------------------------------------------------------
# queries


def test_queries_by_account_currency_and_all_with_status_at_a_time(state: State) -> None:
    ok(state, grant(state, "usd_issuer", "USD", "bob", "distribute", "US", NOW + 5_000))
    ok(state, grant(state, "usd_issuer", "USD", "bob", "exchange", "US"))
    ok(state, grant(state, "jpy_issuer", "JPY", "bob", "distribute", "HK"))
    ok(state, grant(state, "usd_issuer", "USD", "alice", "distribute", "EU"))
    ok(state, revoke(state, "usd_issuer", "USD", "alice"))
    of_bob = list(licences.licences_of_account(state, BOB))
    assert [(item.currency, item.scope) for item in of_bob] == [("JPY", "distribute"), ("USD", "distribute"), ("USD", "exchange")]
    of_usd = list(licences.licences_of_currency(state, "USD"))
    assert sorted((item.account, item.scope) for item in of_usd) == [(item.account, item.scope) for item in of_usd]
    assert {(item.account, item.scope) for item in of_usd} == {(BOB, "distribute"), (BOB, "exchange"), (ALICE, "distribute")}
    assert len(list(licences.all_licences(state))) == 4
    assert licences.distributors_of(state, "USD", NOW) == [BOB]
    assert licences.distributors_of(state, "USD", NOW + 5_000) == []
    shown = licences.licence_to_json(of_bob[1], NOW + 5_000)
    assert shown == {"currency": "USD", "account": format_address(BOB), "scope": "distribute", "jurisdiction": "US",
                     "expires_at_ms": NOW + 5_000, "status": "expired", "recorded_status": "active", "in_force": False,
                     "granted_height": 1, "granted_time_ms": NOW, "reason_hash": None, "revoked_height": None,
                     "revoked_time_ms": None}
    revoked = licences.licence_to_json(licences.get_licence(state, "USD", ALICE, "distribute"), NOW)  # type: ignore[arg-type]
    assert (revoked["status"], revoked["reason_hash"], revoked["revoked_height"]) == ("revoked", REVOCATION.hex(), 1)


# ---------------------------------------------------------------------------------------------------------
# decoding, and one committed block


def test_licence_transactions_decode_to_themselves_and_show_as_json(state: State) -> None:
    for tx in (grant(state, "usd_issuer", "USD", "bob", "exchange", "HK", NOW + 1), revoke(state, "usd_issuer", "USD", "bob"),
               require(state, "usd_issuer", "USD", "distribute", False)):
        decoded = decode_tx(tx.raw)
        assert decoded == tx and signatures_valid(decoded, CHAIN_ID)
    shown = tx_to_json(grant(state, "usd_issuer", "USD", "bob", "exchange", "HK", NOW + 1))
    assert shown["body"]["account"] == format_address(BOB) and shown["body"]["scope"] == "exchange"
    assert tx_to_json(revoke(state, "usd_issuer", "USD", "bob"))["body"]["reason_hash"] == REVOCATION.hex()


@pytest.mark.parametrize(("name", "value"), [
    ("scope", "custody"), ("scope", "Distribute"), ("scope", ""), ("scope", 1),
    ("expires_at_ms", -1), ("expires_at_ms", True), ("expires_at_ms", 2**63),
    ("jurisdiction", "usa"), ("jurisdiction", "us"), ("jurisdiction", None),
])
def test_grant_fields_are_checked_on_decode(state: State, name: str, value: Any) -> None:
    document = copy.deepcopy(tx_document(grant(state, "usd_issuer", "USD", "bob")))
    document["body"][name] = value
    with pytest.raises(TxError) as caught:
        decode_tx(codec.encode(document))
    assert caught.value.refusal == Refusal.BAD_FIELD


def test_required_is_a_bool_and_reason_hash_32_bytes(state: State) -> None:
    for tx, name, value in ((require(state, "usd_issuer", "USD"), "required", 1), (revoke(state, "usd_issuer", "USD", "bob"), "reason_hash", b"")):
        document = copy.deepcopy(tx_document(tx))
        document["body"][name] = value
        with pytest.raises(TxError):
            decode_tx(codec.encode(document))
    with pytest.raises(TxError, match="missing fields"):
        build_body("grant_licence", {"signer": FX_KEYS["usd_issuer"].public_key, "nonce": 0, "currency": "USD", "account": BOB,
                                     "scope": "distribute", "jurisdiction": "US"})
    assert GrantLicence.TYPE == "grant_licence"


def test_a_committed_block_of_licence_transactions_keeps_the_state_root_exact(tmp_path) -> None:
    from fx_support import fx_genesis

    genesis = fx_genesis()
    store = Store(tmp_path / "db", genesis)
    try:
        pending = State(store)
        time_ms = store.tip.time_ms + 1_000
        txs = [grant(pending, "usd_issuer", "USD", "bob", expires_at_ms=time_ms + 60_000, nonce=0),
               grant(pending, "usd_issuer", "USD", "carol", "exchange", "HK", nonce=1),
               revoke(pending, "usd_issuer", "USD", "carol", "exchange", nonce=2),
               require(pending, "usd_issuer", "USD", nonce=3),
               revoke(pending, "usd_issuer", "USD", "dave", nonce=4)]  # unknown_licence: left out
        executed, left_out = produce(store, txs, time_ms)
        assert [tx.body.TYPE for tx in executed.block.txs] == ["grant_licence", "grant_licence", "revoke_licence", "set_licence_required"]
        assert [item.refusal for item in left_out] == [Refusal.UNKNOWN_LICENCE]
        store.commit_block(executed, certificate_for(executed))
        assert store.tip.state_hash.root() == recompute_state_hash(store).root() == executed.block.header.state_root
        committed = State(store)
        assert licences.get_licence(committed, "USD", CAROL, "exchange").status == "revoked"  # type: ignore[union-attr]
        assert [(item.account, item.scope) for item in licences.licences_of_account(committed, BOB)] == [(BOB, "distribute")]
    finally:
        store.close()
