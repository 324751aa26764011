"""Blocks: a proposer's block re-executes to the same header on another node; any tampering is InvalidBlock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from corridor import codec
from corridor.hashing import EMPTY_ROOT, merkle_proof, merkle_root, sha256, verify_merkle_proof
from corridor.ledger import limits
from corridor.ledger.block import HEADER_FIELDS, Block, InvalidBlock, build_block, execute_block
from corridor.ledger.genesis import Genesis
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import State
from corridor.ledger.store import Store

from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    KEYS,
    attest,
    burn,
    commit,
    mint,
    next_time_ms,
    produce,
    transfer,
)


@pytest.fixture()
def follower(tmp_path: Path, genesis: Genesis) -> Iterator[Store]:
    """A second node's store, made from the same genesis."""
    opened = Store(tmp_path / "follower", genesis)
    yield opened
    opened.close()


def block_one_txs() -> list:
    return [
        transfer("alice", 0, "bob", "USD", 1_000, memo="rent"),
        mint("usd_issuer", 0, "dave", "USD", 5_000),
        transfer("alice", 1, "carol", "JPY", 70_000),
        burn("carol", 0, "JPY", 100_000),  # carol holds 30,000 + 70,000 JPY by then
        attest("jpy_auditor", 0, "JPY", 2_000_000),
    ]


def test_build_block_keeps_what_applies_and_reports_what_it_left_out(store: Store) -> None:
    txs = block_one_txs()
    txs[3] = burn("carol", 0, "JPY", 100_001)  # carol will hold 100,000 JPY: one more is refused
    executed, left_out = produce(store, txs)
    assert [tx.hash for tx in executed.block.txs] == [txs[i].hash for i in (0, 1, 2, 4)]
    assert [(item.tx.hash, item.refusal) for item in left_out] == [(txs[3].hash, Refusal.INSUFFICIENT_FUNDS)]
    header = executed.block.header
    assert (header.height, header.parent_hash, header.tx_count) == (1, store.tip.block_hash, 4)
    assert header.txs_root == merkle_root([tx.raw for tx in executed.block.txs])
    assert [(r.index, r.height, r.code) for r in executed.receipts] == [(0, 1, "ok"), (1, 1, "ok"), (2, 1, "ok"), (3, 1, "ok")]


def test_follower_re_executes_the_block_to_the_same_header_and_state(store: Store, follower: Store) -> None:
    for round_txs in (block_one_txs(), [transfer("bob", 0, "alice", "USD", 7), transfer("alice", 2, "dave", "JPY", 1)]):
        executed, _ = commit(store, round_txs)
        received = Block.from_bytes(executed.block.to_bytes())  # over the wire
        assert received == executed.block
        replayed = execute_block(follower, follower.tip, CHAIN_ID, received)
        assert replayed.block.header == executed.block.header
        assert replayed.receipts == executed.receipts
        assert replayed.state_hash.root() == executed.block.header.state_root
        follower.commit_block(replayed, b"certificate")
    assert follower.tip.block_hash == store.tip.block_hash
    assert follower.tip.state_hash.to_bytes() == store.tip.state_hash.to_bytes()
    for name, address in ADDRESSES.items():
        for code in ("USD", "JPY"):
            assert State(follower).get_balance(address, code) == State(store).get_balance(address, code), name


def test_a_transaction_is_provably_in_its_block(store: Store) -> None:
    executed, _ = produce(store, block_one_txs())
    raws = [tx.raw for tx in executed.block.txs]
    for index, raw in enumerate(raws):
        path = merkle_proof(raws, index)
        assert verify_merkle_proof(raw, index, executed.block.header.tx_count, path, executed.block.header.txs_root)


def test_empty_block_commits_to_empty_roots_and_an_unchanged_state(store: Store) -> None:
    executed, left_out = produce(store, [])
    header = executed.block.header
    assert left_out == [] and header.tx_count == 0
    assert header.txs_root == header.receipts_root == EMPTY_ROOT
    assert header.state_root == store.tip.state_hash.root()


def _zeroed(name: str):
    return lambda h: replace(h, **{name: bytes(32)})


# Every commitment in the header (whatever roots it grows) must match the re-execution.
ROOT_FIELDS = [name for name in HEADER_FIELDS if name.endswith("_root")]
TAMPERED_FIELDS = {
    **{name: _zeroed(name) for name in ROOT_FIELDS},
    "tx_count": lambda h: replace(h, tx_count=h.tx_count - 1),
    "parent_hash": lambda h: replace(h, parent_hash=bytes(32)),
    "height_skips": lambda h: replace(h, height=h.height + 1),
    "height_repeats": lambda h: replace(h, height=h.height - 1),
    "chain_id": lambda h: replace(h, chain_id="corridor-other"),
    "time_equal_to_parent": lambda h: replace(h, time_ms=h.time_ms - 1_000),
    "time_before_parent": lambda h: replace(h, time_ms=h.time_ms - 5_000),
}


def test_header_commits_to_transactions_receipts_and_state() -> None:
    assert {"txs_root", "receipts_root", "state_root"} <= set(ROOT_FIELDS)


@pytest.mark.parametrize("tamper", TAMPERED_FIELDS.values(), ids=TAMPERED_FIELDS.keys())
def test_tampered_header_is_invalid_and_changes_nothing(store: Store, follower: Store, tamper) -> None:
    executed, _ = produce(store, block_one_txs())
    assert executed.block.header.time_ms == follower.tip.time_ms + 1_000
    forged = Block(tamper(executed.block.header), executed.block.txs)
    tip_before = follower.tip
    with pytest.raises(InvalidBlock):
        execute_block(follower, follower.tip, CHAIN_ID, forged)
    assert follower.tip == tip_before
    # The honest block still executes on the same follower afterwards.
    execute_block(follower, follower.tip, CHAIN_ID, executed.block)


def test_block_with_a_different_time_but_the_same_height_has_another_hash(store: Store, follower: Store) -> None:
    executed, _ = produce(store, block_one_txs())
    later = replace(executed.block.header, time_ms=executed.block.header.time_ms + 1)
    # A later time is a valid block too (time only has to increase), but it is another block.
    replayed = execute_block(follower, follower.tip, CHAIN_ID, Block(later, executed.block.txs))
    assert replayed.block.hash != executed.block.hash


TAMPERED_TXS = {
    "tx_dropped": lambda txs: txs[:-1],
    "txs_reordered": lambda txs: [txs[2], txs[1], txs[0], *txs[3:]],
    "tx_duplicated": lambda txs: [*txs, txs[0]],
    "refused_tx_added": lambda txs: [*txs, transfer("dave", 0, "alice", "USD", 10**9)],
    "valid_tx_added": lambda txs: [*txs, transfer("bob", 0, "alice", "USD", 1)],
}


@pytest.mark.parametrize("tamper", TAMPERED_TXS.values(), ids=TAMPERED_TXS.keys())
def test_block_whose_transactions_do_not_match_its_header_is_invalid(store: Store, follower: Store, tamper) -> None:
    executed, _ = produce(store, block_one_txs())
    assert executed.block.header.tx_count == 5
    forged = Block(executed.block.header, tuple(tamper(list(executed.block.txs))))
    with pytest.raises(InvalidBlock):
        execute_block(follower, follower.tip, CHAIN_ID, forged)


def test_block_carrying_a_refused_transaction_is_invalid_even_with_a_matching_header(store: Store, follower: Store) -> None:
    # A proposer that includes a refused tx and computes its header honestly around it is still refused.
    good = [transfer("alice", 0, "bob", "USD", 1)]
    bad = transfer("dave", 0, "alice", "USD", 1)  # dave has nothing
    executed, _ = produce(store, good)
    header = replace(
        executed.block.header,
        tx_count=2,
        txs_root=merkle_root([good[0].raw, bad.raw]),
    )
    with pytest.raises(InvalidBlock, match="insufficient_funds"):
        execute_block(follower, follower.tip, CHAIN_ID, Block(header, (good[0], bad)))


def test_block_bytes_round_trip(store: Store) -> None:
    executed, _ = produce(store, block_one_txs())
    raw = executed.block.to_bytes()
    assert Block.from_bytes(raw) == executed.block
    assert Block.from_bytes(raw).hash == executed.block.hash


def _block_map(store: Store) -> dict:
    """The decoded wire map of a valid block, whatever fields the current format has."""
    executed, _ = produce(store, [transfer("alice", 0, "bob", "USD", 1)])
    doc = codec.decode(executed.block.to_bytes(), 1 << 20)
    assert Block.from_bytes(codec.encode(doc)) == executed.block
    return doc


MALFORMED_BLOCKS = {
    "extra_field": lambda doc: {**doc, "certificate": b""},
    "missing_txs": lambda doc: {k: v for k, v in doc.items() if k != "txs"},
    "missing_header": lambda doc: {k: v for k, v in doc.items() if k != "header"},
    "header_missing_field": lambda doc: {**doc, "header": {k: v for k, v in doc["header"].items() if k != "state_root"}},
    "header_extra_field": lambda doc: {**doc, "header": {**doc["header"], "round": 0}},
    "height_as_bytes": lambda doc: {**doc, "header": {**doc["header"], "height": b"\x01"}},
    "height_as_bool": lambda doc: {**doc, "header": {**doc["header"], "height": True}},
    "chain_id_as_bytes": lambda doc: {**doc, "header": {**doc["header"], "chain_id": CHAIN_ID.encode()}},
    "state_root_as_str": lambda doc: {**doc, "header": {**doc["header"], "state_root": "00"}},
    "txs_not_a_list": lambda doc: {**doc, "txs": doc["txs"][0]},
    "tx_not_bytes": lambda doc: {**doc, "txs": ["transfer"]},
    "tx_malformed": lambda doc: {**doc, "txs": [doc["txs"][0] + b"\x00"]},
    "not_a_map": lambda doc: list(doc.values()),
}


def test_decoding_reuses_known_transactions_only_when_their_bytes_match(store: Store) -> None:
    executed, _ = produce(store, block_one_txs())
    raw = executed.block.to_bytes()
    held = {tx.hash: tx for tx in executed.block.txs[:2]}
    decoded = Block.from_bytes(raw, known=held.get)
    assert decoded == executed.block
    assert all(decoded.txs[i] is held[decoded.txs[i].hash] for i in (0, 1))
    impostor = replace(executed.block.txs[2], raw=executed.block.txs[3].raw)  # same hash, other bytes
    decoded = Block.from_bytes(raw, known={impostor.hash: impostor}.get)
    assert decoded.txs[2] == executed.block.txs[2] and decoded.txs[2] is not impostor


@pytest.mark.parametrize("mutate", MALFORMED_BLOCKS.values(), ids=MALFORMED_BLOCKS.keys())
def test_malformed_block_bytes_raise_invalid_block(store: Store, mutate) -> None:
    with pytest.raises(InvalidBlock):
        Block.from_bytes(codec.encode(mutate(_block_map(store))))


def test_non_canonical_block_bytes_raise_invalid_block(store: Store) -> None:
    raw = codec.encode(_block_map(store))
    with pytest.raises(InvalidBlock):
        Block.from_bytes(raw + b"\x00")
    with pytest.raises(InvalidBlock):
        Block.from_bytes(b"\xde\x00\x02" + raw[1:])  # the same map behind a map16 header


def _changed(value):
    if type(value) is bytes:
        return bytes([value[0] ^ 1]) + value[1:] if value else b"\x01"
    if type(value) is int:
        return value + 1
    return value + "x"


def test_header_hash_covers_every_field(store: Store) -> None:
    header = produce(store, [transfer("alice", 0, "bob", "USD", 1)])[0].block.header
    hashes = {replace(header, **{name: _changed(getattr(header, name))}).hash for name in HEADER_FIELDS}
    assert header.hash not in hashes and len(hashes) == len(HEADER_FIELDS)


# Evidence of validator misbehaviour rides in blocks as opaque bytes the header commits to.
EVIDENCE = (b"double-sign by v1 at height 3", b"double-sign by v2 at height 3")


def _with_evidence(store: Store, evidence: tuple[bytes, ...]):
    return build_block(store, store.tip, CHAIN_ID, next_time_ms(store), KEYS["validator"].public_key, [], evidence)


def test_evidence_is_committed_by_the_header_and_re_executes(store: Store, follower: Store) -> None:
    executed, _ = _with_evidence(store, EVIDENCE)
    assert executed.block.header.evidence_root == merkle_root(list(EVIDENCE))
    received = Block.from_bytes(executed.block.to_bytes())
    assert received.evidence == EVIDENCE
    replayed = execute_block(follower, follower.tip, CHAIN_ID, received)
    assert replayed.block.header == executed.block.header
    follower.commit_block(replayed, b"certificate")
    assert all(follower.has_evidence(sha256(item)) for item in EVIDENCE)
    assert not follower.has_evidence(sha256(b"other"))


@pytest.mark.parametrize(
    "evidence",
    [EVIDENCE[:1], (EVIDENCE[1], EVIDENCE[0]), (*EVIDENCE, EVIDENCE[0]), ()],
    ids=["item_dropped", "items_reordered", "item_duplicated", "all_dropped"],
)
def test_evidence_that_does_not_match_the_header_is_invalid(store: Store, follower: Store, evidence) -> None:
    executed, _ = _with_evidence(store, EVIDENCE)
    forged = Block(executed.block.header, executed.block.txs, evidence)
    with pytest.raises(InvalidBlock):
        execute_block(follower, follower.tip, CHAIN_ID, forged)


@pytest.mark.parametrize(
    "evidence",
    [[b"x"] * (limits.EVIDENCE_PER_BLOCK_MAX + 1), [b"x" * (limits.EVIDENCE_BYTES_MAX + 1)], ["text"]],
    ids=["too_many", "too_large", "not_bytes"],
)
def test_block_bytes_with_out_of_bounds_evidence_are_invalid(store: Store, evidence: list) -> None:
    doc = _block_map(store)
    doc["evidence"] = evidence
    with pytest.raises(InvalidBlock):
        Block.from_bytes(codec.encode(doc))
