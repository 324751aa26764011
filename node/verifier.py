"""Ed25519 verification of submitted batches on the machine's other cores.

A node is one Python thread; verifying signatures is the largest single cost of admitting a transaction.
Batches of transactions from clients are verified in worker processes while the event loop goes on with
consensus and other requests; single transactions are verified in place, where a round trip to a worker
would cost more than the check itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing

from corridor import keys
from corridor.keys import verify_signature
from corridor.ledger.tx import SignedTx, signature_checks

log = logging.getLogger(__name__)
BATCH_TXS_MIN = 16  # smaller batches are verified in place
CHUNK_CHECKS = 256  # signatures per task: small enough that several workers share a batch


def _verify_chunk(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_signature(key, message, signature) for key, message, signature in checks]


class BatchVerifier:
    """Verifies the signatures of transaction batches, in worker processes when there are any."""

    def __init__(self, chain_id: str, workers: int) -> None:
        self._chain_id = chain_id
        self._workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers (spawned: a fork of a running event loop with LevelDB threads is unsafe)."""
        if self._workers > 0 and self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
            self._pool.submit(_verify_chunk, [])  # start the workers now, not on the first batch

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def verify(self, txs: list[SignedTx]) -> list[bool]:
        """For each transaction, whether every signature it carries verifies (as signatures_valid says)."""
        checks = [signature_checks(tx, self._chain_id) for tx in txs]
        flat = [check for tx_checks in checks for check in tx_checks]
        if self._pool is None or len(txs) < BATCH_TXS_MIN:
            results = _verify_chunk(flat)
        else:
            results = await self._in_workers(flat)
        verdicts = []
        position = 0
        for tx_checks in checks:
            verdicts.append(all(results[position : position + len(tx_checks)]))
            position += len(tx_checks)
        return verdicts

    async def _in_workers(self, checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        chunks = [checks[start : start + CHUNK_CHECKS] for start in range(0, len(checks), CHUNK_CHECKS)]
        try:
            done = await asyncio.gather(*(loop.run_in_executor(self._pool, _verify_chunk, chunk) for chunk in chunks))
        except concurrent.futures.BrokenExecutor:
            # A worker died (killed by an operator or the OOM killer): verify here, and start new workers.
            log.warning("a signature-verifying worker process died; starting new ones")
            self.stop()
            self.start()
            return _verify_chunk(checks)
        results = [ok for chunk_results in done for ok in chunk_results]
        keys.verification_counts[0] += len(results)  # the workers' checks count as this node's (/metrics)
        keys.verification_counts[1] += results.count(False)
        return results
