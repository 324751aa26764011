"""Conservation with lawful orders in play (ledger/orders.py): random histories of transfers, mints, burns,
pauses, freezes and unfreezes, clawbacks, forced burns and `set_compliance_keys` over USD and JPY, each
seizure drawn with or without its order, expired or not, approved by any subset of the compliance keys, an
outsider's key or the issuer's own, and compliance keys drawn with thresholds above their number and the
issuer's key among them now and then.

After every transaction (on a State with apply_tx):

- for each currency, supply == the sum of all balances, and no balance is negative;
- supply changes only by a mint, a burn or a forced burn, by exactly its amount;
- a frozen account's balance never decreases, except by a clawback or forced burn of exactly its amount;
- every transaction gets exactly the outcome a plain reference model of the rules predicts, and balances,
  supply, nonces, freezes and every currency's compliance keys and threshold equal the model's;
- an applied seizure ends its events with exactly one `lawful_order` record naming its action, currency,
  account, amount, order and approvers; nothing else carries one; a refused transaction writes nothing.

The second property runs the same histories through build_block + Store.commit_block and checks that the
stored state root equals the one recomputed from scratch over STATE_PREFIXES (the `n/` keyspace included).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import event as note
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.keys import KeyPair
from corridor.ledger import orders
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import BlockContext, apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, build_body, sign_tx

from orders_support import AUTHORITY, COMPLIANCE, ORDER_HASH
from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    GENESIS_BALANCES,
    GENESIS_TIME_MS,
    ISSUERS,
    JPY_RESERVE_MINOR,
    KEYS,
    USD_RESERVE_MINOR,
    certificate_for,
    genesis_reader,
    make_genesis,
    produce,
    recompute_state_hash,
)

HOLDERS = ("usd_issuer", "jpy_issuer", "alice", "bob", "carol", "dave")
CODES = ("USD", "JPY")
NAME_OF = {ADDRESSES[name]: name for name in HOLDERS}
GENESIS = make_genesis()
SEIZURES = ("set_frozen", "clawback", "forced_burn")
# Keys that may approve: the four compliance officers, an outsider (alice) and, to be refused, the issuer.
APPROVER_POOL = ("compliance1", "compliance2", "compliance3", "compliance4", "alice", "@issuer")


def key_named(name: str, code: str) -> KeyPair:
    if name == "@issuer":
        return KEYS[ISSUERS[code]]
    return COMPLIANCE[name] if name in COMPLIANCE else KEYS[name]


@dataclass
class Model:
    """The rules of the types drawn here, over dicts and sets of names."""

    balances: dict[tuple[str, str], int]
    supply: dict[str, int]
    nonces: dict[str, int] = field(default_factory=lambda: {name: 0 for name in HOLDERS})
    frozen: set[tuple[str, str]] = field(default_factory=set)
    paused: set[str] = field(default_factory=set)
    compliance: dict[str, tuple[tuple[bytes, ...], int]] = field(default_factory=lambda: {code: ((), 0) for code in CODES})

    @classmethod
    def at_genesis(cls) -> Model:
        balances = {(name, code): 0 for name in HOLDERS for code in CODES}
        supply = {code: 0 for code in CODES}
        for name, code, amount in GENESIS_BALANCES:
            balances[(name, code)] += amount
            supply[code] += amount
        return cls(balances, supply)

    def copy(self) -> Model:
        return Model(dict(self.balances), dict(self.supply), dict(self.nonces), set(self.frozen), set(self.paused), dict(self.compliance))

    def _holder_refusal(self, code: str, name: str, if_frozen: Refusal) -> Refusal | None:
        if code in self.paused:
            return Refusal.CURRENCY_PAUSED
        if name != ISSUERS[code] and (name, code) in self.frozen:
            return if_frozen
        return None

    def _approvals(self, code: str, body: Any) -> Refusal | None:
        keys, threshold = self.compliance[code]
        if any(key not in keys or key == body.signer for key in body.approvers):
            return Refusal.NOT_COMPLIANCE_KEY
        return Refusal.ORDER_APPROVALS_MISSING if len(body.approvers) < threshold else None

    def check(self, sender: str, body: Any, time_ms: int) -> Refusal | None:
        kind, code = body.TYPE, body.currency
        if kind in ("transfer", "burn"):
            refusal = self._holder_refusal(code, sender, Refusal.SENDER_FROZEN)
            if refusal is None and kind == "transfer":
                refusal = self._holder_refusal(code, NAME_OF[body.to], Refusal.RECIPIENT_FROZEN)
            if refusal is None and self.balances[(sender, code)] < body.amount_minor:
                refusal = Refusal.INSUFFICIENT_FUNDS
            return refusal
        if sender != ISSUERS[code]:
            return Refusal.NOT_ISSUER
        if kind == "mint":
            refusal = self._holder_refusal(code, NAME_OF[body.to], Refusal.RECIPIENT_FROZEN)
            reserve = USD_RESERVE_MINOR if code == "USD" else JPY_RESERVE_MINOR
            return refusal or (Refusal.EXCEEDS_RESERVES if self.supply[code] + body.amount_minor > reserve else None)
        if kind == "set_paused":
            return None
        if kind == "set_compliance_keys":
            if body.compliance_threshold > len(body.compliance_keys) or KEYS[sender].public_key in body.compliance_keys:
                return Refusal.BAD_COMPLIANCE_KEYS
            return self._approvals(code, body)
        seizure = kind != "set_frozen" or body.enabled
        if seizure:
            if not body.order_authority or not body.order_hash:
                return Refusal.ORDER_REQUIRED
            if body.order_expiry_ms and time_ms > body.order_expiry_ms:
                return Refusal.ORDER_EXPIRED
            refusal = self._approvals(code, body)
            if refusal is not None:
                return refusal
        account = NAME_OF[body.account]
        if kind == "set_frozen":
            return Refusal.ISSUER_ACCOUNT if account == sender else None
        if code in self.paused:
            return Refusal.CURRENCY_PAUSED
        if account == sender:
            return Refusal.ISSUER_ACCOUNT
        if (account, code) not in self.frozen:
            return Refusal.ACCOUNT_NOT_FROZEN
        return Refusal.INSUFFICIENT_FUNDS if self.balances[(account, code)] < body.amount_minor else None

    def write(self, sender: str, body: Any) -> None:
        kind, code = body.TYPE, body.currency
        self.nonces[sender] += 1
        if kind == "transfer":
            self.balances[(sender, code)] -= body.amount_minor
            self.balances[(NAME_OF[body.to], code)] += body.amount_minor
        elif kind == "mint":
            self.balances[(NAME_OF[body.to], code)] += body.amount_minor
            self.supply[code] += body.amount_minor
        elif kind == "burn":
            self.balances[(sender, code)] -= body.amount_minor
            self.supply[code] -= body.amount_minor
        elif kind == "set_paused":
            (self.paused.add if body.enabled else self.paused.discard)(code)
        elif kind == "set_frozen":
            (self.frozen.add if body.enabled else self.frozen.discard)((NAME_OF[body.account], code))
        elif kind == "clawback":
            self.balances[(NAME_OF[body.account], code)] -= body.amount_minor
            self.balances[(sender, code)] += body.amount_minor
        elif kind == "forced_burn":
            self.balances[(NAME_OF[body.account], code)] -= body.amount_minor
            self.supply[code] -= body.amount_minor
        else:
            assert kind == "set_compliance_keys", kind
            self.compliance[code] = (tuple(body.compliance_keys), body.compliance_threshold)


# Drawing a step ------------------------------------------------------------------------------------------


def _signed(sender: str, type_name: str, nonce: int, fields: dict[str, Any], approvals: list[KeyPair]) -> SignedTx:
    ordered = sorted({key.public_key: key for key in approvals}.values(), key=lambda key: key.public_key)
    extra = {"approvers": [key.public_key for key in ordered]} if type_name in (*SEIZURES, "set_compliance_keys") else {}
    body = build_body(type_name, {"signer": KEYS[sender].public_key, "nonce": nonce, **fields, **extra})
    return sign_tx(body, [KEYS[sender], *ordered], CHAIN_ID)


def _approvals(data: st.DataObject, model: Model, code: str) -> list[KeyPair]:
    """Mostly enough of the current compliance keys; now and then too few, or a key that does not count."""
    keys, threshold = model.compliance[code]
    officers = [name for name in COMPLIANCE if COMPLIANCE[name].public_key in keys]
    wanted = data.draw(st.sampled_from([threshold] * 4 + [max(0, threshold - 1), len(officers)]), label="approvals")
    chosen = officers[:wanted]
    if data.draw(st.integers(0, 7), label="odd approver") == 0:
        chosen.append(data.draw(st.sampled_from(APPROVER_POOL), label="odd key"))
    return [key_named(name, code) for name in chosen]


def _order(data: st.DataObject, time_ms: int) -> dict[str, Any]:
    shape = data.draw(st.sampled_from(["ok"] * 10 + ["no authority", "no hash", "expired", "expires now", "expires later"]),
                      label="order")
    fields = {"order_authority": AUTHORITY, "order_hash": ORDER_HASH, "order_expiry_ms": 0}
    if shape == "no authority":
        fields["order_authority"] = ""
    elif shape == "no hash":
        fields["order_hash"] = b""
    elif shape == "expired":
        fields["order_expiry_ms"] = time_ms - 1
    elif shape == "expires now":
        fields["order_expiry_ms"] = time_ms
    elif shape == "expires later":
        fields["order_expiry_ms"] = time_ms + 86_400_000
    return fields


KINDS = ["transfer"] * 4 + ["mint", "burn", "pause"] + ["freeze"] * 4 + ["clawback"] * 3 + ["forced_burn"] * 3 + ["keys"] * 2


def draw_tx(data: st.DataObject, model: Model, time_ms: int) -> tuple[str, SignedTx]:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    code = data.draw(st.sampled_from(CODES), label="currency")
    if code in model.paused and data.draw(st.booleans(), label="resume first"):  # a pause is soon lifted
        kind = "pause"
    issuer = ISSUERS[code]
    by_issuer = data.draw(st.integers(0, 9), label="by issuer") != 0
    sender = issuer if by_issuer else data.draw(st.sampled_from(HOLDERS), label="sender")
    frozen = [name for name in HOLDERS if (name, code) in model.frozen and model.balances[(name, code)] > 0] or \
        [name for name in HOLDERS if (name, code) in model.frozen]
    account = data.draw(st.sampled_from(frozen * 6 + list(HOLDERS) if frozen and kind != "freeze" else HOLDERS), label="account")
    amount = data.draw(st.one_of(st.integers(1, 5_000), st.just(max(1, model.balances[(account, code)])),
                                 st.just(max(1, model.balances[(account, code)] // 2))), label="amount")
    nonce = model.nonces[sender]
    if kind == "transfer":
        holder = data.draw(st.sampled_from(HOLDERS), label="from")
        other = data.draw(st.sampled_from([n for n in HOLDERS if n != holder]), label="to")
        size = data.draw(st.integers(1, max(1, model.balances[(holder, code)])), label="transfer amount")
        return holder, _signed(holder, "transfer", model.nonces[holder],
                               {"to": ADDRESSES[other], "currency": code, "amount_minor": size}, [])
    if kind == "mint":
        return sender, _signed(sender, "mint", nonce, {"to": ADDRESSES[account], "currency": code, "amount_minor": amount}, [])
    if kind == "burn":
        return account, _signed(account, "burn", model.nonces[account], {"currency": code, "amount_minor": amount}, [])
    if kind == "pause":
        return sender, _signed(sender, "set_paused", nonce, {"currency": code, "enabled": code not in model.paused}, [])
    if kind == "keys":
        names = data.draw(st.lists(st.sampled_from(list(COMPLIANCE) * 3 + ["@issuer"]), max_size=4, unique=True), label="keys")
        keys = sorted(key_named(name, code).public_key for name in names)
        threshold = data.draw(st.integers(0, len(keys) + (1 if data.draw(st.integers(0, 9), label="too high") == 0 else 0)),
                              label="threshold")
        return sender, _signed(sender, "set_compliance_keys", nonce, {"currency": code, "compliance_keys": keys,
                                                                       "compliance_threshold": threshold},
                               _approvals(data, model, code))
    order = _order(data, time_ms)
    if kind == "freeze":
        enabled = data.draw(st.integers(0, 3), label="freeze, not unfreeze") != 0
        fields = {"currency": code, "account": ADDRESSES[account], "enabled": enabled, "reason_hash": ORDER_HASH,
                  **(order if enabled or data.draw(st.booleans(), label="unfreeze with an order") else {})}
        return sender, _signed(sender, "set_frozen", nonce, fields, _approvals(data, model, code) if enabled else [])
    fields = {"currency": code, "account": ADDRESSES[account], "amount_minor": amount, "reason_hash": ORDER_HASH, **order}
    return sender, _signed(sender, kind, nonce, fields, _approvals(data, model, code))


# The chain's view and the invariants -----------------------------------------------------------------------


def view_of(state: State) -> dict[str, Any]:
    return {
        "balances": {(name, code): state.get_balance(ADDRESSES[name], code) for name in HOLDERS for code in CODES},
        "supply": {code: state.get_currency(code).supply_minor for code in CODES},
        "nonces": {name: state.get_nonce(ADDRESSES[name]) for name in HOLDERS},
        "frozen": {(name, code) for name in HOLDERS for code in CODES if state.get_holder(ADDRESSES[name], code).frozen},
        "paused": {code for code in CODES if state.get_currency(code).paused},
        "compliance": {code: (orders.get_compliance(state, code).keys, orders.get_compliance(state, code).threshold) for code in CODES},
    }


def model_view(model: Model) -> dict[str, Any]:
    return {"balances": model.balances, "supply": model.supply, "nonces": model.nonces, "frozen": model.frozen,
            "paused": model.paused, "compliance": model.compliance}


def check_step(before: dict[str, Any], after: dict[str, Any], model_before: Model, tx: SignedTx, events: tuple, applied: bool) -> None:
    for code in CODES:
        balances = [after["balances"][(name, code)] for name in HOLDERS]
        assert all(b >= 0 for b in balances) and after["supply"][code] == sum(balances), code
    body = tx.body
    if not applied:
        assert after == before and events == (), "a refused transaction changed something"
        return
    seizure = orders.action_of(body)
    records = [e for e in events if e["kind"] == "lawful_order"]
    if seizure is None:
        assert records == []
    else:
        assert records == [events[-1]], events
        record = events[-1]
        assert (record["action"], record["currency"], record["account"]) == (seizure, body.currency, body.account)
        assert record["amount_minor"] == getattr(body, "amount_minor", 0)
        assert (record["authority"], record["order_hash"], record["order_expiry_ms"]) == (
            body.order_authority, body.order_hash, body.order_expiry_ms)
        assert record["approvers"] == list(body.approvers)
        assert record["approvals_required"] == model_before.compliance[body.currency][1]
    for code in CODES:
        change = after["supply"][code] - before["supply"][code]
        expected = 0
        if body.currency == code and body.TYPE == "mint":
            expected = body.amount_minor
        elif body.currency == code and body.TYPE in ("burn", "forced_burn"):
            expected = -body.amount_minor
        assert change == expected, (code, body.TYPE)
    seized = NAME_OF[body.account] if body.TYPE in ("clawback", "forced_burn") else None
    for (name, code), amount in after["balances"].items():
        delta = amount - before["balances"][(name, code)]
        if (name, code) in model_before.frozen and name != ISSUERS[code]:
            if seized == name and body.currency == code:
                assert delta == -body.amount_minor
            else:
                assert delta >= 0, f"frozen {name} lost {-delta} {code} through {body.TYPE}"


def time_of(height: int) -> int:
    return GENESIS_TIME_MS + height * 1_000


@settings(max_examples=80)
@given(data=st.data(), steps=st.integers(20, 80))
def test_random_histories_with_orders_conserve_supply_and_record_every_seizure(data: st.DataObject, steps: int) -> None:
    state, model = State(genesis_reader(GENESIS)), Model.at_genesis()
    for step in range(steps):
        height = 1 + step // 4
        context = BlockContext(height, time_of(height))
        sender, tx = draw_tx(data, model, context.time_ms)
        expected = model.check(sender, tx.body, context.time_ms)
        before, model_before = view_of(state), model.copy()
        outcome = apply_tx(state, tx, context)
        note(f"{tx.body.TYPE}: {expected.code if expected else 'applied'}")
        assert outcome.refusal == expected, (tx.body, outcome)
        if expected is None:
            model.write(sender, tx.body)
        after = view_of(state)
        check_step(before, after, model_before, tx, outcome.events, outcome.applied)
        assert after == model_view(model)


@settings(max_examples=25)
@given(data=st.data(), blocks=st.lists(st.integers(1, 8), min_size=2, max_size=8))
def test_random_histories_with_orders_through_blocks_keep_the_state_root_exact(data: st.DataObject, blocks: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "db", GENESIS)
        try:
            model = Model.at_genesis()
            for size in blocks:
                time_ms = store.tip.time_ms + 1_000
                candidates, accepted = [], []
                for _ in range(size):
                    sender, tx = draw_tx(data, model, time_ms)
                    candidates.append(tx)
                    if model.check(sender, tx.body, time_ms) is None:
                        model.write(sender, tx.body)
                        accepted.append(tx)
                executed, _ = produce(store, candidates, time_ms)
                assert [tx.hash for tx in executed.block.txs] == [tx.hash for tx in accepted]
                store.commit_block(executed, certificate_for(executed))
                assert store.tip.state_hash.root() == recompute_state_hash(store).root() == executed.block.header.state_root
                assert view_of(State(store)) == model_view(model)
        finally:
            store.close()
