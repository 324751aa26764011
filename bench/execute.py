"""The ledger's own cost, in one process, without the network: what admitting, building, validating and
committing a block of each workload costs per transaction on one core.

The network benchmark (run.py) says what the consortium commits; this one says where a node's CPU goes,
with far less noise (no other processes, no scheduling between four nodes on two cores), so a change to
the ledger can be judged in seconds. It uses the real pieces: a LevelDB store made from a genesis like
`corridor testnet`'s (USD, EUR, JPY), the mempool, `build_block`, `execute_block` and `Store.commit_block`,
and the same pre-signed workloads as run.py (transfers, or the FX mix against the market maker's book).

    python bench/execute.py                   # transfers and the FX mix, 20 blocks of 500 each
    python bench/execute.py -w fx --profile   # also cProfile the FX blocks (top 30 by own time)

Signatures are verified separately (`verify_us`, once per signature), as the node does: a node verifies
each transaction once, at admission or in a verifying worker, and never again.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corridor.keys import KeyPair  # noqa: E402
from corridor.ledger.block import build_block, execute_block  # noqa: E402
from corridor.ledger.genesis import parse_genesis  # noqa: E402
from corridor.ledger.state import State  # noqa: E402
from corridor.ledger.store import Store  # noqa: E402
from corridor.ledger.tx import OfferCreate, SignedTx, decode_tx, sign_tx, signatures_valid  # noqa: E402
from corridor.node.mempool import Mempool  # noqa: E402

from common import RESULTS_DIR, code_version  # noqa: E402
from funding import MARKET_LEVEL_USD, MARKET_LEVELS, maker_price  # noqa: E402
from presign import MID_RATES_USD, Workload, presign, worth_minor  # noqa: E402

CHAIN_ID = "corridor-execute-bench"
GENESIS_TIME_MS = 1_700_000_000_000
BLOCK_INTERVAL_MS = 250
DECIMALS = {"USD": 2, "EUR": 2, "JPY": 0}
SENDER_BALANCE_USD = 500
MAKER_BALANCE_USD = 10_000_000


def _genesis(senders: list[KeyPair], maker: KeyPair, validator: KeyPair) -> Any:
    issuers = {code: KeyPair.from_seed(bytes([index + 1]) * 32) for index, code in enumerate(sorted(DECIMALS))}
    balances = [
        {"address": key.address_text, "currency": code, "amount_minor": worth_minor(code, usd, DECIMALS)}
        for key, usd in [*((sender, SENDER_BALANCE_USD) for sender in senders), (maker, MAKER_BALANCE_USD)]
        for code in DECIMALS
    ]
    currencies = [
        {"code": code, "decimals": DECIMALS[code], "issuer": issuers[code].address_text, "auditor": validator.address_text,
         "reserve_minor": 10**18, "reserve_report_hash": "00" * 32}
        for code in sorted(DECIMALS)
    ]
    return parse_genesis({
        "chain_id": CHAIN_ID, "genesis_time_ms": GENESIS_TIME_MS,
        "validators": [{"name": "v", "public_key": validator.public_key.hex(), "power": 1}],
        "currencies": currencies, "balances": balances,
    })


def _market_offers(maker: KeyPair) -> list[SignedTx]:
    codes = sorted(MID_RATES_USD)
    txs = []
    for sell in codes:
        for buy in codes:
            if sell == buy:
                continue
            for level in range(MARKET_LEVELS):
                num, den = maker_price(sell, buy, DECIMALS, level)
                body = OfferCreate(maker.public_key, len(txs), sell, worth_minor(sell, MARKET_LEVEL_USD, DECIMALS), buy, num, den)
                txs.append(sign_tx(body, [maker], CHAIN_ID))
    return txs


class Ledger:
    """One node's ledger: a store, its mempool, and blocks committed one after another."""

    def __init__(self, home: Path, genesis: Any, proposer: bytes) -> None:
        self.store = Store(home / "db", genesis)
        self.mempool = Mempool(self.store, CHAIN_ID, 1_000_000, 1_000_000)
        self.proposer = proposer
        self.timings: dict[str, list[float]] = {"admit": [], "build": [], "validate": [], "commit": []}

    def block(self, txs: list[SignedTx], measured: bool) -> int:
        """Admit `txs`, build a block of them, validate it as another validator would, commit it."""
        tip = self.store.tip
        time_ms = tip.time_ms + BLOCK_INTERVAL_MS
        started = time.perf_counter()
        for tx in txs:
            refusal = self.mempool.admit(tx, time_ms, signature_ok=True)
            assert refusal is None, f"setup refused {tx.hash.hex()}: {refusal}"
        admitted = time.perf_counter()
        executed, left_out = build_block(self.store, tip, CHAIN_ID, time_ms, self.proposer, self.mempool.candidates(len(txs)))
        assert not left_out, f"left out: {left_out[0].refusal}"
        built = time.perf_counter()
        execute_block(self.store, tip, CHAIN_ID, executed.block)
        validated = time.perf_counter()
        self.store.commit_block(executed, b"")
        self.mempool.remove_committed(list(executed.block.txs), time_ms)
        committed = time.perf_counter()
        if measured:
            for name, seconds in zip(self.timings, (admitted - started, built - admitted, validated - built, committed - validated)):
                self.timings[name].append(seconds / len(txs))
        return len(executed.block.txs)


def _verify_us(txs: list[SignedTx]) -> float:
    started = time.perf_counter()
    for tx in txs:
        assert signatures_valid(tx, CHAIN_ID)
    return (time.perf_counter() - started) / len(txs) * 1e6


def run(kind: str, senders: int, blocks: int, block_txs: int, profile: bool) -> dict[str, Any]:
    seeds = tuple(index.to_bytes(4, "big") * 8 for index in range(senders))
    sender_keys = [KeyPair.from_seed(seed) for seed in seeds]
    maker, validator = KeyPair.from_seed(b"m" * 32), KeyPair.from_seed(b"v" * 32)
    rounds = -(-(blocks + 2) * block_txs // senders)
    workload = Workload("transfer" if kind == "transfer" else "fx", CHAIN_ID, seeds, DECIMALS, 7)
    hexes, _ = presign(workload, rounds)
    # Round-robin over senders, nonce by nonce: a block never holds a sender's nonce n+1 before its n.
    load = [decode_tx(bytes.fromhex(hexes[sender][nonce])) for nonce in range(rounds) for sender in range(senders)]
    with tempfile.TemporaryDirectory(prefix="corridor-execute-") as home:
        ledger = Ledger(Path(home), _genesis(sender_keys, maker, validator), validator.address)
        ledger.block(_market_offers(maker), measured=False)
        ledger.block(load[:block_txs], measured=False)  # warm-up: caches, the first reads of every account
        profiler = cProfile.Profile() if profile else None
        for index in range(1, blocks + 1):
            txs = load[index * block_txs : (index + 1) * block_txs]
            if profiler:
                profiler.enable()
            ledger.block(txs, measured=True)
            if profiler:
                profiler.disable()
        ledger.store.close()
    result: dict[str, Any] = {"workload": kind, "block_txs": block_txs, "blocks": blocks, "code": code_version(),
                              "verify_us": round(_verify_us(load[:2000]), 1)}
    for name, per_tx in ledger.timings.items():
        result[f"{name}_us"] = round(statistics.median(per_tx) * 1e6, 1)
    result["total_us"] = round(sum(result[f"{name}_us"] for name in ledger.timings), 1)
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-w", "--workload", action="append", choices=("transfer", "fx"), help="repeatable (default: both)")
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block-txs", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="cProfile the measured blocks (top 30 functions by own time)")
    args = parser.parse_args()
    print(f"{'workload':10} {'admit':>8} {'build':>8} {'validate':>9} {'commit':>8} {'total':>8} {'verify':>8}   µs per transaction (median over blocks)")
    for kind in args.workload or ["transfer", "fx"]:
        result = run(kind, args.senders, args.blocks, args.block_txs, args.profile)
        print(f"{kind:10} {result['admit_us']:8.1f} {result['build_us']:8.1f} {result['validate_us']:9.1f} {result['commit_us']:8.1f} "
              f"{result['total_us']:8.1f} {result['verify_us']:8.1f}")
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"execute-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
