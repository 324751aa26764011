"""Conservation with corridors in play: the random FX histories of test_fx_properties (transfers, mints, burns,
freezes, clawbacks, pauses, swaps, offers, cancels and payments among holders and issuers over USD, JPY and
GBP) with `set_jurisdiction` and `set_corridor_policy` mixed in (valid and not: other signers, unassigned
codes, half-set windows), and transfers, swaps and payments carrying a travel-rule hash or not.

After every transaction, besides test_fx_properties's checks (supply == balances + amounts locked in offers for
every currency, supply moved only by mints and burns, no negative balance, the book never crossed, a refused
transaction writes nothing), against a plain model of the corridor rules:

- no accepted leg (a transfer, each leg of a swap, both currency legs of a payment) breaks a policy that
  applies to it: above a payment maximum, above a threshold (or under `travel_rule_always`) without a
  travel-rule hash, or over a window as the buckets count it;
- the exact guarantee of the window: for every accepted leg at time t, the amounts the sender paid through
  each applicable corridor in (t - window_ms, t] add up to at most the window's maximum;
- a transaction refused `corridor_limit_exceeded` or `travel_rule_required` breaks a policy in the model (a
  payment's send leg, whose cost a refusal does not tell, excepted);
- jurisdictions and policies are exactly what the accepted transactions say, and a sender's window record
  never holds more than WINDOW_BUCKETS + 1 buckets.

The second property runs the same histories through build_block + Store.commit_block and checks that the
stored state root equals the one recomputed from scratch over STATE_PREFIXES (the corridors' `j/` included).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from corridor.ledger import corridors
from corridor.ledger.outcome import BlockContext, Outcome
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import Pay, SetCorridorPolicy, SetJurisdiction, SignedTx, Swap, Transfer, sign_tx

from fx_support import FX_ADDRESSES, FX_KEYS, ISSUER_OF
from test_fx_properties import ACTORS, CODES, GENESIS, Totals, apply_and_check, check_state, draw_tx
from unit_support import CHAIN_ID, certificate_for, genesis_reader, next_time_ms, produce, recompute_state_hash

NAME_OF = {FX_ADDRESSES[name]: name for name in ACTORS}
PLACES = ("US", "HK", "SG")
SIDES = (*PLACES, "*")
TRAVEL = bytes([0x7E]) * 32
WINDOWS_MS = (1_000, 3_000, 8_000, 20_000)


# drawing ----------------------------------------------------------------------------------------------------


def _sign(state: State, name: str, body_type: type, keys: list | None = None, **fields: Any) -> SignedTx:
    body = body_type(FX_KEYS[name].public_key, state.get_nonce(FX_ADDRESSES[name]), **fields)
    return sign_tx(body, keys or [FX_KEYS[name]], CHAIN_ID)


def draw_step(data: st.DataObject, state: State, height: int) -> SignedTx:
    """A corridor control, a payment with or without a travel-rule hash, or an FX-history step."""
    kind = data.draw(st.sampled_from(["jurisdiction"] * 3 + ["policy"] * 3 + ["transfer"] * 6 + ["swap", "pay"] * 2 + ["fx"] * 5),
                     label="step")
    code = data.draw(st.sampled_from(CODES), label="currency")
    other = data.draw(st.sampled_from([c for c in CODES if c != code]), label="other currency")
    actor, party = data.draw(st.sampled_from(ACTORS), label="actor"), data.draw(st.sampled_from(ACTORS), label="party")
    travel = data.draw(st.sampled_from([b"", b"", TRAVEL]), label="travel-rule hash")
    amount = data.draw(st.one_of(st.integers(1, 50), st.integers(1, 3_000)), label="amount")
    signer = ISSUER_OF[code] if data.draw(st.integers(0, 9), label="not the issuer") else actor
    if kind == "jurisdiction":
        place = data.draw(st.sampled_from([*PLACES, *PLACES, "", "ZZ"]), label="jurisdiction")
        return _sign(state, signer, SetJurisdiction, currency=code, account=FX_ADDRESSES[party], jurisdiction=place)
    if kind == "policy":
        source, target = data.draw(st.sampled_from(SIDES), label="from"), data.draw(st.sampled_from([*SIDES, "XX"]), label="to")
        always = data.draw(st.integers(0, 5), label="always") == 0
        threshold = 0 if always and data.draw(st.booleans(), label="valid always") else data.draw(
            st.sampled_from([0, 0, 10, 500, 2_000]), label="threshold")
        payment_max = data.draw(st.sampled_from([0, 0, 40, 1_500, 5_000]), label="payment max")
        window_max, window_ms = data.draw(st.sampled_from([(0, 0), (0, 0), (100, 3_000), (3_000, 8_000), (6_000, 20_000),
                                                           (2_000, 1_000), (500, 0), (0, 3_000)]), label="window")
        return _sign(state, signer, SetCorridorPolicy, currency=code, from_jurisdiction=source, to_jurisdiction=target,
                     travel_rule_threshold_minor=threshold, travel_rule_always=always, payment_max_minor=payment_max,
                     window_max_minor=window_max, window_ms=window_ms)
    if kind == "transfer":
        return _sign(state, actor, Transfer, to=FX_ADDRESSES[party], currency=code, amount_minor=amount, memo="", travel_rule_hash=travel)
    if kind == "swap":
        return _sign(state, actor, Swap, keys=[FX_KEYS[actor], FX_KEYS[party]], counterparty=FX_KEYS[party].public_key,
                     give_currency=code, give_amount_minor=amount, get_currency=other,
                     get_amount_minor=data.draw(st.integers(1, 3_000), label="get amount"), expiry_height=height + 1,
                     travel_rule_hash=travel)
    if kind == "pay":
        return _sign(state, actor, Pay, to=FX_ADDRESSES[party], send_currency=code, send_max_minor=data.draw(st.integers(1, 20_000)),
                     receive_currency=other, receive_amount_minor=amount, memo="", travel_rule_hash=travel)
    return draw_tx(data, state, height)


# the model --------------------------------------------------------------------------------------------------


@dataclass
class Model:
    """Jurisdictions, policies and every amount paid through a windowed corridor, as plain dicts and lists."""

    places: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, code) -> jurisdiction
    policies: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)  # (code, from, to) -> fields
    paid: dict[tuple[str, str, str, str], tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)  # -> (bucket ms, [(t, amount)])

    def applicable(self, code: str, sender: str, recipient: str) -> list[tuple[tuple[str, str, str], dict[str, int]]]:
        if sender == recipient:
            return []
        js, jr = self.places.get((sender, code), ""), self.places.get((recipient, code), "")
        found = []
        for source, target in ((js, jr), (js, "*"), ("*", jr), ("*", "*")):
            if source and target and (code, source, target) in self.policies and (code, source, target) not in dict(found):
                found.append(((code, source, target), self.policies[(code, source, target)]))
        return found

    def _history(self, key: tuple[str, str, str], sender: str, policy: dict[str, int]) -> list[tuple[int, int]]:
        bucket_ms, history = self.paid.get((*key, sender), (0, []))
        return history if bucket_ms == corridors.bucket_ms(policy["window_ms"]) else []

    def breaks(self, code: str, sender: str, recipient: str, amount: int, travel: bytes, time_ms: int) -> str | None:
        """Which corridor rule refuses this leg ("payment max", "window", "travel rule"), from the plain history."""
        for key, policy in self.applicable(code, sender, recipient):
            if policy["payment_max_minor"] and amount > policy["payment_max_minor"]:
                return "payment max"
            if policy["window_max_minor"]:
                width = corridors.bucket_ms(policy["window_ms"])
                counted = sum(a for t, a in self._history(key, sender, policy) if t // width >= time_ms // width - corridors.WINDOW_BUCKETS)
                if counted + amount > policy["window_max_minor"]:
                    return "window"
            threshold = policy["travel_rule_threshold_minor"]
            if (policy["travel_rule_always"] or (threshold and amount > threshold)) and not travel:
                return "travel rule"
        return None

    def record(self, code: str, sender: str, recipient: str, amount: int, time_ms: int) -> None:
        for key, policy in self.applicable(code, sender, recipient):
            if not policy["window_max_minor"]:
                continue
            history = self._history(key, sender, policy) + [(time_ms, amount)]
            self.paid[(*key, sender)] = (corridors.bucket_ms(policy["window_ms"]), history)
            exact = sum(a for t, a in history if t > time_ms - policy["window_ms"])
            assert exact <= policy["window_max_minor"], f"a rolling window of {key} for {sender} holds {exact}"


def legs(tx: SignedTx, outcome: Outcome | None) -> list[tuple[str, str, str, int | None]]:
    """(currency, sender, recipient, amount) of each paying leg; a payment's send amount is None when refused."""
    body, sender = tx.body, NAME_OF[tx.sender]
    if isinstance(body, Transfer):
        return [(body.currency, sender, NAME_OF[body.to], body.amount_minor)]
    if isinstance(body, Swap):
        party = next(name for name in ACTORS if FX_KEYS[name].public_key == body.counterparty)
        return [(body.give_currency, sender, party, body.give_amount_minor), (body.get_currency, party, sender, body.get_amount_minor)]
    if isinstance(body, Pay):
        sent = outcome.events[-1]["sent_minor"] if outcome is not None and outcome.applied else None
        return [(body.receive_currency, sender, NAME_OF[body.to], body.receive_amount_minor),
                (body.send_currency, sender, NAME_OF[body.to], sent)]
    return []


def step_and_check(state: State, tx: SignedTx, context: BlockContext, totals: Totals, model: Model) -> Outcome:
    outcome = apply_and_check(state, tx, context, totals)
    body = tx.body
    if isinstance(body, SetJurisdiction) and outcome.applied:
        key = (NAME_OF[body.account], body.currency)
        model.places.pop(key, None)
        if body.jurisdiction:
            model.places[key] = body.jurisdiction
    elif isinstance(body, SetCorridorPolicy) and outcome.applied:
        key = (body.currency, body.from_jurisdiction, body.to_jurisdiction)
        fields = {name: getattr(body, name) for name in ("travel_rule_threshold_minor", "travel_rule_always", "payment_max_minor",
                                                         "window_max_minor", "window_ms")}
        note(f"corridor policy {'removed' if outcome.events[0]['removed'] else 'set'}")
        if outcome.events[0]["removed"]:
            model.policies.pop(key, None)
        else:
            model.policies[key] = fields
    elif isinstance(body, (SetJurisdiction, SetCorridorPolicy)):
        note(f"{body.TYPE} refused {outcome.refusal.code}")
    travel = getattr(body, "travel_rule_hash", b"")
    if outcome.applied:
        for code, sender, recipient, amount in legs(tx, outcome):
            assert amount is not None
            assert model.breaks(code, sender, recipient, amount, travel, context.time_ms) is None, (body, code, sender, recipient)
        for code, sender, recipient, amount in legs(tx, outcome):
            model.record(code, sender, recipient, amount, context.time_ms)
    elif outcome.refusal in (Refusal.CORRIDOR_LIMIT_EXCEEDED, Refusal.TRAVEL_RULE_REQUIRED):
        predicted = [model.breaks(code, s, r, amount, travel, context.time_ms) for code, s, r, amount in legs(tx, None) if amount is not None]
        first = next((reason for reason in predicted if reason), None)
        note(f"{body.TYPE} refused {outcome.refusal.code}: {first or 'on the send leg'}")
        assert first is not None or isinstance(body, Pay), (body, outcome.refusal)
        if first is not None:
            expected = Refusal.TRAVEL_RULE_REQUIRED if first == "travel rule" else Refusal.CORRIDOR_LIMIT_EXCEEDED
            assert outcome.refusal == expected, (body, outcome.refusal, predicted)
    check_corridor_state(state, model)
    return outcome


def check_corridor_state(state: State, model: Model) -> None:
    places = {(NAME_OF[key[4:24]], key[25:].decode()): value for key, value in state.iterate(corridors.JURISDICTION_PREFIX)}
    assert places == model.places
    for code in CODES:
        stored = {(p.currency, p.from_jurisdiction, p.to_jurisdiction) for p in corridors.policies_of(state, code)}
        assert stored == {key for key in model.policies if key[0] == code}
        assert corridors.policy_count(state, code) == len(stored)
    for _, record in state.iterate(corridors.WINDOW_PREFIX):
        assert 1 <= len(record["buckets"]) <= corridors.WINDOW_BUCKETS + 1


# the properties ---------------------------------------------------------------------------------------------

PROFILE_EXAMPLES = settings.default.max_examples


def _context(height: int) -> BlockContext:
    """Blocks 1.5 s apart, so that windows of 1 to 20 s open and close within a history."""
    return BlockContext(height, 1_700_000_000_000 + height * 1_500)


@settings(max_examples=max(1, PROFILE_EXAMPLES * 3 // 4))
@given(data=st.data(), steps=st.integers(30, 100))
def test_random_histories_with_corridors_conserve_every_currency_and_keep_every_corridor_limit(data: st.DataObject, steps: int) -> None:
    state = State(genesis_reader(GENESIS))
    totals, model = Totals(), Model()
    check_state(state, totals)
    for step in range(steps):
        height = 1 + step // 3
        tx = draw_step(data, state, height)
        step_and_check(state, tx, _context(height), totals, model)


@settings(max_examples=max(1, PROFILE_EXAMPLES // 3))
@given(data=st.data(), blocks=st.lists(st.integers(1, 8), min_size=3, max_size=10))
def test_random_histories_with_corridors_through_blocks_keep_the_state_root_exact(data: st.DataObject, blocks: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "db", GENESIS)
        try:
            totals, model = Totals(), Model()
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
                assert dict(executed.state.changes()) == dict(pending.changes()), "block execution equals the overlay"
                store.commit_block(executed, certificate_for(executed))
                assert store.tip.state_hash.root() == recompute_state_hash(store).root() == executed.block.header.state_root
                committed = State(store)
                check_state(committed, totals)
                check_corridor_state(committed, model)
        finally:
            store.close()
