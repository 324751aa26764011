"""The node's chain: admits transactions, produces and commits blocks, and tells waiters what became final.

With one validator, this node is the proposer of every block and its own signature is the commit
certificate (a quorum of one). A block is proposed as soon as transactions wait, never on a fixed slow
interval; under load blocks grow instead of queueing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Callable

from corridor.consensus.certificate import CommitCertificate, sign_precommit
from corridor.consensus.validators import ValidatorSet
from corridor.keys import KeyPair
from corridor.ledger import limits as ledger_limits
from corridor.ledger.block import ExecutedBlock, LeftOut, Receipt, build_block
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx
from corridor.node.config import Limits
from corridor.node.mempool import Mempool

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Chain:
    """Single-validator block production over the store and mempool, with commit notifications."""

    def __init__(
        self,
        store: Store,
        chain_id: str,
        node_key: KeyPair,
        validators: ValidatorSet,
        limits: Limits,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        if validators.get(node_key.public_key) is None:
            raise ValueError("this node's key is not in the genesis validator set")
        if validators.get(node_key.public_key).power < validators.quorum_power:
            raise ValueError("multi-validator networks need consensus, which this build does not run yet (issue #4)")
        self.store = store
        self.chain_id = chain_id
        self.validators = validators
        self._node_key = node_key
        self._limits = limits
        self._clock_ms = clock_ms
        self.mempool = Mempool(store, chain_id, limits.mempool_txs_max, limits.mempool_sender_txs_max)
        self._work = asyncio.Event()
        self._waiters: dict[bytes, list[asyncio.Future[Receipt | Refusal]]] = {}
        self._rejected: collections.OrderedDict[bytes, Refusal] = collections.OrderedDict()
        self.committed_txs_total = 0

    def submit(self, tx: SignedTx) -> Refusal | None:
        """Admit `tx` to the mempool (verifying it), or return why not."""
        refusal = self.mempool.admit(tx, self._clock_ms())
        if refusal is None:
            self._rejected.pop(tx.hash, None)
            self._work.set()
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

    @property
    def node_id(self) -> bytes:
        """This node's public key: its identity among validators and peers."""
        return self._node_key.public_key

    def committed_state(self) -> State:
        """A read view of the committed state (writes to it go nowhere)."""
        return State(self.store)

    def currencies(self) -> list[Currency]:
        state = self.committed_state()
        codes = [key[2:].decode() for key, _ in self.store.iterate_state(b"c/")]
        return [currency for code in codes if (currency := state.get_currency(code)) is not None]

    def certificate_at(self, height: int) -> CommitCertificate:
        raw = self.store.get_certificate(height)
        assert raw is not None, f"block {height} has no certificate"
        return CommitCertificate.from_bytes(raw)

    def receipt_at(self, height: int, index: int) -> Receipt:
        return self.store.get_receipts(height)[index]

    async def run(self) -> None:
        """Produce blocks for as long as the node runs."""
        while True:
            await self._work.wait()
            self._work.clear()
            while len(self.mempool):
                self.produce_block()
                await asyncio.sleep(0)  # let the API admit more transactions between blocks

    def _forget(self, committed: list[SignedTx], left_out: list[LeftOut]) -> None:
        """Take committed and left-out transactions out of the mempool; report every one that is refused."""
        dropped = self.mempool.remove_committed(committed + [item.tx for item in left_out], self._clock_ms())
        for item in [*left_out, *dropped]:
            self._reject(item.tx.hash, item.refusal)

    def produce_block(self) -> ExecutedBlock | None:
        """Build a block from the mempool, certify it with this validator's signature and commit it.

        Returns None when every candidate was refused (they are dropped; no empty block is committed)."""
        tip = self.store.tip
        time_ms = max(self._clock_ms(), tip.time_ms + 1)
        candidates = self.mempool.candidates(ledger_limits.BLOCK_TXS_MAX)
        executed, left_out = build_block(
            self.store, tip, self.chain_id, time_ms, self._node_key.public_key, candidates
        )
        block = executed.block
        if not block.txs:
            self._forget([], left_out)
            return None
        signature = sign_precommit(self._node_key, self.chain_id, block.header.height, 0, block.hash)
        certificate = CommitCertificate(block.header.height, 0, block.hash, ((self._node_key.public_key, signature),))
        self.store.commit_block(executed, certificate.to_bytes())
        self.committed_txs_total += len(block.txs)
        for receipt in executed.receipts:
            self._resolve(receipt.tx_hash, receipt)
        self._forget(list(block.txs), left_out)
        return executed

    def _reject(self, tx_hash: bytes, refusal: Refusal) -> None:
        self._rejected[tx_hash] = refusal
        while len(self._rejected) > self._limits.rejected_memory_txs_max:
            self._rejected.popitem(last=False)
        self._resolve(tx_hash, refusal)

    def _resolve(self, tx_hash: bytes, result: Receipt | Refusal) -> None:
        for future in self._waiters.pop(tx_hash, []):
            if not future.done():
                future.set_result(result)
