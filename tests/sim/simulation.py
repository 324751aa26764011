"""The deterministic consensus simulator: real `Core`s, real `SafetyGuard`s and real Ed25519 keys on a
simulated network, driven by one seeded random number generator (TigerBeetle's VOPR is the model).

Everything that is not deterministic in a real node is replaced here:
- time is a virtual clock in milliseconds; events wait in one priority queue of (time_ms, seq, ...), where
  `seq` breaks ties in the order the events were scheduled;
- the network delivers, delays (and so reorders), duplicates and drops messages, and cuts partitions, all
  decided by `Simulation.rng`, the one `random.Random(seed)` of the run;
- a crash throws away a node's core, guard cache, timers, gossip pool and block cache, and keeps what a real
  node keeps on disk: its `MemorySafetyStore` and its committed chain (plus the bytes of each block it
  precommitted, so that a core which re-proposes its locked block after a restart can be served). A
  restarted core resumes in the last round its node signed in (`SafetyState.resume_point`), and the node
  feeds the votes it signed there back to it and sends them again, as node/runner.py does.
Nothing iterates a set or reads a clock, so a seed replays the same run in any process, whatever its
PYTHONHASHSEED.

A node here is the host that `consensus/core.py` expects: it verifies every signature (with the chain id)
before a message reaches its core, signs through the safety guard, feeds its own proposals and votes back
into its core, gossips the messages it holds for its current height (Tendermint's gossip: a message one
honest node holds eventually reaches all of them; Algorithm 1's liveness needs it, since its timeouts only
start after 2f+1 votes of a round), and catches up from a peer's commit certificates when it sees a message
for a height above its own (a stand-in for block sync).

The properties are checked as the run goes, not only at the end:
- SAFETY: no two honest nodes commit different blocks at one height; every commit's certificate verifies;
  no honest validator signs two different messages for one (height, round, step); every piece of evidence
  an honest node records verifies and names a Byzantine validator.
- LIVENESS (checked by the tests): once the faults stop, every honest node gets three heights further.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Union

from corridor import codec
from corridor.consensus.certificate import PRECOMMIT, CertificateError, CommitCertificate, verify_certificate
from corridor.consensus.core import (
    Action,
    CastVote,
    Core,
    Decide,
    Event,
    Propose,
    ProposalReceived,
    RecordEvidence,
    Resume,
    ScheduleTimeout,
    TimeoutConfig,
    TimeoutFired,
    TxsAvailable,
    VoteReceived,
)
from corridor.consensus.evidence import Equivocation, EvidenceError
from corridor.consensus.messages import PREVOTE, Proposal, Vote
from corridor.consensus.safety import DoubleSignRefused, MemorySafetyStore, SafetyGuard
from corridor.consensus.validators import Validator, ValidatorSet
from corridor.hashing import sha256
from corridor.keys import KeyPair, verify_signature

CHAIN_ID = "corridor-sim"
FOREIGN_CHAIN_ID = "corridor-sim-foreign"  # another chain run by the same validator keys (replay attacks)

GOSSIP_INTERVAL_MS = 300  # each node re-sends the messages of its current height this often ...
GOSSIP_FANOUT = 2  # ... to this many random peers
SYNC_GRACE_MS = 400  # a node one height behind waits this long for its own decision before it asks a peer
SYNC_RETRY_MS = 600  # an unanswered sync request (a silent or partitioned peer) is retried after this
SYNC_BLOCKS_MAX = 32  # committed blocks in one sync response
SLOW_DELAY_MS_MAX = 1_500  # the tail of the delay distribution during the fault phase
HEALED_DELAY_MS_MAX = 100  # message delays are bounded by this once the network heals
LIVENESS_HEIGHTS = 3  # after the heal, every honest node must commit this many heights past the best one
LIVENESS_MS_MAX = 60_000  # ... within this much virtual time
EVENTS_MAX = 3_000_000  # a run that needs more events than this is stuck in a loop: a bug in the harness
TRACE_LINES_MAX = 40  # the last lines of the trace are printed with every failed property
assert GOSSIP_INTERVAL_MS < SYNC_RETRY_MS < LIVENESS_MS_MAX
assert HEALED_DELAY_MS_MAX < TimeoutConfig().prevote_ms  # after the heal a round can always complete in time

DROP = "drop"  # what a scenario's message rule returns to drop a message
FORK = "conflicting commits"  # how the worst safety violation starts


# Messages on the simulated wire ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalMessage:
    """A signed proposal with its block's bytes (block_hash = sha256(payload))."""

    proposal: Proposal
    payload: bytes

    @property
    def height(self) -> int:
        return self.proposal.height


@dataclass(frozen=True, slots=True)
class VoteMessage:
    vote: Vote

    @property
    def height(self) -> int:
        return self.vote.height


ConsensusMessage = Union[ProposalMessage, VoteMessage]


@dataclass(frozen=True, slots=True)
class GossipBatch:
    """The messages a node holds for its current height, re-sent to a peer in one packet."""

    messages: tuple[ConsensusMessage, ...]


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    height: int
    block_hash: bytes
    payload: bytes
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Send me your committed blocks from `from_height` on."""

    from_height: int


@dataclass(frozen=True, slots=True)
class SyncResponse:
    blocks: tuple[CommittedBlock, ...]


WireMessage = Union[ProposalMessage, VoteMessage, GossipBatch, SyncRequest, SyncResponse]


# Faults -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkFaults:
    delay_ms_min: int = 1
    delay_ms_max: int = 50
    drop_probability: float = 0.0
    duplicate_probability: float = 0.0
    slow_probability: float = 0.0  # a message takes up to SLOW_DELAY_MS_MAX instead (reorders across rounds)

    def __post_init__(self) -> None:
        assert 0 <= self.delay_ms_min <= self.delay_ms_max
        assert 0 <= self.drop_probability < 1 and 0 <= self.duplicate_probability < 1
        assert 0 <= self.slow_probability < 1


HEALED_NETWORK = NetworkFaults(delay_ms_min=1, delay_ms_max=HEALED_DELAY_MS_MAX)


@dataclass(frozen=True, slots=True)
class PartitionWindow:
    start_ms: int
    end_ms: int
    groups: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class CrashWindow:
    node: int
    crash_ms: int
    restart_ms: int


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Everything the fault phase does, drawn from the seed (see test_random_schedules.draw_fault_plan)."""

    faults_ms: int
    network: NetworkFaults
    partitions: tuple[PartitionWindow, ...] = ()
    crashes: tuple[CrashWindow, ...] = ()

    def describe(self) -> str:
        parts = [
            f"faults_ms={self.faults_ms}",
            f"delay={self.network.delay_ms_min}..{self.network.delay_ms_max}ms",
            f"drop={self.network.drop_probability}",
            f"dup={self.network.duplicate_probability}",
            f"slow={self.network.slow_probability}",
        ]
        parts += [f"partition {w.groups} at {w.start_ms}..{w.end_ms}ms" for w in self.partitions]
        parts += [f"crash v{w.node} at {w.crash_ms}..{w.restart_ms}ms" for w in self.crashes]
        return ", ".join(parts)


# Validators ---------------------------------------------------------------------------------------------------


def validator_key(index: int) -> KeyPair:
    """Validator keys depend on the index only, so that two chains (two simulations) share them."""
    return KeyPair.from_seed(sha256(b"corridor-sim/validator/%d" % index))


def make_validators(count: int) -> tuple[ValidatorSet, tuple[KeyPair, ...]]:
    keys = tuple(validator_key(index) for index in range(count))
    validators = ValidatorSet([Validator(f"v{index}", key.public_key, 1) for index, key in enumerate(keys)])
    return validators, keys


def fault_tolerance(count: int) -> int:
    """f: the most Byzantine validators n = 3f + 1 (or more) equal-power validators tolerate."""
    return (count - 1) // 3


# Nodes --------------------------------------------------------------------------------------------------------


class HonestNode:
    """A validator's host around a real `Core`: verify, sign through the guard, gossip, sync, commit."""

    byzantine = False
    kind = "honest"

    def __init__(self, sim: Simulation, index: int, key: KeyPair) -> None:
        self.sim = sim
        self.index = index
        self.name = f"v{index}"
        self.key = key
        self.public_key = key.public_key
        # What survives a crash: the safety store and the committed chain (a real node's disk).
        self.store = MemorySafetyStore()
        self.chain: dict[int, CommittedBlock] = {}
        self.precommitted_payloads: dict[bytes, bytes] = {}  # the block of every non-nil precommit (a lock)
        # What a crash loses.
        self.up = False
        self.incarnation = 0
        self.core: Core | None = None
        self.guard: SafetyGuard | None = None
        self.blocks: dict[bytes, bytes] = {}  # block hash -> payload, of every proposal seen
        self.blocks_by_height: dict[int, list[bytes]] = {}
        self.held: dict[int, dict[ConsensusMessage, None]] = {}  # height -> verified messages (ordered set)
        self.height_since_ms = 0
        self.sync_pending_until_ms = 0
        self.blocks_proposed = 0
        # Counters kept for the tests (they survive crashes: they describe the run, not the node).
        self.evidence: dict[tuple[bytes, int, int, str], Equivocation] = {}
        self.double_sign_refusals: list[str] = []
        self.bad_signatures = 0
        self.bad_sync_responses = 0
        self.commit_rounds: dict[int, int] = {}
        self.resumes: dict[int, Resume] = {}  # height -> where the last restart at that height resumed

    # Lifecycle

    @property
    def committed_height(self) -> int:
        return len(self.chain)

    @property
    def height(self) -> int:
        return self.committed_height + 1

    def start(self) -> None:
        assert not self.up
        self.up = True
        self.incarnation += 1
        self.guard = SafetyGuard(self.store, self.key.sign)
        self.sim.schedule(self.sim.rng.randint(0, GOSSIP_INTERVAL_MS), self._on_gossip_tick, self.incarnation)
        self._start_core(self.height)

    def crash(self) -> None:
        """Lose everything in memory; keep the safety store and the committed chain."""
        if not self.up:
            return
        self.sim.log(f"{self.name} crashes at height {self.height}")
        self.up = False
        self.incarnation += 1  # the timers of the old incarnation fire into nothing
        self.core = None
        self.guard = None
        self.blocks = {}
        self.blocks_by_height = {}
        self.held = {}
        self.sync_pending_until_ms = 0

    def restart(self) -> None:
        if self.up:
            return
        resume, records = self.store.load().resume_point(self.height)
        if resume is None:
            self.sim.log(f"{self.name} restarts at height {self.height} with nothing signed there")
        else:
            self.resumes[self.height] = resume
            self.sim.log(
                f"{self.name} restarts at height {self.height} in round {resume.round} at {resume.step.name} "
                f"lock {_short_lock(resume.lock)}, {len(records)} messages signed there"
            )
        self.start()

    def _start_core(self, height: int) -> None:
        """A fresh core at `height` (start, restart, or after sync), resuming where the safety state says:
        in the last round it signed in, past its last signature there, with its lock. As a real node does
        (node/runner.py `_resume_signed_round`), the votes it signed in that round are fed back to the core
        and sent again, since the others may be waiting for exactly them."""
        assert height == self.committed_height + 1
        resume, records = self.store.load().resume_point(height)
        self.core = Core(self.sim.validators, self.public_key, height, self.sim.timeouts, resume=resume)
        self._enter_height(height)
        for record in records:
            if record.step == "proposal":
                continue  # its block is gone with the crash (unless locked, and then the core re-proposes it)
            block_hash = record.block_hash or None  # a nil vote is recorded with b""
            vote = Vote(record.step, record.height, record.round, block_hash, self.public_key, record.signature)
            assert self.sim.signature_verifies(VoteMessage(vote)), f"{self.name} kept a record that does not verify"
            self._publish(VoteMessage(vote))
            self._feed(VoteReceived(vote))
            if not self.up or self.core.height != height:
                return
        for message in list(self.held.get(height, ())):
            self._feed(self._event_of(message))  # what arrived early for this height
            if not self.up or self.core.height != height:
                return
        self._feed(TxsAvailable())

    def _enter_height(self, height: int) -> None:
        self.height_since_ms = self.sim.now_ms
        for old in [h for h in self.held if h < height]:
            del self.held[old]
        for old in [h for h in self.blocks_by_height if h < height - 1]:
            for block_hash in self.blocks_by_height.pop(old):
                self.blocks.pop(block_hash, None)

    def status(self) -> str:
        if self.kind == "silent":
            return f"{self.name}[silent]"
        if not self.up or self.core is None:
            return f"{self.name}[{self.kind}] committed={self.committed_height} DOWN"
        core = self.core
        return (
            f"{self.name}[{self.kind}] committed={self.committed_height} round={core.round} "
            f"step={core.step_.name} locked_round={core.locked_round} valid_round={core.valid_round}"
        )

    # Receiving

    def receive(self, src: int, message: WireMessage) -> None:
        if not self.up:
            return
        if isinstance(message, (ProposalMessage, VoteMessage)):
            self._receive_consensus(src, message)
        elif isinstance(message, GossipBatch):
            for item in message.messages:
                self._receive_consensus(src, item)
                if not self.up:
                    return
        elif isinstance(message, SyncRequest):
            self._serve_sync(src, message)
        elif isinstance(message, SyncResponse):
            self._apply_sync(message)
        else:
            raise AssertionError(f"unknown wire message {message!r}")

    def _receive_consensus(self, src: int, message: ConsensusMessage) -> None:
        assert self.core is not None
        height = message.height
        current = self.core.height
        if height < current:
            return  # old news: the sender will catch up from our own messages
        if height > current:
            self._maybe_request_sync(src, height)
            if height > current + 1:
                return  # the core would drop it; it comes back in gossip once we are there
        held = self.held.setdefault(height, {})
        if message in held:
            return  # a duplicate or a gossip repeat: already verified and fed
        if not self.sim.signature_verifies(message):
            self.bad_signatures += 1
            return
        if isinstance(message, ProposalMessage) and sha256(message.payload) != message.proposal.block_hash:
            self.bad_signatures += 1
            return
        held[message] = None
        self._feed(self._event_of(message))

    def _event_of(self, message: ConsensusMessage) -> Event:
        if isinstance(message, VoteMessage):
            return VoteReceived(message.vote)
        proposal = message.proposal
        if not self.byzantine:
            self.sim.proposals_seen.setdefault((proposal.height, proposal.round), {})[proposal.block_hash] = None
        if proposal.block_hash not in self.blocks:
            self.blocks[proposal.block_hash] = message.payload
            self.blocks_by_height.setdefault(proposal.height, []).append(proposal.block_hash)
        return ProposalReceived(proposal, valid=self.sim.block_is_valid(message.payload))

    # Driving the core

    def _feed(self, event: Event) -> None:
        """Step the core with `event` and perform its actions; our own messages come back as events."""
        pending: deque[Event] = deque([event])
        while pending:
            if not self.up:
                return
            assert self.core is not None
            for action in self.core.step(pending.popleft()):
                self._perform(action, pending)
                if not self.up:
                    return

    def _perform(self, action: Action, pending: deque[Event]) -> None:
        if isinstance(action, CastVote):
            self._cast_vote(action, pending)
        elif isinstance(action, ScheduleTimeout):
            timeout = TimeoutFired(action.height, action.round, action.step)
            self.sim.schedule(action.delay_ms, self._on_timeout, self.incarnation, timeout)
        elif isinstance(action, Propose):
            self._propose(action, pending)
        elif isinstance(action, Decide):
            self._decide(action, pending)
        elif isinstance(action, RecordEvidence):
            self._record_evidence(action)
        else:
            raise AssertionError(f"unknown action {action!r}")

    def _on_timeout(self, incarnation: int, timeout: TimeoutFired) -> None:
        if self.up and incarnation == self.incarnation:
            self._feed(timeout)

    def _guarded_sign(
        self, height: int, round_number: int, step: str, block_hash: bytes | None, message: bytes
    ) -> bytes | None:
        assert self.guard is not None
        try:
            signature = self.guard.sign(height, round_number, step, block_hash or b"", message)
        except DoubleSignRefused as refusal:
            self.double_sign_refusals.append(f"{self.name} at {height}/{round_number}/{step}: {refusal}")
            self.sim.log(f"{self.name} guard refused {step} at {height}/{round_number}: {refusal}")
            return None
        self.sim.record_signed(self, height, round_number, step, block_hash)
        return signature

    def _cast_vote(self, action: CastVote, pending: deque[Event]) -> None:
        unsigned = Vote(action.step, action.height, action.round, action.block_hash, self.public_key, b"")
        message = unsigned.signing_bytes(self.sim.chain_id)
        signature = self._guarded_sign(action.height, action.round, action.step, action.block_hash, message)
        if signature is None:
            return  # refused: send nothing
        vote = replace(unsigned, signature=signature)
        if action.step == PRECOMMIT and action.block_hash is not None:
            self.precommitted_payloads[action.block_hash] = self.blocks[action.block_hash]  # kept with the lock
        if self.sim.crash_after_signing is not None and self.sim.crash_after_signing(self, vote):
            self.crash()  # persisted by the guard, never sent
            return
        self._publish(VoteMessage(vote))
        pending.append(VoteReceived(vote))

    def _new_block(self, height: int, round_number: int) -> tuple[bytes, bytes]:
        self.blocks_proposed += 1
        payload = codec.encode(
            [self.sim.chain_id, "block", height, round_number, self.index, self.incarnation, self.blocks_proposed]
        )
        block_hash = sha256(payload)
        self.blocks[block_hash] = payload
        self.blocks_by_height.setdefault(height, []).append(block_hash)
        return block_hash, payload

    def _propose(self, action: Propose, pending: deque[Event]) -> None:
        if action.block_hash is None:
            block_hash, payload = self._new_block(action.height, action.round)
        else:
            block_hash = action.block_hash  # the core re-proposes only blocks it saw proposed (or locked on)
            payload = self.blocks.get(block_hash)
            if payload is None:  # its locked block, after a restart: back from the disk into the block cache
                payload = self.precommitted_payloads[block_hash]
                self.blocks[block_hash] = payload
                self.blocks_by_height.setdefault(action.height, []).append(block_hash)
        unsigned = Proposal(action.height, action.round, block_hash, action.valid_round, self.public_key, b"")
        message = unsigned.signing_bytes(self.sim.chain_id)
        signature = self._guarded_sign(action.height, action.round, "proposal", block_hash, message)
        if signature is None:
            return
        proposal = replace(unsigned, signature=signature)
        self._publish(ProposalMessage(proposal, payload))
        pending.append(ProposalReceived(proposal, valid=True))

    def _raw_vote(self, action: CastVote, block_hash: bytes | None) -> VoteMessage:
        """A vote signed with the key alone, past the guard: only Byzantine nodes do this."""
        assert self.byzantine
        unsigned = Vote(action.step, action.height, action.round, block_hash, self.public_key, b"")
        return VoteMessage(replace(unsigned, signature=self.key.sign(unsigned.signing_bytes(self.sim.chain_id))))

    def _raw_proposal(self, action: Propose, block_hash: bytes | None, valid_round: int = -1) -> ProposalMessage:
        """A proposal signed with the key alone (a fresh block when `block_hash` is None): Byzantine only."""
        assert self.byzantine
        if block_hash is None:
            block_hash, payload = self._new_block(action.height, action.round)
        else:
            payload = self.blocks[block_hash]
        unsigned = Proposal(action.height, action.round, block_hash, valid_round, self.public_key, b"")
        signature = self.key.sign(unsigned.signing_bytes(self.sim.chain_id))
        return ProposalMessage(replace(unsigned, signature=signature), payload)

    def _publish(self, message: ConsensusMessage) -> None:
        """Hold `message` for gossip and send it to every peer."""
        self.held.setdefault(message.height, {})[message] = None
        self.sim.capture(message)
        for peer in self.sim.peers_of(self.index):
            self.sim.send(self.index, peer, message)

    def _decide(self, action: Decide, pending: deque[Event]) -> None:
        assert self.core is not None and action.height == self.core.height == self.height
        for vote in action.precommits:
            assert (vote.step, vote.height, vote.round, vote.block_hash) == (
                PRECOMMIT, action.height, action.round, action.block_hash,
            ), f"Decide carries a vote that is not its precommit: {vote}"
        certificate = CommitCertificate(
            action.height, action.round, action.block_hash, tuple((v.validator, v.signature) for v in action.precommits)
        )
        payload = self.blocks.get(action.block_hash)
        assert payload is not None, "the core decided a block that was never proposed to it"
        try:
            verify_certificate(certificate, self.sim.validators, self.sim.chain_id, action.height, action.block_hash)
        except CertificateError as error:
            self.sim.violation(f"{self.name} decided height {action.height} with a certificate that fails: {error}")
        self._commit(CommittedBlock(action.height, action.block_hash, payload, certificate))
        actions = self.core.begin_height(action.height + 1, self.sim.validators)
        self._enter_height(action.height + 1)
        for next_action in actions:
            self._perform(next_action, pending)
            if not self.up:
                return
        pending.append(TxsAvailable())

    def _commit(self, block: CommittedBlock) -> None:
        assert block.height == self.committed_height + 1
        self.chain[block.height] = block
        self.commit_rounds[block.height] = block.certificate.round
        self.sim.on_commit(self, block)

    def _record_evidence(self, action: RecordEvidence) -> None:
        evidence = Equivocation.of(action.first, action.second)
        try:
            evidence.verify(self.sim.chain_id, self.sim.validators)
        except EvidenceError as error:
            self.sim.violation(f"{self.name} recorded evidence that does not verify: {error}")
            return
        accused = self.sim.node_by_key(evidence.first.validator)
        if not accused.byzantine:
            self.sim.violation(
                f"{self.name} holds verified evidence that honest {accused.name} double-signed: "
                f"{evidence.first} / {evidence.second}"
            )
        first = evidence.first
        self.evidence[(first.validator, first.height, first.round, first.step)] = evidence

    # Gossip and block sync

    def _on_gossip_tick(self, incarnation: int) -> None:
        if not self.up or incarnation != self.incarnation:
            return
        messages = tuple(self.held.get(self.height, ()))
        if messages:
            peers = self.sim.peers_of(self.index)
            for peer in self.sim.rng.sample(peers, min(GOSSIP_FANOUT, len(peers))):
                self.sim.send(self.index, peer, GossipBatch(messages))
        self.sim.schedule(GOSSIP_INTERVAL_MS, self._on_gossip_tick, incarnation)

    def _maybe_request_sync(self, src: int, seen_height: int) -> None:
        now_ms = self.sim.now_ms
        if seen_height == self.height + 1 and now_ms - self.height_since_ms < SYNC_GRACE_MS:
            return  # the peer is just ahead: our own decision is probably on its way
        if now_ms < self.sync_pending_until_ms:
            return
        self.sync_pending_until_ms = now_ms + SYNC_RETRY_MS
        self.sim.send(self.index, src, SyncRequest(self.height))

    def _serve_sync(self, src: int, request: SyncRequest) -> None:
        last = min(self.committed_height, request.from_height + SYNC_BLOCKS_MAX - 1)
        blocks = tuple(self.chain[height] for height in range(request.from_height, last + 1))
        if blocks:
            self.sim.send(self.index, src, SyncResponse(blocks))

    def _apply_sync(self, response: SyncResponse) -> None:
        advanced = False
        for block in response.blocks:
            if block.height != self.height:
                continue  # already committed (or not next): the global check compares the hashes
            try:
                if sha256(block.payload) != block.block_hash:
                    raise CertificateError("payload does not match the block hash")
                verify_certificate(block.certificate, self.sim.validators, self.sim.chain_id, block.height, block.block_hash)
            except CertificateError as error:
                self.bad_sync_responses += 1
                self.sim.log(f"{self.name} refuses a synced block at height {block.height}: {error}")
                break
            self._commit(block)
            advanced = True
        if advanced:
            self.sim.log(f"{self.name} synced to height {self.committed_height}")
            self.sync_pending_until_ms = 0
            self._start_core(self.height)


class SilentNode(HonestNode):
    """A Byzantine validator that never sends anything (its power still counts in every quorum)."""

    byzantine = True
    kind = "silent"

    def start(self) -> None:
        self.up = True

    def receive(self, src: int, message: WireMessage) -> None:
        return


class EquivocatingProposer(HonestNode):
    """A Byzantine proposer: two different new blocks for its round, each to a random half of the peers
    (signed with the raw key: the guard would refuse the second). It votes through its core."""

    byzantine = True
    kind = "equivocator"

    def _propose(self, action: Propose, pending: deque[Event]) -> None:
        group_a, group_b = self.sim.split_peers(self.index)
        first = self._raw_proposal(action, None)
        second = self._raw_proposal(action, None)
        self.sim.log(f"{self.name} equivocates at {action.height}/{action.round}: {len(group_a)}|{len(group_b)} peers")
        self.held.setdefault(action.height, {})[first] = None
        for peer in group_a:
            self.sim.send(self.index, peer, first)
        for peer in group_b:
            self.sim.send(self.index, peer, second)
        pending.append(ProposalReceived(first.proposal, valid=True))


class DoubleVoter(HonestNode):
    """A Byzantine voter: each vote its core casts goes to a random part of the peers, and a conflicting vote
    (for another block of the height it knows, else nil, else a phantom block) to the rest, both signed with
    the raw key. Sometimes one peer gets both, as a relay would bring them."""

    byzantine = True
    kind = "double-voter"

    def _cast_vote(self, action: CastVote, pending: deque[Event]) -> None:
        real = self._raw_vote(action, action.block_hash)
        other = self._raw_vote(action, self._conflicting_hash(action))
        group_a, group_b = self.sim.split_peers(self.index)
        for peer in group_a:
            self.sim.send(self.index, peer, real)
        for peer in group_b:
            self.sim.send(self.index, peer, other)
        if group_a and self.sim.rng.random() < 0.5:
            self.sim.send(self.index, self.sim.rng.choice(group_a), other)
        self.held.setdefault(action.height, {})[real] = None
        pending.append(VoteReceived(real.vote))

    def _conflicting_hash(self, action: CastVote) -> bytes | None:
        candidates = [h for h in self.blocks_by_height.get(action.height, ()) if h != action.block_hash]
        if candidates:
            return self.sim.rng.choice(candidates)
        if action.block_hash is not None:
            return None
        return sha256(codec.encode(["phantom", action.height, action.round]))


class Equivocator(EquivocatingProposer, DoubleVoter):
    """Both at once: equivocating proposals and double votes."""

    kind = "equivocator+double-voter"


class LockAttacker(HonestNode):
    """A Byzantine validator that works against locks. Its precommit for a block goes to one random peer
    (nil to the rest), so that a single honest node may decide while the others only lock or see nothing;
    as a proposer it always offers a fresh block (valid round -1, never the valid value), and it prevotes
    and precommits its own fresh block to everyone whatever its lock says. Only the honest nodes' locks
    stand between this and a second decision at the height."""

    byzantine = True
    kind = "lock-attacker"

    def __init__(self, sim: Simulation, index: int, key: KeyPair) -> None:
        super().__init__(sim, index, key)
        self.proposed: dict[tuple[int, int], bytes] = {}

    def _propose(self, action: Propose, pending: deque[Event]) -> None:
        message = self._raw_proposal(action, None)
        self.proposed[(action.height, action.round)] = message.proposal.block_hash
        self.held.setdefault(action.height, {})[message] = None
        for peer in self.sim.peers_of(self.index):
            self.sim.send(self.index, peer, message)
        pending.append(ProposalReceived(message.proposal, valid=True))

    def _cast_vote(self, action: CastVote, pending: deque[Event]) -> None:
        own_block = self.proposed.get((action.height, action.round))
        peers = self.sim.peers_of(self.index)
        if own_block is not None:
            sends = [(peers, own_block)]
        elif action.step == PRECOMMIT and action.block_hash is not None:
            chosen = self.sim.rng.choice(peers)
            sends = [(tuple(p for p in peers if p != chosen), None), ((chosen,), action.block_hash)]
        else:
            sends = [(peers, action.block_hash)]
        for targets, block_hash in sends:
            message = self._raw_vote(action, block_hash)
            for peer in targets:
                self.sim.send(self.index, peer, message)
        pending.append(VoteReceived(self._raw_vote(action, sends[0][1]).vote))


class ForeignReplayer(HonestNode):
    """A Byzantine validator holding messages captured on another chain run by the same validator keys.
    Whenever it enters a height, it replays that height's foreign decision (the proposal and its precommits)
    to one honest peer. Only signatures that cover the chain id stop this."""

    byzantine = True
    kind = "replayer"

    def _enter_height(self, height: int) -> None:
        super()._enter_height(height)
        foreign = self.sim.foreign_messages.get(height, ())
        honest = [n.index for n in self.sim.nodes if not n.byzantine]
        if foreign and honest:
            victim = self.sim.rng.choice(honest)
            self.sim.log(f"{self.name} replays {len(foreign)} foreign messages of height {height} to v{victim}")
            for message in foreign:
                self.sim.send(self.index, victim, message)


Sends = list[tuple[tuple[int, ...], "bytes | None"]]  # (peers, block hash) pairs; a proposal's None = fresh block


class ScriptedByzantine(HonestNode):
    """A Byzantine validator for hand-written scenarios. Its core runs as usual; for each vote or proposal
    its core asks for, `vote_plan` / `proposal_plan` may return what to send to whom instead (signed with the
    raw key), or None to behave honestly this time."""

    byzantine = True
    kind = "scripted"

    def __init__(self, sim: Simulation, index: int, key: KeyPair) -> None:
        super().__init__(sim, index, key)
        self.vote_plan: Callable[[ScriptedByzantine, CastVote], Sends | None] | None = None
        self.proposal_plan: Callable[[ScriptedByzantine, Propose], Sends | None] | None = None
        self.proposed: dict[tuple[int, int], bytes] = {}  # (height, round) -> the block it proposed first

    def _cast_vote(self, action: CastVote, pending: deque[Event]) -> None:
        sends = self.vote_plan(self, action) if self.vote_plan is not None else None
        if sends is None:
            super()._cast_vote(action, pending)
            return
        for peers, block_hash in sends:
            message = self._raw_vote(action, block_hash)
            for peer in peers:
                self.sim.send(self.index, peer, message)
        if sends:
            pending.append(VoteReceived(self._raw_vote(action, sends[0][1]).vote))

    def _propose(self, action: Propose, pending: deque[Event]) -> None:
        sends = self.proposal_plan(self, action) if self.proposal_plan is not None else None
        if sends is None:
            super()._propose(action, pending)
            return
        first = None
        for peers, block_hash in sends:
            message = self._raw_proposal(action, block_hash)
            for peer in peers:
                self.sim.send(self.index, peer, message)
            first = first or message
        if first is not None:
            self.proposed.setdefault((action.height, action.round), first.proposal.block_hash)
            pending.append(ProposalReceived(first.proposal, valid=True))


BYZANTINE_KINDS: dict[str, type[HonestNode]] = {
    "silent": SilentNode,
    "equivocator": EquivocatingProposer,
    "double-voter": DoubleVoter,
    "equivocator+double-voter": Equivocator,
    "lock-attacker": LockAttacker,
    "replayer": ForeignReplayer,
    "scripted": ScriptedByzantine,
}


# The simulation -----------------------------------------------------------------------------------------------

MessageRule = Callable[["Simulation", int, int, WireMessage], object]


class Simulation:
    """One seeded run: the nodes, the network and the event queue."""

    def __init__(
        self,
        seed: int,
        validators: int = 4,
        byzantine: dict[int, str] | None = None,
        network: NetworkFaults = NetworkFaults(),
        chain_id: str = CHAIN_ID,
        timeouts: TimeoutConfig = TimeoutConfig(),
        capture: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        byzantine = dict(byzantine or {})
        assert all(0 <= index < validators for index in byzantine)
        assert len(byzantine) <= fault_tolerance(validators), "more Byzantine validators than BFT tolerates"
        self.seed = seed
        self.rng = rng if rng is not None else random.Random(seed)
        self.chain_id = chain_id
        self.timeouts = timeouts
        self.network = network
        self.validators, keys = make_validators(validators)
        self.now_ms = 0
        self.events_processed = 0
        self._queue: list[tuple[int, int, Callable[..., None], tuple]] = []
        self._seq = 0
        self.partition: dict[int, int] | None = None  # node -> group number while a partition holds
        self.message_rule: MessageRule | None = None  # scenarios: return DROP, a delay in ms, or None
        self.crash_after_signing: Callable[[HonestNode, Vote], bool] | None = None
        self.block_is_valid: Callable[[bytes], bool] = lambda payload: True
        self.foreign_messages: dict[int, tuple[ConsensusMessage, ...]] = {}
        self.proposals_seen: dict[tuple[int, int], dict[bytes, None]] = {}  # (height, round) -> hashes honest nodes got
        self.captured: list[ConsensusMessage] | None = [] if capture else None
        self.nodes: list[HonestNode] = [
            BYZANTINE_KINDS[byzantine[index]](self, index, key) if index in byzantine else HonestNode(self, index, key)
            for index, key in enumerate(keys)
        ]
        self._node_index_by_key = {node.public_key: node.index for node in self.nodes}
        self._peers = [tuple(p for p in range(validators) if p != index) for index in range(validators)]
        self._verified: dict[object, bool] = {}
        self.decided: dict[int, tuple[bytes, str]] = {}  # height -> (block hash, first honest committer)
        self._signed: dict[tuple[int, int, int, str], bytes | None] = {}
        self.violations: list[str] = []
        self.halt_on_violation: str | None = None  # a search stops the run at the first violation saying this
        self.trace: deque[str] = deque(maxlen=TRACE_LINES_MAX)
        self._digest = hashlib.sha256()
        self.height_at_heal: int | None = None
        self.healed_at_ms: int | None = None

    # Event queue

    def schedule(self, delay_ms: int, callback: Callable[..., None], *args: object) -> None:
        assert delay_ms >= 0
        self._seq += 1
        heapq.heappush(self._queue, (self.now_ms + delay_ms, self._seq, callback, args))

    def at(self, time_ms: int, callback: Callable[..., None], *args: object) -> None:
        self.schedule(max(0, time_ms - self.now_ms), callback, *args)

    def _run_one(self) -> None:
        time_ms, _, callback, args = heapq.heappop(self._queue)
        assert time_ms >= self.now_ms
        self.now_ms = time_ms
        self.events_processed += 1
        assert self.events_processed <= EVENTS_MAX, f"more than {EVENTS_MAX} events: the harness loops"
        callback(*args)

    def halted(self) -> bool:
        wanted = self.halt_on_violation
        return wanted is not None and any(wanted in violation for violation in self.violations)

    def run_for(self, duration_ms: int) -> None:
        end_ms = self.now_ms + duration_ms
        while self._queue and self._queue[0][0] <= end_ms and not self.halted():
            self._run_one()
        self.now_ms = max(self.now_ms, end_ms) if not self.halted() else self.now_ms

    def run_until(self, predicate: Callable[[Simulation], bool], duration_ms_max: int) -> bool:
        """Run until `predicate` holds (True) or `duration_ms_max` of virtual time passed (False)."""
        end_ms = self.now_ms + duration_ms_max
        while not predicate(self):
            if self.halted():
                return False
            if not self._queue or self._queue[0][0] > end_ms:
                self.now_ms = end_ms
                return predicate(self)
            self._run_one()
        return True

    # Network

    def peers_of(self, index: int) -> tuple[int, ...]:
        return self._peers[index]

    def split_peers(self, index: int) -> tuple[list[int], list[int]]:
        """The peers of `index` in two random non-empty groups (for equivocation)."""
        peers = list(self._peers[index])
        self.rng.shuffle(peers)
        cut = self.rng.randint(1, len(peers) - 1) if len(peers) > 1 else 1
        return peers[:cut], peers[cut:]

    def connected(self, a: int, b: int) -> bool:
        return self.partition is None or self.partition[a] == self.partition[b]

    def send(self, src: int, dst: int, message: WireMessage) -> None:
        assert src != dst
        if not self.connected(src, dst):
            return
        if self.message_rule is not None and isinstance(message, GossipBatch):
            kept = tuple(m for m in message.messages if self.message_rule(self, src, dst, m) is not DROP)
            if not kept:
                return
            message = GossipBatch(kept)
        elif self.message_rule is not None:
            verdict = self.message_rule(self, src, dst, message)
            if verdict is DROP:
                return
            if verdict is not None:
                assert isinstance(verdict, int)
                self.schedule(verdict, self._deliver, src, dst, message)
                return
        network = self.network
        rng = self.rng
        if network.drop_probability and rng.random() < network.drop_probability:
            return
        self.schedule(self._delay_ms(), self._deliver, src, dst, message)
        if network.duplicate_probability and rng.random() < network.duplicate_probability:
            self.schedule(self._delay_ms(), self._deliver, src, dst, message)

    def _delay_ms(self) -> int:
        network = self.network
        if network.slow_probability and self.rng.random() < network.slow_probability:
            return self.rng.randint(network.delay_ms_max, max(network.delay_ms_max, SLOW_DELAY_MS_MAX))
        return self.rng.randint(network.delay_ms_min, network.delay_ms_max)

    def _deliver(self, src: int, dst: int, message: WireMessage) -> None:
        if self.connected(src, dst):  # a partition also cuts what is in flight
            self.nodes[dst].receive(src, message)

    def signature_verifies(self, message: ConsensusMessage) -> bool:
        """The host's signature check, with the chain id; remembered per message (it is a pure function)."""
        signed = message.proposal if isinstance(message, ProposalMessage) else message.vote
        verdict = self._verified.get(signed)
        if verdict is None:
            signer = signed.proposer if isinstance(signed, Proposal) else signed.validator
            verdict = verify_signature(signer, signed.signing_bytes(self.chain_id), signed.signature)
            self._verified[signed] = verdict
        return verdict

    # Faults

    def start_partition(self, groups: tuple[tuple[int, ...], ...]) -> None:
        members = sorted(index for group in groups for index in group)
        assert members == list(range(len(self.nodes))), f"a partition must place every node once: {groups}"
        self.partition = {index: number for number, group in enumerate(groups) for index in group}
        self.log(f"partition {groups}")

    def end_partition(self) -> None:
        if self.partition is not None:
            self.log("partition ends")
        self.partition = None

    def crash(self, index: int) -> None:
        self.nodes[index].crash()

    def restart(self, index: int) -> None:
        self.nodes[index].restart()

    def apply_fault_plan(self, plan: FaultPlan) -> None:
        """Schedule the plan's partitions and crash-restarts (times relative to now)."""
        base_ms = self.now_ms
        self.network = plan.network
        for window in plan.partitions:
            self.at(base_ms + window.start_ms, self.start_partition, window.groups)
            self.at(base_ms + window.end_ms, self.end_partition)
        for window in plan.crashes:
            self.at(base_ms + window.crash_ms, self.crash, window.node)
            self.at(base_ms + window.restart_ms, self.restart, window.node)

    def heal(self) -> None:
        """Phase 2: no partition, no drops, bounded delays, every crashed node restarted."""
        self.end_partition()
        self.network = HEALED_NETWORK
        self.message_rule = None
        self.crash_after_signing = None
        for node in self.nodes:
            if not node.up:
                node.restart()
        self.height_at_heal = max(node.committed_height for node in self.honest_nodes)
        self.healed_at_ms = self.now_ms
        self.log(f"heal at best height {self.height_at_heal}")

    # Running

    def start(self, down: tuple[int, ...] = ()) -> None:
        """Start every node within the first 20 ms, except those in `down` (they wait for `restart`)."""
        for node in self.nodes:
            delay_ms = self.rng.randint(0, 20)
            if node.index not in down:
                self.schedule(delay_ms, node.start)

    def run_with_faults(self, plan: FaultPlan) -> None:
        self.apply_fault_plan(plan)
        self.run_for(plan.faults_ms)

    def run_liveness(self, heights: int = LIVENESS_HEIGHTS, duration_ms_max: int = LIVENESS_MS_MAX) -> bool:
        """After `heal`: do all honest nodes reach the best height at the heal plus `heights`?"""
        assert self.height_at_heal is not None, "heal() first"
        target = self.height_at_heal + heights
        return self.run_until(lambda sim: sim.min_honest_height() >= target, duration_ms_max)

    # Properties and bookkeeping

    @property
    def honest_nodes(self) -> list[HonestNode]:
        return [node for node in self.nodes if not node.byzantine]

    def min_honest_height(self) -> int:
        return min(node.committed_height for node in self.nodes if not node.byzantine)

    def node_by_key(self, public_key: bytes) -> HonestNode:
        return self.nodes[self._node_index_by_key[public_key]]

    def on_commit(self, node: HonestNode, block: CommittedBlock) -> None:
        self._digest.update(codec.encode([node.index, block.height, block.block_hash, self.now_ms]))
        if node.byzantine:
            return
        if not self.block_is_valid(block.payload):
            self.violation(f"{node.name} committed an invalid block at height {block.height}")
        first = self.decided.setdefault(block.height, (block.block_hash, node.name))
        if first[0] != block.block_hash:
            self.violation(
                f"{FORK} at height {block.height}: {first[1]} committed {first[0].hex()[:12]}, "
                f"{node.name} committed {block.block_hash.hex()[:12]}"
            )

    def signed_by(self, index: int, height: int, round_number: int, step: str) -> bytes | None | str:
        """What honest validator `index` signed at a position: a block hash, None (nil), or "nothing"."""
        return self._signed.get((index, height, round_number, step), "nothing")

    def first_proposal(self, height: int, round_number: int) -> bytes | None:
        """The first block hash an honest node received in a proposal for (height, round)."""
        return next(iter(self.proposals_seen.get((height, round_number), {})), None)

    def record_signed(self, node: HonestNode, height: int, round_number: int, step: str, block_hash: bytes | None) -> None:
        """Independent of the guard: an honest validator never signs two different things at one position."""
        if node.byzantine:
            return
        key = (node.index, height, round_number, step)
        if key in self._signed and self._signed[key] != block_hash:
            self.violation(f"honest {node.name} signed two different {step}s at height {height} round {round_number}")
        self._signed[key] = block_hash

    def violation(self, text: str) -> None:
        self.log(f"SAFETY VIOLATION: {text}")
        self.violations.append(f"t={self.now_ms}ms {text}")

    def capture(self, message: ConsensusMessage) -> None:
        if self.captured is not None:
            self.captured.append(message)

    def log(self, text: str) -> None:
        self.trace.append(f"{self.now_ms:>7}ms {text}")

    def digest(self) -> str:
        """A fingerprint of the run (every commit, with its time): equal for equal runs."""
        final = self._digest.copy()
        final.update(codec.encode([self.now_ms, self.events_processed]))
        return final.hexdigest()

    def report(self) -> str:
        lines = [f"seed={self.seed} t={self.now_ms}ms events={self.events_processed}"]
        lines += [f"  {node.status()}" for node in self.nodes]
        lines += ["  trace (last lines):"] + [f"    {line}" for line in self.trace]
        return "\n".join(lines)


# Random schedules ---------------------------------------------------------------------------------------------

MIXES = ("lossy", "partitions", "crashes", "silent", "equivocator", "double-voter", "lock-attacker", "chaos")
MIX_BYZANTINE_KINDS = {
    "silent": ("silent",),
    "equivocator": ("equivocator",),
    "double-voter": ("double-voter",),
    "lock-attacker": ("lock-attacker",),
    "chaos": ("silent", "equivocator", "double-voter", "equivocator+double-voter", "lock-attacker"),
    "equivocator+double-voter": ("equivocator+double-voter",),  # not in the rotation: for searches (MIXES_EXTRA)
}
MIXES_EXTRA = ("equivocator+double-voter",)  # f validators that both equivocate and double-vote
FAULTS_MS_BY_VALIDATORS = {4: 4_000, 7: 3_000}  # the fault phase of a random schedule, per cluster size
PARTITION_MS_MIN = 300
PARTITION_MS_MAX = 2_000
DOWNTIME_MS_MIN = 100
DOWNTIME_MS_MAX = 2_500


def mix_for(seed: int) -> str:
    """Each seed exercises one fault mix; consecutive seeds rotate through all of them."""
    return MIXES[seed % len(MIXES)]


def draw_fault_plan(rng: random.Random, validators: int, mix: str, faults_ms: int) -> tuple[FaultPlan, dict[int, str]]:
    """The fault phase of one random schedule and the Byzantine validators (index -> kind), all from `rng`."""
    assert mix in MIXES or mix in MIXES_EXTRA
    network = NetworkFaults(
        delay_ms_min=rng.randint(1, 10),
        delay_ms_max=rng.choice((20, 50, 100, 200, 400)),
        drop_probability=rng.choice((0.0, 0.05, 0.1, 0.2, 0.3)),
        duplicate_probability=rng.choice((0.0, 0.05, 0.2)),
        slow_probability=rng.choice((0.0, 0.01, 0.05)),
    )
    byzantine: dict[int, str] = {}
    if mix in MIX_BYZANTINE_KINDS:
        f = fault_tolerance(validators)
        count = rng.randint(1, f) if mix == "chaos" else f
        for index in sorted(rng.sample(range(validators), count)):
            byzantine[index] = rng.choice(MIX_BYZANTINE_KINDS[mix])
    honest = [index for index in range(validators) if index not in byzantine]
    partitions = _draw_partitions(rng, validators, faults_ms) if mix in ("partitions", "chaos") else ()
    crashes = _draw_crashes(rng, honest, faults_ms) if mix in ("crashes", "chaos") else ()
    return FaultPlan(faults_ms, network, partitions, crashes), byzantine


def _draw_partitions(rng: random.Random, validators: int, faults_ms: int) -> tuple[PartitionWindow, ...]:
    windows = []
    start_ms = rng.randint(0, faults_ms // 3)
    while start_ms < faults_ms - PARTITION_MS_MIN and len(windows) < 3:
        end_ms = min(faults_ms, start_ms + rng.randint(PARTITION_MS_MIN, PARTITION_MS_MAX))
        nodes = list(range(validators))
        rng.shuffle(nodes)
        group_count = 3 if validators >= 7 and rng.random() < 0.3 else 2
        cuts = sorted(rng.sample(range(1, validators), group_count - 1))
        groups = [sorted(nodes[a:b]) for a, b in zip([0, *cuts], [*cuts, validators])]
        windows.append(PartitionWindow(start_ms, end_ms, tuple(tuple(g) for g in sorted(groups))))
        start_ms = end_ms + rng.randint(100, 1_000)
    return tuple(windows)


def _draw_crashes(rng: random.Random, honest: list[int], faults_ms: int) -> tuple[CrashWindow, ...]:
    count = rng.randint(1, min(len(honest), 2 if len(honest) <= 3 else 3))
    windows = []
    for node in sorted(rng.sample(honest, count)):
        crash_ms = rng.randint(0, faults_ms - DOWNTIME_MS_MIN)
        restart_ms = min(faults_ms, crash_ms + rng.randint(DOWNTIME_MS_MIN, DOWNTIME_MS_MAX))
        windows.append(CrashWindow(node, crash_ms, restart_ms))
    return tuple(windows)


@dataclass
class ScheduleRun:
    """A finished random schedule: the simulation, its plan and verdicts, and how to replay it."""

    sim: Simulation
    validators: int
    mix: str
    plan: FaultPlan
    byzantine: dict[int, str]
    live: bool

    def describe(self, replay: str) -> str:
        byzantine = ", ".join(f"v{i}={kind}" for i, kind in self.byzantine.items()) or "none"
        return (
            f"seed={self.sim.seed} validators={self.validators} mix={self.mix} byzantine: {byzantine}\n"
            f"plan: {self.plan.describe()}\n"
            f"height at heal={self.sim.height_at_heal} (t={self.sim.healed_at_ms}ms)\n"
            f"{self.sim.report()}\n"
            f"replay: {replay}"
        )


def run_random_schedule(
    seed: int, validators: int, mix: str | None = None, faults_ms: int | None = None, halt_on_violation: str | None = None
) -> ScheduleRun:
    """Phase 1: the seed's faults; then heal; phase 2: liveness. Safety is checked all along (a search for
    violations can stop at the first one with `halt_on_violation`)."""
    rng = random.Random(seed)
    mix = mix or mix_for(seed)
    faults_ms = faults_ms or FAULTS_MS_BY_VALIDATORS.get(validators, 3_000)
    plan, byzantine = draw_fault_plan(rng, validators, mix, faults_ms)
    sim = Simulation(seed, validators, byzantine=byzantine, rng=rng)
    sim.halt_on_violation = halt_on_violation
    sim.start()
    sim.run_with_faults(plan)
    if sim.halted():
        return ScheduleRun(sim, validators, mix, plan, byzantine, live=False)
    sim.heal()
    live = sim.run_liveness()
    return ScheduleRun(sim, validators, mix, plan, byzantine, live)


def foreign_decisions(sim: Simulation) -> dict[int, tuple[ConsensusMessage, ...]]:
    """From a finished run with `capture=True`: per height, the decided block's proposal and precommits,
    the material a replaying validator of another chain needs."""
    assert sim.captured is not None
    by_position: dict[tuple[int, int], ProposalMessage] = {}
    for message in sim.captured:
        if isinstance(message, ProposalMessage):
            by_position.setdefault((message.proposal.height, message.proposal.round), message)
    result: dict[int, tuple[ConsensusMessage, ...]] = {}
    node = max(sim.honest_nodes, key=lambda n: n.committed_height)
    for height, block in node.chain.items():
        certificate = block.certificate
        proposal = by_position.get((height, certificate.round))
        if proposal is None or proposal.proposal.block_hash != block.block_hash:
            continue
        precommits = tuple(
            VoteMessage(Vote(PRECOMMIT, height, certificate.round, block.block_hash, key, signature))
            for key, signature in certificate.signatures
        )
        result[height] = (proposal, *precommits)
    return result


# Scenarios shared by the hand-written tests and the broken-variant searches ----------------------------------

CALM_NETWORK = NetworkFaults(delay_ms_min=5, delay_ms_max=20)


class LivenessStalled(Exception):
    """A scenario's progress did not come within its virtual time bound (a scenario marked xfail for a
    liveness bug expects exactly this exception, so that any other failure in it is reported as a real one)."""


def require_progress(sim: Simulation, predicate: Callable[[Simulation], bool], duration_ms_max: int, what: str) -> None:
    if not sim.run_until(predicate, duration_ms_max):
        raise LivenessStalled(f"{what}: not within {duration_ms_max}ms of virtual time\n{sim.report()}")


def proposer_index(sim: Simulation, height: int, round_number: int) -> int:
    return sim.node_by_key(sim.validators.proposer(height, round_number).public_key).index


def height_one_proposers(validators: int) -> tuple[int, ...]:
    """The validator indices that propose rounds 0, 1, 2, ... of height 1."""
    validator_set, keys = make_validators(validators)
    public_keys = [key.public_key for key in keys]
    order = tuple(public_keys.index(validator_set.proposer(1, r).public_key) for r in range(validators))
    assert sorted(order) == list(range(validators))
    return order


@dataclass
class LockScenario:
    """Height 1 of four validators, scripted so that a lock is all that stands between the network and a
    second decision:
    - round 0: `decider` proposes A; `unaware` never receives it and prevotes nil; `decider`, `holder` and
      the Byzantine `byzantine` prevote A, so `decider` and `holder` lock on A. The Byzantine precommits A
      to `decider` alone, which decides A; `decider` is then cut off.
    - round 1: `byzantine` proposes a fresh block B (valid round -1) and prevotes and precommits B. Only
      `holder`'s lock on A keeps B from 2f+1 prevotes (L22): ignore the lock and B is decided too."""

    sim: Simulation
    decider: int
    byzantine: int
    holder: int
    unaware: int

    def block_a(self) -> bytes | None:
        return self.sim.first_proposal(1, 0)


def build_lock_scenario(seed: int) -> LockScenario:
    decider, byzantine, holder, unaware = height_one_proposers(4)
    sim = Simulation(seed, 4, byzantine={byzantine: "scripted"}, network=CALM_NETWORK)
    scenario = LockScenario(sim, decider, byzantine, holder, unaware)
    attacker = sim.nodes[byzantine]
    assert isinstance(attacker, ScriptedByzantine)
    everyone_else = tuple(i for i in range(4) if i != byzantine)

    def vote_plan(node: ScriptedByzantine, action: CastVote) -> Sends | None:
        if action.height != 1 or action.round > 1:
            return None
        if action.round == 0:
            block_a = node.blocks_by_height.get(1, [None])[0]
            if action.step == PREVOTE:
                return [(everyone_else, block_a)]
            return [((holder, unaware), None), ((decider,), block_a)]  # its own core gets nil: no decision
        block_b = node.proposed.get((1, 1))
        return [(everyone_else, block_b)]

    def proposal_plan(node: ScriptedByzantine, action: Propose) -> Sends | None:
        return [(everyone_else, None)] if (action.height, action.round) == (1, 1) else None

    def rule(sim: Simulation, src: int, dst: int, message: WireMessage) -> object:
        if isinstance(message, ProposalMessage) and dst == unaware and message.height == 1 and message.proposal.round == 0:
            return DROP
        if src == decider and sim.nodes[decider].committed_height >= 1:
            return DROP
        return None

    attacker.vote_plan = vote_plan
    attacker.proposal_plan = proposal_plan
    sim.message_rule = rule
    return scenario


def build_uncounted_equivocation_scenario(seed: int) -> tuple[Simulation, dict[str, int]]:
    """Height 1 of four validators. Round 0: `proposer` proposes A, `unaware` never receives it; the Byzantine
    prevotes A to `locker` only and nil to the others, then votes nil forever and never proposes. `locker`
    locks on A; the others' only polka evidence for A needs the Byzantine's A prevote, which they get later,
    relayed by `locker`'s gossip, after its nil prevote."""
    proposer, byzantine, locker, unaware = height_one_proposers(4)
    sim = Simulation(seed, 4, byzantine={byzantine: "scripted"}, network=CALM_NETWORK)
    attacker = sim.nodes[byzantine]
    assert isinstance(attacker, ScriptedByzantine)
    others = (proposer, unaware)

    def vote_plan(node: ScriptedByzantine, action: CastVote) -> Sends:
        if (action.height, action.round, action.step) == (1, 0, PREVOTE):
            return [((locker,), node.blocks_by_height.get(1, [None])[0]), (others, None)]
        return [((proposer, locker, unaware), None)]

    def rule(sim: Simulation, src: int, dst: int, message: WireMessage) -> object:
        if isinstance(message, ProposalMessage) and dst == unaware and message.height == 1 and message.proposal.round == 0:
            return DROP
        if src == byzantine:
            return 1  # the Byzantine's own messages are fast: they arrive before any relay
        return None

    attacker.vote_plan = vote_plan
    attacker.proposal_plan = lambda node, action: []
    sim.message_rule = rule
    return sim, {"proposer": proposer, "byzantine": byzantine, "locker": locker, "unaware": unaware}


def build_forgotten_valid_value_scenario(seed: int) -> tuple[Simulation, dict[str, int]]:
    """Height 1 of four validators. Round 0: `proposer` proposes A, `unaware` never receives it; the
    Byzantine prevotes A to `locker` alone (no double vote: the others get nothing from it), then votes nil
    to everyone and never proposes. `locker` locks on A; the others precommit nil and only later, past round
    0, receive the Byzantine's A prevote through `locker`'s gossip (so they can check A's polka, but never
    took A as their valid value). Then `locker` crashes and restarts."""
    proposer, byzantine, locker, unaware = height_one_proposers(4)
    sim = Simulation(seed, 4, byzantine={byzantine: "scripted"}, network=CALM_NETWORK)
    attacker = sim.nodes[byzantine]
    assert isinstance(attacker, ScriptedByzantine)
    byzantine_key = attacker.public_key

    def vote_plan(node: ScriptedByzantine, action: CastVote) -> Sends:
        if (action.height, action.round, action.step) == (1, 0, PREVOTE):
            return [((locker,), node.blocks_by_height.get(1, [None])[0])]
        return [((proposer, locker, unaware), None)]

    def rule(sim: Simulation, src: int, dst: int, message: WireMessage) -> object:
        if isinstance(message, ProposalMessage) and dst == unaware and message.height == 1 and message.proposal.round == 0:
            return DROP
        if isinstance(message, VoteMessage) and message.vote.validator == byzantine_key and sim.now_ms < 1_500:
            return DROP if dst != locker else None  # relayed to the others only once they left round 0
        return None

    attacker.vote_plan = vote_plan
    attacker.proposal_plan = lambda node, action: []
    sim.message_rule = rule
    return sim, {"proposer": proposer, "byzantine": byzantine, "locker": locker, "unaware": unaware}


def capture_foreign_chain(validators: int, heights: int) -> dict[int, tuple[ConsensusMessage, ...]]:
    """Run another chain (FOREIGN_CHAIN_ID) with the same validator keys and capture its decisions."""
    foreign = Simulation(0, validators, chain_id=FOREIGN_CHAIN_ID, network=CALM_NETWORK, capture=True)
    foreign.start()
    require_progress(foreign, lambda s: s.min_honest_height() >= heights, 30_000, "the foreign chain")
    return foreign_decisions(foreign)


def run_replay_attack(seed: int, foreign: dict[int, tuple[ConsensusMessage, ...]], validators: int = 4) -> Simulation:
    """A Byzantine validator replays another chain's decisions (same keys) to one honest node per height."""
    rng = random.Random(seed)
    replayer = rng.randrange(validators)
    network = NetworkFaults(delay_ms_min=rng.randint(1, 10), delay_ms_max=rng.choice((20, 50, 100)))
    sim = Simulation(seed, validators, byzantine={replayer: "replayer"}, network=network, rng=rng)
    sim.foreign_messages = foreign
    sim.halt_on_violation = FORK
    sim.start()
    sim.run_until(lambda s: s.min_honest_height() >= min(len(foreign), 6), 30_000)
    return sim


def _short_lock(lock: tuple[int, bytes] | None) -> str:
    return "none" if lock is None else f"round {lock[0]} {lock[1].hex()[:12]}"
