"""Build and sign every Corridor transaction type, with amounts in major units converted exactly.

`TxBuilder` works offline: give it the chain id and the decimals of the currencies involved (and, for a
swap's expiry or a validator change's effective height counted from now, the current height); each method
takes the signer's key first, the terms next and the nonce as `nonce=`, and returns a signed transaction
(`SignedTx`), or, for the types that need several signatures (a swap, governance), a `Proposal` signed by
`key` for the others to co-sign (`proposal.sign(other_key)`, then `proposal.transaction()`).

`Client.txs` and `AsyncClient.txs` have the same methods with the chain id, decimals, height and nonce
read from the node, so `nonce=` may be left out there:

    tx = client.txs.transfer(alice, bob_address, "12.50", "USD", memo="invoice 42")
    client.send(tx)

Amounts (`Amount`) are `str` or `Decimal` in major units (`"12.50"`), an `int` of major units, or
`Minor(1250)` for minor units as they are. Conversion is exact or refused: `"12.505"` of a 2-decimal
currency raises AmountError, never rounds; floats are refused because they are not exact. Prices are in
major units of the buy currency per major unit sold (`"0.0067"`, a `Decimal` or an exact `Fraction`).
Reports, reasons and travel-rule payloads are hashed here (SHA-256) and only the hash goes on chain.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence, TypeVar, Union

from corridor.client.errors import AmountError, InvalidInput, InvalidTransaction
from corridor.client.keys import AddressLike, PublicKeyLike, address_bytes, public_key_bytes
from corridor.client.proposal import Proposal
from corridor.hashing import sha256
from corridor.keys import KeyPair
from corridor.ledger import amounts as _amounts
from corridor.ledger import limits
from corridor.ledger.tx import (
    TX_TYPES,
    AttestReserve,
    Burn,
    Clawback,
    ForcedBurn,
    GovRegisterCurrency,
    GovSetAuditor,
    GovSetIssuer,
    GovSetSanctioned,
    GovSetValidator,
    Mint,
    OfferCancel,
    OfferCreate,
    Pay,
    RedeemCancel,
    RedeemFulfil,
    RedeemReject,
    RedeemRequest,
    SetAuthorization,
    SetComplianceKeys,
    SetDistributor,
    GrantLicence,
    RevokeLicence,
    SetLicenceRequired,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SetRedemptionDeadline,
    SetCorridorPolicy,
    SetJurisdiction,
    SignedTx,
    Swap,
    Transfer,
    TxBody,
    TxError,
    build_body,
    cosigners_of,
    is_governance,
    sign_tx,
)

__all__ = ["Amount", "Minor", "Price", "TX_BUILDERS", "TxBuilder", "UnknownDecimals", "from_minor", "to_minor", "to_price"]


class Minor(int):
    """An amount already in minor units (`Minor(1250)` is 12.50 of a 2-decimal currency), used as is."""

    def __repr__(self) -> str:
        return f"Minor({int(self)})"


Amount = Union[str, Decimal, int, Minor]
Price = Union[str, Decimal, int, Fraction]


class UnknownDecimals(InvalidInput):
    """The builder does not know the decimals of `currency` (give them, or use Client.txs, which reads
    them from the node)."""

    def __init__(self, currency: str) -> None:
        super().__init__(f"the decimals of currency {currency} are not known")
        self.currency = currency


def _decimal_text(value: Any, what: str) -> str:
    """The exact decimal text of a str, Decimal or int (not bool, not float)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"{value!r} is a {type(value).__name__}, not an exact {what}; give a str or a Decimal")
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        if value < 0:
            raise AmountError(f"{value} is negative; {what}s are never below zero")
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError(f"{value} is not a finite {what}")
        if value < 0:
            raise AmountError(f"{value} is negative; {what}s are never below zero")
        return format(abs(value), "f")
    raise AmountError(f"an {what} is a str, a Decimal or an int, not {type(value).__name__}")


def to_minor(amount: Amount, decimals: int) -> int:
    """`amount` in minor units of a currency with `decimals` decimal places, exactly: `to_minor("12.50",
    2)` is 1250, `to_minor(Decimal("3"), 0)` is 3, `to_minor(Minor(7), 2)` is 7; `"12.505"` with 2 decimals
    raises AmountError (never a rounding), as do negative amounts, floats and amounts above 2**63 - 1."""
    if isinstance(amount, Minor):
        if not 0 <= amount <= limits.AMOUNT_MINOR_MAX:
            raise AmountError(f"{int(amount)} minor units is outside 0 to {limits.AMOUNT_MINOR_MAX}")
        return int(amount)
    text = _decimal_text(amount, "amount")
    try:
        return _amounts.parse_amount(text, decimals)
    except _amounts.AmountError as exc:
        raise AmountError(str(exc)) from None


def from_minor(minor: int, decimals: int) -> Decimal:
    """Minor units as an exact Decimal in major units: `from_minor(1250, 2)` is `Decimal("12.50")`."""
    return Decimal(_amounts.format_amount(minor, decimals))


def to_price(price: Price, sell_decimals: int, buy_decimals: int) -> tuple[int, int]:
    """A price in major units of the buy currency per major unit sold, as the exact fraction (num, den) of
    buy minor units per sell minor unit in lowest terms (protocol.md 8.2); raises AmountError."""
    if isinstance(price, Fraction):
        if price <= 0:
            raise AmountError("a price must be above zero")
        exact = price * Fraction(10**buy_decimals, 10**sell_decimals)
        num, den = exact.numerator, exact.denominator
        if num > limits.PRICE_TERM_MAX or den > limits.PRICE_TERM_MAX:
            raise AmountError(f"{price} cannot be written exactly with terms below 2**63")
        return num, den
    text = _decimal_text(price, "price")
    try:
        return _amounts.parse_price(text, sell_decimals, buy_decimals)
    except _amounts.AmountError as exc:
        raise AmountError(str(exc)) from None


def _digest(payload: bytes | str | None, given: bytes | str | None, what: str, required: bool) -> bytes:
    """SHA-256 of `payload` (text is UTF-8), or `given` (32 bytes or 64 hex digits); b"" when neither and
    not `required`."""
    if payload is not None and given is not None:
        raise InvalidInput(f"give the {what} or its hash, not both")
    if payload is not None:
        if isinstance(payload, str):
            payload = payload.encode()
        if not isinstance(payload, (bytes, bytearray)):
            raise InvalidInput(f"the {what} is bytes or text")
        return sha256(bytes(payload))
    if given is not None:
        value = bytes.fromhex(given) if isinstance(given, str) and len(given) == 64 else given
        if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
            raise InvalidInput(f"the hash of the {what} is 32 bytes (64 hex digits)")
        return bytes(value)
    if required:
        raise InvalidInput(f"a {what} is required")
    return b""


def _time_ms(value: int | datetime | None) -> int:
    """Milliseconds since 1970: an int as it is, an aware datetime converted, None the current time."""
    if value is None:
        return int(time.time() * 1000)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput("give an aware datetime (with a time zone), or milliseconds since 1970")
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("a time is milliseconds since 1970 (a non-negative int) or an aware datetime")
    return value


def _order_fields(authority: str | None, order: bytes | str | None, order_hash: bytes | str | None,
                  expiry: int | datetime | None, seizure: str | None) -> dict[str, Any]:
    """The lawful-order fields of a seizure (ledger/orders.py): the issuing authority, the SHA-256 of the
    order document (`order`, hashed here, or `order_hash`) and its expiry (None: 0, none stated).
    `seizure` names the action needing them; None (lifting one) makes them optional."""
    if seizure is not None and not authority:
        raise InvalidInput(f"a {seizure} executes a lawful order: give authority= (who issued it) and order= "
                           "(the order document) or order_hash=")
    return {"order_authority": authority or "",
            "order_hash": _digest(order, order_hash, "order document", required=seizure is not None),
            "order_expiry_ms": 0 if expiry is None else _time_ms(expiry)}


def _key_list(keys: Sequence[PublicKeyLike], what: str) -> list[bytes]:
    """Public keys, sorted as the chain wants them; a key named twice is an error."""
    if isinstance(keys, (str, bytes)):
        raise InvalidInput(f"the {what} are a list of public keys")
    found = sorted(public_key_bytes(item) for item in keys)
    if len(set(found)) != len(found):
        raise InvalidInput(f"the {what} name a key twice")
    return found


_F = TypeVar("_F", bound=Callable[..., Any])


def _builder(nonce: str = "account", height: bool = False) -> Callable[[_F], _F]:
    """Marks a TxBuilder method as the builder of one transaction type: which nonce it takes (an account's
    or the chain's governance nonce) and whether it may need the current height. Client.txs reads it."""

    def mark(function: _F) -> _F:
        function._corridor_builder = (nonce, height)  # type: ignore[attr-defined]
        return function

    return mark


class TxBuilder:
    """Builds and signs transactions for the chain `chain_id`.

    `decimals` maps currency codes to their decimals (every amount is converted with them); `height`, the
    chain's current height, is needed only to count a swap's expiry or a validator change's effective
    height from now. Methods take the signer's `key` first and `nonce=` (the signer's next nonce,
    `Client.next_nonce`; for governance the chain's, `Client.governance()["next_nonce"]`)."""

    def __init__(self, chain_id: str, decimals: Mapping[str, int] | None = None, height: int | None = None) -> None:
        self.chain_id = chain_id
        self.decimals: dict[str, int] = dict(decimals or {})
        self.height = height

    def __repr__(self) -> str:
        return f"TxBuilder({self.chain_id!r}, decimals={self.decimals!r}, height={self.height!r})"

    # conversions --------------------------------------------------------------------------------------

    def decimals_of(self, currency: str) -> int:
        """The decimals of `currency`; raises UnknownDecimals when they were not given."""
        try:
            return self.decimals[currency.upper()]
        except KeyError:
            raise UnknownDecimals(currency.upper()) from None

    def to_minor(self, amount: Amount, currency: str) -> int:
        """`amount` (major units, or Minor) in minor units of `currency`, exactly (see `to_minor`)."""
        if isinstance(amount, Minor):
            return to_minor(amount, 0)
        return to_minor(amount, self.decimals_of(currency))

    def to_price(self, price: Price, sell_currency: str, buy_currency: str) -> tuple[int, int]:
        """A price (buy per unit sold, major units) as the chain's exact fraction of minor units."""
        return to_price(price, self.decimals_of(sell_currency), self.decimals_of(buy_currency))

    # the generic form ---------------------------------------------------------------------------------

    @staticmethod
    def _body(key: KeyPair, type_name: str, fields: dict[str, Any], nonce: int | None) -> TxBody:
        if not isinstance(key, KeyPair):
            raise InvalidInput(f"the signer is a KeyPair (corridor.client.load_key), not {type(key).__name__}")
        if nonce is None:
            raise InvalidInput("give nonce= (the signer's next nonce), or build through Client.txs, which reads it")
        try:
            return build_body(type_name, {"signer": key.public_key, "nonce": nonce, **fields})
        except InvalidTransaction:
            raise
        except TxError as exc:
            raise InvalidTransaction(exc.refusal, exc.message) from None

    def build(self, key: KeyPair, type_name: str, fields: dict[str, Any], *, nonce: int | None = None) -> SignedTx:
        """A transaction of `type_name` (protocol.md 5) from raw `fields` (minor units, bytes), signed by
        `key` alone. For swaps and governance, which need more signatures, use `propose`."""
        if type_name in TX_TYPES and (type_name == Swap.TYPE or getattr(TX_TYPES[type_name], "SIGNED_BY_VALIDATORS", False)):
            raise InvalidInput(f"a {type_name} needs several signatures: use propose() (or the {type_name} builder)")
        body = self._body(key, type_name, fields, nonce)
        if cosigners_of(body):
            raise InvalidInput(f"this {type_name} names approvers who sign it too: use propose()")
        return sign_tx(body, [key], self.chain_id)

    def propose(self, key: KeyPair, type_name: str, fields: dict[str, Any], *, nonce: int | None = None) -> Proposal:
        """A swap or governance transaction from raw `fields`, as a Proposal signed by `key` (party A, or
        the proposing validator's node key) for the others to sign."""
        body = self._body(key, type_name, fields, nonce)
        if not (isinstance(body, Swap) or is_governance(body) or cosigners_of(body)):
            raise InvalidInput(f"a {type_name} is signed by its sender alone: use build()")
        proposal = Proposal(self.chain_id, body)
        proposal.sign(key)
        return proposal

    def _height_plus(self, blocks: int, what: str) -> int:
        if self.height is None:
            raise InvalidInput(f"the current height is not known: give {what} (or build through Client.txs)")
        return self.height + blocks

    # payments -----------------------------------------------------------------------------------------

    @_builder()
    def transfer(self, key: KeyPair, to: AddressLike, amount: Amount, currency: str, *, memo: str = "",
                 travel_rule: bytes | str | None = None, travel_rule_hash: bytes | str | None = None,
                 nonce: int | None = None) -> SignedTx:
        """Pay `amount` of `currency` from `key`'s account to `to`. `memo` is free text for the recipient
        (at most 256 UTF-8 bytes). Above the currency's travel-rule threshold give the travel-rule payload
        (`travel_rule`, kept off chain and hashed here) or its SHA-256 (`travel_rule_hash`)."""
        code = currency.upper()
        return self.build(key, Transfer.TYPE, {
            "to": address_bytes(to), "currency": code, "amount_minor": self.to_minor(amount, code), "memo": memo,
            "travel_rule_hash": _digest(travel_rule, travel_rule_hash, "travel-rule payload", required=False),
        }, nonce=nonce)

    @_builder()
    def pay(self, key: KeyPair, to: AddressLike, send_max: Amount, send_currency: str, receive_amount: Amount,
            receive_currency: str, *, memo: str = "", travel_rule: bytes | str | None = None,
            travel_rule_hash: bytes | str | None = None, nonce: int | None = None) -> SignedTx:
        """Cross-currency payment: `to` receives exactly `receive_amount` of `receive_currency`; `key`
        pays in `send_currency` through the order book, never more than `send_max`, or nothing moves."""
        send_code, receive_code = send_currency.upper(), receive_currency.upper()
        return self.build(key, Pay.TYPE, {
            "to": address_bytes(to), "send_currency": send_code, "send_max_minor": self.to_minor(send_max, send_code),
            "receive_currency": receive_code, "receive_amount_minor": self.to_minor(receive_amount, receive_code),
            "memo": memo, "travel_rule_hash": _digest(travel_rule, travel_rule_hash, "travel-rule payload", required=False),
        }, nonce=nonce)

    # issuers ------------------------------------------------------------------------------------------

    @_builder()
    def mint(self, key: KeyPair, to: AddressLike, amount: Amount, currency: str, *, nonce: int | None = None) -> SignedTx:
        """Issuer only: create `amount` of new `currency` in `to`'s account (bounded by the attested reserve)."""
        code = currency.upper()
        return self.build(key, Mint.TYPE, {"to": address_bytes(to), "currency": code,
                                           "amount_minor": self.to_minor(amount, code)}, nonce=nonce)

    @_builder()
    def burn(self, key: KeyPair, amount: Amount, currency: str, *, nonce: int | None = None) -> SignedTx:
        """Redeem: destroy `amount` of `key`'s own `currency`; the supply falls."""
        code = currency.upper()
        return self.build(key, Burn.TYPE, {"currency": code, "amount_minor": self.to_minor(amount, code)}, nonce=nonce)

    @_builder()
    def attest_reserve(self, key: KeyPair, currency: str, reserve: Amount, *, report: bytes | str | None = None,
                       report_hash: bytes | str | None = None, as_of: int | datetime | None = None,
                       nonce: int | None = None) -> SignedTx:
        """The currency's auditor only (never its issuer): record the reserve backing `currency` as of
        `as_of` (milliseconds since 1970 or an aware datetime; default now) and the report (its bytes,
        hashed here, or its SHA-256 as `report_hash`). The chain refuses an as-of time older than the
        latest attestation or more than a minute ahead of the block time."""
        code = currency.upper()
        return self.build(key, AttestReserve.TYPE, {
            "currency": code, "reserve_minor": self.to_minor(reserve, code),
            "report_hash": _digest(report, report_hash, "reserve report", required=True),
            "reserve_as_of_ms": _time_ms(as_of),
        }, nonce=nonce)

    @_builder()
    def set_authorization(self, key: KeyPair, currency: str, account: AddressLike, enabled: bool = True, *,
                          nonce: int | None = None) -> SignedTx:
        """Issuer only: allow (`enabled`) or stop allowing `account` to hold an allow-list currency."""
        return self.build(key, SetAuthorization.TYPE, {"currency": currency.upper(), "account": address_bytes(account),
                                                       "enabled": enabled}, nonce=nonce)

    def _seizure(self, key: KeyPair, type_name: str, fields: dict[str, Any], approvers: Sequence[PublicKeyLike],
                 nonce: int | None) -> SignedTx | Proposal:
        """A seizure (or its lifting) signed by `key` alone, or, when it names `approvers`, a Proposal signed by
        `key` for each approver to co-sign (ledger/orders.py)."""
        keys = _key_list(approvers, "approvers")
        fields = {**fields, "approvers": keys}
        return self.propose(key, type_name, fields, nonce=nonce) if keys else self.build(key, type_name, fields, nonce=nonce)

    @_builder()
    def set_frozen(self, key: KeyPair, currency: str, account: AddressLike, enabled: bool = True, *,
                   reason: bytes | str, authority: str | None = None, order: bytes | str | None = None,
                   order_hash: bytes | str | None = None, order_expiry: int | datetime | None = None,
                   approvers: Sequence[PublicKeyLike] = (), nonce: int | None = None) -> SignedTx | Proposal:
        """Issuer only: freeze (`enabled`) or unfreeze `account` in `currency`; `reason` (the case reference) is
        hashed and only its hash goes on chain. A freeze executes a lawful order: `authority` (who issued it,
        "US District Court SDNY"), the order document (`order`, hashed here, or its SHA-256 as `order_hash`)
        and its expiry (`order_expiry`, ms since 1970 or an aware datetime; None: the order states none). When
        the currency requires compliance approvals, name the approving public keys (`approvers`): the result
        is then a Proposal signed by `key`, which each approver signs (`proposal.sign(its_key)`) before
        `proposal.transaction()` is sent. An unfreeze needs no order."""
        return self._seizure(key, SetFrozen.TYPE, {
            "currency": currency.upper(), "account": address_bytes(account), "enabled": enabled,
            "reason_hash": _digest(reason, None, "reason", True),
            **_order_fields(authority, order, order_hash, order_expiry, "freeze" if enabled else None),
        }, approvers, nonce)

    @_builder()
    def clawback(self, key: KeyPair, currency: str, account: AddressLike, amount: Amount, *, reason: bytes | str,
                 authority: str | None = None, order: bytes | str | None = None, order_hash: bytes | str | None = None,
                 order_expiry: int | datetime | None = None, approvers: Sequence[PublicKeyLike] = (),
                 nonce: int | None = None) -> SignedTx | Proposal:
        """Issuer only: move `amount` of a frozen `account`'s `currency` back to the issuer; `reason` is
        hashed. It executes a lawful order and may need approvals, as `set_frozen` says."""
        code = currency.upper()
        return self._seizure(key, Clawback.TYPE, {
            "currency": code, "account": address_bytes(account), "amount_minor": self.to_minor(amount, code),
            "reason_hash": _digest(reason, None, "reason", True),
            **_order_fields(authority, order, order_hash, order_expiry, "clawback"),
        }, approvers, nonce)

    @_builder()
    def forced_burn(self, key: KeyPair, currency: str, account: AddressLike, amount: Amount, *, reason: bytes | str,
                    authority: str | None = None, order: bytes | str | None = None, order_hash: bytes | str | None = None,
                    order_expiry: int | datetime | None = None, approvers: Sequence[PublicKeyLike] = (),
                    nonce: int | None = None) -> SignedTx | Proposal:
        """Issuer only: destroy `amount` of a frozen `account`'s `currency` (supply falls); `reason` is hashed.
        It executes a lawful order and may need approvals, as `set_frozen` says."""
        code = currency.upper()
        return self._seizure(key, ForcedBurn.TYPE, {
            "currency": code, "account": address_bytes(account), "amount_minor": self.to_minor(amount, code),
            "reason_hash": _digest(reason, None, "reason", True),
            **_order_fields(authority, order, order_hash, order_expiry, "forced burn"),
        }, approvers, nonce)

    @_builder()
    def set_compliance_keys(self, key: KeyPair, currency: str, compliance_keys: Sequence[PublicKeyLike], threshold: int, *,
                            approvers: Sequence[PublicKeyLike] = (), nonce: int | None = None) -> SignedTx | Proposal:
        """Issuer only: name `currency`'s compliance keys (public keys, at most 8, never the issuer's) and how many
        of them (`threshold`, 0: none) must approve each freeze, clawback and forced burn. While a threshold is
        in force, the current keys approve the change too: name them as `approvers` (a Proposal results)."""
        return self._seizure(key, SetComplianceKeys.TYPE, {
            "currency": currency.upper(), "compliance_keys": _key_list(compliance_keys, "compliance keys"),
            "compliance_threshold": threshold,
        }, approvers, nonce)

    @_builder()
    def set_paused(self, key: KeyPair, currency: str, enabled: bool = True, *, nonce: int | None = None) -> SignedTx:
        """Issuer only: pause (`enabled`) or resume every movement of `currency`."""
        return self.build(key, SetPaused.TYPE, {"currency": currency.upper(), "enabled": enabled}, nonce=nonce)

    @_builder()
    def set_distributor(self, key: KeyPair, currency: str, account: AddressLike, enabled: bool = True, *,
                        nonce: int | None = None) -> SignedTx:
        """Issuer only, the legacy form of `grant_licence`: grant `account` a distribute licence of `currency`
        with no jurisdiction and no expiry (`enabled`), or withdraw its distribute licence."""
        return self.build(key, SetDistributor.TYPE, {"currency": currency.upper(), "account": address_bytes(account),
                                                     "enabled": enabled}, nonce=nonce)

    @_builder()
    def set_policy(self, key: KeyPair, currency: str, *, transfer_max: Amount, travel_rule_threshold: Amount,
                   distributors_only: bool, nonce: int | None = None) -> SignedTx:
        """Issuer only: set `currency`'s largest single payment (`transfer_max`, 0: no cap), the amount above
        which payments carry a travel-rule hash (0: never) and whether only licensed distributors receive
        new coins and redeem. All three are set; read the current ones from `Client.currency(code)`."""
        code = currency.upper()
        return self.build(key, SetPolicy.TYPE, {
            "currency": code, "transfer_max_minor": self.to_minor(transfer_max, code),
            "travel_rule_threshold_minor": self.to_minor(travel_rule_threshold, code),
            "distributors_only": distributors_only,
        }, nonce=nonce)

    # redemption requests ----------------------------------------------------------------------------

    @_builder()
    def redeem_request(self, key: KeyPair, amount: Amount, currency: str, *, nonce: int | None = None) -> SignedTx:
        """Ask `currency`'s issuer to redeem `amount` of `key`'s coins: they leave its balance at once and stay
        locked in the request (its id is in the receipt's `redemption_requested` event) until the issuer
        fulfils or rejects it, or `key` cancels it."""
        code = currency.upper()
        return self.build(key, RedeemRequest.TYPE, {"currency": code, "amount_minor": self.to_minor(amount, code)}, nonce=nonce)

    @_builder()
    def redeem_fulfil(self, key: KeyPair, redemption_id: int, *, payout: bytes | str | None = None,
                      payout_reference: bytes | str | None = None, nonce: int | None = None) -> SignedTx:
        """Issuer only: the holder of redemption `redemption_id` was paid off chain; the locked coins are
        burned. Give the payout's reference (`payout`, e.g. the bank transfer's id, hashed here) or its
        SHA-256 (`payout_reference`)."""
        return self.build(key, RedeemFulfil.TYPE, {
            "redemption_id": redemption_id,
            "payout_reference": _digest(payout, payout_reference, "payout reference", required=True),
        }, nonce=nonce)

    @_builder()
    def redeem_reject(self, key: KeyPair, redemption_id: int, *, reason: bytes | str | None = None,
                      reason_hash: bytes | str | None = None, nonce: int | None = None) -> SignedTx:
        """Issuer only: refuse redemption `redemption_id`; the locked coins return to the holder. `reason`
        is hashed (or give its SHA-256 as `reason_hash`)."""
        return self.build(key, RedeemReject.TYPE, {
            "redemption_id": redemption_id, "reason_hash": _digest(reason, reason_hash, "reason", required=True),
        }, nonce=nonce)

    @_builder()
    def redeem_cancel(self, key: KeyPair, redemption_id: int, *, nonce: int | None = None) -> SignedTx:
        """Withdraw `key`'s own redemption request the issuer has not acted on; the coins come back."""
        return self.build(key, RedeemCancel.TYPE, {"redemption_id": redemption_id}, nonce=nonce)

    @_builder()
    def set_redemption_deadline(self, key: KeyPair, currency: str, deadline: int | timedelta, *,
                                nonce: int | None = None) -> SignedTx:
        """Issuer only: the time the issuer has to act on a redemption request of `currency` made from now
        on (milliseconds of block time, or a timedelta; at most 366 days; 5 days until set)."""
        if isinstance(deadline, timedelta):
            deadline = int(deadline.total_seconds() * 1000)
        return self.build(key, SetRedemptionDeadline.TYPE, {"currency": currency.upper(), "redemption_deadline_ms": deadline},
                          nonce=nonce)

    # the licence registry (ledger/licences.py) -----------------------------------------------------------

    @_builder()
    def grant_licence(self, key: KeyPair, currency: str, account: AddressLike, scope: str, jurisdiction: str, *,
                      expires: int | datetime | timedelta | None = None, nonce: int | None = None) -> SignedTx:
        """Issuer only: license `account` in `currency` for `scope` ("distribute": receive mints and redeem
        under distributors_only; "exchange": place offers in the currency once the issuer requires it), under
        the regime of `jurisdiction` (an ISO 3166-1 alpha-2 code or "EU": "US", "HK", ...). It no longer takes
        effect from `expires` on (ms since 1970, an aware datetime, or a timedelta from now; None: no expiry).
        It replaces any licence of that scope the account had."""
        if isinstance(expires, timedelta):
            expires = _time_ms(None) + int(expires.total_seconds() * 1000)
        return self.build(key, GrantLicence.TYPE, {
            "currency": currency.upper(), "account": address_bytes(account), "scope": scope.lower(),
            "jurisdiction": jurisdiction.upper(), "expires_at_ms": 0 if expires is None else _time_ms(expires),
        }, nonce=nonce)

    @_builder()
    def revoke_licence(self, key: KeyPair, currency: str, account: AddressLike, scope: str, *, reason: bytes | str | None = None,
                       reason_hash: bytes | str | None = None, nonce: int | None = None) -> SignedTx:
        """Issuer only: revoke `account`'s licence of `scope` in `currency`, at once; `reason` is hashed here
        (or give its SHA-256 as `reason_hash`) and the hash stays in the licence record."""
        return self.build(key, RevokeLicence.TYPE, {
            "currency": currency.upper(), "account": address_bytes(account), "scope": scope.lower(),
            "reason_hash": _digest(reason, reason_hash, "reason", required=True),
        }, nonce=nonce)

    @_builder()
    def set_licence_required(self, key: KeyPair, currency: str, scope: str, required: bool = True, *,
                             nonce: int | None = None) -> SignedTx:
        """Issuer only: require (`required`) licences of `scope` in `currency`, or stop requiring them. For
        "distribute" this is the currency's `distributors_only`; "exchange" is off until set."""
        return self.build(key, SetLicenceRequired.TYPE, {"currency": currency.upper(), "scope": scope.lower(),
                                                          "required": required}, nonce=nonce)

    # corridors (ledger/corridors.py) -----------------------------------------------------------------

    @_builder()
    def set_jurisdiction(self, key: KeyPair, currency: str, account: AddressLike, jurisdiction: str, *,
                         nonce: int | None = None) -> SignedTx:
        """Issuer only: record `account`'s jurisdiction for `currency`, an ISO 3166-1 alpha-2 code ("US", "HK",
        "SG", ...) or "EU" ("" clears it; no personal data). Corridor policies apply by it."""
        return self.build(key, SetJurisdiction.TYPE, {"currency": currency.upper(), "account": address_bytes(account),
                                                      "jurisdiction": jurisdiction.upper()}, nonce=nonce)

    @_builder()
    def set_corridor_policy(self, key: KeyPair, currency: str, from_jurisdiction: str, to_jurisdiction: str, *,
                            travel_rule_threshold: Amount | None = None, travel_rule_always: bool = False,
                            payment_max: Amount | None = None, window_max: Amount | None = None,
                            window: int | timedelta | None = None, nonce: int | None = None) -> SignedTx:
        """Issuer only: the policy of the corridor from `from_jurisdiction` to `to_jurisdiction` (codes, or "*"
        for any) in `currency`. A payment above `travel_rule_threshold` (on every payment with
        `travel_rule_always`) must carry a travel-rule hash; none may be above `payment_max`; one sender's
        payments through the corridor within `window` (milliseconds of block time, or a timedelta) add up to
        at most `window_max`. None leaves a control off; with every control off the policy is removed."""
        code = currency.upper()
        if isinstance(window, timedelta):
            window = int(window.total_seconds() * 1000)
        return self.build(key, SetCorridorPolicy.TYPE, {
            "currency": code, "from_jurisdiction": from_jurisdiction.upper(), "to_jurisdiction": to_jurisdiction.upper(),
            "travel_rule_threshold_minor": 0 if travel_rule_threshold is None else self.to_minor(travel_rule_threshold, code),
            "travel_rule_always": travel_rule_always,
            "payment_max_minor": 0 if payment_max is None else self.to_minor(payment_max, code),
            "window_max_minor": 0 if window_max is None else self.to_minor(window_max, code),
            "window_ms": 0 if window is None else window,
        }, nonce=nonce)

    # the FX market and swaps --------------------------------------------------------------------------

    @_builder()
    def offer_create(self, key: KeyPair, sell_amount: Amount, sell_currency: str, buy_currency: str, price: Price, *,
                     nonce: int | None = None) -> SignedTx:
        """Sell `sell_amount` of `sell_currency` for `buy_currency` at no less than `price` (major units of
        the buy currency per major unit sold): it takes crossing offers first, the rest rests in the book."""
        sell_code, buy_code = sell_currency.upper(), buy_currency.upper()
        num, den = self.to_price(price, sell_code, buy_code)
        return self.build(key, OfferCreate.TYPE, {"sell_currency": sell_code, "sell_amount_minor": self.to_minor(sell_amount, sell_code),
                                                  "buy_currency": buy_code, "price_num": num, "price_den": den}, nonce=nonce)

    @_builder()
    def offer_cancel(self, key: KeyPair, offer_id: int, *, nonce: int | None = None) -> SignedTx:
        """Withdraw one of `key`'s resting offers (its id from `Client.offers`); its funds come back."""
        return self.build(key, OfferCancel.TYPE, {"offer_id": offer_id}, nonce=nonce)

    @_builder(height=True)
    def swap(self, key: KeyPair, counterparty: PublicKeyLike, give_amount: Amount, give_currency: str,
             get_amount: Amount, get_currency: str, *, expiry_height: int | None = None, expires_in: int = 600,
             travel_rule: bytes | str | None = None, travel_rule_hash: bytes | str | None = None,
             nonce: int | None = None) -> Proposal:
        """A two-party swap, both legs or neither: `key` gives `give_amount` of `give_currency` to the
        `counterparty` (its public key), which gives `get_amount` of `get_currency` back, valid until
        `expiry_height` (default: the current height + `expires_in`). Returns the Proposal signed by `key`;
        the counterparty adds its signature with `proposal.sign(its_key)`, then anyone submits
        `proposal.transaction()`."""
        give_code, get_code = give_currency.upper(), get_currency.upper()
        return self.propose(key, Swap.TYPE, {
            "counterparty": public_key_bytes(counterparty),
            "give_currency": give_code, "give_amount_minor": self.to_minor(give_amount, give_code),
            "get_currency": get_code, "get_amount_minor": self.to_minor(get_amount, get_code),
            "expiry_height": expiry_height if expiry_height is not None else self._height_plus(expires_in, "expiry_height"),
            "travel_rule_hash": _digest(travel_rule, travel_rule_hash, "travel-rule payload", required=False),
        }, nonce=nonce)

    # governance ---------------------------------------------------------------------------------------

    @_builder(nonce="governance")
    def gov_register_currency(self, key: KeyPair, currency: str, decimals: int, issuer: AddressLike, auditor: AddressLike, *,
                              holders_need_authorization: bool = False,
                              reserve_max_age_ms: int = limits.RESERVE_MAX_AGE_MS_DEFAULT, nonce: int | None = None) -> Proposal:
        """Governance: register `currency` with `decimals`, its `issuer` and its reserve `auditor` (another
        account: only it attests reserves); with `holders_need_authorization` only accounts the issuer
        authorises may hold it; minting stops while the latest attestation is older than
        `reserve_max_age_ms` (default 35 days, 0: never). Returns the Proposal signed by `key` (a
        validator's node key); validators holding more than 2/3 of the power sign it."""
        return self.propose(key, GovRegisterCurrency.TYPE, {
            "currency": currency.upper(), "decimals": decimals, "issuer": address_bytes(issuer),
            "holders_need_authorization": holders_need_authorization, "auditor": address_bytes(auditor),
            "reserve_max_age_ms": reserve_max_age_ms,
        }, nonce=nonce)

    @_builder(nonce="governance")
    def gov_set_auditor(self, key: KeyPair, currency: str, auditor: AddressLike, *,
                        reserve_max_age_ms: int = limits.RESERVE_MAX_AGE_MS_DEFAULT, nonce: int | None = None) -> Proposal:
        """Governance: name `auditor` (never the issuer) as the only account that attests `currency`'s
        reserve, and set the maximum age of an attestation before minting stops (`reserve_max_age_ms`,
        default 35 days, 0: never; read the current one from `Client.currency(code)`). Returns the Proposal
        signed by `key`."""
        return self.propose(key, GovSetAuditor.TYPE, {"currency": currency.upper(), "auditor": address_bytes(auditor),
                                                      "reserve_max_age_ms": reserve_max_age_ms}, nonce=nonce)

    @_builder(nonce="governance")
    def gov_set_issuer(self, key: KeyPair, currency: str, issuer: AddressLike, *, nonce: int | None = None) -> Proposal:
        """Governance: hand `currency` to another `issuer` account. Returns the Proposal signed by `key`."""
        return self.propose(key, GovSetIssuer.TYPE, {"currency": currency.upper(), "issuer": address_bytes(issuer)}, nonce=nonce)

    @_builder(nonce="governance", height=True)
    def gov_set_validator(self, key: KeyPair, validator_key: PublicKeyLike, validator_name: str, power: int, *,
                          effective_height: int | None = None, in_blocks: int = 10, nonce: int | None = None) -> Proposal:
        """Governance: add a validator, change its `power`, or remove it (power 0), from `effective_height`
        (default: `in_blocks` blocks after the next block, as `corridor gov propose set-validator`).
        Returns the Proposal signed by `key`."""
        return self.propose(key, GovSetValidator.TYPE, {
            "validator_key": public_key_bytes(validator_key), "validator_name": validator_name, "power": power,
            "effective_height": effective_height if effective_height is not None else self._height_plus(1 + in_blocks, "effective_height"),
        }, nonce=nonce)

    @_builder(nonce="governance")
    def gov_set_sanctioned(self, key: KeyPair, account: AddressLike, listed: bool = True, *, reason: bytes | str | None = None,
                           reason_hash: bytes | str | None = None, authority: str | None = None,
                           order: bytes | str | None = None, order_hash: bytes | str | None = None,
                           order_expiry: int | datetime | None = None, nonce: int | None = None) -> Proposal:
        """Governance: put `account` on the consortium sanctions list (`listed`), or take it off. A listed
        account can neither send nor receive any currency, nor trade; listing cancels its resting offers,
        their funds returning to its (frozen) balance. `reason` (the listing reference) is hashed here, or
        give its SHA-256 as `reason_hash`. A listing executes a lawful order: `authority` ("OFAC"), the order
        document (`order`, hashed here, or `order_hash`) and its expiry (`order_expiry`; None: none stated);
        a delisting needs none. Returns the Proposal signed by `key`."""
        return self.propose(key, GovSetSanctioned.TYPE, {
            "account": address_bytes(account), "listed": listed,
            "reason_hash": _digest(reason, reason_hash, "reason", required=True),
            **_order_fields(authority, order, order_hash, order_expiry, "sanctions listing" if listed else None),
        }, nonce=nonce)


TX_BUILDERS: dict[str, tuple[str, bool]] = {
    name: getattr(member, "_corridor_builder")
    for name, member in vars(TxBuilder).items()
    if hasattr(member, "_corridor_builder")
}
"""Every per-type builder of TxBuilder by name (the transaction type's name), with its nonce kind
("account" or "governance") and whether it may need the current height."""

assert set(TX_BUILDERS) == set(TX_TYPES), sorted(set(TX_TYPES) ^ set(TX_BUILDERS))


def bind_builder(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    """`call(name, key, *args, **kwargs)` dressed as the builder `name` (its signature and docstring), for
    Client.txs and AsyncClient.txs."""
    builder = getattr(TxBuilder, name)

    @functools.wraps(builder)
    def method(self: Any, key: KeyPair, *args: Any, **kwargs: Any) -> Any:
        return call(self, name, key, *args, **kwargs)

    return method

