"""Commit certificates: precommit signatures of more than two thirds of the voting power over one block.

A precommit's signing bytes are encode(["corridor/vote/v1", chain_id, "precommit", height, round,
block_hash]); a certificate gathers such signatures for one (height, round, block_hash). Anyone holding the
validator set can check a certificate offline with `verify_certificate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor import codec
from corridor.keys import KeyPair, address_of, format_address, verify_signature
from corridor.consensus.validators import ValidatorSet

VOTE_DOMAIN = "corridor/vote/v1"
PRECOMMIT = "precommit"
CERTIFICATE_BYTES_MAX = 256 * 1024


class CertificateError(ValueError):
    """A certificate that does not prove its block committed."""


def vote_signing_bytes(chain_id: str, step: str, height: int, round_number: int, block_hash: bytes) -> bytes:
    return codec.encode([VOTE_DOMAIN, chain_id, step, height, round_number, block_hash])


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    height: int
    round: int
    block_hash: bytes
    signatures: tuple[tuple[bytes, bytes], ...]  # (validator public key, precommit signature)

    def to_bytes(self) -> bytes:
        return codec.encode(
            {
                "block_hash": self.block_hash,
                "height": self.height,
                "round": self.round,
                "signatures": [[key, sig] for key, sig in self.signatures],
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommitCertificate:
        try:
            doc = codec.decode(raw, CERTIFICATE_BYTES_MAX)
        except codec.DecodeError as exc:
            raise CertificateError(f"certificate is not canonical: {exc.message}") from exc
        if type(doc) is not dict or set(doc) != {"block_hash", "height", "round", "signatures"}:
            raise CertificateError("certificate must hold exactly block_hash, height, round and signatures")
        if type(doc["height"]) is not int or type(doc["round"]) is not int or type(doc["block_hash"]) is not bytes:
            raise CertificateError("certificate height and round must be integers, block_hash bytes")
        pairs = doc["signatures"]
        if type(pairs) is not list or not all(
            type(p) is list and len(p) == 2 and all(type(x) is bytes for x in p) for p in pairs
        ):
            raise CertificateError("certificate signatures must be [public key, signature] pairs")
        return cls(doc["height"], doc["round"], doc["block_hash"], tuple((p[0], p[1]) for p in pairs))

    def to_json(self) -> dict:
        return {
            "height": self.height,
            "round": self.round,
            "block_hash": self.block_hash.hex(),
            "signatures": [{"validator": key.hex(), "signature": sig.hex()} for key, sig in self.signatures],
        }


def sign_precommit(key: KeyPair, chain_id: str, height: int, round_number: int, block_hash: bytes) -> bytes:
    return key.sign(vote_signing_bytes(chain_id, PRECOMMIT, height, round_number, block_hash))


def validator_label(public_key: bytes, name: str | None = None) -> str:
    """A validator as people read it: its account address, and its name when known."""
    address = format_address(address_of(public_key)) if len(public_key) == 32 else f"with key {public_key.hex()[:16]}"
    return f"{address} ({name})" if name else address


def verify_certificate(
    certificate: CommitCertificate, validators: ValidatorSet, chain_id: str, height: int, block_hash: bytes
) -> None:
    """Raise CertificateError, with a sentence naming what failed (validators by address), unless more
    than 2/3 of the power precommitted `block_hash` at `height`."""
    if certificate.height != height:
        raise CertificateError(f"the certificate is for height {certificate.height}, not {height}")
    if certificate.block_hash != block_hash:
        raise CertificateError("header does not match the certificate's block hash")
    message = vote_signing_bytes(chain_id, PRECOMMIT, height, certificate.round, block_hash)
    seen: set[bytes] = set()
    power = 0
    for key, signature in certificate.signatures:
        validator = validators.get(key)
        if validator is None:
            raise CertificateError(f"signer {validator_label(key)} is not a validator at height {height}")
        if key in seen:
            raise CertificateError(f"validator {validator_label(key, validator.name)} signed the certificate twice")
        if not verify_signature(key, message, signature):
            raise CertificateError(f"signature of validator {validator_label(key, validator.name)} does not verify")
        seen.add(key)
        power += validator.power
    if power < validators.quorum_power:
        raise CertificateError(
            f"certificate carries {power} of {validators.total_power} voting power, needs more than 2/3 ({validators.quorum_power})"
        )