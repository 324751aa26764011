"""The state transition: one plain function per transaction type, over the State interface.

Each rule does every check first and returns a refusal without writing anything; after the line
"# After this point ... must succeed" it only writes. The same functions run in mempool admission, block
execution and the property tests. Signatures are checked before a rule runs (see `apply_tx`'s caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import (
    TX_TYPES,
    AttestReserve,
    Burn,
    Clawback,
    Mint,
    SetAuthorization,
    SetDistributor,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SignedTx,
    Transfer,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one transaction did: `refusal` is None when it was applied, with its events."""

    refusal: Refusal | None
    events: tuple[dict[str, Any], ...] = field(default=())

    @property
    def applied(self) -> bool:
        return self.refusal is None


def refused(refusal: Refusal) -> Outcome:
    return Outcome(refusal)


def applied(*events: dict[str, Any]) -> Outcome:
    return Outcome(None, tuple(events))


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a rule may know about the block it runs in."""

    height: int
    time_ms: int


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


def _issued_by(state: State, sender: bytes, code: str) -> tuple[Currency | None, Refusal | None]:
    """The currency when `sender` is its issuer, else the refusal."""
    currency = state.get_currency(code)
    if currency is None:
        return None, Refusal.UNKNOWN_CURRENCY
    if currency.issuer != sender:
        return None, Refusal.NOT_ISSUER
    return currency, None


def _is_distributor_or_issuer(state: State, currency: Currency, address: bytes) -> bool:
    return address == currency.issuer or state.is_distributor(currency.code, address)


def apply_transfer(state: State, sender: bytes, tx: Transfer, context: BlockContext) -> Outcome:
    """Move tx.amount_minor of tx.currency from the sender to tx.to, within the currency's policy."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if tx.to == sender:
        return refused(Refusal.SELF_TRANSFER)
    refusal = refusal_to_send(state, currency, sender) or refusal_to_receive(state, currency, tx.to)
    if refusal is not None:
        return refused(refusal)
    if currency.transfer_max_minor and tx.amount_minor > currency.transfer_max_minor:
        return refused(Refusal.EXCEEDS_TRANSFER_LIMIT)
    if currency.travel_rule_threshold_minor and tx.amount_minor > currency.travel_rule_threshold_minor and not tx.travel_rule_hash:
        return refused(Refusal.TRAVEL_RULE_REQUIRED)
    sender_balance_minor = state.get_balance(sender, tx.currency)
    if sender_balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the transfer must succeed: writes only, no more returns.
    state.set_balance(sender, tx.currency, sender_balance_minor - tx.amount_minor)
    state.increase_balance(tx.to, tx.currency, tx.amount_minor)
    return applied({"kind": "transfer", "currency": tx.currency, "from": sender, "to": tx.to, "amount_minor": tx.amount_minor})


def apply_mint(state: State, sender: bytes, tx: Mint, context: BlockContext) -> Outcome:
    """The issuer creates new coins, never taking supply above the latest attested reserve."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    refusal = refusal_to_receive(state, currency, tx.to)
    if refusal is not None:
        return refused(refusal)
    if currency.distributors_only and not _is_distributor_or_issuer(state, currency, tx.to):
        return refused(Refusal.NOT_DISTRIBUTOR)
    if currency.supply_minor + tx.amount_minor > currency.reserve_minor:
        return refused(Refusal.EXCEEDS_RESERVES)
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
    if currency.distributors_only and not _is_distributor_or_issuer(state, currency, sender):
        return refused(Refusal.NOT_DISTRIBUTOR)
    balance_minor = state.get_balance(sender, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the burn must succeed.
    assert currency.supply_minor >= tx.amount_minor, "supply is the sum of balances"
    state.set_balance(sender, tx.currency, balance_minor - tx.amount_minor)
    state.put_currency(replace(currency, supply_minor=currency.supply_minor - tx.amount_minor))
    return applied({"kind": "burn", "currency": tx.currency, "from": sender, "amount_minor": tx.amount_minor})


def apply_attest_reserve(state: State, sender: bytes, tx: AttestReserve, context: BlockContext) -> Outcome:
    """The issuer records its current reserve. A reserve below supply is recorded too: it is a fact, and
    it stops further minting until the reserve covers supply again."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the attestation must succeed.
    state.put_currency(
        replace(currency, reserve_minor=tx.reserve_minor, reserve_report_hash=tx.report_hash, reserve_height=context.height)
    )
    return applied({"kind": "reserve_attested", "currency": tx.currency, "reserve_minor": tx.reserve_minor, "report_hash": tx.report_hash})


def apply_set_authorization(state: State, sender: bytes, tx: SetAuthorization, context: BlockContext) -> Outcome:
    """The issuer adds `tx.account` to its currency's allow-list, or removes it."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    state.put_holder(tx.account, tx.currency, replace(state.get_holder(tx.account, tx.currency), authorized=tx.enabled))
    return applied({"kind": "authorized" if tx.enabled else "deauthorized", "currency": tx.currency, "account": tx.account})


def apply_set_frozen(state: State, sender: bytes, tx: SetFrozen, context: BlockContext) -> Outcome:
    """The issuer freezes or unfreezes `tx.account` for its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
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
    if not state.get_holder(tx.account, tx.currency).frozen:
        return refused(Refusal.ACCOUNT_NOT_FROZEN)
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


def apply_set_distributor(state: State, sender: bytes, tx: SetDistributor, context: BlockContext) -> Outcome:
    """The issuer licenses or revokes a distributor of its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    state.set_distributor(tx.currency, tx.account, tx.enabled)
    return applied({"kind": "distributor_licensed" if tx.enabled else "distributor_revoked", "currency": tx.currency, "account": tx.account})


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


RULES: dict[type, Callable[[State, bytes, Any, BlockContext], Outcome]] = {
    Transfer: apply_transfer,
    Mint: apply_mint,
    Burn: apply_burn,
    AttestReserve: apply_attest_reserve,
    SetAuthorization: apply_set_authorization,
    SetFrozen: apply_set_frozen,
    Clawback: apply_clawback,
    SetPaused: apply_set_paused,
    SetDistributor: apply_set_distributor,
    SetPolicy: apply_set_policy,
}
assert set(RULES) == set(TX_TYPES.values()), "every transaction type has a rule"


def apply_tx(state: State, tx: SignedTx, context: BlockContext) -> Outcome:
    """Apply a transaction whose signatures were already verified: the sender's next nonce, then its rule.

    On refusal nothing is written; on success the rule's writes and the nonce increment are in `state`.
    """
    nonce = state.get_nonce(tx.sender)
    if tx.body.nonce != nonce:
        return refused(Refusal.BAD_NONCE)
    outcome = RULES[type(tx.body)](state, tx.sender, tx.body, context)
    if outcome.applied:
        state.set_nonce(tx.sender, nonce + 1)
    return outcome
