"""The mempool: each admission refusal has its code, pipelined nonces queue in order, and after a block the
transactions that no longer apply are dropped with the reason."""

from __future__ import annotations

import pytest

from corridor.ledger.refusals import Refusal
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.node.mempool import Dropped, Mempool

from unit_support import ADDRESSES, CHAIN_ID, GENESIS_TIME_MS, OTHER_CHAIN_ID, attest, burn, commit, mint, next_time_ms, transfer

NOW_MS = GENESIS_TIME_MS + 3_600_000  # an hour in: the genesis reserve attestation is still fresh enough to mint against


def make_mempool(store: Store, txs_max: int = 100, sender_txs_max: int = 10) -> Mempool:
    return Mempool(store, CHAIN_ID, txs_max=txs_max, sender_txs_max=sender_txs_max)


def remove_committed(mempool: Mempool, committed: list, now_ms: int) -> list[Dropped]:
    """What the node does after a block: forget its transactions, then (on its next idle turn) refresh
    the pending state; the transactions that no longer apply, as reported."""
    dropped: list[Dropped] = []
    mempool.on_dropped = dropped.extend
    mempool.remove_committed(committed, now_ms)
    mempool.refresh(now_ms)
    return dropped


def test_valid_transaction_is_admitted(store: Store) -> None:
    mempool = make_mempool(store)
    tx = transfer("alice", 0, "bob", "USD", 100)
    assert mempool.admit(tx, NOW_MS) is None
    assert len(mempool) == 1 and tx.hash in mempool and mempool.get(tx.hash) == tx
    assert mempool.next_nonce(ADDRESSES["alice"]) == 1
    assert mempool.pending_count(ADDRESSES["alice"]) == 1
    # Admission does not touch the committed state.
    assert State(store).get_balance(ADDRESSES["alice"], "USD") == 500_000


def test_same_transaction_twice_is_a_duplicate(store: Store) -> None:
    mempool = make_mempool(store)
    tx = transfer("alice", 0, "bob", "USD", 100)
    assert mempool.admit(tx, NOW_MS) is None
    assert mempool.admit(tx, NOW_MS) == Refusal.DUPLICATE
    assert len(mempool) == 1


def test_committed_transaction_resubmitted_is_a_duplicate_not_a_bad_nonce(store: Store) -> None:
    tx = transfer("alice", 0, "bob", "USD", 100)
    commit(store, [tx])
    assert make_mempool(store).admit(tx, NOW_MS) == Refusal.DUPLICATE


@pytest.mark.parametrize("nonce", [1, 5], ids=["gap_of_one", "gap_of_five"])
def test_nonce_gap_is_refused(store: Store, nonce: int) -> None:
    mempool = make_mempool(store)
    assert mempool.admit(transfer("alice", nonce, "bob", "USD", 1), NOW_MS) == Refusal.BAD_NONCE
    assert len(mempool) == 0 and mempool.next_nonce(ADDRESSES["alice"]) == 0


def test_nonce_already_pending_is_refused(store: Store) -> None:
    mempool = make_mempool(store)
    assert mempool.admit(transfer("alice", 0, "bob", "USD", 1), NOW_MS) is None
    assert mempool.admit(transfer("alice", 0, "carol", "USD", 2), NOW_MS) == Refusal.BAD_NONCE


@pytest.mark.parametrize(
    "tx",
    [transfer("alice", 0, "bob", "USD", 1, chain_id=OTHER_CHAIN_ID), mint("usd_issuer", 0, "bob", "USD", 1, chain_id=OTHER_CHAIN_ID)],
    ids=["transfer_signed_for_another_chain", "mint_signed_for_another_chain"],
)
def test_bad_signature_is_refused_and_not_admitted(store: Store, tx) -> None:
    mempool = make_mempool(store)
    assert mempool.admit(tx, NOW_MS) == Refusal.BAD_SIGNATURE
    assert len(mempool) == 0 and mempool.next_nonce(tx.sender) == 0


def test_rule_refusal_is_returned_and_nothing_is_admitted(store: Store) -> None:
    mempool = make_mempool(store)
    assert mempool.admit(transfer("dave", 0, "alice", "USD", 1), NOW_MS) == Refusal.INSUFFICIENT_FUNDS
    assert mempool.admit(mint("alice", 0, "alice", "USD", 1), NOW_MS) == Refusal.NOT_ISSUER
    assert len(mempool) == 0
    assert mempool.next_nonce(ADDRESSES["alice"]) == 0
    assert mempool.admit(transfer("alice", 0, "bob", "USD", 1), NOW_MS) is None


def test_full_mempool_refuses_more(store: Store) -> None:
    mempool = make_mempool(store, txs_max=3)
    for sender, to in (("alice", "bob"), ("bob", "carol"), ("carol", "alice")):
        code = "JPY" if sender == "carol" else "USD"
        assert mempool.admit(transfer(sender, 0, to, code, 1), NOW_MS) is None
    assert mempool.admit(transfer("alice", 1, "bob", "USD", 1), NOW_MS) == Refusal.MEMPOOL_FULL
    assert len(mempool) == 3


def test_sender_queue_limit_refuses_that_sender_only(store: Store) -> None:
    mempool = make_mempool(store, sender_txs_max=2)
    assert mempool.admit(transfer("alice", 0, "bob", "USD", 1), NOW_MS) is None
    assert mempool.admit(transfer("alice", 1, "bob", "USD", 1), NOW_MS) is None
    assert mempool.admit(transfer("alice", 2, "bob", "USD", 1), NOW_MS) == Refusal.SENDER_QUEUE_FULL
    assert mempool.admit(transfer("bob", 0, "alice", "USD", 1), NOW_MS) is None
    assert mempool.pending_count(ADDRESSES["alice"]) == 2


def test_pipelined_nonces_are_admitted_and_proposed_in_order(store: Store) -> None:
    mempool = make_mempool(store)
    txs = [transfer("alice", nonce, "bob", "USD", 100 + nonce) for nonce in range(6)]
    for tx in txs:
        assert mempool.admit(tx, NOW_MS) is None
    assert mempool.next_nonce(ADDRESSES["alice"]) == 6
    assert mempool.candidates(100) == txs
    assert mempool.candidates(4) == txs[:4]


def test_pending_transactions_count_for_later_admissions(store: Store) -> None:
    mempool = make_mempool(store)
    # Dave has nothing committed; the pending transfer to him funds his pending transfer onwards.
    assert mempool.admit(transfer("alice", 0, "dave", "USD", 300), NOW_MS) is None
    assert mempool.admit(transfer("dave", 0, "carol", "USD", 300), NOW_MS) is None
    assert mempool.admit(transfer("dave", 1, "carol", "USD", 1), NOW_MS) == Refusal.INSUFFICIENT_FUNDS
    # And a pending spend makes a later one from the same sender refuse.
    assert mempool.admit(transfer("bob", 0, "carol", "USD", 200_000), NOW_MS) is None
    assert mempool.admit(transfer("bob", 1, "carol", "USD", 1), NOW_MS) == Refusal.INSUFFICIENT_FUNDS


def test_block_from_the_mempool_commits_and_empties_it(store: Store) -> None:
    mempool = make_mempool(store)
    txs = [transfer("alice", 0, "dave", "USD", 300), transfer("dave", 0, "carol", "USD", 300), burn("carol", 0, "JPY", 5)]
    for tx in txs:
        assert mempool.admit(tx, NOW_MS) is None
    executed, left_out = commit(store, mempool.candidates(100))
    assert list(executed.block.txs) == txs and left_out == []
    assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
    assert len(mempool) == 0
    assert mempool.pending_count(ADDRESSES["alice"]) == 0
    assert mempool.next_nonce(ADDRESSES["dave"]) == 1
    assert mempool.admit(txs[0], NOW_MS) == Refusal.DUPLICATE


def test_transactions_left_for_the_next_block_stay_pending(store: Store) -> None:
    mempool = make_mempool(store)
    txs = [transfer("alice", nonce, "bob", "USD", 10) for nonce in range(4)]
    for tx in txs:
        assert mempool.admit(tx, NOW_MS) is None
    executed, _ = commit(store, mempool.candidates(2))
    assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
    assert mempool.candidates(100) == txs[2:]
    assert mempool.pending_count(ADDRESSES["alice"]) == 2
    assert mempool.next_nonce(ADDRESSES["alice"]) == 4


def test_after_a_prefix_commit_the_pending_state_is_kept_and_still_exact(store: Store) -> None:
    """The fast path: the block took the oldest pending transactions in order, so the pending state is
    kept rather than rebuilt; it must still be the committed state plus what remains."""
    mempool = make_mempool(store)
    txs = [transfer("alice", 0, "dave", "USD", 300), transfer("dave", 0, "carol", "USD", 100), transfer("alice", 1, "dave", "USD", 50)]
    for tx in txs:
        assert mempool.admit(tx, NOW_MS) is None
    executed, _ = commit(store, mempool.candidates(2))
    assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
    assert mempool.candidates(100) == txs[2:]
    assert mempool.next_nonce(ADDRESSES["dave"]) == 1 and mempool.next_nonce(ADDRESSES["alice"]) == 2
    # dave holds 200 committed + 50 pending: 250 spendable, not a cent more
    assert mempool.admit(transfer("dave", 1, "bob", "USD", 251), NOW_MS) == Refusal.INSUFFICIENT_FUNDS
    assert mempool.admit(transfer("dave", 1, "bob", "USD", 250), NOW_MS) is None
    executed, _ = commit(store, mempool.candidates(100))
    assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
    assert State(store).get_balance(ADDRESSES["dave"], "USD") == 0


def test_a_block_in_another_order_rebuilds_the_pending_state(store: Store) -> None:
    mempool = make_mempool(store)
    first, second = transfer("alice", 0, "dave", "USD", 300), transfer("bob", 0, "dave", "USD", 100)
    for tx in (first, second):
        assert mempool.admit(tx, NOW_MS) is None
    executed, _ = commit(store, [second])  # another proposer's order: not the oldest pending transaction
    assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
    assert mempool.candidates(100) == [first]
    assert mempool.admit(transfer("dave", 0, "bob", "USD", 401), NOW_MS) == Refusal.INSUFFICIENT_FUNDS
    assert mempool.admit(transfer("dave", 0, "bob", "USD", 400), NOW_MS) is None


def test_pending_transactions_that_no_longer_apply_are_dropped_after_a_block(store: Store) -> None:
    mempool = make_mempool(store)
    pending = [
        transfer("bob", 0, "carol", "USD", 30_000),  # bob's nonce 0 will be taken by another tx
        transfer("bob", 1, "carol", "USD", 20_000),  # then bob no longer has the funds
        mint("usd_issuer", 0, "alice", "USD", 1_000_000),  # the issuer's nonce 0 will be taken by another mint
        transfer("alice", 0, "carol", "JPY", 7),  # unaffected
    ]
    for tx in pending:
        assert mempool.admit(tx, NOW_MS) is None
    # Another validator's block, with transactions this mempool never saw, commits first.
    foreign = [burn("bob", 0, "USD", 185_000), mint("usd_issuer", 0, "dave", "USD", 700)]
    executed, left_out = commit(store, foreign)
    assert len(executed.block.txs) == 2 and left_out == []

    dropped = remove_committed(mempool, list(executed.block.txs), next_time_ms(store))
    assert [(item.tx.hash, item.refusal) for item in dropped] == [
        (pending[0].hash, Refusal.BAD_NONCE),
        (pending[1].hash, Refusal.INSUFFICIENT_FUNDS),
        (pending[2].hash, Refusal.BAD_NONCE),
    ]
    assert mempool.candidates(100) == [pending[3]]
    assert len(mempool) == 1
    assert mempool.pending_count(ADDRESSES["bob"]) == 0
    assert mempool.next_nonce(ADDRESSES["bob"]) == 1
    # Bob can carry on from the committed state.
    assert mempool.admit(transfer("bob", 1, "carol", "USD", 15_000), NOW_MS) is None
    # Every remaining candidate still builds into a valid block.
    executed, left_out = commit(store, mempool.candidates(100))
    assert left_out == [] and len(executed.block.txs) == 2


def test_pending_mint_is_dropped_when_a_committed_attestation_lowers_the_reserve(store: Store) -> None:
    mempool = make_mempool(store)
    raised = attest("usd_auditor", 0, "USD", 20_000_000)
    pending_mint = mint("usd_issuer", 0, "alice", "USD", 15_000_000)  # fits only under the raised reserve
    assert mempool.admit(raised, NOW_MS) is None
    assert mempool.admit(pending_mint, NOW_MS) is None
    # The auditor's other node committed a different attestation with the same nonce: a lower reserve.
    executed, _ = commit(store, [attest("usd_auditor", 0, "USD", 1_000_000)])
    dropped = remove_committed(mempool, list(executed.block.txs), NOW_MS)
    assert [(item.tx.hash, item.refusal) for item in dropped] == [
        (raised.hash, Refusal.BAD_NONCE),
        (pending_mint.hash, Refusal.EXCEEDS_RESERVES),
    ]
    assert len(mempool) == 0 and mempool.pending_count(ADDRESSES["usd_issuer"]) == 0
    assert mempool.pending_count(ADDRESSES["usd_auditor"]) == 0


def test_under_a_load_that_never_empties_the_mempool_its_pending_state_stays_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block takes the oldest pending transaction while a new one arrives: the committed ones'
    writes must not pile up in the pending state for ever, and the state must stay exact."""
    from corridor.node import mempool as mempool_module

    monkeypatch.setattr(mempool_module, "OVERLAY_KEYS_PER_PENDING_TX", 4)
    monkeypatch.setattr(mempool_module, "OVERLAY_KEYS_SLACK", 0)
    mempool = make_mempool(store)
    recipients = ["bob", "carol", "dave"]
    assert mempool.admit(transfer("alice", 0, "bob", "USD", 1), NOW_MS) is None
    for nonce in range(1, 12):
        assert mempool.admit(transfer("alice", nonce, recipients[nonce % 3], "USD", 1), NOW_MS) is None
        executed, _ = commit(store, mempool.candidates(1))
        assert remove_committed(mempool, list(executed.block.txs), NOW_MS) == []
        assert mempool._state.written_count() <= 4 * len(mempool)  # noqa: SLF001 - the bound under test
    assert mempool.next_nonce(ADDRESSES["alice"]) == 12
    assert [tx.body.nonce for tx in mempool.candidates(100)] == [11]


def test_a_block_in_another_order_leaves_the_rebuild_for_later_but_admission_sees_it(store: Store) -> None:
    """The rebuild after another proposer's block waits for the node's idle turn (the next proposal must
    not wait for it), and anything that reads the pending state before then rebuilds it first."""
    mempool = make_mempool(store)
    first, second = transfer("alice", 0, "dave", "USD", 300), transfer("bob", 0, "dave", "USD", 100)
    for tx in (first, second):
        assert mempool.admit(tx, NOW_MS) is None
    dropped: list[Dropped] = []
    mempool.on_dropped = dropped.extend
    executed, _ = commit(store, [second, transfer("alice", 0, "carol", "USD", 1)])  # takes alice's nonce 0 too
    mempool.remove_committed(list(executed.block.txs), NOW_MS)
    assert dropped == [] and mempool.candidates(100) == [first]  # not rebuilt yet: nothing reported
    assert mempool.next_nonce(ADDRESSES["alice"]) == 1  # a read rebuilds it first
    assert [(item.tx.hash, item.refusal) for item in dropped] == [(first.hash, Refusal.BAD_NONCE)]
    assert mempool.candidates(100) == [] and mempool.admit(transfer("alice", 1, "dave", "USD", 5), NOW_MS) is None
