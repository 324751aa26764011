"""Consensus messages: proposals and votes, their signing bytes and their canonical wire form.

Signing bytes (docs/consensus.md):
    proposal: encode(["corridor/proposal/v1", chain_id, height, round, block_hash, valid_round])
    vote:     encode(["corridor/vote/v1", chain_id, step, height, round, block_hash or b""])
The chain id is in every signature, so a vote can never be replayed on another chain; the step is in every
vote, so a prevote can never pass for a precommit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor import codec
from corridor.consensus.certificate import PRECOMMIT, vote_signing_bytes
from corridor.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from corridor.hashing import HASH_BYTES

PREVOTE = "prevote"
VOTE_STEPS = (PREVOTE, PRECOMMIT)
PROPOSAL_DOMAIN = "corridor/proposal/v1"
ROUND_MAX = 2**31


class MessageError(ValueError):
    """A consensus message that is malformed: the peer that sent it broke the protocol."""


@dataclass(frozen=True, slots=True)
class Vote:
    """A signed prevote or precommit for a block hash, or for nothing (`block_hash` None = nil)."""

    step: str
    height: int
    round: int
    block_hash: bytes | None
    validator: bytes
    signature: bytes

    def signing_bytes(self, chain_id: str) -> bytes:
        return vote_signing_bytes(chain_id, self.step, self.height, self.round, self.block_hash or b"")

    def to_map(self) -> dict[str, Any]:
        return {
            "block_hash": self.block_hash or b"",
            "height": self.height,
            "round": self.round,
            "signature": self.signature,
            "step": self.step,
            "validator": self.validator,
        }

    @classmethod
    def from_map(cls, doc: Any) -> Vote:
        _require_fields(doc, {"block_hash", "height", "round", "signature", "step", "validator"})
        if doc["step"] not in VOTE_STEPS:
            raise MessageError(f"unknown vote step {doc['step']!r}")
        block_hash = _bytes(doc["block_hash"], (0, HASH_BYTES), "block_hash")
        return cls(
            step=doc["step"],
            height=_int(doc["height"], "height"),
            round=_int(doc["round"], "round"),
            block_hash=block_hash or None,
            validator=_bytes(doc["validator"], (PUBLIC_KEY_BYTES,), "validator"),
            signature=_bytes(doc["signature"], (SIGNATURE_BYTES,), "signature"),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposer's signed proposal of a block for (height, round). `valid_round` is -1 or the round in
    which the proposer saw a quorum of prevotes for this block (Tendermint's validRound)."""

    height: int
    round: int
    block_hash: bytes
    valid_round: int
    proposer: bytes
    signature: bytes

    def signing_bytes(self, chain_id: str) -> bytes:
        return proposal_signing_bytes(chain_id, self.height, self.round, self.block_hash, self.valid_round)

    def to_map(self) -> dict[str, Any]:
        return {
            "block_hash": self.block_hash,
            "height": self.height,
            "proposer": self.proposer,
            "round": self.round,
            "signature": self.signature,
            "valid_round": self.valid_round,
        }

    @classmethod
    def from_map(cls, doc: Any) -> Proposal:
        _require_fields(doc, {"block_hash", "height", "proposer", "round", "signature", "valid_round"})
        valid_round = doc["valid_round"]
        if type(valid_round) is not int or not -1 <= valid_round < ROUND_MAX:
            raise MessageError("valid_round must be -1 or a round number")
        return cls(
            height=_int(doc["height"], "height"),
            round=_int(doc["round"], "round"),
            block_hash=_bytes(doc["block_hash"], (HASH_BYTES,), "block_hash"),
            valid_round=valid_round,
            proposer=_bytes(doc["proposer"], (PUBLIC_KEY_BYTES,), "proposer"),
            signature=_bytes(doc["signature"], (SIGNATURE_BYTES,), "signature"),
        )


def proposal_signing_bytes(chain_id: str, height: int, round_number: int, block_hash: bytes, valid_round: int) -> bytes:
    return codec.encode([PROPOSAL_DOMAIN, chain_id, height, round_number, block_hash, valid_round])


def _require_fields(doc: Any, fields: set[str]) -> None:
    if type(doc) is not dict or set(doc) != fields:
        raise MessageError(f"expected exactly the fields {sorted(fields)}")


def _int(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value < 2**63:
        raise MessageError(f"{name} must be a non-negative integer")
    if name == "round" and value >= ROUND_MAX:
        raise MessageError("round is out of range")
    return value


def _bytes(value: Any, lengths: tuple[int, ...], name: str) -> bytes:
    if type(value) is not bytes or len(value) not in lengths:
        raise MessageError(f"{name} must be bytes of length {' or '.join(map(str, lengths))}")
    return value
