"""The ledger rules, as pre-state / transaction / post-state vectors. A refused transaction writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx
from corridor.ledger.state import State, account_key, balance_key, currency_key
from corridor.ledger.tx import SignedTx

from unit_support import (
    ADDRESSES,
    JPY_RESERVE_MINOR,
    REPORT_HASH,
    USD_RESERVE_MINOR,
    attest,
    burn,
    context,
    mint,
    snapshot,
    transfer,
)

CTX = context(1)


def apply_all(state: State, *txs: SignedTx) -> None:
    """Apply set-up transactions that must succeed."""
    for tx in txs:
        outcome = apply_tx(state, tx, CTX)
        assert outcome.applied, f"set-up tx refused: {outcome.refusal}"


def written_keys(state: State) -> set[bytes]:
    return {key for key, _ in state.changes()}


def supply(state: State, code: str) -> int:
    currency = state.get_currency(code)
    assert currency is not None
    return currency.supply_minor


# Each transaction type, accepted
def test_transfer_moves_funds_and_increments_the_nonce(state: State) -> None:
    outcome = apply_tx(state, transfer("alice", 0, "bob", "USD", 1_250), CTX)
    assert outcome.refusal is None
    assert state.get_balance(ADDRESSES["alice"], "USD") == 500_000 - 1_250
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_000 + 1_250
    assert state.get_nonce(ADDRESSES["alice"]) == 1
    assert state.get_nonce(ADDRESSES["bob"]) == 0
    assert supply(state, "USD") == 700_000
    assert outcome.events == (
        {"kind": "transfer", "currency": "USD", "from": ADDRESSES["alice"], "to": ADDRESSES["bob"], "amount_minor": 1_250},
    )
    assert written_keys(state) == {
        account_key(ADDRESSES["alice"]),
        balance_key(ADDRESSES["alice"], "USD"),
        balance_key(ADDRESSES["bob"], "USD"),
    }


def test_transfer_to_a_new_account_opens_it(state: State) -> None:
    apply_all(state, transfer("carol", 0, "dave", "JPY", 30_000))
    assert state.get_balance(ADDRESSES["dave"], "JPY") == 30_000
    # Carol's whole balance moved: her entry is deleted rather than stored as zero.
    assert state.get_balance(ADDRESSES["carol"], "JPY") == 0
    assert dict(state.changes())[balance_key(ADDRESSES["carol"], "JPY")] is None


def test_mint_creates_coins_within_the_reserve(state: State) -> None:
    outcome = apply_tx(state, mint("usd_issuer", 0, "dave", "USD", 10_000), CTX)
    assert outcome.applied
    assert state.get_balance(ADDRESSES["dave"], "USD") == 10_000
    assert supply(state, "USD") == 710_000
    assert state.get_nonce(ADDRESSES["usd_issuer"]) == 1
    assert outcome.events == ({"kind": "mint", "currency": "USD", "to": ADDRESSES["dave"], "amount_minor": 10_000},)


def test_mint_up_to_exactly_the_reserve_is_accepted_and_one_more_is_refused(state: State) -> None:
    headroom = USD_RESERVE_MINOR - 700_000
    apply_all(state, mint("usd_issuer", 0, "alice", "USD", headroom))
    assert supply(state, "USD") == USD_RESERVE_MINOR
    assert apply_tx(state, mint("usd_issuer", 1, "alice", "USD", 1), CTX).refusal == Refusal.EXCEEDS_RESERVES


def test_burn_lowers_supply_and_the_holders_balance(state: State) -> None:
    outcome = apply_tx(state, burn("alice", 0, "JPY", 400_000), CTX)
    assert outcome.applied
    assert state.get_balance(ADDRESSES["alice"], "JPY") == 600_000
    assert supply(state, "JPY") == 1_030_000 - 400_000
    assert outcome.events == ({"kind": "burn", "currency": "JPY", "from": ADDRESSES["alice"], "amount_minor": 400_000},)


def test_attest_reserve_records_reserve_report_and_height(state: State) -> None:
    report = bytes([7]) * 32
    outcome = apply_tx(state, attest("jpy_auditor", 0, "JPY", 2_000_000, report), context(height=9))
    assert outcome.applied
    currency = state.get_currency("JPY")
    assert currency is not None
    assert (currency.reserve_minor, currency.reserve_report_hash, currency.reserve_height) == (2_000_000, report, 9)
    assert currency.supply_minor == 1_030_000
    assert written_keys(state) == {currency_key("JPY"), account_key(ADDRESSES["jpy_auditor"])}


def test_attest_then_mint_up_to_the_new_reserve(state: State) -> None:
    new_reserve = USD_RESERVE_MINOR + 5_000_000
    headroom = new_reserve - 700_000
    assert apply_tx(state, mint("usd_issuer", 0, "bob", "USD", headroom), CTX).refusal == Refusal.EXCEEDS_RESERVES
    apply_all(state, attest("usd_auditor", 0, "USD", new_reserve), mint("usd_issuer", 0, "bob", "USD", headroom))
    assert supply(state, "USD") == new_reserve
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_000 + headroom
    assert apply_tx(state, mint("usd_issuer", 1, "bob", "USD", 1), CTX).refusal == Refusal.EXCEEDS_RESERVES


def test_reserve_attested_below_supply_is_recorded_and_stops_minting(state: State) -> None:
    apply_all(state, attest("usd_auditor", 0, "USD", 100_000))
    currency = state.get_currency("USD")
    assert currency is not None and currency.reserve_minor == 100_000 < currency.supply_minor
    assert apply_tx(state, mint("usd_issuer", 0, "bob", "USD", 1), CTX).refusal == Refusal.EXCEEDS_RESERVES
    # Burns are redemptions paid out of the reserve: supply and the attested reserve fall together, so
    # minting resumes only once the auditor attests a reserve above supply again.
    apply_all(state, burn("alice", 0, "USD", 500_000), burn("bob", 0, "USD", 50_000))
    currency = state.get_currency("USD")
    assert (currency.supply_minor, currency.reserve_minor) == (150_000, 0)  # 100,000 - 550,000 redeemed, floored
    assert apply_tx(state, mint("usd_issuer", 0, "bob", "USD", 1), CTX).refusal == Refusal.EXCEEDS_RESERVES
    apply_all(state, attest("usd_auditor", 1, "USD", 200_000), mint("usd_issuer", 0, "bob", "USD", 50_000))
    assert supply(state, "USD") == 200_000


def test_anyone_holding_coins_may_burn_them_and_the_issuer_too(state: State) -> None:
    apply_all(state, mint("jpy_issuer", 0, "jpy_issuer", "JPY", 1_000), burn("jpy_issuer", 1, "JPY", 1_000))
    apply_all(state, burn("carol", 0, "JPY", 1))
    assert supply(state, "JPY") == 1_030_000 - 1


def test_pipelined_nonces_apply_in_order(state: State) -> None:
    apply_all(state, *(transfer("alice", n, "bob", "USD", 100) for n in range(5)))
    assert state.get_nonce(ADDRESSES["alice"]) == 5
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_500


# Every refusal, and a refused transaction leaves the state exactly as it was
@dataclass(frozen=True)
class Vector:
    name: str
    setup: tuple[SignedTx, ...]
    tx: SignedTx
    refusal: Refusal


VECTORS = [
    Vector("nonce_gap", (), transfer("alice", 1, "bob", "USD", 1), Refusal.BAD_NONCE),
    Vector("nonce_reused", (transfer("alice", 0, "bob", "USD", 1),), transfer("alice", 0, "carol", "USD", 1), Refusal.BAD_NONCE),
    Vector("nonce_checked_before_the_rule", (), transfer("alice", 3, "alice", "EUR", 1), Refusal.BAD_NONCE),
    Vector("transfer_more_than_balance", (), transfer("bob", 0, "alice", "USD", 200_001), Refusal.INSUFFICIENT_FUNDS),
    Vector("transfer_from_empty_account", (), transfer("dave", 0, "alice", "USD", 1), Refusal.INSUFFICIENT_FUNDS),
    Vector("transfer_of_a_currency_not_held", (), transfer("bob", 0, "alice", "JPY", 1), Refusal.INSUFFICIENT_FUNDS),
    Vector(
        "transfer_after_spending_down",
        (transfer("bob", 0, "carol", "USD", 150_000),),
        transfer("bob", 1, "carol", "USD", 50_001),
        Refusal.INSUFFICIENT_FUNDS,
    ),
    Vector("burn_more_than_balance", (), burn("carol", 0, "JPY", 30_001), Refusal.INSUFFICIENT_FUNDS),
    Vector("holder_mints", (), mint("alice", 0, "alice", "USD", 1), Refusal.NOT_ISSUER),
    Vector("other_issuer_mints", (), mint("jpy_issuer", 0, "jpy_issuer", "USD", 1), Refusal.NOT_ISSUER),
    Vector("holder_attests", (), attest("alice", 0, "USD", USD_RESERVE_MINOR * 2), Refusal.NOT_AUDITOR),
    Vector("issuer_attests", (), attest("usd_issuer", 0, "USD", USD_RESERVE_MINOR * 2), Refusal.NOT_AUDITOR),
    Vector("other_auditor_attests", (), attest("usd_auditor", 0, "JPY", JPY_RESERVE_MINOR * 2), Refusal.NOT_AUDITOR),
    Vector("mint_above_reserve", (), mint("usd_issuer", 0, "bob", "USD", USD_RESERVE_MINOR - 700_000 + 1), Refusal.EXCEEDS_RESERVES),
    Vector(
        "mint_after_reserve_lowered",
        (attest("jpy_auditor", 0, "JPY", 1_030_000),),
        mint("jpy_issuer", 0, "carol", "JPY", 1),
        Refusal.EXCEEDS_RESERVES,
    ),
    Vector("transfer_unknown_currency", (), transfer("alice", 0, "bob", "EUR", 1), Refusal.UNKNOWN_CURRENCY),
    Vector("mint_unknown_currency", (), mint("usd_issuer", 0, "bob", "EUR", 1), Refusal.UNKNOWN_CURRENCY),
    Vector("burn_unknown_currency", (), burn("alice", 0, "EUR", 1), Refusal.UNKNOWN_CURRENCY),
    Vector("attest_unknown_currency", (), attest("usd_auditor", 0, "EUR", 1), Refusal.UNKNOWN_CURRENCY),
    Vector("self_transfer", (), transfer("alice", 0, "alice", "USD", 1), Refusal.SELF_TRANSFER),
    Vector("self_transfer_of_more_than_balance", (), transfer("dave", 0, "dave", "USD", 1), Refusal.SELF_TRANSFER),
]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_refused_transaction_has_its_code_and_writes_nothing(state: State, vector: Vector) -> None:
    apply_all(state, *vector.setup)
    before = snapshot(state)
    outcome = apply_tx(state, vector.tx, CTX)
    assert outcome.refusal == vector.refusal
    assert outcome.events == ()
    assert snapshot(state) == before


@pytest.mark.parametrize("vector", [v for v in VECTORS if not v.setup], ids=lambda v: v.name)
def test_refused_transaction_on_a_fresh_overlay_leaves_no_changes(state: State, vector: Vector) -> None:
    outcome = apply_tx(state, vector.tx, CTX)
    assert outcome.refusal == vector.refusal
    assert list(state.changes()) == []


def test_every_state_refusal_code_is_covered() -> None:
    covered = {v.refusal for v in VECTORS}
    assert covered == {
        Refusal.BAD_NONCE,
        Refusal.INSUFFICIENT_FUNDS,
        Refusal.NOT_ISSUER,
        Refusal.NOT_AUDITOR,
        Refusal.EXCEEDS_RESERVES,
        Refusal.UNKNOWN_CURRENCY,
        Refusal.SELF_TRANSFER,
    }
    assert {r.code for r in covered} == {
        "bad_nonce",
        "insufficient_funds",
        "not_issuer",
        "not_auditor",
        "exceeds_reserves",
        "unknown_currency",
        "self_transfer",
    }


def test_refused_transaction_does_not_consume_the_nonce(state: State) -> None:
    assert apply_tx(state, transfer("bob", 0, "alice", "USD", 10**9), CTX).refusal == Refusal.INSUFFICIENT_FUNDS
    assert apply_tx(state, transfer("bob", 0, "alice", "USD", 10), CTX).applied


def test_child_overlay_dropped_after_refusal_leaves_parent_untouched(state: State) -> None:
    apply_all(state, transfer("alice", 0, "bob", "USD", 5))
    before = snapshot(state)
    child = state.child()
    apply_all(child, transfer("alice", 1, "bob", "USD", 7))
    assert snapshot(state) == before  # not committed: the parent does not see the child's writes
    child.commit()
    assert state.get_balance(ADDRESSES["bob"], "USD") == 200_012
    assert state.get_nonce(ADDRESSES["alice"]) == 2


def test_refusal_codes_are_stable_numbers() -> None:
    # Clients and receipts store these numbers: renumbering is a breaking change.
    assert [(r.code, int(r)) for r in Refusal] == [
        ("bad_encoding", 1),
        ("non_canonical", 2),
        ("too_large", 3),
        ("bad_signature", 4),
        ("bad_field", 5),
        ("unknown_tx_type", 6),
        ("bad_nonce", 7),
        ("insufficient_funds", 8),
        ("not_issuer", 9),
        ("exceeds_reserves", 10),
        ("unknown_currency", 11),
        ("duplicate", 12),
        ("self_transfer", 13),
        ("mempool_full", 14),
        ("sender_queue_full", 15),
        ("currency_paused", 16),
        ("sender_frozen", 17),
        ("recipient_frozen", 18),
        ("sender_not_authorized", 19),
        ("recipient_not_authorized", 20),
        ("exceeds_transfer_limit", 21),
        ("travel_rule_required", 22),
        ("account_not_frozen", 23),
        ("not_distributor", 24),
        ("swap_expired", 25),
        ("same_currency", 26),
        ("counterparty_insufficient_funds", 27),
        ("unknown_offer", 28),
        ("not_offer_owner", 29),
        ("book_too_thin", 30),
        ("send_max_exceeded", 31),
        ("governance_quorum_missing", 32),
        ("currency_exists", 33),
        ("bad_effective_height", 34),
        ("too_many_validators", 35),
        ("issuer_account", 36),
        ("account_sanctioned", 37),
        ("already_sanctioned", 38),
        ("not_sanctioned", 39),
        ("unknown_redemption", 40),
        ("not_redemption_requester", 41),
        ("redemption_closed", 42),
        ("issuer_redemption", 43),
        ("too_many_open_redemptions", 44),
        ("not_auditor", 45),
        ("reserve_attestation_stale", 46),
        ("attestation_out_of_order", 47),
        ("attestation_in_future", 48),
        ("auditor_is_issuer", 49),
        ("corridor_limit_exceeded", 50),
        ("bad_corridor_policy", 51),
        ("too_many_corridors", 52),
        ("unknown_jurisdiction", 53),
        ("order_required", 55),
        ("order_expired", 56),
        ("order_approvals_missing", 57),
        ("not_compliance_key", 58),
        ("bad_compliance_keys", 59),
        ("licence_expired", 60),
        ("licence_revoked", 61),
        ("licence_required", 62),
        ("unknown_licence", 63),
        ("licence_expiry_passed", 64),
    ]
    assert all(r.sentence.endswith(".") for r in Refusal)


def test_genesis_reserve_record_is_kept_by_a_mint(state: State) -> None:
    currency = state.get_currency("USD")
    assert currency is not None
    assert currency.reserve_report_hash == REPORT_HASH and currency.reserve_height == 0
    apply_all(state, mint("usd_issuer", 0, "bob", "USD", 1))
    assert state.get_currency("USD") == replace(currency, supply_minor=currency.supply_minor + 1)
