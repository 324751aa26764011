"""A node's home folder: its config file, node key, genesis file and database, and the node's limits."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
GENESIS_FILE = "genesis.json"
NODE_KEY_FILE = "node_key.json"
DATA_DIR = "data"
KIB = 1024
MIB = 1024 * KIB


class ConfigError(ValueError):
    """A node home that cannot be used, with the reason."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Every limit of the node, named with its unit last."""

    http_body_bytes_max: int = 4 * MIB
    http_batch_txs_max: int = 1_000
    mempool_txs_max: int = 20_000
    mempool_sender_txs_max: int = 1_000
    wait_commit_timeout_s: float = 30.0
    rejected_memory_txs_max: int = 100_000
    block_time_future_drift_ms_max: int = 5_000
    sync_blocks_per_request_max: int = 64
    tx_gossip_batch_max: int = 500
    events_queue_blocks_max: int = 1_000
    events_subscribers_max: int = 256
    events_replay_blocks_max: int = 10_000

    def __post_init__(self) -> None:
        assert self.mempool_txs_max >= 2 * 1_000, "room for one block in flight and one filling"
        assert self.mempool_sender_txs_max <= self.mempool_txs_max


@dataclass(frozen=True, slots=True)
class NodeConfig:
    home: Path
    moniker: str
    api_host: str
    api_port: int
    p2p_host: str
    p2p_port: int
    peers: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    p2p_delay_ms: int = 0  # fault layer: hold outgoing peer messages this long (benchmarks of distant validators)
    verify_workers: int | None = None  # processes verifying submitted batches; None: one per spare core

    @property
    def verify_worker_count(self) -> int:
        return default_worker_count() if self.verify_workers is None else self.verify_workers

    @property
    def genesis_path(self) -> Path:
        return self.home / GENESIS_FILE

    @property
    def node_key_path(self) -> Path:
        return self.home / NODE_KEY_FILE

    @property
    def data_path(self) -> Path:
        return self.home / DATA_DIR

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "moniker": self.moniker,
            "api": {"host": self.api_host, "port": self.api_port},
            "p2p": {"host": self.p2p_host, "port": self.p2p_port, **({"delay_ms": self.p2p_delay_ms} if self.p2p_delay_ms else {})},
            "peers": list(self.peers),
            "verify": {"workers": "auto" if self.verify_workers is None else self.verify_workers},
        }

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / CONFIG_FILE).write_text(json.dumps(self.to_json(), indent=2) + "\n")


AUTO_VERIFY_WORKERS_MAX = 4  # a batch of 1,000 transfers is four chunks: more workers would idle


def default_worker_count() -> int:
    """One signature-verifying process per core this process may run on (its affinity, which containers
    set), beyond the one the node's event loop runs on, at most AUTO_VERIFY_WORKERS_MAX."""
    return min(AUTO_VERIFY_WORKERS_MAX, max(0, len(os.sched_getaffinity(0)) - 1))


def _worker_count(value: Any) -> int | None:
    if value == "auto":
        return None
    if type(value) is not int or not 0 <= value <= 64:
        raise ValueError(f'verify.workers is "auto" or a number of processes from 0 to 64, not {value!r}')
    return value


def load_config(home: Path) -> NodeConfig:
    """Read `home/config.json`; raises ConfigError with the reason when it is missing or malformed."""
    path = Path(home) / CONFIG_FILE
    try:
        document = json.loads(path.read_text())
        return NodeConfig(
            home=Path(home),
            moniker=str(document["moniker"]),
            api_host=str(document["api"]["host"]),
            api_port=int(document["api"]["port"]),
            p2p_host=str(document["p2p"]["host"]),
            p2p_port=int(document["p2p"]["port"]),
            peers=tuple(str(peer) for peer in document.get("peers", [])),
            p2p_delay_ms=int(document["p2p"].get("delay_ms", 0)),
            verify_workers=_worker_count(document.get("verify", {}).get("workers", "auto")),
        )
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist; create a node home with 'corridor testnet'") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a valid node config: {exc!r}") from exc
