"""Conservation with the issuer controls in play: random sequences of transfers (with and without a
travel-rule hash), mints, burns, attestations and every control (authorise, freeze, clawback, pause,
distributor licence, policy) among a few accounts and two currencies, one of them an allow-list currency.

After every transaction (on a State with apply_tx) and after every block (build_block + Store.commit_block):

- for each currency, supply == the sum of all balances, and no balance is negative;
- the sum of balances changes only by successful mints and burns (transfers and clawbacks conserve it);
- a frozen account's balance never decreases, except by a clawback of exactly the clawed amount;
- a paused currency's balances never change, not even by a clawback;
- every transaction gets exactly the outcome a plain reference model of the rules predicts, and the chain's
  balances, supply, nonces, holder records, licences and policies equal the model's.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import Phase, event, example, given, settings
from hypothesis import strategies as st

from corridor import codec
from corridor.ledger import licences
from corridor.ledger.genesis import Genesis
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx

from issuer_support import (
    TRAVEL_HASH,
    allow_list_genesis,
    clawback,
    set_authorization,
    set_distributor,
    set_frozen,
    set_paused,
    set_policy,
    transfer_tr,
)
from unit_support import (
    ADDRESSES,
    AUDITORS,
    GENESIS_BALANCES,
    ISSUERS,
    JPY_RESERVE_MINOR,
    USD_RESERVE_MINOR,
    attest,
    burn,
    commit,
    context,
    genesis_reader,
    mint,
    recompute_state_hash,
)

HOLDERS = ("usd_issuer", "jpy_issuer", "alice", "bob", "carol", "dave", "usd_auditor", "jpy_auditor")
KNOWN = ("USD", "JPY")
ALLOW_LIST = ("JPY",)  # JPY holders need authorisation; USD is open
NAME_OF = {ADDRESSES[name]: name for name in HOLDERS}
GENESIS: Genesis = allow_list_genesis(*ALLOW_LIST)
ISSUER_ONLY = {"mint", "attest", "authorize", "freeze", "clawback", "pause", "distributor", "policy"}


# ---------------------------------------------------------------------------------------------------------
# The reference model


@dataclass
class Model:
    """The rules written as plainly as possible, over dicts and sets of names."""

    balances: dict[tuple[str, str], int]
    nonces: dict[str, int]
    supply: dict[str, int]
    reserve: dict[str, int]
    paused: set[str] = field(default_factory=set)
    frozen: set[tuple[str, str]] = field(default_factory=set)
    authorized: set[tuple[str, str]] = field(default_factory=set)
    distributors: set[tuple[str, str]] = field(default_factory=set)
    cap: dict[str, int] = field(default_factory=lambda: {code: 0 for code in KNOWN})
    threshold: dict[str, int] = field(default_factory=lambda: {code: 0 for code in KNOWN})
    distributors_only: set[str] = field(default_factory=set)

    @classmethod
    def at_genesis(cls) -> Model:
        model = cls(
            balances={(name, code): 0 for name in HOLDERS for code in (*KNOWN, "EUR")},
            nonces={name: 0 for name in HOLDERS},
            supply={code: 0 for code in KNOWN},
            reserve={"USD": USD_RESERVE_MINOR, "JPY": JPY_RESERVE_MINOR},
        )
        for name, code, amount in GENESIS_BALANCES:
            model.balances[(name, code)] += amount
            model.supply[code] += amount
        return model

    def frozen_in_effect(self, name: str, code: str) -> bool:
        """The issuer is never frozen for its own currency (refusal_to_send's documented exemption)."""
        return (name, code) in self.frozen and ISSUERS[code] != name

    def _send_refusal(self, code: str, name: str) -> Refusal | None:
        if code in self.paused:
            return Refusal.CURRENCY_PAUSED
        if name == ISSUERS[code]:
            return None
        if (name, code) in self.frozen:
            return Refusal.SENDER_FROZEN
        if code in ALLOW_LIST and (name, code) not in self.authorized:
            return Refusal.SENDER_NOT_AUTHORIZED
        return None

    def _receive_refusal(self, code: str, name: str) -> Refusal | None:
        if code in self.paused:
            return Refusal.CURRENCY_PAUSED
        if name == ISSUERS[code]:
            return None
        if (name, code) in self.frozen:
            return Refusal.RECIPIENT_FROZEN
        if code in ALLOW_LIST and (name, code) not in self.authorized:
            return Refusal.RECIPIENT_NOT_AUTHORIZED
        return None

    def _may_distribute(self, code: str, name: str) -> bool:
        return code not in self.distributors_only or name == ISSUERS[code] or (name, code) in self.distributors

    def apply(self, sender: str, tx: SignedTx) -> Refusal | None:
        """Predict the refusal of `tx`; when it applies, apply it to the model."""
        refusal = self._check(sender, tx.body)
        if refusal is None:
            self._write(sender, tx.body)
            self.nonces[sender] += 1
        return refusal

    def _check(self, sender: str, body: Any) -> Refusal | None:
        if body.nonce != self.nonces[sender]:
            return Refusal.BAD_NONCE
        code = body.currency
        if code not in KNOWN:
            return Refusal.UNKNOWN_CURRENCY
        kind = body.TYPE
        if kind == "attest_reserve":  # as of genesis time, as the genesis attestation: never out of order
            return None if sender == AUDITORS[code] else Refusal.NOT_AUDITOR
        if kind not in ("transfer", "burn") and sender != ISSUERS[code]:
            return Refusal.NOT_ISSUER
        if kind in ("set_authorization", "set_frozen") and NAME_OF[body.account] == ISSUERS[code]:
            return Refusal.ISSUER_ACCOUNT
        if kind == "transfer":
            to = NAME_OF[body.to]
            if to == sender:
                return Refusal.SELF_TRANSFER
            refusal = self._send_refusal(code, sender) or self._receive_refusal(code, to)
            if refusal:
                return refusal
            if self.cap[code] and body.amount_minor > self.cap[code]:
                return Refusal.EXCEEDS_TRANSFER_LIMIT
            if self.threshold[code] and body.amount_minor > self.threshold[code] and not body.travel_rule_hash:
                return Refusal.TRAVEL_RULE_REQUIRED
            if self.balances[(sender, code)] < body.amount_minor:
                return Refusal.INSUFFICIENT_FUNDS
        elif kind == "mint":
            to = NAME_OF[body.to]
            refusal = self._receive_refusal(code, to)
            if refusal:
                return refusal
            if not self._may_distribute(code, to):
                return Refusal.NOT_DISTRIBUTOR
            if self.supply[code] + body.amount_minor > self.reserve[code]:
                return Refusal.EXCEEDS_RESERVES
        elif kind == "burn":
            refusal = self._send_refusal(code, sender)
            if refusal:
                return refusal
            if not self._may_distribute(code, sender):
                return Refusal.NOT_DISTRIBUTOR
            if self.balances[(sender, code)] < body.amount_minor:
                return Refusal.INSUFFICIENT_FUNDS
        elif kind == "clawback":
            account = NAME_OF[body.account]
            if code in self.paused:
                return Refusal.CURRENCY_PAUSED
            if account == ISSUERS[code]:
                return Refusal.ISSUER_ACCOUNT
            if (account, code) not in self.frozen:
                return Refusal.ACCOUNT_NOT_FROZEN
            if self.balances[(account, code)] < body.amount_minor:
                return Refusal.INSUFFICIENT_FUNDS
        return None

    def _write(self, sender: str, body: Any) -> None:
        code, kind = body.currency, body.TYPE

        def flag(collection: set, item: Any, enabled: bool) -> None:
            (collection.add if enabled else collection.discard)(item)

        if kind == "transfer":
            self.balances[(sender, code)] -= body.amount_minor
            self.balances[(NAME_OF[body.to], code)] += body.amount_minor
        elif kind == "mint":
            self.balances[(NAME_OF[body.to], code)] += body.amount_minor
            self.supply[code] += body.amount_minor
        elif kind == "burn":
            self.balances[(sender, code)] -= body.amount_minor
            self.supply[code] -= body.amount_minor
            self.reserve[code] = max(0, self.reserve[code] - body.amount_minor)  # paid out of the reserve
        elif kind == "attest_reserve":
            self.reserve[code] = body.reserve_minor
        elif kind == "set_authorization":
            flag(self.authorized, (NAME_OF[body.account], code), body.enabled)
        elif kind == "set_frozen":
            flag(self.frozen, (NAME_OF[body.account], code), body.enabled)
        elif kind == "clawback":
            self.balances[(NAME_OF[body.account], code)] -= body.amount_minor
            self.balances[(ISSUERS[code], code)] += body.amount_minor
        elif kind == "set_paused":
            flag(self.paused, code, body.enabled)
        elif kind == "set_distributor":
            flag(self.distributors, (NAME_OF[body.account], code), body.enabled)
        else:
            assert kind == "set_policy", kind
            self.cap[code], self.threshold[code] = body.transfer_max_minor, body.travel_rule_threshold_minor
            flag(self.distributors_only, code, body.distributors_only)


# ---------------------------------------------------------------------------------------------------------
# Steps: drawn as plain descriptions, turned into signed transactions against the model's current state


class Step(NamedTuple):
    kind: str
    sender: str  # a name, or a selector (SELECTORS); ignored when `by_issuer` picks the currency's issuer
    by_issuer: bool
    code: str
    other: str  # the recipient or the account a control names: a name or a selector
    pick: int  # which of the accounts a selector matches
    amount: int | str  # an amount, or one relative to the relevant balance / policy (RELATIVE)
    flag: bool  # enabled, distributors_only, or "carries a travel-rule hash"
    cap: int
    threshold: int
    nonce_offset: int = 0


KINDS = (
    ["transfer"] * 8 + ["mint"] * 3 + ["burn"] * 3 + ["attest"]
    + ["authorize"] * 3 + ["freeze"] * 3 + ["clawback"] * 3 + ["pause"] * 2 + ["distributor"] * 2 + ["policy"] * 3
)
RELATIVE = ("all", "half", "over", "cap", "cap+1", "threshold", "threshold+1")
SELECTORS = ("@funded", "@frozen", "@distributor")  # resolved against the model when the step is built

OTHERS = HOLDERS + ("@frozen",) * 3 + ("@funded",) * 5 + ("@distributor",) * 2
OTHERS_BY_KIND = {  # whom a step names, biased towards accounts where the step does something
    "clawback": HOLDERS + ("@frozen",) * 12,
    "freeze": HOLDERS + ("@funded",) * 6 + ("@frozen",) * 3,
}


def _step_of_kind(kind: str) -> st.SearchStrategy[Step]:
    return st.builds(
        Step,
        kind=st.just(kind),
        sender=st.sampled_from(HOLDERS + ("@funded",) * 5 + ("@frozen",) * 2 + ("@distributor",)),
        by_issuer=st.integers(0, 7).map(bool),
        code=st.sampled_from(KNOWN * 10 + ("EUR",)),
        other=st.sampled_from(OTHERS_BY_KIND.get(kind, OTHERS)),
        pick=st.integers(0, 5),
        amount=st.one_of(st.integers(1, 3_000), st.sampled_from(RELATIVE)),
        flag=st.integers(0, 2).map(bool) if kind in ("freeze", "authorize") else st.booleans(),
        cap=st.sampled_from([0, 0, 800, 5_000, 100_000]),
        threshold=st.sampled_from([0, 0, 500, 4_000]),
        nonce_offset=st.sampled_from([0] * 15 + [1, -1]),
    )


steps_strategy = st.sampled_from(KINDS).flatmap(_step_of_kind)


def S(kind: str, sender: str, code: str, other: str = "alice", amount: int | str = 1, flag: bool = True,
      cap: int = 0, threshold: int = 0) -> Step:
    """A hand-written step (for explicit examples): signed by `sender` as given."""
    return Step(kind, sender, False, code, other, 0, amount, flag, cap, threshold)


def resolve_name(selector: str, step: Step, model: Model, shift: int = 0) -> str:
    """A name as is; a selector as one of the accounts it matches now (any account when none does)."""
    if selector in HOLDERS:
        return selector
    code = step.code
    matching = {
        "@funded": [n for n in HOLDERS if model.balances[(n, code)] > 0],
        # frozen accounts that hold some of the currency first: those are the ones a clawback can take from
        "@frozen": [n for n in HOLDERS if (n, code) in model.frozen and model.balances[(n, code)] > 0]
        or [n for n in HOLDERS if (n, code) in model.frozen],
        "@distributor": [n for n in HOLDERS if (n, code) in model.distributors],
    }[selector]
    pool = matching or list(HOLDERS)
    return pool[(step.pick + shift) % len(pool)]


def resolve_amount(step: Step, model: Model, sender: str, other: str) -> int:
    if isinstance(step.amount, int):
        return step.amount
    code = step.code
    if step.kind == "mint":
        base = model.reserve.get(code, 0) - model.supply.get(code, 0)
    elif step.kind == "clawback":
        base = model.balances[(other, code)]
    else:
        base = model.balances[(sender, code)]
    value = {
        "all": base,
        "half": base // 2,
        "over": base + 1,
        "cap": model.cap.get(code, 0),
        "cap+1": model.cap.get(code, 0) + 1,
        "threshold": model.threshold.get(code, 0),
        "threshold+1": model.threshold.get(code, 0) + 1,
    }[step.amount]
    return max(1, value)


def build_tx(step: Step, model: Model) -> tuple[str, SignedTx]:
    """The signer and the signed transaction the step describes, given the model's nonces and balances."""
    if step.kind in ISSUER_ONLY and step.by_issuer and step.code in ISSUERS:
        sender = (AUDITORS if step.kind == "attest" else ISSUERS)[step.code]  # the auditor attests, not the issuer
    else:
        sender = resolve_name(step.sender, step, model)
    other = resolve_name(step.other, step, model, shift=1)
    nonce = max(0, model.nonces[sender] + step.nonce_offset)
    amount = resolve_amount(step, model, sender, other)
    code = step.code
    if step.kind == "transfer":
        return sender, transfer_tr(sender, nonce, other, code, amount, TRAVEL_HASH if step.flag else b"")
    if step.kind == "mint":
        return sender, mint(sender, nonce, other, code, amount)
    if step.kind == "burn":
        return sender, burn(sender, nonce, code, amount)
    if step.kind == "attest":
        return sender, attest(sender, nonce, code, max(0, model.supply.get(code, 0) + amount - 1_500))
    if step.kind == "authorize":
        return sender, set_authorization(sender, nonce, code, other, step.flag)
    if step.kind == "freeze":
        return sender, set_frozen(sender, nonce, code, other, step.flag)
    if step.kind == "clawback":
        return sender, clawback(sender, nonce, code, other, amount)
    if step.kind == "pause":
        return sender, set_paused(sender, nonce, code, step.flag)
    if step.kind == "distributor":
        return sender, set_distributor(sender, nonce, code, other, step.flag)
    assert step.kind == "policy"
    return sender, set_policy(sender, nonce, code, step.cap, step.threshold, step.flag)


# ---------------------------------------------------------------------------------------------------------
# What the chain shows, and the invariants


@dataclass(frozen=True)
class View:
    balances: dict[tuple[str, str], int]
    supply: dict[str, int]
    nonces: dict[str, int]
    frozen: frozenset[tuple[str, str]]
    authorized: frozenset[tuple[str, str]]
    distributors: frozenset[tuple[str, str]]
    policy: dict[str, tuple[int, int, bool, bool, int]]  # cap, threshold, distributors_only, paused, reserve


def view_of(state: State) -> View:
    pairs = [(name, code) for name in HOLDERS for code in KNOWN]
    currencies = {code: state.get_currency(code) for code in KNOWN}
    return View(
        balances={(name, code): state.get_balance(ADDRESSES[name], code) for name in HOLDERS for code in (*KNOWN, "EUR")},
        supply={code: c.supply_minor for code, c in currencies.items()},
        nonces={name: state.get_nonce(ADDRESSES[name]) for name in HOLDERS},
        frozen=frozenset(p for p in pairs if state.get_holder(ADDRESSES[p[0]], p[1]).frozen),
        authorized=frozenset(p for p in pairs if state.get_holder(ADDRESSES[p[0]], p[1]).authorized),
        distributors=frozenset(p for p in pairs if licences.get_licence(state, p[1], ADDRESSES[p[0]], "distribute") is not None),
        policy={
            code: (c.transfer_max_minor, c.travel_rule_threshold_minor, c.distributors_only, c.paused, c.reserve_minor)
            for code, c in currencies.items()
        },
    )


def assert_matches_model(view: View, model: Model) -> None:
    assert view.balances == model.balances
    assert view.supply == model.supply
    assert view.nonces == model.nonces
    assert view.frozen == model.frozen
    assert view.authorized == model.authorized
    assert view.distributors == model.distributors
    for code in KNOWN:
        expected = (model.cap[code], model.threshold[code], code in model.distributors_only, code in model.paused, model.reserve[code])
        assert view.policy[code] == expected, code


def sum_of(balances: dict[tuple[str, str], int], code: str) -> int:
    return sum(balances[(name, code)] for name in HOLDERS)


def total(view: View, code: str) -> int:
    return sum_of(view.balances, code)


def assert_conserved(view: View) -> None:
    for code in KNOWN:
        balances = [view.balances[(name, code)] for name in HOLDERS]
        assert all(b >= 0 for b in balances), f"negative {code} balance: {balances}"
        assert view.supply[code] == sum(balances), f"{code} supply {view.supply[code]} != sum of balances {sum(balances)}"
    assert all(view.balances[(name, "EUR")] == 0 for name in HOLDERS)


def total_change_of(events: tuple[dict[str, Any], ...] | list[dict[str, Any]], code: str) -> int:
    """How much a transaction's events say the total of `code` changed: only mints and burns count."""
    change = 0
    for item in events:
        if item["currency"] == code and item["kind"] == "mint":
            change += item["amount_minor"]
        elif item["currency"] == code and item["kind"] == "burn":
            change -= item["amount_minor"]
    return change


def assert_step_invariants(before: View, after: View, model_before: Model, tx: SignedTx, applied: bool,
                           events: tuple[dict[str, Any], ...], strict_pause: bool) -> None:
    """The per-transaction invariants between two views of the chain, `model_before` giving the flags in force."""
    assert_conserved(after)
    body = tx.body
    if not applied:
        assert after == before, "a refused transaction changed the state"
        assert events == ()
        return
    for code in KNOWN:
        expected_change = 0
        if body.currency == code and body.TYPE == "mint":
            expected_change = body.amount_minor
        elif body.currency == code and body.TYPE == "burn":
            expected_change = -body.amount_minor
        assert total(after, code) - total(before, code) == expected_change == total_change_of(events, code), (code, body)
    clawed = NAME_OF[body.account] if body.TYPE == "clawback" else None
    for name in HOLDERS:
        for code in KNOWN:
            delta = after.balances[(name, code)] - before.balances[(name, code)]
            if model_before.frozen_in_effect(name, code):
                if clawed == name and body.currency == code:
                    assert delta == -body.amount_minor, (name, code, body)
                else:
                    assert delta >= 0, f"frozen {name} lost {-delta} {code} through {body.TYPE}"
            if code in model_before.paused and not (body.TYPE == "clawback" and not strict_pause):
                assert delta == 0, f"{code} is paused, yet {name}'s balance changed by {delta} through {body.TYPE}"


# ---------------------------------------------------------------------------------------------------------
# Variant 1: apply_tx on a State, invariants after every transaction

STORY = [  # every control and every new refusal, in one deterministic history
    S("policy", "usd_issuer", "USD", cap=800, threshold=500, flag=False),
    S("transfer", "alice", "USD", "bob", "cap", flag=True),
    S("transfer", "alice", "USD", "bob", "cap+1", flag=True),  # exceeds_transfer_limit
    S("transfer", "alice", "USD", "bob", "threshold+1", flag=False),  # travel_rule_required
    S("freeze", "usd_issuer", "USD", "bob"),
    S("transfer", "bob", "USD", "alice", 5),  # sender_frozen
    S("transfer", "alice", "USD", "bob", 5),  # recipient_frozen
    S("mint", "usd_issuer", "USD", "bob", 5),  # recipient_frozen
    S("burn", "bob", "USD", amount=5),  # sender_frozen
    S("clawback", "usd_issuer", "USD", "bob", "half"),
    S("clawback", "usd_issuer", "USD", "bob", "over"),  # insufficient_funds
    S("clawback", "usd_issuer", "USD", "alice", 1),  # account_not_frozen
    S("clawback", "alice", "USD", "bob", 1),  # not_issuer
    S("freeze", "usd_issuer", "USD", "bob", flag=False),
    S("pause", "usd_issuer", "USD"),
    S("transfer", "alice", "USD", "bob", 1),  # currency_paused
    S("attest", "usd_auditor", "USD", amount=3_000),
    S("attest", "usd_issuer", "USD", amount=3_000),  # not_auditor
    S("pause", "usd_issuer", "USD", flag=False),
    S("transfer", "carol", "JPY", "dave", 1),  # sender_not_authorized
    S("authorize", "jpy_issuer", "JPY", "carol"),
    S("transfer", "carol", "JPY", "dave", 1),  # recipient_not_authorized
    S("authorize", "jpy_issuer", "JPY", "dave"),
    S("transfer", "carol", "JPY", "dave", 10),
    S("policy", "jpy_issuer", "JPY", flag=True),
    S("mint", "jpy_issuer", "JPY", "dave", 10),  # not_distributor
    S("distributor", "jpy_issuer", "JPY", "dave"),
    S("mint", "jpy_issuer", "JPY", "dave", 10),
    S("burn", "dave", "JPY", amount=15),
    S("distributor", "jpy_issuer", "JPY", "dave", flag=False),
    S("burn", "dave", "JPY", amount=1),  # not_distributor
    S("authorize", "jpy_issuer", "JPY", "carol", flag=False),
]
PAUSED_CLAWBACK = [
    S("freeze", "usd_issuer", "USD", "alice"),
    S("pause", "usd_issuer", "USD"),
    S("clawback", "usd_issuer", "USD", "alice", 1_000),
]


def run_on_state(steps: list[Step], strict_pause: bool, in_hypothesis: bool = True) -> dict[str, int]:
    state = State(genesis_reader(GENESIS))
    model = Model.at_genesis()
    refusals: dict[str, int] = {}
    view = view_of(state)
    assert_matches_model(view, model)
    for height, step in enumerate(steps, start=1):
        sender, tx = build_tx(step, model)
        model_before = _copy(model)
        expected = model.apply(sender, tx)
        outcome = apply_tx(state, tx, context(height))
        label = f"{tx.body.TYPE}: {expected.code if expected else 'applied'}"
        refusals[label] = refusals.get(label, 0) + 1
        if in_hypothesis:
            event(label)
        assert outcome.refusal == expected, (step, tx.body)
        after = view_of(state)
        assert_step_invariants(view, after, model_before, tx, outcome.applied, outcome.events, strict_pause)
        assert_matches_model(after, model)
        view = after
    return refusals


def _copy(model: Model) -> Model:
    return Model(
        balances=dict(model.balances), nonces=dict(model.nonces), supply=dict(model.supply), reserve=dict(model.reserve),
        paused=set(model.paused), frozen=set(model.frozen), authorized=set(model.authorized),
        distributors=set(model.distributors), cap=dict(model.cap), threshold=dict(model.threshold),
        distributors_only=set(model.distributors_only),
    )


def test_the_story_reaches_every_new_refusal() -> None:
    seen = run_on_state(STORY, strict_pause=True, in_hypothesis=False)
    codes = {label.split(": ")[1] for label in seen}
    assert codes >= {
        "applied", "exceeds_transfer_limit", "travel_rule_required", "sender_frozen", "recipient_frozen",
        "insufficient_funds", "account_not_frozen", "not_issuer", "currency_paused", "sender_not_authorized",
        "recipient_not_authorized", "not_distributor", "not_auditor",
    }, seen
    types = {label.split(": ")[0] for label in seen if label.endswith("applied")}
    assert types == {"transfer", "mint", "burn", "attest_reserve", "set_authorization", "set_frozen", "clawback",
                     "set_paused", "set_distributor", "set_policy"}


@settings(max_examples=150)
@given(st.lists(steps_strategy, min_size=10, max_size=60))
@example(STORY)
@example(PAUSED_CLAWBACK)
def test_every_transaction_conserves_supply_and_respects_freezes_and_pauses(steps: list[Step]) -> None:
    # A clawback in a paused currency is let through here; the strict variant below shows it as a bug.
    run_on_state(steps, strict_pause=False)


@settings(phases=[Phase.explicit])
@given(st.lists(steps_strategy))
@example(PAUSED_CLAWBACK)
def test_a_paused_currency_balances_never_change_even_by_clawback(steps: list[Step]) -> None:
    run_on_state(steps, strict_pause=True)


# ---------------------------------------------------------------------------------------------------------
# Variant 2: blocks through build_block and Store.commit_block, invariants after every block


def _iterate(store: Store, prefix: bytes) -> Any:
    """Committed state entries under `prefix` (Store.iterate, named iterate_state in older trees)."""
    walk = getattr(store, "iterate", None) or getattr(store, "iterate_state")
    return walk(prefix)


def _committed_balances(store: Store) -> dict[tuple[bytes, str], int]:
    result = {}
    for key, value in _iterate(store, b"b/"):
        result[(key[2:22], key[23:].decode())] = codec.decode(value, 64)
    return result


def replay_events(balances: dict[tuple[str, str], int], events: tuple[dict[str, Any], ...]) -> None:
    """Apply a receipt's events to a balance map: what the chain says each transaction moved."""
    for item in events:
        code, kind = item["currency"], item["kind"]
        if kind in ("transfer", "clawback"):
            balances[(NAME_OF[item["from"]], code)] -= item["amount_minor"]
            balances[(NAME_OF[item["to"]], code)] += item["amount_minor"]
        elif kind == "mint":
            balances[(NAME_OF[item["to"]], code)] += item["amount_minor"]
        elif kind == "burn":
            balances[(NAME_OF[item["from"]], code)] -= item["amount_minor"]


@settings(max_examples=30)
@given(st.lists(st.lists(steps_strategy, max_size=10), min_size=1, max_size=8))
@example([STORY[:12], [], STORY[12:]])
def test_committed_blocks_conserve_supply_and_keep_the_state_root_exact(blocks: list[list[Step]]) -> None:
    model = Model.at_genesis()
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory) / "db", GENESIS)
        try:
            before = view_of(State(store))
            assert_matches_model(before, model)
            for steps in blocks:
                planned = []  # (tx, expected refusal, the model before it)
                for step in steps:
                    sender, tx = build_tx(step, model)
                    model_before = _copy(model)
                    planned.append((tx, model.apply(sender, tx), model_before))
                executed, left_out = commit(store, [tx for tx, _, _ in planned])
                assert [tx.hash for tx in executed.block.txs] == [tx.hash for tx, r, _ in planned if r is None]
                assert [(item.tx.hash, item.refusal) for item in left_out] == [(tx.hash, r) for tx, r, _ in planned if r is not None]

                # Per transaction, from the receipts: the same invariants as on a State.
                running = dict(before.balances)
                receipts = iter(executed.receipts)
                for tx, refusal, model_before in planned:
                    if refusal is not None:
                        continue
                    receipt = next(receipts)
                    assert receipt.tx_hash == tx.hash and receipt.code == "ok"
                    step_before = dict(running)
                    replay_events(running, receipt.events)
                    assert all(v >= 0 for v in running.values())
                    for code in KNOWN:
                        change = sum_of(running, code) - sum_of(step_before, code)
                        assert change == total_change_of(receipt.events, code)
                        if tx.body.TYPE not in ("mint", "burn"):
                            assert change == 0
                    clawed = NAME_OF[tx.body.account] if tx.body.TYPE == "clawback" else None
                    for (name, code), amount in running.items():
                        delta = amount - step_before[(name, code)]
                        if code in KNOWN and model_before.frozen_in_effect(name, code) and clawed != name:
                            assert delta >= 0, (name, code, tx.body)
                        if code in model_before.paused and tx.body.TYPE != "clawback":
                            assert delta == 0, (name, code, tx.body)

                # Per block, from the store.
                after = view_of(State(store))
                assert after.balances == running
                assert_conserved(after)
                assert_matches_model(after, model)
                stored = _committed_balances(store)
                assert all(amount > 0 for amount in stored.values()), "a zero balance must be deleted, never stored"
                for code in KNOWN:
                    assert after.supply[code] == sum(a for (_, c), a in stored.items() if c == code)
                for prefix in (b"p/", b"l/"):  # holder records and licences (licences.py): never stored empty
                    for _, value in _iterate(store, prefix):
                        decoded = codec.decode(value, 1024)
                        assert decoded is True or (type(decoded) is dict and any(decoded.values())), decoded
                assert store.tip.state_hash.to_bytes() == recompute_state_hash(store).to_bytes()
                before = after
        finally:
            store.close()
