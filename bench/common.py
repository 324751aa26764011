"""Small shared pieces of the benchmark: the machine's Ed25519 ceiling, process memory and CPU, percentiles,
free ports and the `corridor` command of this interpreter."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from pathlib import Path

import nacl.signing

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def corridor_command() -> list[str]:
    """`corridor` of the same virtual environment as this interpreter."""
    script = Path(sys.executable).parent / "corridor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "corridor.cli.main"]


def code_version() -> str:
    """The commit the nodes run (they run this work tree, installed editable), with "+dirty" when files
    outside bench/ differ from it: results of different code must not be compared as if they were one."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"], cwd=REPO_DIR,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit or "unknown") + ("+dirty" if changed else "")


def measure_verify_per_s(duration_s: float = 1.5) -> float:
    """Ed25519 verifications per second with PyNaCl on one core (this process), over a 200-byte message:
    the same library and call the node uses (nacl.signing.VerifyKey(...).verify)."""
    key = nacl.signing.SigningKey(b"\x07" * 32)
    message = os.urandom(200)
    signature = key.sign(message).signature
    public = bytes(key.verify_key)
    for _ in range(200):  # warm the library up
        nacl.signing.VerifyKey(public).verify(message, signature)
    count = 0
    started = time.perf_counter()
    deadline = started + duration_s
    while True:
        for _ in range(500):
            nacl.signing.VerifyKey(public).verify(message, signature)
        count += 500
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def proc_status_kb(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmHWM: peak resident set, VmRSS: current), or None when gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat), or None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def self_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (the value below which `fraction` of them lie)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(count: int) -> int:
    """A base port B with B .. B+count-1 free, below the kernel's ephemeral range when there is room (so
    no outgoing connection of this machine takes a node's port while it runs)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError):
        low = 32_768
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if low - 20_000 > 2_000:
            base = 20_000 + base % (low - 20_000 - 200)
        if base + count > 65_000:
            continue
        if all(_port_free(port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports")
