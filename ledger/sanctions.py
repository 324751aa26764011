"""The consortium sanctions list: accounts that governance (validators holding more than 2/3 of the voting
power) has listed, with `gov_set_sanctioned`. A listed account can neither send nor receive any currency, nor
trade, until governance takes it off the list.

State:
    s/<address 20 bytes>  -> {"height": int, "reason_hash": 32 bytes}: listed by the governance transaction
                             committed at `height`, for the order or listing whose SHA-256 is `reason_hash`
                             (absent when the account is not listed)
    g/sanctioned_count    -> how many accounts are listed (absent when none): every payment asks whether
                             its parties are listed, and while the list is empty one cached read answers
                             for all of them instead of a lookup per party

Enforcement lives in one place, policy.py: `refusal_to_send` and `refusal_to_receive`, which every movement of
every currency asks (transfers, mints, burns, swaps on both legs, offers, cross-currency payments at both
ends, and the book walk's check of each resting offer's owner), answer `account_sanctioned` for a listed
account. The currency issuers' own accounts are not exempt: a listed issuer account can neither receive nor
send any currency, its own included, so it cannot mint either (governance hands the currency to another
issuer account with `gov_set_issuer`). Controls that move no money (freeze, pause, policy, attestation) stay
with the issuer. A clawback from a listed account remains possible (it is a seizure under the issuer's own
freeze, never a movement the account makes), but not into a listed issuer account.

Listing cancels the account's resting offers: each is taken out of the book and its locked amount returned
to the account's balance, where the listing keeps it frozen (one `offer_removed` event per offer, after the
`sanctioned` event). The work is bounded: at most SANCTION_OFFERS_REMOVED_MAX offers per listing. Offers
beyond the bound (the `sanctioned` event says `offers_remaining: true`) stay in the book, but nobody can
trade with them: the first walk of the book that reaches one removes it and refunds its owner (fx._tradable
asks policy.py), an offer that would cross one takes it the same way, and the owner may still cancel them
(their funds return to its listed, frozen balance). Nothing a listing does creates or destroys value.

Delisting deletes the record; the account's balances are movable again at once. Listing an account already
listed is refused (`already_sanctioned`), and so is delisting one that is not (`not_sanctioned`): every
committed decision changes the list, and the governance history (`GET /v1/governance`) keeps each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor.keys import format_address
from corridor.ledger import limits
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import State
from corridor.ledger.tx import GovSetSanctioned

SANCTION_PREFIX = b"s/"
SANCTIONED_COUNT_KEY = b"g/sanctioned_count"


@dataclass(frozen=True, slots=True)
class Sanction:
    """One entry of the list: the account, the height its listing committed at, the order's hash."""

    account: bytes
    height: int
    reason_hash: bytes


def sanction_key(address: bytes) -> bytes:
    return SANCTION_PREFIX + address


def is_sanctioned(state: State, address: bytes) -> bool:
    """Whether `address` is on the consortium sanctions list now."""
    return bool(state.get_record(SANCTIONED_COUNT_KEY)) and state.get_record(SANCTION_PREFIX + address) is not None


def _count_listed(state: State, change: int) -> None:
    count = (state.get_record(SANCTIONED_COUNT_KEY) or 0) + change
    state.put_record(SANCTIONED_COUNT_KEY, count or None)


def get_sanction(state: State, address: bytes) -> Sanction | None:
    record = state.get_record(sanction_key(address))
    return None if record is None else Sanction(address, record["height"], record["reason_hash"])


def sanctions_in(state: State) -> list[Sanction]:
    """Every listed account, ordered by address."""
    return [Sanction(key[len(SANCTION_PREFIX):], record["height"], record["reason_hash"])
            for key, record in state.iterate(SANCTION_PREFIX)]


def _resting_offers(state: State, owner: bytes, count: int) -> list[Any]:
    """The first `count` resting offers of `owner` (by id), read before anything is written."""
    from corridor.ledger import fx  # fx imports policy, which imports this module: import it when used

    prefix = b"i/" + owner + b"/"
    offers = []
    for key, _ in state.iterate(prefix):
        if len(offers) == count:
            break
        offer = fx.get_offer(state, int.from_bytes(key[len(prefix):], "big"))
        assert offer is not None, "the owner index names only resting offers"
        offers.append(offer)
    return offers


def apply_set_sanctioned(state: State, sender: bytes, tx: GovSetSanctioned, context: BlockContext) -> Outcome:
    """List `tx.account` (its resting offers cancelled, their funds returned to its frozen balance), or
    delist it."""
    from corridor.ledger import fx

    listed = is_sanctioned(state, tx.account)
    if tx.listed and listed:
        return refused(Refusal.ALREADY_SANCTIONED)
    if not tx.listed and not listed:
        return refused(Refusal.NOT_SANCTIONED)
    # After this point the change must succeed.
    if not tx.listed:
        state.put_record(sanction_key(tx.account), None)
        _count_listed(state, -1)
        return applied({"kind": "unsanctioned", "account": tx.account, "reason_hash": tx.reason_hash})
    offers = _resting_offers(state, tx.account, limits.SANCTION_OFFERS_REMOVED_MAX + 1)
    remaining = len(offers) > limits.SANCTION_OFFERS_REMOVED_MAX
    removed = [fx.remove_offer_and_refund(state, offer) for offer in offers[: limits.SANCTION_OFFERS_REMOVED_MAX]]
    state.put_record(sanction_key(tx.account), {"height": context.height, "reason_hash": tx.reason_hash})
    _count_listed(state, +1)
    return applied(
        {"kind": "sanctioned", "account": tx.account, "reason_hash": tx.reason_hash, "offers_removed": len(removed),
         "offers_remaining": remaining},
        *removed,
    )


def sanction_to_json(sanction: Sanction) -> dict[str, Any]:
    """An entry as JSON (GET /v1/sanctions): the address as cor1..., the reason hash in hex."""
    return {"account": format_address(sanction.account), "height": sanction.height, "reason_hash": sanction.reason_hash.hex()}
