"""The consensus runner's inbox: gossiped transactions wait in a bounded queue of their own and are admitted a
chunk at a time, in arrival order, so that no vote or proposal waits behind a peer's whole gossip batch."""

from __future__ import annotations

import pytest

from corridor.ledger.store import Store, StoreWriteError
from corridor.node import runner as runner_module
from corridor.node.chain import Chain
from corridor.node.config import Limits
from corridor.node.runner import GOSSIP_ADMIT_CHUNK_TXS, Runner

from unit_support import ADDRESSES, CHAIN_ID, GENESIS_TIME_MS, KEYS, transfer

PEER = b"\x07" * 32
NOW_MS = GENESIS_TIME_MS + 60_000


def make_runner(store: Store) -> Runner:
    chain = Chain(store, CHAIN_ID, Limits(), clock_ms=lambda: NOW_MS)
    return Runner(chain, KEYS["validator"], "127.0.0.1", 0, ())


def inbox_items(runner: Runner) -> list[tuple[str, object]]:
    items = []
    while not runner._inbox.empty():
        items.append(runner._inbox.get_nowait())
    return items


def test_gossiped_transactions_queue_apart_and_a_later_vote_is_not_behind_them(store: Store) -> None:
    runner = make_runner(store)
    raws = [transfer("alice", nonce, "bob", "USD", 1).raw for nonce in range(2 * GOSSIP_ADMIT_CHUNK_TXS + 5)]
    runner._on_transport_message(PEER, "txs", raws)
    vote = {"a vote": "the inbox does not look inside"}
    runner._on_transport_message(PEER, "vote", vote)

    assert inbox_items(runner) == [("gossip", None), ("peer", (PEER, "vote", vote))], "one wake-up, then the vote"
    assert len(runner.chain.mempool) == 0, "nothing is admitted until the inbox is empty"

    runner._admit_gossiped(GOSSIP_ADMIT_CHUNK_TXS)
    assert len(runner.chain.mempool) == GOSSIP_ADMIT_CHUNK_TXS
    assert runner.chain.mempool.next_nonce(ADDRESSES["alice"]) == GOSSIP_ADMIT_CHUNK_TXS, "admitted in arrival order"
    runner._admit_gossiped(10 * GOSSIP_ADMIT_CHUNK_TXS)
    assert len(runner.chain.mempool) == len(raws) and not runner._gossiped


def test_more_gossip_while_some_waits_does_not_wake_the_loop_again(store: Store) -> None:
    runner = make_runner(store)
    runner._on_transport_message(PEER, "txs", [transfer("alice", 0, "bob", "USD", 1).raw])
    runner._on_transport_message(PEER, "txs", [transfer("alice", 1, "bob", "USD", 1).raw])
    assert inbox_items(runner) == [("gossip", None)]
    runner._admit_gossiped(GOSSIP_ADMIT_CHUNK_TXS)
    runner._on_transport_message(PEER, "txs", [transfer("alice", 2, "bob", "USD", 1).raw])
    # ("txs", None) is the first admission waking consensus: the mempool had been empty.
    assert inbox_items(runner) == [("txs", None), ("gossip", None)], "an emptied queue wakes the loop again"


@pytest.mark.parametrize("payload", ["not a list", {"txs": []}, [b"x"] * (Limits().tx_gossip_batch_max + 1)])
def test_a_malformed_or_oversized_txs_message_is_dropped_whole(store: Store, payload: object) -> None:
    runner = make_runner(store)
    runner._on_transport_message(PEER, "txs", payload)
    assert not runner._gossiped and inbox_items(runner) == []


def test_malformed_items_are_skipped_and_the_rest_admitted(store: Store) -> None:
    runner = make_runner(store)
    runner._on_transport_message(PEER, "txs", [b"\xc1 not a transaction", 42, transfer("alice", 0, "bob", "USD", 1).raw])
    runner._admit_gossiped(GOSSIP_ADMIT_CHUNK_TXS)
    assert len(runner.chain.mempool) == 1


def test_the_gossip_queue_is_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "GOSSIP_QUEUED_TXS_MAX", 3)
    runner = make_runner(store)
    runner._on_transport_message(PEER, "txs", [transfer("alice", nonce, "bob", "USD", 1).raw for nonce in range(2)])
    runner._on_transport_message(PEER, "txs", [transfer("alice", nonce, "bob", "USD", 1).raw for nonce in range(2, 4)])
    assert len(runner._gossiped) == 2, "a message that would pass the bound is dropped"


def test_a_failed_store_write_stops_the_runner_where_a_bad_message_does_not(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = make_runner(store)

    def fails_with(error: Exception) -> None:
        def on_peer_message(*_: object) -> None:
            raise error
        monkeypatch.setattr(runner, "_on_peer_message", on_peer_message)

    fails_with(RuntimeError("a bug met while handling a peer's vote"))
    runner._handle("peer", (PEER, "vote", {}))  # logged and dropped: a peer cannot stop this validator
    fails_with(StoreWriteError("writing block 1 failed: IO error: No space left on device"))
    with pytest.raises(StoreWriteError):
        runner._handle("peer", (PEER, "vote", {}))
