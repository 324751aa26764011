"""A lawful-order record behind every seizure (docs/compliance.md, "5. A lawful order behind every seizure").

A seizure is one of: a freeze (`set_frozen` with `enabled`), a `clawback`, a `forced_burn` (the issuer burns
coins of a frozen account: supply falls) and a consortium sanctions listing (`gov_set_sanctioned` with
`listed`). Each must carry the lawful order it executes:

    order_authority   who issued the order, short text ("US District Court SDNY", "OFAC", "HKMA")
    order_hash        SHA-256 of the order document (kept off chain)
    order_expiry_ms   block time (ms since 1970) after which the order may no longer be executed; 0: the
                      order states no expiry

Without an authority and a hash the seizure is refused `order_required`; once the block time is past the
expiry, `order_expired`. Lifting a seizure (unfreeze, delisting) needs no order.

Approvals. An issuer may require k of N compliance keys to approve every seizure of its currency
(`set_compliance_keys`: at most COMPLIANCE_KEYS_MAX public keys and the threshold k; k = 0, the default, leaves
the issuer's signature alone enough, as before). An approval is a co-signature: the seizure names its
approving keys in its body (`approvers`, sorted, distinct) and each of them signs the transaction's signing
bytes, exactly as a swap's counterparty does (SignedTx.signers() is the signer, then the approvers, and the
wire signatures follow that order). The signatures are therefore checked before any rule runs, in mempool
admission and in the node's batch verifier, with every other signature; what only the state can say is
checked here: every approver must be one of the currency's compliance keys, and never the signer itself
(`not_compliance_key`), and there must be at least k of them (`order_approvals_missing`). Because the
approvers are part of the signed body, the issuer and each approver sign the same list: nobody can add or
drop an approval after the fact. Changing the compliance keys while k > 0 needs k approvals of the current
keys as well, so a stolen issuer key alone can neither seize nor remove the requirement. A sanctions listing
is approved by governance (validators holding more than 2/3 of the power sign it) and carries no approvers.

Audit records. Every applied seizure ends its receipt with a `lawful_order` event: the action, currency,
account and amount, the order's authority, hash and expiry, the approving keys, how many approvals the
currency required, and who approved (`issuer`, `compliance_keys` or `governance`). A receipt is keyed by
its block height and index, and the header's receipts root commits to it, so the audit trail needs no
state of its own: `corridor audit export` (client/audit.py) reads the receipts of a range of blocks from
a node and, given the genesis file, checks each block's certificate offline.

State:
    n/<currency code>  -> {"keys": [32-byte public keys, sorted], "threshold": k}: the currency's compliance
                          keys (absent: none, threshold 0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from corridor.keys import address_of, format_address
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import Clawback, ForcedBurn, GovSetSanctioned, SetComplianceKeys, SetFrozen

COMPLIANCE_PREFIX = b"n/"

FREEZE, CLAWBACK, FORCED_BURN, SANCTION = "freeze", "clawback", "forced_burn", "sanction"
ACTIONS = (FREEZE, CLAWBACK, FORCED_BURN, SANCTION)
BY_ISSUER, BY_COMPLIANCE_KEYS, BY_GOVERNANCE = "issuer", "compliance_keys", "governance"

Rule = Callable[[State, bytes, Any, BlockContext], Outcome]


@dataclass(frozen=True, slots=True)
class Compliance:
    """A currency's compliance keys (sorted) and how many of them must approve a seizure (0: none)."""

    keys: tuple[bytes, ...] = ()
    threshold: int = 0


def compliance_key(code: str) -> bytes:
    return COMPLIANCE_PREFIX + code.encode()


def get_compliance(state: State, code: str) -> Compliance:
    record = state.get_record(compliance_key(code))
    return Compliance() if record is None else Compliance(tuple(record["keys"]), record["threshold"])


def put_compliance(state: State, code: str, compliance: Compliance) -> None:
    empty = not compliance.keys and compliance.threshold == 0
    state.put_record(compliance_key(code), None if empty else {"keys": list(compliance.keys), "threshold": compliance.threshold})


def action_of(body: Any) -> str | None:
    """The seizure `body` is, or None when it is not one (an unfreeze, a delisting, any other type)."""
    if isinstance(body, SetFrozen):
        return FREEZE if body.enabled else None
    if isinstance(body, Clawback):
        return CLAWBACK
    if isinstance(body, ForcedBurn):
        return FORCED_BURN
    if isinstance(body, GovSetSanctioned):
        return SANCTION if body.listed else None
    return None


def order_refusal(body: Any, context: BlockContext) -> Refusal | None:
    """`order_required` without an authority and an order hash, `order_expired` past the order's expiry."""
    if not body.order_authority or not body.order_hash:
        return Refusal.ORDER_REQUIRED
    if body.order_expiry_ms and context.time_ms > body.order_expiry_ms:
        return Refusal.ORDER_EXPIRED
    return None


def approvals_refusal(compliance: Compliance, body: Any) -> Refusal | None:
    """`not_compliance_key` when an approver is not one of the compliance keys (or is the signer itself),
    `order_approvals_missing` when fewer than the threshold approve. The approvers' signatures were
    verified with the transaction's."""
    keys = set(compliance.keys)
    if any(key not in keys or key == body.signer for key in body.approvers):
        return Refusal.NOT_COMPLIANCE_KEY
    if len(body.approvers) < compliance.threshold:
        return Refusal.ORDER_APPROVALS_MISSING
    return None


def order_event(body: Any, action: str, compliance: Compliance | None) -> dict[str, Any]:
    """The `lawful_order` audit record of an applied seizure (`compliance` None: approved by governance)."""
    if compliance is None:
        approved_by, required = BY_GOVERNANCE, 0
    else:
        approved_by, required = (BY_COMPLIANCE_KEYS if compliance.threshold else BY_ISSUER), compliance.threshold
    return {
        "kind": "lawful_order",
        "action": action,
        "currency": getattr(body, "currency", ""),
        "account": body.account,
        "amount_minor": getattr(body, "amount_minor", 0),
        "authority": body.order_authority,
        "order_hash": body.order_hash,
        "order_expiry_ms": body.order_expiry_ms,
        "approvers": list(getattr(body, "approvers", ())),
        "approvals_required": required,
        "approved_by": approved_by,
    }


def with_order(rule: Rule) -> Rule:
    """`rule` (a freeze, clawback, forced burn or sanctions listing) behind its lawful-order checks.

    Who may act comes first, as the rule has always said it (`unknown_currency`, `not_issuer`: the rule is
    left to refuse); then the order (`order_required`, `order_expired`) and, for a currency, its approvals
    (`not_compliance_key`, `order_approvals_missing`); then the rule's own checks and writes. An applied
    seizure's events end with its `lawful_order` record. Lifting a seizure goes to the rule unchecked."""

    def apply(state: State, sender: bytes, tx: Any, context: BlockContext) -> Outcome:
        action = action_of(tx)
        if action is None:
            return rule(state, sender, tx, context)
        compliance: Compliance | None = None
        if action != SANCTION:  # a listing's approval is the governance quorum, checked before any rule
            currency = state.get_currency(tx.currency)
            if currency is None or currency.issuer != sender:
                return rule(state, sender, tx, context)
            compliance = get_compliance(state, currency.code)
        refusal = order_refusal(tx, context) or (approvals_refusal(compliance, tx) if compliance is not None else None)
        if refusal is not None:
            return refused(refusal)
        outcome = rule(state, sender, tx, context)
        if not outcome.applied:
            return outcome
        # After this point the seizure has applied: its record is added, nothing else is written.
        return applied(*outcome.events, order_event(tx, action, compliance))

    apply.__doc__ = f"{rule.__doc__} Behind its lawful order (orders.with_order)."
    apply.__name__ = getattr(rule, "__name__", "apply")
    return apply


def _issued_by(state: State, sender: bytes, code: str) -> tuple[Currency | None, Refusal | None]:
    currency = state.get_currency(code)
    if currency is None:
        return None, Refusal.UNKNOWN_CURRENCY
    if currency.issuer != sender:
        return None, Refusal.NOT_ISSUER
    return currency, None


def apply_forced_burn(state: State, sender: bytes, tx: ForcedBurn, context: BlockContext) -> Outcome:
    """The issuer destroys coins of a frozen account under a lawful order: supply falls by the amount.
    Registered behind `with_order`, which checks the order and its approvals."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if currency.paused:
        return refused(Refusal.CURRENCY_PAUSED)
    if tx.account == currency.issuer:
        return refused(Refusal.ISSUER_ACCOUNT)
    if not state.get_holder(tx.account, tx.currency).frozen:
        return refused(Refusal.ACCOUNT_NOT_FROZEN)
    balance_minor = state.get_balance(tx.account, tx.currency)
    if balance_minor < tx.amount_minor:
        return refused(Refusal.INSUFFICIENT_FUNDS)
    # After this point the forced burn must succeed.
    assert currency.supply_minor >= tx.amount_minor, "supply covers every balance"
    state.set_balance(tx.account, tx.currency, balance_minor - tx.amount_minor)
    state.put_currency(replace(currency, supply_minor=currency.supply_minor - tx.amount_minor))
    return applied({"kind": "forced_burn", "currency": tx.currency, "from": tx.account, "amount_minor": tx.amount_minor,
                    "reason_hash": tx.reason_hash})


def apply_set_compliance_keys(state: State, sender: bytes, tx: SetComplianceKeys, context: BlockContext) -> Outcome:
    """The issuer names its currency's compliance keys and how many must approve a seizure. While the
    current threshold is above 0, the change needs that many approvals of the current keys."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if tx.compliance_threshold > len(tx.compliance_keys) or any(address_of(key) == currency.issuer for key in tx.compliance_keys):
        return refused(Refusal.BAD_COMPLIANCE_KEYS)
    refusal = approvals_refusal(get_compliance(state, currency.code), tx)
    if refusal is not None:
        return refused(refusal)
    # After this point the change must succeed.
    put_compliance(state, currency.code, Compliance(tuple(tx.compliance_keys), tx.compliance_threshold))
    return applied({"kind": "compliance_keys_set", "currency": tx.currency, "compliance_keys": list(tx.compliance_keys),
                    "compliance_threshold": tx.compliance_threshold, "approvers": list(tx.approvers)})


def compliance_view(compliance: Compliance) -> dict[str, Any]:
    """A currency's compliance keys as JSON (GET /v1/currencies, GET /v1/currencies/{code})."""
    return {
        "compliance_keys": [key.hex() for key in compliance.keys],
        "compliance_key_addresses": [format_address(address_of(key)) for key in compliance.keys],
        "compliance_threshold": compliance.threshold,
    }


ORDER_RULES: dict[type, Rule] = {
    ForcedBurn: with_order(apply_forced_burn),
    SetComplianceKeys: apply_set_compliance_keys,
}
