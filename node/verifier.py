"""Ed25519 verification of submitted batches on the machine's other cores, and admission in arrival order.

A node is one Python thread; verifying signatures is the largest single cost of admitting a transaction.
Batches of transactions from clients are verified in worker processes while the event loop goes on with
consensus and other requests; single transactions are verified in place, where a round trip to a worker
would cost more than the check itself. Because a batch now waits for its workers, ArrivalOrder makes the
requests' transactions enter the mempool in the order the requests arrived, as they did before: a
sender's nonce 100 sent alone just after its batch of nonces 0-99 must not overtake the batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import signal

from corridor import keys
from corridor.keys import verify_signature
from corridor.ledger.tx import SignedTx, signature_checks

log = logging.getLogger(__name__)
BATCH_TXS_MIN = 16  # smaller batches are verified in place
CHUNK_CHECKS = 256  # signatures per task: small enough that several workers share a batch


def _verify_chunk(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_signature(key, message, signature) for key, message, signature in checks]


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the node stops its workers itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Ticket:
    """One request's place in the arrival order."""

    def __init__(self, previous: asyncio.Future[None] | None, own: asyncio.Future[None]) -> None:
        self._previous = previous
        self._own = own

    async def wait_turn(self) -> None:
        """Return once every request that arrived before this one has admitted its transactions."""
        if self._previous is not None and not self._previous.done():
            await asyncio.shield(self._previous)

    def done(self) -> None:
        """This request has admitted its transactions (or given up): the next one may go."""
        if not self._own.done():
            self._own.set_result(None)


class ArrivalOrder:
    """Hands out tickets in arrival order; each request admits its transactions in its turn."""

    def __init__(self) -> None:
        self._last: asyncio.Future[None] | None = None

    def ticket(self) -> Ticket:
        """Take the next place (call it before the request's first await)."""
        own: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ticket = Ticket(self._last, own)
        self._last = own
        return ticket


class BatchVerifier:
    """Verifies the signatures of transaction batches, in worker processes when there are any."""

    def __init__(self, chain_id: str, workers: int) -> None:
        self._chain_id = chain_id
        self._workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers (spawned: a fork of a running event loop with LevelDB threads is unsafe)."""
        if self._workers > 0 and self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
            )
            self._pool.submit(_verify_chunk, [])  # start the workers now, not on the first batch

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    @property
    def has_workers(self) -> bool:
        return self._pool is not None

    async def verify(self, txs: list[SignedTx]) -> list[bool]:
        """For each transaction, whether every signature it carries verifies (as signatures_valid says)."""
        checks = [signature_checks(tx, self._chain_id) for tx in txs]
        flat = [check for tx_checks in checks for check in tx_checks]
        if self._pool is None or len(txs) < BATCH_TXS_MIN:
            results = _verify_chunk(flat)
        else:
            results = await self._in_workers(self._pool, flat)
        verdicts = []
        position = 0
        for tx_checks in checks:
            verdicts.append(all(results[position : position + len(tx_checks)]))
            position += len(tx_checks)
        return verdicts

    async def _in_workers(self, pool: concurrent.futures.ProcessPoolExecutor, checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        loop = asyncio.get_running_loop()
        chunks = [checks[start : start + CHUNK_CHECKS] for start in range(0, len(checks), CHUNK_CHECKS)]
        try:
            done = await asyncio.gather(*(loop.run_in_executor(pool, _verify_chunk, chunk) for chunk in chunks))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this request itself is being cancelled (the node stops)
            return self._after_broken_pool(pool, checks)  # the pool cancelled the chunks: it was shut down
        except (concurrent.futures.BrokenExecutor, RuntimeError):
            return self._after_broken_pool(pool, checks)
        results = [ok for chunk_results in done for ok in chunk_results]
        keys.verification_counts[0] += len(results)  # the workers' checks count as this node's (/metrics)
        keys.verification_counts[1] += results.count(False)
        return results

    def _after_broken_pool(self, pool: concurrent.futures.ProcessPoolExecutor, checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        """A worker died (killed by an operator or the OOM killer), or the pool was replaced or shut down
        under this batch: verify here. Only the first batch to see a broken pool replaces it."""
        if self._pool is pool:
            log.warning("a signature-verifying worker process died; starting new ones")
            pool.shutdown(wait=False)
            self._pool = None
            self.start()
        return _verify_chunk(checks)
