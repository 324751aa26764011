"""The safety guard: a validator never signs two conflicting messages, not even across a crash.

Every proposal and vote this validator signs passes through `SafetyGuard`, which keeps the last signed
(height, round, step) with its block hash and signature, persisted *before* the signature is returned
(like the safety rules of DiemBFT/Aptos). A request for the same (height, round, step) and the same block
gets the same signature back; a different block there, or anything older, is refused.

The guard also persists the Tendermint lock: the last block this validator precommitted. A validator that
forgot its lock in a crash could help a conflicting block to a quorum. And it keeps every message signed at
its last height (of the last 16 rounds): after a restart the core resumes in the last round it signed in,
past its last signature, and the node sends those messages again, because the others may be waiting for
exactly them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from corridor import codec
from corridor.consensus.core import Resume, Step

STEP_ORDER = {"proposal": 0, "prevote": 1, "precommit": 2}
RESEND_ROUNDS_MAX = 16  # rounds of one height whose signed messages are kept for resending
SAFETY_STATE_BYTES_MAX = 64 * 1024


class DoubleSignRefused(Exception):
    """Signing this would conflict with what this validator already signed."""


@dataclass(frozen=True, slots=True)
class SignedRecord:
    height: int
    round: int
    step: str
    block_hash: bytes
    signature: bytes

    @property
    def position(self) -> tuple[int, int, int]:
        return (self.height, self.round, STEP_ORDER[self.step])

    def to_bytes(self) -> bytes:
        return codec.encode([self.height, self.round, self.step, self.block_hash, self.signature])

    @classmethod
    def from_bytes(cls, raw: bytes) -> SignedRecord:
        height, round_number, step, block_hash, signature = codec.decode(raw, 1024)
        return cls(height, round_number, step, block_hash, signature)


@dataclass(frozen=True, slots=True)
class SafetyState:
    """What is persisted: every message signed at the last height signed at (of its last RESEND_ROUNDS_MAX
    rounds), in order, and the lock (the last non-nil precommit). The messages of earlier rounds matter
    too: the others may still be waiting in an earlier round for a vote of ours that was lost."""

    height_records: tuple[SignedRecord, ...]
    lock: SignedRecord | None

    @property
    def last(self) -> SignedRecord | None:
        return self.height_records[-1] if self.height_records else None

    def to_bytes(self) -> bytes:
        return codec.encode([[r.to_bytes() for r in self.height_records], None if self.lock is None else self.lock.to_bytes()])

    @classmethod
    def from_bytes(cls, raw: bytes) -> SafetyState:
        records, lock = codec.decode(raw, SAFETY_STATE_BYTES_MAX)
        return cls(tuple(SignedRecord.from_bytes(r) for r in records), None if lock is None else SignedRecord.from_bytes(lock))

    def resume_point(self, height: int) -> tuple[Resume | None, tuple[SignedRecord, ...]]:
        """Where a core restarting at `height` resumes (the last round it signed in, past its last
        signature there), and every message it signed at this height (to be fed back to it and sent
        again), or (None, ()) when it signed nothing at this height."""
        last = self.last
        if last is None or last.height != height:
            return None, ()
        steps = {record.step for record in self.height_records if record.round == last.round}
        step = Step.PRECOMMIT if "precommit" in steps else Step.PREVOTE if "prevote" in steps else Step.PROPOSE
        lock = None
        if self.lock is not None and self.lock.height == height:
            lock = (self.lock.round, self.lock.block_hash)
        return Resume(height, last.round, step, lock), self.height_records


EMPTY_SAFETY_STATE = SafetyState((), None)


class SafetyStore(Protocol):
    """Where the safety state lives. `save` must be durable (fsynced) before it returns."""

    def load(self) -> SafetyState: ...

    def save(self, state: SafetyState) -> None: ...


class MemorySafetyStore:
    """A store that lives as long as its object: for the simulator, which models a crash by keeping it."""

    def __init__(self) -> None:
        self.state = EMPTY_SAFETY_STATE

    def load(self) -> SafetyState:
        return self.state

    def save(self, state: SafetyState) -> None:
        self.state = state


class SafetyGuard:
    """Signs proposals and votes only when they cannot conflict with anything signed before."""

    def __init__(self, store: SafetyStore, sign: Callable[[bytes], bytes]) -> None:
        self._store = store
        self._sign = sign
        self.state = store.load()

    def sign(self, height: int, round_number: int, step: str, block_hash: bytes, message: bytes) -> bytes:
        """The signature of `message`, which is the signing bytes of (height, round, step, block_hash)."""
        record_position = (height, round_number, STEP_ORDER[step])
        last = self.state.last
        if last is not None and record_position == last.position:
            if block_hash != last.block_hash:
                raise DoubleSignRefused(
                    f"already signed {step} at height {height} round {round_number} for another block"
                )
            return last.signature  # the same request again: the same answer
        if last is not None and record_position < last.position:
            raise DoubleSignRefused(f"{step} at {height}/{round_number} is older than the last signed {last.position}")
        signature = self._sign(message)
        record = SignedRecord(height, round_number, step, block_hash, signature)
        lock = record if step == "precommit" and block_hash else self.state.lock
        kept = tuple(r for r in self.state.height_records if r.height == height and r.round > round_number - RESEND_ROUNDS_MAX)
        state = SafetyState((*kept, record), lock)
        self._store.save(state)
        self.state = state
        return signature
