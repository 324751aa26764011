"""Batch signature verification in worker processes gives the same verdicts as verifying in place."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from corridor.ledger.tx import signatures_valid
from corridor.node.config import ConfigError, NodeConfig, default_worker_count, load_config
from corridor.node.verifier import BATCH_TXS_MIN, ArrivalOrder, BatchVerifier

from unit_support import CHAIN_ID, transfer


def batch_with_bad_signatures(size: int) -> tuple[list, list[bool]]:
    txs = [transfer("alice", nonce, "bob", "USD", 1) for nonce in range(size)]
    forged = {3, size - 1}
    for index in forged:
        txs[index] = replace(txs[index], signatures=(bytes(64),))
    txs[5] = transfer("alice", 5, "bob", "USD", 1, chain_id="another-chain")  # signed for another chain
    return txs, [index not in forged and index != 5 for index in range(size)]


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("size", [BATCH_TXS_MIN - 1, 600])
def test_verdicts_match_verifying_in_place(workers: int, size: int) -> None:
    txs, expected = batch_with_bad_signatures(size)
    verifier = BatchVerifier(CHAIN_ID, workers)

    async def run() -> list[bool]:
        verifier.start()
        try:
            return await verifier.verify(txs)
        finally:
            verifier.stop()

    verdicts = asyncio.run(run())
    assert verdicts == expected == [signatures_valid(tx, CHAIN_ID) for tx in txs]


def test_a_dead_worker_is_replaced_and_the_batch_still_verified() -> None:
    txs, expected = batch_with_bad_signatures(64)
    verifier = BatchVerifier(CHAIN_ID, 1)

    async def run() -> tuple[list[bool], list[bool]]:
        verifier.start()
        try:
            first = await verifier.verify(txs)
            for process in list(verifier._pool._processes.values()):  # noqa: SLF001 - simulate the OOM killer
                process.kill()
                process.join()
            return first, await verifier.verify(txs)
        finally:
            verifier.stop()

    first, after_kill = asyncio.run(run())
    assert first == after_kill == expected


def write_config(home: Path, verify: object) -> None:
    config = NodeConfig(home, "node0", "127.0.0.1", 1, "127.0.0.1", 2)
    config.save()
    document = json.loads((home / "config.json").read_text())
    document["verify"] = verify
    (home / "config.json").write_text(json.dumps(document))


@pytest.mark.parametrize(("verify", "count"), [({"workers": "auto"}, default_worker_count()), ({"workers": 0}, 0), ({"workers": 3}, 3), ({}, default_worker_count())])
def test_verify_workers_are_read_from_the_config(tmp_path: Path, verify: object, count: int) -> None:
    write_config(tmp_path, verify)
    assert load_config(tmp_path).verify_worker_count == count


@pytest.mark.parametrize("workers", [-1, 65, "two", 1.5, None])
def test_a_bad_verify_workers_value_is_a_config_error(tmp_path: Path, workers: object) -> None:
    write_config(tmp_path, {"workers": workers})
    with pytest.raises(ConfigError, match="verify.workers"):
        load_config(tmp_path)


def test_requests_admit_in_arrival_order_whatever_order_their_verification_ends() -> None:
    order = ArrivalOrder()
    admitted: list[str] = []

    async def request(name: str, verifying_s: float) -> None:
        ticket = order.ticket()
        try:
            await asyncio.sleep(verifying_s)  # a batch in the workers, or none for a single transaction
            await ticket.wait_turn()
            admitted.append(name)
        finally:
            ticket.done()

    async def run() -> None:
        await asyncio.gather(request("batch", 0.05), request("single", 0.0), request("second batch", 0.01))

    asyncio.run(run())
    assert admitted == ["batch", "single", "second batch"]


def test_a_request_that_fails_before_its_turn_does_not_hold_up_the_next() -> None:
    order = ArrivalOrder()
    admitted: list[str] = []

    async def failing() -> None:
        ticket = order.ticket()
        try:
            raise ValueError("the body was not JSON")
        finally:
            ticket.done()

    async def run() -> None:
        with pytest.raises(ValueError):
            await failing()
        ticket = order.ticket()
        await asyncio.wait_for(ticket.wait_turn(), 1.0)
        admitted.append("next")
        ticket.done()

    asyncio.run(run())
    assert admitted == ["next"]
