"""A fresh local network per scenario: `corridor testnet` into a temporary folder, one `corridor start`
subprocess per validator, and a stop that leaves no process behind (also on Ctrl-C or an exception)."""

from __future__ import annotations

import atexit
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import corridor_command, free_base_port, proc_cpu_s, proc_status_kb

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0

_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last line of defence: no node outlives the benchmark, whatever happened to it."""
    for process in list(_LIVE):
        if process.poll() is None:
            process.kill()
            process.wait()


def http_json(url: str, body: bytes | None = None, timeout_s: float = 10.0) -> Any:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


@dataclass
class Node:
    index: int
    home: Path
    api: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class BenchNetwork:
    """One generated network under a temporary folder, and the node processes this benchmark started."""

    workdir: Path
    chain_id: str
    nodes: list[Node]
    issuers: dict[str, str]
    keep: bool = False
    _cpu_marks: dict[int, float] = field(default_factory=dict)

    @classmethod
    def create(cls, validators: int, delay_ms: int = 0, keep: bool = False, verify_workers: int | None = None) -> BenchNetwork:
        """`corridor testnet --json` into a new temporary folder; with `delay_ms`, every node's config.json
        gets p2p.delay_ms (the node's one-way delay fault layer); with `verify_workers`, verify.workers."""
        workdir = Path(tempfile.mkdtemp(prefix="corridor-bench-"))
        try:
            base_port = free_base_port(2 * validators)
            out = workdir / "net"
            result = subprocess.run(
                [*corridor_command(), "testnet", "--validators", str(validators), "--out", str(out), "--base-port", str(base_port), "--json"],
                capture_output=True, text=True, timeout=120, check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"corridor testnet failed: {result.stderr.strip() or result.stdout.strip()}")
            document = json.loads(result.stdout)
            nodes = []
            for index, entry in enumerate(document["nodes"]):
                home = Path(entry["home"])
                if delay_ms or verify_workers is not None:
                    config_path = home / "config.json"
                    config = json.loads(config_path.read_text())
                    if delay_ms:
                        config["p2p"]["delay_ms"] = delay_ms
                    if verify_workers is not None:
                        config["verify"] = {"workers": verify_workers}
                    config_path.write_text(json.dumps(config, indent=2) + "\n")
                nodes.append(Node(index, home, entry["api"], home.with_suffix(".log")))
            return cls(workdir, document["chain_id"], nodes, document["issuers"], keep)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def start(self) -> None:
        for node in self.nodes:
            log = open(node.log_path, "ab")
            node.process = subprocess.Popen(
                [*corridor_command(), "start", "--home", str(node.home)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the benchmark only; it stops the nodes itself
            )
            log.close()
            _LIVE.add(node.process)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Every node answers /v1/status and, with several validators, is connected to every peer."""
        deadline = time.monotonic() + timeout_s
        want_peers = len(self.nodes) - 1
        for node in self.nodes:
            while True:
                if not node.alive():
                    raise RuntimeError(f"node{node.index} exited at start:\n{node.log_tail()}")
                try:
                    status = http_json(node.api + "/v1/status", timeout_s=2.0)
                    if len(status["peers"]) >= want_peers:
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node{node.index} was not ready within {timeout_s:.0f} s:\n{node.log_tail()}")
                time.sleep(0.1)

    def check_alive(self) -> None:
        for node in self.nodes:
            if not node.alive():
                raise RuntimeError(f"node{node.index} died during the run:\n{node.log_tail()}")

    # Measurements of the node processes

    def peak_rss_mb(self) -> list[float | None]:
        """VmHWM of each node process: the most resident memory it has used since it started."""
        return self._status_mb("VmHWM")

    def _status_mb(self, field: str) -> list[float | None]:
        values = []
        for node in self.nodes:
            kb = proc_status_kb(node.pid, field) if node.alive() else None
            values.append(None if kb is None else round(kb / 1024, 1))
        return values

    def rss_mb(self) -> list[float | None]:
        """Each node's VmRSS: all its resident memory."""
        return self._status_mb("VmRSS")

    def heap_mb(self) -> list[float | None]:
        """Each node's RssAnon: its resident memory without mapped files."""
        return self._status_mb("RssAnon")

    def rss_kinds_mb(self) -> list[dict[str, float] | None]:
        """Each node's resident memory by kind: RssAnon (the heap: Python objects, LevelDB's caches) and
        RssFile (mapped files: LevelDB reads its tables through mmap, so these pages grow with the data)."""
        values: list[dict[str, float] | None] = []
        for node in self.nodes:
            kinds = {field: proc_status_kb(node.pid, field) if node.alive() else None for field in ("RssAnon", "RssFile")}
            values.append(None if None in kinds.values() else {field: round(kb / 1024, 1) for field, kb in kinds.items()})
        return values

    def cpu_s(self) -> list[float | None]:
        return [proc_cpu_s(node.pid) if node.alive() else None for node in self.nodes]

    # Stopping

    def stop(self) -> None:
        """SIGTERM every node this benchmark started, SIGKILL those still running after a deadline, and
        remove the temporary folder (kept with --keep, or printed for a post-mortem)."""
        started = [node for node in self.nodes if node.process is not None]
        for node in started:
            if node.process.poll() is None:
                try:
                    node.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for node in started:
            try:
                node.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
            _LIVE.discard(node.process)
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
