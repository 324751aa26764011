"""The load generator's timed part: submit pre-signed transactions over HTTP and follow them to finality.

Submission: each *lane* is one HTTP connection to one node that sends its own share of the senders'
transactions, in nonce order, as `POST /v1/txs {"txs": [...]}` batches, one request at a time (a sender's
transactions never travel on two connections, so they reach the mempool in nonce order). Either at a fixed
offered rate (each lane sends what is due every few milliseconds) or as fast as possible, where a lane
sends its next full batch as soon as the number of transactions in flight (submitted, neither final nor
rejected) leaves room for it: the in-flight cap keeps the mempools from overflowing.

Finality: one reader of `GET /v1/events` (server-sent events) on node 0 stamps each `receipt` with the time
its chunk arrived and matches it to the submit time by `tx_hash`; `block` events give blocks/s and txs per
block. Nothing is polled per transaction.

A transaction refused in a batch result (a per-item error) is counted by its code; its sender's later
transactions would all fail on their nonce, so that sender is retired (its remaining transactions are
skipped, and counted as such).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import aiohttp

BATCH_TXS_MAX = 1_000
RECEIPT_PREFIX = b"event: receipt\ndata: "
BLOCK_PREFIX = b"event: block\ndata: "
HASH_START = len(b'{"tx_hash":"')


@dataclass
class Lane:
    url: str  # the node's API base URL
    ids: list[int]  # this lane's transactions (indices into the plan), in submission order


@dataclass
class LoadPlan:
    hexes: list[str]
    hashes: list[str]
    sender_of: list[int]
    lanes: list[Lane]
    events_url: str
    status_only: bool = False  # diagnostic: count commits from /v1/status instead of the events stream


@dataclass
class LoadConfig:
    rate_tps: float | None  # None: as fast as possible
    warmup_s: float
    window_s: float
    drain_s: float  # after the window: how long to wait for the window's transactions to become final
    batch_txs: int = 500  # as fast as possible: transactions per POST
    inflight_max: int = 4_000  # as fast as possible: submitted but neither final nor rejected
    tick_s: float = 0.005  # fixed rate: how often a lane sends what is due
    sample_every_s: float | None = None
    sample: Callable[[], object] | None = None
    on_window_start: Callable[[], None] | None = None
    on_window_end: Callable[[], None] | None = None
    on_tick: Callable[[], None] | None = None  # called about once a second (liveness checks)


@dataclass
class RunRecord:
    """Raw observations of one run, times from time.monotonic() (the same clock in every process)."""

    submit_t: list[float]
    final_t: list[float]
    rejected_ids: set[int]
    rejected_codes: Counter[str]
    skipped: int
    blocks: list[tuple[float, int, int]]  # (arrival time, height, tx_count)
    t_start: float
    t_window: float
    t_window_end: float
    t_stop: float
    exhausted_at: float | None
    unknown_receipts: int
    samples: list[tuple[float, object]] = field(default_factory=list)
    status_samples: list[tuple[float, int, int]] = field(default_factory=list)  # status_only: (time, txs committed, height)


class Driver:
    def __init__(self, plan: LoadPlan, config: LoadConfig) -> None:
        self.plan, self.config = plan, config
        count = len(plan.hexes)
        self.index = {tx_hash: i for i, tx_hash in enumerate(plan.hashes)}
        self.submit_t = [0.0] * count
        self.final_t = [0.0] * count
        self.rejected_ids: set[int] = set()
        self.rejected_codes: Counter[str] = Counter()
        self.broken_senders: set[int] = set()
        self.skipped = 0
        self.blocks: list[tuple[float, int, int]] = []
        self.submitted = 0
        self.resolved = 0
        self.unknown_receipts = 0
        self.progress = asyncio.Event()
        self.stopping = False
        self.exhausted_at: float | None = None
        self.lanes_done = 0
        self.samples: list[tuple[float, object]] = []
        self.status_samples: list[tuple[float, int, int]] = []
        self._lane_tasks: list[asyncio.Task[None]] = []

    # Finality

    async def _read_events(self, session: aiohttp.ClientSession, connected: asyncio.Event) -> None:
        async with session.get(self.plan.events_url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as response:
            if response.status != 200:
                raise RuntimeError(f"GET /v1/events answered {response.status}")
            buffer = b""
            index, final_t = self.index, self.final_t
            async for chunk in response.content.iter_any():
                now = time.monotonic()
                if not connected.is_set():
                    connected.set()
                buffer += chunk
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    if event.startswith(RECEIPT_PREFIX):
                        data = event[len(RECEIPT_PREFIX) :]
                        if data[HASH_START + 64 : HASH_START + 65] == b'"':
                            tx_hash = data[HASH_START : HASH_START + 64].decode()
                        else:  # not the compact form this parser expects: read it properly
                            tx_hash = json.loads(data)["tx_hash"]
                        i = index.get(tx_hash)
                        if i is None:
                            self.unknown_receipts += 1  # setup transactions, for instance
                        elif final_t[i] == 0.0:
                            final_t[i] = now
                            if i not in self.rejected_ids:
                                self.resolved += 1
                    elif event.startswith(BLOCK_PREFIX):
                        block = json.loads(event[len(BLOCK_PREFIX) :])
                        self.blocks.append((now, block["height"], block["tx_count"]))
                        self.progress.set()
                    elif event.startswith(b"event: overflow"):
                        raise RuntimeError("the node dropped the events stream (the reader fell 1,000 blocks behind)")

    async def _poll_status(self, session: aiohttp.ClientSession, connected: asyncio.Event) -> None:
        """Diagnostic mode without an events subscriber: the node's own commit counter, every 50 ms. Gives
        throughput and blocks, no per-transaction latency; shows what the events stream itself costs."""
        url = self.plan.events_url.replace("/v1/events", "/v1/status")
        base: int | None = None
        while True:
            async with session.get(url) as response:
                status = await response.json()
            now = time.monotonic()
            if base is None:
                base = status["txs_committed_since_start"]
                connected.set()
            committed = status["txs_committed_since_start"] - base
            self.status_samples.append((now, committed, status["height"]))
            # Commits arrive in submission order per node closely enough to pace the in-flight cap.
            self.resolved = committed + len(self.rejected_ids)
            self.progress.set()
            await asyncio.sleep(0.05)

    # Submission

    def _reject(self, i: int, code: str) -> None:
        if i not in self.rejected_ids and self.final_t[i] == 0.0:
            self.resolved += 1
        self.rejected_ids.add(i)
        self.rejected_codes[code] += 1
        self.broken_senders.add(self.plan.sender_of[i])

    async def _lane(self, session: aiohttp.ClientSession, lane_number: int, lane: Lane, lane_count: int, t_start: float) -> None:
        config, plan = self.config, self.plan
        url = lane.url + "/v1/txs"
        headers = {"Content-Type": "application/json"}
        ids, position = lane.ids, 0
        sent = 0
        rate = None if config.rate_tps is None else config.rate_tps / lane_count
        t_zero = t_start + (0.0 if rate is None else lane_number / config.rate_tps)  # lanes staggered
        while not self.stopping:
            if rate is None:
                while self.submitted - self.resolved + config.batch_txs > config.inflight_max and not self.stopping:
                    self.progress.clear()
                    try:
                        await asyncio.wait_for(self.progress.wait(), 0.05)
                    except asyncio.TimeoutError:
                        pass
                if self.stopping:
                    break
                take = config.batch_txs
            else:
                now = time.monotonic()
                take = int((now - t_zero) * rate) + 1 - sent
                if take <= 0:
                    await asyncio.sleep(max(config.tick_s, t_zero + sent / rate - now))
                    continue
                take = min(take, BATCH_TXS_MAX)
            chosen = []
            while position < len(ids) and len(chosen) < take:
                i = ids[position]
                position += 1
                if plan.sender_of[i] in self.broken_senders:
                    self.skipped += 1
                    continue
                chosen.append(i)
            if not chosen:
                if self.exhausted_at is None:
                    self.exhausted_at = time.monotonic()
                break
            body = ('{"txs":["' + '","'.join([plan.hexes[i] for i in chosen]) + '"]}').encode()
            now = time.monotonic()
            for i in chosen:
                self.submit_t[i] = now
            self.submitted += len(chosen)
            sent += len(chosen)
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
                for i in chosen:
                    self._reject(i, f"http:{type(exc).__name__}")
                continue
            if status != 202:
                try:
                    code = json.loads(payload)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
                for i in chosen:
                    self._reject(i, f"http_{status}:{code}")
                continue
            results = json.loads(payload)["results"]
            for i, result in zip(chosen, results, strict=True):
                if "error" in result:
                    self._reject(i, result["error"]["code"])
        self.lanes_done += 1

    async def _sampler(self, t_start: float) -> None:
        config = self.config
        assert config.sample is not None and config.sample_every_s
        while not self.stopping:
            self.samples.append((time.monotonic() - t_start, config.sample()))
            await asyncio.sleep(config.sample_every_s)

    async def run(self) -> RunRecord:
        config, plan = self.config, self.plan
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            connected = asyncio.Event()
            follow = self._poll_status if plan.status_only else self._read_events
            reader = asyncio.create_task(follow(session, connected))
            await asyncio.wait([reader, asyncio.create_task(connected.wait())], timeout=10, return_when=asyncio.FIRST_COMPLETED)
            if reader.done():
                reader.result()
            if not connected.is_set():
                raise RuntimeError("the events stream did not open")
            t_start = time.monotonic()
            lanes = [asyncio.create_task(self._lane(session, n, lane, len(plan.lanes), t_start)) for n, lane in enumerate(plan.lanes)]
            self._lane_tasks = lanes
            extra = [asyncio.create_task(self._sampler(t_start))] if config.sample is not None else []
            t_window = t_start + config.warmup_s
            t_window_end = t_window + config.window_s
            try:
                await self._until(t_window, reader)
                if config.on_window_start:
                    config.on_window_start()
                await self._until(t_window_end, reader)
                if config.on_window_end:
                    config.on_window_end()
                # Drain: keep the load on until every transaction submitted in the window is final or
                # rejected (so no slow tail is cut off), or the drain time is up.
                waiting = [] if plan.status_only else [i for i, t in enumerate(self.submit_t) if t_window <= t < t_window_end]
                drain_end = t_window_end + config.drain_s
                while waiting and time.monotonic() < drain_end:
                    waiting = [i for i in waiting if self.final_t[i] == 0.0 and i not in self.rejected_ids]
                    if waiting:
                        await self._until(min(drain_end, time.monotonic() + 0.1), reader)
            finally:
                self.stopping = True
                t_stop = time.monotonic()
                for task in [*lanes, *extra, reader]:
                    task.cancel()
                await asyncio.gather(*lanes, *extra, reader, return_exceptions=True)
        return RunRecord(
            self.submit_t, self.final_t, self.rejected_ids, self.rejected_codes, self.skipped, self.blocks,
            t_start, t_window, t_window_end, t_stop, self.exhausted_at, self.unknown_receipts, self.samples, self.status_samples,
        )

    async def _until(self, deadline: float, reader: asyncio.Task[None]) -> None:
        """Sleep until `deadline`, failing early if the events reader died; call on_tick about once a second."""
        while True:
            if reader.done():
                reader.result()
                raise RuntimeError("the events stream ended")
            for lane in self._lane_tasks:
                if lane.done() and not lane.cancelled() and lane.exception() is not None:
                    raise RuntimeError("a submission lane failed") from lane.exception()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 1.0))
            if self.config.on_tick:
                self.config.on_tick()


def run_load(plan: LoadPlan, config: LoadConfig) -> RunRecord:
    async def main() -> RunRecord:
        return await Driver(plan, config).run()

    return asyncio.run(main())
