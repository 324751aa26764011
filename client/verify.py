"""Offline verification of a committed block: with nothing but the genesis file, check that a block is
well formed, that its roots match its contents, and that more than two thirds of the genesis validators'
power signed its commit certificate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor import codec
from corridor.consensus.certificate import CertificateError, CommitCertificate, verify_certificate
from corridor.consensus.validators import ValidatorSet
from corridor.hashing import merkle_root
from corridor.ledger.block import Block, InvalidBlock
from corridor.ledger.genesis import Genesis
from corridor.ledger.tx import signatures_valid

BUNDLE_BYTES_MAX = 64 * 1024 * 1024


class VerificationError(ValueError):
    """The block, or its certificate, does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class VerifiedBlock:
    height: int
    hash: bytes
    tx_count: int
    signers: tuple[str, ...]
    signed_power: int
    total_power: int
    header: dict[str, Any]


def verify_block_bundle(bundle: bytes, genesis: Genesis) -> VerifiedBlock:
    """Check a bundle from GET /v1/blocks/{height}/raw against `genesis`; raise VerificationError."""
    try:
        document = codec.decode(bundle, BUNDLE_BYTES_MAX)
        block = Block.from_bytes(document["block"])
        certificate = CommitCertificate.from_bytes(document["certificate"])
        receipts = document["receipts"]
    except (codec.DecodeError, InvalidBlock, CertificateError, KeyError, TypeError) as exc:
        raise VerificationError(f"the bundle is malformed: {exc}") from exc
    header = block.header
    if header.chain_id != genesis.chain_id:
        raise VerificationError(f"the block is from chain {header.chain_id}, not {genesis.chain_id}")
    if merkle_root([tx.raw for tx in block.txs]) != header.txs_root or len(block.txs) != header.tx_count:
        raise VerificationError("the transactions do not match the header's txs_root")
    if merkle_root(list(block.evidence)) != header.evidence_root:
        raise VerificationError("the evidence does not match the header's evidence_root")
    if type(receipts) is not list or not all(type(r) is bytes for r in receipts) or merkle_root(receipts) != header.receipts_root:
        raise VerificationError("the receipts do not match the header's receipts_root")
    for tx in block.txs:
        if not signatures_valid(tx, genesis.chain_id):
            raise VerificationError(f"transaction {tx.hash.hex()} carries an invalid signature")
    validators = ValidatorSet.of(genesis.validators)
    try:
        verify_certificate(certificate, validators, genesis.chain_id, header.height, block.hash)
    except CertificateError as exc:
        raise VerificationError(f"the commit certificate does not prove the block: {exc}") from exc
    signers = tuple(validators.get(key).name for key, _ in certificate.signatures)
    signed_power = sum(validators.get(key).power for key, _ in certificate.signatures)
    return VerifiedBlock(header.height, block.hash, len(block.txs), signers, signed_power, validators.total_power, header.to_json())
