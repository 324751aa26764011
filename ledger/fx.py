"""The on-chain FX market: resting offers, the order book, and filling against it.

An offer sells `sell_currency` for `buy_currency` at an exact rational price: `price_num / price_den` minor
units of the buy currency per minor unit sold. Its unsold amount is locked in the offer, so for every
currency: supply = balances + amounts locked in offers.

Storage (docs/protocol.md, "FX"):
    o/<sell>/<buy>/<price key: 24 bytes>/<offer id: 8 bytes>  -> offer record
    q/<offer id: 8 bytes>                                      -> the offer's book key (find by id)
    i/<owner address: 20 bytes>/<offer id: 8 bytes>           -> true (an account's offers)
    g/next_offer_id                                            -> the next offer id
The price key is floor(price * 2**128) in big-endian bytes. For numerators and denominators below 2**63
two different prices are at least 2**-126 apart, so the key orders prices exactly, and LevelDB's key order
within one (sell, buy) prefix is the book's price-time order: cheapest first, then oldest (ids increase).

Filling: a taker buying `buy` from offers that sell it pays, for y units taken from an offer at price q,
ceil(y * q) units: rounding always favours the resting offer, so no fill creates value. A resting offer
whose owner may no longer send what it sells or receive what it asks (frozen, de-authorised, paused,
sanctioned), or no longer holds an exchange licence a currency of it requires (licences.py), is cancelled
when a walk reaches it, its funds returned to its owner, so the book is never left crossed by offers nobody
can take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from corridor.ledger import licences, limits
from corridor.ledger.policy import refusal_to_receive, refusal_to_send
from corridor.ledger.state import State

PRICE_SCALE = 2**128
PRICE_KEY_BYTES = 24
NEXT_OFFER_ID_KEY = b"g/next_offer_id"


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    owner: bytes
    sell_currency: str
    buy_currency: str
    remaining_minor: int
    price_num: int
    price_den: int

    def to_map(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def price_key(price_num: int, price_den: int) -> bytes:
    assert 0 < price_num < 2**63 and 0 < price_den < 2**63
    return (price_num * PRICE_SCALE // price_den).to_bytes(PRICE_KEY_BYTES, "big")


def book_prefix(sell_currency: str, buy_currency: str) -> bytes:
    return b"o/" + sell_currency.encode() + b"/" + buy_currency.encode() + b"/"


def _book_key(offer: Offer) -> bytes:
    return book_prefix(offer.sell_currency, offer.buy_currency) + price_key(offer.price_num, offer.price_den) + offer.id.to_bytes(8, "big")


def next_offer_id(state: State) -> int:
    value = state.get_record(NEXT_OFFER_ID_KEY)
    return 0 if value is None else value


def put_offer(state: State, offer: Offer) -> None:
    """Store a new or changed resting offer (its remaining amount must be positive)."""
    assert offer.remaining_minor > 0
    key = _book_key(offer)
    state.put_record(key, offer.to_map())
    state.put_record(b"q/" + offer.id.to_bytes(8, "big"), key)
    state.put_record(b"i/" + offer.owner + b"/" + offer.id.to_bytes(8, "big"), True)


def delete_offer(state: State, offer: Offer) -> None:
    state.put_record(_book_key(offer), None)
    state.put_record(b"q/" + offer.id.to_bytes(8, "big"), None)
    state.put_record(b"i/" + offer.owner + b"/" + offer.id.to_bytes(8, "big"), None)


def get_offer(state: State, offer_id: int) -> Offer | None:
    key = state.get_record(b"q/" + offer_id.to_bytes(8, "big"))
    if key is None:
        return None
    return Offer(**state.get_record(key))


def book(state: State, sell_currency: str, buy_currency: str) -> Iterator[Offer]:
    """Resting offers selling `sell_currency` for `buy_currency`, best (cheapest) first, then oldest."""
    for _, record in state.iterate(book_prefix(sell_currency, buy_currency)):
        yield Offer(**record)


def offers_of(state: State, owner: bytes) -> list[Offer]:
    prefix = b"i/" + owner + b"/"
    offers = []
    for key, _ in state.iterate(prefix):
        offer = get_offer(state, int.from_bytes(key[len(prefix) :], "big"))
        assert offer is not None
        offers.append(offer)
    return offers


def cost_of(amount_minor: int, price_num: int, price_den: int) -> int:
    """What a taker pays for `amount_minor` at a resting price: rounded up, in the resting party's favour."""
    return -(-amount_minor * price_num // price_den)


def remove_offer_and_refund(state: State, offer: Offer) -> dict:
    """Take an offer out of the book and return its locked funds to its owner."""
    delete_offer(state, offer)
    state.increase_balance(offer.owner, offer.sell_currency, offer.remaining_minor)
    return {"kind": "offer_removed", "offer_id": offer.id, "account": offer.owner, "currency": offer.sell_currency,
            "refunded_minor": offer.remaining_minor}


def _tradable(state: State, offer: Offer, time_ms: int | None = None) -> bool:
    """Whether the offer's owner may still send what it sells and receive what it asks, and holds the
    exchange licences its currencies require at block time `time_ms` (None: expiry not judged)."""
    sell = state.get_currency(offer.sell_currency)
    buy = state.get_currency(offer.buy_currency)
    assert sell is not None and buy is not None
    return (refusal_to_send(state, sell, offer.owner) is None and refusal_to_receive(state, buy, offer.owner) is None
            and licences.offer_refusal(state, sell, buy, offer.owner, time_ms) is None)


@dataclass
class Fill:
    """The result of walking the book: what was taken, what it cost, and what happened to whom."""

    taken_minor: int = 0
    paid_minor: int = 0
    events: list = None  # type: ignore[assignment]
    walked: int = 0  # resting offers touched

    def __post_init__(self) -> None:
        if self.events is None:
            self.events = []


def take(
    state: State,
    taker: bytes,
    want_currency: str,
    pay_currency: str,
    want_minor: int | None,
    pay_max_minor: int,
    limit_price: tuple[int, int] | None = None,
    offers_max: int = limits.BOOK_WALK_OFFERS_MAX,
    time_ms: int | None = None,
) -> Fill:
    """Buy `want_currency` from the offers selling it for `pay_currency`, best first.

    Takes until `want_minor` is bought (None: as much as `pay_max_minor` buys), never paying more than
    `pay_max_minor`, and, with `limit_price` (num, den) = the least `want` per `pay` the taker accepts,
    only while offers are at least that good. The taker's payment goes to each offer's owner; the bought
    amount is credited to nobody here: the caller credits it (to the taker, or a payment's recipient).
    The taker's balance is not touched either: the caller has locked or debited `pay_currency`.
    `time_ms` is the block time, at which a resting offer's owner's exchange licences are judged.
    """
    fill = Fill()
    # The walk reads the book lazily; it only ever rewrites the offer under its cursor, which the
    # iteration has already passed (State.iterate does not see writes made while it runs).
    for offer in book(state, want_currency, pay_currency):
        if want_minor is not None and fill.taken_minor == want_minor:
            return fill
        if fill.walked == offers_max:
            return fill
        fill.walked += 1
        if limit_price is not None and limit_price[0] * offer.price_num > limit_price[1] * offer.price_den:
            return fill  # this offer and all after it are worse than the taker's limit
        if offer.owner == taker or not _tradable(state, offer, time_ms):
            fill.events.append(remove_offer_and_refund(state, offer))
            continue
        budget_minor = pay_max_minor - fill.paid_minor
        affordable_minor = budget_minor * offer.price_den // offer.price_num
        amount_minor = min(offer.remaining_minor, affordable_minor)
        if want_minor is not None:
            amount_minor = min(amount_minor, want_minor - fill.taken_minor)
        if amount_minor == 0:
            return fill
        cost_minor = cost_of(amount_minor, offer.price_num, offer.price_den)
        if limit_price is not None and amount_minor * limit_price[1] < cost_minor * limit_price[0]:
            return fill  # rounding in the resting party's favour would take the taker past its limit
        assert cost_minor <= budget_minor
        state.increase_balance(offer.owner, pay_currency, cost_minor)
        if amount_minor == offer.remaining_minor:
            delete_offer(state, offer)
        else:
            put_offer(state, Offer(**{**offer.to_map(), "remaining_minor": offer.remaining_minor - amount_minor}))
        fill.taken_minor += amount_minor
        fill.paid_minor += cost_minor
        fill.events.append({"kind": "offer_filled", "offer_id": offer.id, "account": offer.owner, "sold_currency": want_currency,
                            "sold_minor": amount_minor, "received_currency": pay_currency, "received_minor": cost_minor})
    return fill


def crosses(state: State, sell_currency: str, buy_currency: str, price_num: int, price_den: int) -> bool:
    """Whether an offer selling `sell` at price p (buy per sell) would cross the best opposite offer q
    (sell per buy): p * q <= 1."""
    for offer in book(state, buy_currency, sell_currency):
        return price_num * offer.price_num <= price_den * offer.price_den
    return False
