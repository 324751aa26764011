"""Building blocks for the FX unit tests: genesis variants (a third currency, allow-list currencies), a `Desk`
that signs each named account's next transaction and applies it, and exact views of the state and the
order book for the "nothing changed" and "book never crossed" checks.

The third currency is GBP (2 decimals) with an issuer of its own; EUR stays unregistered, as in
unit_support, so it is the unknown currency everywhere.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from corridor.keys import KeyPair, format_address
from corridor.ledger import fx
from corridor.ledger.genesis import Genesis, parse_genesis
from corridor.ledger.rules import Outcome, apply_tx
from corridor.ledger.state import STATE_PREFIXES, State
from corridor.ledger.tx import (
    OfferCancel,
    OfferCreate,
    Pay,
    SetAuthorization,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SignedTx,
    Swap,
    sign_tx,
)

from unit_support import CHAIN_ID, KEYS, REPORT_HASH, context, genesis_document, genesis_reader, key_of, snapshot
from orders_support import with_order

THIRD = "GBP"
GBP_RESERVE_MINOR = 10_000_000
FX_KEYS: dict[str, KeyPair] = {**KEYS, "gbp_issuer": key_of("gbp_issuer")}
FX_ADDRESSES: dict[str, bytes] = {name: key.address for name, key in FX_KEYS.items()}
ISSUER_OF = {"USD": "usd_issuer", "JPY": "jpy_issuer", THIRD: "gbp_issuer"}
REASON = bytes([0xAB]) * 32
TRAVEL_HASH = bytes([0x5A]) * 32


def fx_genesis(*, third: bool = False, kyc: tuple[str, ...] = (), balances: tuple[tuple[str, str, int], ...] = ()) -> Genesis:
    """The unit genesis, optionally with GBP, with the `kyc` currencies made allow-list currencies, and
    `balances` (name, code, minor) added to the genesis balances."""
    document = genesis_document()
    if third:
        document["currencies"].append({
            "code": THIRD,
            "decimals": 2,
            "issuer": format_address(FX_ADDRESSES["gbp_issuer"]),
            "auditor": format_address(key_of("gbp_auditor").address),
            "reserve_minor": GBP_RESERVE_MINOR,
            "reserve_report_hash": REPORT_HASH.hex(),
        })
    for currency in document["currencies"]:
        if currency["code"] in kyc:
            currency["holders_need_authorization"] = True
    document["balances"] += [
        {"address": format_address(FX_ADDRESSES[name]), "currency": code, "amount_minor": amount}
        for name, code, amount in balances
    ]
    return parse_genesis(document)


def fx_state(**kwargs: Any) -> State:
    return State(genesis_reader(fx_genesis(**kwargs)))


def dump(state: State) -> dict[bytes, Any]:
    """Every state entry (overlay writes included), decoded: equal dumps mean equal states."""
    return {key: value for prefix in STATE_PREFIXES for key, value in state.iterate(prefix)}


class Unchanged:
    """`with Unchanged(state): ...` fails if the block changed anything in the state (a refusal writes nothing)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def __enter__(self) -> Unchanged:
        self.snapshot, self.dump = snapshot(self.state), dump(self.state)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert snapshot(self.state) == self.snapshot, "a refused transaction changed what users can read"
            assert dump(self.state) == self.dump, "a refused transaction changed the state"


class Desk:
    """Signs each named account's next transaction (its nonce read from the state) and applies it."""

    def __init__(self, state: State, height: int = 1) -> None:
        self.state = state
        self.height = height

    def address(self, name: str) -> bytes:
        return FX_ADDRESSES[name]

    def balance(self, name: str, code: str) -> int:
        return self.state.get_balance(FX_ADDRESSES[name], code)

    def sign(self, name: str, body_type: type, *, keys: list[KeyPair] | None = None, **fields: Any) -> SignedTx:
        nonce = self.state.get_nonce(FX_ADDRESSES[name])
        fields = with_order(body_type.TYPE, fields)  # a seizure carries the unit tests' lawful order (orders_support.py)
        return sign_tx(body_type(FX_KEYS[name].public_key, nonce, **fields), keys or [FX_KEYS[name]], CHAIN_ID)

    def apply(self, tx: SignedTx, height: int | None = None) -> Outcome:
        return apply_tx(self.state, tx, context(self.height if height is None else height))

    def run(self, name: str, body_type: type, **fields: Any) -> Outcome:
        return self.apply(self.sign(name, body_type, **fields))

    def ok(self, name: str, body_type: type, **fields: Any) -> Outcome:
        outcome = self.run(name, body_type, **fields)
        assert outcome.applied, outcome.refusal
        return outcome

    # FX
    def offer(self, name: str, sell: str, amount: int, buy: str, num: int, den: int) -> Outcome:
        return self.run(name, OfferCreate, sell_currency=sell, sell_amount_minor=amount, buy_currency=buy, price_num=num, price_den=den)

    def placed(self, name: str, sell: str, amount: int, buy: str, num: int, den: int) -> int:
        """Place an offer that must rest whole (crossing nothing); returns its id."""
        outcome = self.offer(name, sell, amount, buy, num, den)
        assert outcome.applied, outcome.refusal
        placed = [e for e in outcome.events if e["kind"] == "offer_placed"]
        assert len(placed) == 1 and placed[0]["remaining_minor"] == amount, outcome.events
        return placed[0]["offer_id"]

    def cancel(self, name: str, offer_id: int) -> Outcome:
        return self.run(name, OfferCancel, offer_id=offer_id)

    def pay(self, name: str, to: str, send: str, send_max: int, receive: str, amount: int, travel_rule_hash: bytes = b"") -> Outcome:
        return self.run(name, Pay, to=FX_ADDRESSES[to], send_currency=send, send_max_minor=send_max, receive_currency=receive,
                        receive_amount_minor=amount, memo="", travel_rule_hash=travel_rule_hash)

    def swap(self, name: str, counterparty: str, give: str, give_minor: int, get: str, get_minor: int, expiry_height: int = 10,
             travel_rule_hash: bytes = b"", keys: list[KeyPair] | None = None) -> SignedTx:
        """A swap signed by both parties (or by `keys`)."""
        return self.sign(name, Swap, keys=keys or [FX_KEYS[name], FX_KEYS[counterparty]], counterparty=FX_KEYS[counterparty].public_key,
                         give_currency=give, give_amount_minor=give_minor, get_currency=get, get_amount_minor=get_minor,
                         expiry_height=expiry_height, travel_rule_hash=travel_rule_hash)

    # issuer controls
    def freeze(self, code: str, name: str, enabled: bool = True) -> None:
        self.ok(ISSUER_OF[code], SetFrozen, currency=code, account=FX_ADDRESSES[name], enabled=enabled, reason_hash=REASON)

    def authorize(self, code: str, name: str, enabled: bool = True) -> None:
        self.ok(ISSUER_OF[code], SetAuthorization, currency=code, account=FX_ADDRESSES[name], enabled=enabled)

    def pause(self, code: str, enabled: bool = True) -> None:
        self.ok(ISSUER_OF[code], SetPaused, currency=code, enabled=enabled)

    def policy(self, code: str, transfer_max_minor: int = 0, travel_rule_threshold_minor: int = 0) -> None:
        self.ok(ISSUER_OF[code], SetPolicy, currency=code, transfer_max_minor=transfer_max_minor,
                travel_rule_threshold_minor=travel_rule_threshold_minor, distributors_only=False)


# The book -------------------------------------------------------------------------------------------------


def all_offers(state: State) -> list[fx.Offer]:
    """Every resting offer, in storage order."""
    return [fx.Offer(**record) for _, record in state.iterate(b"o/")]


def price(offer: fx.Offer) -> Fraction:
    return Fraction(offer.price_num, offer.price_den)


def locked(state: State, code: str) -> int:
    """The amount of `code` locked in resting offers."""
    return sum(offer.remaining_minor for offer in all_offers(state) if offer.sell_currency == code)


def book_problems(state: State, codes: tuple[str, ...]) -> list[str]:
    """Everything wrong with the book: crossed pairs, empty offers, broken indexes, wrong order."""
    problems = []
    offers = all_offers(state)
    for offer in offers:
        if offer.remaining_minor <= 0:
            problems.append(f"offer {offer.id} rests with {offer.remaining_minor}")
        if state.get_record(b"i/" + offer.owner + b"/" + offer.id.to_bytes(8, "big")) is not True:
            problems.append(f"offer {offer.id} has no owner index entry")
        if fx.get_offer(state, offer.id) != offer:
            problems.append(f"offer {offer.id} is not found by its id")
        if offer.id >= fx.next_offer_id(state):
            problems.append(f"offer {offer.id} is not below the next offer id")
    for key, _ in state.iterate(b"i/"):
        offer_id = int.from_bytes(key[-8:], "big")
        if fx.get_offer(state, offer_id) is None:
            problems.append(f"owner index names offer {offer_id}, which does not rest")
    for key, _ in state.iterate(b"q/"):
        if fx.get_offer(state, int.from_bytes(key[2:], "big")) is None:
            problems.append(f"id index {key!r} points nowhere")
    for sell in codes:
        for buy in codes:
            if sell == buy:
                continue
            side = list(fx.book(state, sell, buy))
            if [(price(o), o.id) for o in side] != sorted((price(o), o.id) for o in side):
                problems.append(f"book {sell}/{buy} is not in price-time order")
            opposite = list(fx.book(state, buy, sell))
            if side and opposite and price(side[0]) * price(opposite[0]) <= 1:
                problems.append(f"book {sell}/{buy} is crossed: {side[0]} against {opposite[0]}")
    return problems


def kinds(outcome: Outcome) -> list[str]:
    return [event["kind"] for event in outcome.events]


def events_of(outcome: Outcome, kind: str) -> list[dict[str, Any]]:
    return [event for event in outcome.events if event["kind"] == kind]

