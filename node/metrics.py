"""Prometheus metrics of one node, served as `GET /metrics` (docs/operations.md, "Monitoring").

Everything lives here; the rest of the node only calls a few hooks, each cheap enough for thousands of
transactions a second:

- Values the node already holds (height, round, mempool size, peers, validators, messages per peer, the
  process's signature verifications) are read when Prometheus scrapes, never updated on each change.
- What happens per block (rounds, interval, transactions by type, store write time, missed votes) is
  aggregated once per block.
- Per transaction there is at most a counter increment (a refusal at admission) or, for transactions a client
  gave to this node, one dict entry holding the submit time, taken out when the transaction commits or is
  dropped.

Counters and histograms are plain Python numbers rendered by a collector at scrape time: no locks and no
`_created` series. Each node has its own CollectorRegistry, so several nodes in one process never clash.
"""

from __future__ import annotations

import bisect
import collections
import importlib.metadata
import time
from typing import TYPE_CHECKING, Iterable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from corridor import keys
from corridor.keys import address_of, format_address
from corridor.ledger import redemption

if TYPE_CHECKING:
    from corridor.consensus.certificate import CommitCertificate
    from corridor.consensus.validators import ValidatorSet
    from corridor.ledger.block import ExecutedBlock, LeftOut
    from corridor.ledger.refusals import Refusal
    from corridor.node.chain import Chain
    from corridor.node.mempool import Dropped
    from corridor.node.runner import Runner

PREFIX = "corridor_"
SHORT_ADDRESS_CHARS = 12  # "cor1" and 8 characters (40 bits): unambiguous among a consortium's validators

ROUNDS_BUCKETS = (1, 2, 3, 4, 6, 10)
BLOCK_INTERVAL_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
BLOCK_TXS_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STORE_WRITE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def short_address(public_key: bytes) -> str:
    """The label naming a validator: the start of its account address (cor1...)."""
    return format_address(address_of(public_key))[:SHORT_ADDRESS_CHARS]


class Histogram:
    """A histogram kept as bucket counts; `observe` is one bisect and two additions."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1  # le semantics: value <= bound
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        buckets, total = [], 0
        for bound, count in zip((*map(floatToGoString, self.bounds), "+Inf"), self.counts):
            total += count
            buckets.append((bound, total))
        return HistogramMetricFamily(PREFIX + name, documentation, buckets=buckets, sum_value=self.sum)


class NodeMetrics:
    """The metrics of one node: hooks the node calls, and the collector Prometheus scrapes."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._runner: Runner | None = None
        self._info: dict[str, str] = {"chain_id": chain.chain_id}
        self._submitted_max = chain.limits.mempool_txs_max
        self.submitted_at: dict[bytes, float] = {}  # tx hash -> monotonic time a client gave it to this node
        self.rejections: collections.Counter[tuple[Refusal, bool]] = collections.Counter()  # (refusal, from_client)
        self.txs: collections.Counter[tuple[str, str]] = collections.Counter()  # (tx type, result)
        self.missed_votes: collections.Counter[bytes] = collections.Counter()  # validator key -> blocks missed
        self._validator_labels: dict[bytes, tuple[str, str]] = {}  # key -> (short address, name)
        self.rounds = Histogram(ROUNDS_BUCKETS)
        self.block_interval = Histogram(BLOCK_INTERVAL_BUCKETS_S)
        self.block_txs = Histogram(BLOCK_TXS_BUCKETS)
        self.latency = Histogram(LATENCY_BUCKETS_S)
        self.store_write = Histogram(STORE_WRITE_BUCKETS_S)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def attach(self, runner: Runner, moniker: str) -> None:
        """Read consensus and peer figures from `runner` at scrape time; name this node in corridor_node_info."""
        self._runner = runner
        try:
            version = importlib.metadata.version("corridor")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        self._info.update(validator=format_address(address_of(runner.node_id)), moniker=moniker, version=version)
        self._track(runner.validators)  # every validator has a missed-votes series from the start, at 0

    # Hooks -----------------------------------------------------------------------------------------------

    def tx_admitted(self, tx_hash: bytes, from_client: bool) -> None:
        """A transaction entered the mempool; a client's is timed until it commits or is dropped."""
        if from_client and len(self.submitted_at) < self._submitted_max:
            self.submitted_at[tx_hash] = time.monotonic()

    def tx_refused(self, refusal: Refusal, from_client: bool) -> None:
        """The mempool refused a transaction at admission."""
        self.rejections[refusal, from_client] += 1

    def txs_dropped(self, left_out: list[LeftOut], dropped: list[Dropped]) -> None:
        """Admitted transactions that no longer apply were dropped: their final result is their refusal."""
        for item in (*left_out, *dropped):
            self.txs[item.tx.body.TYPE, item.refusal.code] += 1
            self.submitted_at.pop(item.tx.hash, None)

    def block_committed(self, executed: ExecutedBlock, certificate: CommitCertificate, parent_time_ms: int, store_s: float) -> None:
        """Once per committed block (decided here or caught up): everything measured per block."""
        block = executed.block
        txs = block.txs
        self.rounds.observe(certificate.round + 1)
        self.block_txs.observe(len(txs))
        self.store_write.observe(store_s)
        if block.header.height > 1:  # the genesis time says nothing about block production
            self.block_interval.observe(max(0, block.header.time_ms - parent_time_ms) / 1000)
        for tx_type, count in collections.Counter([tx.body.TYPE for tx in txs]).items():
            self.txs[tx_type, "applied"] += count
        if self.submitted_at:
            pop, now, observe = self.submitted_at.pop, time.monotonic(), self.latency.observe
            for tx in txs:
                submitted = pop(tx.hash, None)
                if submitted is not None:
                    observe(now - submitted)

    def certificate_committed(self, certificate: CommitCertificate, validators: ValidatorSet) -> None:
        """Count, for each validator of the block's height, whether its precommit is missing from the certificate."""
        signed = {key for key, _ in certificate.signatures}
        missed = self._track(validators)
        for validator in validators.validators:
            if validator.public_key not in signed:
                missed[validator.public_key] += 1

    def _track(self, validators: ValidatorSet) -> collections.Counter[bytes]:
        """Label, and start at 0, the missed-votes series of validators not seen before."""
        for validator in validators.validators:
            key = validator.public_key
            if key not in self._validator_labels:
                self._validator_labels[key] = (short_address(key), validator.name)
                self.missed_votes[key] += 0
        return self.missed_votes

    # Scraping --------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """GET /metrics: the text exposition format."""
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def collect(self) -> Iterator[Metric]:
        chain, runner = self._chain, self._runner
        info = InfoMetricFamily(PREFIX + "node", "This node: its chain, validator address, moniker and software version.")
        info.add_metric([], self._info)
        yield info
        yield _gauge("height", "Height of the last committed block.", chain.store.tip.height)
        yield _gauge("mempool_txs", "Transactions waiting in the mempool.", len(chain.mempool))
        yield _gauge("mempool_capacity_txs", "The most transactions the mempool holds (mempool_txs_max).", self._submitted_max)
        rejections = CounterMetricFamily(PREFIX + "mempool_rejections", "Transactions the mempool refused at admission, by refusal code and source (client or peer gossip).", labels=["code", "source"])
        for (refusal, from_client), count in sorted(self.rejections.items()):
            rejections.add_metric([refusal.code, "client" if from_client else "peer"], count)
        yield rejections
        txs = CounterMetricFamily(PREFIX + "txs_committed", "Transactions that reached a final result on this node, by type and result: applied in a committed block, or the refusal code of an admitted transaction that was dropped.", labels=["type", "result"])
        for (tx_type, result), count in sorted(self.txs.items()):
            txs.add_metric([tx_type, result], count)
        yield txs
        yield self.latency.family("submit_to_commit_seconds", "From a client handing a transaction to this node to its block committing here.")
        yield self.rounds.family("rounds_per_height", "Consensus rounds each committed height needed (1 when the first proposal commits).")
        yield self.block_interval.family("block_interval_seconds", "Time between consecutive block timestamps (blocks are made only when transactions wait).")
        yield self.block_txs.family("txs_per_block", "Transactions in each committed block.")
        yield self.store_write.family("store_write_seconds", "Time to write one committed block to LevelDB (two synced batches: history, then state).")
        missed = CounterMetricFamily(PREFIX + "missed_votes", "Committed blocks whose commit certificate, as this node assembled or received it, lacks this validator's precommit.", labels=["validator", "name"])
        for key, count in self.missed_votes.items():
            missed.add_metric(list(self._validator_labels[key]), count)
        yield missed
        attempted, failed = keys.verification_counts
        verifications = CounterMetricFamily(PREFIX + "signature_verifications", "Ed25519 signature verifications in this process (transactions, votes, proposals, certificates, handshakes), by result.", labels=["result"])
        verifications.add_metric(["valid"], attempted - failed)
        verifications.add_metric(["invalid"], failed)
        yield verifications
        yield from self._collect_redemptions()
        if runner is not None:
            yield from self._collect_runner(runner)

    def _collect_redemptions(self) -> Iterator[Metric]:
        """Per currency: open and overdue redemption requests and the age of the oldest overdue one, worked
        out at scrape time from the open-request index alone (one small entry per open request), at the
        node's clock (never before the last block's time), as GET /v1/redemptions judges overdue."""
        chain = self._chain
        now_ms = max(chain.clock_ms(), chain.store.tip.time_ms)
        summaries = redemption.open_summary(chain.committed_state(), now_ms)
        families = (
            (GaugeMetricFamily(PREFIX + "redemptions_open", "Redemption requests the issuer has not yet fulfilled or rejected (overdue ones included), by currency.", labels=["currency"]), "open", 1),
            (GaugeMetricFamily(PREFIX + "redemptions_overdue", "Open redemption requests past their deadline, by currency.", labels=["currency"]), "overdue", 1),
            (GaugeMetricFamily(PREFIX + "redemption_oldest_overdue_age_seconds", "Age (since it was requested) of the oldest overdue redemption request, by currency; 0 when none is overdue.", labels=["currency"]), "oldest_overdue_age_ms", 1000),
        )
        codes = sorted({currency.code for currency in chain.currencies()} | set(summaries))
        for family, field, divisor in families:
            for code in codes:
                family.add_metric([code], getattr(summaries.get(code, redemption.OpenSummary()), field) / divisor)
            yield family

    def _collect_runner(self, runner: Runner) -> Iterator[Metric]:
        transport = runner.transport
        yield _gauge("consensus_round", "Round of the height being decided (0 while the first proposal is tried).", runner.core.round)
        yield _gauge("validators", "Validators in the set deciding the next height (this node included, when it is one).", len(runner.validators.validators))
        yield _gauge("peers_connected", "Validators this node has an authenticated connection with.", len(transport.connected_peers()))
        for direction, counts in (("sent", transport.messages_sent), ("received", transport.messages_received)):
            family = CounterMetricFamily(PREFIX + f"peer_messages_{direction}", f"Peer messages {direction} per peer validator (short address).", labels=["peer"])
            for key, count in list(counts.items()):
                family.add_metric([short_address(key)], count)
            yield family
        dropped = CounterMetricFamily(PREFIX + "peer_messages_dropped", "Outgoing peer messages dropped because a peer's outbox was full.")
        dropped.add_metric([], transport.messages_dropped)
        yield dropped


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, value=value)
