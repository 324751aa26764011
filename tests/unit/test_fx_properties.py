"""The FX market's invariants, as properties over long random histories over three currencies (USD, JPY, GBP)
and the holders alice, bob, carol and dave (the issuers act too): transfers, mints, burns, freezes and
clawbacks, pauses, swaps, offers at random small-fraction prices, cancels and payments, valid or not.

After every transaction:
- for every currency, supply == the sum of all balances + the amounts locked in resting offers selling it;
- no balance is negative (a stored balance is positive; zero is absent);
- supply changes only by the amounts of successful mints and burns;
- the book is never left crossed: for every pair, best price x best opposite price > 1 (exact fractions);
- every resting offer has remaining > 0 and its owner- and id-index entries, and nothing else is indexed;
- a refused transaction writes nothing; an accepted offer never trades beyond its limit; an accepted payment
  delivers exactly its amount and costs exactly what it reports, never above send_max.

The second property runs the same histories through build_block + Store.commit_block every few transactions:
the proposer includes exactly the transactions a mempool-like overlay accepted, its state changes equal that
overlay's, and the stored state root equals the root recomputed from scratch over STATE_PREFIXES.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from corridor.ledger import fx
from corridor.ledger.rules import BlockContext, Outcome, apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import (
    Burn,
    Clawback,
    Mint,
    OfferCancel,
    OfferCreate,
    Pay,
    SetFrozen,
    SetPaused,
    SignedTx,
    Swap,
    Transfer,
    sign_tx,
)

from fx_support import FX_ADDRESSES, FX_KEYS, ISSUER_OF, REASON, THIRD, all_offers, book_problems, fx_genesis
from unit_support import CHAIN_ID, certificate_for, genesis_reader, next_time_ms, produce, recompute_state_hash
from orders_support import with_order

CODES = ("USD", "JPY", THIRD)
HOLDERS = ("alice", "bob", "carol", "dave")
ACTORS = (*HOLDERS, *ISSUER_OF.values())
START_MINOR = 100_000
GENESIS = fx_genesis(third=True, balances=tuple((name, code, START_MINOR) for name in ACTORS for code in CODES))


# drawing transactions ---------------------------------------------------------------------------------------


def _sign(state: State, name: str, body_type: type, keys: list | None = None, **fields: Any) -> SignedTx:
    fields = with_order(body_type.TYPE, fields)  # a seizure carries the unit tests' lawful order (orders_support.py)
    body = body_type(FX_KEYS[name].public_key, state.get_nonce(FX_ADDRESSES[name]), **fields)
    return sign_tx(body, keys or [FX_KEYS[name]], CHAIN_ID)


def draw_tx(data: st.DataObject, state: State, height: int) -> SignedTx:
    """One random transaction, valid or not, with the sender's right nonce. Offers and payments dominate;
    a pause is rare and soon resumed, so that the market is open most of the time."""
    kind = data.draw(st.sampled_from(
        ["offer"] * 8 + ["pay"] * 5 + ["cancel"] * 2 + ["swap"] * 2 + ["transfer", "mint", "burn"] + ["freeze", "clawback"] * 2
        + ["resume"] * (2 if any(state.get_currency(c).paused for c in CODES) else 0)
    ), label="kind")
    code = data.draw(st.sampled_from(CODES), label="currency")
    other = data.draw(st.sampled_from([c for c in CODES if c != code]), label="other currency")
    actor = data.draw(st.sampled_from(ACTORS), label="actor")
    party = data.draw(st.sampled_from(ACTORS), label="party")
    amount = data.draw(st.one_of(st.integers(1, 20), st.integers(1, 5_000)), label="amount")
    issuer = ISSUER_OF[code]
    if kind == "offer":
        num, den = data.draw(st.integers(1, 12), label="num"), data.draw(st.integers(1, 12), label="den")
        return _sign(state, actor, OfferCreate, sell_currency=code, sell_amount_minor=amount, buy_currency=other, price_num=num, price_den=den)
    if kind == "pay":
        send_max = data.draw(st.integers(1, 20_000), label="send max")
        return _sign(state, actor, Pay, to=FX_ADDRESSES[party], send_currency=code, send_max_minor=send_max, receive_currency=other,
                     receive_amount_minor=data.draw(st.one_of(st.integers(1, 50), st.integers(1, 3_000)), label="receive"), memo="", travel_rule_hash=b"")
    if kind == "cancel":
        ids = [offer.id for offer in all_offers(state)]
        offer_id = data.draw(st.sampled_from(ids) if ids and data.draw(st.booleans()) else st.integers(0, 50), label="offer id")
        owner = fx.get_offer(state, offer_id)
        name = actor
        if owner is not None and data.draw(st.booleans(), label="as owner"):
            name = next(n for n in ACTORS if FX_ADDRESSES[n] == owner.owner)
        return _sign(state, name, OfferCancel, offer_id=offer_id)
    if kind == "swap":
        expiry = data.draw(st.integers(max(1, height - 1), height + 1), label="expiry")
        return _sign(state, actor, Swap, keys=[FX_KEYS[actor], FX_KEYS[party]], counterparty=FX_KEYS[party].public_key,
                     give_currency=code, give_amount_minor=amount, get_currency=other,
                     get_amount_minor=data.draw(st.integers(1, 5_000), label="get amount"), expiry_height=expiry)
    if kind == "transfer":
        return _sign(state, actor, Transfer, to=FX_ADDRESSES[party], currency=code, amount_minor=amount, memo="")
    if kind == "mint":
        return _sign(state, data.draw(st.sampled_from([issuer, actor]), label="minter"), Mint, to=FX_ADDRESSES[party],
                     currency=code, amount_minor=amount)
    if kind == "burn":
        return _sign(state, actor, Burn, currency=code, amount_minor=amount)
    if kind == "freeze":
        if data.draw(st.integers(0, 5), label="pause instead") == 0:  # now and then the whole currency stops
            return _sign(state, issuer, SetPaused, currency=code, enabled=True)
        return _sign(state, issuer, SetFrozen, currency=code, account=FX_ADDRESSES[party],
                     enabled=data.draw(st.booleans(), label="freeze"), reason_hash=REASON)
    if kind == "clawback":
        frozen = [name for name in ACTORS if state.get_holder(FX_ADDRESSES[name], code).frozen]
        if frozen and data.draw(st.booleans(), label="a frozen account"):
            party = data.draw(st.sampled_from(frozen), label="frozen party")
        balance = state.get_balance(FX_ADDRESSES[party], code)
        return _sign(state, issuer, Clawback, currency=code, account=FX_ADDRESSES[party],
                     amount_minor=data.draw(st.integers(1, max(1, balance)), label="clawback"), reason_hash=REASON)
    assert kind == "resume"
    code = data.draw(st.sampled_from([c for c in CODES if state.get_currency(c).paused]), label="paused currency")
    return _sign(state, ISSUER_OF[code], SetPaused, currency=code, enabled=False)


# checking one step ----------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Supply as the successful mints and burns say it must be."""

    supply: dict[str, int] = field(default_factory=lambda: {c.code: c.supply_minor for c in GENESIS.currencies})


def balances(state: State) -> dict[tuple[bytes, str], int]:
    return {(key[2:22], key[23:].decode()): value for key, value in state.iterate(b"b/")}


def check_state(state: State, totals: Totals) -> None:
    held = balances(state)
    assert all(type(value) is int and value > 0 for value in held.values()), "a stored balance is positive"
    offers = all_offers(state)
    for code in CODES:
        in_balances = sum(value for (_, c), value in held.items() if c == code)
        in_offers = sum(o.remaining_minor for o in offers if o.sell_currency == code)
        supply = state.get_currency(code).supply_minor
        assert supply == totals.supply[code], (code, supply, totals.supply[code])
        assert supply == in_balances + in_offers, (code, supply, in_balances, in_offers)
    problems = book_problems(state, CODES)
    assert not problems, problems


def apply_and_check(state: State, tx: SignedTx, context: BlockContext, totals: Totals) -> Outcome:
    """Apply `tx` in a child overlay, check what it did, and keep its writes in `state` when it applied."""
    trial = state.child()
    before = balances(state)
    resting = {offer.id: offer for offer in all_offers(state)}
    outcome = apply_tx(trial, tx, context)
    note(f"{tx.body.TYPE}: {outcome.refusal.code if outcome.refusal else 'applied'}")
    if outcome.applied and isinstance(tx.body, (OfferCreate, Pay)):
        for kind in sorted({e["kind"] for e in outcome.events} - {"offer_taken", "payment"}):
            note(f"{tx.body.TYPE} with {kind}")
        if isinstance(tx.body, Pay):
            note(f"pay via {outcome.events[-1]['via'] or 'direct'}")
    if not outcome.applied:
        assert list(trial.changes()) == [], f"refused ({outcome.refusal.code}) yet wrote"
        return outcome
    trial.commit()
    body = tx.body
    for event in outcome.events:
        if event["kind"] == "offer_filled":  # at the resting price, rounded up once in the resting party's favour
            offer = resting[event["offer_id"]]
            assert event["sold_minor"] <= offer.remaining_minor
            assert event["received_minor"] == math.ceil(Fraction(event["sold_minor"] * offer.price_num, offer.price_den))
        elif event["kind"] == "offer_removed":
            assert event["refunded_minor"] == resting[event["offer_id"]].remaining_minor
    if isinstance(body, Mint):
        totals.supply[body.currency] += body.amount_minor
    elif isinstance(body, Burn):
        totals.supply[body.currency] -= body.amount_minor
    elif isinstance(body, OfferCreate):
        taken = outcome.events[0]
        assert taken["kind"] == "offer_taken"
        assert taken["paid_minor"] <= body.sell_amount_minor
        assert taken["bought_minor"] * body.price_den >= taken["paid_minor"] * body.price_num, "traded beyond its limit"
    elif isinstance(body, Pay):
        payment = outcome.events[-1]
        assert payment["kind"] == "payment" and payment["amount_minor"] == body.receive_amount_minor
        assert payment["sent_minor"] <= body.send_max_minor
        after = balances(state)
        refunds = sum(e["refunded_minor"] for e in outcome.events
                      if e["kind"] == "offer_removed" and e["account"] == body.to and e["currency"] == body.receive_currency)
        key = (body.to, body.receive_currency)
        assert after.get(key, 0) - before.get(key, 0) == body.receive_amount_minor + refunds, "delivered exactly"
        key = (tx.sender, body.send_currency)
        if tx.sender != body.to:
            assert before.get(key, 0) - after.get(key, 0) == payment["sent_minor"], "cost exactly what it reports"
    check_state(state, totals)
    return outcome


# the properties ------------------------------------------------------------------------------------------------

# Scaled from the loaded profile (60 examples in "unit", 1,000 in "thorough"), to stay within ~15 s by default.
PROFILE_EXAMPLES = settings.default.max_examples


@settings(max_examples=max(1, PROFILE_EXAMPLES * 3 // 4))
@given(data=st.data(), steps=st.integers(30, 100))
def test_random_fx_histories_conserve_every_currency_and_never_cross_the_book(data: st.DataObject, steps: int) -> None:
    state = State(genesis_reader(GENESIS))
    totals = Totals()
    check_state(state, totals)
    for step in range(steps):
        height = 1 + step // 5
        tx = draw_tx(data, state, height)
        apply_and_check(state, tx, BlockContext(height, 1_700_000_000_000 + height * 1_000), totals)


@settings(max_examples=max(1, PROFILE_EXAMPLES // 3))
@given(data=st.data(), blocks=st.lists(st.integers(1, 8), min_size=3, max_size=10))
def test_random_fx_histories_through_blocks_keep_the_stored_state_root_exact(data: st.DataObject, blocks: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "db", GENESIS)
        try:
            totals = Totals()
            for size in blocks:
                pending = State(store)
                context = BlockContext(store.tip.height + 1, next_time_ms(store))
                candidates, accepted = [], []
                for _ in range(size):
                    tx = draw_tx(data, pending, context.height)
                    candidates.append(tx)
                    if apply_and_check(pending, tx, context, totals).applied:
                        accepted.append(tx)
                executed, left_out = produce(store, candidates, context.time_ms)
                assert list(executed.block.txs) == accepted, "the proposer includes exactly what applied"
                assert {item.tx.hash for item in left_out} == {tx.hash for tx in candidates} - {tx.hash for tx in accepted}
                assert dict(executed.state.changes()) == dict(pending.changes()), "block execution equals the overlay"
                store.commit_block(executed, certificate_for(executed))
                recomputed = recompute_state_hash(store).root()
                assert store.tip.state_hash.root() == recomputed == executed.block.header.state_root
                check_state(State(store), totals)
        finally:
            store.close()
