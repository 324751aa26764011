"""Consortium governance: the validator set kept in state, and the transactions validators holding more
than two thirds of the voting power sign together.

State:
    v/<validator key: 32 bytes>                      -> {"name", "power"}: the set for the next height
    w/<effective height: 8 bytes>/<validator key>   -> {"name", "power"}: a scheduled change (power 0 removes)
    g/gov_nonce                                      -> the next governance nonce
The state after block h holds, in v/, the validator set that signs block h + 1: at the end of block h the
changes scheduled for h + 1 are applied (`end_block`). A change commits at least VALIDATOR_CHANGE_DELAY_MIN
blocks before it takes effect, so every node knows the set of a height before that height starts. A
change that would leave the set empty, or grow it past VALIDATORS_MAX (a quorum must fit in one governance
transaction), is skipped when it falls due.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import PUBLIC_KEY_BYTES
from corridor.ledger import limits
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import GovRegisterCurrency, GovSetIssuer, GovSetValidator, SignedTx

GOV_NONCE_KEY = b"g/gov_nonce"


def validator_key(public_key: bytes) -> bytes:
    return b"v/" + public_key


def scheduled_prefix(height: int) -> bytes:
    return b"w/" + height.to_bytes(8, "big") + b"/"


def validators_in(state: State) -> list[tuple[bytes, str, int]]:
    """(public key, name, power) of the validator set for the next height, ordered by key."""
    return [(key[2:], record["name"], record["power"]) for key, record in state.iterate(b"v/")]


def validators_hash(validators: list[tuple[bytes, str, int]]) -> bytes:
    """The commitment to a validator set carried in block headers."""
    return sha256(codec.encode([[key, name, power] for key, name, power in sorted(validators)]))


def put_validator(state: State, public_key: bytes, name: str, power: int) -> None:
    state.put_record(validator_key(public_key), {"name": name, "power": power} if power else None)


def get_gov_nonce(state: State) -> int:
    value = state.get_record(GOV_NONCE_KEY)
    return 0 if value is None else value


def set_gov_nonce(state: State, nonce: int) -> None:
    state.put_record(GOV_NONCE_KEY, nonce)


def quorum_refusal(state: State, tx: SignedTx) -> Refusal | None:
    """GOVERNANCE_QUORUM_MISSING unless the signing validators hold more than 2/3 of the set's power."""
    powers = {key: power for key, _, power in validators_in(state)}
    signed = sum(powers.get(key, 0) for key in tx.signers())
    return None if 3 * signed > 2 * sum(powers.values()) else Refusal.GOVERNANCE_QUORUM_MISSING


def missing_signers(state: State, tx: SignedTx) -> list[tuple[bytes, str, int]]:
    """The validators whose signatures a governance transaction does not carry."""
    signed = set(tx.signers())
    return [entry for entry in validators_in(state) if entry[0] not in signed]


def apply_register_currency(state: State, sender: bytes, tx: GovRegisterCurrency, context: BlockContext) -> Outcome:
    """A new currency, with no supply and no reserve until its auditor attests one (reserves.py)."""
    if state.get_currency(tx.currency) is not None:
        return refused(Refusal.CURRENCY_EXISTS)
    if tx.auditor == tx.issuer:
        return refused(Refusal.AUDITOR_IS_ISSUER)
    # After this point the registration must succeed.
    state.put_currency(
        Currency(tx.currency, tx.decimals, tx.issuer, 0, 0, bytes(32), context.height, holders_need_authorization=tx.holders_need_authorization,
                 auditor=tx.auditor, reserve_max_age_ms=tx.reserve_max_age_ms)
    )
    return applied({"kind": "currency_registered", "currency": tx.currency, "decimals": tx.decimals, "account": tx.issuer,
                    "holders_need_authorization": tx.holders_need_authorization, "auditor": tx.auditor,
                    "reserve_max_age_ms": tx.reserve_max_age_ms})


def apply_set_issuer(state: State, sender: bytes, tx: GovSetIssuer, context: BlockContext) -> Outcome:
    """Hand a currency to another issuer account (its supply and reserve record stay)."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if tx.issuer == currency.auditor:
        return refused(Refusal.AUDITOR_IS_ISSUER)
    # After this point the change must succeed.
    state.put_currency(replace(currency, issuer=tx.issuer))
    return applied({"kind": "issuer_changed", "currency": tx.currency, "account": tx.issuer})


def apply_set_validator(state: State, sender: bytes, tx: GovSetValidator, context: BlockContext) -> Outcome:
    """Schedule a validator's entry, power change or removal for `effective_height`."""
    delay = tx.effective_height - context.height
    if not limits.VALIDATOR_CHANGE_DELAY_MIN <= delay <= limits.VALIDATOR_CHANGE_DELAY_MAX:
        return refused(Refusal.BAD_EFFECTIVE_HEIGHT)
    if tx.power and state.get_record(validator_key(tx.validator_key)) is None and len(validators_in(state)) >= limits.VALIDATORS_MAX:
        return refused(Refusal.TOO_MANY_VALIDATORS)
    # After this point the change must succeed.
    state.put_record(scheduled_prefix(tx.effective_height) + tx.validator_key, {"name": tx.validator_name, "power": tx.power})
    return applied({"kind": "validator_change_scheduled", "validator_key": tx.validator_key, "validator_name": tx.validator_name,
                    "power": tx.power, "effective_height": tx.effective_height})


def skip_reason(members: set[bytes], public_key: bytes, power: int) -> str | None:
    """Why a due change of `public_key` to `power` is skipped for a set of `members`, or None. The one rule
    both the chain (end_block) and the offline verifier (client/verify.py) follow."""
    if power == 0 and not members - {public_key}:
        return "the set would be empty"
    if power and public_key not in members and len(members) >= limits.VALIDATORS_MAX:
        return "the set is full"
    return None


def end_block(state: State, height: int) -> list[dict[str, Any]]:
    """Apply the validator changes due at height + 1; the events say what changed."""
    events = []
    for key, record in list(state.iterate(scheduled_prefix(height + 1))):
        public_key = key[-PUBLIC_KEY_BYTES:]
        state.put_record(key, None)
        reason = skip_reason({entry[0] for entry in validators_in(state)}, public_key, record["power"])
        if reason is not None:
            events.append({"kind": "validator_change_skipped", "validator_key": public_key, "reason": reason})
            continue
        put_validator(state, public_key, record["name"], record["power"])
        events.append({"kind": "validator_changed", "validator_key": public_key, "validator_name": record["name"],
                       "power": record["power"], "effective_height": height + 1})
    return events


GOVERNANCE_RULES = {
    GovRegisterCurrency: apply_register_currency,
    GovSetIssuer: apply_set_issuer,
    GovSetValidator: apply_set_validator,
}
