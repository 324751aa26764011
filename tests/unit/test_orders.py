"""A lawful-order record behind every seizure (ledger/orders.py, docs/compliance.md section 5).

Each control accepted with its exact writes and events: a freeze, clawback and forced burn carrying their
order, a sanctions listing carrying its order, compliance keys set, and seizures approved 2 of 3. Then each
refusal with its code and nothing written: `order_required`, `order_expired`, `order_approvals_missing`,
`not_compliance_key` (an outsider's key, the signer's own), `bad_compliance_keys`, and a forced burn's
`not_issuer`, `currency_paused`, `issuer_account`, `account_not_frozen`, `insufficient_funds`. Then the
wire form: approvals are co-signatures checked with the transaction's own (a forged one fails
`signatures_valid`), the new fields decode strictly, the SDK builds proposals the approvers sign, the JSON
views, and a committed block whose state root covers the `n/` keyspace.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from corridor import codec
from corridor.client.errors import InvalidInput
from corridor.client.proposal import Proposal, ProposalFileError
from corridor.client.txs import TxBuilder
from corridor.hashing import sha256
from corridor.keys import KeyPair, format_address
from corridor.ledger import orders
from corridor.ledger.orders import Compliance
from corridor.ledger.outcome import BlockContext
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import Outcome, apply_tx
from corridor.ledger.state import State, account_key, balance_key, currency_key
from corridor.ledger.tx import (
    TX_TYPES,
    ForcedBurn,
    SetComplianceKeys,
    SignedTx,
    TxError,
    assemble_tx,
    build_body,
    decode_tx,
    signatures_valid,
    signing_bytes,
    tx_to_json,
)

from issuer_support import REASON, control_snapshot
from orders_support import AUTHORITY, COMPLIANCE, ORDER_FIELDS, ORDER_HASH, signed
from sanctions_support import sanction
from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    GENESIS_TIME_MS,
    KEYS,
    commit,
    context,
    recompute_state_hash,
    snapshot,
    transfer,
    tx_document,
)

CTX = context(1)  # block time GENESIS_TIME_MS + 1_000
ALICE, BOB, DAVE = ADDRESSES["alice"], ADDRESSES["bob"], ADDRESSES["dave"]
USD_ISSUER = ADDRESSES["usd_issuer"]
C1, C2, C3, C4 = (COMPLIANCE[f"compliance{i}"] for i in range(1, 5))
USD_SUPPLY = 700_000


def apply_ok(state: State, *txs: SignedTx, ctx: BlockContext = CTX) -> list[Outcome]:
    outcomes = []
    for tx in txs:
        outcome = apply_tx(state, tx, ctx)
        assert outcome.applied, f"{tx.body.TYPE} refused: {outcome.refusal}"
        outcomes.append(outcome)
    return outcomes


def assert_refused(state: State, tx: SignedTx, refusal: Refusal, ctx: BlockContext = CTX) -> None:
    before, controls, compliance = snapshot(state), control_snapshot(state), orders.get_compliance(state, "USD")
    outcome = apply_tx(state, tx, ctx)
    assert outcome.refusal == refusal, f"{tx.body.TYPE}: expected {refusal.code}, got {outcome.refusal}"
    assert outcome.events == ()
    assert snapshot(state) == before and control_snapshot(state) == controls
    assert orders.get_compliance(state, "USD") == compliance


def nonce(state: State, name: str) -> int:
    return state.get_nonce(ADDRESSES[name])


def freeze(state: State, account: bytes, approvals: tuple[KeyPair, ...] = (), sender: str = "usd_issuer", **order: Any) -> SignedTx:
    return signed(sender, "set_frozen", nonce(state, sender), approvals, currency="USD", account=account, enabled=True,
                  reason_hash=REASON, **{**ORDER_FIELDS, **order})


def unfreeze(state: State, account: bytes) -> SignedTx:
    return signed("usd_issuer", "set_frozen", nonce(state, "usd_issuer"), currency="USD", account=account, enabled=False,
                  reason_hash=REASON)


def seize(state: State, type_name: str, account: bytes, amount_minor: int, approvals: tuple[KeyPair, ...] = (),
          sender: str = "usd_issuer", **order: Any) -> SignedTx:
    """A clawback or forced burn of USD."""
    return signed(sender, type_name, nonce(state, sender), approvals, currency="USD", account=account, amount_minor=amount_minor,
                  reason_hash=REASON, **{**ORDER_FIELDS, **order})


def set_keys(state: State, keys: list[KeyPair | bytes], threshold: int, approvals: tuple[KeyPair, ...] = (),
             sender: str = "usd_issuer") -> SignedTx:
    public = sorted(k if isinstance(k, bytes) else k.public_key for k in keys)
    return signed(sender, "set_compliance_keys", nonce(state, sender), approvals, currency="USD", compliance_keys=public,
                  compliance_threshold=threshold)


def record(action: str, account: bytes, amount_minor: int = 0, approvers: tuple[KeyPair, ...] = (), required: int = 0,
           code: str = "USD", **order: Any) -> dict[str, Any]:
    """The `lawful_order` event a seizure with `order` (default: orders_support's) ends with."""
    fields = {**ORDER_FIELDS, **order}
    approved_by = "governance" if action == "sanction" else "compliance_keys" if required else "issuer"
    return {"kind": "lawful_order", "action": action, "currency": code, "account": account, "amount_minor": amount_minor,
            "authority": fields["order_authority"], "order_hash": fields["order_hash"], "order_expiry_ms": fields["order_expiry_ms"],
            "approvers": sorted(k.public_key for k in approvers), "approvals_required": required, "approved_by": approved_by}


@pytest.fixture()
def two_of_three(state: State) -> State:
    """USD requires 2 of C1, C2, C3."""
    apply_ok(state, set_keys(state, [C1, C2, C3], 2))
    return state


# ---------------------------------------------------------------------------------------------------------
# Each seizure accepted with its order: exact writes and events


def test_a_freeze_with_its_order_is_accepted_and_recorded(state: State) -> None:
    [outcome] = apply_ok(state, freeze(state, BOB, order_expiry_ms=GENESIS_TIME_MS + 86_400_000))
    assert outcome.events == (
        {"kind": "frozen", "currency": "USD", "account": BOB, "reason_hash": REASON},
        record("freeze", BOB, order_expiry_ms=GENESIS_TIME_MS + 86_400_000),
    )
    assert state.get_holder(BOB, "USD").frozen
    assert {key for key, _ in state.changes()} == {account_key(USD_ISSUER), b"p/" + BOB + b"/USD"}, "the record is in the receipt only"


def test_an_unfreeze_needs_no_order_and_records_none(state: State) -> None:
    apply_ok(state, freeze(state, BOB))
    [outcome] = apply_ok(state, unfreeze(state, BOB))
    assert outcome.events == ({"kind": "unfrozen", "currency": "USD", "account": BOB, "reason_hash": REASON},)
    assert not state.get_holder(BOB, "USD").frozen


def test_a_clawback_with_its_order_moves_coins_to_the_issuer(state: State) -> None:
    apply_ok(state, freeze(state, ALICE))
    [outcome] = apply_ok(state, seize(state, "clawback", ALICE, 120_000))
    assert outcome.events == (
        {"kind": "clawback", "currency": "USD", "from": ALICE, "to": USD_ISSUER, "amount_minor": 120_000, "reason_hash": REASON},
        record("clawback", ALICE, 120_000),
    )
    assert state.get_balance(ALICE, "USD") == 380_000 and state.get_balance(USD_ISSUER, "USD") == 120_000
    assert state.get_currency("USD").supply_minor == USD_SUPPLY


def test_a_forced_burn_destroys_coins_of_a_frozen_account_and_supply_falls(state: State) -> None:
    apply_ok(state, freeze(state, ALICE))
    [outcome] = apply_ok(state, seize(state, "forced_burn", ALICE, 100_000, order_authority="HKMA"))
    assert outcome.events == (
        {"kind": "forced_burn", "currency": "USD", "from": ALICE, "amount_minor": 100_000, "reason_hash": REASON},
        record("forced_burn", ALICE, 100_000, order_authority="HKMA"),
    )
    assert state.get_balance(ALICE, "USD") == 400_000
    assert state.get_balance(USD_ISSUER, "USD") == 0, "nothing reaches the issuer"
    assert state.get_currency("USD").supply_minor == USD_SUPPLY - 100_000
    assert {key for key, _ in state.changes()} == {account_key(USD_ISSUER), b"p/" + ALICE + b"/USD", balance_key(ALICE, "USD"),
                                                   currency_key("USD")}
    # The whole rest: the balance entry is deleted.
    apply_ok(state, seize(state, "forced_burn", ALICE, 400_000))
    assert dict(state.changes())[balance_key(ALICE, "USD")] is None
    assert state.get_currency("USD").supply_minor == USD_SUPPLY - 500_000


def test_a_sanctions_listing_with_its_order_is_recorded_as_approved_by_governance(state: State) -> None:
    order = {"order_authority": "OFAC", "order_hash": sha256(b"SDN entry 2026-07"), "order_expiry_ms": 0}
    [outcome] = apply_ok(state, sanction(state, DAVE, order=order))
    assert outcome.events[0]["kind"] == "sanctioned"
    assert outcome.events[-1] == record("sanction", DAVE, code="", **order)


def test_a_delisting_needs_no_order(state: State) -> None:
    apply_ok(state, sanction(state, DAVE))
    [outcome] = apply_ok(state, sanction(state, DAVE, listed=False))
    assert [e["kind"] for e in outcome.events] == ["unsanctioned"]


# ---------------------------------------------------------------------------------------------------------
# order_required and order_expired


@pytest.mark.parametrize("missing", [{"order_authority": ""}, {"order_hash": b""}, {"order_authority": "", "order_hash": b""}])
def test_a_seizure_without_its_order_is_refused_order_required(state: State, missing: dict[str, Any]) -> None:
    assert_refused(state, freeze(state, BOB, **missing), Refusal.ORDER_REQUIRED)
    apply_ok(state, freeze(state, BOB))
    for type_name in ("clawback", "forced_burn"):
        assert_refused(state, seize(state, type_name, BOB, 1, **missing), Refusal.ORDER_REQUIRED)
    assert_refused(state, sanction(state, DAVE, order={"order_authority": "OFAC", **missing}), Refusal.ORDER_REQUIRED)


def test_an_order_past_its_expiry_is_refused_order_expired_and_one_expiring_now_is_not(state: State) -> None:
    now = CTX.time_ms
    assert_refused(state, freeze(state, BOB, order_expiry_ms=now - 1), Refusal.ORDER_EXPIRED)
    apply_ok(state, freeze(state, BOB, order_expiry_ms=now))  # valid through its expiry
    assert_refused(state, seize(state, "clawback", BOB, 1, order_expiry_ms=1), Refusal.ORDER_EXPIRED)
    assert_refused(state, seize(state, "forced_burn", BOB, 1, order_expiry_ms=now - 1), Refusal.ORDER_EXPIRED)
    apply_ok(state, seize(state, "clawback", BOB, 1, order_expiry_ms=now + 1))
    # The same order, a block later: expired.
    later = BlockContext(CTX.height + 1, now + 1_000)
    assert_refused(state, seize(state, "forced_burn", BOB, 1, order_expiry_ms=now), Refusal.ORDER_EXPIRED, later)
    order = {**ORDER_FIELDS, "order_expiry_ms": now - 1}
    assert_refused(state, sanction(state, DAVE, order=order), Refusal.ORDER_EXPIRED)


def test_who_may_act_is_checked_before_the_order(state: State) -> None:
    assert_refused(state, freeze(state, BOB, sender="alice", order_authority=""), Refusal.NOT_ISSUER)
    unknown = signed("usd_issuer", "set_frozen", 0, currency="EUR", account=BOB, enabled=True, reason_hash=REASON)
    assert_refused(state, unknown, Refusal.UNKNOWN_CURRENCY)


# ---------------------------------------------------------------------------------------------------------
# Compliance keys: set, shown, and k of N approvals


def test_set_compliance_keys_records_them_sorted_with_the_threshold(state: State) -> None:
    [outcome] = apply_ok(state, set_keys(state, [C3, C1, C2], 2))
    keys = tuple(sorted(k.public_key for k in (C1, C2, C3)))
    assert outcome.events == ({"kind": "compliance_keys_set", "currency": "USD", "compliance_keys": list(keys),
                               "compliance_threshold": 2, "approvers": []},)
    assert orders.get_compliance(state, "USD") == Compliance(keys, 2)
    assert orders.get_compliance(state, "JPY") == Compliance()
    assert dict(state.changes())[orders.compliance_key("USD")] == codec.encode({"keys": list(keys), "threshold": 2})
    assert orders.compliance_view(orders.get_compliance(state, "USD")) == {
        "compliance_keys": [k.hex() for k in keys],
        "compliance_key_addresses": [format_address(k.address) for k in sorted((C1, C2, C3), key=lambda k: k.public_key)],
        "compliance_threshold": 2,
    }


def test_no_keys_and_threshold_zero_deletes_the_record(two_of_three: State) -> None:
    state = two_of_three
    apply_ok(state, set_keys(state, [], 0, (C1, C2)))
    assert orders.get_compliance(state, "USD") == Compliance()
    assert dict(state.changes())[orders.compliance_key("USD")] is None


def test_two_of_three_approvals_are_accepted_and_recorded(two_of_three: State) -> None:
    state = two_of_three
    [outcome] = apply_ok(state, freeze(state, BOB, (C3, C1)))
    assert outcome.events[-1] == record("freeze", BOB, approvers=(C1, C3), required=2)
    [outcome] = apply_ok(state, seize(state, "clawback", BOB, 50_000, (C1, C2)))
    assert outcome.events[-1] == record("clawback", BOB, 50_000, approvers=(C1, C2), required=2)
    [outcome] = apply_ok(state, seize(state, "forced_burn", BOB, 50_000, (C1, C2, C3)))  # more than enough is fine
    assert outcome.events[-1] == record("forced_burn", BOB, 50_000, approvers=(C1, C2, C3), required=2)
    assert state.get_balance(BOB, "USD") == 100_000 and state.get_currency("USD").supply_minor == USD_SUPPLY - 50_000
    apply_ok(state, unfreeze(state, BOB))  # lifting needs no approval


def test_too_few_approvals_are_refused_order_approvals_missing(two_of_three: State) -> None:
    state = two_of_three
    assert_refused(state, freeze(state, BOB), Refusal.ORDER_APPROVALS_MISSING)
    assert_refused(state, freeze(state, BOB, (C2,)), Refusal.ORDER_APPROVALS_MISSING)
    apply_ok(state, freeze(state, BOB, (C1, C2)))
    for type_name in ("clawback", "forced_burn"):
        assert_refused(state, seize(state, type_name, BOB, 1, (C3,)), Refusal.ORDER_APPROVALS_MISSING)


def test_an_approval_by_a_key_that_is_not_a_compliance_key_is_refused(two_of_three: State) -> None:
    state = two_of_three
    assert_refused(state, freeze(state, BOB, (C1, C4)), Refusal.NOT_COMPLIANCE_KEY)
    assert_refused(state, freeze(state, BOB, (C1, C2, KEYS["alice"])), Refusal.NOT_COMPLIANCE_KEY)  # even beyond the threshold
    assert_refused(state, freeze(state, BOB, (C1, KEYS["usd_issuer"])), Refusal.NOT_COMPLIANCE_KEY)  # the signer itself
    # JPY has no compliance keys: an approval is not one of them either.
    jpy = signed("jpy_issuer", "set_frozen", 0, (C1,), currency="JPY", account=BOB, enabled=True, reason_hash=REASON, **ORDER_FIELDS)
    assert_refused(state, jpy, Refusal.NOT_COMPLIANCE_KEY)


def test_the_order_is_checked_before_the_approvals_and_both_before_the_rule(two_of_three: State) -> None:
    state = two_of_three
    assert_refused(state, freeze(state, BOB, (C1,), order_hash=b""), Refusal.ORDER_REQUIRED)
    assert_refused(state, freeze(state, USD_ISSUER, (C1,)), Refusal.ORDER_APPROVALS_MISSING)
    assert_refused(state, freeze(state, USD_ISSUER, (C1, C2)), Refusal.ISSUER_ACCOUNT)
    assert_refused(state, seize(state, "clawback", ALICE, 1, (C1, C2)), Refusal.ACCOUNT_NOT_FROZEN)


def test_changing_the_keys_under_a_threshold_needs_the_current_keys_approval(two_of_three: State) -> None:
    state = two_of_three
    assert_refused(state, set_keys(state, [], 0), Refusal.ORDER_APPROVALS_MISSING)  # a stolen issuer key alone cannot drop them
    assert_refused(state, set_keys(state, [C4], 1, (C1, C4)), Refusal.NOT_COMPLIANCE_KEY)  # the new key does not count yet
    apply_ok(state, set_keys(state, [C2, C4], 1, (C1, C3)))
    assert orders.get_compliance(state, "USD") == Compliance(tuple(sorted((C2.public_key, C4.public_key))), 1)
    apply_ok(state, freeze(state, BOB, (C4,)))


@pytest.mark.parametrize(("keys", "threshold"), [([], 1), (["c1"], 2), (["c1", "c2", "c3"], 4), (["c1", "issuer"], 1)])
def test_bad_compliance_keys_are_refused(state: State, keys: list[str], threshold: int) -> None:
    named = {"c1": C1, "c2": C2, "c3": C3, "issuer": KEYS["usd_issuer"]}
    assert_refused(state, set_keys(state, [named[k] for k in keys], threshold), Refusal.BAD_COMPLIANCE_KEYS)


def test_only_the_issuer_sets_compliance_keys(state: State) -> None:
    assert_refused(state, set_keys(state, [C1], 1, sender="alice"), Refusal.NOT_ISSUER)
    unknown = signed("usd_issuer", "set_compliance_keys", 0, currency="EUR", compliance_keys=[C1.public_key], compliance_threshold=1)
    assert_refused(state, unknown, Refusal.UNKNOWN_CURRENCY)


# ---------------------------------------------------------------------------------------------------------
# forced_burn's own refusals


def test_forced_burn_refusals(state: State) -> None:
    assert_refused(state, seize(state, "forced_burn", BOB, 1, sender="jpy_issuer"), Refusal.NOT_ISSUER)
    assert_refused(state, seize(state, "forced_burn", BOB, 1), Refusal.ACCOUNT_NOT_FROZEN)
    assert_refused(state, seize(state, "forced_burn", USD_ISSUER, 1), Refusal.ISSUER_ACCOUNT)
    apply_ok(state, freeze(state, BOB))
    assert_refused(state, seize(state, "forced_burn", BOB, 200_001), Refusal.INSUFFICIENT_FUNDS)
    apply_ok(state, signed("usd_issuer", "set_paused", nonce(state, "usd_issuer"), currency="USD", enabled=True))
    assert_refused(state, seize(state, "forced_burn", BOB, 1), Refusal.CURRENCY_PAUSED)
    unknown = signed("usd_issuer", "forced_burn", nonce(state, "usd_issuer"), currency="EUR", account=BOB, amount_minor=1,
                     reason_hash=REASON, **ORDER_FIELDS)
    assert_refused(state, unknown, Refusal.UNKNOWN_CURRENCY)


def test_a_forced_burn_from_a_listed_account_frozen_by_its_issuer_still_works(state: State) -> None:
    apply_ok(state, freeze(state, BOB), sanction(state, BOB))
    [outcome] = apply_ok(state, seize(state, "forced_burn", BOB, 10))
    assert outcome.events[0]["kind"] == "forced_burn"


# ---------------------------------------------------------------------------------------------------------
# Approvals are co-signatures: checked with the transaction's, before any rule


def test_approvals_are_signatures_over_the_same_bytes_and_a_forged_one_does_not_verify(state: State) -> None:
    tx = freeze(state, BOB, (C1, C2))
    assert tx.signers() == (KEYS["usd_issuer"].public_key, *sorted((C1.public_key, C2.public_key)))
    assert signatures_valid(tx, CHAIN_ID) and not signatures_valid(tx, "corridor-other")
    decoded = decode_tx(tx.raw)
    assert decoded == tx and signatures_valid(decoded, CHAIN_ID)
    # C2 named, but C4 signed in its place: the transaction does not verify, so it is refused at admission.
    message = signing_bytes(CHAIN_ID, tx.body)
    named = list(tx.body.approvers)
    forged = assemble_tx(tx.body, [KEYS["usd_issuer"].sign(message), *(C4.sign(message) if key == C2.public_key else C1.sign(message)
                                                                       for key in named)])
    assert not signatures_valid(forged, CHAIN_ID)
    # An approval for another body (here: another account) does not carry over.
    other = freeze(state, ALICE, (C1, C2))
    swapped = assemble_tx(tx.body, [tx.signatures[0], other.signatures[1], other.signatures[2]])
    assert not signatures_valid(swapped, CHAIN_ID)


def test_the_wire_form_needs_one_signature_per_approver(state: State) -> None:
    document = tx_document(freeze(state, BOB, (C1, C2)))
    document["signatures"] = document["signatures"][:2]
    with pytest.raises(TxError) as caught:
        decode_tx(codec.encode(document))
    assert caught.value.refusal == Refusal.BAD_SIGNATURE


BASE = {"signer": KEYS["usd_issuer"].public_key, "nonce": 0, "currency": "USD", "account": BOB, "enabled": True,
        "reason_hash": REASON, **ORDER_FIELDS, "approvers": []}


@pytest.mark.parametrize(("name", "value"), [
    ("approvers", sorted([C1.public_key, C2.public_key], reverse=True)),
    ("approvers", [C1.public_key, C1.public_key]),
    ("approvers", [bytes(31)]),
    ("approvers", [bytes([i]) * 32 for i in range(9)]),
    ("approvers", b"\x00" * 32),
    ("order_authority", "x" * 65),
    ("order_authority", "line\nbreak"),
    ("order_authority", None),
    ("order_hash", bytes(31)),
    ("order_hash", "ab" * 32),
    ("order_expiry_ms", -1),
    ("order_expiry_ms", True),
])
def test_the_order_fields_decode_strictly(name: str, value: Any) -> None:
    with pytest.raises(TxError) as caught:
        build_body("set_frozen", {**BASE, name: value})
    assert caught.value.refusal == Refusal.BAD_FIELD


@pytest.mark.parametrize(("name", "value"), [
    ("compliance_keys", [bytes([2]) * 32, bytes([1]) * 32]),
    ("compliance_keys", [bytes([i]) * 32 for i in range(9)]),
    ("compliance_threshold", 9),
    ("compliance_threshold", -1),
])
def test_the_compliance_fields_decode_strictly(name: str, value: Any) -> None:
    fields = {"signer": KEYS["usd_issuer"].public_key, "nonce": 0, "currency": "USD", "compliance_keys": [], "compliance_threshold": 0,
              "approvers": [], name: value}
    with pytest.raises(TxError):
        build_body("set_compliance_keys", fields)


def test_the_order_fields_are_part_of_the_wire_form_and_of_what_is_signed(state: State) -> None:
    document = tx_document(freeze(state, BOB, (C1,)))
    for name in ("order_authority", "order_hash", "order_expiry_ms", "approvers"):
        missing = copy.deepcopy(document)
        del missing["body"][name]
        with pytest.raises(TxError):
            decode_tx(codec.encode(missing))
    changed = copy.deepcopy(document)
    changed["body"]["order_authority"] = "Another Court"
    assert not signatures_valid(decode_tx(codec.encode(changed)), CHAIN_ID)


def test_json_view_shows_the_order_and_the_approvers_as_hex(state: State) -> None:
    shown = tx_to_json(freeze(state, BOB, (C2, C1), order_expiry_ms=5))["body"]
    assert shown["order_authority"] == AUTHORITY and shown["order_hash"] == ORDER_HASH.hex() and shown["order_expiry_ms"] == 5
    assert shown["approvers"] == sorted(k.public_key.hex() for k in (C1, C2))
    keys = tx_to_json(set_keys(state, [C1, C2], 1))["body"]
    assert keys["compliance_keys"] == sorted(k.public_key.hex() for k in (C1, C2)) and keys["compliance_threshold"] == 1


def test_the_new_types_are_registered() -> None:
    assert TX_TYPES["forced_burn"] is ForcedBurn and TX_TYPES["set_compliance_keys"] is SetComplianceKeys
    assert ForcedBurn.COSIGNER_FIELDS == ("approvers",)


# ---------------------------------------------------------------------------------------------------------
# The SDK: a seizure naming approvers is a Proposal each approver signs


def test_the_sdk_builds_a_seizure_the_approvers_co_sign(two_of_three: State, tmp_path: Any) -> None:
    state = two_of_three
    builder = TxBuilder(CHAIN_ID, {"USD": 2})
    issuer = KEYS["usd_issuer"]
    proposal = builder.set_frozen(issuer, "usd", BOB, reason=b"case 17", authority=AUTHORITY, order=b"%PDF order",
                                  order_expiry=GENESIS_TIME_MS + 10_000, approvers=[C3.public_key.hex(), C1],
                                  nonce=nonce(state, "usd_issuer"))
    assert isinstance(proposal, Proposal) and not proposal.complete
    assert proposal.body.order_hash == sha256(b"%PDF order") and proposal.body.order_expiry_ms == GENESIS_TIME_MS + 10_000
    with pytest.raises(ProposalFileError):
        proposal.sign(C2)  # not named
    path = tmp_path / "freeze.json"
    proposal.save(path)
    loaded = Proposal.load(path)
    loaded.sign(C1)
    assert not loaded.complete
    loaded.sign(C3)
    assert loaded.complete and "set_frozen" in loaded.describe({"USD": 2})
    tx = loaded.transaction()
    assert signatures_valid(decode_tx(tx.raw), CHAIN_ID)
    [outcome] = apply_ok(state, tx)
    assert outcome.events[-1] == record("freeze", BOB, approvers=(C1, C3), required=2, order_hash=sha256(b"%PDF order"),
                                        order_expiry_ms=GENESIS_TIME_MS + 10_000)
    # Without approvers the builder signs alone, as before; a seizure without its order is refused before signing.
    alone = builder.forced_burn(issuer, "USD", BOB, "1.00", reason="r", authority="HKMA", order_hash=ORDER_HASH, nonce=0)
    assert isinstance(alone, SignedTx) and alone.body.amount_minor == 100
    with pytest.raises(InvalidInput, match="lawful order"):
        builder.clawback(issuer, "USD", BOB, "1.00", reason="r", nonce=0)
    with pytest.raises(InvalidInput, match="lawful order"):
        builder.gov_set_sanctioned(KEYS["validator"], BOB, reason="r", nonce=0)
    assert builder.set_frozen(issuer, "USD", BOB, False, reason="lifted", nonce=0).body.order_authority == ""
    with pytest.raises(InvalidInput, match="twice"):
        builder.set_compliance_keys(issuer, "USD", [C1, C1.public_key], 1, nonce=0)


# ---------------------------------------------------------------------------------------------------------
# Committed: the n/ keyspace is part of the state root


def test_committed_compliance_keys_and_seizures_keep_the_state_root_exact(store: Any) -> None:
    state = State(store)
    txs = [set_keys(state, [C1, C2, C3], 2)]
    executed, left_out = commit(store, txs)
    assert left_out == [] and orders.get_compliance(State(store), "USD").threshold == 2
    state = State(store)
    executed, left_out = commit(store, [freeze(state, BOB, (C1, C2)), transfer("alice", 0, "bob", "USD", 1)])
    assert [item.refusal for item in left_out] == [Refusal.RECIPIENT_FROZEN]
    assert executed.receipts[0].events[-1]["kind"] == "lawful_order"
    assert store.tip.state_hash.root() == recompute_state_hash(store).root() == executed.block.header.state_root
