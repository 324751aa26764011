"""`corridor devnet` (what `make run` calls): starts a network with a live demo, and stops every process."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .conftest import PortAllocator, run_cli


def _corridor_nodes_under(home: Path) -> list[int]:
    """Pids of `corridor start` processes whose home is under `home`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"start" in cmdline and any(str(home).encode() in part for part in cmdline):
                found.append(int(entry.name))
    return found


def test_devnet_runs_the_demo_then_stops_every_node_and_resumes(tmp_path: Path, port_allocator: PortAllocator) -> None:
    home = tmp_path / "devnet"
    base_port = port_allocator.allocate(4)
    env = {"COLUMNS": "120"}
    first = run_cli("devnet", "--validators", "2", "--home", str(home), "--base-port", str(base_port), "--duration", "8",
                    env=env, timeout_s=90)
    assert first.returncode == 0, first.stderr
    assert "created network" in first.stdout
    heights = [int(h) for h in re.findall(r"height (\d+)", first.stdout)]
    assert heights and max(heights) > 0, first.stdout[-2000:]
    assert "→" in first.stdout  # the last payments are listed
    assert _corridor_nodes_under(home) == []
    second = run_cli("devnet", "--validators", "2", "--home", str(home), "--base-port", str(base_port), "--duration", "4", "--no-demo",
                     env=env, timeout_s=90)
    assert second.returncode == 0, second.stderr
    assert "reusing network" in second.stdout
    assert _corridor_nodes_under(home) == []
    assert not (home / "pids.json").exists()
    assert os.listdir(home / "node0" / "data")
