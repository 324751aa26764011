"""Pre-signing the load in worker processes, before the timed window opens.

Every sender account has its own nonce sequence (0, 1, 2, ...); a worker signs whole senders' sequences,
so nothing has to be ordered across workers. A transaction comes back as its wire bytes in hex (what
POST /v1/txs takes in a JSON batch) and its hash (SHA-256 of the wire bytes: what the receipt in the events
stream names)."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from corridor.keys import KeyPair, address_of
from corridor.ledger.tx import Pay, Swap, Transfer, sign_tx

# Mid-market rates (USD per unit) of the demo currencies, the same as `corridor devnet`'s market maker.
MID_RATES_USD = {"USD": Fraction(1), "EUR": Fraction(108, 100), "JPY": Fraction(67, 10_000)}
SWAP_EXPIRY_HEIGHT = 10**12
FX_MIX = (("transfer", 0.5), ("swap", 0.25), ("pay", 0.25))


@dataclass(frozen=True)
class Workload:
    """What to sign: `kind` "transfer" (1 minor unit of `currency` to another sender) or "fx" (the mix
    FX_MIX of transfers, two-party swaps and cross-currency payments through the book)."""

    kind: str
    chain_id: str
    seeds: tuple[bytes, ...]
    decimals: dict[str, int]
    rng_seed: int
    currency: str = "USD"


def worth_minor(code: str, usd: Fraction, decimals: dict[str, int]) -> int:
    """Minor units of `code` worth `usd` at the mid rate (rounded down, at least 1)."""
    return max(1, int(usd / MID_RATES_USD[code] * 10 ** decimals[code]))


_workload: Workload | None = None
_keys: list[KeyPair] = []
_addresses: list[bytes] = []


def _init(workload: Workload) -> None:
    global _workload, _keys, _addresses
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it terminates the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _workload = workload
    _keys = [KeyPair.from_seed(seed) for seed in workload.seeds]
    _addresses = [address_of(key.public_key) for key in _keys]


def _other(rng: random.Random, sender: int) -> int:
    count = len(_keys)
    return (sender + rng.randrange(1, count)) % count


def _fx_tx(rng: random.Random, sender: int, nonce: int) -> Any:
    workload = _workload
    assert workload is not None
    key = _keys[sender]
    codes = sorted(MID_RATES_USD)
    draw, kind = rng.random(), "transfer"
    cumulative = 0.0
    for name, weight in FX_MIX:
        cumulative += weight
        if draw < cumulative:
            kind = name
            break
    if kind == "transfer":
        body = Transfer(key.public_key, nonce, _addresses[_other(rng, sender)], rng.choice(codes), 1, "", b"")
        return sign_tx(body, [key], workload.chain_id)
    give, get = rng.sample(codes, 2)
    usd = Fraction(rng.randint(50, 200), 100)  # a payment worth 0.50 to 2.00 USD
    if kind == "swap":
        counterparty = _keys[_other(rng, sender)]
        body = Swap(key.public_key, nonce, counterparty.public_key, give, worth_minor(give, usd, workload.decimals), get,
                    worth_minor(get, usd, workload.decimals), SWAP_EXPIRY_HEIGHT, b"")
        return sign_tx(body, [key, counterparty], workload.chain_id)
    receive_minor = worth_minor(get, usd, workload.decimals)
    send_max_minor = worth_minor(give, usd * Fraction(110, 100), workload.decimals) + 1  # 10 % slippage allowed
    body = Pay(key.public_key, nonce, _addresses[_other(rng, sender)], give, send_max_minor, get, receive_minor, "", b"")
    return sign_tx(body, [key], workload.chain_id)


def _sign_senders(job: tuple[int, int, int]) -> list[tuple[int, list[str], list[str]]]:
    """Sign nonces 0 .. rounds-1 of senders first .. last-1: [(sender, hexes, hashes)]."""
    first, last, rounds = job
    workload = _workload
    assert workload is not None
    out = []
    for sender in range(first, last):
        key = _keys[sender]
        rng = random.Random(f"{workload.rng_seed}/{sender}")
        hexes, hashes = [], []
        for nonce in range(rounds):
            if workload.kind == "transfer":
                body = Transfer(key.public_key, nonce, _addresses[_other(rng, sender)], workload.currency, 1, "", b"")
                tx = sign_tx(body, [key], workload.chain_id)
            else:
                tx = _fx_tx(rng, sender, nonce)
            hexes.append(tx.raw.hex())
            hashes.append(tx.hash.hex())
        out.append((sender, hexes, hashes))
    return out


def presign(workload: Workload, rounds: int, processes: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """Nonces 0 .. rounds-1 of every sender, signed in `processes` worker processes (all cores by default):
    (hexes per sender, hashes per sender)."""
    count = len(workload.seeds)
    processes = processes or os.cpu_count() or 1
    step = max(1, count // (processes * 8))
    jobs = [(first, min(count, first + step), rounds) for first in range(0, count, step)]
    hexes: list[list[str]] = [[] for _ in range(count)]
    hashes: list[list[str]] = [[] for _ in range(count)]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init, initargs=(workload,)) as pool:
        for chunk in pool.imap_unordered(_sign_senders, jobs):
            for sender, sender_hexes, sender_hashes in chunk:
                hexes[sender], hashes[sender] = sender_hexes, sender_hashes
    return hexes, hashes
