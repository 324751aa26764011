"""RFC 6962 Merkle trees: roots match Certificate Transparency's vectors, and every proof checks exactly one leaf."""

from __future__ import annotations

import hashlib

import pytest

from corridor.hashing import EMPTY_ROOT, merkle_proof, merkle_root, sha256, verify_merkle_proof

# Certificate Transparency's reference leaves and roots (RFC 6962 implementations share them).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def leaves_of(count: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(count)]


def test_sha256_and_empty_root() -> None:
    assert sha256(b"abc") == hashlib.sha256(b"abc").digest()
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("count", range(1, 9))
def test_roots_match_certificate_transparency_vectors(count: int) -> None:
    assert merkle_root(CT_LEAVES[:count]).hex() == CT_ROOTS[count - 1]


@pytest.mark.parametrize(("index", "count"), CT_PATHS)
def test_proofs_match_certificate_transparency_vectors(index: int, count: int) -> None:
    assert [h.hex() for h in merkle_proof(CT_LEAVES[:count], index)] == CT_PATHS[(index, count)]


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # A two-leaf root must not equal the root of one leaf holding the two leaf hashes (second-preimage attack).
    a, b = b"a", b"b"
    forged_leaf = hashlib.sha256(b"\x00" + a).digest() + hashlib.sha256(b"\x00" + b).digest()
    assert merkle_root([a, b]) != merkle_root([forged_leaf])


CASES = [(count, index) for count in range(1, 18) for index in range(count)]


@pytest.mark.parametrize(("count", "index"), CASES)
def test_proof_of_every_leaf_verifies_and_nothing_tampered_does(count: int, index: int) -> None:
    leaves = leaves_of(count)
    root = merkle_root(leaves)
    path = merkle_proof(leaves, index)
    assert verify_merkle_proof(leaves[index], index, count, path, root)

    # Another leaf, another index, another root: refused.
    assert not verify_merkle_proof(b"tampered", index, count, path, root)
    for other in range(count):
        if other != index:
            assert not verify_merkle_proof(leaves[index], other, count, path, root)
            assert not verify_merkle_proof(leaves[other], index, count, path, root)
    assert not verify_merkle_proof(leaves[index], index, count, path, sha256(root))

    # Every path element flipped, dropped, or an element added: refused.
    for position in range(len(path)):
        tampered = list(path)
        tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
        assert not verify_merkle_proof(leaves[index], index, count, tampered, root)
        assert not verify_merkle_proof(leaves[index], index, count, path[:position] + path[position + 1 :], root)
    assert not verify_merkle_proof(leaves[index], index, count, [*path, root], root)
    assert not verify_merkle_proof(leaves[index], index, count, [root, *path], root)

    # Indexes outside the tree: refused, not an exception.
    assert not verify_merkle_proof(leaves[index], count, count, path, root)
    assert not verify_merkle_proof(leaves[index], -1, count, path, root)


def test_root_changes_with_order_and_with_each_leaf() -> None:
    leaves = leaves_of(5)
    root = merkle_root(leaves)
    assert merkle_root(list(reversed(leaves))) != root
    assert merkle_root(leaves[:-1]) != root
    for i in range(5):
        changed = list(leaves)
        changed[i] = b"other"
        assert merkle_root(changed) != root


def test_single_leaf_tree_has_an_empty_proof() -> None:
    assert merkle_proof([b"only"], 0) == []
    assert verify_merkle_proof(b"only", 0, 1, [], merkle_root([b"only"]))
