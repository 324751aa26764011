"""Hashes and Merkle trees shared by the ledger and consensus.

The Merkle tree follows RFC 6962 (Certificate Transparency): leaves are hashed as SHA-256(0x00 || leaf),
inner nodes as SHA-256(0x01 || left || right), and a tree of n leaves splits at the largest power of two
below n. The empty tree's root is SHA-256 of nothing. The prefixes keep a leaf from posing as a node.
"""

from __future__ import annotations

import hashlib

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(count: int) -> int:
    """The largest power of two strictly below `count` (count >= 2)."""
    return 1 << ((count - 1).bit_length() - 1)


def _root_of_hashes(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def merkle_root(leaves: list[bytes]) -> bytes:
    """The RFC 6962 Merkle root of `leaves` (each leaf is raw bytes, hashed here)."""
    if not leaves:
        return EMPTY_ROOT
    return _root_of_hashes([_leaf_hash(leaf) for leaf in leaves])


def merkle_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index`: sibling hashes from the leaf up to the root."""
    assert 0 <= index < len(leaves)
    hashes = [_leaf_hash(leaf) for leaf in leaves]
    path: list[bytes] = []

    def walk(nodes: list[bytes], position: int) -> None:
        if len(nodes) == 1:
            return
        k = _split(len(nodes))
        if position < k:
            walk(nodes[:k], position)
            path.append(_root_of_hashes(nodes[k:]))
        else:
            walk(nodes[k:], position - k)
            path.append(_root_of_hashes(nodes[:k]))

    walk(hashes, index)
    return path


def verify_merkle_proof(leaf: bytes, index: int, leaf_count: int, path: list[bytes], root: bytes) -> bool:
    """True when `path` proves that `leaf` is leaf number `index` of `leaf_count` under `root`."""
    if not 0 <= index < leaf_count:
        return False

    def fold(position: int, count: int, remaining: list[bytes]) -> bytes | None:
        if count == 1:
            return _leaf_hash(leaf) if not remaining else None
        if not remaining:
            return None
        k = _split(count)
        sibling = remaining[-1]
        if position < k:
            below = fold(position, k, remaining[:-1])
            return None if below is None else _node_hash(below, sibling)
        below = fold(position - k, count - k, remaining[:-1])
        return None if below is None else _node_hash(sibling, below)

    return fold(index, leaf_count, list(path)) == root
