"""The scenarios and how one runs: a fresh network, setup, pre-signed load, measurement, teardown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from corridor.client.http import Client
from corridor.keys import KeyPair, address_of

from common import RESULTS_DIR, code_version, measure_verify_per_s, self_cpu_s
from loadgen import Lane, LoadConfig, LoadPlan, run_load
from metrics import profile_summary, summarize
from network import BenchNetwork
from presign import MID_RATES_USD, Workload, presign, worth_minor
from funding import load_issuers, mint_to, populate_book

SENDER_FUNDS_USD = 500  # each sender's balance in every currency it uses, in USD worth


@dataclass(frozen=True)
class Scenario:
    name: str
    validators: int
    workload: str  # "transfer" or "fx"
    rate_tps: float | None  # None: as fast as possible
    delay_ms: int = 0
    target: str = "all"  # submit to "all" nodes (each owns a share of the senders) or to "one" (node 0)
    description: str = ""
    goal: str = ""
    batch_txs: int = 500  # as fast as possible: transactions per POST
    inflight_max: int = 2_000  # as fast as possible: most transactions submitted and not yet final or rejected
    lanes_per_node: int = 2  # HTTP connections per target node, each with one request at a time


SCENARIOS: dict[str, Scenario] = {
    # One node verifies a batch in its worker process while it decodes and admits another: four requests
    # at a time keep both busy (two left the event loop idle a third of the time).
    "a": Scenario("a-one-validator", 1, "transfer", None, description="1 validator, transfers, as fast as possible",
                  goal=">= 5,000 tx/s and >= 0.3 x verify_per_s", lanes_per_node=4),
    # Latency is in-flight / throughput (Little's law): 1,000 in flight keeps the cores busy with blocks
    # of about 500 while a transaction waits about two blocks.
    "b": Scenario("b-four-validators", 4, "transfer", None, description="4 validators on loopback, transfers, as fast as possible",
                  goal=">= 2,000 tx/s, p99 < 1 s", inflight_max=1_000),
    # The FX mix runs with fewer transactions in flight: the node's cost per payment grows with the pending
    # state (docs/performance.md), and 3,000 in flight stalled consensus for seconds in our runs.
    "c": Scenario("c-fx-mix", 4, "fx", None, description="4 validators, 50 % transfers / 25 % swaps / 25 % cross-currency payments through a populated book",
                  goal=">= 1,000 tx/s, p99 < 1 s", batch_txs=200, inflight_max=500),
    "d": Scenario("d-latency", 4, "transfer", 100.0, description="4 validators, transfers offered at 100 tx/s",
                  goal="p50 < 100 ms, p99 < 250 ms"),
    "e": Scenario("e-wide-area", 4, "transfer", 100.0, delay_ms=50, description="4 validators, 50 ms one-way delay on every peer link, 100 tx/s",
                  goal="p50 < 400 ms"),
}


def meets_goal(key: str, result: dict[str, Any]) -> bool | None:
    tps, latency = result["committed_tps"], result["latency_ms"]
    p50, p99 = latency["p50"], latency["p99"]
    if p50 is None or p99 is None:
        return False
    checks: dict[str, Callable[[], bool]] = {
        "a": lambda: tps >= 5000 and result["committed_over_verify"] >= 0.3,
        "b": lambda: tps >= 2000 and p99 < 1000,
        "c": lambda: tps >= 1000 and p99 < 1000,
        "d": lambda: p50 < 100 and p99 < 250,
        "e": lambda: p50 < 400,
    }
    check = checks.get(key)
    return None if check is None else check()


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    window_s: float
    drain_s: float


@dataclass(frozen=True)
class Tuning:
    senders: int | None = None
    batch_txs: int | None = None
    inflight_max: int | None = None
    lanes_per_node: int | None = None
    verify_workers: int | None = None  # the nodes' verify.workers (None: their default, one per spare core)
    target: str | None = None
    rate_tps: float | None = None  # overrides the scenario's rate (0: as fast as possible)
    profile: bool = False
    keep: bool = False
    status_only: bool = False
    presign_headroom_s: float = 3.0


def _decimals(network: BenchNetwork) -> dict[str, int]:
    genesis = json.loads((network.nodes[0].home / "genesis.json").read_text())
    return {entry["code"]: entry["decimals"] for entry in genesis["currencies"]}


def _start_profilers(network: BenchNetwork, duration_s: float, out_dir: Path, name: str) -> list[tuple[subprocess.Popen[bytes], Path]]:
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists():
        pyspy_path = shutil.which("py-spy")
        if pyspy_path is None:
            print("  --profile: py-spy is not installed (pip install py-spy into the venv); not profiling")
            return []
        pyspy = Path(pyspy_path)
    started = []
    for node in network.nodes:
        raw = out_dir / f"profile-{name}-node{node.index}.raw"
        process = subprocess.Popen(
            [str(pyspy), "record", "--pid", str(node.pid), "--duration", str(max(1, int(duration_s))), "--rate", "100",
             "--format", "raw", "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        started.append((process, raw))
    return started


def run_scenario(key: str, timing: Timing, tuning: Tuning, log: Callable[[str], None] = print,
                 scenario: Scenario | None = None, rss_every_s: float | None = None) -> dict[str, Any]:
    """Run one scenario end to end and return its result document (the JSON written to bench/results)."""
    scenario = scenario or SCENARIOS[key]
    if tuning.target:
        scenario = replace(scenario, target=tuning.target)
    if tuning.rate_tps is not None:
        scenario = replace(scenario, rate_tps=tuning.rate_tps or None)
    if tuning.status_only:
        scenario = replace(scenario, name=scenario.name + "-no-events")  # a diagnostic: never mistaken for the scenario
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_average = os.getloadavg()[0]  # before anything of this scenario runs (the previous scenario counts in it)
    t_begin = time.monotonic()
    log(f"[{scenario.name}] {scenario.description}")

    # The machine's ceiling, measured now on an idle machine (no node of this run is up yet).
    verify_per_s = measure_verify_per_s()
    log(f"  Ed25519 verify on one core: {verify_per_s:,.0f}/s")

    network = BenchNetwork.create(scenario.validators, scenario.delay_ms, keep=tuning.keep, verify_workers=tuning.verify_workers)
    profilers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        network.start()
        decimals = _decimals(network)
        currencies = sorted(MID_RATES_USD) if scenario.workload == "fx" else ["USD"]

        # How much to pre-sign. As fast as possible: every node verifies every transaction once in its one
        # thread, so N nodes on C cores commit at most verify_per_s * min(1, C / N): pre-sign that rate for
        # the whole run (plus headroom), so the load cannot run dry before the window ends.
        cores = os.cpu_count() or 1
        load_s = timing.warmup_s + timing.window_s + tuning.presign_headroom_s
        if scenario.rate_tps is None:
            ceiling = verify_per_s * min(1.0, cores / scenario.validators)
            budget = int(ceiling * load_s * 1.05)
            senders = tuning.senders or 2_000
        else:
            budget = int(scenario.rate_tps * (load_s + timing.drain_s) * 1.1)
            senders = tuning.senders or max(100, min(2_000, int(scenario.rate_tps * 2)))
        rounds = max(1, -(-budget // senders))
        seeds = tuple(os.urandom(32) for _ in range(senders))
        workload = Workload(scenario.workload, network.chain_id, seeds, decimals, rng_seed=int.from_bytes(os.urandom(4), "big"))
        t0 = time.monotonic()
        hexes, hashes = presign(workload, rounds)
        log(f"  pre-signed {senders * rounds:,} transactions ({senders:,} senders x {rounds} nonces) in {time.monotonic() - t0:.1f} s")

        network.wait_ready()
        client = Client(network.nodes[0].api, timeout_s=30.0)
        issuers = load_issuers(network.issuers)
        t0 = time.monotonic()
        grants = {code: [(address_of(KeyPair.from_seed(seed).public_key), worth_minor(code, SENDER_FUNDS_USD, decimals)) for seed in seeds]
                  for code in currencies}
        minted = mint_to(client, network.chain_id, issuers, grants)
        offers = 0
        if scenario.workload == "fx":
            offers = populate_book(client, network.chain_id, issuers, decimals, KeyPair.generate())
        log(f"  setup: {minted:,} mints" + (f", {offers} resting offers" if offers else "") + f" in {time.monotonic() - t0:.1f} s")

        # Lanes: senders are dealt to lanes; a lane sends its senders' nonce 0s, then their nonce 1s, ...
        targets = network.nodes if scenario.target == "all" else network.nodes[:1]
        lane_count = len(targets) * (tuning.lanes_per_node or scenario.lanes_per_node)
        flat_hexes = [h for sender_hexes in hexes for h in sender_hexes]
        flat_hashes = [h for sender_hashes in hashes for h in sender_hashes]
        del hexes, hashes
        sender_of = [i // rounds for i in range(len(flat_hexes))]
        lanes = []
        for lane_number in range(lane_count):
            own = range(lane_number, senders, lane_count)
            ids = [sender * rounds + nonce for nonce in range(rounds) for sender in own]
            lanes.append(Lane(targets[lane_number % len(targets)].api, ids))
        plan = LoadPlan(flat_hexes, flat_hashes, sender_of, lanes, network.nodes[0].api + "/v1/events", status_only=tuning.status_only)

        marks: dict[str, Any] = {}

        def window_start() -> None:
            marks["cpu0"], marks["self0"], marks["t0"] = network.cpu_s(), self_cpu_s(), time.monotonic()
            marks["rss_kinds0"] = network.rss_kinds_mb()
            if tuning.profile:
                RESULTS_DIR.mkdir(parents=True, exist_ok=True)
                profilers.extend(_start_profilers(network, timing.window_s, RESULTS_DIR, scenario.name))

        def window_end() -> None:
            marks["cpu1"], marks["self1"], marks["t1"] = network.cpu_s(), self_cpu_s(), time.monotonic()
            marks["rss_kinds1"] = network.rss_kinds_mb()

        inflight_max = tuning.inflight_max or scenario.inflight_max
        config = LoadConfig(
            rate_tps=scenario.rate_tps, warmup_s=timing.warmup_s, window_s=timing.window_s, drain_s=timing.drain_s,
            # A batch larger than the in-flight cap could never be sent: the cap bounds it.
            batch_txs=min(tuning.batch_txs or scenario.batch_txs, inflight_max), inflight_max=inflight_max,
            on_window_start=window_start, on_window_end=window_end, on_tick=network.check_alive,
            sample_every_s=rss_every_s, sample=(lambda: (network.rss_mb(), network.heap_mb())) if rss_every_s else None,
        )
        mode = "as fast as possible" if scenario.rate_tps is None else f"{scenario.rate_tps:g} tx/s"
        log(f"  load: {mode} over {lane_count} lane(s) to {len(targets)} node(s); warm-up {timing.warmup_s:g} s, window {timing.window_s:g} s")
        record = run_load(plan, config)
        network.check_alive()
        peak_rss = network.peak_rss_mb()
        raws = []
        for process, raw in profilers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            if raw.exists():
                raw.with_suffix(".txt").write_text(profile_summary([raw]))
                raws.append(raw)
        if len(raws) > 1:
            (RESULTS_DIR / f"profile-{scenario.name}-all.txt").write_text(profile_summary(raws))
        if raws:
            log(f"  profiles: {RESULTS_DIR}/profile-{scenario.name}-*.txt")
    finally:
        for process, _ in profilers:
            if process.poll() is None:
                process.kill()
                process.wait()
        network.stop()

    result: dict[str, Any] = {"scenario": scenario.name, "validators": scenario.validators, "workload": scenario.workload,
                              "mode": "max" if scenario.rate_tps is None else "fixed", "target_rate_tps": scenario.rate_tps,
                              "submit_to": scenario.target, "p2p_delay_ms": scenario.delay_ms}
    result.update(summarize(record))
    window = marks["t1"] - marks["t0"]
    result["peak_rss_mb"] = max(v for v in peak_rss if v is not None)
    result["peak_rss_mb_per_node"] = peak_rss
    result["node_cpu_pct"] = [None if a is None or b is None else round(100 * (b - a) / window, 1) for a, b in zip(marks["cpu0"], marks["cpu1"], strict=True)]
    result["loadgen_cpu_pct"] = round(100 * (marks["self1"] - marks["self0"]) / window, 1)
    result["verify_per_s"] = round(verify_per_s)
    result["committed_over_verify"] = round(result["committed_tps"] / verify_per_s, 3)
    result["senders"] = senders
    result["presigned"] = len(flat_hexes)
    result["batch_txs"] = config.batch_txs if scenario.rate_tps is None else None
    result["inflight_max"] = config.inflight_max if scenario.rate_tps is None else None
    result["lanes"] = lane_count
    result["verify_workers"] = "node default (one per spare core)" if tuning.verify_workers is None else tuning.verify_workers
    result["cpu_count"] = cores
    result["load_average_1m_at_start"] = round(load_average, 2)
    if rss_every_s:
        result["rss_kinds_mb_at_window_start"] = marks.get("rss_kinds0")
        result["rss_kinds_mb_at_window_end"] = marks.get("rss_kinds1")
        w0, w1 = record.t_window - record.t_start, record.t_window_end - record.t_start
        window = [(round(t - w0, 1), values) for t, values in record.samples if w0 <= t <= w1 + 0.5]
        result["rss_samples_mb"] = [(t, rss) for t, (rss, _) in window]
        result["heap_samples_mb"] = [(t, heap) for t, (_, heap) in window]
    result["goal"] = scenario.goal
    result["meets_goal"] = None if tuning.status_only else meets_goal(key, result)
    result["started_at"] = started_at
    result["code"] = code_version()
    result["scenario_wall_s"] = round(time.monotonic() - t_begin, 1)
    if result["ran_out_of_presigned_txs"]:
        log("  WARNING: the load ran out of pre-signed transactions before the window ended; committed_tps is a lower bound")
    return result


def run_memory(validators: int, rate_tps: float, duration_s: float, warmup_s: float, tuning: Tuning, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The memory check: transfers at a fixed rate (half the peak) for `duration_s`, every node's RSS sampled
    every 5 s. Flat means every sample in the window stays within 10 % of the node's RSS at the window start."""
    scenario = Scenario("m-memory", validators, "transfer", rate_tps,
                        description=f"{validators} validator(s), transfers at {rate_tps:g} tx/s for {duration_s:g} s, RSS sampled every 5 s")
    result = run_scenario("m", Timing(warmup_s, duration_s, 15.0), tuning, log, scenario=scenario, rss_every_s=5.0)
    per_node = []
    for node in range(validators):
        series = [values[node] for _, values in result["rss_samples_mb"] if values[node] is not None]
        heap = [values[node] for _, values in result["heap_samples_mb"] if values[node] is not None]
        if not series:
            per_node.append(None)
            continue
        start = series[0]
        minute = max(1, int(60 / 5))  # samples in a minute
        first, last = sum(series[:minute]) / len(series[:minute]), sum(series[-minute:]) / len(series[-minute:])
        per_node.append({"rss_start_mb": start, "rss_end_mb": series[-1], "rss_min_mb": min(series), "rss_max_mb": max(series),
                         "max_deviation_pct": round(100 * max(abs(v - start) for v in series) / start, 1),
                         "first_minute_mean_mb": round(first, 1), "last_minute_mean_mb": round(last, 1),
                         "first_to_last_minute_pct": round(100 * (last - first) / first, 1),
                         # The heap alone (RssAnon): what is left when LevelDB's mapped table pages are not counted.
                         "heap_start_mb": heap[0] if heap else None, "heap_max_mb": max(heap) if heap else None,
                         "heap_max_deviation_pct": round(100 * max(abs(v - heap[0]) for v in heap) / heap[0], 1) if heap else None})
    result["rss_per_node"] = per_node
    result["goal"] = "every node's RSS within +-10 % of its start over the window"
    result["meets_goal"] = all(entry is not None and entry["max_deviation_pct"] <= 10 for entry in per_node)
    return result
