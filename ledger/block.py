"""Blocks: the header, its Merkle roots, receipts, and executing a block's transactions over a State.

A block's hash is SHA-256 of its header's canonical encoding. The header commits to the transactions
(RFC 6962 Merkle root of the transactions' wire bytes), to their receipts (the same over each receipt's
encoding), to the whole state after the block (`state_root`, see state_root.py) and to every currency's
supply and attested reserve after the block (`supply_root`, see reserves.py).

Every transaction in a block applied successfully: a proposer leaves out any transaction that would be
refused, and a block that carries one is invalid (`InvalidBlock`). A receipt therefore records what a
transaction did (its events), and its `code` is "ok".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from corridor import codec
from corridor.hashing import merkle_root, sha256
from corridor.ledger import governance, limits, reserves
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import BlockContext, apply_tx
from corridor.ledger.state import State, StateReader
from corridor.ledger.state_root import StateHash
from corridor.ledger.tx import SignedTx, TxError, decode_tx

HEADER_FIELDS = (
    "chain_id",
    "height",
    "parent_hash",
    "time_ms",
    "proposer",
    "tx_count",
    "txs_root",
    "receipts_root",
    "state_root",
    "supply_root",
    "evidence_root",
    "validators_hash",
)



class InvalidBlock(ValueError):
    """A block that no honest validator would accept, with the reason."""


@dataclass(frozen=True, slots=True)
class Header:
    chain_id: str
    height: int
    parent_hash: bytes
    time_ms: int
    proposer: bytes
    tx_count: int
    txs_root: bytes
    receipts_root: bytes
    state_root: bytes
    supply_root: bytes
    evidence_root: bytes
    validators_hash: bytes
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The hash names the block everywhere (votes, certificates, lookups): worked out once.
        object.__setattr__(self, "_hash", sha256(codec.encode(self.to_map())))

    def to_map(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HEADER_FIELDS}

    @property
    def hash(self) -> bytes:
        return self._hash

    def to_json(self) -> dict[str, Any]:
        return {name: value.hex() if type(value) is bytes else value for name, value in self.to_map().items()}


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: bytes
    height: int
    index: int
    code: str
    events: tuple[dict[str, Any], ...]

    def to_map(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "events": list(self.events),
            "height": self.height,
            "index": self.index,
            "tx_hash": self.tx_hash,
        }

    @classmethod
    def from_map(cls, doc: dict[str, Any]) -> Receipt:
        return cls(doc["tx_hash"], doc["height"], doc["index"], doc["code"], tuple(doc["events"]))


def _decoded(raw: bytes, known: Callable[[bytes], SignedTx | None] | None) -> SignedTx:
    if known is not None:
        tx = known(sha256(raw))
        if tx is not None and tx.raw == raw:
            return tx
    return decode_tx(raw)


@dataclass(frozen=True, slots=True)
class Block:
    """A header, the transactions, and evidence of validator misbehaviour (opaque to the ledger: the
    node checks each item with the consensus rules before it accepts a block)."""

    header: Header
    txs: tuple[SignedTx, ...]
    evidence: tuple[bytes, ...] = ()

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def to_bytes(self) -> bytes:
        return codec.encode(
            {"evidence": list(self.evidence), "header": self.header.to_map(), "txs": [tx.raw for tx in self.txs]}
        )

    @classmethod
    def from_bytes(cls, raw: bytes, known: Callable[[bytes], SignedTx | None] | None = None) -> Block:
        """Decode a block strictly (transaction signatures are not checked here).

        `known` looks a transaction up by hash (the mempool's): one found there with the very same bytes is
        reused instead of decoded a second time."""
        try:
            doc = codec.decode(raw, limits.BLOCK_SIZE_BYTES_MAX)
        except codec.DecodeError as exc:
            raise InvalidBlock(f"block bytes: {exc.message}") from exc
        if type(doc) is not dict or set(doc) != {"evidence", "header", "txs"}:
            raise InvalidBlock("a block is a map of exactly evidence, header and txs")
        header_map, raw_txs, evidence = doc["header"], doc["txs"], doc["evidence"]
        if type(evidence) is not list or len(evidence) > limits.EVIDENCE_PER_BLOCK_MAX or not all(
            type(item) is bytes and len(item) <= limits.EVIDENCE_BYTES_MAX for item in evidence
        ):
            raise InvalidBlock(f"a block carries at most {limits.EVIDENCE_PER_BLOCK_MAX} evidence items of bytes")
        if type(header_map) is not dict or set(header_map) != set(HEADER_FIELDS):
            raise InvalidBlock(f"a header has exactly the fields {HEADER_FIELDS}")
        for name in HEADER_FIELDS:
            expected = str if name == "chain_id" else int if name in ("height", "time_ms", "tx_count") else bytes
            if type(header_map[name]) is not expected:
                raise InvalidBlock(f"header field {name} must be {expected.__name__}")
            if expected is bytes and len(header_map[name]) != 32:
                raise InvalidBlock(f"header field {name} must be 32 bytes")
        if type(raw_txs) is not list or len(raw_txs) > limits.BLOCK_TXS_MAX:
            raise InvalidBlock(f"a block carries a list of at most {limits.BLOCK_TXS_MAX} transactions")
        if not all(type(item) is bytes for item in raw_txs):
            raise InvalidBlock("a block's transactions are byte strings")
        try:
            txs = tuple(_decoded(item, known) for item in raw_txs)
        except TxError as exc:
            raise InvalidBlock(f"block carries a malformed transaction: {exc.message}") from exc
        return cls(Header(**header_map), txs, tuple(evidence))


@dataclass(frozen=True, slots=True)
class ChainTip:
    """What the next block builds on: the last committed header's essentials and the state hash."""

    height: int
    block_hash: bytes
    time_ms: int
    state_hash: StateHash


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block with its receipts and the state changes it makes, ready to be committed to the store."""

    block: Block
    receipts: tuple[Receipt, ...]
    state: State
    changes: tuple[tuple[bytes, bytes | None], ...]  # the state's writes, encoded, in key order (None: deleted)
    state_hash: StateHash
    receipt_leaves: tuple[bytes, ...]  # each receipt's canonical encoding: the receipts root's leaves
    supply_leaves: tuple[bytes, ...] = ()  # each currency's [code, supply, reserve, as-of]: the supply root's leaves


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A candidate transaction a proposer left out of its block, and why."""

    tx: SignedTx
    refusal: Refusal


def _next_state_hash(state: State, changes: tuple[tuple[bytes, bytes | None], ...], parent_hash: StateHash) -> StateHash:
    state_hash = parent_hash.copy()
    for key, new in changes:
        state_hash.update(key, state.base_bytes(key), new)
    return state_hash


def _seal(
    chain_id: str,
    tip: ChainTip,
    time_ms: int,
    proposer: bytes,
    txs: list[SignedTx],
    receipts: list[Receipt],
    state: State,
    evidence: tuple[bytes, ...],
) -> ExecutedBlock:
    validators_hash = governance.validators_hash(governance.validators_in(State(state.base_reader())))
    governance.end_block(state, tip.height + 1)
    changes = tuple(state.changes())
    state_hash = _next_state_hash(state, changes, tip.state_hash)
    receipt_leaves = tuple(codec.encode(r.to_map()) for r in receipts)
    supply_leaves = reserves.supply_leaves(state)  # every currency's supply and reserve at the end of the block
    header = Header(
        chain_id=chain_id,
        height=tip.height + 1,
        parent_hash=tip.block_hash,
        time_ms=time_ms,
        proposer=proposer,
        tx_count=len(txs),
        txs_root=merkle_root([tx.raw for tx in txs]),
        receipts_root=merkle_root(receipt_leaves),
        state_root=state_hash.root(),
        supply_root=reserves.supply_root(supply_leaves),
        evidence_root=merkle_root(list(evidence)),
        validators_hash=validators_hash,
    )
    return ExecutedBlock(Block(header, tuple(txs), evidence), tuple(receipts), state, changes, state_hash, receipt_leaves, supply_leaves)


def build_block(
    reader: StateReader,
    tip: ChainTip,
    chain_id: str,
    time_ms: int,
    proposer: bytes,
    candidates: Iterable[SignedTx],
    evidence: tuple[bytes, ...] = (),
) -> tuple[ExecutedBlock, list[LeftOut]]:
    """Propose the next block from `candidates` (signatures already verified), in their order, carrying
    `evidence` (already checked by the node). Candidates that would be refused are left out and returned
    with their refusal.
    """
    assert time_ms > tip.time_ms, "block time must increase"
    height = tip.height + 1
    context = BlockContext(height, time_ms)
    state = State(reader)
    included: list[SignedTx] = []
    receipts: list[Receipt] = []
    left_out: list[LeftOut] = []
    for tx in candidates:
        if len(included) == limits.BLOCK_TXS_MAX:
            break
        outcome = apply_tx(state, tx, context)
        if outcome.refusal is not None:
            left_out.append(LeftOut(tx, outcome.refusal))
            continue
        receipts.append(Receipt(tx.hash, height, len(included), "ok", outcome.events))
        included.append(tx)
    return _seal(chain_id, tip, time_ms, proposer, included, receipts, state, evidence), left_out


def execute_block(reader: StateReader, tip: ChainTip, chain_id: str, block: Block) -> ExecutedBlock:
    """Re-execute another validator's block and check every header field; raises InvalidBlock.

    Signatures of the block's transactions must have been verified by the caller.
    """
    header = block.header
    if header.chain_id != chain_id or header.height != tip.height + 1 or header.parent_hash != tip.block_hash:
        raise InvalidBlock(f"block {header.height} does not extend the chain at height {tip.height}")
    if header.time_ms <= tip.time_ms:
        raise InvalidBlock("block time does not increase")
    if len({tx.hash for tx in block.txs}) != len(block.txs):
        raise InvalidBlock("block carries the same transaction twice")
    if len(set(block.evidence)) != len(block.evidence):
        raise InvalidBlock("block carries the same evidence twice")
    executed, left_out = build_block(reader, tip, chain_id, header.time_ms, header.proposer, block.txs, block.evidence)
    if left_out:
        raise InvalidBlock(f"transaction {left_out[0].tx.hash.hex()} is refused: {left_out[0].refusal.code}")
    if executed.block.header != header:
        raise InvalidBlock("header does not match the result of executing the block")
    return executed
