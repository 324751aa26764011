"""The state transition: one plain function per transaction type, over the State interface.

Each rule does every check first and returns a refusal without writing anything; after the line
"# After this point ... must succeed" it only writes. The same functions run in mempool admission, block
execution and the property tests. Signatures are checked before a rule runs (see `apply_tx`'s caller).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from corridor.ledger.refusals import Refusal
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.policy import refusal_to_receive, refusal_to_send
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import (
    TX_TYPES,
    AttestReserve,
    Burn,
    Clawback,
    GovSetAuditor,
    GovSetSanctioned,
    Mint,
    SetAuthorization,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SignedTx,
    Swap,
    OfferCancel,
    OfferCreate,
    Pay,
    Transfer,
)
from corridor.ledger import fx, governance, limits, reserves, sanctions
from corridor.ledger.tx import is_governance
from corridor.ledger import redemption
from corridor.ledger import orders
from corridor.ledger import corridors
from corridor.ledger import licences
from corridor.keys import address_of


def _issued_by(state: State, sender: bytes, code: str) -> tuple[Currency | None, Refusal | None]:
    """The currency when `sender` is its issuer, else the refusal."""
    currency = state.get_currency(code)
    if currency is None:
        return None, Refusal.UNKNOWN_CURRENCY
    if currency.issuer != sender:
        return None, Refusal.NOT_ISSUER
    return currency, None


def _leg_policy(state: State, currency: Currency, sender: bytes, recipient: bytes, amount_minor: int, travel_rule_hash: bytes,
                context: BlockContext) -> Refusal | None:
    """The currency's per-payment cap and travel rule, then the policies of the corridor from the sender's
    jurisdiction to the recipient's (corridors.py), for one leg of a transfer, swap or payment. A leg that
    passes is counted in the corridors' windows with `corridors.record_leg` once the rule writes."""
    if currency.transfer_max_minor and amount_minor > currency.transfer_max_minor:
        return Refusal.EXCEEDS_TRANSFER_LIMIT
    if currency.travel_rule_threshold_minor and amount_minor > currency.travel_rule_threshold_minor and not travel_rule_hash:
        return Refusal.TRAVEL_RULE_REQUIRED
    return corridors.leg_refusal(state, currency.code, sender, recipient, amount_minor, travel_rule_hash, context)


def apply_transfer(state: State, sender: bytes, tx: Transfer, context: BlockContext) -> Outcome:
    """Move tx.amount_minor of tx.currency from the sender to tx.to, within the currency's policy."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if tx.to == sender:
        return refused(Refusal.SELF_TRANSFER)
    refusal = (
        refusal_to_send(state, currency, sender)
        or refusal_to_receive(state, currency, tx.to)
        or _leg_policy(state, currency, sender, tx.to, tx.amount_minor, tx.travel_rule_hash, context)
    )
    if refusal is not None:
        return refused(refusal)
    sender_balance_minor = state.get_balance(sender, tx.currency)
    if sender_balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the transfer must succeed: writes only, no more returns.
    state.set_balance(sender, tx.currency, sender_balance_minor - tx.amount_minor)
    state.increase_balance(tx.to, tx.currency, tx.amount_minor)
    corridors.record_leg(state, tx.currency, sender, tx.to, tx.amount_minor, context)
    return applied({"kind": "transfer", "currency": tx.currency, "from": sender, "to": tx.to, "amount_minor": tx.amount_minor})


def apply_mint(state: State, sender: bytes, tx: Mint, context: BlockContext) -> Outcome:
    """The issuer creates new coins, never taking supply above the latest attested reserve."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # The issuer sends the new coins: only a sanctions listing of its own account stops it here.
    refusal = refusal_to_receive(state, currency, tx.to) or refusal_to_send(state, currency, sender)
    if refusal is not None:
        return refused(refusal)
    refusal = licences.distribute_refusal(state, currency, tx.to, context)  # not_distributor, licence_revoked, licence_expired
    if refusal is not None:
        return refused(refusal)
    refusal = reserves.mint_refusal(currency, tx.amount_minor, context)  # exceeds_reserves, reserve_attestation_stale
    if refusal is not None:
        return refused(refusal)
    # After this point the mint must succeed.
    state.put_currency(replace(currency, supply_minor=currency.supply_minor + tx.amount_minor))
    state.increase_balance(tx.to, tx.currency, tx.amount_minor)
    return applied({"kind": "mint", "currency": tx.currency, "to": tx.to, "amount_minor": tx.amount_minor})


def apply_burn(state: State, sender: bytes, tx: Burn, context: BlockContext) -> Outcome:
    """The holder's coins are destroyed (redeemed with the issuer off-chain); supply falls."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    refusal = refusal_to_send(state, currency, sender)
    if refusal is not None:
        return refused(refusal)
    refusal = licences.distribute_refusal(state, currency, sender, context)  # not_distributor, licence_revoked, licence_expired
    if refusal is not None:
        return refused(refusal)
    balance_minor = state.get_balance(sender, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the burn must succeed.
    assert currency.supply_minor >= tx.amount_minor, "supply is the sum of balances"
    state.set_balance(sender, tx.currency, balance_minor - tx.amount_minor)
    state.put_currency(reserves.redeemed(currency, tx.amount_minor))
    return applied({"kind": "burn", "currency": tx.currency, "from": sender, "amount_minor": tx.amount_minor})


def apply_set_authorization(state: State, sender: bytes, tx: SetAuthorization, context: BlockContext) -> Outcome:
    """The issuer adds `tx.account` to its currency's allow-list, or removes it."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if tx.account == currency.issuer:
        return refused(Refusal.ISSUER_ACCOUNT)
    # After this point the change must succeed.
    state.put_holder(tx.account, tx.currency, replace(state.get_holder(tx.account, tx.currency), authorized=tx.enabled))
    return applied({"kind": "authorized" if tx.enabled else "deauthorized", "currency": tx.currency, "account": tx.account})


def apply_set_frozen(state: State, sender: bytes, tx: SetFrozen, context: BlockContext) -> Outcome:
    """The issuer freezes or unfreezes `tx.account` for its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if tx.account == currency.issuer:
        return refused(Refusal.ISSUER_ACCOUNT)
    # After this point the change must succeed.
    state.put_holder(tx.account, tx.currency, replace(state.get_holder(tx.account, tx.currency), frozen=tx.enabled))
    return applied(
        {"kind": "frozen" if tx.enabled else "unfrozen", "currency": tx.currency, "account": tx.account, "reason_hash": tx.reason_hash}
    )


def apply_clawback(state: State, sender: bytes, tx: Clawback, context: BlockContext) -> Outcome:
    """The issuer takes coins of a frozen account back into its own account; supply does not change."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if currency.paused:
        return refused(Refusal.CURRENCY_PAUSED)
    if tx.account == currency.issuer:
        return refused(Refusal.ISSUER_ACCOUNT)
    if not state.get_holder(tx.account, tx.currency).frozen:
        return refused(Refusal.ACCOUNT_NOT_FROZEN)
    if sanctions.is_sanctioned(state, currency.issuer):
        return refused(Refusal.ACCOUNT_SANCTIONED)  # a listed issuer account receives nothing, clawed coins included
    balance_minor = state.get_balance(tx.account, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the clawback must succeed.
    state.set_balance(tx.account, tx.currency, balance_minor - tx.amount_minor)
    state.increase_balance(currency.issuer, tx.currency, tx.amount_minor)
    return applied(
        {"kind": "clawback", "currency": tx.currency, "from": tx.account, "to": currency.issuer,
         "amount_minor": tx.amount_minor, "reason_hash": tx.reason_hash}
    )


def apply_set_paused(state: State, sender: bytes, tx: SetPaused, context: BlockContext) -> Outcome:
    """The issuer pauses or resumes its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    state.put_currency(replace(currency, paused=tx.enabled))
    return applied({"kind": "paused" if tx.enabled else "resumed", "currency": tx.currency})


def apply_set_policy(state: State, sender: bytes, tx: SetPolicy, context: BlockContext) -> Outcome:
    """The issuer sets its currency's payment cap, travel-rule threshold and distribution model."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    state.put_currency(
        replace(
            currency,
            transfer_max_minor=tx.transfer_max_minor,
            travel_rule_threshold_minor=tx.travel_rule_threshold_minor,
            distributors_only=tx.distributors_only,
        )
    )
    return applied(
        {"kind": "policy_set", "currency": tx.currency, "transfer_max_minor": tx.transfer_max_minor,
         "travel_rule_threshold_minor": tx.travel_rule_threshold_minor, "distributors_only": tx.distributors_only}
    )


def apply_swap(state: State, sender: bytes, tx: Swap, context: BlockContext) -> Outcome:
    """Both legs of a two-party swap, or neither."""
    if context.height > tx.expiry_height:
        return refused(Refusal.SWAP_EXPIRED)
    if tx.give_currency == tx.get_currency:
        return refused(Refusal.SAME_CURRENCY)
    give, get = state.get_currency(tx.give_currency), state.get_currency(tx.get_currency)
    if give is None or get is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    counterparty = address_of(tx.counterparty)
    if counterparty == sender:
        return refused(Refusal.SELF_TRANSFER)
    refusal = (
        refusal_to_send(state, give, sender)
        or refusal_to_receive(state, give, counterparty)
        or refusal_to_send(state, get, counterparty)
        or refusal_to_receive(state, get, sender)
        or _leg_policy(state, give, sender, counterparty, tx.give_amount_minor, tx.travel_rule_hash, context)
        or _leg_policy(state, get, counterparty, sender, tx.get_amount_minor, tx.travel_rule_hash, context)
    )
    if refusal is not None:
        return refused(refusal)
    if state.get_balance(sender, tx.give_currency) < tx.give_amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    if state.get_balance(counterparty, tx.get_currency) < tx.get_amount_minor:
        return refused(Refusal.COUNTERPARTY_INSUFFICIENT_FUNDS)
    # After this point the swap must succeed: both legs.
    state.decrease_balance(sender, tx.give_currency, tx.give_amount_minor)
    state.increase_balance(counterparty, tx.give_currency, tx.give_amount_minor)
    state.decrease_balance(counterparty, tx.get_currency, tx.get_amount_minor)
    state.increase_balance(sender, tx.get_currency, tx.get_amount_minor)
    corridors.record_leg(state, tx.give_currency, sender, counterparty, tx.give_amount_minor, context)
    corridors.record_leg(state, tx.get_currency, counterparty, sender, tx.get_amount_minor, context)
    return applied(
        {"kind": "transfer", "currency": tx.give_currency, "from": sender, "to": counterparty, "amount_minor": tx.give_amount_minor},
        {"kind": "transfer", "currency": tx.get_currency, "from": counterparty, "to": sender, "amount_minor": tx.get_amount_minor},
    )


def apply_offer_create(state: State, sender: bytes, tx: OfferCreate, context: BlockContext) -> Outcome:
    """Take crossing offers at their prices, then rest what is left (or return it, if it cannot rest
    without leaving the book crossed)."""
    if tx.sell_currency == tx.buy_currency:
        return refused(Refusal.SAME_CURRENCY)
    sell, buy = state.get_currency(tx.sell_currency), state.get_currency(tx.buy_currency)
    if sell is None or buy is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    refusal = refusal_to_send(state, sell, sender) or refusal_to_receive(state, buy, sender)
    refusal = refusal or licences.exchange_refusal(state, sell, buy, sender, context)  # licence_required, _revoked, _expired
    if refusal is not None:
        return refused(refusal)
    if state.get_balance(sender, tx.sell_currency) < tx.sell_amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the offer must succeed: it fills, rests or returns, never fails.
    state.decrease_balance(sender, tx.sell_currency, tx.sell_amount_minor)
    fill = fx.take(state, sender, tx.buy_currency, tx.sell_currency, None, tx.sell_amount_minor, (tx.price_num, tx.price_den),
                   time_ms=context.time_ms)
    state.increase_balance(sender, tx.buy_currency, fill.taken_minor)
    remaining_minor = tx.sell_amount_minor - fill.paid_minor
    events = list(fill.events)
    if remaining_minor and not fx.crosses(state, tx.sell_currency, tx.buy_currency, tx.price_num, tx.price_den):
        offer_id = fx.next_offer_id(state)
        state.put_record(fx.NEXT_OFFER_ID_KEY, offer_id + 1)
        fx.put_offer(state, fx.Offer(offer_id, sender, tx.sell_currency, tx.buy_currency, remaining_minor, tx.price_num, tx.price_den))
        events.append({"kind": "offer_placed", "offer_id": offer_id, "account": sender, "sell_currency": tx.sell_currency,
                       "remaining_minor": remaining_minor, "buy_currency": tx.buy_currency, "price_num": tx.price_num, "price_den": tx.price_den})
    elif remaining_minor:
        state.increase_balance(sender, tx.sell_currency, remaining_minor)
        events.append({"kind": "offer_unplaced", "account": sender, "currency": tx.sell_currency, "refunded_minor": remaining_minor})
    events.insert(0, {"kind": "offer_taken", "account": sender, "paid_currency": tx.sell_currency, "paid_minor": fill.paid_minor,
                      "bought_currency": tx.buy_currency, "bought_minor": fill.taken_minor})
    return applied(*events)


def apply_offer_cancel(state: State, sender: bytes, tx: OfferCancel, context: BlockContext) -> Outcome:
    """Withdraw a resting offer; its locked funds return to its owner."""
    offer = fx.get_offer(state, tx.offer_id)
    if offer is None:
        return refused(Refusal.UNKNOWN_OFFER)
    if offer.owner != sender:
        return refused(Refusal.NOT_OFFER_OWNER)
    # After this point the cancellation must succeed.
    return applied(fx.remove_offer_and_refund(state, offer))


def _route_cost(state: State, sender: bytes, tx: Pay, via: Currency | None, budget_minor: int,
                time_ms: int) -> tuple[int, list[dict[str, Any]]] | None:
    """Fill the payment in `state` (a throwaway overlay) along one route: its cost and the fills' events,
    or None if the book cannot deliver the amount for at most `budget_minor`. Both legs of a route
    together touch at most BOOK_WALK_OFFERS_MAX resting offers."""
    if via is None:
        fill = fx.take(state, sender, tx.receive_currency, tx.send_currency, tx.receive_amount_minor, budget_minor, time_ms=time_ms)
        return (fill.paid_minor, fill.events) if fill.taken_minor == tx.receive_amount_minor else None
    if refusal_to_send(state, via, sender) or refusal_to_receive(state, via, sender):
        return None
    second = fx.take(state, sender, tx.receive_currency, via.code, tx.receive_amount_minor, limits.AMOUNT_MINOR_MAX, time_ms=time_ms)
    if second.taken_minor != tx.receive_amount_minor:
        return None
    offers_left = limits.BOOK_WALK_OFFERS_MAX - second.walked
    first = fx.take(state, sender, via.code, tx.send_currency, second.paid_minor, budget_minor, offers_max=offers_left, time_ms=time_ms)
    if first.taken_minor != second.paid_minor:
        return None
    return first.paid_minor, first.events + second.events


def apply_pay(state: State, sender: bytes, tx: Pay, context: BlockContext) -> Outcome:
    """Deliver exactly tx.receive_amount_minor to tx.to, paid in the send currency through the book,
    along the cheapest route (direct, or through one intermediate currency), all or nothing."""
    if tx.send_currency == tx.receive_currency:
        return refused(Refusal.SAME_CURRENCY)
    send, receive = state.get_currency(tx.send_currency), state.get_currency(tx.receive_currency)
    if send is None or receive is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    refusal = refusal_to_send(state, send, sender) or refusal_to_receive(state, receive, tx.to)
    refusal = refusal or _leg_policy(state, receive, sender, tx.to, tx.receive_amount_minor, tx.travel_rule_hash, context)
    if refusal is not None:
        return refused(refusal)
    intermediates = [
        currency
        for key, record in state.iterate(b"c/")
        if (currency := Currency(**record)).code not in (tx.send_currency, tx.receive_currency)
    ][: limits.PAYMENT_INTERMEDIATES_MAX]
    routes = [None, *intermediates]
    best: tuple[int, State, str, list[dict[str, Any]]] | None = None
    for via in routes:
        trial = state.child()
        route = _route_cost(trial, sender, tx, via, tx.send_max_minor, context.time_ms)
        if route is not None and (best is None or route[0] < best[0]):
            best = (route[0], trial, "" if via is None else via.code, route[1])
    if best is None:
        deliverable = any(_route_cost(state.child(), sender, tx, via, limits.AMOUNT_MINOR_MAX, context.time_ms) is not None for via in routes)
        return refused(Refusal.SEND_MAX_EXCEEDED if deliverable else Refusal.BOOK_TOO_THIN)
    cost_minor, trial, via_code, fill_events = best
    refusal = _leg_policy(state, send, sender, tx.to, cost_minor, tx.travel_rule_hash, context)
    if refusal is not None:
        return refused(refusal)
    if state.get_balance(sender, tx.send_currency) < cost_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the payment must succeed: the chosen route's fills, the debit and the credit.
    trial.commit()
    state.decrease_balance(sender, tx.send_currency, cost_minor)
    state.increase_balance(tx.to, tx.receive_currency, tx.receive_amount_minor)
    corridors.record_leg(state, tx.send_currency, sender, tx.to, cost_minor, context)
    corridors.record_leg(state, tx.receive_currency, sender, tx.to, tx.receive_amount_minor, context)
    return applied(
        *fill_events,
        {"kind": "payment", "from": sender, "to": tx.to, "sent_currency": tx.send_currency, "sent_minor": cost_minor,
         "currency": tx.receive_currency, "amount_minor": tx.receive_amount_minor, "via": via_code},
    )


RULES: dict[type, Callable[[State, bytes, Any, BlockContext], Outcome]] = {
    Transfer: apply_transfer,
    Mint: apply_mint,
    Burn: apply_burn,
    AttestReserve: reserves.apply_attest_reserve,  # signed by the currency's auditor (reserves.py)
    SetAuthorization: apply_set_authorization,
    SetFrozen: orders.with_order(apply_set_frozen),  # a freeze executes a lawful order (orders.py)
    Clawback: orders.with_order(apply_clawback),
    SetPaused: apply_set_paused,
    SetPolicy: apply_set_policy,
    Swap: apply_swap,
    OfferCreate: apply_offer_create,
    OfferCancel: apply_offer_cancel,
    Pay: apply_pay,
    **governance.GOVERNANCE_RULES,
    GovSetAuditor: reserves.apply_set_auditor,
    GovSetSanctioned: orders.with_order(sanctions.apply_set_sanctioned),
    **orders.ORDER_RULES,  # forced burn and compliance keys (orders.py)
    **redemption.REDEMPTION_RULES,  # redemption requests with deadlines (redemption.py)
    **corridors.CORRIDOR_RULES,  # jurisdictions and corridor policies (corridors.py)
    **licences.LICENCE_RULES,  # the licence registry, set_distributor included (licences.py)
}
assert set(RULES) == set(TX_TYPES.values()), "every transaction type has a rule"


def expected_nonce(state: State, tx: SignedTx) -> int:
    """The nonce `tx` must carry: the chain's governance nonce for governance, else the sender's."""
    return governance.get_gov_nonce(state) if is_governance(tx.body) else state.get_nonce(tx.sender)


def apply_tx(state: State, tx: SignedTx, context: BlockContext) -> Outcome:
    """Apply a transaction whose signatures were already verified: the nonce, for governance the
    validators' quorum, then its rule.

    On refusal nothing is written; on success the rule's writes and the nonce increment are in `state`.
    """
    nonce = expected_nonce(state, tx)
    if tx.body.nonce != nonce:
        return refused(Refusal.BAD_NONCE)
    if is_governance(tx.body):
        refusal = governance.quorum_refusal(state, tx)
        if refusal is not None:
            return refused(refusal)
    outcome = RULES[type(tx.body)](state, tx.sender, tx.body, context)
    if outcome.applied:
        if is_governance(tx.body):
            governance.set_gov_nonce(state, nonce + 1)
        else:
            state.set_nonce(tx.sender, nonce + 1)
    return outcome
