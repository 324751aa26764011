"""Redemption requests with deadlines (ledger/redemption.py): request, fulfil, reject, cancel and the issuer's
deadline, each accepted with its exact writes and events, every refusal with its code and nothing written,
the deadline and lateness in block time, the open indexes the API and /metrics read, and decoding."""

from __future__ import annotations

from dataclasses import replace

import pytest

from corridor import codec
from corridor.ledger import limits, redemption
from corridor.ledger.outcome import BlockContext
from corridor.ledger.redemption import Redemption, get_redemption, locked_minor, open_summary
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import Outcome, apply_tx
from corridor.ledger.state import Currency, State, currency_key
from corridor.ledger.tx import TxError, build_body, decode_tx, signatures_valid, tx_to_json

from issuer_support import allow_list_genesis, set_authorization, set_distributor, set_frozen, set_paused, set_policy
from redemption_support import (
    PAYOUT,
    REJECTION,
    redeem_cancel,
    redeem_fulfil,
    redeem_reject,
    redeem_request,
    redemption_snapshot,
    set_redemption_deadline,
)
from unit_support import ADDRESSES, CHAIN_ID, GENESIS_TIME_MS, KEYS, attest, genesis_reader, mint, snapshot, transfer

ALICE, BOB, CAROL, DAVE = (ADDRESSES[n] for n in ("alice", "bob", "carol", "dave"))
USD_ISSUER = ADDRESSES["usd_issuer"]
DEFAULT_DEADLINE_MS = 432_000_000


def ctx(height: int, time_ms: int | None = None) -> BlockContext:
    return BlockContext(height, GENESIS_TIME_MS + height * 1_000 if time_ms is None else time_ms)


CTX = ctx(1)


def nonce(state: State, name: str) -> int:
    return state.get_nonce(ADDRESSES[name])


def ok(state: State, tx, context: BlockContext = CTX) -> Outcome:
    outcome = apply_tx(state, tx, context)
    assert outcome.applied, f"{tx.body.TYPE} refused: {outcome.refusal}"
    return outcome


def assert_refused(state: State, tx, refusal: Refusal, context: BlockContext = CTX) -> None:
    """Refused with `refusal`, no events, and nothing readable or pending changed."""
    before, records_before = snapshot(state), redemption_snapshot(state)
    outcome = apply_tx(state, tx, context)
    assert outcome.refusal == refusal, f"{tx.body.TYPE}: expected {refusal.code}, got {outcome.refusal}"
    assert outcome.events == ()
    assert snapshot(state) == before and redemption_snapshot(state) == records_before


def supply(state: State, code: str) -> int:
    currency = state.get_currency(code)
    assert currency is not None
    return currency.supply_minor


def balances_total(state: State, code: str) -> int:
    return sum(state.get_balance(address, code) for address in ADDRESSES.values())


def assert_conserved(state: State) -> None:
    for code in ("USD", "JPY"):
        assert supply(state, code) == balances_total(state, code) + locked_minor(state, code), code


def request(state: State, name: str = "alice", amount: int = 10_000, code: str = "USD", context: BlockContext = CTX) -> int:
    """A request that must be accepted; its id."""
    outcome = ok(state, redeem_request(name, nonce(state, name), code, amount), context)
    return outcome.events[0]["redemption_id"]


@pytest.fixture()
def allow_state() -> State:
    return State(genesis_reader(allow_list_genesis("USD")))


# ---------------------------------------------------------------------------------------------------------
# Accepted: exact writes and events


def test_a_request_locks_the_amount_keeps_supply_and_records_the_deadline(state: State) -> None:
    supply_before = supply(state, "USD")
    outcome = ok(state, redeem_request("alice", 0, "USD", 12_500))
    deadline = CTX.time_ms + DEFAULT_DEADLINE_MS
    assert outcome.events == ({"kind": "redemption_requested", "redemption_id": 0, "currency": "USD", "account": ALICE,
                               "amount_minor": 12_500, "deadline_ms": deadline},)
    assert state.get_balance(ALICE, "USD") == 500_000 - 12_500
    assert supply(state, "USD") == supply_before, "locked, not burned"
    assert get_redemption(state, 0) == Redemption(0, "USD", ALICE, 12_500, 1, CTX.time_ms, deadline)
    assert locked_minor(state, "USD") == 12_500 and locked_minor(state, "JPY") == 0
    assert state.get_nonce(ALICE) == 1
    written = {key for key, _ in state.changes()}
    assert written == {
        b"a/" + ALICE, b"b/" + ALICE + b"/USD", redemption.NEXT_REDEMPTION_ID_KEY, redemption.record_key(0),
        redemption.open_key("USD", 0), redemption.account_key(ALICE, 0),
    }
    changes = dict(state.changes())
    assert changes[redemption.open_key("USD", 0)] == codec.encode({"amount_minor": 12_500, "requested_time_ms": CTX.time_ms, "deadline_ms": deadline})
    assert changes[redemption.account_key(ALICE, 0)] == codec.encode(True)
    assert_conserved(state)


def test_ids_come_from_one_counter_across_currencies_and_accounts(state: State) -> None:
    assert [request(state, "alice"), request(state, "bob", 1), request(state, "alice", 7, "JPY")] == [0, 1, 2]
    assert state.get_record(redemption.NEXT_REDEMPTION_ID_KEY) == 3
    assert [r.id for r in redemption.open_redemptions(state)] == [2, 0, 1]  # by currency code (JPY < USD), then id
    assert [r.id for r in redemption.open_redemptions(state, "USD")] == [0, 1]
    assert [r.id for r in redemption.open_redemptions_of(state, ALICE)] == [0, 2]
    assert_conserved(state)


def test_a_request_of_all_the_balance_deletes_the_balance_entry(state: State) -> None:
    request(state, "bob", 200_000)
    assert dict(state.changes())[b"b/" + BOB + b"/USD"] is None
    assert_conserved(state)


def test_fulfil_burns_the_locked_amount_and_records_the_payout_reference(state: State) -> None:
    rid = request(state, "alice", 10_000)
    supply_before, balance_before = supply(state, "USD"), state.get_balance(ALICE, "USD")
    later = ctx(5)
    outcome = ok(state, redeem_fulfil("usd_issuer", 0, rid), later)
    assert outcome.events == ({"kind": "redemption_fulfilled", "redemption_id": rid, "currency": "USD", "account": ALICE,
                               "amount_minor": 10_000, "payout_reference": PAYOUT, "late": False},)
    assert supply(state, "USD") == supply_before - 10_000
    assert state.get_balance(ALICE, "USD") == balance_before and state.get_balance(USD_ISSUER, "USD") == 0
    record = get_redemption(state, rid)
    assert record is not None
    assert (record.status, record.closed_height, record.closed_time_ms, record.late, record.payout_reference, record.reason_hash) == (
        "fulfilled", 5, later.time_ms, False, PAYOUT, b"")
    changes = dict(state.changes())
    assert changes[redemption.open_key("USD", rid)] is None and changes[redemption.account_key(ALICE, rid)] is None
    assert list(redemption.open_redemptions(state)) == [] and locked_minor(state, "USD") == 0
    assert [r.id for r in redemption.all_redemptions(state)] == [rid], "the closed record stays: the history"
    assert_conserved(state)


def test_a_fulfilled_redemption_lowers_the_attested_reserve_so_its_room_cannot_be_minted_again(state: State) -> None:
    """The payout left the reserve: minting the redeemed amount again needs a new attestation (otherwise a
    stolen issuer key could fulfil a request without paying it and mint the amount to itself)."""
    current = supply(state, "USD")
    ok(state, attest("usd_auditor", 0, "USD", current))  # the reserve covers supply exactly: no room to mint
    rid = request(state, "alice", 10_000)
    ok(state, redeem_fulfil("usd_issuer", 0, rid), ctx(5))
    assert (supply(state, "USD"), state.get_currency("USD").reserve_minor) == (current - 10_000, current - 10_000)
    assert_refused(state, mint("usd_issuer", 1, "usd_issuer", "USD", 10_000), Refusal.EXCEEDS_RESERVES)


def test_fulfilling_after_the_deadline_is_allowed_and_recorded_late(state: State) -> None:
    rid = request(state, "alice", 10_000)
    deadline = get_redemption(state, rid).deadline_ms  # type: ignore[union-attr]
    outcome = ok(state, redeem_fulfil("usd_issuer", 0, rid), ctx(9, deadline + 1))
    assert outcome.events[0]["late"] is True and get_redemption(state, rid).late is True  # type: ignore[union-attr]
    rid2 = request(state, "alice", 1, context=ctx(10, deadline + 2))
    # exactly at the deadline is in time
    exact = get_redemption(state, rid2).deadline_ms  # type: ignore[union-attr]
    assert ok(state, redeem_fulfil("usd_issuer", 1, rid2), ctx(11, exact)).events[0]["late"] is False
    assert_conserved(state)


def test_reject_returns_the_amount_and_records_the_reason(state: State) -> None:
    rid = request(state, "alice", 10_000)
    supply_before = supply(state, "USD")
    outcome = ok(state, redeem_reject("usd_issuer", 0, rid), ctx(3))
    assert outcome.events == ({"kind": "redemption_rejected", "redemption_id": rid, "currency": "USD", "account": ALICE,
                               "amount_minor": 10_000, "reason_hash": REJECTION, "late": False},)
    assert state.get_balance(ALICE, "USD") == 500_000 and supply(state, "USD") == supply_before
    record = get_redemption(state, rid)
    assert record is not None and (record.status, record.reason_hash, record.payout_reference) == ("rejected", REJECTION, b"")
    assert locked_minor(state, "USD") == 0
    assert_conserved(state)


def test_a_late_rejection_is_allowed_and_recorded_late(state: State) -> None:
    rid = request(state, "alice", 10_000)
    deadline = get_redemption(state, rid).deadline_ms  # type: ignore[union-attr]
    assert ok(state, redeem_reject("usd_issuer", 0, rid), ctx(4, deadline + 60_000)).events[0]["late"] is True
    assert state.get_balance(ALICE, "USD") == 500_000


def test_cancel_returns_the_amount_to_the_requester(state: State) -> None:
    rid = request(state, "alice", 10_000)
    outcome = ok(state, redeem_cancel("alice", 1, rid), ctx(2))
    assert outcome.events == ({"kind": "redemption_cancelled", "redemption_id": rid, "currency": "USD", "account": ALICE,
                               "amount_minor": 10_000},)
    assert state.get_balance(ALICE, "USD") == 500_000
    record = get_redemption(state, rid)
    assert record is not None and (record.status, record.closed_height, record.late) == ("cancelled", 2, False)
    assert_conserved(state)


def test_the_issuer_sets_the_deadline_for_later_requests_only(state: State) -> None:
    first = request(state, "alice", 100)
    outcome = ok(state, set_redemption_deadline("usd_issuer", 0, "USD", 60_000))
    assert outcome.events == ({"kind": "redemption_deadline_set", "currency": "USD", "redemption_deadline_ms": 60_000},)
    assert state.get_currency("USD").redemption_deadline_ms == 60_000  # type: ignore[union-attr]
    assert state.get_currency("JPY").redemption_deadline_ms == DEFAULT_DEADLINE_MS  # type: ignore[union-attr]
    second = request(state, "alice", 100, context=ctx(2))
    assert get_redemption(state, first).deadline_ms == CTX.time_ms + DEFAULT_DEADLINE_MS  # type: ignore[union-attr]
    assert get_redemption(state, second).deadline_ms == ctx(2).time_ms + 60_000  # type: ignore[union-attr]


def test_a_distributor_may_request_under_distributors_only(state: State) -> None:
    ok(state, set_policy("usd_issuer", 0, "USD", distributors_only=True))
    assert_refused(state, redeem_request("alice", 0, "USD", 1), Refusal.NOT_DISTRIBUTOR)
    ok(state, set_distributor("usd_issuer", 1, "USD", "alice"))
    rid = request(state, "alice", 1)
    ok(state, set_distributor("usd_issuer", 2, "USD", "alice", False))
    ok(state, redeem_fulfil("usd_issuer", 3, rid))  # a licence revoked later does not stop the payout


def test_an_authorised_holder_of_an_allow_list_currency_may_request(allow_state: State) -> None:
    ok(allow_state, set_authorization("usd_issuer", 0, "USD", "alice"))
    rid = request(allow_state, "alice", 5)
    ok(allow_state, redeem_fulfil("usd_issuer", 1, rid))


# ---------------------------------------------------------------------------------------------------------
# Refusals


def test_request_refusals(state: State) -> None:
    assert_refused(state, redeem_request("alice", 0, "EUR", 1), Refusal.UNKNOWN_CURRENCY)
    assert_refused(state, redeem_request("usd_issuer", 0, "USD", 1), Refusal.ISSUER_REDEMPTION)
    assert_refused(state, redeem_request("alice", 0, "USD", 500_001), Refusal.INSUFFICIENT_FUNDS)
    assert_refused(state, redeem_request("dave", 0, "USD", 1), Refusal.INSUFFICIENT_FUNDS)
    assert_refused(state, redeem_request("alice", 1, "USD", 1), Refusal.BAD_NONCE)
    ok(state, set_frozen("usd_issuer", 0, "USD", "bob"))
    assert_refused(state, redeem_request("bob", 0, "USD", 1), Refusal.SENDER_FROZEN)
    ok(state, set_paused("usd_issuer", 1, "USD"))
    assert_refused(state, redeem_request("alice", 0, "USD", 1), Refusal.CURRENCY_PAUSED)
    request(state, "alice", 1, "JPY")  # another currency is not paused


def test_an_unauthorised_holder_of_an_allow_list_currency_may_not_request(allow_state: State) -> None:
    assert_refused(allow_state, redeem_request("alice", 0, "USD", 1), Refusal.SENDER_NOT_AUTHORIZED)


def test_an_account_has_at_most_a_hundred_open_requests(state: State) -> None:
    assert limits.REDEMPTIONS_OPEN_PER_ACCOUNT_MAX == 100
    for _ in range(100):
        request(state, "alice", 1)
    assert_refused(state, redeem_request("alice", 100, "USD", 1), Refusal.TOO_MANY_OPEN_REDEMPTIONS)
    assert_refused(state, redeem_request("alice", 100, "JPY", 1), Refusal.TOO_MANY_OPEN_REDEMPTIONS)  # per account
    request(state, "bob", 1)
    ok(state, redeem_cancel("alice", 100, 42))
    request(state, "alice", 1)  # one settled: room for one more
    assert_conserved(state)


def test_fulfil_refusals(state: State) -> None:
    rid = request(state, "alice", 10_000)
    assert_refused(state, redeem_fulfil("usd_issuer", 0, 99), Refusal.UNKNOWN_REDEMPTION)
    assert_refused(state, redeem_fulfil("alice", 1, rid), Refusal.NOT_ISSUER)
    assert_refused(state, redeem_fulfil("jpy_issuer", 0, rid), Refusal.NOT_ISSUER)
    ok(state, set_paused("usd_issuer", 0, "USD"))
    assert_refused(state, redeem_fulfil("usd_issuer", 1, rid), Refusal.CURRENCY_PAUSED)
    ok(state, set_paused("usd_issuer", 1, "USD", False))
    ok(state, redeem_fulfil("usd_issuer", 2, rid))
    assert_refused(state, redeem_fulfil("usd_issuer", 3, rid), Refusal.REDEMPTION_CLOSED)
    assert_refused(state, redeem_reject("usd_issuer", 3, rid), Refusal.REDEMPTION_CLOSED)
    assert_refused(state, redeem_cancel("alice", 1, rid), Refusal.REDEMPTION_CLOSED)


def test_a_holder_frozen_after_requesting_is_not_paid_out_but_may_be_rejected(state: State) -> None:
    rid = request(state, "alice", 10_000)
    ok(state, set_frozen("usd_issuer", 0, "USD", "alice"))
    assert_refused(state, redeem_fulfil("usd_issuer", 1, rid), Refusal.RECIPIENT_FROZEN)
    ok(state, redeem_reject("usd_issuer", 1, rid))
    assert state.get_balance(ALICE, "USD") == 500_000, "back in the frozen balance, where the freeze holds it"
    assert_refused(state, transfer("alice", 1, "bob", "USD", 1), Refusal.SENDER_FROZEN)
    assert_conserved(state)


def test_a_frozen_holder_may_cancel_its_own_request(state: State) -> None:
    rid = request(state, "alice", 10_000)
    ok(state, set_frozen("usd_issuer", 0, "USD", "alice"))
    ok(state, redeem_cancel("alice", 1, rid))
    assert state.get_balance(ALICE, "USD") == 500_000


def test_a_holder_deauthorised_after_requesting_is_not_paid_out(allow_state: State) -> None:
    ok(allow_state, set_authorization("usd_issuer", 0, "USD", "alice"))
    rid = request(allow_state, "alice", 10)
    ok(allow_state, set_authorization("usd_issuer", 1, "USD", "alice", False))
    assert_refused(allow_state, redeem_fulfil("usd_issuer", 2, rid), Refusal.RECIPIENT_NOT_AUTHORIZED)
    ok(allow_state, redeem_reject("usd_issuer", 2, rid))


def test_reject_refusals(state: State) -> None:
    rid = request(state, "alice", 10_000)
    assert_refused(state, redeem_reject("usd_issuer", 0, 5), Refusal.UNKNOWN_REDEMPTION)
    assert_refused(state, redeem_reject("bob", 0, rid), Refusal.NOT_ISSUER)
    assert_refused(state, redeem_reject("alice", 1, rid), Refusal.NOT_ISSUER)
    ok(state, set_paused("usd_issuer", 0, "USD"))
    assert_refused(state, redeem_reject("usd_issuer", 1, rid), Refusal.CURRENCY_PAUSED)
    ok(state, set_paused("usd_issuer", 1, "USD", False))
    ok(state, redeem_reject("usd_issuer", 2, rid))
    assert_refused(state, redeem_reject("usd_issuer", 3, rid), Refusal.REDEMPTION_CLOSED)
    assert_refused(state, redeem_fulfil("usd_issuer", 3, rid), Refusal.REDEMPTION_CLOSED)


def test_cancel_refusals(state: State) -> None:
    rid = request(state, "alice", 10_000)
    assert_refused(state, redeem_cancel("alice", 1, 7), Refusal.UNKNOWN_REDEMPTION)
    assert_refused(state, redeem_cancel("bob", 0, rid), Refusal.NOT_REDEMPTION_REQUESTER)
    assert_refused(state, redeem_cancel("usd_issuer", 0, rid), Refusal.NOT_REDEMPTION_REQUESTER)
    ok(state, set_paused("usd_issuer", 0, "USD"))
    assert_refused(state, redeem_cancel("alice", 1, rid), Refusal.CURRENCY_PAUSED)
    ok(state, set_paused("usd_issuer", 1, "USD", False))
    ok(state, redeem_cancel("alice", 1, rid))
    assert_refused(state, redeem_cancel("alice", 2, rid), Refusal.REDEMPTION_CLOSED)
    assert_refused(state, redeem_fulfil("usd_issuer", 2, rid), Refusal.REDEMPTION_CLOSED)


def test_set_redemption_deadline_refusals(state: State) -> None:
    assert_refused(state, set_redemption_deadline("alice", 0, "USD", 1), Refusal.NOT_ISSUER)
    assert_refused(state, set_redemption_deadline("jpy_issuer", 0, "USD", 1), Refusal.NOT_ISSUER)
    assert_refused(state, set_redemption_deadline("usd_issuer", 0, "EUR", 1), Refusal.UNKNOWN_CURRENCY)
    ok(state, set_paused("usd_issuer", 0, "USD"))
    ok(state, set_redemption_deadline("usd_issuer", 1, "USD", 1))  # a policy, not a movement: allowed while paused


def test_a_sanctioned_holder_may_not_request_and_its_pending_request_is_not_paid_out(state: State) -> None:
    sanctions_support = pytest.importorskip("sanctions_support")
    rid = request(state, "alice", 10_000)
    ok(state, sanctions_support.sanction(state, ALICE))
    assert_refused(state, redeem_request("alice", 1, "USD", 1), Refusal.ACCOUNT_SANCTIONED)
    assert_refused(state, redeem_fulfil("usd_issuer", 0, rid), Refusal.ACCOUNT_SANCTIONED)
    ok(state, redeem_reject("usd_issuer", 0, rid))  # the amount returns to the listed account, where it stays
    assert state.get_balance(ALICE, "USD") == 500_000
    assert_conserved(state)


# ---------------------------------------------------------------------------------------------------------
# Overdue: the open index, read by the API and /metrics


def test_open_summary_counts_open_and_overdue_requests_and_the_oldest_overdue_age(state: State) -> None:
    ok(state, set_redemption_deadline("usd_issuer", 0, "USD", 10_000))
    t0 = GENESIS_TIME_MS + 100_000
    a = request(state, "alice", 1, context=ctx(2, t0))
    b = request(state, "bob", 2, context=ctx(3, t0 + 5_000))
    request(state, "alice", 3, "JPY", context=ctx(4, t0))  # JPY keeps the 5-day default
    assert open_summary(state, t0 + 10_000) == {"USD": redemption.OpenSummary(2, 0, 0, 3), "JPY": redemption.OpenSummary(1, 0, 0, 3)}
    assert open_summary(state, t0 + 10_001)["USD"] == redemption.OpenSummary(2, 1, 10_001, 3)
    assert open_summary(state, t0 + 20_000)["USD"] == redemption.OpenSummary(2, 2, 20_000, 3)
    record = get_redemption(state, a)
    assert record is not None and record.overdue(t0 + 10_001) and not record.overdue(t0 + 10_000)
    ok(state, redeem_fulfil("usd_issuer", 1, a), ctx(5, t0 + 30_000))
    assert open_summary(state, t0 + 30_000)["USD"] == redemption.OpenSummary(1, 1, 25_000, 2)
    assert not get_redemption(state, a).overdue(t0 + 99_999)  # type: ignore[union-attr]  # closed: never overdue
    ok(state, redeem_cancel("bob", 1, b), ctx(6))
    assert "USD" not in open_summary(state, t0 + 30_000)


def test_the_json_view(state: State) -> None:
    rid = request(state, "alice", 12_345)
    now = CTX.time_ms + 1_000
    view = redemption.redemption_to_json(get_redemption(state, rid), 2, now)  # type: ignore[arg-type]
    assert view == {
        "id": rid, "currency": "USD", "requester": tx_to_json(redeem_cancel("alice", 0, 0))["sender"],
        "amount_minor": 12_345, "amount": "123.45", "status": "open", "overdue": False, "requested_height": 1,
        "requested_time_ms": CTX.time_ms, "deadline_ms": CTX.time_ms + DEFAULT_DEADLINE_MS, "age_ms": 1_000,
        "overdue_ms": 0, "closed_height": None, "closed_time_ms": None, "late": None, "payout_reference": None,
        "reason_hash": None,
    }
    late = CTX.time_ms + DEFAULT_DEADLINE_MS + 7
    assert redemption.redemption_to_json(get_redemption(state, rid), 2, late)["overdue_ms"] == 7  # type: ignore[arg-type]
    ok(state, redeem_fulfil("usd_issuer", 0, rid), ctx(2))
    view = redemption.redemption_to_json(get_redemption(state, rid), 2, late)  # type: ignore[arg-type]
    assert (view["status"], view["overdue"], view["closed_height"], view["late"], view["payout_reference"], view["age_ms"]) == (
        "fulfilled", False, 2, False, PAYOUT.hex(), 1_000)


# ---------------------------------------------------------------------------------------------------------
# Records and decoding


def test_a_currency_record_without_a_redemption_deadline_reads_the_default(state: State) -> None:
    currency = state.get_currency("USD")
    assert currency is not None and currency.redemption_deadline_ms == DEFAULT_DEADLINE_MS
    record = currency.to_map()
    del record["redemption_deadline_ms"]
    assert Currency(**record).redemption_deadline_ms == DEFAULT_DEADLINE_MS
    assert codec.decode(dict(state.base_reader().items)[currency_key("USD")], 1 << 16)["redemption_deadline_ms"] == DEFAULT_DEADLINE_MS


@pytest.mark.parametrize("tx", [
    redeem_request("alice", 0, "USD", 1), redeem_fulfil("usd_issuer", 3, 2), redeem_reject("usd_issuer", 4, 0),
    redeem_cancel("alice", 1, 9), set_redemption_deadline("usd_issuer", 0, "USD", 60_000),
], ids=lambda tx: tx.body.TYPE)
def test_redemption_transactions_decode_to_themselves_and_verify(tx) -> None:
    decoded = decode_tx(tx.raw)
    assert decoded == tx and signatures_valid(decoded, CHAIN_ID)


def test_redemption_fields_are_checked() -> None:
    signer = KEYS["alice"].public_key
    for fields in ({"redemption_id": -1, "payout_reference": PAYOUT}, {"redemption_id": 0, "payout_reference": b"\x01" * 31},
                   {"redemption_id": True, "payout_reference": PAYOUT}):
        with pytest.raises(TxError) as caught:
            build_body("redeem_fulfil", {"signer": signer, "nonce": 0, **fields})
        assert caught.value.refusal is Refusal.BAD_FIELD
    for deadline in (0, limits.REDEMPTION_DEADLINE_MS_MAX + 1):
        with pytest.raises(TxError):
            build_body("set_redemption_deadline", {"signer": signer, "nonce": 0, "currency": "USD", "redemption_deadline_ms": deadline})
    build_body("set_redemption_deadline", {"signer": signer, "nonce": 0, "currency": "USD", "redemption_deadline_ms": limits.REDEMPTION_DEADLINE_MS_MAX})
    with pytest.raises(TxError):
        build_body("redeem_request", {"signer": signer, "nonce": 0, "currency": "USD", "amount_minor": 0})


def test_json_view_of_the_transactions() -> None:
    shown = tx_to_json(redeem_fulfil("usd_issuer", 3, 2))
    assert shown["type"] == "redeem_fulfil" and shown["body"]["payout_reference"] == PAYOUT.hex()
    assert shown["body"]["redemption_id"] == 2
    assert tx_to_json(set_redemption_deadline("usd_issuer", 0, "USD", 60_000))["body"]["redemption_deadline_ms"] == 60_000


def test_other_currency_changes_keep_the_deadline(state: State) -> None:
    ok(state, set_redemption_deadline("usd_issuer", 0, "USD", 1_234))
    ok(state, set_policy("usd_issuer", 1, "USD", transfer_max_minor=50))
    ok(state, set_paused("usd_issuer", 2, "USD"))
    assert state.get_currency("USD").redemption_deadline_ms == 1_234  # type: ignore[union-attr]
