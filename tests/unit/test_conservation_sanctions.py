"""Conservation with the consortium sanctions list in play: the random FX histories of test_fx_properties
(transfers, mints, burns, freezes, clawbacks, pauses, swaps, offers, cancels, payments among holders and
issuers over USD, JPY and GBP) with `gov_set_sanctioned` listings and delistings of any of them, issuers
included, mixed in, and the per-listing offer bound drawn small (0, 1, 2) as well as at its real value.

After every transaction, besides test_fx_properties's checks (supply == balances + amounts locked in offers
for every currency, supply moved only by mints and burns, no negative balance, the book never crossed and
its indexes exact, a refused transaction writes nothing):

- what a listed account owns of each currency (its balance + what its resting offers lock) never changes
  while it is listed: not by its own transactions, not by anyone else's, not by its listing (its offers'
  funds return to its balance), only by an issuer's clawback of exactly the clawed amount;
- no event moves value to or from a listed account: it may appear only in `offer_removed` (refunds),
  `sanctioned` / `unsanctioned`, the issuer's `frozen` / `unfrozen`, and as the `from` of a `clawback`;
- the list is exactly what the committed listings and delistings say.

The second property runs the same histories through build_block + Store.commit_block and checks that the
stored state root equals the one recomputed from scratch over STATE_PREFIXES (the sanctions keyspace `s/`
included).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from corridor.hashing import sha256
from corridor.ledger import fx, limits, sanctions
from corridor.ledger.rules import BlockContext, Outcome
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import Clawback, GovSetSanctioned, SignedTx

from fx_support import FX_ADDRESSES
from sanctions_support import sanction
from test_fx_properties import ACTORS, CODES, GENESIS, Totals, apply_and_check, check_state, draw_tx
from unit_support import certificate_for, genesis_reader, next_time_ms, produce, recompute_state_hash

NAME_OF = {FX_ADDRESSES[name]: name for name in ACTORS}
ALLOWED_FOR_LISTED = {"offer_removed", "sanctioned", "unsanctioned", "frozen", "unfrozen", "lawful_order"}  # orders.py's record moves nothing


def draw_step(data: st.DataObject, state: State, height: int) -> SignedTx:
    """A listing or delisting now and then (sometimes a repeat, which is refused), else an FX-history step."""
    if data.draw(st.integers(0, 5), label="governance instead") != 0:
        return draw_tx(data, state, height)
    name = data.draw(st.sampled_from(ACTORS), label="sanctioned party")
    listed_now = sanctions.is_sanctioned(state, FX_ADDRESSES[name])
    listed = data.draw(st.sampled_from([not listed_now] * 4 + [listed_now]), label="listed")
    order = sha256(f"order {data.draw(st.integers(0, 3), label='order')}".encode())
    return sanction(state, FX_ADDRESSES[name], listed=listed, reason_hash=order)


def owned(state: State) -> dict[tuple[str, str], int]:
    """Per (actor, currency): its balance plus what its resting offers lock."""
    result = {(name, code): state.get_balance(FX_ADDRESSES[name], code) for name in ACTORS for code in CODES}
    for offer in _all_offers(state):
        result[(NAME_OF[offer.owner], offer.sell_currency)] += offer.remaining_minor
    return result


def _all_offers(state: State) -> list[fx.Offer]:
    return [fx.Offer(**record) for _, record in state.iterate(b"o/")]


def listed_names(state: State) -> set[str]:
    return {NAME_OF[entry.account] for entry in sanctions.sanctions_in(state)}


def step_and_check(state: State, tx: SignedTx, context: BlockContext, totals: Totals, model: set[str]) -> Outcome:
    """apply_and_check, plus the sanctions invariants; `model` is the list as the committed decisions say."""
    listed_before = listed_names(state)
    assert listed_before == model
    before = owned(state)
    outcome = apply_and_check(state, tx, context, totals)
    body = tx.body
    if isinstance(body, GovSetSanctioned):
        name = NAME_OF[body.account]
        note(f"gov_set_sanctioned {'list' if body.listed else 'delist'}: {outcome.refusal.code if outcome.refusal else 'applied'}")
        if outcome.applied:
            (model.add if body.listed else model.discard)(name)
            head = outcome.events[0]
            assert head["kind"] == ("sanctioned" if body.listed else "unsanctioned")
            if body.listed:
                assert outcome.events[-1]["kind"] == "lawful_order"  # the listing's order record closes it (orders.py)
                removed = [e for e in outcome.events[1:] if e["kind"] == "offer_removed"]
                assert len(removed) == head["offers_removed"] == len(outcome.events) - 2 <= limits.SANCTION_OFFERS_REMOVED_MAX
                assert head["offers_remaining"] == bool(fx.offers_of(state, body.account))
                if removed:
                    note("a listing cancelled resting offers")
                if head["offers_remaining"]:
                    note("a listing left offers beyond its bound")
    elif outcome.refusal is not None and outcome.refusal.code == "account_sanctioned":
        note(f"{body.TYPE}: account_sanctioned")
    assert listed_names(state) == model
    after = owned(state)
    watched = listed_before & listed_names(state)  # listed before and after this transaction
    clawed = NAME_OF.get(body.account) if isinstance(body, Clawback) and outcome.applied else None
    for name in watched:
        for code in CODES:
            change = after[(name, code)] - before[(name, code)]
            if clawed == name and body.currency == code:
                assert change == -body.amount_minor, (name, code, body)
            else:
                assert change == 0, f"listed {name} changed by {change} {code} through {body.TYPE}: {outcome.events}"
    for event in outcome.events:
        _check_event(event, listed_before | listed_names(state))
    return outcome


def _check_event(event: dict[str, Any], listed: set[str]) -> None:
    named = {key: NAME_OF.get(event[key]) for key in ("from", "to", "account") if key in event}
    hit = {key for key, name in named.items() if name in listed}
    if not hit or event["kind"] in ALLOWED_FOR_LISTED:
        return
    assert event["kind"] == "clawback" and hit == {"from"}, f"an event moved value for a listed account: {event}"


BOUNDS = st.sampled_from([0, 1, 2, limits.SANCTION_OFFERS_REMOVED_MAX])
PROFILE_EXAMPLES = settings.default.max_examples


@settings(max_examples=max(1, PROFILE_EXAMPLES * 3 // 4))
@given(data=st.data(), steps=st.integers(30, 100), bound=BOUNDS)
def test_random_histories_with_sanctions_conserve_every_currency_and_freeze_listed_holdings(data: st.DataObject, steps: int,
                                                                                              bound: int) -> None:
    with mock.patch.object(limits, "SANCTION_OFFERS_REMOVED_MAX", bound):
        state = State(genesis_reader(GENESIS))
        totals, model = Totals(), set()
        check_state(state, totals)
        for step in range(steps):
            height = 1 + step // 5
            tx = draw_step(data, state, height)
            step_and_check(state, tx, BlockContext(height, 1_700_000_000_000 + height * 1_000), totals, model)


@settings(max_examples=max(1, PROFILE_EXAMPLES // 3))
@given(data=st.data(), blocks=st.lists(st.integers(1, 8), min_size=3, max_size=10), bound=BOUNDS)
def test_random_histories_with_sanctions_through_blocks_keep_the_state_root_exact(data: st.DataObject, blocks: list[int],
                                                                                   bound: int) -> None:
    with mock.patch.object(limits, "SANCTION_OFFERS_REMOVED_MAX", bound), tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "db", GENESIS)
        try:
            totals, model = Totals(), set()
            for size in blocks:
                pending = State(store)
                context = BlockContext(store.tip.height + 1, next_time_ms(store))
                candidates, accepted = [], []
                for _ in range(size):
                    tx = draw_step(data, pending, context.height)
                    candidates.append(tx)
                    if step_and_check(pending, tx, context, totals, model).applied:
                        accepted.append(tx)
                executed, left_out = produce(store, candidates, context.time_ms)
                assert list(executed.block.txs) == accepted, "the proposer includes exactly what applied"
                assert {item.tx.hash for item in left_out} == {tx.hash for tx in candidates} - {tx.hash for tx in accepted}
                assert dict(executed.state.changes()) == dict(pending.changes()), "block execution equals the overlay"
                store.commit_block(executed, certificate_for(executed))
                assert store.tip.state_hash.root() == recompute_state_hash(store).root() == executed.block.header.state_root
                committed = State(store)
                check_state(committed, totals)
                assert listed_names(committed) == model
        finally:
            store.close()
