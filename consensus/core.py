"""The BFT consensus core: Tendermint's Algorithm 1 ("The latest gossip on BFT consensus", Buchman, Kwon,
Milosevic, arXiv 1807.04938) as a sans-IO state machine.

`Core.step(event)` takes what happened (a verified proposal or vote, a timeout, transactions waiting) and
returns what to do (propose, cast a vote, schedule a timeout, decide, record evidence). It has no sockets,
clocks or disk: time arrives as timeout events, signatures are checked by the host before a message comes
in, and signing (through the persisted safety guard) is the host's job when it performs an action. Comments
`L22` etc. cite the line numbers of Algorithm 1 in the paper.

A height starts its round 0 only when there is something to decide: transactions waiting in the host's
mempool, or any message for this height from another validator. An idle chain makes no empty blocks.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Union

from corridor.consensus.certificate import PRECOMMIT
from corridor.consensus.messages import PREVOTE, Proposal, Vote
from corridor.consensus.validators import ValidatorSet

ROUNDS_AHEAD_MAX = 64
VALUES_PER_VALIDATOR_MAX = 2
BUFFERED_NEXT_HEIGHT_MESSAGES_MAX = 10_000


class Step(enum.IntEnum):
    WAITING = 0  # height not started: nothing to decide yet
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    DECIDED = 4


class CoreMisuse(Exception):
    """The host fed the core something impossible (a bug in the host, never a peer's fault)."""


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Round timeouts: base + delta * round, so that rounds grow until messages arrive in time."""

    propose_ms: int = 600
    propose_delta_ms: int = 300
    prevote_ms: int = 300
    prevote_delta_ms: int = 150
    precommit_ms: int = 300
    precommit_delta_ms: int = 150

    def for_step(self, step: Step, round_number: int) -> int:
        if step is Step.PROPOSE:
            return self.propose_ms + self.propose_delta_ms * round_number
        if step is Step.PREVOTE:
            return self.prevote_ms + self.prevote_delta_ms * round_number
        return self.precommit_ms + self.precommit_delta_ms * round_number


# Events -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TxsAvailable:
    """The host's mempool holds transactions for the next block."""


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    """A proposal whose signature the host verified; `valid` says whether its block passed validation."""

    proposal: Proposal
    valid: bool


@dataclass(frozen=True, slots=True)
class VoteReceived:
    """A vote whose signature the host verified (our own votes come back this way too)."""

    vote: Vote


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    height: int
    round: int
    step: Step


Event = Union[TxsAvailable, ProposalReceived, VoteReceived, TimeoutFired]


# Actions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Propose:
    """Sign and broadcast a proposal: of `block_hash` (a block already seen) or, when None, of a new block."""

    height: int
    round: int
    valid_round: int
    block_hash: bytes | None


@dataclass(frozen=True, slots=True)
class CastVote:
    """Sign (through the safety guard) and broadcast a vote; `block_hash` None is a nil vote."""

    step: str
    height: int
    round: int
    block_hash: bytes | None


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    height: int
    round: int
    step: Step
    delay_ms: int


@dataclass(frozen=True, slots=True)
class Decide:
    """Commit `block_hash` at `height`; `precommits` (more than 2/3 of the power) are its certificate."""

    height: int
    round: int
    block_hash: bytes
    precommits: tuple[Vote, ...]


@dataclass(frozen=True, slots=True)
class RecordEvidence:
    """Two conflicting votes signed by one validator for the same height, round and step."""

    first: Vote
    second: Vote


Action = Union[Propose, CastVote, ScheduleTimeout, Decide, RecordEvidence]


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a restarted validator's core picks up (from the persisted safety state)."""

    height: int
    round: int
    step: Step  # the step after its last signature in that round: PROPOSE if none, PREVOTE, or PRECOMMIT
    lock: tuple[int, bytes] | None


# Vote bookkeeping ---------------------------------------------------------------------------------------------


@dataclass
class RoundVotes:
    """The votes of one (round, step). Each validator counts once in `power_total`, and once for each value
    it voted for in `power_for`: Algorithm 1 counts votes per value, so a double voter's second vote still
    counts for its own block (else it could show honest validators different quorums and hide one forever).
    A validator counts for at most VALUES_PER_VALIDATOR_MAX values, which bounds what a liar can make us keep."""

    by_validator: dict[bytes, Vote] = field(default_factory=dict)
    for_value: dict[bytes | None, dict[bytes, Vote]] = field(default_factory=dict)
    power_for: Counter[bytes | None] = field(default_factory=Counter)
    power_total: int = 0


# The core -----------------------------------------------------------------------------------------------------


class Core:
    """One validator's (or observer's, with `me` None) consensus state for the current height."""

    def __init__(
        self,
        validators: ValidatorSet,
        me: bytes | None,
        height: int,
        timeouts: TimeoutConfig = TimeoutConfig(),
        resume: Resume | None = None,
    ) -> None:
        """A core at `height`. After a restart, `resume` comes from the safety state
        (SafetyState.resume_point): the core resumes in the last round it signed in, at the step after its
        last signature there, with its lock (which is also its valid value: validRound >= lockedRound). The
        host then feeds the votes it signed in that round back in, and sends them again."""
        if me is not None and validators.get(me) is None:
            raise CoreMisuse("`me` is not in the validator set")
        self.me = me
        self.timeouts = timeouts
        self._next_height_events: list[Event] = []
        self._begin(validators, height)
        if resume is not None and resume.height == height:
            self._resume = resume
            self._first_round = resume.round
            if resume.lock is not None:
                self.locked_round, self.locked_value = resume.lock
                self.valid_round, self.valid_value = resume.lock

    def _begin(self, validators: ValidatorSet, height: int) -> None:
        self.validators = validators
        self.height = height
        self.round = 0
        self.step_ = Step.WAITING
        self.locked_value: bytes | None = None
        self.locked_round = -1
        self.valid_value: bytes | None = None
        self.valid_round = -1
        self._proposals: dict[int, tuple[Proposal, bool]] = {}
        self._valid_blocks: set[bytes] = set()
        self._votes: dict[tuple[int, str], RoundVotes] = {}
        self._senders: dict[int, set[bytes]] = {}
        self._prevote_timeout_scheduled: set[int] = set()
        self._precommit_timeout_scheduled: set[int] = set()
        self._locked_or_updated_valid: set[int] = set()
        self._first_round = 0
        self._resume: Resume | None = None

    # Public interface

    def step(self, event: Event) -> list[Action]:
        """Feed one event; return the actions to perform, in order."""
        actions: list[Action] = []
        if isinstance(event, TxsAvailable):
            if self.step_ is Step.WAITING:
                self._start_round(self._first_round, actions)
        elif isinstance(event, ProposalReceived):
            self._on_proposal(event, actions)
        elif isinstance(event, VoteReceived):
            self._on_vote(event, actions)
        elif isinstance(event, TimeoutFired):
            self._on_timeout(event, actions)
        else:
            raise CoreMisuse(f"unknown event {event!r}")
        self._apply_rules(actions)
        return actions

    def begin_height(self, height: int, validators: ValidatorSet) -> list[Action]:
        """Move to `height` after the host committed the previous one; replays messages that came early."""
        if height != self.height + 1:
            raise CoreMisuse(f"begin_height({height}) after height {self.height}")
        self._begin(validators, height)
        buffered, self._next_height_events = self._next_height_events, []
        actions: list[Action] = []
        for event in buffered:
            actions.extend(self.step(event))
        return actions

    def has_proposal(self, round_number: int) -> bool:
        """Whether a proposal of this round at the current height was already taken."""
        return round_number in self._proposals

    def votes_for(self, round_number: int, step: str) -> dict[bytes, Vote]:
        """The first vote of each validator seen for (round, step) at the current height."""
        votes = self._votes.get((round_number, step))
        return dict(votes.by_validator) if votes else {}

    # Event handlers

    def _buffer_if_next_height(self, height: int, event: Event) -> bool:
        if height == self.height + 1 and len(self._next_height_events) < BUFFERED_NEXT_HEIGHT_MESSAGES_MAX:
            self._next_height_events.append(event)
        return height != self.height

    def _on_proposal(self, event: ProposalReceived, actions: list[Action]) -> None:
        proposal = event.proposal
        if self._buffer_if_next_height(proposal.height, event):
            return
        if proposal.round > self.round + ROUNDS_AHEAD_MAX:
            return
        if proposal.proposer != self.validators.proposer(proposal.height, proposal.round).public_key:
            return  # not this round's proposer: dropped (the host may score the peer)
        if proposal.round in self._proposals:
            return  # the first proposal of a round counts; a second one is ignored
        self._proposals[proposal.round] = (proposal, event.valid)
        if event.valid:
            self._valid_blocks.add(proposal.block_hash)
        self._senders.setdefault(proposal.round, set()).add(proposal.proposer)
        if self.step_ is Step.WAITING:
            self._start_round(self._first_round, actions)

    def _on_vote(self, event: VoteReceived, actions: list[Action]) -> None:
        vote = event.vote
        if self._buffer_if_next_height(vote.height, event):
            return
        validator = self.validators.get(vote.validator)
        if validator is None or vote.round > self.round + ROUNDS_AHEAD_MAX:
            return
        votes = self._votes.setdefault((vote.round, vote.step), RoundVotes())
        voters = votes.for_value.setdefault(vote.block_hash, {})
        if vote.validator in voters:
            return  # a duplicate
        earlier = votes.by_validator.get(vote.validator)
        if earlier is not None:
            actions.append(RecordEvidence(earlier, vote))
            if sum(vote.validator in counted for counted in votes.for_value.values()) >= VALUES_PER_VALIDATOR_MAX:
                return
        else:
            votes.by_validator[vote.validator] = vote
            votes.power_total += validator.power
        voters[vote.validator] = vote
        votes.power_for[vote.block_hash] += validator.power
        self._senders.setdefault(vote.round, set()).add(vote.validator)
        if self.step_ is Step.WAITING:
            self._start_round(self._first_round, actions)

    def _on_timeout(self, event: TimeoutFired, actions: list[Action]) -> None:
        if event.height != self.height or event.round != self.round:
            return
        if event.step is Step.PROPOSE and self.step_ is Step.PROPOSE:  # L57
            self._cast(PREVOTE, None, actions)
            self.step_ = Step.PREVOTE
        elif event.step is Step.PREVOTE and self.step_ is Step.PREVOTE:  # L61
            self._cast(PRECOMMIT, None, actions)
            self.step_ = Step.PRECOMMIT
        elif event.step is Step.PRECOMMIT and self.step_ is not Step.DECIDED:  # L65
            self._start_round(self.round + 1, actions)

    # The algorithm

    def _start_round(self, round_number: int, actions: list[Action]) -> None:  # L11
        self.round = round_number
        self.step_ = Step.PROPOSE
        resume, self._resume = self._resume, None
        if resume is not None and resume.round == round_number and resume.step > Step.PROPOSE:
            self.step_ = resume.step  # it already voted in this round before the crash: no second vote
            actions.append(ScheduleTimeout(self.height, round_number, Step.PROPOSE, self.timeouts.for_step(Step.PROPOSE, round_number)))
            return
        if self.me is not None and self.validators.proposer(self.height, round_number).public_key == self.me:
            if self.valid_value is not None:
                actions.append(Propose(self.height, round_number, self.valid_round, self.valid_value))
            else:
                actions.append(Propose(self.height, round_number, -1, None))
        actions.append(ScheduleTimeout(self.height, round_number, Step.PROPOSE, self.timeouts.for_step(Step.PROPOSE, round_number)))

    def _cast(self, step: str, block_hash: bytes | None, actions: list[Action]) -> None:
        if self.me is not None:
            actions.append(CastVote(step, self.height, self.round, block_hash))

    def _power(self, round_number: int, step: str, block_hash: bytes | None) -> int:
        votes = self._votes.get((round_number, step))
        return votes.power_for[block_hash] if votes else 0

    def _total(self, round_number: int, step: str) -> int:
        votes = self._votes.get((round_number, step))
        return votes.power_total if votes else 0

    def _apply_rules(self, actions: list[Action]) -> None:
        """Fire every rule whose condition holds, until none does."""
        while self.step_ is not Step.DECIDED and self.step_ is not Step.WAITING and self._fire_one_rule(actions):
            pass

    def _fire_one_rule(self, actions: list[Action]) -> bool:
        validators = self.validators
        current = self.round
        proposal_entry = self._proposals.get(current)
        if self.step_ is Step.PROPOSE and proposal_entry is not None:
            proposal, valid = proposal_entry
            if proposal.valid_round == -1:  # L22
                acceptable = valid and (self.locked_round == -1 or self.locked_value == proposal.block_hash)
                self._cast(PREVOTE, proposal.block_hash if acceptable else None, actions)
                self.step_ = Step.PREVOTE
                return True
            if proposal.valid_round < current and validators.has_quorum(
                self._power(proposal.valid_round, PREVOTE, proposal.block_hash)
            ):  # L28
                acceptable = valid and (
                    self.locked_round <= proposal.valid_round or self.locked_value == proposal.block_hash
                )
                self._cast(PREVOTE, proposal.block_hash if acceptable else None, actions)
                self.step_ = Step.PREVOTE
                return True
        if (
            self.step_ is Step.PREVOTE
            and current not in self._prevote_timeout_scheduled
            and validators.has_quorum(self._total(current, PREVOTE))
        ):  # L34
            self._prevote_timeout_scheduled.add(current)
            actions.append(ScheduleTimeout(self.height, current, Step.PREVOTE, self.timeouts.for_step(Step.PREVOTE, current)))
            return True
        if (
            self.step_ >= Step.PREVOTE
            and proposal_entry is not None
            and proposal_entry[1]
            and current not in self._locked_or_updated_valid
            and validators.has_quorum(self._power(current, PREVOTE, proposal_entry[0].block_hash))
        ):  # L36
            block_hash = proposal_entry[0].block_hash
            self._locked_or_updated_valid.add(current)
            if self.step_ is Step.PREVOTE:
                self.locked_value, self.locked_round = block_hash, current
                self._cast(PRECOMMIT, block_hash, actions)
                self.step_ = Step.PRECOMMIT
            self.valid_value, self.valid_round = block_hash, current
            return True
        if self.step_ is Step.PREVOTE and validators.has_quorum(self._power(current, PREVOTE, None)):  # L44
            self._cast(PRECOMMIT, None, actions)
            self.step_ = Step.PRECOMMIT
            return True
        if current not in self._precommit_timeout_scheduled and validators.has_quorum(self._total(current, PRECOMMIT)):  # L47
            self._precommit_timeout_scheduled.add(current)
            actions.append(ScheduleTimeout(self.height, current, Step.PRECOMMIT, self.timeouts.for_step(Step.PRECOMMIT, current)))
            return True
        if self._try_decide(actions):  # L49
            return True
        for round_number, senders in self._senders.items():  # L55
            if round_number > current and validators.has_one_honest(sum(validators.get(s).power for s in senders)):
                self._start_round(round_number, actions)
                return True
        return False

    def _try_decide(self, actions: list[Action]) -> bool:
        for (round_number, step), votes in self._votes.items():
            if step != PRECOMMIT:
                continue
            for block_hash, power in votes.power_for.items():
                if block_hash is not None and block_hash in self._valid_blocks and self.validators.has_quorum(power):
                    precommits = tuple(votes.for_value[block_hash].values())
                    actions.append(Decide(self.height, round_number, block_hash, precommits))
                    self.step_ = Step.DECIDED
                    return True
        return False
