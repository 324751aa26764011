"""Offline block verification: a genuine bundle passes; any change to it is caught."""

from __future__ import annotations

import pytest

from corridor import codec
from corridor.client.verify import VerificationError, verify_block_bundle
from corridor.consensus.certificate import CommitCertificate
from corridor.ledger.genesis import Genesis
from corridor.ledger.store import Store

from unit_support import commit, mint, transfer


def bundle_of(store: Store, height: int) -> dict:
    return {
        "block": store.get_block_bytes(height),
        "certificate": store.get_certificate(height),
        "receipts": [codec.encode(receipt.to_map()) for receipt in store.get_receipts(height)],
    }


@pytest.fixture()
def bundle(store: Store) -> dict:
    commit(store, [mint("usd_issuer", 0, "alice", "USD", 5_000), transfer("alice", 0, "bob", "USD", 700)])
    return bundle_of(store, 1)


def test_a_genuine_block_verifies(bundle: dict, genesis: Genesis) -> None:
    verified = verify_block_bundle(codec.encode(bundle), genesis)
    assert verified.height == 1 and verified.tx_count == 2
    assert verified.signed_power == verified.total_power


def test_a_changed_receipt_is_caught(bundle: dict, genesis: Genesis) -> None:
    receipt = codec.decode(bundle["receipts"][1], 4096)
    receipt["events"][0]["amount_minor"] += 1
    bundle["receipts"][1] = codec.encode(receipt)
    with pytest.raises(VerificationError, match="receipts"):
        verify_block_bundle(codec.encode(bundle), genesis)


def test_a_dropped_transaction_is_caught(bundle: dict, genesis: Genesis) -> None:
    block = codec.decode(bundle["block"], 1 << 20)
    block["txs"] = block["txs"][:1]
    bundle["block"] = codec.encode(block)
    with pytest.raises(VerificationError, match="txs_root"):
        verify_block_bundle(codec.encode(bundle), genesis)


def test_a_changed_header_breaks_the_certificate(bundle: dict, genesis: Genesis) -> None:
    block = codec.decode(bundle["block"], 1 << 20)
    block["header"]["time_ms"] += 1
    bundle["block"] = codec.encode(block)
    with pytest.raises(VerificationError, match="certificate"):
        verify_block_bundle(codec.encode(bundle), genesis)


def test_a_certificate_without_signatures_is_caught(bundle: dict, genesis: Genesis) -> None:
    certificate = CommitCertificate.from_bytes(bundle["certificate"])
    bundle["certificate"] = CommitCertificate(certificate.height, certificate.round, certificate.block_hash, ()).to_bytes()
    with pytest.raises(VerificationError, match="power"):
        verify_block_bundle(codec.encode(bundle), genesis)


def test_garbage_is_refused_as_malformed(genesis: Genesis) -> None:
    with pytest.raises(VerificationError, match="malformed"):
        verify_block_bundle(b"\x93garbage", genesis)
