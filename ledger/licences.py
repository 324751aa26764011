"""A licence registry (docs/compliance.md, "2. A licence registry").

A currency's issuer licenses accounts to do in its currency what its distribution model reserves to licensed
firms. A licence is one record per (currency, account, scope):

    jurisdiction    the licensing jurisdiction: an ISO 3166-1 alpha-2 code or EU ("US", "HK", "EU"), whose
                    regime the licence was granted under (not the account's own jurisdiction: corridors.py
                    keeps that); "" only on a licence made by the legacy `set_distributor`
    expires_at_ms   the block time from which the licence no longer takes effect (0: no expiry)
    status          active, or revoked (with `reason_hash`, the SHA-256 of the revocation's reason)

Scopes (tx.LICENCE_SCOPES) and what each one gates:

    distribute  receive new coins from the issuer (`mint` to the account) and redeem (`burn`, and
                `redeem_request` in redemption.py). Required while the currency is `distributors_only` (the
                issuance / distribution split of the US GENIUS Act; set by `set_policy`, or by
                `set_licence_required` with this scope: the same flag).
    exchange    make a market in the currency: place an offer selling it or buying it (`offer_create`), and
                keep resting offers tradable. Required once the issuer requires it (`set_licence_required`;
                off by default). Payments and swaps through the book are not market making and need none.

The issuer's own account needs no licence in its own currency, and cannot be granted one (`issuer_account`).

Taking effect. Where a scope is required, the account must hold a licence of that scope that is active and
not expired at the block's time, or the transaction is refused: `licence_revoked` (61) when it was revoked,
`licence_expired` (60) once the block time reaches its expiry, and when there never was one (or
`set_distributor` withdrew it) `not_distributor` (24) for the distribute scope, `licence_required` (62) for
the exchange scope. A revocation or an expiry stops the licence at once, with no transaction needed at
expiry: the check runs at every use. A resting offer whose owner's exchange licence has lapsed (or that was
placed before the issuer required one) is taken out of the book, its funds returned to its owner, by the
first walk of the book that reaches it (fx._tradable asks `offer_refusal`), as a frozen owner's offer is.

Transactions (the currency's issuer only: `not_issuer`, `unknown_currency`):
    grant_licence (currency, account, scope, jurisdiction, expires_at_ms)   grants, renews or replaces the
        licence (a revoked one too: the new grant is a new licence). The jurisdiction must be a code
        (`unknown_jurisdiction`); the expiry 0 or after the block time (`licence_expiry_passed`).
    revoke_licence (currency, account, scope, reason_hash)   marks it revoked; the record stays, with the
        reason's hash. No licence: `unknown_licence`; already revoked: `licence_revoked`. An expired licence
        may still be revoked (the record then says why it must not be renewed).
    set_licence_required (currency, scope, required)   whether the scope is required in the currency.
    set_distributor (currency, account, enabled)   the legacy form, kept for existing callers: enabled grants
        a distribute licence with no jurisdiction and no expiry; disabled withdraws (deletes) the account's
        distribute licence, whatever its origin, so the account is again one that never had one. Prefer
        grant_licence and revoke_licence, which record the jurisdiction, the expiry and the reason.

State (docs/protocol.md, "State"):
    l/r/<currency code>/<address 20 bytes>/<scope>   -> the licence record (map)
    l/a/<address 20 bytes>/<currency code>/<scope>   -> true: the account index of the records
    l/q/<currency code>/<scope>                      -> true: the scope is required in the currency (the
                                                        exchange scope; distribute's requirement is the
                                                        currency record's `distributors_only`)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterator

from corridor.keys import format_address
from corridor.ledger.corridors import is_jurisdiction
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import LICENCE_SCOPES, GrantLicence, RevokeLicence, SetDistributor, SetLicenceRequired

RECORD_PREFIX = b"l/r/"
ACCOUNT_PREFIX = b"l/a/"
REQUIRED_PREFIX = b"l/q/"

DISTRIBUTE, EXCHANGE = "distribute", "exchange"
SCOPES = LICENCE_SCOPES
assert SCOPES == (DISTRIBUTE, EXCHANGE)
ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"

ADDRESS_BYTES = 20
_NEVER_HELD = {DISTRIBUTE: Refusal.NOT_DISTRIBUTOR, EXCHANGE: Refusal.LICENCE_REQUIRED}


@dataclass(frozen=True, slots=True)
class Licence:
    """One licence. `status` is what the chain recorded (active or revoked); whether it is in force at a
    time is `status_at` (an active licence past its expiry is expired)."""

    currency: str
    account: bytes
    scope: str
    jurisdiction: str
    expires_at_ms: int
    status: str
    granted_height: int
    granted_time_ms: int
    reason_hash: bytes = b""
    revoked_height: int = 0
    revoked_time_ms: int = 0

    def status_at(self, time_ms: int) -> str:
        """revoked, expired (block time at or past the expiry) or active, at `time_ms`."""
        if self.status == REVOKED:
            return REVOKED
        if self.expires_at_ms and time_ms >= self.expires_at_ms:
            return EXPIRED
        return ACTIVE

    def in_force(self, time_ms: int) -> bool:
        return self.status_at(time_ms) == ACTIVE

    def to_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__ if name not in ("currency", "account", "scope")}


# Keys and records -----------------------------------------------------------------------------------------


def record_key(currency: str, account: bytes, scope: str) -> bytes:
    return RECORD_PREFIX + currency.encode() + b"/" + account + b"/" + scope.encode()


def account_key(account: bytes, currency: str, scope: str) -> bytes:
    return ACCOUNT_PREFIX + account + b"/" + currency.encode() + b"/" + scope.encode()


def required_key(currency: str, scope: str) -> bytes:
    return REQUIRED_PREFIX + currency.encode() + b"/" + scope.encode()


def get_licence(state: State, currency: str, account: bytes, scope: str) -> Licence | None:
    record = state.get_record(record_key(currency, account, scope))
    return None if record is None else Licence(currency, account, scope, **record)


def _put(state: State, licence: Licence) -> None:
    state.put_record(record_key(licence.currency, licence.account, licence.scope), licence.to_record())
    state.put_record(account_key(licence.account, licence.currency, licence.scope), True)


def _delete(state: State, currency: str, account: bytes, scope: str) -> None:
    state.put_record(record_key(currency, account, scope), None)
    state.put_record(account_key(account, currency, scope), None)


def licences_of_currency(state: State, currency: str) -> Iterator[Licence]:
    """Every licence of `currency` (any status), by account address then scope."""
    prefix = RECORD_PREFIX + currency.encode() + b"/"
    for key, record in state.iterate(prefix):
        rest = key[len(prefix):]
        yield Licence(currency, rest[:ADDRESS_BYTES], rest[ADDRESS_BYTES + 1:].decode(), **record)


def licences_of_account(state: State, account: bytes) -> Iterator[Licence]:
    """Every licence held by `account` (any status), by currency code then scope."""
    prefix = ACCOUNT_PREFIX + account + b"/"
    for key, _ in state.iterate(prefix):
        currency, scope = key[len(prefix):].decode().split("/")
        licence = get_licence(state, currency, account, scope)
        assert licence is not None, "the account index names existing records only"
        yield licence


def all_licences(state: State) -> Iterator[Licence]:
    """Every licence on the chain, by currency code, account address, scope."""
    for key, record in state.iterate(RECORD_PREFIX):
        rest = key[len(RECORD_PREFIX):]
        code, _, tail = rest.partition(b"/")
        yield Licence(code.decode(), tail[:ADDRESS_BYTES], tail[ADDRESS_BYTES + 1:].decode(), **record)


def is_required(state: State, currency: Currency, scope: str) -> bool:
    """Whether `scope` is required in `currency` now: distribute while it is distributors_only, exchange
    once its issuer required it."""
    if scope == DISTRIBUTE:
        return currency.distributors_only
    return state.get_record(required_key(currency.code, scope)) is not None


def required_scopes(state: State, currency: Currency) -> list[str]:
    return [scope for scope in SCOPES if is_required(state, currency, scope)]


def distributors_of(state: State, currency: str, time_ms: int) -> list[bytes]:
    """The accounts holding a distribute licence of `currency` in force at `time_ms`, by address."""
    return [licence.account for licence in licences_of_currency(state, currency)
            if licence.scope == DISTRIBUTE and licence.in_force(time_ms)]


# The checks the gated rules ask -------------------------------------------------------------------------------


def licence_refusal(state: State, currency: Currency, account: bytes, scope: str, time_ms: int) -> Refusal | None:
    """Why `account` may not do in `currency` what `scope` gates, at block time `time_ms`, or None: nothing
    when the scope is not required or the account is the issuer; else `licence_revoked`, `licence_expired`,
    or (never held) `not_distributor` / `licence_required`. Reads only."""
    if account == currency.issuer or not is_required(state, currency, scope):
        return None
    licence = get_licence(state, currency.code, account, scope)
    if licence is None:
        return _NEVER_HELD[scope]
    status = licence.status_at(time_ms)
    if status == REVOKED:
        return Refusal.LICENCE_REVOKED
    if status == EXPIRED:
        return Refusal.LICENCE_EXPIRED
    return None


def distribute_refusal(state: State, currency: Currency, account: bytes, context: BlockContext) -> Refusal | None:
    """For a mint's recipient, a burner and a redemption requester (the distribute scope)."""
    return licence_refusal(state, currency, account, DISTRIBUTE, context.time_ms)


def exchange_refusal(state: State, sell: Currency, buy: Currency, account: bytes, context: BlockContext) -> Refusal | None:
    """For an offer's maker: the exchange scope in the currency it sells, then in the one it buys."""
    return (licence_refusal(state, sell, account, EXCHANGE, context.time_ms)
            or licence_refusal(state, buy, account, EXCHANGE, context.time_ms))


def offer_refusal(state: State, sell: Currency, buy: Currency, owner: bytes, time_ms: int | None) -> Refusal | None:
    """Why a resting offer of `owner` may no longer trade for want of an exchange licence, or None
    (fx._tradable). With `time_ms` None (no block time known) expiry is not judged, revocation is."""
    if time_ms is None:
        time_ms = 0
    return licence_refusal(state, sell, owner, EXCHANGE, time_ms) or licence_refusal(state, buy, owner, EXCHANGE, time_ms)


# Rules ----------------------------------------------------------------------------------------------------


def _issued_by(state: State, sender: bytes, code: str) -> tuple[Currency | None, Refusal | None]:
    currency = state.get_currency(code)
    if currency is None:
        return None, Refusal.UNKNOWN_CURRENCY
    if currency.issuer != sender:
        return None, Refusal.NOT_ISSUER
    return currency, None


def apply_grant_licence(state: State, sender: bytes, tx: GrantLicence, context: BlockContext) -> Outcome:
    """The issuer grants (renews, replaces) `tx.account`'s licence of `tx.scope` in its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if tx.account == currency.issuer:
        return refused(Refusal.ISSUER_ACCOUNT)
    if not is_jurisdiction(tx.jurisdiction):
        return refused(Refusal.UNKNOWN_JURISDICTION)
    if tx.expires_at_ms and tx.expires_at_ms <= context.time_ms:
        return refused(Refusal.LICENCE_EXPIRY_PASSED)
    # After this point the grant must succeed.
    _put(state, Licence(tx.currency, tx.account, tx.scope, tx.jurisdiction, tx.expires_at_ms, ACTIVE, context.height, context.time_ms))
    return applied({"kind": "licence_granted", "currency": tx.currency, "account": tx.account, "scope": tx.scope,
                    "jurisdiction": tx.jurisdiction, "expires_at_ms": tx.expires_at_ms})


def apply_revoke_licence(state: State, sender: bytes, tx: RevokeLicence, context: BlockContext) -> Outcome:
    """The issuer revokes `tx.account`'s licence of `tx.scope`: it stops taking effect at once; the record
    stays, with the reason's hash."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    licence = get_licence(state, tx.currency, tx.account, tx.scope)
    if licence is None:
        return refused(Refusal.UNKNOWN_LICENCE)
    if licence.status == REVOKED:
        return refused(Refusal.LICENCE_REVOKED)
    # After this point the revocation must succeed.
    _put(state, replace(licence, status=REVOKED, reason_hash=tx.reason_hash, revoked_height=context.height,
                        revoked_time_ms=context.time_ms))
    return applied({"kind": "licence_revoked", "currency": tx.currency, "account": tx.account, "scope": tx.scope,
                    "reason_hash": tx.reason_hash})


def apply_set_licence_required(state: State, sender: bytes, tx: SetLicenceRequired, context: BlockContext) -> Outcome:
    """The issuer requires (or stops requiring) licences of `tx.scope` in its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    if tx.scope == DISTRIBUTE:
        state.put_currency(replace(currency, distributors_only=tx.required))
    else:
        state.put_record(required_key(tx.currency, tx.scope), True if tx.required else None)
    return applied({"kind": "licence_required_set", "currency": tx.currency, "scope": tx.scope, "required": tx.required})


def apply_set_distributor(state: State, sender: bytes, tx: SetDistributor, context: BlockContext) -> Outcome:
    """Legacy: the issuer licenses a distributor (a distribute licence, no jurisdiction, no expiry) or
    withdraws the account's distribute licence."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    # After this point the change must succeed.
    if tx.enabled:
        _put(state, Licence(tx.currency, tx.account, DISTRIBUTE, "", 0, ACTIVE, context.height, context.time_ms))
    else:
        _delete(state, tx.currency, tx.account, DISTRIBUTE)
    return applied({"kind": "distributor_licensed" if tx.enabled else "distributor_revoked", "currency": tx.currency, "account": tx.account})


LICENCE_RULES = {
    GrantLicence: apply_grant_licence,
    RevokeLicence: apply_revoke_licence,
    SetLicenceRequired: apply_set_licence_required,
    SetDistributor: apply_set_distributor,
}


# Views (the API, the CLI, the explorer) -----------------------------------------------------------------------


def licence_to_json(licence: Licence, now_ms: int) -> dict[str, Any]:
    """A licence as JSON (GET /v1/licences, GET /v1/accounts/{address}): `status` is revoked, expired or
    active at `now_ms` (the node's clock), `recorded_status` what the chain recorded."""
    revoked = licence.status == REVOKED
    return {
        "currency": licence.currency,
        "account": format_address(licence.account),
        "scope": licence.scope,
        "jurisdiction": licence.jurisdiction,
        "expires_at_ms": licence.expires_at_ms,
        "status": licence.status_at(now_ms),
        "recorded_status": licence.status,
        "in_force": licence.in_force(now_ms),
        "granted_height": licence.granted_height,
        "granted_time_ms": licence.granted_time_ms,
        "reason_hash": licence.reason_hash.hex() if revoked else None,
        "revoked_height": licence.revoked_height if revoked else None,
        "revoked_time_ms": licence.revoked_time_ms if revoked else None,
    }


def required_view(state: State, currency: Currency) -> dict[str, Any]:
    """The scopes a currency requires licences of, as JSON (GET /v1/currencies, GET /v1/licences)."""
    return {"licences_required": required_scopes(state, currency)}
