"""The checks every movement of a currency shares: may this account send it, may that one receive it.

Transfers, mints, burns, swaps, offers and payments all ask these two questions, so a frozen or
unauthorised account is refused the same way whichever transaction tries to move its coins.

An account on the consortium sanctions list (sanctions.py) is refused first, `account_sanctioned`, in every
currency: the list binds every account, the issuers' own included (their exemption below is from their own
currency's freezes and allow-list only).
"""

from __future__ import annotations

from corridor.ledger.refusals import Refusal
from corridor.ledger.sanctions import is_sanctioned
from corridor.ledger.state import Currency, State


def _holder_refusal(state: State, currency: Currency, address: bytes, if_frozen: Refusal, if_unauthorized: Refusal) -> Refusal | None:
    if is_sanctioned(state, address):
        return Refusal.ACCOUNT_SANCTIONED
    if currency.paused:
        return Refusal.CURRENCY_PAUSED
    if address == currency.issuer:
        return None  # the issuer is never frozen or unauthorised for its own currency
    holder = state.get_holder(address, currency.code)
    if holder.frozen:
        return if_frozen
    if currency.holders_need_authorization and not holder.authorized:
        return if_unauthorized
    return None


def refusal_to_send(state: State, currency: Currency, address: bytes) -> Refusal | None:
    """Why `address` may not send `currency` now, or None."""
    return _holder_refusal(state, currency, address, Refusal.SENDER_FROZEN, Refusal.SENDER_NOT_AUTHORIZED)


def refusal_to_receive(state: State, currency: Currency, address: bytes) -> Refusal | None:
    """Why `address` may not receive `currency` now, or None."""
    return _holder_refusal(state, currency, address, Refusal.RECIPIENT_FROZEN, Refusal.RECIPIENT_NOT_AUTHORIZED)
