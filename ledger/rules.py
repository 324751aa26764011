"""The state transition: one plain function per transaction type, over the State interface.

Each rule does every check first and returns a refusal without writing anything; after the line
"# After this point ... must succeed" it only writes. The same functions run in mempool admission, block
execution and the property tests. Signatures are checked before a rule runs (see `apply_tx`'s caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from corridor.ledger.refusals import Refusal
from corridor.ledger.state import State
from corridor.ledger.tx import AttestReserve, Burn, Mint, SignedTx, Transfer


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


def apply_transfer(state: State, sender: bytes, tx: Transfer, context: BlockContext) -> Outcome:
    """Move tx.amount_minor of tx.currency from the sender to tx.to."""
    if state.get_currency(tx.currency) is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if tx.to == sender:
        return refused(Refusal.SELF_TRANSFER)
    sender_balance_minor = state.get_balance(sender, tx.currency)
    if sender_balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the transfer must succeed: writes only, no more returns.
    state.set_balance(sender, tx.currency, sender_balance_minor - tx.amount_minor)
    state.increase_balance(tx.to, tx.currency, tx.amount_minor)
    return applied(
        {
            "kind": "transfer",
            "currency": tx.currency,
            "from": sender,
            "to": tx.to,
            "amount_minor": tx.amount_minor,
        }
    )


def apply_mint(state: State, sender: bytes, tx: Mint, context: BlockContext) -> Outcome:
    """The issuer creates new coins, never taking supply above the latest attested reserve."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if currency.issuer != sender:
        return refused(Refusal.NOT_ISSUER)
    if currency.supply_minor + tx.amount_minor > currency.reserve_minor:
        return refused(Refusal.EXCEEDS_RESERVES)
    # After this point the mint must succeed.
    state.put_currency(replace(currency, supply_minor=currency.supply_minor + tx.amount_minor))
    state.increase_balance(tx.to, tx.currency, tx.amount_minor)
    return applied(
        {"kind": "mint", "currency": tx.currency, "to": tx.to, "amount_minor": tx.amount_minor}
    )


def apply_burn(state: State, sender: bytes, tx: Burn, context: BlockContext) -> Outcome:
    """The holder's coins are destroyed (redeemed with the issuer off-chain); supply falls."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    balance_minor = state.get_balance(sender, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the burn must succeed.
    assert currency.supply_minor >= tx.amount_minor, "supply is the sum of balances"
    state.set_balance(sender, tx.currency, balance_minor - tx.amount_minor)
    state.put_currency(replace(currency, supply_minor=currency.supply_minor - tx.amount_minor))
    return applied(
        {"kind": "burn", "currency": tx.currency, "from": sender, "amount_minor": tx.amount_minor}
    )


def apply_attest_reserve(state: State, sender: bytes, tx: AttestReserve, context: BlockContext) -> Outcome:
    """The issuer records its current reserve. A reserve below supply is recorded too: it is a fact, and
    it stops further minting until the reserve covers supply again."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if currency.issuer != sender:
        return refused(Refusal.NOT_ISSUER)
    # After this point the attestation must succeed.
    state.put_currency(
        replace(
            currency,
            reserve_minor=tx.reserve_minor,
            reserve_report_hash=tx.report_hash,
            reserve_height=context.height,
        )
    )
    return applied(
        {
            "kind": "reserve_attested",
            "currency": tx.currency,
            "reserve_minor": tx.reserve_minor,
            "report_hash": tx.report_hash,
        }
    )


RULES: dict[type, Callable[[State, bytes, Any, BlockContext], Outcome]] = {
    Transfer: apply_transfer,
    Mint: apply_mint,
    Burn: apply_burn,
    AttestReserve: apply_attest_reserve,
}


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
