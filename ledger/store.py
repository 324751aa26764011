"""The node's storage (plyvel): two LevelDB databases in one folder.

    <folder>/state    the state, the tx index, the node's own records and the tip
        a/ b/ c/ ...        state entries (see state.py)
        x/<tx hash>         [height, index]
        e/<evidence hash>   [height, index] of committed evidence
        y/<height:8 BE><index:4 BE>  a committed governance transaction (the governance history)
        m/tip               [height, block hash, time_ms]          m/state_hash  LtHash16 sum (2048 bytes)
        m/genesis_hash      hash of the genesis the database was made from
        m/node/<name>       node records (safety state)
    <folder>/blocks   the chain's history, keyed <height:8 BE><kind:1>
        b  block bytes      r  receipts (list of maps)      c  commit certificate
        s  the block's supply leaves (list of bytes: the leaves of its header's supply_root)

Why two: the history is written in height order and never changed, so a database of it alone never has to
merge tables (LevelDB moves each new table below the others untouched), while the state's keys are random.
In one database every table spanned both, and each compaction re-read and rewrote old blocks and receipts
with the state: 8 bytes written for every byte committed, and tens of megabytes of tables mapped at once.

A block is committed in two synced batches: its history first, then its state changes and the new tip. The
tip says what is committed; history above it (a crash between the two writes) is never served and is
removed on opening, and the block is committed again as any uncommitted block would be. Opening also
checks that the history holds the tip's block, and writes <folder>/CURRENT (LAYOUT_MARKER) so that builds
from before the split cannot open the folder as a database of their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import plyvel

from corridor import codec
from corridor.hashing import sha256
from corridor.ledger import limits
from corridor.ledger.block import Block, ChainTip, ExecutedBlock, Receipt
from corridor.ledger.genesis import Genesis
from corridor.ledger.leveldb_reads import disable_table_mmap
from corridor.ledger.state import STATE_PREFIXES
from corridor.ledger.state_root import StateHash
from corridor.ledger.tx import is_governance

CHAIN_PREFIXES = (b"e/", b"m/", b"x/", b"y/")
assert not set(CHAIN_PREFIXES) & set(STATE_PREFIXES), "state and chain records share one keyspace"
STATE_DB_DIR = "state"
BLOCKS_DB_DIR = "blocks"
# Written beside the two databases. Its name is LevelDB's own CURRENT file and its text names no manifest, so
# a build from before the split (which opened one database in this folder) fails to open it, instead of
# starting an empty chain here without this validator's safety record.
LAYOUT_MARKER_FILE = "CURRENT"
LAYOUT_MARKER = b"corridor storage layout 2: the databases are state/ and blocks/ beside this file\n"
_STATE_PREFIX_SET = frozenset(STATE_PREFIXES)
_BLOCK = b"b"
_RECEIPTS = b"r"
_CERTIFICATE = b"c"
_SUPPLY_LEAVES = b"s"
_TIP = b"m/tip"
_STATE_HASH = b"m/state_hash"
_GENESIS_HASH = b"m/genesis_hash"
_RECORD_BYTES_MAX = limits.BLOCK_SIZE_BYTES_MAX


# Most point reads of a block ask for keys that are absent (holder records, sanctions entries, jurisdictions
# nobody set): a Bloom filter per table answers those without reading the table's blocks.
BLOOM_FILTER_BITS = 10
# LevelDB keeps every open table's index and filter in memory (read with pread: see leveldb_reads.py): bounding
# the open tables bounds that memory, which would otherwise grow with the chain (the default is 1,000 tables,
# ~2 GB of data).
OPEN_TABLES_MAX = 128
# LevelDB's cache of uncompressed table blocks (8 MiB by default, per database). The state's hot entries are
# cached above it (STATE_ENTRIES_CACHED) and the history is read rarely and in order, so a small one does:
# two full default caches took minutes to fill, a slow climb of the heap that looked like a leak.
BLOCK_CACHE_BYTES = 1 << 20
# Committed state entries recently read or written, as LevelDB holds them (None: absent). Admission, block
# building and validation read the same few entries per transaction (the sender's nonce and balances, the
# currency, absent holder records). Each LevelDB lookup that passes through a table counts toward compacting
# that table ("seek compaction"): under load those lookups made the state database rewrite itself after every
# flush. Emptied whole when full (~8 MB): cheaper than keeping an order, and refilled within a few blocks.
STATE_ENTRIES_CACHED = 32_768


class StoreError(RuntimeError):
    """The database cannot be used: locked by another process, made from another genesis, of the earlier
    single-database layout, or with a block history that does not match its state."""


class StoreWriteError(StoreError):
    """LevelDB refused a write (a full or failing disk). The node must stop: going on would sign or answer
    from state it could not make durable."""


def _history_key(height: int, kind: bytes) -> bytes:
    return height.to_bytes(8, "big") + kind


def _open(path: Path) -> plyvel.DB:
    disable_table_mmap()
    try:
        return plyvel.DB(str(path), create_if_missing=True, bloom_filter_bits=BLOOM_FILTER_BITS,
                         max_open_files=OPEN_TABLES_MAX, lru_cache_size=BLOCK_CACHE_BYTES)
    except plyvel.IOError as exc:
        raise StoreError(f"cannot open the database at {path} (is another node using it?): {exc}") from exc


def _write_whole(path: Path, data: bytes) -> None:
    """Write a file durably and whole or not at all: a marker torn by a power cut would read as the earlier
    layout and stop the node."""
    temporary = path.with_name(path.name + ".new")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Store:
    """The node's two LevelDB databases (see the module's docstring); also a StateReader over the committed
    state."""

    def __init__(self, path: Path, genesis: Genesis) -> None:
        marker = path / LAYOUT_MARKER_FILE
        if marker.exists() and marker.read_bytes() != LAYOUT_MARKER:
            raise StoreError(f"the database at {path} has the storage layout of an earlier Corridor (one LevelDB "
                             f"database); move it aside and let the node catch up from its peers")
        path.mkdir(parents=True, exist_ok=True)
        self._db = _open(path / STATE_DB_DIR)
        self._cached: dict[bytes, bytes | None] = {}
        try:
            self._history = _open(path / BLOCKS_DB_DIR)
        except StoreError:
            self._db.close()
            raise
        try:
            self._load(path, genesis)
            if not marker.exists():
                _write_whole(marker, LAYOUT_MARKER)
        except BaseException:
            self.close()
            raise

    def _load(self, path: Path, genesis: Genesis) -> None:
        stored_genesis = self._db.get(_GENESIS_HASH)
        if stored_genesis is None:
            if next(self._history.iterator(include_value=False), None) is not None:
                raise StoreError(f"the database at {path} has a block history but no state ({STATE_DB_DIR} is new); "
                                 f"move it aside and let the node catch up from its peers")
            self._write_genesis(genesis)
        elif stored_genesis != genesis.hash:
            raise StoreError(f"the database at {path} was made from another genesis file")
        height, block_hash, time_ms = codec.decode(self._db.get(_TIP), 1024)
        self.tip = ChainTip(height, block_hash, time_ms, StateHash(self._db.get(_STATE_HASH)))
        if height > 0:
            block = self.get_block(height)
            if block is None or block.hash != block_hash:
                raise StoreError(f"the block history in {path / BLOCKS_DB_DIR} does not hold the state's last block "
                                 f"({height}); move the database aside and let the node catch up from its peers")
        self._remove_history_above_tip()

    def _remove_history_above_tip(self) -> None:
        """Drop the history of a block whose commit a crash interrupted (written, but not its state)."""
        above = self._history.iterator(start=_history_key(self.tip.height + 1, b""), include_value=False)
        stale = list(above)
        if stale:
            with self._history.write_batch(transaction=True, sync=True) as batch:
                for key in stale:
                    batch.delete(key)

    def _write_genesis(self, genesis: Genesis) -> None:
        state = genesis.initial_state(self)
        state_hash = StateHash()
        with self._db.write_batch(transaction=True, sync=True) as batch:
            for key, value in state.changes():
                assert value is not None
                batch.put(key, value)
                state_hash.add(key, value)
            batch.put(_STATE_HASH, state_hash.to_bytes())
            batch.put(_TIP, codec.encode([0, genesis.hash, genesis.genesis_time_ms]))
            batch.put(_GENESIS_HASH, genesis.hash)
        self._cached.clear()  # building the genesis state read its keys while they were still absent

    def close(self) -> None:
        self._db.close()
        self._history.close()

    def get(self, key: bytes) -> bytes | None:
        """The committed bytes of a state key (StateReader)."""
        try:
            return self._cached[key]
        except KeyError:
            pass
        value = self._db.get(key)
        if key[:2] in _STATE_PREFIX_SET:
            self._remember(key, value)
        return value

    def _remember(self, key: bytes, value: bytes | None) -> None:
        if len(self._cached) >= STATE_ENTRIES_CACHED:
            self._cached.clear()
        self._cached[key] = value

    def commit_block(self, executed: ExecutedBlock, certificate: bytes) -> None:
        """Write the block, its receipts, certificate, state changes and the new tip durably; the new tip
        is the commit point (see the module's docstring)."""
        block = executed.block
        header = block.header
        assert header.height == self.tip.height + 1 and header.parent_hash == self.tip.block_hash
        try:
            with self._history.write_batch(transaction=True, sync=True) as history:
                history.put(_history_key(header.height, _BLOCK), block.to_bytes())
                history.put(_history_key(header.height, _RECEIPTS), codec.encode_array_of_encoded(executed.receipt_leaves))
                history.put(_history_key(header.height, _CERTIFICATE), certificate)
                history.put(_history_key(header.height, _SUPPLY_LEAVES), codec.encode(list(executed.supply_leaves)))
            with self._db.write_batch(transaction=True, sync=True) as batch:
                for key, value in executed.changes:
                    if value is None:
                        batch.delete(key)
                    else:
                        batch.put(key, value)
                for index, tx in enumerate(block.txs):
                    batch.put(b"x/" + tx.hash, codec.encode([header.height, index]))
                    if is_governance(tx.body):
                        batch.put(b"y/" + header.height.to_bytes(8, "big") + index.to_bytes(4, "big"), b"")
                for index, item in enumerate(block.evidence):
                    batch.put(b"e/" + sha256(item), codec.encode([header.height, index]))
                batch.put(_STATE_HASH, executed.state_hash.to_bytes())
                batch.put(_TIP, codec.encode([header.height, block.hash, header.time_ms]))
        except plyvel.Error as exc:
            raise StoreWriteError(f"writing block {header.height} failed: {exc}") from exc
        self.tip = ChainTip(header.height, block.hash, header.time_ms, executed.state_hash)
        for key, value in executed.changes:
            self._remember(key, value)

    def _committed_history(self, height: int, kind: bytes) -> bytes | None:
        """A history record of a committed block; none above the tip, where a commit whose state batch failed
        may have left one until it is committed again (or the database is opened again)."""
        if height > self.tip.height:
            return None
        return self._history.get(_history_key(height, kind))

    def get_block(self, height: int) -> Block | None:
        raw = self._committed_history(height, _BLOCK)
        return None if raw is None else Block.from_bytes(raw)

    def get_block_bytes(self, height: int) -> bytes | None:
        return self._committed_history(height, _BLOCK)

    def get_supply_leaves(self, height: int) -> list[bytes] | None:
        """The leaves of block `height`'s supply_root (reserves.py), or None for a block not committed."""
        raw = self._committed_history(height, _SUPPLY_LEAVES)
        return None if raw is None else list(codec.decode(raw, _RECORD_BYTES_MAX))

    def get_certificate(self, height: int) -> bytes | None:
        return self._committed_history(height, _CERTIFICATE)

    def get_receipts(self, height: int) -> list[Receipt]:
        raw = self._committed_history(height, _RECEIPTS)
        if raw is None:
            return []
        return [Receipt.from_map(item) for item in codec.decode(raw, _RECORD_BYTES_MAX)]

    def find_tx(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, index) of a committed transaction, or None."""
        raw = self._db.get(b"x/" + tx_hash)
        if raw is None:
            return None
        height, index = codec.decode(raw, 64)
        return height, index

    def has_evidence(self, evidence_hash: bytes) -> bool:
        return self._db.get(b"e/" + evidence_hash) is not None

    def committed_evidence(self) -> list[tuple[int, bytes]]:
        """(height, evidence bytes) of every evidence item committed, oldest first."""
        found = []
        for _, raw in self._db.iterator(prefix=b"e/"):
            height, index = codec.decode(raw, 64)
            block = self.get_block(height)
            assert block is not None
            found.append((height, block.evidence[index]))
        return sorted(found)

    def governance_history(self) -> list[tuple[int, int]]:
        """(height, index) of every committed governance transaction, oldest first."""
        return [(int.from_bytes(key[2:10], "big"), int.from_bytes(key[10:14], "big")) for key, _ in self._db.iterator(prefix=b"y/")]

    def get_meta(self, name: str) -> bytes | None:
        """A node-level record kept beside the chain (the consensus safety state, for instance)."""
        return self._db.get(b"m/node/" + name.encode())

    def put_meta_durably(self, records: dict[str, bytes]) -> None:
        """Write node-level records in one batch and fsync it before returning."""
        try:
            with self._db.write_batch(transaction=True, sync=True) as batch:
                for name, value in records.items():
                    batch.put(b"m/node/" + name.encode(), value)
        except plyvel.Error as exc:
            raise StoreWriteError(f"writing the node records {sorted(records)} failed: {exc}") from exc

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value bytes) of every committed state entry under `prefix`, in key order (StateReader)."""
        return self._db.iterator(prefix=prefix)

