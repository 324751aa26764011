"""Conservation with the licence registry in play: the random FX histories of test_fx_properties (transfers,
mints, burns, freezes, clawbacks, pauses, swaps, offers, cancels, payments among holders and issuers over USD,
JPY and GBP) with `grant_licence` (distribute or exchange, some expiring within a few blocks),
`revoke_licence` (sometimes of nothing, or twice), `set_licence_required` (either scope, on and off) and the
legacy `set_distributor` mixed in, while block time moves on so that licences expire mid-history.

After every transaction, besides test_fx_properties's checks (supply == balances + amounts locked in offers
for every currency, supply moved only by mints and burns, no negative balance, the book never crossed and its
indexes exact, a refused transaction writes nothing):

- the registry is exactly what the applied grants, revocations and withdrawals say (a plain model);
- nothing a licence gates happened without one in force at the block's time: every applied mint's recipient
  and every applied burn's burner held a distribute licence of the currency where it was distributors_only
  (or was its issuer); every applied offer's maker, and the owner of every resting offer that traded
  (`offer_filled`), held an exchange licence of each currency of it that required one (or was its issuer);
- a gated transaction refused for its licence got the code the model predicts: `licence_revoked`,
  `licence_expired`, `not_distributor` or `licence_required`.

The second property runs the same histories through build_block + Store.commit_block and checks that the stored
state root equals the one recomputed from scratch over STATE_PREFIXES (the licence keyspace `l/` included).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from corridor.ledger import licences
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import BlockContext, Outcome
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import Burn, GrantLicence, Mint, OfferCreate, RevokeLicence, SetDistributor, SetLicenceRequired, SignedTx, sign_tx

from fx_support import FX_ADDRESSES, FX_KEYS, ISSUER_OF
from licences_support import grant, require, revoke
from test_fx_properties import ACTORS, CODES, GENESIS, PROFILE_EXAMPLES, Totals, apply_and_check, check_state, draw_tx
from unit_support import CHAIN_ID, certificate_for, genesis_reader, next_time_ms, produce, recompute_state_hash

NAME_OF = {FX_ADDRESSES[name]: name for name in ACTORS}
T0 = 1_700_000_000_000
LICENCE_CODES = {Refusal.LICENCE_REVOKED, Refusal.LICENCE_EXPIRED, Refusal.NOT_DISTRIBUTOR, Refusal.LICENCE_REQUIRED}


def draw_step(data: st.DataObject, state: State, context: BlockContext) -> SignedTx:
    """A licence transaction now and then (its issuer signing, mostly), else an FX-history step."""
    if data.draw(st.integers(0, 3), label="licence instead") != 0:
        return draw_tx(data, state, context.height)
    kind = data.draw(st.sampled_from(["grant"] * 4 + ["revoke"] * 3 + ["require"] * 2 + ["distributor"]), label="licence kind")
    existing = list(licences.all_licences(state))
    if kind == "revoke" and existing and data.draw(st.integers(0, 3), label="an existing licence"):
        found = data.draw(st.sampled_from(existing), label="revoked licence")
        return revoke(state, ISSUER_OF[found.currency], found.currency, NAME_OF[found.account], found.scope)
    code = data.draw(st.sampled_from(CODES), label="licence currency")
    issuer = ISSUER_OF[code]
    sender = issuer if data.draw(st.integers(0, 7), label="by another") else data.draw(st.sampled_from(ACTORS), label="signer")
    holders = [name for name in ACTORS if name != issuer]
    account = data.draw(st.sampled_from(holders * 4 + [issuer]), label="licensee")
    scope = data.draw(st.sampled_from(licences.SCOPES), label="scope")
    if kind == "grant":
        expiry = data.draw(st.sampled_from([0, 0, -1] + [context.time_ms + k * 1_000 for k in (1, 1, 2, 3, 5, 8)]), label="expiry")
        where = data.draw(st.sampled_from(["US", "HK", "EU", "SG"] * 3 + ["UK"]), label="where")
        return grant(state, sender, code, account, scope, where, expiry if expiry >= 0 else context.time_ms)  # -1: already passed
    if kind == "revoke":
        return revoke(state, sender, code, account, scope)
    if kind == "require":
        return require(state, sender, code, scope, data.draw(st.sampled_from([True, True, True, False]), label="required"))
    body = SetDistributor(FX_KEYS[sender].public_key, state.get_nonce(FX_ADDRESSES[sender]), code, FX_ADDRESSES[account],
                          data.draw(st.booleans(), label="enabled"))
    return sign_tx(body, [FX_KEYS[sender]], CHAIN_ID)


class Model:
    """The registry as the applied transactions say: (code, name, scope) -> (jurisdiction, expiry, revoked)."""

    def __init__(self) -> None:
        self.licences: dict[tuple[str, str, str], tuple[str, int, bool]] = {}
        self.exchange_required: set[str] = set()

    def in_force(self, code: str, name: str, scope: str, time_ms: int) -> Refusal | None:
        """None when `name` holds a licence of `scope` in `code` in force at `time_ms`, else the refusal."""
        found = self.licences.get((code, name, scope))
        if found is None:
            return Refusal.NOT_DISTRIBUTOR if scope == "distribute" else Refusal.LICENCE_REQUIRED
        if found[2]:
            return Refusal.LICENCE_REVOKED
        if found[1] and time_ms >= found[1]:
            return Refusal.LICENCE_EXPIRED
        return None

    def gate(self, state: State, code: str, name: str, scope: str, time_ms: int) -> Refusal | None:
        currency = state.get_currency(code)
        required = currency.distributors_only if scope == "distribute" else code in self.exchange_required
        if not required or name == ISSUER_OF[code]:
            return None
        return self.in_force(code, name, scope, time_ms)

    def record(self, tx: SignedTx) -> None:
        body = tx.body
        if isinstance(body, GrantLicence):
            self.licences[(body.currency, NAME_OF[body.account], body.scope)] = (body.jurisdiction, body.expires_at_ms, False)
        elif isinstance(body, RevokeLicence):
            jurisdiction, expiry, _ = self.licences[(body.currency, NAME_OF[body.account], body.scope)]
            self.licences[(body.currency, NAME_OF[body.account], body.scope)] = (jurisdiction, expiry, True)
        elif isinstance(body, SetDistributor):
            if body.enabled:
                self.licences[(body.currency, NAME_OF[body.account], "distribute")] = ("", 0, False)
            else:
                self.licences.pop((body.currency, NAME_OF[body.account], "distribute"), None)
        elif isinstance(body, SetLicenceRequired) and body.scope == "exchange":
            (self.exchange_required.add if body.required else self.exchange_required.discard)(body.currency)

    def registry_of(self, state: State) -> dict[tuple[str, str, str], tuple[str, int, bool]]:
        return {(item.currency, NAME_OF[item.account], item.scope): (item.jurisdiction, item.expires_at_ms, item.status == "revoked")
                for item in licences.all_licences(state)}


def gated_refusal(model: Model, state: State, tx: SignedTx, time_ms: int) -> Refusal | None:
    """The licence refusal the model predicts for a gated transaction whose earlier checks pass (or None)."""
    body, sender = tx.body, NAME_OF[tx.sender]
    if isinstance(body, Mint) and sender == ISSUER_OF[body.currency]:
        return model.gate(state, body.currency, NAME_OF[body.to], "distribute", time_ms)
    if isinstance(body, Burn):
        return model.gate(state, body.currency, sender, "distribute", time_ms)
    if isinstance(body, OfferCreate) and body.sell_currency != body.buy_currency:
        return (model.gate(state, body.sell_currency, sender, "exchange", time_ms)
                or model.gate(state, body.buy_currency, sender, "exchange", time_ms))
    return None


def step_and_check(state: State, tx: SignedTx, context: BlockContext, totals: Totals, model: Model) -> Outcome:
    """apply_and_check, plus the licence invariants."""
    assert model.registry_of(state) == model.licences
    expected = gated_refusal(model, state, tx, context.time_ms)
    owners = {offer.id: offer for offer in _offers(state)}
    required_before = {code: (state.get_currency(code).distributors_only, code in model.exchange_required) for code in CODES}
    outcome = apply_and_check(state, tx, context, totals)
    if outcome.applied:
        assert expected is None, f"{tx.body.TYPE} applied though the model says {expected}"
        for event in outcome.events:
            if event["kind"] == "offer_filled":
                offer = owners[event["offer_id"]]
                owner = NAME_OF[offer.owner]
                for code in (offer.sell_currency, offer.buy_currency):
                    if required_before[code][1] and owner != ISSUER_OF[code]:
                        assert model.in_force(code, owner, "exchange", context.time_ms) is None, (event, owner, code)
        model.record(tx)
    elif outcome.refusal in LICENCE_CODES and not isinstance(tx.body, RevokeLicence):
        assert outcome.refusal == expected, (tx.body, outcome.refusal, expected)
    if isinstance(tx.body, (GrantLicence, RevokeLicence, SetLicenceRequired, SetDistributor)):
        note(f"{tx.body.TYPE}: {outcome.refusal.code if outcome.refusal else 'applied'}")
    elif expected is not None:
        note(f"{tx.body.TYPE} refused by licence: {expected.code}")
    assert model.registry_of(state) == model.licences
    return outcome


def _offers(state: State) -> list[Any]:
    from corridor.ledger import fx

    return [fx.Offer(**record) for _, record in state.iterate(b"o/")]


@settings(max_examples=max(1, PROFILE_EXAMPLES * 3 // 4))
@given(data=st.data(), steps=st.integers(30, 100))
def test_random_histories_with_licences_conserve_and_never_act_unlicensed(data: st.DataObject, steps: int) -> None:
    state = State(genesis_reader(GENESIS))
    totals, model = Totals(), Model()
    check_state(state, totals)
    for step in range(steps):
        height = 1 + step // 5
        context = BlockContext(height, T0 + height * 1_000)
        step_and_check(state, draw_step(data, state, context), context, totals, model)


@settings(max_examples=max(1, PROFILE_EXAMPLES // 3))
@given(data=st.data(), blocks=st.lists(st.integers(1, 8), min_size=3, max_size=10))
def test_random_histories_with_licences_through_blocks_keep_the_stored_state_root_exact(data: st.DataObject, blocks: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "db", GENESIS)
        try:
            totals, model = Totals(), Model()
            for size in blocks:
                pending = State(store)
                context = BlockContext(store.tip.height + 1, next_time_ms(store))
                candidates, accepted = [], []
                for _ in range(size):
                    tx = draw_step(data, pending, context)
                    candidates.append(tx)
                    if step_and_check(pending, tx, context, totals, model).applied:
                        accepted.append(tx)
                executed, left_out = produce(store, candidates, context.time_ms)
                assert list(executed.block.txs) == accepted, "the proposer includes exactly what applied"
                assert {item.tx.hash for item in left_out} == {tx.hash for tx in candidates} - {tx.hash for tx in accepted}
                assert dict(executed.state.changes()) == dict(pending.changes()), "block execution equals the overlay"
                store.commit_block(executed, certificate_for(executed))
                recomputed = recompute_state_hash(store).root()
                assert store.tip.state_hash.root() == recomputed == executed.block.header.state_root
                committed = State(store)
                check_state(committed, totals)
                assert model.registry_of(committed) == model.licences
        finally:
            store.close()
