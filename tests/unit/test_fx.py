"""The FX market: offers rest in price-time order, crossing offers fill at the resting price with
rounding in the resting party's favour, payments deliver exact amounts or nothing, swaps move both legs."""

from __future__ import annotations

from corridor.ledger import fx
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State
from corridor.ledger.tx import OfferCancel, OfferCreate, Pay, SignedTx, Swap, sign_tx

from unit_support import ADDRESSES, CHAIN_ID, KEYS, context, snapshot

NONCES: dict[str, int] = {}


def signed(name: str, body_type: type, **fields) -> SignedTx:
    nonce = NONCES.get(name, 0)
    NONCES[name] = nonce + 1
    return sign_tx(body_type(KEYS[name].public_key, nonce, **fields), [KEYS[name]], CHAIN_ID)


def run(state: State, tx: SignedTx, height: int = 1):
    outcome = apply_tx(state, tx, context(height))
    return outcome


def offer(state: State, name: str, sell: str, amount: int, buy: str, num: int, den: int):
    NONCES[name] = state.get_nonce(ADDRESSES[name])
    return run(state, signed(name, OfferCreate, sell_currency=sell, sell_amount_minor=amount, buy_currency=buy, price_num=num, price_den=den))


def supply_is_balances_plus_offers(state: State, code: str) -> bool:
    balances = sum(state.get_balance(address, code) for address in ADDRESSES.values())
    locked = sum(o.remaining_minor for sell in ("USD", "JPY") for buy in ("USD", "JPY") if sell != buy
                 for o in fx.book(state, sell, buy) if o.sell_currency == code)
    return state.get_currency(code).supply_minor == balances + locked


def test_offers_rest_in_price_time_order(state: State) -> None:
    assert offer(state, "alice", "JPY", 1000, "USD", 7, 1000).applied  # 0.007 USD-cent per yen
    assert offer(state, "alice", "JPY", 1000, "USD", 6, 1000).applied
    assert offer(state, "carol", "JPY", 1000, "USD", 7, 1000).applied
    order = [(o.price_num, o.price_den, o.owner) for o in fx.book(state, "JPY", "USD")]
    assert order == [(6, 1000, ADDRESSES["alice"]), (7, 1000, ADDRESSES["alice"]), (7, 1000, ADDRESSES["carol"])]
    assert state.get_balance(ADDRESSES["alice"], "JPY") == 1_000_000 - 2000
    assert supply_is_balances_plus_offers(state, "JPY")


def test_price_keys_order_close_prices_exactly() -> None:
    big = 2**62
    assert fx.price_key(big, big + 1) < fx.price_key(big + 1, big + 2)
    assert fx.price_key(1, 3) < fx.price_key(1, 2) < fx.price_key(2, 3)


def test_crossing_offer_fills_at_the_resting_price_rounding_for_the_resting_party(state: State) -> None:
    # alice sells 1000 JPY at 1/150 USD-cent per yen... price: 2 cents per 3 yen
    assert offer(state, "alice", "JPY", 1000, "USD", 2, 3).applied
    before_bob_usd = state.get_balance(ADDRESSES["bob"], "USD")
    # bob sells 100 USD-cents for JPY, accepting at least 1 yen per cent (crosses: 2/3 * 1/1 <= 1)
    outcome = offer(state, "bob", "USD", 100, "JPY", 1, 1)
    assert outcome.applied
    # at 2/3 cent per yen, 100 cents buy floor(100 * 3 / 2) = 150 yen costing exactly 100 cents
    assert state.get_balance(ADDRESSES["bob"], "JPY") == 150
    assert state.get_balance(ADDRESSES["bob"], "USD") == before_bob_usd - 100
    assert state.get_balance(ADDRESSES["alice"], "USD") == 500_000 + 100
    assert [o.remaining_minor for o in fx.book(state, "JPY", "USD")] == [850]
    assert list(fx.book(state, "USD", "JPY")) == []
    # an odd amount: 7 yen cost ceil(7 * 2 / 3) = 5 cents, never 4.67
    assert fx.cost_of(7, 2, 3) == 5
    assert supply_is_balances_plus_offers(state, "JPY") and supply_is_balances_plus_offers(state, "USD")


def test_a_non_crossing_offer_rests_and_can_be_cancelled_by_its_owner_only(state: State) -> None:
    assert offer(state, "alice", "JPY", 1000, "USD", 2, 3).applied
    assert offer(state, "bob", "USD", 100, "JPY", 2, 1).applied  # wants 2 yen per cent: no cross
    assert len(list(fx.book(state, "USD", "JPY"))) == 1
    offer_id = next(fx.book(state, "USD", "JPY")).id
    NONCES["alice"] = state.get_nonce(ADDRESSES["alice"])
    assert run(state, signed("alice", OfferCancel, offer_id=offer_id)).refusal == Refusal.NOT_OFFER_OWNER
    NONCES["bob"] = state.get_nonce(ADDRESSES["bob"])
    assert run(state, signed("bob", OfferCancel, offer_id=offer_id)).applied
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_000
    NONCES["bob"] = state.get_nonce(ADDRESSES["bob"])
    assert run(state, signed("bob", OfferCancel, offer_id=offer_id)).refusal == Refusal.UNKNOWN_OFFER


def test_payment_delivers_exactly_or_moves_nothing(state: State) -> None:
    assert offer(state, "alice", "JPY", 10_000, "USD", 2, 3).applied
    NONCES["bob"] = state.get_nonce(ADDRESSES["bob"])
    too_tight = signed("bob", Pay, to=ADDRESSES["carol"], send_currency="USD", send_max_minor=99, receive_currency="JPY", receive_amount_minor=150)
    before = snapshot(state)
    assert run(state, too_tight).refusal == Refusal.SEND_MAX_EXCEEDED
    assert snapshot(state) == before
    NONCES["bob"] = state.get_nonce(ADDRESSES["bob"])
    too_big = signed("bob", Pay, to=ADDRESSES["carol"], send_currency="USD", send_max_minor=10**9, receive_currency="JPY", receive_amount_minor=20_000)
    assert run(state, too_big).refusal == Refusal.BOOK_TOO_THIN
    assert snapshot(state) == before
    NONCES["bob"] = state.get_nonce(ADDRESSES["bob"])
    good = signed("bob", Pay, to=ADDRESSES["carol"], send_currency="USD", send_max_minor=100, receive_currency="JPY", receive_amount_minor=150)
    outcome = run(state, good)
    assert outcome.applied
    assert state.get_balance(ADDRESSES["carol"], "JPY") == 30_000 + 150
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_000 - 100
    assert outcome.events[-1]["kind"] == "payment" and outcome.events[-1]["sent_minor"] == 100
    assert supply_is_balances_plus_offers(state, "JPY") and supply_is_balances_plus_offers(state, "USD")


def test_swap_moves_both_legs_or_neither(state: State) -> None:
    body = Swap(KEYS["alice"].public_key, 0, KEYS["carol"].public_key, "USD", 1_000, "JPY", 1_500, expiry_height=5)
    both = sign_tx(body, [KEYS["alice"], KEYS["carol"]], CHAIN_ID)
    assert apply_tx(state, both, context(6)).refusal == Refusal.SWAP_EXPIRED
    unfunded = Swap(KEYS["alice"].public_key, 0, KEYS["carol"].public_key, "USD", 1_000, "JPY", 50_000, expiry_height=5)
    before = snapshot(state)
    assert apply_tx(state, sign_tx(unfunded, [KEYS["alice"], KEYS["carol"]], CHAIN_ID), context(2)).refusal == Refusal.COUNTERPARTY_INSUFFICIENT_FUNDS
    assert snapshot(state) == before
    assert apply_tx(state, both, context(5)).applied
    assert state.get_balance(ADDRESSES["carol"], "USD") == 1_000
    assert state.get_balance(ADDRESSES["carol"], "JPY") == 30_000 - 1_500
    assert state.get_balance(ADDRESSES["alice"], "JPY") == 1_000_000 + 1_500
