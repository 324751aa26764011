"""Conservation, as properties over random histories of transfers, mints, burns, attestations (valid and
invalid: by the auditor, the issuer or a holder, as of times in and out of order or in the future) and
governance changes of the auditor and of the attestation's maximum age (so mints meet stale attestations)
between a handful of accounts:

- for every currency, supply == the sum of all balances, after every transaction and every block;
- the total of all balances changes only by the amounts of successful mints and burns;
- no balance is ever negative;
- every transaction gets exactly the outcome a plain reference model of the rules predicts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from corridor.ledger.refusals import Refusal
from corridor.ledger.reserves import SupplyLeaf, supply_root
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import AttestReserve, Burn, GovSetAuditor, Mint, SignedTx, Transfer, assemble_tx, build_body, signing_bytes

from unit_support import (
    ADDRESSES,
    AUDITORS,
    CHAIN_ID,
    GENESIS_BALANCES,
    GENESIS_TIME_MS,
    ISSUERS,
    JPY_RESERVE_MINOR,
    KEYS,
    USD_RESERVE_MINOR,
    attest,
    burn,
    commit,
    context,
    genesis_reader,
    make_genesis,
    mint,
    next_time_ms,
    recompute_state_hash,
    transfer,
)

HOLDERS = ("usd_issuer", "jpy_issuer", "alice", "bob", "carol", "dave", "usd_auditor", "jpy_auditor")
KNOWN = ("USD", "JPY")
CODES = (*KNOWN, "EUR")  # EUR is not registered: its transactions must all be refused
FUTURE_AS_OF_MS = GENESIS_TIME_MS + 10**9  # far ahead of every block time of these tests, drift included
AS_OF_CHOICES = (GENESIS_TIME_MS - 1, GENESIS_TIME_MS, GENESIS_TIME_MS + 400, GENESIS_TIME_MS + 700, FUTURE_AS_OF_MS)
MAX_AGE_CHOICES = (0, 1, 35 * 86_400_000, 35 * 86_400_000)  # 1 ms: every later block meets a stale attestation
NAME_OF = {ADDRESSES[name]: name for name in HOLDERS}


@dataclass
class Model:
    """The rules written as plainly as possible, over dicts."""

    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)
    supply: dict[str, int] = field(default_factory=dict)
    reserve: dict[str, int] = field(default_factory=dict)
    as_of: dict[str, int] = field(default_factory=dict)
    minted: dict[str, int] = field(default_factory=dict)
    burned: dict[str, int] = field(default_factory=dict)
    auditor: dict[str, str] = field(default_factory=lambda: dict(AUDITORS))
    max_age: dict[str, int] = field(default_factory=lambda: {code: 35 * 86_400_000 for code in KNOWN})
    gov_nonce: int = 0
    now_ms: int = GENESIS_TIME_MS  # the block time the next transactions run at (set by the tests)

    @classmethod
    def at_genesis(cls) -> Model:
        model = cls(
            balances={(name, code): 0 for name in HOLDERS for code in CODES},
            nonces={name: 0 for name in HOLDERS},
            supply={code: 0 for code in KNOWN},
            reserve={"USD": USD_RESERVE_MINOR, "JPY": JPY_RESERVE_MINOR},
            as_of={code: GENESIS_TIME_MS for code in KNOWN},
            minted={code: 0 for code in KNOWN},
            burned={code: 0 for code in KNOWN},
        )
        for name, code, amount in GENESIS_BALANCES:
            model.balances[(name, code)] += amount
            model.supply[code] += amount
        return model

    def apply(self, sender: str, tx: SignedTx, recipient: str | None) -> Refusal | None:
        """Predict the refusal of `tx` (and apply it to the model when it succeeds)."""
        body = tx.body
        if isinstance(body, GovSetAuditor):  # signed by the one validator: always a quorum
            if body.nonce != self.gov_nonce:
                return Refusal.BAD_NONCE
            if body.currency not in KNOWN:
                return Refusal.UNKNOWN_CURRENCY
            if NAME_OF[body.auditor] == ISSUERS[body.currency]:
                return Refusal.AUDITOR_IS_ISSUER
            self.auditor[body.currency], self.max_age[body.currency] = NAME_OF[body.auditor], body.reserve_max_age_ms
            self.gov_nonce += 1
            return None
        if body.nonce != self.nonces[sender]:
            return Refusal.BAD_NONCE
        if body.currency not in KNOWN:
            return Refusal.UNKNOWN_CURRENCY
        code = body.currency
        if isinstance(body, Transfer):
            assert recipient is not None
            if recipient == sender:
                return Refusal.SELF_TRANSFER
            if self.balances[(sender, code)] < body.amount_minor:
                return Refusal.INSUFFICIENT_FUNDS
            self.balances[(sender, code)] -= body.amount_minor
            self.balances[(recipient, code)] += body.amount_minor
        elif isinstance(body, Mint):
            assert recipient is not None
            if ISSUERS[code] != sender:
                return Refusal.NOT_ISSUER
            if self.supply[code] + body.amount_minor > self.reserve[code]:
                return Refusal.EXCEEDS_RESERVES
            if self.max_age[code] and self.now_ms - self.as_of[code] > self.max_age[code]:
                return Refusal.RESERVE_ATTESTATION_STALE
            self.balances[(recipient, code)] += body.amount_minor
            self.supply[code] += body.amount_minor
            self.minted[code] += body.amount_minor
        elif isinstance(body, Burn):
            if self.balances[(sender, code)] < body.amount_minor:
                return Refusal.INSUFFICIENT_FUNDS
            self.balances[(sender, code)] -= body.amount_minor
            self.supply[code] -= body.amount_minor
            self.reserve[code] = max(0, self.reserve[code] - body.amount_minor)  # the redemption paid out of the reserve
            self.burned[code] += body.amount_minor
        else:
            assert isinstance(body, AttestReserve)
            if self.auditor[code] != sender:
                return Refusal.NOT_AUDITOR
            if body.reserve_as_of_ms == FUTURE_AS_OF_MS:
                return Refusal.ATTESTATION_IN_FUTURE
            if body.reserve_as_of_ms < self.as_of[code]:
                return Refusal.ATTESTATION_OUT_OF_ORDER
            self.reserve[code] = body.reserve_minor
            self.as_of[code] = body.reserve_as_of_ms
        self.nonces[sender] += 1
        return None


@dataclass(frozen=True)
class Step:
    sender: str
    recipient: str | None
    tx: SignedTx


def gov_set_auditor_step(data: st.DataObject, model: Model, code: str) -> Step:
    """Governance names an auditor (now and then the issuer: refused) and a maximum age, signed by the validator."""
    auditor = data.draw(st.sampled_from(("carol", "dave", *AUDITORS.values(), *ISSUERS.values())), label="auditor")
    nonce = model.gov_nonce + data.draw(st.sampled_from([0] * 6 + [1]), label="gov nonce offset")
    key = KEYS["validator"]
    body = build_body("gov_set_auditor", {"signer": key.public_key, "nonce": nonce, "currency": code, "auditor": ADDRESSES[auditor],
                                          "reserve_max_age_ms": data.draw(st.sampled_from(MAX_AGE_CHOICES), label="max age")})
    return Step("validator", None, assemble_tx(body, [key.public_key + key.sign(signing_bytes(CHAIN_ID, body))]))


def draw_step(data: st.DataObject, model: Model) -> Step:
    """A random transaction; mostly plausible (right nonce, affordable amounts), sometimes not."""
    kind = data.draw(st.sampled_from(["transfer"] * 8 + ["mint"] * 4 + ["burn"] * 4 + ["attest"] * 2 + ["auditor"]), label="kind")
    code = data.draw(st.sampled_from(KNOWN * 6 + ("EUR",)), label="currency")
    if kind == "auditor":
        return gov_set_auditor_step(data, model, code)
    if kind == "mint" and code in ISSUERS and data.draw(st.integers(0, 4), label="issuer?") > 0:
        sender = ISSUERS[code]
    elif kind == "attest" and code in KNOWN and data.draw(st.integers(0, 5), label="auditor?") > 0:
        sender = model.auditor[code] if data.draw(st.integers(0, 4), label="not the issuer?") else ISSUERS[code]
    else:
        sender = data.draw(st.sampled_from(HOLDERS), label="sender")
    nonce = max(0, model.nonces[sender] + data.draw(st.sampled_from([0] * 8 + [1, -1]), label="nonce offset"))
    recipient = data.draw(st.sampled_from(HOLDERS), label="recipient")
    held = model.balances[(sender, code)]
    headroom = max(1, model.reserve.get(code, 0) - model.supply.get(code, 0))
    amount = data.draw(
        st.one_of(
            st.integers(1, 1_000),
            st.sampled_from([max(1, held), max(1, held // 2), held + 1, headroom, headroom + 1]),
            st.integers(1, 20_000_000),
        ),
        label="amount",
    )
    if kind == "transfer":
        return Step(sender, recipient, transfer(sender, nonce, recipient, code, amount))
    if kind == "mint":
        return Step(sender, recipient, mint(sender, nonce, recipient, code, amount))
    if kind == "burn":
        return Step(sender, None, burn(sender, nonce, code, amount))
    reserve = data.draw(st.sampled_from([0, model.supply.get(code, 0), amount, 30_000_000]), label="reserve")
    as_of_ms = data.draw(st.sampled_from(AS_OF_CHOICES[1:] * 3 + AS_OF_CHOICES), label="as of")
    return Step(sender, None, attest(sender, nonce, code, reserve, as_of_ms=as_of_ms))


def assert_conserved(balance_of, supply_of, model: Model, initial_total: dict[str, int]) -> None:
    for code in KNOWN:
        balances = [balance_of(name, code) for name in HOLDERS]
        assert all(balance >= 0 for balance in balances), f"negative {code} balance: {balances}"
        assert supply_of(code) == sum(balances), f"{code} supply {supply_of(code)} != sum of balances {sum(balances)}"
        assert sum(balances) == initial_total[code] + model.minted[code] - model.burned[code]
        assert balances == [model.balances[(name, code)] for name in HOLDERS]
        assert supply_of(code) == model.supply[code]
    for name in HOLDERS:
        assert balance_of(name, "EUR") == 0


GENESIS = make_genesis()
INITIAL_TOTAL = {code: sum(a for _, c, a in GENESIS_BALANCES if c == code) for code in KNOWN}


@settings(max_examples=150)
@given(st.data())
def test_every_transaction_conserves_supply_and_matches_the_model(data: st.DataObject) -> None:
    state = State(genesis_reader(GENESIS))
    model = Model.at_genesis()
    steps = data.draw(st.integers(1, 40), label="steps")
    for height in range(1, steps + 1):
        step = draw_step(data, model)
        model.now_ms = context(height).time_ms
        expected = model.apply(step.sender, step.tx, step.recipient)
        event(f"{step.tx.body.TYPE}: {expected.code if expected else 'applied'}")
        outcome = apply_tx(state, step.tx, context(height))
        assert outcome.refusal == expected, step
        assert_conserved(
            lambda name, code: state.get_balance(ADDRESSES[name], code),
            lambda code: state.get_currency(code).supply_minor,
            model,
            INITIAL_TOTAL,
        )
        assert all(state.get_nonce(ADDRESSES[name]) == model.nonces[name] for name in HOLDERS)


def _committed_balances(store: Store) -> dict[tuple[bytes, str], int]:
    """Every committed balance entry, read straight from the b/ keyspace."""
    from corridor import codec

    result = {}
    for key, value in store.iterate(b"b/"):
        address, code = key[2:22], key[23:].decode()
        result[(address, code)] = codec.decode(value, 64)
    return result


@settings(max_examples=50)
@given(st.data())
def test_committed_blocks_conserve_supply_and_keep_the_state_root_exact(data: st.DataObject) -> None:
    model = Model.at_genesis()
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory) / "db", GENESIS)
        try:
            for _ in range(data.draw(st.integers(1, 6), label="blocks")):
                steps = [draw_step(data, model) for _ in range(data.draw(st.integers(0, 8), label="txs"))]
                model.now_ms = next_time_ms(store)  # the time commit() gives the block
                expected = [model.apply(step.sender, step.tx, step.recipient) for step in steps]
                executed, left_out = commit(store, [step.tx for step in steps])
                included = [step.tx.hash for step, refusal in zip(steps, expected) if refusal is None]
                assert [tx.hash for tx in executed.block.txs] == included
                assert [item.refusal for item in left_out] == [r for r in expected if r is not None]

                stored = _committed_balances(store)
                assert all(amount > 0 for amount in stored.values()), "a zero balance must be deleted, never stored"
                state = State(store)
                for code in KNOWN:
                    assert state.get_currency(code).supply_minor == sum(a for (_, c), a in stored.items() if c == code)
                assert_conserved(
                    lambda name, code: state.get_balance(ADDRESSES[name], code),
                    lambda code: state.get_currency(code).supply_minor,
                    model,
                    INITIAL_TOTAL,
                )
                # The header alone commits to every currency's supply and reserve: its leaves reproduce the model.
                leaves = [SupplyLeaf.from_bytes(raw) for raw in store.get_supply_leaves(executed.block.header.height)]
                assert supply_root([leaf.to_bytes() for leaf in leaves]) == executed.block.header.supply_root
                assert {leaf.code: (leaf.supply_minor, leaf.reserve_minor, leaf.reserve_as_of_ms) for leaf in leaves} == {
                    code: (model.supply[code], model.reserve[code], model.as_of[code]) for code in KNOWN}
                minted = sum(e["amount_minor"] for r in executed.receipts for e in r.events if e["kind"] == "mint")
                burned = sum(e["amount_minor"] for r in executed.receipts for e in r.events if e["kind"] == "burn")
                assert minted >= 0 and burned >= 0
                assert store.tip.state_hash.to_bytes() == recompute_state_hash(store).to_bytes()
        finally:
            store.close()


@given(st.data())
def test_receipts_account_for_every_change_of_the_total(data: st.DataObject) -> None:
    # The only events that change a currency's total are mint and burn receipts, and they change it exactly.
    state = State(genesis_reader(GENESIS))
    model = Model.at_genesis()
    totals = dict(INITIAL_TOTAL)
    for height in range(1, data.draw(st.integers(1, 30), label="steps") + 1):
        step = draw_step(data, model)
        model.now_ms = context(height).time_ms
        model.apply(step.sender, step.tx, step.recipient)
        outcome = apply_tx(state, step.tx, context(height))
        for event in outcome.events:
            if event["kind"] == "mint":
                totals[event["currency"]] += event["amount_minor"]
            elif event["kind"] == "burn":
                totals[event["currency"]] -= event["amount_minor"]
        for code in KNOWN:
            assert sum(state.get_balance(ADDRESSES[name], code) for name in HOLDERS) == totals[code]
