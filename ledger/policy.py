"""The checks every movement of a currency shares: may this account send it, may that one receive it.

Transfers, mints, burns, swaps, offers and payments all ask these two questions, so a frozen or
unauthorised account is refused the same way whichever transaction tries to move its coins.
"""

from __future__ import annotations

from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State


def refusal_to_send(state: State, currency: Currency, address: bytes) -> Refusal | None:
    """Why `address` may not send `currency` now, or None. The issuer is never frozen or unauthorised."""
    if currency.paused:
        return Refusal.CURRENCY_PAUSED
    if address == currency.issuer:
        return None
    holder = state.get_holder(address, currency.code)
    if holder.frozen:
        return Refusal.SENDER_FROZEN
    if currency.holders_need_authorization and not holder.authorized:
        return Refusal.SENDER_NOT_AUTHORIZED
    return None


def refusal_to_receive(state: State, currency: Currency, address: bytes) -> Refusal | None:
    """Why `address` may not receive `currency` now, or None."""
    if currency.paused:
        return Refusal.CURRENCY_PAUSED
    if address == currency.issuer:
        return None
    holder = state.get_holder(address, currency.code)
    if holder.frozen:
        return Refusal.RECIPIENT_FROZEN
    if currency.holders_need_authorization and not holder.authorized:
        return Refusal.RECIPIENT_NOT_AUTHORIZED
    return None
