"""Transaction types, their canonical wire form, signing bytes and strict decoding.

Wire form of a signed transaction (canonical msgpack, docs/protocol.md):
    {"body": {<the type's fields>}, "signatures": [<64-byte Ed25519 signature>, ...], "type": "<type name>"}
Each signature covers `signing_bytes(chain_id, body)` = encode(["corridor/tx/v1", chain_id, type, body]), so a
signature can be replayed neither on another chain nor as another transaction type.

Adding a transaction type: a frozen dataclass below (field names come from FIELDS), a rule in rules.py, and
an entry in TX_TYPES. A field whose name is not in FIELDS fails at import.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Union

import msgpack

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import (
    ADDRESS_BYTES,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    KeyPair,
    address_of,
    format_address,
    verify_signature,
)
from corridor.ledger import limits
from corridor.ledger.refusals import Refusal

TX_DOMAIN = "corridor/tx/v1"
CURRENCY_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{2,11}")  # always used with fullmatch


class TxError(ValueError):
    """A transaction refused before it touches any state: bad bytes, bad field or bad signature."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldKind:
    """How one named field is checked on decode and shown in JSON."""

    check: Callable[[Any], str | None]
    to_json: Callable[[Any], Any]


def _bytes_of(length: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if type(value) is not bytes or len(value) != length:
            return f"must be {length} bytes"
        return None

    return check


def _int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if type(value) is not int or not low <= value <= high:
            return f"must be an integer from {low} to {high}"
        return None

    return check


def _check_currency(value: Any) -> str | None:
    if type(value) is not str or not CURRENCY_CODE_PATTERN.fullmatch(value):
        return "must be a currency code: 3 to 12 upper-case letters or digits, starting with a letter"
    return None


def _check_memo(value: Any) -> str | None:
    if type(value) is not str or len(value.encode()) > limits.MEMO_BYTES_MAX:
        return f"must be text of at most {limits.MEMO_BYTES_MAX} UTF-8 bytes"
    return None


def _check_bool(value: Any) -> str | None:
    return None if type(value) is bool else "must be true or false"


def _check_optional_hash(value: Any) -> str | None:
    if type(value) is not bytes or len(value) not in (0, 32):
        return "must be empty or 32 bytes"
    return None


def _check_name(value: Any) -> str | None:
    if type(value) is not str or not 1 <= len(value) <= 64 or not value.isprintable():
        return "must be 1 to 64 printable characters"
    return None


JURISDICTION_PATTERN = re.compile(r"[A-Z]{2}")  # always used with fullmatch; which codes exist: corridors.py


def _check_jurisdiction(value: Any) -> str | None:
    if type(value) is not str or not (value == "" or JURISDICTION_PATTERN.fullmatch(value)):
        return "must be empty or two upper-case letters (an ISO 3166-1 alpha-2 code, or EU)"
    return None


def _check_corridor_side(value: Any) -> str | None:
    if type(value) is not str or not (value == "*" or JURISDICTION_PATTERN.fullmatch(value)):
        return 'must be two upper-case letters (an ISO 3166-1 alpha-2 code, or EU) or "*"'
    return None


LICENCE_SCOPES = ("distribute", "exchange")  # what a licence permits (ledger/licences.py); adding one changes the protocol


def _check_licence_scope(value: Any) -> str | None:
    if type(value) is not str or value not in LICENCE_SCOPES:
        return f"must be one of {', '.join(LICENCE_SCOPES)}"
    return None


def _check_authority(value: Any) -> str | None:
    if type(value) is not str or len(value) > limits.ORDER_AUTHORITY_CHARS_MAX or not value.isprintable():
        return f"must be at most {limits.ORDER_AUTHORITY_CHARS_MAX} printable characters"
    return None


def _check_key_list(value: Any) -> str | None:
    """A list of public keys (a seizure's approvers, a currency's compliance keys): sorted and distinct."""
    if type(value) not in (list, tuple) or len(value) > limits.COMPLIANCE_KEYS_MAX:
        return f"must be a list of at most {limits.COMPLIANCE_KEYS_MAX} public keys"
    if any(type(key) is not bytes or len(key) != PUBLIC_KEY_BYTES for key in value):
        return f"must hold public keys of {PUBLIC_KEY_BYTES} bytes"
    if any(value[i] >= value[i + 1] for i in range(len(value) - 1)):
        return "must be sorted and hold each key once"
    return None


def _identity(value: Any) -> Any:
    return value


def _hex(value: bytes) -> str:
    return value.hex()


def _hex_list(value: Any) -> list[str]:
    return [item.hex() for item in value]


def _keys_as_tuple(body: Any, name: str) -> None:
    """Keep a key-list field a tuple (decoding gives a list), so bodies compare equal and stay immutable."""
    if type(getattr(body, name)) is not tuple:
        object.__setattr__(body, name, tuple(getattr(body, name)))


FIELDS: dict[str, FieldKind] = {
    "signer": FieldKind(_bytes_of(PUBLIC_KEY_BYTES), _hex),
    "nonce": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "to": FieldKind(_bytes_of(ADDRESS_BYTES), format_address),
    "currency": FieldKind(_check_currency, _identity),
    "amount_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "reserve_minor": FieldKind(_int_between(0, limits.AMOUNT_MINOR_MAX), _identity),
    "report_hash": FieldKind(_bytes_of(32), _hex),
    "memo": FieldKind(_check_memo, _identity),
    "travel_rule_hash": FieldKind(_check_optional_hash, _hex),
    "account": FieldKind(_bytes_of(ADDRESS_BYTES), format_address),
    "enabled": FieldKind(_check_bool, _identity),
    "reason_hash": FieldKind(_bytes_of(32), _hex),
    "transfer_max_minor": FieldKind(_int_between(0, limits.AMOUNT_MINOR_MAX), _identity),
    "travel_rule_threshold_minor": FieldKind(_int_between(0, limits.AMOUNT_MINOR_MAX), _identity),
    "distributors_only": FieldKind(_check_bool, _identity),
    "counterparty": FieldKind(_bytes_of(PUBLIC_KEY_BYTES), _hex),
    "give_currency": FieldKind(_check_currency, _identity),
    "give_amount_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "get_currency": FieldKind(_check_currency, _identity),
    "get_amount_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "expiry_height": FieldKind(_int_between(1, limits.NONCE_MAX), _identity),
    "sell_currency": FieldKind(_check_currency, _identity),
    "sell_amount_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "buy_currency": FieldKind(_check_currency, _identity),
    "price_num": FieldKind(_int_between(1, limits.PRICE_TERM_MAX), _identity),
    "price_den": FieldKind(_int_between(1, limits.PRICE_TERM_MAX), _identity),
    "offer_id": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "send_currency": FieldKind(_check_currency, _identity),
    "send_max_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "receive_currency": FieldKind(_check_currency, _identity),
    "receive_amount_minor": FieldKind(_int_between(1, limits.AMOUNT_MINOR_MAX), _identity),
    "decimals": FieldKind(_int_between(0, limits.CURRENCY_DECIMALS_MAX), _identity),
    "issuer": FieldKind(_bytes_of(ADDRESS_BYTES), format_address),
    "holders_need_authorization": FieldKind(_check_bool, _identity),
    "validator_key": FieldKind(_bytes_of(PUBLIC_KEY_BYTES), _hex),
    "validator_name": FieldKind(_check_name, _identity),
    "power": FieldKind(_int_between(0, limits.VALIDATOR_POWER_MAX), _identity),
    "effective_height": FieldKind(_int_between(1, limits.NONCE_MAX), _identity),
    "redemption_id": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "payout_reference": FieldKind(_bytes_of(32), _hex),
    "redemption_deadline_ms": FieldKind(_int_between(1, limits.REDEMPTION_DEADLINE_MS_MAX), _identity),
    "reserve_as_of_ms": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "auditor": FieldKind(_bytes_of(ADDRESS_BYTES), format_address),
    "reserve_max_age_ms": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "listed": FieldKind(_check_bool, _identity),
    "order_authority": FieldKind(_check_authority, _identity),
    "order_hash": FieldKind(_check_optional_hash, _hex),
    "order_expiry_ms": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "approvers": FieldKind(_check_key_list, _hex_list),
    "compliance_keys": FieldKind(_check_key_list, _hex_list),
    "compliance_threshold": FieldKind(_int_between(0, limits.COMPLIANCE_KEYS_MAX), _identity),
    "jurisdiction": FieldKind(_check_jurisdiction, _identity),  # corridors (corridors.py)
    "from_jurisdiction": FieldKind(_check_corridor_side, _identity),
    "to_jurisdiction": FieldKind(_check_corridor_side, _identity),
    "travel_rule_always": FieldKind(_check_bool, _identity),
    "payment_max_minor": FieldKind(_int_between(0, limits.AMOUNT_MINOR_MAX), _identity),
    "window_max_minor": FieldKind(_int_between(0, limits.AMOUNT_MINOR_MAX), _identity),
    "window_ms": FieldKind(_int_between(0, limits.CORRIDOR_WINDOW_MS_MAX), _identity),
    "scope": FieldKind(_check_licence_scope, _identity),  # licences (licences.py)
    "expires_at_ms": FieldKind(_int_between(0, limits.NONCE_MAX), _identity),
    "required": FieldKind(_check_bool, _identity),
}


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move `amount_minor` of `currency` from the signer's account to `to`."""

    TYPE: ClassVar[str] = "transfer"
    signer: bytes
    nonce: int
    to: bytes
    currency: str
    amount_minor: int
    memo: str = ""
    travel_rule_hash: bytes = b""  # SHA-256 of the travel-rule payload, required above the currency's threshold


@dataclass(frozen=True, slots=True)
class Mint:
    """The currency's issuer creates `amount_minor` new coins in `to`'s account (bounded by reserves)."""

    TYPE: ClassVar[str] = "mint"
    signer: bytes
    nonce: int
    to: bytes
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Burn:
    """The signer redeems `amount_minor` of its own coins: they are destroyed and supply falls."""

    TYPE: ClassVar[str] = "burn"
    signer: bytes
    nonce: int
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class AttestReserve:
    """The currency's auditor records the reserve backing it as of `reserve_as_of_ms` (ms since 1970) and the
    hash of its report. Minting is bounded by the latest attestation (see ledger/reserves.py)."""

    TYPE: ClassVar[str] = "attest_reserve"
    signer: bytes
    nonce: int
    currency: str
    reserve_minor: int
    report_hash: bytes
    reserve_as_of_ms: int


@dataclass(frozen=True, slots=True)
class SetAuthorization:
    """The issuer allows (`enabled`) or stops allowing `account` to hold an allow-list currency."""

    TYPE: ClassVar[str] = "set_authorization"
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetFrozen:
    """The issuer freezes (`enabled`) or unfreezes `account` for its currency; `reason_hash` names why. A
    freeze executes a lawful order, approved by the currency's compliance keys when it requires them
    (ledger/orders.py); an unfreeze needs neither."""

    TYPE: ClassVar[str] = "set_frozen"
    COSIGNER_FIELDS: ClassVar[tuple[str, ...]] = ("approvers",)
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    enabled: bool
    reason_hash: bytes
    order_authority: str = ""  # who issued the order ("US District Court SDNY", "OFAC", "HKMA")
    order_hash: bytes = b""  # SHA-256 of the order document
    order_expiry_ms: int = 0  # block time after which the order may not be executed (0: none stated)
    approvers: tuple[bytes, ...] = ()  # compliance keys co-signing it, sorted

    def __post_init__(self) -> None:
        _keys_as_tuple(self, "approvers")


@dataclass(frozen=True, slots=True)
class Clawback:
    """The issuer moves `amount_minor` of a frozen account's balance back to itself, executing a lawful
    order (ledger/orders.py)."""

    TYPE: ClassVar[str] = "clawback"
    COSIGNER_FIELDS: ClassVar[tuple[str, ...]] = ("approvers",)
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    amount_minor: int
    reason_hash: bytes
    order_authority: str = ""
    order_hash: bytes = b""
    order_expiry_ms: int = 0
    approvers: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _keys_as_tuple(self, "approvers")


@dataclass(frozen=True, slots=True)
class SetPaused:
    """The issuer pauses (`enabled`) or resumes every movement of its currency."""

    TYPE: ClassVar[str] = "set_paused"
    signer: bytes
    nonce: int
    currency: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetDistributor:
    """Legacy form of the licence registry (ledger/licences.py): the issuer grants `account` a distribute
    licence of its currency with no jurisdiction and no expiry (`enabled`), or withdraws its distribute
    licence. Prefer grant_licence and revoke_licence."""

    TYPE: ClassVar[str] = "set_distributor"
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetPolicy:
    """The issuer sets its currency's payment cap, travel-rule threshold and distribution model."""

    TYPE: ClassVar[str] = "set_policy"
    signer: bytes
    nonce: int
    currency: str
    transfer_max_minor: int
    travel_rule_threshold_minor: int
    distributors_only: bool


@dataclass(frozen=True, slots=True)
class Swap:
    """Payment versus payment: the signer gives `give_amount_minor` of `give_currency` to the counterparty,
    which gives `get_amount_minor` of `get_currency` back, both legs or neither, at or before
    `expiry_height`. Both parties sign the same bytes."""

    TYPE: ClassVar[str] = "swap"
    COSIGNER_FIELDS: ClassVar[tuple[str, ...]] = ("counterparty",)
    signer: bytes
    nonce: int
    counterparty: bytes
    give_currency: str
    give_amount_minor: int
    get_currency: str
    get_amount_minor: int
    expiry_height: int
    travel_rule_hash: bytes = b""


@dataclass(frozen=True, slots=True)
class OfferCreate:
    """Sell up to `sell_amount_minor` of `sell_currency` for `buy_currency` at `price_num / price_den`
    minor units of the buy currency per minor unit sold. It takes crossing offers first; what is left
    rests in the book, its funds locked in the offer."""

    TYPE: ClassVar[str] = "offer_create"
    signer: bytes
    nonce: int
    sell_currency: str
    sell_amount_minor: int
    buy_currency: str
    price_num: int
    price_den: int


@dataclass(frozen=True, slots=True)
class OfferCancel:
    """Withdraw one of the signer's resting offers; its locked funds return to the signer."""

    TYPE: ClassVar[str] = "offer_cancel"
    signer: bytes
    nonce: int
    offer_id: int


@dataclass(frozen=True, slots=True)
class Pay:
    """Cross-currency payment: `to` receives exactly `receive_amount_minor` of `receive_currency`; the
    signer pays in `send_currency`, filled against the book, never more than `send_max_minor`, directly
    or through one intermediate currency when that is cheaper. All or nothing."""

    TYPE: ClassVar[str] = "pay"
    signer: bytes
    nonce: int
    to: bytes
    send_currency: str
    send_max_minor: int
    receive_currency: str
    receive_amount_minor: int
    memo: str = ""
    travel_rule_hash: bytes = b""


@dataclass(frozen=True, slots=True)
class GovRegisterCurrency:
    """Consortium governance: register a new currency, its issuer, its reserve auditor (never the issuer),
    whether holders need authorising, and how old its latest reserve attestation may be before minting
    stops (`reserve_max_age_ms`, 0: never)."""

    TYPE: ClassVar[str] = "gov_register_currency"
    SIGNED_BY_VALIDATORS: ClassVar[bool] = True
    signer: bytes
    nonce: int
    currency: str
    decimals: int
    issuer: bytes
    holders_need_authorization: bool
    auditor: bytes
    reserve_max_age_ms: int = limits.RESERVE_MAX_AGE_MS_DEFAULT


@dataclass(frozen=True, slots=True)
class GovSetIssuer:
    """Consortium governance: hand a currency to another issuer account."""

    TYPE: ClassVar[str] = "gov_set_issuer"
    SIGNED_BY_VALIDATORS: ClassVar[bool] = True
    signer: bytes
    nonce: int
    currency: str
    issuer: bytes


@dataclass(frozen=True, slots=True)
class GovSetValidator:
    """Consortium governance: add a validator, change its power, or remove it (power 0), from
    `effective_height` on."""

    TYPE: ClassVar[str] = "gov_set_validator"
    SIGNED_BY_VALIDATORS: ClassVar[bool] = True
    signer: bytes
    nonce: int
    validator_key: bytes
    validator_name: str
    power: int
    effective_height: int


@dataclass(frozen=True, slots=True)
class GovSetAuditor:
    """Consortium governance: name a currency's reserve auditor (never its issuer) and the maximum age of
    its reserve attestation (`reserve_max_age_ms`, 0: never stale). See ledger/reserves.py."""

    TYPE: ClassVar[str] = "gov_set_auditor"
    SIGNED_BY_VALIDATORS: ClassVar[bool] = True
    signer: bytes
    nonce: int
    currency: str
    auditor: bytes
    reserve_max_age_ms: int


@dataclass(frozen=True, slots=True)
class GovSetSanctioned:
    """Consortium governance: put `account` on the consortium sanctions list (`listed`) or take it off;
    `reason_hash` is the SHA-256 of the order or listing reference. See ledger/sanctions.py."""

    TYPE: ClassVar[str] = "gov_set_sanctioned"
    SIGNED_BY_VALIDATORS: ClassVar[bool] = True
    signer: bytes
    nonce: int
    account: bytes
    listed: bool
    reason_hash: bytes
    order_authority: str = ""  # a listing executes a lawful order (ledger/orders.py); a delisting needs none
    order_hash: bytes = b""
    order_expiry_ms: int = 0


@dataclass(frozen=True, slots=True)
class ForcedBurn:
    """The issuer destroys `amount_minor` of a frozen account's coins, executing a lawful order: supply
    falls (ledger/orders.py)."""

    TYPE: ClassVar[str] = "forced_burn"
    COSIGNER_FIELDS: ClassVar[tuple[str, ...]] = ("approvers",)
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    amount_minor: int
    reason_hash: bytes
    order_authority: str = ""
    order_hash: bytes = b""
    order_expiry_ms: int = 0
    approvers: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _keys_as_tuple(self, "approvers")


@dataclass(frozen=True, slots=True)
class SetComplianceKeys:
    """The issuer names its currency's compliance keys (sorted, at most COMPLIANCE_KEYS_MAX) and how many of
    them must approve each seizure (0: none). While the current threshold is above 0, the current keys
    approve the change too (ledger/orders.py)."""

    TYPE: ClassVar[str] = "set_compliance_keys"
    COSIGNER_FIELDS: ClassVar[tuple[str, ...]] = ("approvers",)
    signer: bytes
    nonce: int
    currency: str
    compliance_keys: tuple[bytes, ...]
    compliance_threshold: int
    approvers: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _keys_as_tuple(self, "compliance_keys")
        _keys_as_tuple(self, "approvers")


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    """A holder (or, under distributors_only, a licensed distributor) asks the issuer to redeem
    `amount_minor` of `currency`: the amount leaves its balance at once and stays locked in the request
    until the issuer fulfils or rejects it, or the holder cancels it. See ledger/redemption.py."""

    TYPE: ClassVar[str] = "redeem_request"
    signer: bytes
    nonce: int
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class RedeemFulfil:
    """The issuer has paid a redemption out off chain: the locked amount is burned (supply falls) and
    `payout_reference`, the SHA-256 of the payout's reference, is recorded."""

    TYPE: ClassVar[str] = "redeem_fulfil"
    signer: bytes
    nonce: int
    redemption_id: int
    payout_reference: bytes


@dataclass(frozen=True, slots=True)
class RedeemReject:
    """The issuer refuses a redemption request; the locked amount returns to the requester."""

    TYPE: ClassVar[str] = "redeem_reject"
    signer: bytes
    nonce: int
    redemption_id: int
    reason_hash: bytes


@dataclass(frozen=True, slots=True)
class RedeemCancel:
    """The requester withdraws a redemption request the issuer has not acted on; the amount returns."""

    TYPE: ClassVar[str] = "redeem_cancel"
    signer: bytes
    nonce: int
    redemption_id: int


@dataclass(frozen=True, slots=True)
class SetRedemptionDeadline:
    """The issuer sets how long (ms of block time) it has to act on a redemption request of its currency."""

    TYPE: ClassVar[str] = "set_redemption_deadline"
    signer: bytes
    nonce: int
    currency: str
    redemption_deadline_ms: int


@dataclass(frozen=True, slots=True)
class SetJurisdiction:
    """The issuer records the jurisdiction of `account` for its currency: an ISO 3166-1 alpha-2 code or EU
    ("" clears it). Corridor policies apply by it. See ledger/corridors.py."""

    TYPE: ClassVar[str] = "set_jurisdiction"
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class SetCorridorPolicy:
    """The issuer sets the policy of the corridor from `from_jurisdiction` to `to_jurisdiction` ("*": any) in
    its currency: above `travel_rule_threshold_minor` (0: never), or on every payment with
    `travel_rule_always`, a payment carries a travel-rule hash; none above `payment_max_minor` (0: no cap);
    one sender's total within `window_ms` of block time at most `window_max_minor` (both 0: no window). With
    every control off the policy is removed. See ledger/corridors.py."""

    TYPE: ClassVar[str] = "set_corridor_policy"
    signer: bytes
    nonce: int
    currency: str
    from_jurisdiction: str
    to_jurisdiction: str
    travel_rule_threshold_minor: int
    travel_rule_always: bool
    payment_max_minor: int
    window_max_minor: int
    window_ms: int


@dataclass(frozen=True, slots=True)
class GrantLicence:
    """The issuer grants `account` a licence of `scope` ("distribute", "exchange") in its currency, under the
    regime of `jurisdiction` (an ISO 3166-1 alpha-2 code or EU), in force until the block time
    `expires_at_ms` (0: no expiry). It replaces any licence of that scope the account had. See
    ledger/licences.py."""

    TYPE: ClassVar[str] = "grant_licence"
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    scope: str
    jurisdiction: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class RevokeLicence:
    """The issuer revokes `account`'s licence of `scope` in its currency, at once; `reason_hash` is the
    SHA-256 of the reason, kept in the licence record."""

    TYPE: ClassVar[str] = "revoke_licence"
    signer: bytes
    nonce: int
    currency: str
    account: bytes
    scope: str
    reason_hash: bytes


@dataclass(frozen=True, slots=True)
class SetLicenceRequired:
    """The issuer requires (`required`) licences of `scope` in its currency, or stops requiring them (for
    "distribute" this is the currency's `distributors_only`)."""

    TYPE: ClassVar[str] = "set_licence_required"
    signer: bytes
    nonce: int
    currency: str
    scope: str
    required: bool


TxBody = Union[
    Transfer, Mint, Burn, AttestReserve, SetAuthorization, SetFrozen, Clawback, SetPaused, SetDistributor, SetPolicy,
    Swap, OfferCreate, OfferCancel, Pay, GovRegisterCurrency, GovSetIssuer, GovSetValidator, GovSetAuditor, GovSetSanctioned,
    RedeemRequest, RedeemFulfil, RedeemReject, RedeemCancel, SetRedemptionDeadline,
    ForcedBurn, SetComplianceKeys,
    SetJurisdiction, SetCorridorPolicy,
    GrantLicence, RevokeLicence, SetLicenceRequired,
]
TX_TYPES: dict[str, type] = {
    cls.TYPE: cls
    for cls in (
        Transfer, Mint, Burn, AttestReserve, SetAuthorization, SetFrozen, Clawback, SetPaused, SetDistributor, SetPolicy,
        Swap, OfferCreate, OfferCancel, Pay, GovRegisterCurrency, GovSetIssuer, GovSetValidator, GovSetAuditor, GovSetSanctioned,
        RedeemRequest, RedeemFulfil, RedeemReject, RedeemCancel, SetRedemptionDeadline,
        ForcedBurn, SetComplianceKeys,
        SetJurisdiction, SetCorridorPolicy,
        GrantLicence, RevokeLicence, SetLicenceRequired,
    )
}


_GOVERNANCE_TYPES = frozenset(cls for cls in TX_TYPES.values() if getattr(cls, "SIGNED_BY_VALIDATORS", False))


def is_governance(body: TxBody) -> bool:
    """Governance transactions carry validators' signatures (public key || signature, 96 bytes each) and
    use the chain's governance nonce instead of an account nonce."""
    return type(body) in _GOVERNANCE_TYPES


# Per type, worked out once (decoding and signing run for every transaction a node sees): the field names
# in declaration order, the same in canonical (sorted) order, and each field's check.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SORTED_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_FIELD_CHECKS: dict[type, tuple[tuple[str, Callable[[Any], str | None]], ...]] = {}
for _cls in TX_TYPES.values():
    _names = tuple(field.name for field in dataclasses.fields(_cls))
    assert _names[:2] == ("signer", "nonce"), f"{_cls.__name__} must start with signer and nonce"
    assert set(_names) <= set(FIELDS), f"{_cls.__name__} has a field FIELDS does not describe"
    _FIELD_NAMES[_cls] = _names
    _SORTED_FIELD_NAMES[_cls] = tuple(sorted(_names, key=str.encode))
    _FIELD_CHECKS[_cls] = tuple((name, FIELDS[name].check) for name in _names)


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A decoded transaction with its exact wire bytes; `hash` is SHA-256 of those bytes."""

    body: TxBody
    signatures: tuple[bytes, ...]
    raw: bytes
    hash: bytes
    sender: bytes

    def signers(self) -> tuple[bytes, ...]:
        """The public keys whose signatures this transaction carries, in order: the signer, then the
        co-signers its type names (a swap's counterparty, a seizure's approvers); for governance, the
        signing validators."""
        if is_governance(self.body):
            return tuple(blob[:PUBLIC_KEY_BYTES] for blob in self.signatures)
        return (self.body.signer, *cosigners_of(self.body))


def cosigners_of(body: TxBody) -> tuple[bytes, ...]:
    """The public keys besides the signer that sign `body`, in order: the keys its COSIGNER_FIELDS name
    (a field holds one key, or a list of them: a seizure's approvers). Empty for governance, whose
    validators are named by their signatures, not by the body."""
    fields = getattr(type(body), "COSIGNER_FIELDS", ())
    if not fields:
        return ()
    keys: list[bytes] = []
    for name in fields:
        value = getattr(body, name)
        if type(value) is bytes:
            keys.append(value)
        else:
            keys.extend(value)
    return tuple(keys)


def body_to_map(body: TxBody) -> dict[str, Any]:
    return {name: getattr(body, name) for name in _FIELD_NAMES[type(body)]}


@functools.lru_cache(maxsize=64)
def _signing_prefix(chain_id: str, type_name: str) -> bytes:
    """The canonical encoding of [TX_DOMAIN, chain_id, type_name, ...] up to the body: a 4-element array."""
    return b"\x94" + codec.encode([TX_DOMAIN, chain_id, type_name])[1:]


def signing_bytes(chain_id: str, body: TxBody) -> bytes:
    """The exact bytes every signer of `body` signs on chain `chain_id`:
    encode([TX_DOMAIN, chain_id, type, body]), with the body's fields packed in canonical key order.

    The fields are packed as they are, without codec.encode's walk: every field was checked by its kind
    when the body was built or decoded, and a body that was not cannot become a transaction (_wrap encodes
    it canonically)."""
    fields = {name: getattr(body, name) for name in _SORTED_FIELD_NAMES[type(body)]}
    return _signing_prefix(chain_id, body.TYPE) + msgpack.packb(fields, use_bin_type=True)


def _wrap(body: TxBody, signatures: tuple[bytes, ...]) -> SignedTx:
    raw = codec.encode({"body": body_to_map(body), "signatures": list(signatures), "type": body.TYPE})
    return SignedTx(body, signatures, raw, sha256(raw), address_of(body.signer))


def sign_tx(body: TxBody, keys: list[KeyPair], chain_id: str) -> SignedTx:
    """Sign `body` with `keys` (one per required signer, in order) and return the wire transaction."""
    message = signing_bytes(chain_id, body)
    return _wrap(body, tuple(key.sign(message) for key in keys))


def assemble_tx(body: TxBody, signatures: list[bytes]) -> SignedTx:
    """The wire transaction from a body and signatures gathered separately (a swap's two parties, or the
    validators' public key || signature blobs of a governance transaction, sorted here)."""
    return _wrap(body, tuple(sorted(signatures)) if is_governance(body) else tuple(signatures))


def build_body(type_name: str, fields: dict[str, Any], fill_defaults: bool = True) -> TxBody:
    """Check every field of a transaction body by its name and build it; raises TxError on any problem.

    Fields with a default (a transfer's memo, say) may be left out when a client builds a body; decoding
    wire bytes passes `fill_defaults=False`, since the canonical form always carries every field."""
    cls = TX_TYPES.get(type_name)
    if cls is None:
        raise TxError(Refusal.UNKNOWN_TX_TYPE, f"unknown transaction type {type_name!r}")
    if fill_defaults:
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        fields = {**defaults, **fields}
    expected = _FIELD_NAMES[cls]
    if len(fields) != len(expected) or not all(name in fields for name in expected):
        missing = [name for name in expected if name not in fields]
        unknown = sorted(set(fields) - set(expected))
        raise TxError(Refusal.BAD_FIELD, f"{type_name}: missing fields {missing}, unknown fields {unknown}")
    for name, check in _FIELD_CHECKS[cls]:
        problem = check(fields[name])
        if problem is not None:
            raise TxError(Refusal.BAD_FIELD, f"{type_name}: field {name!r} {problem}")
    return cls(**fields)


def decode_tx(raw: bytes) -> SignedTx:
    """Decode wire bytes strictly into a SignedTx (signatures not yet verified); raises TxError."""
    try:
        document = codec.decode(raw, limits.TX_SIZE_BYTES_MAX)
    except codec.DecodeError as exc:
        raise TxError(Refusal[exc.code.upper()], exc.message) from exc
    if type(document) is not dict or set(document) != {"body", "signatures", "type"}:
        raise TxError(Refusal.BAD_FIELD, "a transaction is a map of exactly body, signatures and type")
    type_name, body_map, signatures = document["type"], document["body"], document["signatures"]
    if type(type_name) is not str:
        raise TxError(Refusal.BAD_FIELD, "type must be a string")
    if type(body_map) is not dict:
        raise TxError(Refusal.BAD_FIELD, "body must be a map")
    body = build_body(type_name, body_map, fill_defaults=False)
    if type(signatures) is not list or not all(type(s) is bytes for s in signatures):
        raise TxError(Refusal.BAD_FIELD, "signatures must be a list of byte strings")
    if is_governance(body):
        if not 1 <= len(signatures) <= limits.GOVERNANCE_SIGNATURES_MAX or any(len(s) != PUBLIC_KEY_BYTES + SIGNATURE_BYTES for s in signatures):
            raise TxError(Refusal.BAD_SIGNATURE, f"governance carries 1 to {limits.GOVERNANCE_SIGNATURES_MAX} validator signatures of 96 bytes")
        if len({s[:PUBLIC_KEY_BYTES] for s in signatures}) != len(signatures) or signatures != sorted(signatures):
            raise TxError(Refusal.BAD_SIGNATURE, "governance signatures are distinct and sorted by validator key")
        if body.signer not in {s[:PUBLIC_KEY_BYTES] for s in signatures}:
            raise TxError(Refusal.BAD_SIGNATURE, "the proposer of a governance transaction (its signer) signs it too")
        return SignedTx(body, tuple(signatures), raw, sha256(raw), address_of(body.signer))
    if any(len(s) != SIGNATURE_BYTES for s in signatures):
        raise TxError(Refusal.BAD_SIGNATURE, f"every signature must be {SIGNATURE_BYTES} bytes")
    tx = SignedTx(body, tuple(signatures), raw, sha256(raw), address_of(body.signer))
    if len(tx.signatures) != len(tx.signers()):
        raise TxError(Refusal.BAD_SIGNATURE, f"{type_name} needs {len(tx.signers())} signature(s)")
    return tx


def signature_checks(tx: SignedTx, chain_id: str) -> list[tuple[bytes, bytes, bytes]]:
    """The (public key, message, signature) triples that must all verify for `tx` to be validly signed on
    `chain_id` (for governance: every validator signature it carries)."""
    message = signing_bytes(chain_id, tx.body)
    if is_governance(tx.body):
        return [(blob[:PUBLIC_KEY_BYTES], message, blob[PUBLIC_KEY_BYTES:]) for blob in tx.signatures]
    return [(key, message, sig) for key, sig in zip(tx.signers(), tx.signatures, strict=True)]


def signatures_valid(tx: SignedTx, chain_id: str) -> bool:
    """True when every required signer signed this transaction's body for `chain_id` (for governance:
    every signature it carries verifies; whether they make a quorum is the rule's question)."""
    return all(verify_signature(key, message, sig) for key, message, sig in signature_checks(tx, chain_id))


def tx_to_json(tx: SignedTx) -> dict[str, Any]:
    """The transaction as JSON for people and scripts: fields shown by their kind (addresses as cor1...)."""
    body = {name: FIELDS[name].to_json(value) for name, value in body_to_map(tx.body).items()}
    return {"hash": tx.hash.hex(), "type": tx.body.TYPE, "sender": format_address(tx.sender), "body": body}
