"""Conservation with redemption requests in play: random histories of redemption requests, fulfilments,
rejections, cancellations and deadline changes, mixed with transfers, burns and the issuer controls that
decide who may redeem (freeze, pause, allow-list authorisation, distributor licences and distributors_only),
among a few accounts and two currencies (JPY an allow-list currency), at block times that run past the
deadlines.

After every transaction (on a State with apply_tx) and after every block (build_block + Store.commit_block):

- for each currency, supply == the sum of all balances + the amounts locked in open redemption requests,
  and no balance is negative;
- supply changes only by burns and fulfilments (a request locks without burning; a rejection or a
  cancellation returns the amount), by exactly the amounts their events name;
- a frozen account's balance never decreases; a paused currency's balances and supply never change;
- every transaction gets exactly the outcome a plain reference model predicts, and the chain's balances,
  supply, nonces and redemption records (status, deadline, lateness) equal the model's; the open indexes
  (what the API and /metrics read) hold exactly the open requests.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from corridor.ledger import redemption
from corridor.ledger.genesis import Genesis
from corridor.ledger.outcome import BlockContext
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx

from issuer_support import allow_list_genesis, set_authorization, set_distributor, set_frozen, set_paused, set_policy
from redemption_support import redeem_cancel, redeem_fulfil, redeem_reject, redeem_request, set_redemption_deadline
from unit_support import ADDRESSES, GENESIS_BALANCES, GENESIS_TIME_MS, ISSUERS, burn, commit, genesis_reader, recompute_state_hash, transfer

HOLDERS = ("usd_issuer", "jpy_issuer", "alice", "bob", "carol", "dave")
KNOWN = ("USD", "JPY")
ALLOW_LIST = ("JPY",)
NAME_OF = {ADDRESSES[name]: name for name in HOLDERS}
GENESIS: Genesis = allow_list_genesis(*ALLOW_LIST)
DEFAULT_DEADLINE_MS = 432_000_000
OPEN_MAX = 100


# ---------------------------------------------------------------------------------------------------------
# The reference model


@dataclass
class Request:
    code: str
    requester: str
    amount: int
    deadline_ms: int
    status: str = "open"
    late: bool = False


@dataclass
class Model:
    balances: dict[tuple[str, str], int]
    nonces: dict[str, int]
    supply: dict[str, int]
    paused: set[str] = field(default_factory=set)
    frozen: set[tuple[str, str]] = field(default_factory=set)
    authorized: set[tuple[str, str]] = field(default_factory=set)
    distributors: set[tuple[str, str]] = field(default_factory=set)
    distributors_only: set[str] = field(default_factory=set)
    deadline: dict[str, int] = field(default_factory=lambda: {code: DEFAULT_DEADLINE_MS for code in KNOWN})
    requests: dict[int, Request] = field(default_factory=dict)

    @classmethod
    def at_genesis(cls) -> Model:
        model = cls(balances={(n, c): 0 for n in HOLDERS for c in KNOWN}, nonces={n: 0 for n in HOLDERS},
                    supply={c: 0 for c in KNOWN})
        for name, code, amount in GENESIS_BALANCES:
            model.balances[(name, code)] += amount
            model.supply[code] += amount
        return model

    def locked(self, code: str) -> int:
        return sum(r.amount for r in self.requests.values() if r.code == code and r.status == "open")

    def open_of(self, name: str) -> int:
        return sum(1 for r in self.requests.values() if r.requester == name and r.status == "open")

    def _may(self, code: str, name: str, frozen: Refusal, unauthorized: Refusal) -> Refusal | None:
        if code in self.paused:
            return Refusal.CURRENCY_PAUSED
        if name == ISSUERS[code]:
            return None
        if (name, code) in self.frozen:
            return frozen
        if code in ALLOW_LIST and (name, code) not in self.authorized:
            return unauthorized
        return None

    def send_refusal(self, code: str, name: str) -> Refusal | None:
        return self._may(code, name, Refusal.SENDER_FROZEN, Refusal.SENDER_NOT_AUTHORIZED)

    def receive_refusal(self, code: str, name: str) -> Refusal | None:
        return self._may(code, name, Refusal.RECIPIENT_FROZEN, Refusal.RECIPIENT_NOT_AUTHORIZED)

    def apply(self, sender: str, body: Any, time_ms: int) -> Refusal | None:
        """Predict the refusal of `body`; when it applies, apply it to the model."""
        if body.nonce != self.nonces[sender]:
            return Refusal.BAD_NONCE
        refusal = self._check(sender, body)
        if refusal is None:
            self._write(sender, body, time_ms)
            self.nonces[sender] += 1
        return refusal

    def _check(self, sender: str, body: Any) -> Refusal | None:
        kind = body.TYPE
        if kind in ("redeem_fulfil", "redeem_reject", "redeem_cancel"):
            request = self.requests.get(body.redemption_id)
            if request is None:
                return Refusal.UNKNOWN_REDEMPTION
            code = request.code
            if kind == "redeem_cancel" and sender != request.requester:
                return Refusal.NOT_REDEMPTION_REQUESTER
            if kind != "redeem_cancel" and sender != ISSUERS[code]:
                return Refusal.NOT_ISSUER
            if request.status != "open":
                return Refusal.REDEMPTION_CLOSED
            if kind == "redeem_fulfil":
                return self.receive_refusal(code, request.requester)
            return Refusal.CURRENCY_PAUSED if code in self.paused else None
        code = body.currency
        if code not in KNOWN:
            return Refusal.UNKNOWN_CURRENCY
        if kind in ("set_authorization", "set_frozen", "set_paused", "set_distributor", "set_policy", "set_redemption_deadline"):
            if sender != ISSUERS[code]:
                return Refusal.NOT_ISSUER
            if kind in ("set_authorization", "set_frozen") and NAME_OF[body.account] == ISSUERS[code]:
                return Refusal.ISSUER_ACCOUNT
            return None
        if kind == "transfer":
            to = NAME_OF[body.to]
            if to == sender:
                return Refusal.SELF_TRANSFER
            refusal = self.send_refusal(code, sender) or self.receive_refusal(code, to)
            if refusal:
                return refusal
            return Refusal.INSUFFICIENT_FUNDS if self.balances[(sender, code)] < body.amount_minor else None
        if kind == "redeem_request" and sender == ISSUERS[code]:
            return Refusal.ISSUER_REDEMPTION
        refusal = self.send_refusal(code, sender)
        if refusal:
            return refusal
        if code in self.distributors_only and sender != ISSUERS[code] and (sender, code) not in self.distributors:
            return Refusal.NOT_DISTRIBUTOR
        if self.balances[(sender, code)] < body.amount_minor:
            return Refusal.INSUFFICIENT_FUNDS
        if kind == "redeem_request" and self.open_of(sender) >= OPEN_MAX:
            return Refusal.TOO_MANY_OPEN_REDEMPTIONS
        assert kind in ("burn", "redeem_request"), kind
        return None

    def _write(self, sender: str, body: Any, time_ms: int) -> None:
        kind = body.TYPE

        def flag(collection: set, item: Any, enabled: bool) -> None:
            (collection.add if enabled else collection.discard)(item)

        if kind in ("redeem_fulfil", "redeem_reject", "redeem_cancel"):
            request = self.requests[body.redemption_id]
            request.status = {"redeem_fulfil": "fulfilled", "redeem_reject": "rejected", "redeem_cancel": "cancelled"}[kind]
            request.late = kind != "redeem_cancel" and time_ms > request.deadline_ms
            if kind == "redeem_fulfil":
                self.supply[request.code] -= request.amount
            else:
                self.balances[(request.requester, request.code)] += request.amount
            return
        code = body.currency
        if kind == "transfer":
            self.balances[(sender, code)] -= body.amount_minor
            self.balances[(NAME_OF[body.to], code)] += body.amount_minor
        elif kind == "burn":
            self.balances[(sender, code)] -= body.amount_minor
            self.supply[code] -= body.amount_minor
        elif kind == "redeem_request":
            self.balances[(sender, code)] -= body.amount_minor
            self.requests[len(self.requests)] = Request(code, sender, body.amount_minor, time_ms + self.deadline[code])
        elif kind == "set_redemption_deadline":
            self.deadline[code] = body.redemption_deadline_ms
        elif kind == "set_authorization":
            flag(self.authorized, (NAME_OF[body.account], code), body.enabled)
        elif kind == "set_frozen":
            flag(self.frozen, (NAME_OF[body.account], code), body.enabled)
        elif kind == "set_paused":
            flag(self.paused, code, body.enabled)
        elif kind == "set_distributor":
            flag(self.distributors, (NAME_OF[body.account], code), body.enabled)
        else:
            assert kind == "set_policy", kind
            flag(self.distributors_only, code, body.distributors_only)


# ---------------------------------------------------------------------------------------------------------
# Steps


class Step(NamedTuple):
    kind: str
    sender: str  # a name, "@requester" or "@issuer"
    code: str
    other: str
    pick: int  # which request (among the open ones first) or which account
    amount: int | str
    flag: bool
    gap_ms: int  # block time advances by this before the step (on a State; per block in variant 2)
    nonce_offset: int = 0


KINDS = (["request"] * 6 + ["fulfil"] * 3 + ["reject"] * 2 + ["cancel"] * 2 + ["deadline"] + ["transfer"] * 3 + ["burn"]
         + ["freeze"] * 2 + ["pause"] + ["authorize"] * 2 + ["distributor"] + ["policy"])
FUNDED = ("alice",) * 4 + ("bob",) * 3 + ("carol",) * 2  # the genesis holders: alice and bob USD, alice and carol JPY
SENDERS = {  # who signs a step, biased towards those for whom it can apply (the rest: the issuer, mostly)
    "request": FUNDED + HOLDERS, "transfer": FUNDED + HOLDERS, "burn": FUNDED + HOLDERS,
    "cancel": ("@requester",) * 8 + HOLDERS + ("@issuer",),
}


def _step(kind: str) -> st.SearchStrategy[Step]:
    return st.builds(
        Step,
        kind=st.just(kind),
        sender=st.sampled_from(SENDERS.get(kind, HOLDERS + ("@issuer",) * 8)),
        code=st.sampled_from(KNOWN * 8 + ("EUR",)),
        other=st.sampled_from(HOLDERS),
        pick=st.integers(0, 9),
        amount=st.one_of(st.integers(1, 5_000), st.sampled_from(("all", "half", "over"))),
        flag=st.integers(0, 3).map(bool) if kind in ("freeze", "pause", "policy") else st.booleans(),
        gap_ms=st.sampled_from([0, 1, 500, 1_000, 5_000, 60_000]),
        nonce_offset=st.sampled_from([0] * 20 + [1, -1]),
    )


steps_strategy = st.sampled_from(KINDS).flatmap(_step)


def S(kind: str, sender: str, code: str = "USD", other: str = "alice", amount: int | str = 1, flag: bool = True,
      pick: int = 0, gap_ms: int = 1_000) -> Step:
    return Step(kind, sender, code, other, pick, amount, flag, gap_ms)


def _pick_request(step: Step, model: Model) -> int:
    """A request id: an open one mostly, sometimes a closed one, or one that does not exist."""
    open_ids = [i for i, r in model.requests.items() if r.status == "open"]
    if step.pick == 9 or not model.requests:
        return len(model.requests) + step.pick  # unknown
    pool = open_ids if open_ids and step.pick < 7 else list(model.requests)
    return pool[step.pick % len(pool)]


def build_tx(step: Step, model: Model) -> tuple[str, SignedTx]:
    code = step.code
    request_id = _pick_request(step, model) if step.kind in ("fulfil", "reject", "cancel") else None
    request = model.requests.get(request_id) if request_id is not None else None
    if step.sender == "@issuer":
        sender = ISSUERS.get(request.code if request else code, "alice")
    elif step.sender == "@requester":
        sender = request.requester if request else "alice"
    else:
        sender = step.sender
    nonce = max(0, model.nonces[sender] + step.nonce_offset)
    base = model.balances.get((sender, code), 0)
    amount = step.amount if isinstance(step.amount, int) else max(1, {"all": base, "half": base // 2, "over": base + 1}[step.amount])
    other = step.other
    if step.kind == "request":
        return sender, redeem_request(sender, nonce, code, amount)
    if step.kind == "fulfil":
        return sender, redeem_fulfil(sender, nonce, request_id, bytes([step.pick]) * 32)  # type: ignore[arg-type]
    if step.kind == "reject":
        return sender, redeem_reject(sender, nonce, request_id, bytes([step.pick + 1]) * 32)  # type: ignore[arg-type]
    if step.kind == "cancel":
        return sender, redeem_cancel(sender, nonce, request_id)  # type: ignore[arg-type]
    if step.kind == "deadline":
        return sender, set_redemption_deadline(sender, nonce, code, [1, 1_000, 3_000, 60_000, DEFAULT_DEADLINE_MS][step.pick % 5])
    if step.kind == "transfer":
        return sender, transfer(sender, nonce, other, code, amount)
    if step.kind == "burn":
        return sender, burn(sender, nonce, code, amount)
    if step.kind == "freeze":
        return sender, set_frozen(sender, nonce, code, other, step.flag)
    if step.kind == "pause":
        return sender, set_paused(sender, nonce, code, step.flag)
    if step.kind == "authorize":
        return sender, set_authorization(sender, nonce, code, other, step.flag)
    if step.kind == "distributor":
        return sender, set_distributor(sender, nonce, code, other, step.flag)
    assert step.kind == "policy"
    return sender, set_policy(sender, nonce, code, 0, 0, step.flag)


# ---------------------------------------------------------------------------------------------------------
# What the chain shows, and the invariants


@dataclass(frozen=True)
class View:
    balances: dict[tuple[str, str], int]
    supply: dict[str, int]
    nonces: dict[str, int]
    locked: dict[str, int]
    requests: dict[int, tuple[str, str, int, int, str, bool]]  # code, requester, amount, deadline, status, late
    open_index: dict[str, list[int]]  # u/o/ by currency
    account_index: dict[str, list[int]]  # u/a/ by requester


def view_of(state: State) -> View:
    currencies = {code: state.get_currency(code) for code in KNOWN}
    requests = {r.id: (r.currency, NAME_OF[r.requester], r.amount_minor, r.deadline_ms, r.status, r.late)
                for r in redemption.all_redemptions(state)}
    return View(
        balances={(n, c): state.get_balance(ADDRESSES[n], c) for n in HOLDERS for c in KNOWN},
        supply={code: c.supply_minor for code, c in currencies.items()},  # type: ignore[union-attr]
        nonces={n: state.get_nonce(ADDRESSES[n]) for n in HOLDERS},
        locked={code: redemption.locked_minor(state, code) for code in KNOWN},
        requests=requests,
        open_index={code: [r.id for r in redemption.open_redemptions(state, code)] for code in KNOWN},
        account_index={n: [r.id for r in redemption.open_redemptions_of(state, ADDRESSES[n])] for n in HOLDERS},
    )


def assert_conserved(view: View) -> None:
    for code in KNOWN:
        balances = [view.balances[(n, code)] for n in HOLDERS]
        assert all(b >= 0 for b in balances), balances
        assert view.supply[code] == sum(balances) + view.locked[code], (code, view.supply[code], sum(balances), view.locked[code])
    for rid, (code, requester, amount, _, status, _) in view.requests.items():
        assert (rid in view.open_index[code]) == (status == "open") == (rid in view.account_index[requester]), rid


def assert_matches_model(view: View, model: Model) -> None:
    assert view.balances == model.balances
    assert view.supply == model.supply
    assert view.nonces == model.nonces
    assert view.requests == {i: (r.code, r.requester, r.amount, r.deadline_ms, r.status, r.late) for i, r in model.requests.items()}
    assert view.locked == {code: model.locked(code) for code in KNOWN}


def supply_change_of(events: tuple[dict[str, Any], ...], code: str) -> int:
    """What the events say happened to the supply of `code`: burns and fulfilments lower it."""
    return -sum(e["amount_minor"] for e in events if e.get("currency") == code and e["kind"] in ("burn", "redemption_fulfilled"))


def assert_step(before: View, after: View, model_before: Model, body: Any, applied: bool, events: tuple[dict[str, Any], ...]) -> None:
    assert_conserved(after)
    if not applied:
        assert after == before and events == ()
        return
    for code in KNOWN:
        assert after.supply[code] - before.supply[code] == supply_change_of(events, code), (code, body)
        for name in HOLDERS:
            delta = after.balances[(name, code)] - before.balances[(name, code)]
            if (name, code) in model_before.frozen and name != ISSUERS[code]:
                assert delta >= 0, f"frozen {name} lost {-delta} {code} through {body.TYPE}"
            if code in model_before.paused:
                assert delta == 0, f"{code} is paused, yet {name}'s balance changed through {body.TYPE}"
        if code in model_before.paused:
            assert after.supply[code] == before.supply[code]


# ---------------------------------------------------------------------------------------------------------
# Variant 1: apply_tx on a State, invariants after every transaction

STORY = [  # every redemption transaction and every refusal it introduced, in one history
    S("request", "alice", amount=10_000),  # id 0
    S("request", "usd_issuer"),  # issuer_redemption
    S("request", "dave"),  # insufficient_funds
    S("request", "alice", "EUR"),  # unknown_currency
    S("cancel", "bob", pick=0),  # not_redemption_requester
    S("fulfil", "alice", pick=0),  # not_issuer
    S("fulfil", "@issuer", pick=9),  # unknown_redemption
    S("cancel", "@requester", pick=0),
    S("cancel", "@requester", pick=8),  # redemption_closed
    S("deadline", "@issuer", pick=1),  # 1 s
    S("request", "alice", amount=2_000),  # id 1
    S("fulfil", "@issuer", pick=0, gap_ms=5_000),  # late
    S("request", "bob", amount="half"),  # id 2
    S("freeze", "@issuer", other="bob"),
    S("fulfil", "@issuer", pick=0),  # recipient_frozen
    S("reject", "@issuer", pick=0),  # back to the frozen balance
    S("request", "bob", amount=1),  # sender_frozen
    S("freeze", "@issuer", other="bob", flag=False),
    S("request", "alice", amount=3),  # id 3
    S("pause", "@issuer"),
    S("cancel", "@requester", pick=0),  # currency_paused
    S("reject", "@issuer", pick=0),  # currency_paused
    S("fulfil", "@issuer", pick=0),  # currency_paused
    S("pause", "@issuer", flag=False),
    S("fulfil", "@issuer", pick=0, gap_ms=0),
    S("request", "carol", "JPY", amount=10),  # sender_not_authorized
    S("authorize", "@issuer", "JPY", other="carol"),
    S("policy", "@issuer", "JPY", flag=True),
    S("request", "carol", "JPY", amount=10),  # not_distributor
    S("distributor", "@issuer", "JPY", other="carol"),
    S("request", "carol", "JPY", amount=10),  # id 4
    S("authorize", "@issuer", "JPY", other="carol", flag=False),
    S("fulfil", "@issuer", "JPY", pick=0),  # recipient_not_authorized
    S("reject", "@issuer", "JPY", pick=0),
]


def run_on_state(steps: list[Step], in_hypothesis: bool = True) -> dict[str, int]:
    state = State(genesis_reader(GENESIS))
    model = Model.at_genesis()
    seen: dict[str, int] = {}
    view = view_of(state)
    assert_matches_model(view, model)
    time_ms = GENESIS_TIME_MS
    for height, step in enumerate(steps, start=1):
        time_ms += step.gap_ms
        sender, tx = build_tx(step, model)
        model_before = copy.deepcopy(model)
        expected = model.apply(sender, tx.body, time_ms)
        outcome = apply_tx(state, tx, BlockContext(height, time_ms))
        label = f"{tx.body.TYPE}: {expected.code if expected else 'applied'}"
        seen[label] = seen.get(label, 0) + 1
        if in_hypothesis:
            event(label)
        assert outcome.refusal == expected, (step, tx.body)
        after = view_of(state)
        assert_step(view, after, model_before, tx.body, outcome.applied, outcome.events)
        assert_matches_model(after, model)
        view = after
    return seen


def test_the_story_reaches_every_redemption_refusal() -> None:
    seen = run_on_state(STORY, in_hypothesis=False)
    codes = {label.split(": ")[1] for label in seen}
    assert codes >= {
        "applied", "issuer_redemption", "insufficient_funds", "unknown_currency", "not_redemption_requester", "not_issuer",
        "unknown_redemption", "redemption_closed", "recipient_frozen", "sender_frozen", "currency_paused",
        "sender_not_authorized", "not_distributor", "recipient_not_authorized",
    }, seen
    applied = {label.split(": ")[0] for label in seen if label.endswith("applied")}
    assert applied >= {"redeem_request", "redeem_fulfil", "redeem_reject", "redeem_cancel", "set_redemption_deadline"}


def test_too_many_open_requests() -> None:
    seen = run_on_state([S("request", "alice", gap_ms=0)] * 101, in_hypothesis=False)
    assert seen == {"redeem_request: applied": 100, "redeem_request: too_many_open_redemptions": 1}


@settings(max_examples=150)
@given(st.lists(steps_strategy, min_size=10, max_size=60))
@example(STORY)
def test_every_transaction_conserves_supply_with_locked_redemptions(steps: list[Step]) -> None:
    run_on_state(steps)


# ---------------------------------------------------------------------------------------------------------
# Variant 2: blocks through build_block and Store.commit_block, invariants after every block


@settings(max_examples=30)
@given(st.lists(st.lists(steps_strategy, max_size=10), min_size=1, max_size=8))
@example([STORY[:11], [], STORY[11:24], STORY[24:]])
def test_committed_blocks_conserve_supply_with_locked_redemptions(blocks: list[list[Step]]) -> None:
    model = Model.at_genesis()
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory) / "db", GENESIS)
        try:
            before = view_of(State(store))
            time_ms = store.tip.time_ms
            for steps in blocks:
                time_ms += 1_000 + sum(step.gap_ms for step in steps)
                planned = []
                for step in steps:
                    sender, tx = build_tx(step, model)
                    model_before = copy.deepcopy(model)
                    planned.append((tx, model.apply(sender, tx.body, time_ms), model_before))
                executed, left_out = commit(store, [tx for tx, _, _ in planned], time_ms)
                assert [tx.hash for tx in executed.block.txs] == [tx.hash for tx, r, _ in planned if r is None]
                assert [(i.tx.hash, i.refusal) for i in left_out] == [(tx.hash, r) for tx, r, _ in planned if r is not None]
                after = view_of(State(store))
                assert_conserved(after)
                assert_matches_model(after, model)
                events = tuple(e for receipt in executed.receipts for e in receipt.events)
                for code in KNOWN:
                    assert after.supply[code] - before.supply[code] == supply_change_of(events, code)
                assert store.tip.state_hash.to_bytes() == recompute_state_hash(store).to_bytes()
                before = after
        finally:
            store.close()
