"""The consensus runner: the one place where the pure consensus core meets I/O.

It feeds the core events (verified peer messages, timeouts, "transactions are waiting") and performs the
actions the core returns, in order: build or re-propose a block, sign through the safety guard and
broadcast, schedule timeouts, commit decided blocks, record evidence. It also answers and drives block sync:
a node that learns a peer is ahead fetches the missing blocks with their commit certificates, verifies
each certificate against the validator set, applies the blocks and rejoins consensus at the new height.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from typing import Any

from corridor.consensus.certificate import CertificateError, CommitCertificate, verify_certificate, vote_signing_bytes
from corridor.consensus.core import (
    Action,
    CastVote,
    Core,
    Decide,
    Event,
    ROUNDS_AHEAD_MAX,
    Propose,
    ProposalReceived,
    RecordEvidence,
    ScheduleTimeout,
    Step,
    TimeoutConfig,
    TimeoutFired,
    TxsAvailable,
    VoteReceived,
)
from corridor.consensus.evidence import Equivocation, EvidenceError
from corridor.consensus.validators import ValidatorSet
from corridor.consensus.messages import MessageError, Proposal, Vote, proposal_signing_bytes
from corridor.consensus.safety import EMPTY_SAFETY_STATE, DoubleSignRefused, SafetyGuard, SafetyState
from corridor.keys import KeyPair, verify_signature
from corridor.ledger import limits as ledger_limits
from corridor.ledger.block import Block, ExecutedBlock, InvalidBlock
from corridor.ledger.store import StoreWriteError
from corridor.ledger.tx import SignedTx, TxError, decode_tx
from corridor.node.chain import Chain
from corridor.node.p2p import PEER_MESSAGE_BYTES_MAX, Transport

log = logging.getLogger(__name__)
SAFETY_RECORD = "safety"
LOCKED_BLOCK_RECORD = "locked_block"
REBROADCAST_AFTER_S = 1.0
STATUS_INTERVAL_S = 1.0
SYNC_REQUEST_TIMEOUT_S = 3.0
SYNC_RESPONSE_BYTES_MAX = PEER_MESSAGE_BYTES_MAX // 2
TX_GOSSIP_DELAY_S = 0.002
EARLY_PROPOSALS_MAX = 16
EXECUTED_BLOCKS_MAX = 16  # blocks of one height this node executes (each round's proposal, at most)
EVIDENCE_POOL_MAX = 256
EVIDENCE_AGE_HEIGHTS_MAX = 1_000  # evidence of older heights is no longer taken
INBOX_EVENTS_MAX = 100_000
# Gossiped transactions wait in a queue of their own, admitted a chunk at a time whenever no consensus
# message waits: admitting a gossip batch of 500 holds the loop ~50 ms (a signature each), and a vote or
# proposal queued behind a few of them would stretch every round by that much.
GOSSIP_ADMIT_CHUNK_TXS = 64
GOSSIP_QUEUED_TXS_MAX = 40_000  # beyond this, gossiped transactions are dropped (the sender's node still holds them)


class StoreSafety:
    """The safety state in the node's LevelDB, written with sync=True before a signature leaves."""

    def __init__(self, chain: Chain) -> None:
        self._store = chain.store
        self._staged: dict[str, bytes] = {}

    def load(self) -> SafetyState:
        raw = self._store.get_meta(SAFETY_RECORD)
        return EMPTY_SAFETY_STATE if raw is None else SafetyState.from_bytes(raw)

    def stage(self, name: str, value: bytes) -> None:
        """A record to write in the same synced batch as the next safety state (one fsync, not two)."""
        self._staged[name] = value

    def unstage(self) -> None:
        """Forget staged records once their signature is made (they were saved with it) or refused."""
        self._staged = {}

    def save(self, state: SafetyState) -> None:
        records, self._staged = {**self._staged, SAFETY_RECORD: state.to_bytes()}, {}
        self._store.put_meta_durably(records)


class Runner:
    """Drives consensus for one validator over the chain and the peer transport."""

    def __init__(self, chain: Chain, node_key: KeyPair, p2p_host: str, p2p_port: int, peers: tuple[str, ...],
                 timeouts: TimeoutConfig = TimeoutConfig(), p2p_delay_ms: int = 0) -> None:
        self.chain = chain
        self._key = node_key
        self._chain_id = chain.chain_id
        self._validators = chain.validator_set()
        self._timeouts = timeouts
        self._safety_store = StoreSafety(chain)
        self._guard = SafetyGuard(self._safety_store, node_key.sign)
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(INBOX_EVENTS_MAX)
        self._gossiped: collections.deque[tuple[bytes, bytes]] = collections.deque()  # (peer, transaction bytes)
        self.transport = Transport(
            self._chain_id,
            node_key,
            {v.public_key for v in self._validators.validators},
            p2p_host,
            p2p_port,
            peers,
            on_message=self._on_transport_message,
            on_connect=lambda peer: self._post("connected", peer),
            delay_ms=p2p_delay_ms,
        )
        self.core = self._fresh_core()
        self._executed: dict[bytes, ExecutedBlock] = {}
        self._own_frames: list[tuple[str, Any]] = []
        self._early_proposals: list[tuple[bytes, Any]] = []
        self._evidence_pool: dict[bytes, bytes] = {}
        self._gossip_buffer: list[bytes] = []
        self._peer_heights: dict[bytes, int] = {}
        self._sync_requested_at: float | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._progress_mark: tuple[int, float] = (0, 0.0)
        self._evidence_of: set[tuple[bytes, int, int, str]] = set()
        self._sync_peer: bytes | None = None
        chain.on_admitted = self._on_admitted

    def _fresh_core(self) -> Core:
        """A core at the next height, resuming where the safety state says if this node signed there."""
        height = self.chain.store.tip.height + 1
        resume, _ = self._guard.state.resume_point(height)
        me = self._key.public_key if self._validators.get(self._key.public_key) else None
        return Core(self._validators, me, height, self._timeouts, resume=resume)

    def _resume_signed_round(self) -> None:
        """After a restart (or a jump by sync): reload the locked block, and feed the votes signed before
        the crash in the current round back to the core and to the peers, who may be waiting for them."""
        resume, records = self._guard.state.resume_point(self.core.height)
        if resume is None:
            return
        if resume.lock is not None:
            self._reload_locked_block(resume.lock[1])
        for record in records:
            if record.step == "proposal":
                continue
            vote = Vote(record.step, record.height, record.round, record.block_hash or None, self._key.public_key, record.signature)
            self._own_frames.append(("vote", vote.to_map()))
            self.transport.broadcast("vote", vote.to_map())
            self._feed(VoteReceived(vote))

    def _reload_locked_block(self, block_hash: bytes) -> None:
        raw = self.chain.store.get_meta(LOCKED_BLOCK_RECORD)
        if raw is None:
            return
        try:
            block = Block.from_bytes(raw)
            if block.hash == block_hash:
                self._executed[block_hash] = self.chain.validate_block(block, certified=True)
        except InvalidBlock as exc:
            log.warning("the locked block kept across the restart no longer applies: %s", exc)

    @property
    def validators(self) -> ValidatorSet:
        """The validator set of the height being decided."""
        return self._validators

    @property
    def node_id(self) -> bytes:
        """This node's public key: its identity among validators and peers."""
        return self._key.public_key

    @property
    def syncing(self) -> bool:
        return self._sync_requested_at is not None

    def peer_heights(self) -> dict[bytes, int]:
        return {peer: self._peer_heights.get(peer, 0) for peer in self.transport.connected_peers()}

    # Lifecycle

    async def run(self) -> None:
        """Serve peers and run consensus until cancelled."""
        await self.transport.start()
        ticker = asyncio.create_task(self._tick())
        try:
            self._resume_signed_round()
            if self._has_work():
                self._post("txs", None)
            while True:
                if self._gossiped and self._inbox.empty():
                    self._admit_gossiped(GOSSIP_ADMIT_CHUNK_TXS)
                    await asyncio.sleep(0)  # the network and the API run between chunks
                    continue
                kind, payload = await self._inbox.get()
                self._handle(kind, payload)
        finally:
            ticker.cancel()
            for timer in self._timers:
                timer.cancel()
            await self.transport.stop()

    def _on_transport_message(self, peer: bytes, kind: str, payload: Any) -> None:
        """A peer's message: gossiped transactions join their own queue, everything else the inbox."""
        if kind != "txs":
            self._post("peer", (peer, kind, payload))
            return
        if type(payload) is not list or len(payload) > self.chain.limits.tx_gossip_batch_max:
            log.warning("dropping a txs message from peer %s: txs is a bounded list", peer.hex()[:12])
            return
        if len(self._gossiped) + len(payload) > GOSSIP_QUEUED_TXS_MAX:
            log.warning("gossip queue full; dropping %d transactions from peer %s", len(payload), peer.hex()[:12])
            return
        if not self._gossiped:
            self._post("gossip", None)  # wakes the loop, which admits them once the inbox is empty
        self._gossiped.extend((peer, raw) for raw in payload)

    def _admit_gossiped(self, count_max: int) -> None:
        """Admit up to `count_max` queued gossiped transactions, in the order they arrived."""
        for _ in range(min(count_max, len(self._gossiped))):
            peer, raw = self._gossiped.popleft()
            try:
                if type(raw) is bytes:
                    self.chain.submit(decode_tx(raw), from_client=False)
            except TxError as exc:
                log.warning("dropping a malformed gossiped transaction from peer %s: %s", peer.hex()[:12], exc.message)

    def _post(self, kind: str, payload: Any) -> None:
        try:
            self._inbox.put_nowait((kind, payload))
        except asyncio.QueueFull:
            log.warning("consensus inbox full; dropping a %s event", kind)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            self._post("tick", None)

    # Inbox

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "peer":
            peer, message_kind, body = payload
            try:
                self._on_peer_message(peer, message_kind, body)
            except (MessageError, EvidenceError, TxError, InvalidBlock, CertificateError, KeyError, TypeError, ValueError) as exc:
                log.warning("dropping a %s message from peer %s: %s", message_kind, peer.hex()[:12], exc)
            except StoreWriteError:
                raise  # the disk failed this node, not the peer: stop (server.py) rather than go on
            except Exception:
                # Whatever a peer sends, the node goes on: an unexpected failure here is a bug to fix,
                # logged with its traceback, never a way for a peer to stop this validator.
                log.exception("failed to handle a %s message from peer %s; dropped", message_kind, peer.hex()[:12])
        elif kind == "timeout":
            self._feed(payload)
        elif kind == "txs":
            self._flush_gossip()
            if self._has_work() and self.core.step_ is Step.WAITING:
                self._feed(TxsAvailable())
        elif kind == "connected":
            self.transport.send(payload, "status", {"height": self.chain.store.tip.height})
            for frame_kind, frame in self._own_frames:
                self.transport.send(payload, frame_kind, frame)
        elif kind == "gossip":
            pass  # only wakes the loop: gossiped transactions are admitted between inbox events
        elif kind == "tick":
            self.transport.broadcast("status", {"height": self.chain.store.tip.height})
            self._maybe_sync()
            self._rebroadcast_if_stuck()

    def _rebroadcast_if_stuck(self) -> None:
        """Send this height's own proposal and votes again when the height has not moved for a while:
        Tendermint needs messages to arrive eventually, and a dropped one is otherwise never resent."""
        now = asyncio.get_running_loop().time()
        if self._progress_mark[0] != self.core.height:
            self._progress_mark = (self.core.height, now)
        elif self.core.step_ is not Step.WAITING and now - self._progress_mark[1] >= REBROADCAST_AFTER_S:
            for frame_kind, frame in self._own_frames:
                self.transport.broadcast(frame_kind, frame)

    def _on_admitted(self, tx: SignedTx, from_client: bool) -> None:
        """A transaction entered the mempool: gossip it if a client gave it to us, and wake consensus."""
        if from_client:
            self._gossip_buffer.append(tx.raw)
            if len(self._gossip_buffer) == 1:
                asyncio.get_running_loop().call_later(TX_GOSSIP_DELAY_S, self._post, "txs", None)
            elif len(self._gossip_buffer) >= self.chain.limits.tx_gossip_batch_max:
                self._flush_gossip()
        elif len(self.chain.mempool) == 1:
            self._post("txs", None)

    def _flush_gossip(self) -> None:
        if self._gossip_buffer:
            self.transport.broadcast("txs", self._gossip_buffer)
            self._gossip_buffer = []

    def _on_peer_message(self, peer: bytes, kind: str, body: Any) -> None:
        if kind == "proposal":
            self._on_proposal(body)
        elif kind == "vote":
            vote = Vote.from_map(body)
            if self._validators.get(vote.validator) is None:
                raise MessageError("vote from a non-validator")
            if not verify_signature(vote.validator, vote.signing_bytes(self._chain_id), vote.signature):
                raise MessageError("vote signature does not verify")
            if vote.height > self.core.height + 1:
                self._peer_heights[peer] = max(self._peer_heights.get(peer, 0), vote.height - 1)
                self._maybe_sync()
            self._feed(VoteReceived(vote))
        elif kind == "evidence":
            self._add_evidence(Equivocation.from_bytes(body))
        elif kind == "status":
            height = body["height"]
            if type(height) is not int or height < 0:
                raise MessageError("status carries a height")
            self._peer_heights[peer] = height
            self._maybe_sync()
        elif kind == "get_blocks":
            first, count = body["from"], body["count"]
            if type(first) is not int or type(count) is not int or first < 1 or count < 1:
                raise MessageError("get_blocks asks for a positive height and count")
            self._serve_blocks(peer, first, count)
        elif kind == "blocks":
            self._apply_synced_blocks(body)
        else:
            raise MessageError(f"unknown message kind {kind!r}")

    def _on_proposal(self, body: Any) -> None:
        proposal = Proposal.from_map(body["proposal"])
        if self._validators.get(proposal.proposer) is None:
            raise MessageError("proposal from a non-validator")
        if not verify_signature(proposal.proposer, proposal.signing_bytes(self._chain_id), proposal.signature):
            raise MessageError("proposal signature does not verify")
        if proposal.height == self.core.height + 1:
            if len(self._early_proposals) < EARLY_PROPOSALS_MAX:
                self._early_proposals.append((proposal.block_hash, body))
            return
        if proposal.height != self.core.height:
            return
        # The core's cheap checks first, so that no peer makes this node execute blocks it will drop.
        if proposal.proposer != self._validators.proposer(proposal.height, proposal.round).public_key:
            raise MessageError(f"not the proposer of round {proposal.round}")
        if proposal.round > self.core.round + ROUNDS_AHEAD_MAX or self.core.has_proposal(proposal.round):
            return
        block_bytes = body["block"]
        if type(block_bytes) is not bytes:
            raise MessageError("a proposal carries its block as bytes")
        executed = self._executed.get(proposal.block_hash)
        valid = executed is not None
        if executed is None and len(self._executed) >= EXECUTED_BLOCKS_MAX:
            log.warning("proposal %d/%d dropped: %d blocks of this height executed already", proposal.height, proposal.round, len(self._executed))
            return
        if executed is None:
            block = Block.from_bytes(block_bytes, known=self.chain.mempool.get)
            if block.hash != proposal.block_hash:
                raise MessageError("the proposal's block does not match its hash")
            if self._validators.get(block.header.proposer) is None:
                # The header names who built the block; a later round may re-propose it (Tendermint's
                # valid value), so the builder need not be this round's proposer, but must be a validator.
                raise MessageError("the block was built by a non-validator")
            try:
                self._check_evidence(block)
                self._executed[block.hash] = self.chain.validate_block(block)
                valid = True
            except (InvalidBlock, EvidenceError) as exc:
                log.warning("proposal %d/%d is invalid: %s", proposal.height, proposal.round, exc)
        self._feed(ProposalReceived(proposal, valid))

    def _check_evidence(self, block: Block) -> None:
        for raw in block.evidence:
            evidence = Equivocation.from_bytes(raw)
            if evidence.to_bytes() != raw:
                raise EvidenceError("evidence is not in canonical order")
            evidence.verify(self._chain_id, self._validators)
            if self.chain.store.has_evidence(evidence.hash):
                raise EvidenceError("evidence was committed before")

    # The core and its actions

    def _feed(self, event: Event) -> None:
        """Step the core with `event` and perform its actions; own messages are fed back in order."""
        pending: collections.deque[Event] = collections.deque([event])
        while pending:
            for action in self.core.step(pending.popleft()):
                pending.extend(self._perform(action))

    def _perform(self, action: Action) -> list[Event]:
        if isinstance(action, Propose):
            return self._propose(action)
        if isinstance(action, CastVote):
            return self._vote(action)
        if isinstance(action, ScheduleTimeout):
            event = TimeoutFired(action.height, action.round, action.step)
            timer = asyncio.get_running_loop().call_later(action.delay_ms / 1000, self._post, "timeout", event)
            self._timers.add(timer)
            return []
        if isinstance(action, Decide):
            self._decide(action)
            return []
        if isinstance(action, RecordEvidence):
            self._add_evidence(Equivocation.of(action.first, action.second))
            return []
        raise AssertionError(f"unknown action {action!r}")

    def _propose(self, action: Propose) -> list[Event]:
        executed = self._executed.get(action.block_hash) if action.block_hash is not None else None
        if executed is None:
            if action.block_hash is not None:
                log.warning("re-proposing: the valid block %s is not held here; proposing a new one", action.block_hash.hex()[:12])
                action = Propose(action.height, action.round, -1, None)  # a new block has no valid round
            evidence = tuple(self._evidence_pool.values())[: ledger_limits.EVIDENCE_PER_BLOCK_MAX]
            executed = self.chain.build_proposal(self._key.public_key, evidence)
            self._executed[executed.block.hash] = executed
        block_hash = executed.block.hash
        message = proposal_signing_bytes(self._chain_id, action.height, action.round, block_hash, action.valid_round)
        try:
            signature = self._guard.sign(action.height, action.round, "proposal", block_hash, message)
        except DoubleSignRefused as exc:
            log.warning("not proposing: %s", exc)
            return []
        proposal = Proposal(action.height, action.round, block_hash, action.valid_round, self._key.public_key, signature)
        frame = {"block": executed.block.to_bytes(), "proposal": proposal.to_map()}
        self._own_frames.append(("proposal", frame))
        self.transport.broadcast("proposal", frame)
        return [ProposalReceived(proposal, True)]

    def _vote(self, action: CastVote) -> list[Event]:
        block_hash = action.block_hash or b""
        if action.step == "precommit" and action.block_hash is not None:
            # The lock survives a crash with the block itself, so a restarted proposer can re-propose it:
            # the block is written in the same synced batch as the safety state that records the lock.
            self._safety_store.stage(LOCKED_BLOCK_RECORD, self._executed[action.block_hash].block.to_bytes())
        message = vote_signing_bytes(self._chain_id, action.step, action.height, action.round, block_hash)
        try:
            signature = self._guard.sign(action.height, action.round, action.step, block_hash, message)
        except DoubleSignRefused as exc:
            log.warning("not voting: %s", exc)
            return []
        finally:
            self._safety_store.unstage()  # written with this signature's record, or not at all
        vote = Vote(action.step, action.height, action.round, action.block_hash, self._key.public_key, signature)
        self._own_frames.append(("vote", vote.to_map()))
        self.transport.broadcast("vote", vote.to_map())
        return [VoteReceived(vote)]

    def _decide(self, action: Decide) -> None:
        executed = self._executed[action.block_hash]
        signatures = tuple(sorted((vote.validator, vote.signature) for vote in action.precommits))
        certificate = CommitCertificate(action.height, action.round, action.block_hash, signatures)
        self._commit(executed, certificate)
        log.info("committed block %d (round %d, %d txs)", action.height, action.round, len(executed.block.txs))

    def _commit(self, executed: ExecutedBlock, certificate: CommitCertificate) -> None:
        """Commit a block (decided here or fetched with its certificate) and start the next height."""
        self.chain.commit(executed, certificate)
        self.chain.metrics.certificate_committed(certificate, self._validators)  # the set of the committed height
        for raw in executed.block.evidence:
            self._evidence_pool.pop(Equivocation.from_bytes(raw).hash, None)
        self._executed.clear()
        self._own_frames.clear()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.transport.broadcast("status", {"height": self.chain.store.tip.height})
        next_height = self.chain.store.tip.height + 1
        self._validators = self.chain.validator_set()
        self.transport.set_validator_keys({v.public_key for v in self._validators.validators})
        self._drop_stale_evidence()
        self.core.me = self._key.public_key if self._validators.get(self._key.public_key) else None
        if self.core.height == next_height - 1 and self.core.step_ is Step.DECIDED:
            actions = self.core.begin_height(next_height, self._validators)
        else:
            self.core = self._fresh_core()
            self._resume_signed_round()
            actions = []
        pending = [event for action in actions for event in self._perform(action)]
        for event in pending:
            self._feed(event)
        early, self._early_proposals = self._early_proposals, []
        for _, body in early:
            try:
                self._on_proposal(body)
            except (MessageError, InvalidBlock, KeyError, TypeError, ValueError) as exc:
                log.warning("dropping an early proposal: %s", exc)
        if self._has_work() and self.core.step_ is Step.WAITING:
            self._feed(TxsAvailable())
        # The mempool's pending state, if this block left it stale, is rebuilt once this turn (and the
        # proposal it may have sent) is done, not on the way to the next proposal.
        asyncio.get_running_loop().call_soon(self.chain.refresh_mempool)

    def _has_work(self) -> bool:
        """Something is waiting for a block: transactions, or evidence not yet committed."""
        return bool(len(self.chain.mempool) or self._evidence_pool)

    def _add_evidence(self, evidence: Equivocation) -> None:
        """Keep proven misbehaviour for the next block: one item per validator, height, round and step, of
        recent heights, at most EVIDENCE_POOL_MAX in all."""
        first = evidence.first
        if evidence.hash in self._evidence_pool or self.chain.store.has_evidence(evidence.hash):
            return
        if not self.core.height - EVIDENCE_AGE_HEIGHTS_MAX <= first.height <= self.core.height + 1:
            return
        if len(self._evidence_pool) >= EVIDENCE_POOL_MAX or (first.validator, first.height, first.round, first.step) in self._evidence_of:
            return
        evidence.verify(self._chain_id, self._validators)
        self._evidence_of.add((first.validator, first.height, first.round, first.step))
        log.warning("validator %s signed two %ss at height %d round %d", evidence.first.validator.hex()[:12], evidence.first.step, evidence.first.height, evidence.first.round)
        self._evidence_pool[evidence.hash] = evidence.to_bytes()
        self.transport.broadcast("evidence", evidence.to_bytes())
        if self.core.step_ is Step.WAITING:
            self._feed(TxsAvailable())  # evidence is worth a block of its own

    def _drop_stale_evidence(self) -> None:
        """Evidence that no longer verifies (its validator left the set) or grew too old would make every
        proposal carrying it invalid: drop it."""
        for evidence_hash, raw in list(self._evidence_pool.items()):
            evidence = Equivocation.from_bytes(raw)
            try:
                if evidence.first.height < self.core.height - EVIDENCE_AGE_HEIGHTS_MAX:
                    raise EvidenceError("too old")
                evidence.verify(self._chain_id, self._validators)
            except EvidenceError:
                del self._evidence_pool[evidence_hash]
        self._evidence_of = {(e.first.validator, e.first.height, e.first.round, e.first.step)
                             for e in map(Equivocation.from_bytes, self._evidence_pool.values())}

    # Block sync

    def _maybe_sync(self) -> None:
        """Ask a peer that is ahead for the blocks we miss; after a request goes unanswered, ask another
        (chosen at random: a peer that lies about its height cannot keep us waiting on it)."""
        height = self.chain.store.tip.height
        ahead = {peer: h for peer, h in self._peer_heights.items() if h > height and peer in self.transport.connected_peers()}
        now = asyncio.get_running_loop().time()
        if not ahead:
            self._sync_requested_at = None
            return
        if self._sync_requested_at is not None and now - self._sync_requested_at < SYNC_REQUEST_TIMEOUT_S:
            return
        others = [peer for peer in ahead if peer != self._sync_peer] or list(ahead)
        peer = self._sync_peer = random.choice(others)
        self._sync_requested_at = now
        self.transport.send(peer, "get_blocks", {"count": self.chain.limits.sync_blocks_per_request_max, "from": height + 1})

    def _serve_blocks(self, peer: bytes, first: int, count: int) -> None:
        count = max(0, min(count, self.chain.limits.sync_blocks_per_request_max))
        blocks: list[list[bytes]] = []
        size_bytes = 0
        for height in range(first, first + count):
            block_bytes = self.chain.store.get_block_bytes(height)
            if block_bytes is None:
                break
            certificate = self.chain.store.get_certificate(height)
            size_bytes += len(block_bytes) + len(certificate)
            if blocks and size_bytes > SYNC_RESPONSE_BYTES_MAX:
                break  # the peer asks again for the rest
            blocks.append([block_bytes, certificate])
        if blocks:
            self.transport.send(peer, "blocks", blocks)

    def _apply_synced_blocks(self, body: Any) -> None:
        if type(body) is not list or not all(type(item) is list and len(item) == 2 and all(type(x) is bytes for x in item) for item in body):
            raise MessageError("blocks is a list of [block bytes, certificate bytes]")
        for item in body:
            block = Block.from_bytes(item[0])
            height = self.chain.store.tip.height + 1
            if block.header.height < height:
                continue
            certificate = CommitCertificate.from_bytes(item[1])
            verify_certificate(certificate, self._validators, self._chain_id, height, block.hash)
            executed = self.chain.validate_block(block, certified=True)
            self._commit(executed, certificate)
            log.info("caught up block %d from a peer", block.header.height)
        self._sync_requested_at = None
        self._maybe_sync()
