"""The FX rules one by one: every swap, offer and payment rule accepted, every refusal with its code, and the
state exactly unchanged after each refusal (unit_support.snapshot and a dump of every state entry).

Genesis (unit_support): alice 5,000.00 USD and 1,000,000 JPY, bob 2,000.00 USD, carol 30,000 JPY, dave nothing.
Prices are minor units of the buy currency per minor unit sold: an offer selling JPY for USD at 2/3 asks
2 USD cents per 3 yen.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Callable, Iterator

import pytest

from corridor.ledger import fx, limits
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import MemoryReader, State
from corridor.ledger.tx import OfferCancel, OfferCreate, Pay, SignedTx, TxError, assemble_tx, decode_tx, signatures_valid, signing_bytes

from fx_support import (
    FX_KEYS,
    THIRD,
    TRAVEL_HASH,
    Desk,
    Unchanged,
    all_offers,
    book_problems,
    events_of,
    fx_genesis,
    fx_state,
    kinds,
    locked,
)
from unit_support import ADDRESSES, CHAIN_ID, OTHER_CHAIN_ID, genesis_reader

CODES = ("USD", "JPY")


def conserved(state: State, codes: tuple[str, ...] = CODES) -> bool:
    """supply == every balance + the amounts locked in offers, for every currency."""
    held = {code: 0 for code in codes}
    for key, value in state.iterate(b"b/"):
        held[key[23:].decode()] += value
    return all(state.get_currency(code).supply_minor == held[code] + locked(state, code) for code in codes)


def refused_unchanged(desk: Desk, make: Callable[[], SignedTx], refusal: Refusal, height: int | None = None) -> None:
    """Apply the transaction `make()` builds and require `refusal` with no write at all."""
    tx = make()
    with Unchanged(desk.state):
        outcome = desk.apply(tx, height)
        assert outcome.refusal == refusal, outcome
        assert outcome.events == ()


# swaps ----------------------------------------------------------------------------------------------------

# The base swap: alice gives 10.00 USD to carol, carol gives 1,500 JPY back.
GIVE, GIVE_MINOR, GET, GET_MINOR = "USD", 1_000, "JPY", 1_500


def base_swap(desk: Desk, **overrides: object) -> SignedTx:
    fields = {"give": GIVE, "give_minor": GIVE_MINOR, "get": GET, "get_minor": GET_MINOR, **overrides}
    return desk.swap("alice", fields.pop("counterparty", "carol"), **fields)


def test_swap_moves_both_legs_at_the_expiry_height_and_uses_the_signers_nonce_only() -> None:
    desk = Desk(fx_state())
    outcome = desk.apply(base_swap(desk, expiry_height=5), height=5)
    assert outcome.applied, outcome.refusal
    assert outcome.events == (
        {"kind": "transfer", "currency": "USD", "from": ADDRESSES["alice"], "to": ADDRESSES["carol"], "amount_minor": 1_000},
        {"kind": "transfer", "currency": "JPY", "from": ADDRESSES["carol"], "to": ADDRESSES["alice"], "amount_minor": 1_500},
    )
    assert (desk.balance("alice", "USD"), desk.balance("alice", "JPY")) == (499_000, 1_001_500)
    assert (desk.balance("carol", "USD"), desk.balance("carol", "JPY")) == (1_000, 28_500)
    assert desk.state.get_nonce(ADDRESSES["alice"]) == 1
    assert desk.state.get_nonce(ADDRESSES["carol"]) == 0, "the counterparty co-signs; its nonce is not used"
    assert conserved(desk.state)


def test_swap_after_its_expiry_height_is_refused() -> None:
    desk = Desk(fx_state())
    tx = base_swap(desk, expiry_height=5)
    refused_unchanged(desk, lambda: tx, Refusal.SWAP_EXPIRED, height=6)
    refused_unchanged(desk, lambda: tx, Refusal.SWAP_EXPIRED, height=1_000)
    assert desk.apply(tx, height=4).applied


SWAP_FIELD_REFUSALS = {
    "same currency": ({"get": "USD"}, Refusal.SAME_CURRENCY),
    "unknown give currency": ({"give": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "unknown get currency": ({"get": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "self swap": ({"counterparty": "alice"}, Refusal.SELF_TRANSFER),
    "signer lacks the give leg": ({"give_minor": 500_001}, Refusal.INSUFFICIENT_FUNDS),
    "counterparty lacks the get leg": ({"get_minor": 30_001}, Refusal.COUNTERPARTY_INSUFFICIENT_FUNDS),
    "both lack their legs: the signer's is reported": ({"give_minor": 500_001, "get_minor": 30_001}, Refusal.INSUFFICIENT_FUNDS),
}


@pytest.mark.parametrize("case", SWAP_FIELD_REFUSALS, ids=list(SWAP_FIELD_REFUSALS))
def test_swap_refusals_of_its_own_fields_move_nothing(case: str) -> None:
    overrides, refusal = SWAP_FIELD_REFUSALS[case]
    desk = Desk(fx_state())
    refused_unchanged(desk, lambda: base_swap(desk, **overrides), refusal)


# (who, currency) frozen or de-authorised -> the refusal. alice signs and gives USD; carol gives JPY.
SWAP_SIDES = {
    "signer sends the give leg": ("alice", "USD", "SENDER"),
    "counterparty receives the give leg": ("carol", "USD", "RECIPIENT"),
    "counterparty sends the get leg": ("carol", "JPY", "SENDER"),
    "signer receives the get leg": ("alice", "JPY", "RECIPIENT"),
}


@pytest.mark.parametrize("side", SWAP_SIDES, ids=list(SWAP_SIDES))
def test_swap_refused_when_one_side_is_frozen(side: str) -> None:
    who, code, role = SWAP_SIDES[side]
    desk = Desk(fx_state())
    desk.freeze(code, who)
    refused_unchanged(desk, lambda: base_swap(desk), Refusal[f"{role}_FROZEN"])
    desk.freeze(code, who, enabled=False)
    assert desk.apply(base_swap(desk)).applied


@pytest.mark.parametrize("side", SWAP_SIDES, ids=list(SWAP_SIDES))
def test_swap_refused_when_one_side_is_not_authorised(side: str) -> None:
    who, code, role = SWAP_SIDES[side]
    desk = Desk(fx_state(kyc=("USD", "JPY")))
    for party in ("alice", "carol"):
        for currency in ("USD", "JPY"):
            if (party, currency) != (who, code):
                desk.authorize(currency, party)
    refused_unchanged(desk, lambda: base_swap(desk), Refusal[f"{role}_NOT_AUTHORIZED"])
    desk.authorize(code, who)
    assert desk.apply(base_swap(desk)).applied


@pytest.mark.parametrize("side", SWAP_SIDES, ids=list(SWAP_SIDES))
def test_swap_refused_while_the_currency_of_one_side_is_paused(side: str) -> None:
    _, code, _ = SWAP_SIDES[side]  # a pause stops the currency for everybody: both sides of its leg
    desk = Desk(fx_state())
    desk.pause(code)
    refused_unchanged(desk, lambda: base_swap(desk), Refusal.CURRENCY_PAUSED)
    desk.pause(code, enabled=False)
    assert desk.apply(base_swap(desk)).applied


@pytest.mark.parametrize("code, amount", [("USD", GIVE_MINOR), ("JPY", GET_MINOR)], ids=["give leg", "get leg"])
def test_swap_travel_rule_applies_to_each_leg(code: str, amount: int) -> None:
    desk = Desk(fx_state())
    desk.policy(code, travel_rule_threshold_minor=amount - 1)
    refused_unchanged(desk, lambda: base_swap(desk), Refusal.TRAVEL_RULE_REQUIRED)
    assert desk.apply(base_swap(desk, travel_rule_hash=TRAVEL_HASH)).applied
    desk.policy(code, travel_rule_threshold_minor=amount)  # at the threshold itself no hash is needed
    assert desk.apply(base_swap(desk)).applied


@pytest.mark.parametrize("code, amount", [("USD", GIVE_MINOR), ("JPY", GET_MINOR)], ids=["give leg", "get leg"])
def test_swap_transfer_cap_applies_to_each_leg(code: str, amount: int) -> None:
    desk = Desk(fx_state())
    desk.policy(code, transfer_max_minor=amount - 1)
    refused_unchanged(desk, lambda: base_swap(desk, travel_rule_hash=TRAVEL_HASH), Refusal.EXCEEDS_TRANSFER_LIMIT)
    desk.policy(code, transfer_max_minor=amount)
    assert desk.apply(base_swap(desk)).applied


def test_swap_without_the_co_signature_is_refused_at_decode() -> None:
    desk = Desk(fx_state())
    body = base_swap(desk).body
    alone = assemble_tx(body, [FX_KEYS["alice"].sign(signing_bytes(CHAIN_ID, body))])
    with pytest.raises(TxError) as caught:
        decode_tx(alone.raw)
    assert caught.value.refusal == Refusal.BAD_SIGNATURE
    signed_twice = base_swap(desk, keys=[FX_KEYS["alice"], FX_KEYS["carol"], FX_KEYS["carol"]])
    with pytest.raises(TxError) as caught:
        decode_tx(signed_twice.raw)
    assert caught.value.refusal == Refusal.BAD_SIGNATURE
    good = base_swap(desk)
    assert decode_tx(good.raw) == good and signatures_valid(good, CHAIN_ID)


def test_swap_signed_by_the_wrong_counterparty_key_fails_signature_checks() -> None:
    desk = Desk(fx_state())
    wrong_key = base_swap(desk, keys=[FX_KEYS["alice"], FX_KEYS["bob"]])  # carol is the counterparty
    assert decode_tx(wrong_key.raw).signatures == wrong_key.signatures, "two signatures decode fine"
    assert not signatures_valid(decode_tx(wrong_key.raw), CHAIN_ID)
    swapped_order = base_swap(desk, keys=[FX_KEYS["carol"], FX_KEYS["alice"]])
    assert not signatures_valid(swapped_order, CHAIN_ID)
    body = base_swap(desk).body
    other_chain = assemble_tx(body, [FX_KEYS["alice"].sign(signing_bytes(CHAIN_ID, body)),
                                     FX_KEYS["carol"].sign(signing_bytes(OTHER_CHAIN_ID, body))])
    assert not signatures_valid(other_chain, CHAIN_ID)
    assert signatures_valid(base_swap(desk), CHAIN_ID)


# offers: refusals ------------------------------------------------------------------------------------------


def _freeze(code: str, who: str) -> Callable[[Desk], None]:
    return lambda desk: desk.freeze(code, who)


def _pause(code: str) -> Callable[[Desk], None]:
    return lambda desk: desk.pause(code)


# alice offers 1,000 JPY for USD at 2/3 (against bob's resting USD offer, which it does not cross)
OFFER_REFUSALS = {
    "same currency": (None, {"buy": "JPY"}, Refusal.SAME_CURRENCY),
    "unknown sell currency": (None, {"sell": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "unknown buy currency": (None, {"buy": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "seller frozen in what it sells": (_freeze("JPY", "alice"), {}, Refusal.SENDER_FROZEN),
    "seller frozen in what it buys": (_freeze("USD", "alice"), {}, Refusal.RECIPIENT_FROZEN),
    "sell currency paused": (_pause("JPY"), {}, Refusal.CURRENCY_PAUSED),
    "buy currency paused": (_pause("USD"), {}, Refusal.CURRENCY_PAUSED),
    "more than the balance": (None, {"amount": 1_000_001}, Refusal.INSUFFICIENT_FUNDS),
}


@pytest.mark.parametrize("case", OFFER_REFUSALS, ids=list(OFFER_REFUSALS))
def test_offer_create_refusals_move_nothing(case: str) -> None:
    setup, overrides, refusal = OFFER_REFUSALS[case]
    desk = Desk(fx_state())
    desk.placed("bob", "USD", 1_000, "JPY", 2, 1)  # something in the opposite book
    if setup:
        setup(desk)
    fields = {"sell": "JPY", "amount": 1_000, "buy": "USD", "num": 2, "den": 3, **overrides}
    refused_unchanged(desk, lambda: desk.sign("alice", OfferCreate, sell_currency=fields["sell"], sell_amount_minor=fields["amount"],
                                              buy_currency=fields["buy"], price_num=fields["num"], price_den=fields["den"]), refusal)


@pytest.mark.parametrize("code, role", [("JPY", "SENDER"), ("USD", "RECIPIENT")], ids=["sells JPY", "buys USD"])
def test_offer_create_refused_for_a_seller_not_on_the_allow_list(code: str, role: str) -> None:
    desk = Desk(fx_state(kyc=(code,)))
    refused_unchanged(desk, lambda: desk.sign("alice", OfferCreate, sell_currency="JPY", sell_amount_minor=1_000,
                                              buy_currency="USD", price_num=2, price_den=3), Refusal[f"{role}_NOT_AUTHORIZED"])
    desk.authorize(code, "alice")
    assert desk.offer("alice", "JPY", 1_000, "USD", 2, 3).applied


# offers: the book ----------------------------------------------------------------------------------------

def test_an_offer_that_crosses_nothing_rests_whole_with_its_funds_locked() -> None:
    desk = Desk(fx_state())
    before = desk.balance("carol", "JPY")
    outcome = desk.offer("carol", "JPY", 1_000, "USD", 2, 3)
    assert outcome.events == (
        {"kind": "offer_taken", "account": ADDRESSES["carol"], "paid_currency": "JPY", "paid_minor": 0, "bought_currency": "USD",
         "bought_minor": 0},
        {"kind": "offer_placed", "offer_id": 0, "account": ADDRESSES["carol"], "sell_currency": "JPY", "remaining_minor": 1_000,
         "buy_currency": "USD", "price_num": 2, "price_den": 3},
    )
    assert desk.balance("carol", "JPY") == before - 1_000
    assert fx.offers_of(desk.state, ADDRESSES["carol"]) == [fx.Offer(0, ADDRESSES["carol"], "JPY", "USD", 1_000, 2, 3)]
    assert fx.next_offer_id(desk.state) == 1 and desk.state.get_nonce(ADDRESSES["carol"]) == 1
    assert desk.placed("bob", "USD", 100, "JPY", 3, 1) == 1  # asks 3 yen per cent; carol's 1.5 yen per cent does not cross
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


NEAR_ONE = 2**62
EQUAL_AND_NEAR_EQUAL_PRICES = [
    (2, 3), (4, 6), (200, 300),  # one price written three ways
    (1, 1), (3, 3),
    (NEAR_ONE, NEAR_ONE + 1), (NEAR_ONE + 1, NEAR_ONE + 2), (2**63 - 2, 2**63 - 1),  # just below 1, 2**-62 apart
    (2**63 - 1, 2**63 - 2),  # just above 1
    (10**18, 3 * 10**18 + 1), (1, 3), (10**18 + 1, 3 * 10**18),  # around 1/3
    (7, 10), (699_999_999, 10**9), (700_000_001, 10**9),
]


def reference_fills(offers: list[fx.Offer], budget_minor: int) -> list[tuple[int, int, int]]:
    """What a taker with `budget_minor` and a generous limit buys, offer by offer: (id, amount, cost)."""
    fills = []
    for offer in sorted(offers, key=lambda o: (Fraction(o.price_num, o.price_den), o.id)):
        amount = min(offer.remaining_minor, budget_minor * offer.price_den // offer.price_num)
        if amount == 0:
            break
        cost = math.ceil(Fraction(amount * offer.price_num, offer.price_den))
        fills.append((offer.id, amount, cost))
        budget_minor -= cost
    return fills


def test_offers_rest_and_fill_in_price_time_order_with_equal_and_near_equal_prices() -> None:
    desk = Desk(fx_state())
    rng = random.Random(7)
    entries = [(num, den, owner) for num, den in EQUAL_AND_NEAR_EQUAL_PRICES for owner in ("alice", "carol")]
    rng.shuffle(entries)
    for index, (num, den, owner) in enumerate(entries):
        desk.placed(owner, "JPY", 100 + index, "USD", num, den)
    resting = list(fx.book(desk.state, "JPY", "USD"))
    assert len(resting) == len(entries)
    assert [(Fraction(o.price_num, o.price_den), o.id) for o in resting] == sorted(
        (Fraction(o.price_num, o.price_den), o.id) for o in resting), "cheapest first, then oldest"
    for a, b in zip(resting, resting[1:]):  # equal prices in other terms keep time order; different never tie
        assert fx.price_key(a.price_num, a.price_den) <= fx.price_key(b.price_num, b.price_den)
        if Fraction(a.price_num, a.price_den) != Fraction(b.price_num, b.price_den):
            assert fx.price_key(a.price_num, a.price_den) < fx.price_key(b.price_num, b.price_den)

    budget = 2_345
    expected = reference_fills(resting, budget)
    outcome = desk.offer("bob", "USD", budget, "JPY", 1, 2)  # at least half a yen per cent: crosses them all
    assert outcome.applied
    fills = [(e["offer_id"], e["sold_minor"], e["received_minor"]) for e in events_of(outcome, "offer_filled")]
    assert fills == expected
    assert [e["offer_id"] for e in events_of(outcome, "offer_filled")] == [o.id for o in resting[: len(fills)]]
    paid = sum(cost for _, _, cost in fills)
    taken = sum(amount for _, amount, _ in fills)
    assert events_of(outcome, "offer_taken")[0] | {"account": None} == {
        "kind": "offer_taken", "account": None, "paid_currency": "USD", "paid_minor": paid, "bought_currency": "JPY", "bought_minor": taken}
    assert desk.balance("bob", "JPY") == taken
    assert desk.balance("bob", "USD") + locked(desk.state, "USD") == 200_000 - paid
    assert not book_problems(desk.state, CODES)
    assert conserved(desk.state)


def test_a_partial_fill_keeps_the_offer_its_id_and_its_place() -> None:
    desk = Desk(fx_state())
    first = desk.placed("alice", "JPY", 1_000, "USD", 2, 3)
    second = desk.placed("carol", "JPY", 1_000, "USD", 4, 6)  # the same price, later
    outcome = desk.offer("bob", "USD", 200, "JPY", 1, 1)
    assert [(e["offer_id"], e["sold_minor"], e["received_minor"]) for e in events_of(outcome, "offer_filled")] == [(first, 300, 200)]
    assert [(o.id, o.remaining_minor) for o in fx.book(desk.state, "JPY", "USD")] == [(first, 700), (second, 1_000)]
    outcome = desk.offer("bob", "USD", 600, "JPY", 1, 1)
    # 700 yen cost ceil(700 * 2/3) = 467 cents; the 133 cents left buy floor(133 * 3/2) = 199 yen for ceil(132.67) = 133
    assert [(e["offer_id"], e["sold_minor"], e["received_minor"]) for e in events_of(outcome, "offer_filled")] == [
        (first, 700, 467), (second, 199, 133)]
    assert [(o.id, o.remaining_minor) for o in fx.book(desk.state, "JPY", "USD")] == [(second, 801)]
    assert fx.get_offer(desk.state, first) is None
    assert [o.id for o in fx.offers_of(desk.state, ADDRESSES["alice"])] == []
    assert desk.balance("alice", "USD") == 500_000 + 200 + 467
    assert desk.balance("carol", "USD") == 133
    assert desk.balance("bob", "JPY") == 300 + 700 + 199
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


# rounding -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, num, den, cost", [
    (7, 2, 3, 5), (6, 2, 3, 4), (1, 2, 3, 1), (0, 2, 3, 0), (1, 1, 10**6, 1), (10**6, 1, 10**6, 1), (10**6 + 1, 1, 10**6, 2),
    (3, 1, 3, 1), (4, 1, 3, 2), (150, 2, 3, 100), (151, 2, 3, 101),
    (2**63 - 1, 2**63 - 1, 2**63 - 2, 2**63 + 1), (2**62, NEAR_ONE, NEAR_ONE + 1, 2**62),
])
def test_cost_of_rounds_up_in_the_resting_partys_favour(amount: int, num: int, den: int, cost: int) -> None:
    assert fx.cost_of(amount, num, den) == cost == math.ceil(Fraction(amount * num, den))


def test_a_fill_at_a_fractional_price_charges_the_rounded_up_cost_within_the_takers_budget() -> None:
    desk = Desk(fx_state())
    desk.placed("alice", "JPY", 1_000, "USD", 3, 2)  # 1.5 cents per yen
    # bob has 4 cents to spend, wants at least half a yen per cent: 2 yen cost ceil(3.0) = 3, the last cent
    # buys no whole yen (1 yen costs ceil(1.5) = 2) and is returned, since resting it would cross the book
    outcome = desk.offer("bob", "USD", 4, "JPY", 1, 2)
    assert kinds(outcome) == ["offer_taken", "offer_filled", "offer_unplaced"]
    assert events_of(outcome, "offer_taken")[0]["paid_minor"] == 3
    assert events_of(outcome, "offer_taken")[0]["bought_minor"] == 2
    assert events_of(outcome, "offer_unplaced")[0]["refunded_minor"] == 1
    assert desk.balance("bob", "USD") == 200_000 - 3
    assert desk.balance("bob", "JPY") == 2
    assert desk.balance("alice", "USD") == 500_000 + 3
    assert list(fx.book(desk.state, "USD", "JPY")) == []
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_a_fill_whose_rounding_would_beat_the_takers_limit_is_not_made_and_the_remainder_returns() -> None:
    desk = Desk(fx_state())
    dust = desk.placed("alice", "JPY", 1, "USD", 2, 3)  # one yen at 2/3 cent: it costs a whole cent
    desk.placed("carol", "JPY", 1_000, "USD", 2, 3)
    # bob wants at least 1.4 yen per cent: the price (1.5 yen per cent) crosses, but one yen for one cent does not
    outcome = desk.offer("bob", "USD", 100, "JPY", 7, 5)
    assert outcome.applied
    assert kinds(outcome) == ["offer_taken", "offer_unplaced"]
    assert events_of(outcome, "offer_taken")[0]["paid_minor"] == 0
    assert events_of(outcome, "offer_unplaced")[0]["refunded_minor"] == 100
    assert [o.id for o in fx.book(desk.state, "JPY", "USD")][0] == dust
    assert list(fx.book(desk.state, "USD", "JPY")) == [], "an offer that would rest crossed returns its remainder"
    assert desk.balance("bob", "USD") == 200_000 and desk.balance("bob", "JPY") == 0
    assert desk.state.get_nonce(ADDRESSES["bob"]) == 1
    assert not book_problems(desk.state, CODES)


RESTING_PRICES = [(1, 1), (2, 3), (3, 2), (1, 7), (7, 3), (5, 11)]
TAKER_LIMITS = [(1, 1), (1, 2), (3, 2), (2, 5), (7, 5), (1, 3), (11, 5)]


def test_takers_never_pay_more_than_their_limit_and_makers_never_sell_below_their_price() -> None:
    reader = genesis_reader(fx_genesis())
    for q_num, q_den in RESTING_PRICES:
        for resting_minor in (1, 2, 5, 13):
            for p_num, p_den in TAKER_LIMITS:
                for sell_minor in (1, 2, 3, 10, 31):
                    desk = Desk(State(reader))
                    desk.placed("alice", "JPY", resting_minor, "USD", q_num, q_den)
                    outcome = desk.offer("bob", "USD", sell_minor, "JPY", p_num, p_den)
                    assert outcome.applied
                    taken = events_of(outcome, "offer_taken")[0]
                    paid, bought = taken["paid_minor"], taken["bought_minor"]
                    case = (q_num, q_den, resting_minor, p_num, p_den, sell_minor, outcome.events)
                    assert paid <= sell_minor, case
                    assert bought * p_den >= paid * p_num, case  # the taker's limit
                    assert paid * q_den >= bought * q_num, case  # the maker's price
                    assert paid == math.ceil(Fraction(bought * q_num, q_den)), case  # one fill, rounded up once
                    assert desk.balance("bob", "JPY") == bought and desk.balance("alice", "USD") == 500_000 + paid
                    crossed = Fraction(p_num, p_den) * Fraction(q_num, q_den) <= 1
                    if not crossed:
                        assert paid == 0 and "offer_placed" in kinds(outcome), case
                    rested = events_of(outcome, "offer_placed")
                    if rested:
                        assert rested[0]["remaining_minor"] == sell_minor - paid
                    assert conserved(desk.state) and not book_problems(desk.state, CODES), case


# the walk limit -------------------------------------------------------------------------------------------

WALK = limits.BOOK_WALK_OFFERS_MAX


def test_an_offer_touches_at_most_the_walk_limit_and_returns_what_it_could_not_fill() -> None:
    desk = Desk(fx_state())
    ids = [desk.placed("carol", "JPY", 10, "USD", 1, 1) for _ in range(WALK + 5)]
    outcome = desk.offer("bob", "USD", 10 * (WALK + 5), "JPY", 1, 1)
    assert outcome.applied
    assert [e["offer_id"] for e in events_of(outcome, "offer_filled")] == ids[:WALK]
    assert events_of(outcome, "offer_unplaced")[0]["refunded_minor"] == 50, "the rest would cross: it is returned"
    assert [o.id for o in fx.book(desk.state, "JPY", "USD")] == ids[WALK:]
    assert desk.balance("bob", "JPY") == 10 * WALK and desk.balance("bob", "USD") == 200_000 - 10 * WALK
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_removed_untradable_offers_count_towards_the_walk_limit() -> None:
    desk = Desk(fx_state(balances=(("dave", "JPY", 1_000),)))
    removed = [desk.placed("dave", "JPY", 10, "USD", 1, 2) for _ in range(3)]  # the best prices
    filled = [desk.placed("carol", "JPY", 10, "USD", 1, 1) for _ in range(WALK)]
    desk.freeze("JPY", "dave")
    outcome = desk.offer("bob", "USD", 10 * WALK, "JPY", 1, 1)
    assert [e["offer_id"] for e in events_of(outcome, "offer_removed")] == removed
    assert [e["offer_id"] for e in events_of(outcome, "offer_filled")] == filled[: WALK - 3]
    assert [o.id for o in fx.book(desk.state, "JPY", "USD")] == filled[WALK - 3:]
    assert desk.balance("dave", "JPY") == 1_000, "the frozen owner's offers were refunded"
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_a_payment_touches_at_most_the_walk_limit() -> None:
    desk = Desk(fx_state())
    for _ in range(WALK + 1):
        desk.placed("carol", "JPY", 10, "USD", 1, 1)
    refused_unchanged(desk, lambda: desk.sign("bob", Pay, to=ADDRESSES["dave"], send_currency="USD", send_max_minor=10**6,
                                              receive_currency="JPY", receive_amount_minor=10 * (WALK + 1)), Refusal.BOOK_TOO_THIN)
    outcome = desk.pay("bob", "dave", "USD", 10**6, "JPY", 10 * WALK)
    assert outcome.applied
    assert len(events_of(outcome, "offer_filled")) == WALK
    assert desk.balance("dave", "JPY") == 10 * WALK
    assert conserved(desk.state)


# self-trade, untradable owners, cancel ---------------------------------------------------------------------


def test_self_trade_removes_the_takers_own_resting_offer_and_refunds_it() -> None:
    desk = Desk(fx_state())
    own = desk.placed("alice", "JPY", 1_000, "USD", 2, 3)
    other = desk.placed("carol", "JPY", 1_000, "USD", 3, 4)
    outcome = desk.offer("alice", "USD", 1_000, "JPY", 1, 1)
    assert kinds(outcome) == ["offer_taken", "offer_removed", "offer_filled", "offer_placed"]
    assert events_of(outcome, "offer_removed")[0] == {"kind": "offer_removed", "offer_id": own, "account": ADDRESSES["alice"],
                                                      "currency": "JPY", "refunded_minor": 1_000}
    assert events_of(outcome, "offer_filled")[0] | {"account": None} == {
        "kind": "offer_filled", "offer_id": other, "account": None, "sold_currency": "JPY", "sold_minor": 1_000,
        "received_currency": "USD", "received_minor": 750}
    assert events_of(outcome, "offer_placed")[0]["remaining_minor"] == 250
    assert desk.balance("alice", "JPY") == 1_000_000 + 1_000
    assert desk.balance("alice", "USD") == 500_000 - 1_000
    assert desk.balance("carol", "USD") == 750
    assert [o.owner for o in all_offers(desk.state)] == [ADDRESSES["alice"]]
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_a_payment_removes_the_senders_own_offer_in_its_route() -> None:
    desk = Desk(fx_state())
    own = desk.placed("alice", "JPY", 500, "USD", 1, 2)
    other = desk.placed("carol", "JPY", 1_000, "USD", 1, 1)
    outcome = desk.pay("alice", "dave", "USD", 10_000, "JPY", 800)
    assert kinds(outcome) == ["offer_removed", "offer_filled", "payment"]
    assert events_of(outcome, "offer_removed")[0]["offer_id"] == own
    assert events_of(outcome, "offer_filled")[0]["offer_id"] == other
    assert desk.balance("alice", "JPY") == 1_000_000 and desk.balance("alice", "USD") == 500_000 - 800
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


@pytest.mark.parametrize("code", ["JPY", "USD"], ids=["owner frozen in what it sells", "owner frozen in what it buys"])
def test_a_frozen_owners_offer_is_removed_and_refunded_when_a_walk_reaches_it(code: str) -> None:
    desk = Desk(fx_state())
    frozen = desk.placed("carol", "JPY", 1_000, "USD", 1, 2)
    good = desk.placed("alice", "JPY", 1_000, "USD", 2, 3)
    desk.freeze(code, "carol")
    assert [o.id for o in fx.book(desk.state, "JPY", "USD")] == [frozen, good], "freezing alone does not touch the book"
    outcome = desk.offer("bob", "USD", 300, "JPY", 1, 1)
    assert kinds(outcome) == ["offer_taken", "offer_removed", "offer_filled"]
    assert events_of(outcome, "offer_removed")[0] == {"kind": "offer_removed", "offer_id": frozen, "account": ADDRESSES["carol"],
                                                      "currency": "JPY", "refunded_minor": 1_000}
    assert events_of(outcome, "offer_filled")[0]["offer_id"] == good
    assert desk.balance("carol", "JPY") == 30_000 and desk.balance("carol", "USD") == 0
    assert desk.balance("bob", "JPY") == 450
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_a_de_authorised_owners_offer_is_removed_when_reached_and_one_beyond_the_limit_stays() -> None:
    desk = Desk(fx_state(kyc=("JPY",)))
    for name in ("alice", "carol", "bob"):
        desk.authorize("JPY", name)
    removed = desk.placed("carol", "JPY", 1_000, "USD", 1, 2)
    good = desk.placed("alice", "JPY", 1_000, "USD", 2, 3)
    beyond = desk.placed("carol", "JPY", 1_000, "USD", 1, 1)
    desk.authorize("JPY", "carol", enabled=False)
    outcome = desk.offer("bob", "USD", 10_000, "JPY", 6, 5)  # takes up to 5/6 cent per yen: not carol's 1/1
    assert [e["offer_id"] for e in events_of(outcome, "offer_removed")] == [removed]
    assert [e["offer_id"] for e in events_of(outcome, "offer_filled")] == [good]
    assert [o.id for o in fx.book(desk.state, "JPY", "USD")] == [beyond], "not reached, so not removed"
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


def test_cancel_returns_the_funds_to_the_owner_only() -> None:
    desk = Desk(fx_state())
    offer_id = desk.placed("carol", "JPY", 1_000, "USD", 2, 3)
    refused_unchanged(desk, lambda: desk.sign("alice", OfferCancel, offer_id=offer_id), Refusal.NOT_OFFER_OWNER)
    refused_unchanged(desk, lambda: desk.sign("carol", OfferCancel, offer_id=offer_id + 1), Refusal.UNKNOWN_OFFER)
    refused_unchanged(desk, lambda: desk.sign("carol", OfferCancel, offer_id=2**63 - 1), Refusal.UNKNOWN_OFFER)
    outcome = desk.cancel("carol", offer_id)
    assert outcome.events == ({"kind": "offer_removed", "offer_id": offer_id, "account": ADDRESSES["carol"], "currency": "JPY",
                               "refunded_minor": 1_000},)
    assert desk.balance("carol", "JPY") == 30_000
    assert all_offers(desk.state) == [] and fx.offers_of(desk.state, ADDRESSES["carol"]) == []
    assert list(desk.state.iterate(b"q/")) == [] and list(desk.state.iterate(b"i/")) == []
    refused_unchanged(desk, lambda: desk.sign("carol", OfferCancel, offer_id=offer_id), Refusal.UNKNOWN_OFFER)
    filled = desk.placed("carol", "JPY", 3, "USD", 1, 1)
    desk.pay("bob", "dave", "USD", 10, "JPY", 3)
    refused_unchanged(desk, lambda: desk.sign("carol", OfferCancel, offer_id=filled), Refusal.UNKNOWN_OFFER)
    assert fx.next_offer_id(desk.state) == filled + 1, "ids are never reused"


# payments -----------------------------------------------------------------------------------------------


def payment_desk() -> Desk:
    """alice sells 1,000 JPY at 2/3 cent per yen, carol 1,000 JPY at 3/4: 1,500 JPY cost 667 + 375 = 1,042 cents."""
    desk = Desk(fx_state())
    desk.placed("alice", "JPY", 1_000, "USD", 2, 3)
    desk.placed("carol", "JPY", 1_000, "USD", 3, 4)
    return desk


def pay_tx(desk: Desk, send_max: int = 2_000, amount: int = 1_500, sender: str = "bob", to: str = "dave", send: str = "USD",
           receive: str = "JPY", travel_rule_hash: bytes = b""):
    return desk.sign(sender, Pay, to=ADDRESSES[to], send_currency=send, send_max_minor=send_max, receive_currency=receive,
                     receive_amount_minor=amount, memo="", travel_rule_hash=travel_rule_hash)


def test_a_payment_delivers_exactly_the_amount_at_the_books_prices() -> None:
    desk = payment_desk()
    outcome = desk.apply(pay_tx(desk, send_max=1_042))  # exactly the cost is enough
    assert outcome.applied, outcome.refusal
    assert kinds(outcome) == ["offer_filled", "offer_filled", "payment"]
    assert [(e["sold_minor"], e["received_minor"]) for e in events_of(outcome, "offer_filled")] == [(1_000, 667), (500, 375)]
    assert outcome.events[-1] == {"kind": "payment", "from": ADDRESSES["bob"], "to": ADDRESSES["dave"], "sent_currency": "USD",
                                  "sent_minor": 1_042, "currency": "JPY", "amount_minor": 1_500, "via": ""}
    assert desk.balance("dave", "JPY") == 1_500 and desk.balance("dave", "USD") == 0
    assert desk.balance("bob", "USD") == 200_000 - 1_042 and desk.balance("bob", "JPY") == 0
    assert (desk.balance("alice", "USD"), desk.balance("carol", "USD")) == (500_000 + 667, 375)
    assert [o.remaining_minor for o in fx.book(desk.state, "JPY", "USD")] == [500]
    assert desk.state.get_nonce(ADDRESSES["bob"]) == 1
    assert conserved(desk.state) and not book_problems(desk.state, CODES)


PAY_REFUSALS = {
    "send max one below the cost": (None, {"send_max": 1_041}, Refusal.SEND_MAX_EXCEEDED),
    "more than the book holds": (None, {"amount": 2_001, "send_max": 10**9}, Refusal.BOOK_TOO_THIN),
    "sender cannot pay the cost": (None, {"sender": "dave", "to": "bob"}, Refusal.INSUFFICIENT_FUNDS),
    "same currency": (None, {"receive": "USD"}, Refusal.SAME_CURRENCY),
    "unknown send currency": (None, {"send": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "unknown receive currency": (None, {"receive": "EUR"}, Refusal.UNKNOWN_CURRENCY),
    "sender frozen": (_freeze("USD", "bob"), {}, Refusal.SENDER_FROZEN),
    "recipient frozen": (_freeze("JPY", "dave"), {}, Refusal.RECIPIENT_FROZEN),
    "send currency paused": (_pause("USD"), {}, Refusal.CURRENCY_PAUSED),
    "receive currency paused": (_pause("JPY"), {}, Refusal.CURRENCY_PAUSED),
    "travel rule on what is received": (lambda d: d.policy("JPY", travel_rule_threshold_minor=1_499), {}, Refusal.TRAVEL_RULE_REQUIRED),
    "travel rule on what is sent": (lambda d: d.policy("USD", travel_rule_threshold_minor=1_041), {}, Refusal.TRAVEL_RULE_REQUIRED),
    "cap on what is received": (lambda d: d.policy("JPY", transfer_max_minor=1_499), {}, Refusal.EXCEEDS_TRANSFER_LIMIT),
    "cap on what is sent": (lambda d: d.policy("USD", transfer_max_minor=1_041), {}, Refusal.EXCEEDS_TRANSFER_LIMIT),
}


@pytest.mark.parametrize("case", PAY_REFUSALS, ids=list(PAY_REFUSALS))
def test_payment_refusals_move_nothing(case: str) -> None:
    setup, overrides, refusal = PAY_REFUSALS[case]
    desk = payment_desk()
    if setup:
        setup(desk)
    refused_unchanged(desk, lambda: pay_tx(desk, **overrides), refusal)


def test_the_travel_rule_hash_lets_a_payment_above_the_threshold_through() -> None:
    desk = payment_desk()
    desk.policy("JPY", travel_rule_threshold_minor=1_499)
    desk.policy("USD", travel_rule_threshold_minor=1_041)
    assert desk.apply(pay_tx(desk, travel_rule_hash=TRAVEL_HASH)).applied
    assert desk.balance("dave", "JPY") == 1_500


def test_a_recipient_frozen_after_the_offers_rest_is_refused_and_unfreezing_lets_the_payment_through() -> None:
    desk = payment_desk()
    desk.freeze("JPY", "dave")
    refused_unchanged(desk, lambda: pay_tx(desk), Refusal.RECIPIENT_FROZEN)
    desk.freeze("JPY", "dave", enabled=False)
    assert desk.apply(pay_tx(desk)).applied


# routes through an intermediate currency ----------------------------------------------------------------


def three_currency_desk(direct: tuple[int, int] | None = (1, 1)) -> Desk:
    """USD, JPY and GBP. Direct: alice sells JPY for USD at `direct`. Through GBP: carol sells GBP for USD at
    1/1 and alice sells JPY for GBP at 1/2, so 1,000 JPY cost 500 GBP cents, which cost 500 USD cents."""
    desk = Desk(fx_state(third=True, balances=(("carol", THIRD, 100_000),)))
    if direct is not None:
        desk.placed("alice", "JPY", 10_000, "USD", *direct)
    desk.placed("carol", THIRD, 10_000, "USD", 1, 1)
    desk.placed("alice", "JPY", 10_000, THIRD, 1, 2)
    return desk


THREE = ("USD", "JPY", THIRD)


def test_a_payment_goes_through_an_intermediate_when_that_is_cheaper() -> None:
    desk = three_currency_desk(direct=(1, 1))  # direct: 1,000 cents; through GBP: 500
    outcome = desk.pay("bob", "dave", "USD", 600, "JPY", 1_000)  # 600 would not even pay the direct route
    assert outcome.applied, outcome.refusal
    assert outcome.events[-1]["via"] == THIRD and outcome.events[-1]["sent_minor"] == 500
    assert [(e["sold_currency"], e["sold_minor"], e["received_currency"], e["received_minor"])
            for e in events_of(outcome, "offer_filled")] == [(THIRD, 500, "USD", 500), ("JPY", 1_000, THIRD, 500)]
    assert desk.balance("dave", "JPY") == 1_000 and desk.balance("bob", "USD") == 200_000 - 500
    assert desk.balance("carol", "USD") == 500 and desk.balance("alice", THIRD) == 500
    assert desk.balance("bob", THIRD) == 0, "the intermediate passes through; the sender keeps none"
    assert [o.remaining_minor for o in fx.book(desk.state, "JPY", "USD")] == [10_000], "the direct book is untouched"
    assert [o.remaining_minor for o in fx.book(desk.state, THIRD, "USD")] == [9_500]
    assert [o.remaining_minor for o in fx.book(desk.state, "JPY", THIRD)] == [9_000]
    assert conserved(desk.state, THREE) and not book_problems(desk.state, THREE)


def test_a_payment_stays_direct_when_direct_is_cheaper() -> None:
    desk = three_currency_desk(direct=(1, 4))  # direct: 250 cents; through GBP: 500
    outcome = desk.pay("bob", "dave", "USD", 10_000, "JPY", 1_000)
    assert outcome.events[-1]["via"] == "" and outcome.events[-1]["sent_minor"] == 250
    assert [o.remaining_minor for o in fx.book(desk.state, THIRD, "USD")] == [10_000]
    assert [o.remaining_minor for o in fx.book(desk.state, "JPY", THIRD)] == [10_000]
    assert conserved(desk.state, THREE) and not book_problems(desk.state, THREE)


def test_an_intermediate_the_sender_may_not_hold_is_not_used() -> None:
    desk = three_currency_desk(direct=(1, 1))
    desk.freeze(THIRD, "bob")
    outcome = desk.pay("bob", "dave", "USD", 10_000, "JPY", 1_000)
    assert outcome.events[-1]["via"] == "" and outcome.events[-1]["sent_minor"] == 1_000
    refused_unchanged(desk, lambda: desk.sign("bob", Pay, to=ADDRESSES["dave"], send_currency="USD", send_max_minor=600,
                                              receive_currency="JPY", receive_amount_minor=1_000), Refusal.SEND_MAX_EXCEEDED)


def test_a_payment_only_an_intermediate_can_fill_succeeds() -> None:
    desk = three_currency_desk(direct=None)
    outcome = desk.pay("bob", "dave", "USD", 500, "JPY", 1_000)
    assert outcome.applied and outcome.events[-1]["via"] == THIRD
    assert desk.balance("dave", "JPY") == 1_000


def test_a_payment_only_an_intermediate_can_fill_but_above_send_max_is_send_max_exceeded() -> None:
    desk = three_currency_desk(direct=None)  # through GBP 1,000 JPY cost 500 cents
    refused_unchanged(desk, lambda: desk.sign("bob", Pay, to=ADDRESSES["dave"], send_currency="USD", send_max_minor=499,
                                              receive_currency="JPY", receive_amount_minor=1_000), Refusal.SEND_MAX_EXCEEDED)


def test_a_payment_through_an_intermediate_touches_at_most_the_walk_limit() -> None:
    desk = Desk(fx_state(third=True, balances=(("carol", THIRD, 100_000),)))
    per_leg = WALK * 3 // 5  # 60 offers on each leg: 120 in all
    for _ in range(per_leg):
        desk.placed("carol", THIRD, 10, "USD", 1, 1)
        desk.placed("alice", "JPY", 10, THIRD, 1, 1)
    outcome = desk.pay("bob", "dave", "USD", 10**6, "JPY", 10 * per_leg)
    touched = {e["offer_id"] for e in outcome.events if e["kind"] in ("offer_filled", "offer_removed")}
    assert outcome.refusal == Refusal.BOOK_TOO_THIN or len(touched) <= WALK, (outcome.refusal, len(touched))


class CountingReader(MemoryReader):
    """A committed state that counts the resting offers (o/ entries) read out of it."""

    def __init__(self, items: dict[bytes, bytes]) -> None:
        super().__init__(items)
        self.offers_read = 0

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for item in super().iterate(prefix):
            if item[0].startswith(b"o/"):
                self.offers_read += 1
            yield item


def test_a_payment_reads_no_more_of_the_book_than_the_walk_limit() -> None:
    desk = Desk(fx_state())
    for _ in range(1_000):
        desk.placed("carol", "JPY", 10, "USD", 1, 1)
    committed = CountingReader({**genesis_reader(fx_genesis()).items,
                                **{key: value for key, value in desk.state.changes() if value is not None}})
    later = Desk(State(committed))
    assert later.pay("bob", "dave", "USD", 100, "JPY", 20).applied  # two offers filled
    assert committed.offers_read <= 2 * (WALK + 1), committed.offers_read
