"""Generate a local network: a node home per validator, issuer and reserve-auditor keys, funded demo
accounts, one genesis."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.hashing import sha256
from corridor.keys import KeyPair, save_key
from corridor.node.config import NodeConfig

DEFAULT_CURRENCIES = ("USD", "EUR", "JPY")
DECIMALS = {"JPY": 0, "KRW": 0}
DEFAULT_DECIMALS = 2
INITIAL_RESERVE_MAJOR = 1_000_000_000
DEMO_ACCOUNTS = 4
DEMO_BALANCE_MAJOR = 10_000
NETWORK_FILE = "network.json"


@dataclass(frozen=True, slots=True)
class Network:
    """What `corridor testnet --json` prints: where everything of the generated network is."""

    chain_id: str
    nodes: list[dict[str, str]]
    issuers: dict[str, str]
    accounts: list[str]
    auditors: dict[str, str] = field(default_factory=dict)  # currency -> key file of its reserve auditor

    def to_json(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "nodes": self.nodes, "issuers": self.issuers, "auditors": self.auditors,
                "accounts": self.accounts}


def api_port(base_port: int, index: int) -> int:
    return base_port + 2 * index


def p2p_port(base_port: int, index: int) -> int:
    return base_port + 2 * index + 1


def create_testnet(out: Path, validators: int, currencies: list[str], base_port: int) -> Network:
    """Write a complete local network under `out` (which must not hold one yet) and describe it."""
    if validators < 1:
        raise ValueError("a network needs at least one validator")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ValueError(f"{out} is not empty; choose a new folder or remove it first")
    chain_id = f"corridor-local-{secrets.token_hex(3)}"
    keys_dir = out / "keys"
    configs = []
    validator_entries = []
    # Every validator of a local network runs on this machine: a verifying worker only pays where a core
    # is left over after one per validator (measured: 4 validators on 2 cores commit less with workers).
    verify_workers = max(0, len(os.sched_getaffinity(0)) // validators - 1)
    for index in range(validators):
        config = NodeConfig(
            home=out / f"node{index}",
            moniker=f"node{index}",
            api_host="127.0.0.1",
            api_port=api_port(base_port, index),
            p2p_host="127.0.0.1",
            p2p_port=p2p_port(base_port, index),
            peers=tuple(f"127.0.0.1:{p2p_port(base_port, i)}" for i in range(validators) if i != index),
            verify_workers=verify_workers,
        )
        config.save()
        node_key = KeyPair.generate()
        save_key(node_key, config.node_key_path)
        validator_entries.append({"name": config.moniker, "public_key": node_key.public_key.hex(), "power": 10})
        configs.append(config)
    issuers: dict[str, str] = {}
    auditors: dict[str, str] = {}
    currency_entries = []
    for code in currencies:
        issuer = KeyPair.generate()
        path = keys_dir / f"issuer-{code}.json"
        save_key(issuer, path)
        issuers[code] = str(path)
        auditor = KeyPair.generate()  # only the auditor attests the reserve the issuer mints against
        auditor_path = keys_dir / f"auditor-{code}.json"
        save_key(auditor, auditor_path)
        auditors[code] = str(auditor_path)
        decimals = DECIMALS.get(code, DEFAULT_DECIMALS)
        currency_entries.append(
            {
                "code": code,
                "decimals": decimals,
                "issuer": issuer.address_text,
                "auditor": auditor.address_text,
                "reserve_minor": INITIAL_RESERVE_MAJOR * 10**decimals,
                "reserve_report_hash": sha256(f"genesis reserve report {code}".encode()).hex(),
            }
        )
    accounts = []
    balances = []
    for index in range(DEMO_ACCOUNTS):
        account = KeyPair.generate()
        path = keys_dir / f"user-{index}.json"
        save_key(account, path)
        accounts.append(str(path))
        for entry in currency_entries:
            amount_minor = DEMO_BALANCE_MAJOR * 10 ** entry["decimals"]
            balances.append({"address": account.address_text, "currency": entry["code"], "amount_minor": amount_minor})
    genesis = {
        "chain_id": chain_id,
        "genesis_time_ms": int(time.time() * 1000),
        "validators": validator_entries,
        "currencies": currency_entries,
        "balances": balances,
    }
    genesis_text = json.dumps(genesis, indent=2) + "\n"
    for config in configs:
        config.genesis_path.write_text(genesis_text)
    network = Network(
        chain_id=chain_id,
        nodes=[{"home": str(c.home), "api": c.api_url, "p2p": f"{c.p2p_host}:{c.p2p_port}"} for c in configs],
        issuers=issuers,
        accounts=accounts,
        auditors=auditors,
    )
    (out / NETWORK_FILE).write_text(json.dumps(network.to_json(), indent=2) + "\n")
    return network


def load_network(out: Path) -> Network:
    """Read the description `create_testnet` left in `out`."""
    document = json.loads((out / NETWORK_FILE).read_text())
    return Network(document["chain_id"], document["nodes"], document["issuers"], document["accounts"], document.get("auditors", {}))
