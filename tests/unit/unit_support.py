"""Shared building blocks for the unit tests: deterministic keys, a genesis, transaction makers, a state
snapshot, and a hand-written msgpack writer that can produce the non-canonical forms `codec.encode` never does.

The fixtures in conftest.py are built from these; tests import the functions directly.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from corridor.consensus.certificate import CommitCertificate, sign_precommit
from corridor.keys import KeyPair, format_address
from corridor.ledger.block import ExecutedBlock, LeftOut, build_block
from corridor.ledger.genesis import Genesis, parse_genesis
from corridor.ledger.rules import BlockContext
from corridor.ledger.state import STATE_PREFIXES, Currency, MemoryReader, State
from corridor.ledger.state_root import StateHash
from corridor.ledger.store import Store
from corridor.ledger.tx import AttestReserve, Burn, Mint, SignedTx, Transfer, sign_tx

CHAIN_ID = "corridor-test"
OTHER_CHAIN_ID = "corridor-other"
GENESIS_TIME_MS = 1_700_000_000_000
REPORT_HASH = bytes(range(32))

# (code, decimals, issuer name, reserve in minor units)
USD_RESERVE_MINOR = 10_000_000  # 100,000.00 USD
JPY_RESERVE_MINOR = 50_000_000  # 50,000,000 JPY
CURRENCY_CODES = ("USD", "JPY")
UNKNOWN_CURRENCY = "EUR"

# (holder name, currency, amount_minor) at genesis
GENESIS_BALANCES = (
    ("alice", "USD", 500_000),  # 5,000.00 USD
    ("bob", "USD", 200_000),
    ("alice", "JPY", 1_000_000),
    ("carol", "JPY", 30_000),
)
ACCOUNT_NAMES = ("usd_issuer", "jpy_issuer", "alice", "bob", "carol", "dave", "validator", "usd_auditor", "jpy_auditor")


def key_of(name: str) -> KeyPair:
    """The deterministic key pair of a named test account."""
    seed = (name.encode() * 32)[:32]
    return KeyPair.from_seed(seed)


KEYS: dict[str, KeyPair] = {name: key_of(name) for name in ACCOUNT_NAMES}
ADDRESSES: dict[str, bytes] = {name: key.address for name, key in KEYS.items()}
ISSUERS = {"USD": "usd_issuer", "JPY": "jpy_issuer"}
AUDITORS = {"USD": "usd_auditor", "JPY": "jpy_auditor"}  # only they attest reserves (ledger/reserves.py)


def genesis_document() -> dict[str, Any]:
    """A genesis JSON document: one validator, USD (2 decimals) and JPY (0 decimals), funded accounts."""
    return {
        "chain_id": CHAIN_ID,
        "genesis_time_ms": GENESIS_TIME_MS,
        "validators": [{"name": "validator", "public_key": KEYS["validator"].public_key.hex(), "power": 1}],
        "currencies": [
            {
                "code": "USD",
                "decimals": 2,
                "issuer": format_address(ADDRESSES["usd_issuer"]),
                "auditor": format_address(ADDRESSES["usd_auditor"]),
                "reserve_minor": USD_RESERVE_MINOR,
                "reserve_report_hash": REPORT_HASH.hex(),
            },
            {
                "code": "JPY",
                "decimals": 0,
                "issuer": format_address(ADDRESSES["jpy_issuer"]),
                "auditor": format_address(ADDRESSES["jpy_auditor"]),
                "reserve_minor": JPY_RESERVE_MINOR,
                "reserve_report_hash": REPORT_HASH.hex(),
            },
        ],
        "balances": [
            {"address": format_address(ADDRESSES[name]), "currency": code, "amount_minor": amount}
            for name, code, amount in GENESIS_BALANCES
        ],
    }


def make_genesis() -> Genesis:
    return parse_genesis(genesis_document())


def genesis_reader(genesis: Genesis) -> MemoryReader:
    """A reader holding exactly the encoded genesis state, as the store would after writing genesis."""
    state = genesis.initial_state(MemoryReader())
    return MemoryReader({key: value for key, value in state.changes() if value is not None})


def context(height: int = 1) -> BlockContext:
    return BlockContext(height, GENESIS_TIME_MS + height * 1_000)


# Transactions, signed by the named account for CHAIN_ID unless told otherwise.
def transfer(
    sender: str, nonce: int, to: str, currency: str, amount_minor: int, memo: str = "", chain_id: str = CHAIN_ID
) -> SignedTx:
    body = Transfer(KEYS[sender].public_key, nonce, ADDRESSES[to], currency, amount_minor, memo)
    return sign_tx(body, [KEYS[sender]], chain_id)


def mint(sender: str, nonce: int, to: str, currency: str, amount_minor: int, chain_id: str = CHAIN_ID) -> SignedTx:
    body = Mint(KEYS[sender].public_key, nonce, ADDRESSES[to], currency, amount_minor)
    return sign_tx(body, [KEYS[sender]], chain_id)


def burn(sender: str, nonce: int, currency: str, amount_minor: int, chain_id: str = CHAIN_ID) -> SignedTx:
    body = Burn(KEYS[sender].public_key, nonce, currency, amount_minor)
    return sign_tx(body, [KEYS[sender]], chain_id)


def attest(
    sender: str, nonce: int, currency: str, reserve_minor: int, report_hash: bytes = REPORT_HASH, chain_id: str = CHAIN_ID,
    as_of_ms: int = GENESIS_TIME_MS,
) -> SignedTx:
    """A reserve attestation (signed by the currency's auditor, AUDITORS, to be accepted), as of genesis time
    unless told otherwise."""
    body = AttestReserve(KEYS[sender].public_key, nonce, currency, reserve_minor, report_hash, as_of_ms)
    return sign_tx(body, [KEYS[sender]], chain_id)


@dataclass(frozen=True)
class Snapshot:
    """Everything a user can read about the test accounts and currencies, plus the overlay's pending writes."""

    nonces: dict[str, int]
    balances: dict[tuple[str, str], int]
    currencies: dict[str, Currency | None]
    changes: list[tuple[bytes, bytes | None]]


def snapshot(state: State) -> Snapshot:
    codes = (*CURRENCY_CODES, UNKNOWN_CURRENCY)
    return Snapshot(
        nonces={name: state.get_nonce(address) for name, address in ADDRESSES.items()},
        balances={(name, code): state.get_balance(address, code) for name, address in ADDRESSES.items() for code in codes},
        currencies={code: state.get_currency(code) for code in codes},
        changes=list(state.changes()),
    )


def recompute_state_hash(store: Store) -> StateHash:
    """The state hash computed from scratch over every committed state entry of a Store."""
    state_hash = StateHash()
    for prefix in STATE_PREFIXES:
        for key, value in store.iterate(prefix):
            state_hash.add(key, value)
    return state_hash


def certificate_for(executed: ExecutedBlock) -> bytes:
    """The single validator's commit certificate for an executed block (what the node stores with it)."""
    header = executed.block.header
    signature = sign_precommit(KEYS["validator"], CHAIN_ID, header.height, 0, executed.block.hash)
    return CommitCertificate(header.height, 0, executed.block.hash, ((KEYS["validator"].public_key, signature),)).to_bytes()


def next_time_ms(store: Store) -> int:
    return store.tip.time_ms + 1_000


def produce(store: Store, txs: list[SignedTx], time_ms: int | None = None) -> tuple[ExecutedBlock, list[LeftOut]]:
    """Build the next block from `txs` on the store's tip, as the proposer does (no commit)."""
    return build_block(
        store, store.tip, CHAIN_ID, time_ms or next_time_ms(store), KEYS["validator"].public_key, txs
    )


def commit(store: Store, txs: list[SignedTx], time_ms: int | None = None) -> tuple[ExecutedBlock, list[LeftOut]]:
    """Build the next block from `txs` and commit it with its certificate."""
    executed, left_out = produce(store, txs, time_ms)
    store.commit_block(executed, certificate_for(executed))
    return executed, left_out


# A hand-written msgpack writer. `pack(value)` produces exactly the canonical bytes; `widen=path` writes the
# node at `path` in a wider-than-needed format and `unsorted=path` writes that map's keys in reverse order.
# A path is a tuple of map keys and list indexes from the root.
Path = tuple[Any, ...]


def _int(value: int, wide: bool) -> bytes:
    if value >= 0:
        if wide:
            return b"\xcf" + struct.pack(">Q", value)
        if value < 0x80:
            return bytes([value])
        for tag, fmt, limit in ((0xCC, ">B", 1 << 8), (0xCD, ">H", 1 << 16), (0xCE, ">I", 1 << 32)):
            if value < limit:
                return bytes([tag]) + struct.pack(fmt, value)
        return b"\xcf" + struct.pack(">Q", value)
    if wide:
        return b"\xd3" + struct.pack(">q", value)
    if value >= -32:
        return struct.pack(">b", value)
    for tag, fmt, limit in ((0xD0, ">b", 1 << 7), (0xD1, ">h", 1 << 15), (0xD2, ">i", 1 << 31)):
        if value >= -limit:
            return bytes([tag]) + struct.pack(fmt, value)
    return b"\xd3" + struct.pack(">q", value)


def _sized(length: int, wide: bool, fix_base: int | None, fix_max: int, tags: tuple[int | None, int, int]) -> bytes:
    """The header of a str/bin/array/map of `length` items; tags are the 8-, 16- and 32-bit length forms."""
    tag8, tag16, tag32 = tags
    if wide:
        return bytes([tag32]) + struct.pack(">I", length)
    if fix_base is not None and length <= fix_max:
        return bytes([fix_base | length])
    if tag8 is not None and length < 1 << 8:
        return bytes([tag8, length])
    if length < 1 << 16:
        return bytes([tag16]) + struct.pack(">H", length)
    return bytes([tag32]) + struct.pack(">I", length)


def pack(value: Any, *, widen: Path | None = None, unsorted: Path | None = None, path: Path = ()) -> bytes:
    wide = path == widen
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if type(value) is int:
        return _int(value, wide)
    if type(value) is str:
        data = value.encode()
        return _sized(len(data), wide, 0xA0, 31, (0xD9, 0xDA, 0xDB)) + data
    if type(value) is bytes:
        return _sized(len(value), wide, None, 0, (0xC4, 0xC5, 0xC6)) + value
    if type(value) in (list, tuple):
        items = b"".join(pack(item, widen=widen, unsorted=unsorted, path=(*path, i)) for i, item in enumerate(value))
        return _sized(len(value), wide, 0x90, 15, (None, 0xDC, 0xDD)) + items
    if type(value) is dict:
        keys = sorted(value, key=lambda k: k.encode(), reverse=path == unsorted)
        items = b"".join(pack(k) + pack(value[k], widen=widen, unsorted=unsorted, path=(*path, k)) for k in keys)
        return _sized(len(value), wide, 0x80, 15, (None, 0xDE, 0xDF)) + items
    raise TypeError(f"pack cannot write {type(value).__name__}")


def pack_map_pairs(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A map written exactly as the given (packed key, packed value) pairs, in that order (duplicates kept)."""
    return _sized(len(pairs), False, 0x80, 15, (None, 0xDE, 0xDF)) + b"".join(k + v for k, v in pairs)


def tx_document(tx: SignedTx) -> dict[str, Any]:
    """The decoded wire map of a signed transaction (what `tx.raw` encodes)."""
    from corridor.ledger.tx import body_to_map

    return {"body": body_to_map(tx.body), "signatures": list(tx.signatures), "type": tx.body.TYPE}
