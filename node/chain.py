"""The node's view of the chain: admission, building and validating blocks, committing them, and telling
clients what became final. Consensus (node/runner.py) decides *which* block commits; this module knows
how to build, check and store one."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Callable

from corridor.consensus.certificate import CommitCertificate
from corridor.consensus.validators import Validator, ValidatorSet
from corridor.ledger import governance, licences
from corridor.ledger import limits as ledger_limits
from corridor.ledger.block import Block, ExecutedBlock, InvalidBlock, LeftOut, Receipt, build_block, execute_block
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, signatures_valid
from corridor.node.config import Limits
from corridor.node.mempool import Dropped, Mempool
from corridor.node.metrics import NodeMetrics

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Chain:
    """The committed chain, the mempool in front of it, and the clients waiting on both."""

    def __init__(
        self,
        store: Store,
        chain_id: str,
        limits: Limits,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.chain_id = chain_id
        self.limits = limits
        self.clock_ms = clock_ms
        self.mempool = Mempool(store, chain_id, limits.mempool_txs_max, limits.mempool_sender_txs_max)
        self.mempool.on_dropped = self._report_dropped
        self.on_admitted: Callable[[SignedTx, bool], None] = lambda tx, from_client: None
        self._waiters: dict[bytes, list[asyncio.Future[Receipt | Refusal]]] = {}
        self._rejected: collections.OrderedDict[bytes, Refusal] = collections.OrderedDict()
        self._subscribers: set[asyncio.Queue[tuple[Block, tuple[Receipt, ...]] | None]] = set()
        self.committed_txs_total = 0
        self.metrics = NodeMetrics(self)

    # Admission

    def submit(self, tx: SignedTx, from_client: bool = True, signature_ok: bool | None = None) -> Refusal | None:
        """Admit `tx` to the mempool (verifying it once, unless `signature_ok` says how that went), or
        return why not."""
        refusal = self.mempool.admit(tx, self.clock_ms(), signature_ok)
        if refusal is None:
            self._rejected.pop(tx.hash, None)
            self.metrics.tx_admitted(tx.hash, from_client)
            self.on_admitted(tx, from_client)
        else:
            self.metrics.tx_refused(refusal, from_client)
        return refusal

    def rejection_of(self, tx_hash: bytes) -> Refusal | None:
        """Why an admitted transaction was later dropped, if it was (remembered for a bounded number)."""
        return self._rejected.get(tx_hash)

    async def wait_final(self, tx_hash: bytes, timeout_s: float) -> Receipt | Refusal | None:
        """The receipt once `tx_hash` commits, its refusal if it is dropped, or None on timeout."""
        location = self.store.find_tx(tx_hash)
        if location is not None:
            return self.receipt_at(*location)
        if tx_hash in self._rejected:
            return self._rejected[tx_hash]
        future: asyncio.Future[Receipt | Refusal] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_hash, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except asyncio.TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(tx_hash, [])
            if future in waiters:
                waiters.remove(future)
                if not waiters:
                    del self._waiters[tx_hash]

    # Blocks

    def build_proposal(self, proposer: bytes, evidence: tuple[bytes, ...]) -> ExecutedBlock:
        """The next block from the mempool, in admission order; what no longer applies is dropped."""
        tip = self.store.tip
        time_ms = max(self.clock_ms(), tip.time_ms + 1)
        candidates = self.mempool.candidates(ledger_limits.BLOCK_TXS_MAX)
        executed, left_out = build_block(self.store, tip, self.chain_id, time_ms, proposer, candidates, evidence)
        if left_out:
            self._forget([], left_out)
        return executed

    def validate_block(self, block: Block, certified: bool = False) -> ExecutedBlock:
        """Check another validator's block: its time, every signature (once: mempool transactions were
        verified on admission), and that executing it reproduces its header. Raises InvalidBlock.

        A `certified` block (fetched with a verified commit certificate) skips the clock check: the
        validators already agreed on its time, which may be long past or, for a lagging clock, ahead."""
        if not certified and block.header.time_ms > self.clock_ms() + self.limits.block_time_future_drift_ms_max:
            raise InvalidBlock("block time is too far in the future")
        for tx in block.txs:
            if tx.hash not in self.mempool and not signatures_valid(tx, self.chain_id):
                raise InvalidBlock(f"transaction {tx.hash.hex()} has an invalid signature")
        return execute_block(self.store, self.store.tip, self.chain_id, block)

    def commit(self, executed: ExecutedBlock, certificate: CommitCertificate) -> None:
        """Store a decided block with its certificate, then update the mempool and wake waiting clients."""
        block = executed.block
        parent_time_ms, started = self.store.tip.time_ms, time.perf_counter()
        self.store.commit_block(executed, certificate.to_bytes())
        self.metrics.block_committed(executed, certificate, parent_time_ms, time.perf_counter() - started)
        self.committed_txs_total += len(block.txs)
        for receipt in executed.receipts:
            self._resolve(receipt.tx_hash, receipt)
        self._forget(list(block.txs), [])
        self._publish(block, executed.receipts)

    # Subscriptions (the events stream)

    def subscribe(self) -> asyncio.Queue[tuple[Block, tuple[Receipt, ...]] | None]:
        """A queue that receives every block committed from now on, with its receipts. A subscriber that
        falls `events_queue_blocks_max` blocks behind receives None and is dropped."""
        queue: asyncio.Queue[tuple[Block, tuple[Receipt, ...]] | None] = asyncio.Queue(self.limits.events_queue_blocks_max + 1)
        self._subscribers.add(queue)
        return queue

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def unsubscribe(self, queue: asyncio.Queue[tuple[Block, tuple[Receipt, ...]] | None]) -> None:
        self._subscribers.discard(queue)

    def _publish(self, block: Block, receipts: tuple[Receipt, ...]) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() >= self.limits.events_queue_blocks_max:
                queue.put_nowait(None)
                self._subscribers.discard(queue)
            else:
                queue.put_nowait((block, receipts))

    def _forget(self, committed: list[SignedTx], left_out: list[LeftOut]) -> None:
        """Take committed and left-out transactions out of the mempool; report the left-out ones as refused.
        Pending transactions the block made invalid are reported when the mempool next refreshes."""
        self.mempool.remove_committed(committed, self.clock_ms(), [item.tx for item in left_out])
        self.metrics.txs_dropped(left_out, [])
        for item in left_out:
            self._reject(item.tx.hash, item.refusal)

    def _report_dropped(self, dropped: list[Dropped]) -> None:
        self.metrics.txs_dropped([], dropped)
        for item in dropped:
            self._reject(item.tx.hash, item.refusal)

    def refresh_mempool(self) -> None:
        """Rebuild the mempool's pending state now if a block left it stale (the node's idle turn)."""
        self.mempool.refresh(self.clock_ms())

    def _reject(self, tx_hash: bytes, refusal: Refusal) -> None:
        self._rejected[tx_hash] = refusal
        while len(self._rejected) > self.limits.rejected_memory_txs_max:
            self._rejected.popitem(last=False)
        self._resolve(tx_hash, refusal)

    def _resolve(self, tx_hash: bytes, result: Receipt | Refusal) -> None:
        for future in self._waiters.pop(tx_hash, []):
            if not future.done():
                future.set_result(result)

    # Queries

    def committed_state(self) -> State:
        """A read view of the committed state (writes to it go nowhere)."""
        return State(self.store)

    def currencies(self) -> list[Currency]:
        state = self.committed_state()
        codes = [key[2:].decode() for key, _ in self.store.iterate(b"c/")]
        return [currency for code in codes if (currency := state.get_currency(code)) is not None]

    def validator_set(self) -> ValidatorSet:
        """The validators that sign the next block, as the committed state says."""
        return ValidatorSet([Validator(name, key, power) for key, name, power in governance.validators_in(self.committed_state())])

    def distributors(self, code: str, now_ms: int) -> list[bytes]:
        """The accounts holding a distribute licence of a currency in force at `now_ms`, by address."""
        return licences.distributors_of(self.committed_state(), code, now_ms)

    def certificate_at(self, height: int) -> CommitCertificate:
        raw = self.store.get_certificate(height)
        assert raw is not None, f"block {height} has no certificate"
        return CommitCertificate.from_bytes(raw)

    def receipt_at(self, height: int, index: int) -> Receipt:
        return self.store.get_receipts(height)[index]
