"""Running one node: open its home, serve the API, produce blocks, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from aiohttp import web

from corridor.consensus.validators import Validator, ValidatorSet
from corridor.keys import load_key
from corridor.ledger.genesis import Genesis, load_genesis
from corridor.ledger.store import Store
from corridor.node.api import make_app
from corridor.node.chain import Chain
from corridor.node.config import load_config

log = logging.getLogger("corridor.node")


def validator_set(genesis: Genesis) -> ValidatorSet:
    return ValidatorSet([Validator(v.name, v.public_key, v.power) for v in genesis.validators])


async def serve(home: Path, started: asyncio.Event | None = None) -> None:
    """Run the node whose home is `home` until SIGINT or SIGTERM. Errors opening it propagate."""
    config = load_config(home)
    genesis = load_genesis(config.genesis_path)
    node_key = load_key(config.node_key_path)
    store = Store(config.data_path, genesis)
    try:
        chain = Chain(store, genesis.chain_id, node_key, validator_set(genesis), config.limits)
        runner = web.AppRunner(make_app(chain, config), access_log=None, shutdown_timeout=2.0)
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
        producer = asyncio.create_task(chain.run(), name="block-producer")
        if started is not None:
            started.set()
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({producer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if producer.done():
            producer.result()  # a crashed producer is fatal: surface its exception
        log.info("stopping node %s", config.moniker)
        producer.cancel()
        stopper.cancel()
        await runner.cleanup()
    finally:
        store.close()
    log.info("node stopped cleanly at height %d", store.tip.height)
