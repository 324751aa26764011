"""Corridor's benchmark: `python bench/run.py` (make bench), `--quick` (make bench-quick), or single scenarios.

Each scenario starts its own fresh network (corridor testnet into a temporary folder, one `corridor start`
process per validator), funds its senders, pre-signs the load in worker processes, measures over a window
after a warm-up, and stops every process it started. Results: a table here and bench/results/<scenario>.json.
See docs/performance.md for what each figure means and how it is measured.

    python bench/run.py                      # all five scenarios, 20 s windows
    python bench/run.py --quick              # a, b, d with short windows
    python bench/run.py -s b -s d            # chosen scenarios
    python bench/run.py -s a --profile       # also py-spy profiles of every node over the window
    python bench/run.py --memory             # the 5-minute RSS check at half of b's peak rate
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from common import RESULTS_DIR  # noqa: E402
from scenarios import SCENARIOS, Timing, Tuning, run_memory, run_scenario  # noqa: E402

FULL = Timing(warmup_s=5.0, window_s=20.0, drain_s=15.0)
QUICK = Timing(warmup_s=2.0, window_s=10.0, drain_s=10.0)
QUICK_SCENARIOS = "abd"
# The memory check's window opens once a node's bounded caches are full: the state-root vector memo (up to
# 34 MB, ledger/state_root.py), the store's entry cache, LevelDB's block caches and memtables. They fill in the first one or
# two minutes at half the peak rate (docs/performance.md, "Memory"); RSS is judged flat after that.
MEMORY_WARMUP_S = 120.0

console = Console(width=None if sys.stdout.isatty() else 220)


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_table(results: list[dict[str, Any]]) -> None:
    table = Table(title="Corridor benchmark", title_justify="left")
    columns = ["scenario", "val.", "offered tx/s", "committed tx/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "blocks/s",
               "tx/block", "rejected", "peak RSS MB", "node CPU %", "verify/s", "tps/verify", "goal (issue 6)"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "goal") else "right")
    for r in results:
        latency = r["latency_ms"]
        goal = {True: "[green]met[/]", False: "[red]missed[/]", None: ""}[r.get("meets_goal")]
        rejected = _fmt(r["rejected"]) + (f" ({', '.join(f'{k} ×{v}' for k, v in r['rejected_by_code'].items())})" if r["rejected"] else "")
        table.add_row(
            r["scenario"], str(r["validators"]), _fmt(r["offered_tps"]), _fmt(r["committed_tps"]),
            _fmt(latency["p50"]), _fmt(latency["p95"]), _fmt(latency["p99"]), _fmt(latency["max"]),
            _fmt(r["blocks_per_s"], 1), _fmt(r["txs_per_block"]), rejected, _fmt(r["peak_rss_mb"]),
            "/".join(_fmt(v) for v in r["node_cpu_pct"]), _fmt(r["verify_per_s"]), _fmt(r["committed_over_verify"], 3),
            f"{goal} {r.get('goal', '')}",
        )
    console.print(table)
    for r in results:
        notes = []
        if r["latency_ms"].get("not_final_at_stop"):
            notes.append(f"{r['latency_ms']['not_final_at_stop']} window transaction(s) never final: counted with their time so far (lower bounds)")
        if r.get("ran_out_of_presigned_txs"):
            notes.append("ran out of pre-signed transactions inside the window: committed tx/s is a lower bound")
        if r.get("skipped_after_rejection"):
            notes.append(f"{r['skipped_after_rejection']} transaction(s) skipped: their sender had a rejection")
        if "rss_per_node" in r:
            notes.append("RSS per node: " + "; ".join(
                f"node{i} {e['rss_start_mb']:.0f} → {e['rss_end_mb']:.0f} MB (max dev {e['max_deviation_pct']} %, heap alone {e['heap_max_deviation_pct']} %)" for i, e in enumerate(r["rss_per_node"]) if e))
            start, end = r.get("rss_kinds_mb_at_window_start") or [], r.get("rss_kinds_mb_at_window_end") or []
            notes.append("heap (RssAnon) and mapped files (RssFile) per node: " + "; ".join(
                f"node{i} anon {a['RssAnon']:.0f} → {b['RssAnon']:.0f}, file {a['RssFile']:.0f} → {b['RssFile']:.0f} MB"
                for i, (a, b) in enumerate(zip(start, end)) if a and b))
        for note in notes:
            console.print(f"  {r['scenario']}: {note}")


def write_result(result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result['scenario']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: every `finally` stops what it started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"short windows ({QUICK.window_s:g} s); scenarios {', '.join(QUICK_SCENARIOS)} unless -s is given")
    parser.add_argument("-s", "--scenario", action="append", default=[], help="a, b, c, d or e (or a full name); repeatable")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before the window")
    parser.add_argument("--window", type=float, help="measurement window in seconds")
    parser.add_argument("--drain", type=float, help="most seconds to wait after the window for its transactions to become final")
    parser.add_argument("--rate", type=float, help="offered tx/s for the chosen scenarios (0: as fast as possible)")
    parser.add_argument("--to", choices=["all", "one"], help="submit to every node (default) or to node 0 only")
    parser.add_argument("--senders", type=int, help="number of funded sender accounts (default 2,000 at full speed)")
    parser.add_argument("--batch", type=int, help="as fast as possible: transactions per POST (max 1,000; default 500, c: 200)")
    parser.add_argument("--inflight", type=int, help="as fast as possible: most transactions submitted and not yet final (default 2,000, b: 1,000, c: 500)")
    parser.add_argument("--lanes", type=int, help="HTTP connections (lanes) per target node (default 2, a: 4)")
    parser.add_argument("--verify-workers", type=int, default=None, help="the nodes' verify.workers (default: theirs, one per spare core)")
    parser.add_argument("--profile", action="store_true", help="py-spy every node over the window (bench/results/profile-*.txt)")
    parser.add_argument("--no-events", action="store_true",
                        help="diagnostic: count commits from /v1/status instead of the events stream (no latency figures; shows the stream's own cost)")
    parser.add_argument("--keep", action="store_true", help="keep each network's temporary folder (node logs)")
    parser.add_argument("--memory", action="store_true", help="run the memory check instead of the scenarios")
    parser.add_argument("--memory-rate", type=float, help="tx/s of the memory check (default: half of b's committed tx/s in bench/results)")
    parser.add_argument("--memory-duration", type=float, default=300.0, help="memory check window in seconds")
    parser.add_argument("--memory-validators", type=int, default=4)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (a background job)

    base = QUICK if args.quick else FULL
    timing = Timing(args.warmup if args.warmup is not None else base.warmup_s, args.window if args.window is not None else base.window_s,
                    args.drain if args.drain is not None else base.drain_s)
    tuning = Tuning(senders=args.senders, batch_txs=None if args.batch is None else max(1, min(1000, args.batch)), inflight_max=args.inflight, lanes_per_node=args.lanes, verify_workers=args.verify_workers,
                    target=args.to, rate_tps=args.rate, profile=args.profile, keep=args.keep,
                    status_only=args.no_events)
    t0 = time.monotonic()
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    try:
        if args.memory:
            rate = args.memory_rate
            if rate is None:
                peak_file = RESULTS_DIR / "b-four-validators.json"
                if not peak_file.exists():
                    console.print("no --memory-rate and no bench/results/b-four-validators.json to take the peak from: run scenario b first")
                    return 2
                rate = round(json.loads(peak_file.read_text())["committed_tps"] / 2)
                console.print(f"memory check at half of b's peak: {rate} tx/s")
            warmup_s = MEMORY_WARMUP_S if args.warmup is None else args.warmup
            result = run_memory(args.memory_validators, rate, args.memory_duration, warmup_s, tuning, console.print)
            console.print(f"  wrote {write_result(result)}")
            results.append(result)
        else:
            chosen = args.scenario or list(QUICK_SCENARIOS if args.quick else "abcde")
            keys = []
            for name in chosen:
                key = name[0].lower()
                if key not in SCENARIOS:
                    parser.error(f"unknown scenario {name!r}: choose from " + ", ".join(s.name for s in SCENARIOS.values()))
                keys.append(key)
            for key in keys:
                try:
                    result = run_scenario(key, timing, tuning, console.print)
                except Exception as exc:  # one broken scenario does not hide the others' figures
                    console.print(f"[red]  {SCENARIOS[key].name} failed: {type(exc).__name__}: {exc}[/]")
                    failed.append(SCENARIOS[key].name)
                    continue
                console.print(f"  wrote {write_result(result)}  ({result['committed_tps']:,.0f} tx/s, p50 {result['latency_ms']['p50']} ms, "
                              f"p99 {result['latency_ms']['p99']} ms, {result['scenario_wall_s']} s)")
                results.append(result)
    except KeyboardInterrupt:
        console.print("interrupted: every node this benchmark started has been stopped")
        return 130
    finally:
        if results:
            print_table(results)
    console.print(f"total {time.monotonic() - t0:.0f} s on {os.cpu_count()} cores")
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
