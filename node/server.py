"""Running one node: open its home, serve the API, run consensus with its peers, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path

from aiohttp import web

from corridor.keys import load_key
from corridor.ledger.genesis import load_genesis
from corridor.ledger.leveldb_reads import disable_table_mmap
from corridor.ledger.store import Store
from corridor.node.api import make_app
from corridor.node.chain import Chain
from corridor.node.config import load_config
from corridor.node.runner import Runner

log = logging.getLogger("corridor.node")


GC_THRESHOLDS = (50_000, 20, 100)  # (gen0 allocations, gen0 runs per gen1, gen1 runs per gen2); CPython's are (700, 10, 10)


def tune_garbage_collector() -> None:
    """Fewer, not longer, garbage collector pauses.

    A busy node allocates millions of short-lived objects a second (transactions, receipts, state
    entries) that reference counting frees at once; with CPython's default thresholds the cycle collector
    still ran a full collection every few seconds, pausing the event loop 15-60 ms each time (measured in
    benchmark b) in the middle of consensus. The objects alive after startup are frozen out of collection,
    and collections start after many more allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(home: Path, started: asyncio.Event | None = None) -> None:
    """Run the node whose home is `home` until SIGINT or SIGTERM. Errors opening it propagate."""
    config = load_config(home)
    genesis = load_genesis(config.genesis_path)
    node_key = load_key(config.node_key_path)
    store = Store(config.data_path, genesis)
    mapped_reads = disable_table_mmap()  # what the Store's first open did (the result is kept per process)
    if mapped_reads is not None:
        log.warning("%s", mapped_reads)
    try:
        chain = Chain(store, genesis.chain_id, config.limits)
        if chain.validator_set().get(node_key.public_key) is None:
            log.warning("this node's key is not in the current validator set: its peers accept it once governance adds it")
        consensus = Runner(chain, node_key, config.p2p_host, config.p2p_port, config.peers, p2p_delay_ms=config.p2p_delay_ms)
        chain.metrics.attach(consensus, config.moniker)
        runner = web.AppRunner(make_app(chain, consensus, config), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, config.api_host, config.api_port, reuse_address=True)
        await site.start()
        log.info(
            "node %s serving %s for chain %s at height %d",
            config.moniker,
            config.api_url,
            genesis.chain_id,
            store.tip.height,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        tune_garbage_collector()
        consensus_task = asyncio.create_task(consensus.run(), name="consensus")
        if started is not None:
            started.set()
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({consensus_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if consensus_task.done():
            consensus_task.result()  # a crashed consensus task is fatal: surface its exception
        log.info("stopping node %s", config.moniker)
        consensus_task.cancel()
        stopper.cancel()
        await asyncio.gather(consensus_task, return_exceptions=True)
        await runner.cleanup()
    finally:
        store.close()
    log.info("node stopped cleanly at height %d", store.tip.height)
