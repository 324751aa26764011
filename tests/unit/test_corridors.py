"""Corridors (ledger/corridors.py, docs/compliance.md section 3): jurisdictions recorded by issuers, per-corridor
travel-rule thresholds and flow limits.

`set_jurisdiction` and `set_corridor_policy` accepted with their exact writes and events, and each of their
refusals with its code and nothing written. Then each control on a transfer, accepted and refused: the
corridor's threshold forces a travel-rule hash (`travel_rule_required`), its maximum per payment and its
rolling window per sender (`corridor_limit_exceeded`, accepted again once the window has passed, the window's
record bounded); which policies apply (exact corridor, "*" on either side, unknown jurisdictions, several at
once, per currency); both legs of a swap and both currency legs of a cross-currency payment; what is not a
payment (mints, offers, a payment to oneself). Then decoding, the JSON view and one committed block.

Genesis (unit_support): alice 5,000.00 USD and 1,000,000 JPY, bob 2,000.00 USD, carol 30,000 JPY, dave nothing.
Jurisdictions used: alice US, bob HK, carol SG; dave has none.
"""

from __future__ import annotations

from typing import Any

import pytest

from corridor import codec
from corridor.ledger import corridors, limits
from corridor.ledger.corridors import CorridorPolicy
from corridor.ledger.outcome import BlockContext, Outcome
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import Mint, OfferCreate, Pay, SignedTx, Transfer, TxError, build_body, decode_tx, signatures_valid, tx_to_json

from corridor_support import TRAVEL, at, corridor_tx, jurisdiction_tx
from fx_support import FX_ADDRESSES, Desk, Unchanged, fx_genesis, fx_state
from unit_support import CHAIN_ID, commit, recompute_state_hash, tx_document

ALICE, BOB, CAROL, DAVE = (FX_ADDRESSES[n] for n in ("alice", "bob", "carol", "dave"))


def run(state: State, tx: SignedTx, context: BlockContext | None = None) -> Outcome:
    return apply_tx(state, tx, context or at(1_000))


def ok(state: State, tx: SignedTx, context: BlockContext | None = None) -> Outcome:
    outcome = run(state, tx, context)
    assert outcome.applied, (tx.body.TYPE, outcome.refusal)
    return outcome


def signed_in(state: State, tx: SignedTx) -> SignedTx:
    """`tx`, applied to `state` (so that the next transaction is signed with the next nonce)."""
    ok(state, tx)
    return tx


def refused(state: State, tx: SignedTx, refusal: Refusal, context: BlockContext | None = None) -> None:
    """`tx` is refused with `refusal` and writes nothing at all."""
    with Unchanged(state):
        outcome = run(state, tx, context)
        assert outcome.refusal == refusal, (tx.body.TYPE, outcome.refusal)
        assert outcome.events == ()


def transfer(state: State, sender: str, to: str, amount: int, code: str = "USD", travel: bytes = b"") -> SignedTx:
    return Desk(state).sign(sender, Transfer, to=FX_ADDRESSES[to], currency=code, amount_minor=amount, memo="", travel_rule_hash=travel)


def located(state: State, code: str = "USD", **where: str) -> None:
    """Record the jurisdictions `name=code` in currency `code`."""
    for name, jurisdiction in where.items():
        ok(state, jurisdiction_tx(state, code, name, jurisdiction))


@pytest.fixture()
def usd() -> State:
    """alice in US, bob in HK and carol in SG for USD; dave unknown."""
    state = fx_state()
    located(state, alice="US", bob="HK", carol="SG")
    return state


# set_jurisdiction ----------------------------------------------------------------------------------------


def test_set_jurisdiction_records_the_code_per_currency_and_an_empty_code_clears_it() -> None:
    state = fx_state()
    outcome = ok(state, jurisdiction_tx(state, "USD", "alice", "US"))
    assert outcome.events == ({"kind": "jurisdiction_set", "currency": "USD", "account": ALICE, "jurisdiction": "US"},)
    assert corridors.jurisdiction_of(state, ALICE, "USD") == "US"
    assert corridors.jurisdiction_of(state, ALICE, "JPY") == ""  # per currency: the JPY issuer recorded nothing
    assert dict(state.changes())[corridors.jurisdiction_key(ALICE, "USD")] == codec.encode("US")
    ok(state, jurisdiction_tx(state, "JPY", "alice", "EU"))
    assert corridors.jurisdictions_of(state, ALICE) == {"JPY": "EU", "USD": "US"}

    outcome = ok(state, jurisdiction_tx(state, "USD", "alice", ""))
    assert outcome.events[0]["jurisdiction"] == ""
    assert corridors.jurisdiction_of(state, ALICE, "USD") == ""
    assert dict(state.changes())[corridors.jurisdiction_key(ALICE, "USD")] is None  # deleted, never stored empty
    # the issuer may record its own account's jurisdiction too
    ok(state, jurisdiction_tx(state, "USD", "usd_issuer", "US"))
    assert corridors.jurisdiction_of(state, FX_ADDRESSES["usd_issuer"], "USD") == "US"


@pytest.mark.parametrize(("signer", "code", "jurisdiction", "refusal"), [
    ("jpy_issuer", "USD", "US", Refusal.NOT_ISSUER),
    ("alice", "USD", "US", Refusal.NOT_ISSUER),
    ("usd_issuer", "EUR", "US", Refusal.UNKNOWN_CURRENCY),
    ("usd_issuer", "USD", "UK", Refusal.UNKNOWN_JURISDICTION),  # the United Kingdom's code is GB
    ("usd_issuer", "USD", "ZZ", Refusal.UNKNOWN_JURISDICTION),
])
def test_set_jurisdiction_refusals(signer: str, code: str, jurisdiction: str, refusal: Refusal) -> None:
    state = fx_state()
    refused(state, jurisdiction_tx(state, code, "alice", jurisdiction, signer=signer), refusal)


# set_corridor_policy -------------------------------------------------------------------------------------


def test_set_corridor_policy_stores_the_policy_counts_it_and_removing_it_deletes_it() -> None:
    state = fx_state()
    outcome = ok(state, corridor_tx(state, "USD", "US", "HK", threshold=100_000, payment_max=500_000, window_max=1_000_000,
                                    window_ms=86_400_000), at(1_000, height=7))
    assert outcome.events == ({
        "kind": "corridor_policy_set", "currency": "USD", "from_jurisdiction": "US", "to_jurisdiction": "HK",
        "travel_rule_threshold_minor": 100_000, "travel_rule_always": False, "payment_max_minor": 500_000,
        "window_max_minor": 1_000_000, "window_ms": 86_400_000, "removed": False},)
    policy = CorridorPolicy("USD", "US", "HK", 100_000, False, 500_000, 1_000_000, 86_400_000, 7)
    assert corridors.get_policy(state, "USD", "US", "HK") == policy
    assert corridors.policies_of(state, "USD") == [policy] and corridors.policies_of(state, "JPY") == []
    changes = dict(state.changes())
    assert changes[b"j/p/USD/US/HK"] == codec.encode({"travel_rule_threshold_minor": 100_000, "travel_rule_always": False,
                                                      "payment_max_minor": 500_000, "window_max_minor": 1_000_000,
                                                      "window_ms": 86_400_000, "height": 7})
    assert changes[b"j/n/USD"] == codec.encode(1)

    # changing it keeps the count; a wildcard corridor is one more
    ok(state, corridor_tx(state, "USD", "US", "HK", payment_max=1))
    ok(state, corridor_tx(state, "USD", "*", "*", always=True))
    assert corridors.policy_count(state, "USD") == 2
    assert [(p.from_jurisdiction, p.to_jurisdiction) for p in corridors.policies_of(state, "USD")] == [("*", "*"), ("US", "HK")]

    # every control off removes it; removing a corridor that has no policy changes nothing but is accepted
    outcome = ok(state, corridor_tx(state, "USD", "US", "HK"))
    assert outcome.events[0]["removed"] is True
    assert corridors.get_policy(state, "USD", "US", "HK") is None and corridors.policy_count(state, "USD") == 1
    ok(state, corridor_tx(state, "USD", "SG", "HK"))
    assert corridors.policy_count(state, "USD") == 1
    ok(state, corridor_tx(state, "USD", "*", "*"))
    assert corridors.policy_count(state, "USD") == 0 and dict(state.changes())[b"j/n/USD"] is None


@pytest.mark.parametrize(("signer", "code", "fields", "refusal"), [
    ("jpy_issuer", "USD", {}, Refusal.NOT_ISSUER),
    ("bob", "USD", {}, Refusal.NOT_ISSUER),
    ("usd_issuer", "EUR", {}, Refusal.UNKNOWN_CURRENCY),
    ("usd_issuer", "USD", {"source": "XX"}, Refusal.UNKNOWN_JURISDICTION),
    ("usd_issuer", "USD", {"target": "UK"}, Refusal.UNKNOWN_JURISDICTION),
    ("usd_issuer", "USD", {"window_max": 100}, Refusal.BAD_CORRIDOR_POLICY),  # a maximum without a window
    ("usd_issuer", "USD", {"window_ms": 1_000}, Refusal.BAD_CORRIDOR_POLICY),  # a window without a maximum
    ("usd_issuer", "USD", {"always": True, "threshold": 100}, Refusal.BAD_CORRIDOR_POLICY),
])
def test_set_corridor_policy_refusals(signer: str, code: str, fields: dict[str, Any], refusal: Refusal) -> None:
    state = fx_state()
    fields = {"source": "US", "target": "HK", "payment_max": 1_000, **fields}
    refused(state, corridor_tx(state, code, fields.pop("source"), fields.pop("target"), signer=signer, **fields), refusal)


def test_a_currency_holds_at_most_the_corridor_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "CORRIDORS_PER_CURRENCY_MAX", 2)
    state = fx_state()
    ok(state, corridor_tx(state, "USD", "US", "HK", payment_max=1))
    ok(state, corridor_tx(state, "USD", "US", "SG", payment_max=1))
    refused(state, corridor_tx(state, "USD", "US", "DE", payment_max=1), Refusal.TOO_MANY_CORRIDORS)
    ok(state, corridor_tx(state, "USD", "US", "SG", payment_max=2))  # changing one is not adding one
    ok(state, corridor_tx(state, "JPY", "US", "DE", payment_max=1))  # the bound is per currency
    ok(state, corridor_tx(state, "USD", "US", "HK"))  # removing one makes room
    ok(state, corridor_tx(state, "USD", "US", "DE", payment_max=1))


# the travel-rule threshold ---------------------------------------------------------------------------------


def test_a_corridor_threshold_forces_the_travel_rule_hash(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", threshold=100_000))  # 1,000.00 USD
    refused(usd, transfer(usd, "alice", "bob", 100_001), Refusal.TRAVEL_RULE_REQUIRED)
    ok(usd, transfer(usd, "alice", "bob", 100_001, travel=TRAVEL))
    ok(usd, transfer(usd, "alice", "bob", 100_000))  # at the threshold: not above it
    # only that corridor: alice -> carol (US -> SG) and bob -> alice (HK -> US) need no hash
    ok(usd, transfer(usd, "alice", "carol", 150_000))
    ok(usd, transfer(usd, "bob", "alice", 150_000))
    assert usd.get_currency("USD").travel_rule_threshold_minor == 0, "the currency-wide threshold is not involved"


def test_travel_rule_always_requires_the_hash_on_every_payment(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "*", always=True))  # e.g. EU TFR: no de-minimis
    refused(usd, transfer(usd, "alice", "bob", 1), Refusal.TRAVEL_RULE_REQUIRED)
    refused(usd, transfer(usd, "alice", "dave", 1), Refusal.TRAVEL_RULE_REQUIRED)
    ok(usd, transfer(usd, "alice", "bob", 1, travel=TRAVEL))
    ok(usd, transfer(usd, "bob", "alice", 1))


# the maximum per payment ---------------------------------------------------------------------------------


def test_a_corridor_refuses_a_payment_above_its_maximum(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", payment_max=50_000))
    refused(usd, transfer(usd, "alice", "bob", 50_001), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    refused(usd, transfer(usd, "alice", "bob", 50_001, travel=TRAVEL), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    ok(usd, transfer(usd, "alice", "bob", 50_000))
    ok(usd, transfer(usd, "bob", "alice", 60_000))  # the other direction is another corridor
    ok(usd, transfer(usd, "alice", "carol", 60_000))


def test_the_limit_is_checked_before_the_travel_rule_and_the_funds(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", threshold=10, payment_max=1_000))
    refused(usd, transfer(usd, "alice", "bob", 2_000), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    refused(usd, transfer(usd, "alice", "bob", 500), Refusal.TRAVEL_RULE_REQUIRED)
    located(usd, dave="US")
    refused(usd, transfer(usd, "dave", "bob", 500), Refusal.TRAVEL_RULE_REQUIRED)  # dave has nothing: checked first
    refused(usd, transfer(usd, "dave", "bob", 500, travel=TRAVEL), Refusal.INSUFFICIENT_FUNDS)


# the rolling window --------------------------------------------------------------------------------------

WINDOW_MS = 80_000  # buckets of 10 s: a payment counts for 80 to 90 s


def test_the_window_refuses_a_sender_over_its_maximum_and_accepts_again_once_the_window_has_passed(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=100_000, window_ms=WINDOW_MS))
    ok(usd, transfer(usd, "alice", "bob", 60_000), at(5_000))
    ok(usd, transfer(usd, "alice", "bob", 40_000), at(25_000))  # exactly the maximum
    refused(usd, transfer(usd, "alice", "bob", 1), Refusal.CORRIDOR_LIMIT_EXCEEDED, at(30_000))
    policy = corridors.get_policy(usd, "USD", "US", "HK")
    assert corridors.window_used(usd, policy, ALICE, GENESIS_TIME + 30_000) == 100_000
    # another sender in the same corridor has its own window, and alice's other corridors are not limited
    located(usd, dave="US")
    ok(usd, transfer(usd, "alice", "dave", 50_000), at(30_000))
    ok(usd, transfer(usd, "dave", "bob", 50_000), at(30_000))
    # 80 s after the first payment it still counts (its bucket is within the window's 8 + 1 buckets)
    refused(usd, transfer(usd, "alice", "bob", 60_000), Refusal.CORRIDOR_LIMIT_EXCEEDED, at(85_000))
    # from 90 s (the first payment's bucket [0, 10 s) has left) the first 60,000 no longer count
    ok(usd, transfer(usd, "alice", "bob", 60_000), at(90_000))
    refused(usd, transfer(usd, "alice", "bob", 1), Refusal.CORRIDOR_LIMIT_EXCEEDED, at(105_000))
    ok(usd, transfer(usd, "alice", "bob", 40_000), at(110_000))  # the 40,000 of 25 s left at 110 s
    assert corridors.window_used(usd, policy, ALICE, GENESIS_TIME + 110_000) == 100_000


def test_no_rolling_window_of_the_given_length_ever_holds_more_than_the_maximum(usd: State) -> None:
    # Pay 10,000 every 3.7 s for 10 minutes whenever the chain accepts it, and check every window.
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=50_000, window_ms=WINDOW_MS))
    paid: list[int] = []
    for step in range(160):
        time_ms = step * 3_700
        outcome = run(usd, transfer(usd, "alice", "bob", 10_000), at(time_ms))
        if outcome.applied:
            paid.append(time_ms)
            assert sum(10_000 for t in paid if t > time_ms - WINDOW_MS) <= 50_000
        else:
            assert outcome.refusal == Refusal.CORRIDOR_LIMIT_EXCEEDED
    # bounded state: never more than WINDOW_BUCKETS + 1 buckets for the sender
    record = usd.get_record(corridors.window_key("USD", "US", "HK", ALICE))
    assert record["bucket_ms"] == 10_000 and len(record["buckets"]) <= corridors.WINDOW_BUCKETS + 1
    # and the window is not much stricter than exact: 5 payments per 90 s at the most, and at least per 80 s
    assert len(paid) >= 160 * 3_700 // 90_000 * 5


def test_changing_the_window_length_restarts_it_and_changing_the_maximum_keeps_the_count(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=100_000, window_ms=WINDOW_MS))
    ok(usd, transfer(usd, "alice", "bob", 90_000), at(1_000))
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=95_000, window_ms=WINDOW_MS), at(2_000))
    refused(usd, transfer(usd, "alice", "bob", 10_000), Refusal.CORRIDOR_LIMIT_EXCEEDED, at(3_000))
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=95_000, window_ms=2 * WINDOW_MS), at(4_000))
    ok(usd, transfer(usd, "alice", "bob", 95_000), at(5_000))


def test_a_removed_policy_stops_counting(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", window_max=100_000, window_ms=WINDOW_MS))
    ok(usd, corridor_tx(usd, "USD", "US", "HK"))
    ok(usd, transfer(usd, "alice", "bob", 150_000), at(1_000))
    assert usd.get_record(corridors.window_key("USD", "US", "HK", ALICE)) is None


# which policies apply ------------------------------------------------------------------------------------


def test_an_unknown_jurisdiction_meets_only_wildcard_policies(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", payment_max=1))
    ok(usd, corridor_tx(usd, "USD", "US", "SG", payment_max=1))
    ok(usd, transfer(usd, "alice", "dave", 10))  # dave has no jurisdiction: (US, HK) and (US, SG) cannot match him
    ok(usd, transfer(usd, "bob", "dave", 10))
    ok(usd, corridor_tx(usd, "USD", "US", "*", payment_max=5))
    refused(usd, transfer(usd, "alice", "dave", 10), Refusal.CORRIDOR_LIMIT_EXCEEDED)  # "*" matches the unknown
    ok(usd, corridor_tx(usd, "USD", "*", "*", payment_max=3))
    refused(usd, transfer(usd, "bob", "dave", 4), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    ok(usd, transfer(usd, "bob", "dave", 3))
    assert [(p.from_jurisdiction, p.to_jurisdiction) for p in corridors.applicable_policies(usd, "USD", ALICE, BOB)] == [
        ("US", "HK"), ("US", "*"), ("*", "*")]
    assert [(p.from_jurisdiction, p.to_jurisdiction) for p in corridors.applicable_policies(usd, "USD", BOB, DAVE)] == [("*", "*")]

def test_every_applicable_policy_is_enforced_the_strictest_wins(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", payment_max=100_000))
    ok(usd, corridor_tx(usd, "USD", "*", "HK", payment_max=20_000))
    ok(usd, corridor_tx(usd, "USD", "US", "*", threshold=5_000))
    ok(usd, corridor_tx(usd, "USD", "*", "*", window_max=30_000, window_ms=WINDOW_MS))
    applicable = corridors.applicable_policies(usd, "USD", ALICE, BOB)
    assert [(p.from_jurisdiction, p.to_jurisdiction) for p in applicable] == [("US", "HK"), ("US", "*"), ("*", "HK"), ("*", "*")]
    refused(usd, transfer(usd, "alice", "bob", 25_000, travel=TRAVEL), Refusal.CORRIDOR_LIMIT_EXCEEDED)  # (*, HK)
    refused(usd, transfer(usd, "alice", "bob", 6_000), Refusal.TRAVEL_RULE_REQUIRED)  # (US, *)
    ok(usd, transfer(usd, "alice", "bob", 20_000, travel=TRAVEL))
    ok(usd, transfer(usd, "bob", "carol", 10_000))  # HK -> SG: only (*, *) applies, with bob's own window
    refused(usd, transfer(usd, "alice", "carol", 10_001, travel=TRAVEL), Refusal.CORRIDOR_LIMIT_EXCEEDED)  # (*, *) window
    ok(usd, transfer(usd, "alice", "carol", 10_000, travel=TRAVEL))


def test_jurisdictions_and_policies_are_per_currency() -> None:
    state = fx_state(balances=(("bob", "JPY", 100_000),))
    located(state, "USD", alice="US", bob="HK")
    ok(state, corridor_tx(state, "JPY", "US", "HK", payment_max=1))
    ok(state, transfer(state, "alice", "bob", 1_000, "JPY"))  # in JPY neither has a jurisdiction
    ok(state, corridor_tx(state, "USD", "US", "HK", payment_max=1))
    refused(state, transfer(state, "alice", "bob", 2, "USD"), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    located(state, "JPY", alice="US", bob="HK")
    refused(state, transfer(state, "alice", "bob", 2, "JPY"), Refusal.CORRIDOR_LIMIT_EXCEEDED)


def test_corridors_apply_to_the_issuers_own_payments_but_not_to_mints() -> None:
    state = fx_state()
    located(state, "USD", usd_issuer="US", bob="HK")
    ok(state, corridor_tx(state, "USD", "US", "HK", payment_max=100))
    ok(state, Desk(state).sign("usd_issuer", Mint, to=BOB, currency="USD", amount_minor=10_000))  # issuance is not a payment
    refused(state, transfer(state, "usd_issuer", "bob", 1_000), Refusal.CORRIDOR_LIMIT_EXCEEDED)


# swaps and cross-currency payments -----------------------------------------------------------------------


def swap(state: State, give: int, get: int, travel: bytes = b"") -> SignedTx:
    """alice gives `give` USD to carol, who gives `get` JPY back."""
    return Desk(state).swap("alice", "carol", "USD", give, "JPY", get, travel_rule_hash=travel)


@pytest.fixture()
def market() -> State:
    """alice US and carol SG in both USD and JPY; carol holds USD and JPY too."""
    state = fx_state(balances=(("carol", "USD", 500_000), ("bob", "JPY", 500_000)))
    for code in ("USD", "JPY"):
        located(state, code, alice="US", carol="SG", bob="HK")
    return state


def test_both_legs_of_a_swap_are_checked_each_in_its_corridor(market: State) -> None:
    ok(market, corridor_tx(market, "USD", "US", "SG", payment_max=10_000))  # leg 1: alice -> carol in USD
    ok(market, corridor_tx(market, "JPY", "SG", "US", threshold=5_000))  # leg 2: carol -> alice in JPY
    refused(market, swap(market, 10_001, 1_000), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    refused(market, swap(market, 10_000, 5_001), Refusal.TRAVEL_RULE_REQUIRED)
    ok(market, swap(market, 10_000, 5_001, TRAVEL))
    ok(market, swap(market, 10_000, 5_000))


def test_the_counterpartys_leg_counts_in_the_counterpartys_window(market: State) -> None:
    ok(market, corridor_tx(market, "JPY", "SG", "*", window_max=8_000, window_ms=WINDOW_MS))
    ok(market, swap(market, 100, 5_000))
    policy = corridors.get_policy(market, "JPY", "SG", "*")
    assert corridors.window_used(market, policy, CAROL, GENESIS_TIME + 1_000) == 5_000
    assert corridors.window_used(market, policy, ALICE, GENESIS_TIME + 1_000) == 0
    refused(market, swap(market, 100, 3_001), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    ok(market, Desk(market).sign("carol", Transfer, to=BOB, currency="JPY", amount_minor=3_000, memo="", travel_rule_hash=b""))
    refused(market, Desk(market).sign("carol", Transfer, to=BOB, currency="JPY", amount_minor=1, memo="", travel_rule_hash=b""),
            Refusal.CORRIDOR_LIMIT_EXCEEDED)


def pay(state: State, sender: str, to: str, receive_minor: int, send_max: int = 1_000_000, travel: bytes = b"") -> SignedTx:
    """`sender` pays `to` exactly `receive_minor` JPY, in USD."""
    return Desk(state).sign(sender, Pay, to=FX_ADDRESSES[to], send_currency="USD", send_max_minor=send_max, receive_currency="JPY",
                            receive_amount_minor=receive_minor, memo="", travel_rule_hash=travel)


@pytest.fixture()
def book(market: State) -> State:
    """bob sells 500,000 JPY for USD at 1 cent per 1.5 yen (2/3 cent per yen): 1,500 JPY cost 1,000 cents."""
    desk = Desk(market)
    desk.placed("bob", "JPY", 500_000, "USD", 2, 3)
    return market


def test_both_currency_legs_of_a_payment_are_checked_payer_to_recipient(book: State) -> None:
    # the receive leg: alice -> carol in JPY (US -> SG)
    ok(book, corridor_tx(book, "JPY", "US", "SG", payment_max=3_000))
    refused(book, pay(book, "alice", "carol", 3_001), Refusal.CORRIDOR_LIMIT_EXCEEDED)
    # the send leg: alice -> carol in USD, the cost (2,000 cents for 3,000 JPY), not the offer owner bob (HK)
    ok(book, corridor_tx(book, "USD", "US", "SG", threshold=1_999))
    refused(book, pay(book, "alice", "carol", 3_000), Refusal.TRAVEL_RULE_REQUIRED)
    outcome = ok(book, pay(book, "alice", "carol", 3_000, travel=TRAVEL))
    assert outcome.events[-1]["sent_minor"] == 2_000
    ok(book, corridor_tx(book, "USD", "US", "HK", payment_max=1))  # alice -> bob, the book's owner: not a corridor of this payment
    ok(book, pay(book, "alice", "carol", 1_500))


def test_a_payment_counts_in_the_windows_of_both_currencies(book: State) -> None:
    ok(book, corridor_tx(book, "USD", "US", "SG", window_max=5_000, window_ms=WINDOW_MS))
    ok(book, corridor_tx(book, "JPY", "US", "SG", window_max=6_000, window_ms=WINDOW_MS))
    ok(book, pay(book, "alice", "carol", 4_500))  # costs 3,000 cents
    usd_policy, jpy_policy = corridors.get_policy(book, "USD", "US", "SG"), corridors.get_policy(book, "JPY", "US", "SG")
    assert corridors.window_used(book, usd_policy, ALICE, GENESIS_TIME + 1_000) == 3_000
    assert corridors.window_used(book, jpy_policy, ALICE, GENESIS_TIME + 1_000) == 4_500
    refused(book, pay(book, "alice", "carol", 1_501), Refusal.CORRIDOR_LIMIT_EXCEEDED)  # JPY window: 4,500 + 1,501
    refused(book, Desk(book).sign("alice", Transfer, to=CAROL, currency="USD", amount_minor=2_001, memo="", travel_rule_hash=b""),
            Refusal.CORRIDOR_LIMIT_EXCEEDED)  # USD window: 3,000 + 2,001


def test_offers_and_a_payment_to_oneself_are_not_payments_between_parties(book: State) -> None:
    ok(book, corridor_tx(book, "USD", "*", "*", payment_max=1))
    ok(book, corridor_tx(book, "JPY", "*", "*", payment_max=1))
    ok(book, pay(book, "alice", "alice", 3_000))  # a conversion: no corridor
    desk = Desk(book)
    outcome = desk.run("carol", OfferCreate, sell_currency="USD", sell_amount_minor=2_000, buy_currency="JPY", price_num=3, price_den=2)
    assert outcome.applied and outcome.events[0]["bought_minor"] == 3_000  # carol takes bob's offer: a trade
    refused(book, pay(book, "alice", "carol", 3_000), Refusal.CORRIDOR_LIMIT_EXCEEDED)


# decoding, views, a committed block -----------------------------------------------------------------------


def test_the_new_transactions_decode_to_themselves_and_show_as_json() -> None:
    state = fx_state()
    for tx in (jurisdiction_tx(state, "USD", "alice", "US"),
               corridor_tx(state, "USD", "*", "HK", threshold=1, payment_max=2, window_max=3, window_ms=4)):
        decoded = decode_tx(tx.raw)
        assert decoded == tx and signatures_valid(decoded, CHAIN_ID)
    shown = tx_to_json(jurisdiction_tx(state, "USD", "alice", "US"))["body"]
    assert shown["account"].startswith("cor1") and shown["jurisdiction"] == "US"
    shown = tx_to_json(corridor_tx(state, "USD", "*", "HK", always=True))["body"]
    assert (shown["from_jurisdiction"], shown["to_jurisdiction"], shown["travel_rule_always"]) == ("*", "HK", True)


@pytest.mark.parametrize(("type_name", "name", "value"), [
    ("set_jurisdiction", "jurisdiction", "us"), ("set_jurisdiction", "jurisdiction", "USA"),
    ("set_jurisdiction", "jurisdiction", "*"), ("set_jurisdiction", "jurisdiction", "US\n"),
    ("set_jurisdiction", "jurisdiction", None), ("set_corridor_policy", "from_jurisdiction", ""),
    ("set_corridor_policy", "to_jurisdiction", "**"), ("set_corridor_policy", "travel_rule_always", 1),
    ("set_corridor_policy", "payment_max_minor", -1), ("set_corridor_policy", "window_max_minor", True),
    ("set_corridor_policy", "window_ms", limits.CORRIDOR_WINDOW_MS_MAX + 1),
])
def test_bad_fields_are_refused_at_decode(type_name: str, name: str, value: Any) -> None:
    state = fx_state()
    sample = jurisdiction_tx(state, "USD", "alice", "US") if type_name == "set_jurisdiction" else corridor_tx(state, "USD", "US", "HK")
    document = tx_document(sample)
    document["body"][name] = value
    with pytest.raises(TxError) as caught:
        decode_tx(codec.encode(document))
    assert caught.value.refusal == Refusal.BAD_FIELD
    with pytest.raises(TxError, match=name):
        build_body(type_name, {**tx_document(sample)["body"], name: value})


def test_the_json_view_of_a_policy_and_of_an_accounts_window(usd: State) -> None:
    ok(usd, corridor_tx(usd, "USD", "US", "HK", threshold=100_000, window_max=250_000, window_ms=86_400_000), at(1_000, 5))
    ok(usd, transfer(usd, "alice", "bob", 12_345, travel=b""))
    policy = corridors.get_policy(usd, "USD", "US", "HK")
    assert corridors.policy_to_json(policy, 2) == {
        "currency": "USD", "from_jurisdiction": "US", "to_jurisdiction": "HK", "travel_rule_threshold_minor": 100_000,
        "travel_rule_threshold": "1000.00", "travel_rule_always": False, "payment_max_minor": 0, "payment_max": None,
        "window_max_minor": 250_000, "window_max": "2500.00", "window_ms": 86_400_000, "bucket_ms": 10_800_000, "height": 5}
    assert corridors.account_window_json(usd, policy, ALICE, GENESIS_TIME + 2_000, 2) == {
        "used_minor": 12_345, "used": "123.45", "remaining_minor": 237_655, "remaining": "2376.55"}
    assert corridors.account_window_json(usd, policy, BOB, GENESIS_TIME + 2_000, 2)["used_minor"] == 0


def test_a_committed_block_keeps_the_corridor_records_in_the_state_root(tmp_path) -> None:
    genesis = fx_genesis()
    store = Store(tmp_path / "db", genesis)
    try:
        pending = State(store)  # signs each next transaction with the nonce the ones before it leave
        txs = [signed_in(pending, jurisdiction_tx(pending, "USD", "alice", "US")),
               signed_in(pending, corridor_tx(pending, "USD", "US", "*", window_max=100_000, window_ms=WINDOW_MS))]
        executed, left_out = commit(store, txs)
        assert left_out == [] and len(executed.block.txs) == 2
        pending = State(store)
        txs = [signed_in(pending, transfer(pending, "alice", "bob", 60_000)),
               signed_in(pending, transfer(pending, "alice", "dave", 40_000))]
        executed, left_out = commit(store, txs)
        assert left_out == []
        state = State(store)
        executed, left_out = commit(store, [transfer(state, "alice", "bob", 1)])
        assert [item.refusal for item in left_out] == [Refusal.CORRIDOR_LIMIT_EXCEEDED]
        assert store.tip.state_hash.root() == recompute_state_hash(store).root()
        assert [key for key, _ in store.iterate(b"j/")] == [
            corridors.jurisdiction_key(ALICE, "USD"), b"j/n/USD", b"j/p/USD/US/*", corridors.window_key("USD", "US", "*", ALICE)]
    finally:
        store.close()


GENESIS_TIME = at(0).time_ms
