"""From raw observations to the reported figures. Every figure is computed from what the run observed in
its measurement window; nothing is estimated or carried over from another run."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from common import percentile
from loadgen import RunRecord


def _at(samples: list[tuple[float, int, int]], t: float) -> tuple[int, int]:
    """(txs committed, height) of the last status sample taken at or before `t`."""
    last = (0, 0)
    for when, committed, height in samples:
        if when > t:
            break
        last = (committed, height)
    return last


def summarize_status_only(record: RunRecord) -> dict[str, Any]:
    """Throughput and blocks from the node's own counters (diagnostic mode: no per-transaction latency)."""
    w0, w1 = record.t_window, record.t_window_end
    window_s = w1 - w0
    (c0, h0), (c1, h1) = _at(record.status_samples, w0), _at(record.status_samples, w1)
    submitted = sum(1 for t in record.submit_t if w0 <= t < w1)
    return {
        "duration_s": round(window_s, 3),
        "offered_tps": round(submitted / window_s, 1),
        "committed_tps": round((c1 - c0) / window_s, 1),
        "committed_in_window": c1 - c0,
        "submitted_in_window": submitted,
        "latency_ms": {"p50": None, "p95": None, "p99": None, "max": None, "samples": 0, "not_final_at_stop": 0},
        "blocks_per_s": round((h1 - h0) / window_s, 2),
        "txs_per_block": round((c1 - c0) / (h1 - h0), 1) if h1 > h0 else None,
        "rejected": len(record.rejected_ids),
        "rejected_by_code": dict(Counter(record.rejected_codes).most_common()),
        "skipped_after_rejection": record.skipped,
        "ran_out_of_presigned_txs": record.exhausted_at is not None and record.exhausted_at < w1,
        "finality_source": "status counters (no events subscriber; no latency)",
    }


def summarize(record: RunRecord) -> dict[str, Any]:
    if record.status_samples:
        return summarize_status_only(record)
    w0, w1 = record.t_window, record.t_window_end
    window_s = w1 - w0
    submit_t, final_t, rejected = record.submit_t, record.final_t, record.rejected_ids
    committed = sum(1 for t in final_t if w0 <= t < w1)
    submitted = 0
    latencies: list[float] = []
    lower_bounds = 0
    rejected_in_window = 0
    for i, t in enumerate(submit_t):
        if not (w0 <= t < w1):
            continue
        submitted += 1
        if final_t[i] > 0.0:
            latencies.append((final_t[i] - t) * 1000)
        elif i in rejected:
            rejected_in_window += 1
        else:
            # Never seen final before the run stopped: its latency is at least this (a lower bound, counted
            # so that a lost or stuck transaction cannot make the percentiles look better).
            latencies.append((record.t_stop - t) * 1000)
            lower_bounds += 1
    latencies.sort()
    blocks = [b for b in record.blocks if w0 <= b[0] < w1]
    block_txs = sum(count for _, _, count in blocks)
    total_submitted = sum(1 for t in submit_t if t > 0.0)
    total_final = sum(1 for t in final_t if t > 0.0)
    return {
        "duration_s": round(window_s, 3),
        "offered_tps": round(submitted / window_s, 1),
        "committed_tps": round(committed / window_s, 1),
        "committed_in_window": committed,
        "submitted_in_window": submitted,
        "latency_ms": {
            "p50": _round(percentile(latencies, 0.50)),
            "p95": _round(percentile(latencies, 0.95)),
            "p99": _round(percentile(latencies, 0.99)),
            "max": _round(latencies[-1]) if latencies else None,
            "samples": len(latencies),
            "not_final_at_stop": lower_bounds,
        },
        "blocks_per_s": round(len(blocks) / window_s, 2),
        "txs_per_block": round(block_txs / len(blocks), 1) if blocks else None,
        "rejected": len(rejected),
        "rejected_in_window": rejected_in_window,
        "rejected_by_code": dict(Counter(record.rejected_codes).most_common()),
        "skipped_after_rejection": record.skipped,
        "submitted_total": total_submitted,
        "final_total": total_final,
        "ran_out_of_presigned_txs": record.exhausted_at is not None and record.exhausted_at < w1,
        "unmatched_receipts": record.unknown_receipts,
        "finality_source": "events stream (one subscriber on node 0)",
    }


def _round(value: float) -> float | None:
    return None if value != value else round(value, 1)  # NaN (no samples) becomes null


# Profiles (py-spy --format raw: one collapsed stack per line, "frame;frame;...;leaf count") ------------------

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('name')} ({path})"


_PLUMBING = ("(click/", "(asyncio/", "(cli/main.py)", "<module>", "(multiprocessing/", "(threading.py)", "(aiohttp/web_protocol.py)",
             "(aiohttp/web_app.py)", "(aiohttp/web_middlewares.py)", "errors_as_json")


def profile_summary(raw_paths: list[Path], top: int = 30) -> str:
    """Self and inclusive shares of the samples per function, from py-spy raw profiles (added up)."""
    total = 0
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    lines_in = [line for path in raw_paths for line in path.read_text(errors="replace").splitlines()]
    for line in lines_in:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";") if frame and not frame.startswith("process ") and not frame.startswith("thread ")]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (py-spy at 100 Hz, idle excluded) of {', '.join(path.name for path in raw_paths)}", "", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in self_counts.most_common(top)]
    lines += ["", "incl %  function (event-loop and CLI plumbing left out)"]
    shown = [(name, n) for name, n in inclusive.most_common() if not any(part in name for part in _PLUMBING)]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in shown[:top]]
    return "\n".join(lines) + "\n"
