"""The node's LevelDB database (plyvel): state, blocks, receipts, certificates, the tx index, metadata.

Keyspaces (docs/protocol.md, "Storage"):
    a/ b/ c/            state entries (see state.py)
    h/<height:8 BE>     block bytes            r/<height:8 BE>  receipts (list of maps)
    k/<height:8 BE>     commit certificate     x/<tx hash>      [height, index]
    m/tip               [height, block hash, time_ms]          m/state_hash  LtHash16 sum (2048 bytes)
    m/genesis_hash      hash of the genesis the database was made from
    e/<evidence hash>   [height, index] of committed evidence      m/node/<name>  node records (safety state)
    y/<height:8 BE><index:4 BE>  a committed governance transaction (the governance history)
    t/<height:8 BE>     the block's supply leaves (list of bytes: the leaves of its header's supply_root)

A block and everything it changes go into one WriteBatch written with sync=True: after a crash at any
instant, either the whole block is there or none of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import plyvel

from corridor import codec
from corridor.hashing import sha256
from corridor.ledger import limits
from corridor.ledger.block import Block, ChainTip, ExecutedBlock, Receipt
from corridor.ledger.genesis import Genesis
from corridor.ledger.state import STATE_PREFIXES
from corridor.ledger.state_root import StateHash
from corridor.ledger.tx import is_governance

CHAIN_PREFIXES = (b"e/", b"h/", b"k/", b"m/", b"r/", b"t/", b"x/", b"y/")
assert not set(CHAIN_PREFIXES) & set(STATE_PREFIXES), "state and chain records share one keyspace"
_TIP = b"m/tip"
_STATE_HASH = b"m/state_hash"
_GENESIS_HASH = b"m/genesis_hash"
_RECORD_BYTES_MAX = limits.BLOCK_SIZE_BYTES_MAX


# Most point reads of a block ask for keys that are absent (holder records, sanctions entries, jurisdictions
# nobody set): a Bloom filter per table answers those without reading the table's blocks.
BLOOM_FILTER_BITS = 10
# LevelDB keeps every open table's index and filter in memory and its file mapped: bounding the open tables
# bounds that memory, which would otherwise grow with the chain (the default is 1,000 tables, ~2 GB of data).
OPEN_TABLES_MAX = 128


class StoreError(RuntimeError):
    """The database cannot be used: locked by another process, or made from another genesis."""


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


class Store:
    """One LevelDB database; also a StateReader over the committed state."""

    def __init__(self, path: Path, genesis: Genesis) -> None:
        try:
            self._db = plyvel.DB(str(path), create_if_missing=True, bloom_filter_bits=BLOOM_FILTER_BITS,
                                 max_open_files=OPEN_TABLES_MAX)
        except plyvel.IOError as exc:
            raise StoreError(f"cannot open the database at {path} (is another node using it?): {exc}") from exc
        stored_genesis = self._db.get(_GENESIS_HASH)
        if stored_genesis is None:
            self._write_genesis(genesis)
        elif stored_genesis != genesis.hash:
            self._db.close()
            raise StoreError(f"the database at {path} was made from another genesis file")
        height, block_hash, time_ms = codec.decode(self._db.get(_TIP), 1024)
        self.tip = ChainTip(height, block_hash, time_ms, StateHash(self._db.get(_STATE_HASH)))

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

    def close(self) -> None:
        self._db.close()

    def get(self, key: bytes) -> bytes | None:
        """The committed bytes of a state key (StateReader)."""
        return self._db.get(key)

    def commit_block(self, executed: ExecutedBlock, certificate: bytes) -> None:
        """Write the block, its receipts, certificate, state changes and the new tip atomically and durably."""
        block = executed.block
        header = block.header
        assert header.height == self.tip.height + 1 and header.parent_hash == self.tip.block_hash
        with self._db.write_batch(transaction=True, sync=True) as batch:
            for key, value in executed.changes:
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
            batch.put(_height_key(b"h/", header.height), block.to_bytes())
            batch.put(_height_key(b"r/", header.height), codec.encode_array_of_encoded(executed.receipt_leaves))
            batch.put(_height_key(b"k/", header.height), certificate)
            batch.put(_height_key(b"t/", header.height), codec.encode(list(executed.supply_leaves)))
            for index, tx in enumerate(block.txs):
                batch.put(b"x/" + tx.hash, codec.encode([header.height, index]))
                if is_governance(tx.body):
                    batch.put(b"y/" + header.height.to_bytes(8, "big") + index.to_bytes(4, "big"), b"")
            for index, item in enumerate(block.evidence):
                batch.put(b"e/" + sha256(item), codec.encode([header.height, index]))
            batch.put(_STATE_HASH, executed.state_hash.to_bytes())
            batch.put(_TIP, codec.encode([header.height, block.hash, header.time_ms]))
        self.tip = ChainTip(header.height, block.hash, header.time_ms, executed.state_hash)

    def get_block(self, height: int) -> Block | None:
        raw = self._db.get(_height_key(b"h/", height))
        return None if raw is None else Block.from_bytes(raw)

    def get_block_bytes(self, height: int) -> bytes | None:
        return self._db.get(_height_key(b"h/", height))

    def get_supply_leaves(self, height: int) -> list[bytes] | None:
        """The leaves of block `height`'s supply_root (reserves.py), or None for a block not committed."""
        raw = self._db.get(_height_key(b"t/", height))
        return None if raw is None else list(codec.decode(raw, _RECORD_BYTES_MAX))

    def get_certificate(self, height: int) -> bytes | None:
        return self._db.get(_height_key(b"k/", height))

    def get_receipts(self, height: int) -> list[Receipt]:
        raw = self._db.get(_height_key(b"r/", height))
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
        with self._db.write_batch(transaction=True, sync=True) as batch:
            for name, value in records.items():
                batch.put(b"m/node/" + name.encode(), value)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value bytes) of every committed state entry under `prefix`, in key order (StateReader)."""
        return self._db.iterator(prefix=prefix)

