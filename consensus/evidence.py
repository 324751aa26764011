"""Equivocation evidence: two votes one validator signed for the same height, round and step, for different
blocks. Honest validators never do this (the safety guard refuses), so the pair proves misbehaviour to
anyone holding the validator set; it is gossiped and committed in a block so that it is on the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor import codec
from corridor.consensus.messages import MessageError, Vote
from corridor.consensus.validators import ValidatorSet
from corridor.hashing import sha256
from corridor.keys import format_address, address_of, verify_signature

EVIDENCE_BYTES_MAX = 2048


class EvidenceError(ValueError):
    """Evidence that does not prove equivocation."""


@dataclass(frozen=True, slots=True)
class Equivocation:
    first: Vote
    second: Vote

    @classmethod
    def of(cls, a: Vote, b: Vote) -> Equivocation:
        """The canonical pair (ordered by block hash), so that the same misbehaviour has one identity."""
        first, second = sorted((a, b), key=lambda v: v.block_hash or b"")
        return cls(first, second)

    def to_bytes(self) -> bytes:
        return codec.encode([self.first.to_map(), self.second.to_map()])

    @property
    def hash(self) -> bytes:
        return sha256(self.to_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes) -> Equivocation:
        try:
            doc = codec.decode(raw, EVIDENCE_BYTES_MAX)
            if type(doc) is not list or len(doc) != 2:
                raise EvidenceError("evidence is a pair of votes")
            return cls(Vote.from_map(doc[0]), Vote.from_map(doc[1]))
        except (codec.DecodeError, MessageError) as exc:
            raise EvidenceError(f"malformed evidence: {exc}") from exc

    def verify(self, chain_id: str, validators: ValidatorSet) -> None:
        """Raise EvidenceError unless this is a proven double sign by a member of `validators`."""
        a, b = self.first, self.second
        if (a.validator, a.height, a.round, a.step) != (b.validator, b.height, b.round, b.step):
            raise EvidenceError("the two votes are not from one validator at one height, round and step")
        if (a.block_hash or b"") >= (b.block_hash or b""):
            raise EvidenceError("the two votes must be for different blocks, in canonical order")
        if validators.get(a.validator) is None:
            raise EvidenceError("the voter is not a validator")
        for vote in (a, b):
            if not verify_signature(vote.validator, vote.signing_bytes(chain_id), vote.signature):
                raise EvidenceError("a vote's signature does not verify")

    def to_json(self) -> dict[str, Any]:
        def vote_json(vote: Vote) -> dict[str, Any]:
            return {"block_hash": (vote.block_hash or b"").hex(), "signature": vote.signature.hex()}

        return {
            "hash": self.hash.hex(),
            "kind": "duplicate_vote",
            "validator": self.first.validator.hex(),
            "validator_address": format_address(address_of(self.first.validator)),
            "height": self.first.height,
            "round": self.first.round,
            "step": self.first.step,
            "votes": [vote_json(self.first), vote_json(self.second)],
        }
