"""Offline verification of a committed block: trusting nothing but the genesis file, check that a block is
well formed, that its roots match its contents, and that more than two thirds of the power of the
validator set of its height signed its commit certificate.

The validator set of a height is followed from genesis: each committed validator change is itself checked
(its block's certificate, signed by the set of that block's height) before it is applied, and every header
commits to its set (`validators_hash`), so a node that leaves a change out makes verification fail rather
than pass. The usual light-client limit applies: validators that once held more than 2/3 of an old set
could, long after leaving it, certify a false history from that point on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor import codec
from corridor.consensus.certificate import CertificateError, CommitCertificate, verify_certificate
from corridor.consensus.validators import Validator, ValidatorSet
from corridor.ledger.governance import skip_reason, validators_hash
from corridor.hashing import merkle_root
from corridor.ledger.block import Block, InvalidBlock
from corridor.ledger.genesis import Genesis
from corridor.ledger.tx import GovSetValidator, signatures_valid

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
    block: Block


ValidatorEntries = list[tuple[bytes, str, int]]


def genesis_validators(genesis: Genesis) -> ValidatorEntries:
    return sorted((v.public_key, v.name, v.power) for v in genesis.validators)


def verify_block_bundle(bundle: bytes, genesis: Genesis, validators: ValidatorEntries | None = None) -> VerifiedBlock:
    """Check a bundle from GET /v1/blocks/{height}/raw; `validators` is the set of its height (the genesis
    set when omitted). Raises VerificationError."""
    entries = genesis_validators(genesis) if validators is None else sorted(validators)
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
    if header.validators_hash != validators_hash(entries):
        raise VerificationError("the block was signed by another validator set than the one followed from genesis")
    validators = ValidatorSet([Validator(name, key, power) for key, name, power in entries])
    try:
        verify_certificate(certificate, validators, genesis.chain_id, header.height, block.hash)
    except CertificateError as exc:
        raise VerificationError(f"the commit certificate does not prove the block: {exc}") from exc
    signers = tuple(validators.get(key).name for key, _ in certificate.signatures)
    signed_power = sum(validators.get(key).power for key, _ in certificate.signatures)
    return VerifiedBlock(header.height, block.hash, len(block.txs), signers, signed_power, validators.total_power, header.to_json(), block)


def _apply_due(entries: ValidatorEntries, pending: dict[tuple[int, bytes], tuple[str, int]], height: int) -> ValidatorEntries:
    """The set after the pending changes effective at or before `height`, applied as the chain applies them
    (governance.end_block): in key order within a height, with the chain's own skip rule."""
    current = {key: (name, power) for key, name, power in entries}
    for effective, key in sorted(item for item in pending if item[0] <= height):
        name, power = pending.pop((effective, key))
        if skip_reason(set(current), key, power) is not None:
            continue
        if power == 0:
            current.pop(key, None)
        else:
            current[key] = (name, power)
    return sorted((key, name, power) for key, (name, power) in current.items())


def follow_validator_set(fetch_bundle: Any, history: list[dict[str, Any]], genesis: Genesis, height: int) -> ValidatorEntries:
    """The validator set of `height`, followed from genesis through the committed validator changes in
    `history` (GET /v1/governance), each verified in its own certified block fetched with `fetch_bundle`."""
    entries = genesis_validators(genesis)
    pending: dict[tuple[int, bytes], tuple[str, int]] = {}  # a later change for the same height and key replaces an earlier one
    for item in history:
        if item["type"] != "gov_set_validator" or item["height"] >= height:
            continue
        entries = _apply_due(entries, pending, item["height"])
        verified = verify_block_bundle(fetch_bundle(item["height"]), genesis, entries)
        if not 0 <= item["index"] < len(verified.block.txs):
            raise VerificationError(f"governance history points past the transactions of block {item['height']}")
        body = verified.block.txs[item["index"]].body
        if not isinstance(body, GovSetValidator):
            raise VerificationError(f"block {item['height']} holds no validator change at index {item['index']}")
        pending[(body.effective_height, body.validator_key)] = (body.validator_name, body.power)
    return _apply_due(entries, pending, height)
