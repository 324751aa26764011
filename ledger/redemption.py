"""Redemption requests with deadlines (docs/compliance.md, "6. Redemption requests with deadlines").

A holder asks the issuer to redeem an amount of its currency (`redeem_request`): the amount leaves the
holder's balance at once and stays locked in the request, so for every currency
    supply = balances + amounts locked in resting offers + amounts locked in open redemption requests.
The issuer then either fulfils it (`redeem_fulfil`: it paid the holder off chain; the locked amount is burned,
supply falls, and the payout's reference hash is recorded) or rejects it (`redeem_reject`, with a reason
hash: the amount returns to the holder). Until the issuer acts, the holder may cancel it (`redeem_cancel`:
the amount returns). The currency's `redemption_deadline_ms` (set by the issuer, `set_redemption_deadline`;
5 days by default) fixes each request's deadline when it is made: requested block time + the deadline. An
issuer that acts after the deadline still may (the holder must be paid), but its event says `late`; an open
request past its deadline is *overdue* and shows as such in the API, the explorer and `/metrics`.

Who may do what:
- request: any holder that may send the currency now (`refusal_to_send`: not paused, not frozen, authorised
  for an allow-list currency, not sanctioned), except the issuer itself (`issuer_redemption`: it burns); under
  `distributors_only`, only holders of a distribute licence in force (licences.py: `not_distributor`,
  `licence_revoked`, `licence_expired`), as for `burn`. At most
  REDEMPTIONS_OPEN_PER_ACCOUNT_MAX open requests per account (`too_many_open_redemptions`).
- fulfil: the currency's issuer (`not_issuer`), while the request is open (`redemption_closed`), and only when
  the requester may still *receive* the currency (`refusal_to_receive`): a requester frozen, de-authorised or
  sanctioned since it asked is not paid out. The issuer rejects such a request instead (its amount returns
  to the blocked balance, where the freeze or sanction holds it), or it stays open and, past its deadline,
  overdue: a blocked payout is never silent.
- reject: the issuer, while open, unless the currency is paused. The amount returns whatever the requester's
  status: a refund is not a payment to a new party.
- cancel: the requester alone (`not_redemption_requester`), while open, unless the currency is paused.

Storage (docs/protocol.md, "State"):
    u/r/<id: 8 bytes BE>                          -> the redemption record (kept when closed: the history)
    u/o/<currency code>/<id: 8 bytes BE>          -> {"amount_minor", "requested_time_ms", "deadline_ms"}: an open request
    u/a/<requester address: 20 bytes>/<id: 8 BE>  -> true: an open request of this account
    g/next_redemption_id                          -> the id the next request gets
The open indexes hold only open requests, so `/metrics` and the API's open listings walk only those.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Iterator

from corridor.keys import format_address
from corridor.ledger import licences, limits, reserves
from corridor.ledger.amounts import format_amount
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.policy import refusal_to_receive, refusal_to_send
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import RedeemCancel, RedeemFulfil, RedeemReject, RedeemRequest, SetRedemptionDeadline

NEXT_REDEMPTION_ID_KEY = b"g/next_redemption_id"
RECORD_PREFIX = b"u/r/"
OPEN_PREFIX = b"u/o/"
ACCOUNT_PREFIX = b"u/a/"

OPEN, FULFILLED, REJECTED, CANCELLED = "open", "fulfilled", "rejected", "cancelled"
STATUSES = (OPEN, FULFILLED, REJECTED, CANCELLED)


@dataclass(frozen=True, slots=True)
class Redemption:
    """One redemption request. `deadline_ms` is block time: the request's block time + the currency's
    deadline when it was made. Closed requests keep `closed_height`/`closed_time_ms`, whether the issuer
    acted `late`, and the payout reference (fulfilled) or reason hash (rejected)."""

    id: int
    currency: str
    requester: bytes
    amount_minor: int
    requested_height: int
    requested_time_ms: int
    deadline_ms: int
    status: str = OPEN
    closed_height: int = 0
    closed_time_ms: int = 0
    late: bool = False
    payout_reference: bytes = b""
    reason_hash: bytes = b""

    def to_map(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def overdue(self, now_ms: int) -> bool:
        """Open and past its deadline at `now_ms`."""
        return self.status == OPEN and now_ms > self.deadline_ms


# Keys and records -----------------------------------------------------------------------------------------


def _id_bytes(redemption_id: int) -> bytes:
    return redemption_id.to_bytes(8, "big")


def record_key(redemption_id: int) -> bytes:
    return RECORD_PREFIX + _id_bytes(redemption_id)


def open_key(currency: str, redemption_id: int) -> bytes:
    return OPEN_PREFIX + currency.encode() + b"/" + _id_bytes(redemption_id)


def account_key(address: bytes, redemption_id: int) -> bytes:
    return ACCOUNT_PREFIX + address + b"/" + _id_bytes(redemption_id)


def next_redemption_id(state: State) -> int:
    value = state.get_record(NEXT_REDEMPTION_ID_KEY)
    return 0 if value is None else value


def get_redemption(state: State, redemption_id: int) -> Redemption | None:
    record = state.get_record(record_key(redemption_id))
    return None if record is None else Redemption(**record)


def _put_open(state: State, redemption: Redemption) -> None:
    state.put_record(record_key(redemption.id), redemption.to_map())
    state.put_record(open_key(redemption.currency, redemption.id), {"amount_minor": redemption.amount_minor,
                     "requested_time_ms": redemption.requested_time_ms, "deadline_ms": redemption.deadline_ms})
    state.put_record(account_key(redemption.requester, redemption.id), True)


def _close(state: State, redemption: Redemption, status: str, context: BlockContext, **extra: Any) -> Redemption:
    closed = replace(redemption, status=status, closed_height=context.height, closed_time_ms=context.time_ms, **extra)
    state.put_record(record_key(redemption.id), closed.to_map())
    state.put_record(open_key(redemption.currency, redemption.id), None)
    state.put_record(account_key(redemption.requester, redemption.id), None)
    return closed


def open_count_of(state: State, address: bytes, at_most: int = limits.REDEMPTIONS_OPEN_PER_ACCOUNT_MAX) -> int:
    """How many open requests `address` has, counting no further than `at_most`."""
    return sum(1 for _ in itertools.islice(state.iterate(ACCOUNT_PREFIX + address + b"/"), at_most))


# Queries (the API, /metrics, the tests) ----------------------------------------------------------------------


def open_redemptions(state: State, currency: str | None = None) -> Iterator[Redemption]:
    """Open requests, by currency code then id (of one currency when given)."""
    prefix = OPEN_PREFIX if currency is None else OPEN_PREFIX + currency.encode() + b"/"
    for key, _ in state.iterate(prefix):
        redemption = get_redemption(state, int.from_bytes(key[-8:], "big"))
        assert redemption is not None and redemption.status == OPEN, "the open index names open records only"
        yield redemption


def open_redemptions_of(state: State, address: bytes) -> Iterator[Redemption]:
    """The open requests of one account, by id."""
    for key, _ in state.iterate(ACCOUNT_PREFIX + address + b"/"):
        redemption = get_redemption(state, int.from_bytes(key[-8:], "big"))
        assert redemption is not None
        yield redemption


def all_redemptions(state: State) -> Iterator[Redemption]:
    """Every request ever made, open and closed, by id."""
    for _, record in state.iterate(RECORD_PREFIX):
        yield Redemption(**record)


def locked_minor(state: State, currency: str) -> int:
    """The amount of `currency` locked in open requests (from the open index)."""
    return sum(entry["amount_minor"] for _, entry in state.iterate(OPEN_PREFIX + currency.encode() + b"/"))


def locked_of(state: State, address: bytes) -> dict[str, int]:
    """What one account has locked in its open requests, by currency code."""
    locked: dict[str, int] = {}
    for found in open_redemptions_of(state, address):
        locked[found.currency] = locked.get(found.currency, 0) + found.amount_minor
    return dict(sorted(locked.items()))


@dataclass
class OpenSummary:
    """Open requests of one currency at some time: how many, how many overdue, the age (now − requested
    time) of the oldest overdue one (0 when none is) and the amount they lock."""

    open: int = 0
    overdue: int = 0
    oldest_overdue_age_ms: int = 0
    locked_minor: int = 0


def open_summary(state: State, now_ms: int) -> dict[str, OpenSummary]:
    """Per currency with open requests, their OpenSummary at `now_ms`. Reads the open index only (one small
    entry per open request), never the records: cheap enough for every /metrics scrape."""
    summaries: dict[str, OpenSummary] = {}
    for key, entry in state.iterate(OPEN_PREFIX):
        code = key[len(OPEN_PREFIX) : -9].decode()
        summary = summaries.setdefault(code, OpenSummary())
        summary.open += 1
        summary.locked_minor += entry["amount_minor"]
        if now_ms > entry["deadline_ms"]:
            summary.overdue += 1
            summary.oldest_overdue_age_ms = max(summary.oldest_overdue_age_ms, now_ms - entry["requested_time_ms"])
    return summaries


def redemption_to_json(redemption: Redemption, decimals: int, now_ms: int) -> dict[str, Any]:
    """The JSON view (GET /v1/redemptions): `status` is the chain's (open, fulfilled, rejected, cancelled);
    `overdue` says whether an open request is past its deadline at `now_ms`, the node's clock."""
    closed = redemption.status != OPEN
    return {
        "id": redemption.id,
        "currency": redemption.currency,
        "requester": format_address(redemption.requester),
        "amount_minor": redemption.amount_minor,
        "amount": format_amount(redemption.amount_minor, decimals),
        "status": redemption.status,
        "overdue": redemption.overdue(now_ms),
        "requested_height": redemption.requested_height,
        "requested_time_ms": redemption.requested_time_ms,
        "deadline_ms": redemption.deadline_ms,
        "age_ms": max(0, (redemption.closed_time_ms if closed else now_ms) - redemption.requested_time_ms),
        "overdue_ms": max(0, now_ms - redemption.deadline_ms) if not closed else 0,
        "closed_height": redemption.closed_height if closed else None,
        "closed_time_ms": redemption.closed_time_ms if closed else None,
        "late": redemption.late if closed else None,
        "payout_reference": redemption.payout_reference.hex() if redemption.status == FULFILLED else None,
        "reason_hash": redemption.reason_hash.hex() if redemption.status == REJECTED else None,
    }


# Rules ----------------------------------------------------------------------------------------------------


def _event(kind: str, redemption: Redemption, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "redemption_id": redemption.id, "currency": redemption.currency, "account": redemption.requester,
            "amount_minor": redemption.amount_minor, **extra}


def _open_request_of(state: State, redemption_id: int) -> tuple[Redemption | None, Currency | None, Refusal | None]:
    redemption = get_redemption(state, redemption_id)
    if redemption is None:
        return None, None, Refusal.UNKNOWN_REDEMPTION
    currency = state.get_currency(redemption.currency)
    assert currency is not None, "a redemption exists only in a registered currency"
    return redemption, currency, None


def apply_redeem_request(state: State, sender: bytes, tx: RedeemRequest, context: BlockContext) -> Outcome:
    """Lock tx.amount_minor of the sender's coins in a new redemption request with the currency's deadline."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if sender == currency.issuer:
        return refused(Refusal.ISSUER_REDEMPTION)
    refusal = refusal_to_send(state, currency, sender)
    if refusal is not None:
        return refused(refusal)
    refusal = licences.distribute_refusal(state, currency, sender, context)  # not_distributor, licence_revoked, licence_expired
    if refusal is not None:
        return refused(refusal)
    balance_minor = state.get_balance(sender, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    if open_count_of(state, sender) >= limits.REDEMPTIONS_OPEN_PER_ACCOUNT_MAX:
        return refused(Refusal.TOO_MANY_OPEN_REDEMPTIONS)
    # After this point the request must succeed: writes only, no more returns.
    redemption_id = next_redemption_id(state)
    state.put_record(NEXT_REDEMPTION_ID_KEY, redemption_id + 1)
    redemption = Redemption(redemption_id, tx.currency, sender, tx.amount_minor, context.height, context.time_ms,
                            context.time_ms + currency.redemption_deadline_ms)
    state.set_balance(sender, tx.currency, balance_minor - tx.amount_minor)
    _put_open(state, redemption)
    return applied(_event("redemption_requested", redemption, deadline_ms=redemption.deadline_ms))


def apply_redeem_fulfil(state: State, sender: bytes, tx: RedeemFulfil, context: BlockContext) -> Outcome:
    """The issuer paid the requester off chain: burn the locked amount and record the payout reference."""
    redemption, currency, refusal = _open_request_of(state, tx.redemption_id)
    if refusal is not None:
        return refused(refusal)
    assert redemption is not None and currency is not None
    if sender != currency.issuer:
        return refused(Refusal.NOT_ISSUER)
    if redemption.status != OPEN:
        return refused(Refusal.REDEMPTION_CLOSED)
    refusal = refusal_to_receive(state, currency, redemption.requester)
    if refusal is not None:
        return refused(refusal)
    # After this point the fulfilment must succeed.
    assert currency.supply_minor >= redemption.amount_minor, "supply counts the amounts locked in requests"
    late = context.time_ms > redemption.deadline_ms
    state.put_currency(reserves.redeemed(currency, redemption.amount_minor))
    _close(state, redemption, FULFILLED, context, late=late, payout_reference=tx.payout_reference)
    return applied(_event("redemption_fulfilled", redemption, payout_reference=tx.payout_reference, late=late))


def apply_redeem_reject(state: State, sender: bytes, tx: RedeemReject, context: BlockContext) -> Outcome:
    """The issuer refuses the request: the locked amount returns to the requester's balance."""
    redemption, currency, refusal = _open_request_of(state, tx.redemption_id)
    if refusal is not None:
        return refused(refusal)
    assert redemption is not None and currency is not None
    if sender != currency.issuer:
        return refused(Refusal.NOT_ISSUER)
    if redemption.status != OPEN:
        return refused(Refusal.REDEMPTION_CLOSED)
    if currency.paused:
        return refused(Refusal.CURRENCY_PAUSED)
    # After this point the rejection must succeed.
    late = context.time_ms > redemption.deadline_ms
    state.increase_balance(redemption.requester, redemption.currency, redemption.amount_minor)
    _close(state, redemption, REJECTED, context, late=late, reason_hash=tx.reason_hash)
    return applied(_event("redemption_rejected", redemption, reason_hash=tx.reason_hash, late=late))


def apply_redeem_cancel(state: State, sender: bytes, tx: RedeemCancel, context: BlockContext) -> Outcome:
    """The requester withdraws its open request: the locked amount returns to its balance."""
    redemption, currency, refusal = _open_request_of(state, tx.redemption_id)
    if refusal is not None:
        return refused(refusal)
    assert redemption is not None and currency is not None
    if sender != redemption.requester:
        return refused(Refusal.NOT_REDEMPTION_REQUESTER)
    if redemption.status != OPEN:
        return refused(Refusal.REDEMPTION_CLOSED)
    if currency.paused:
        return refused(Refusal.CURRENCY_PAUSED)
    # After this point the cancellation must succeed.
    state.increase_balance(redemption.requester, redemption.currency, redemption.amount_minor)
    _close(state, redemption, CANCELLED, context)
    return applied(_event("redemption_cancelled", redemption))


def apply_set_redemption_deadline(state: State, sender: bytes, tx: SetRedemptionDeadline, context: BlockContext) -> Outcome:
    """The issuer sets its currency's redemption deadline, for requests made from now on."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if currency.issuer != sender:
        return refused(Refusal.NOT_ISSUER)
    # After this point the change must succeed.
    state.put_currency(replace(currency, redemption_deadline_ms=tx.redemption_deadline_ms))
    return applied({"kind": "redemption_deadline_set", "currency": tx.currency, "redemption_deadline_ms": tx.redemption_deadline_ms})


REDEMPTION_RULES = {
    RedeemRequest: apply_redeem_request,
    RedeemFulfil: apply_redeem_fulfil,
    RedeemReject: apply_redeem_reject,
    RedeemCancel: apply_redeem_cancel,
    SetRedemptionDeadline: apply_set_redemption_deadline,
}
