"""GET /metrics on real nodes: the Prometheus text format parses, and the counters move by exactly what the
payments did (docs/operations.md, "Monitoring")."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from corridor.keys import load_key, parse_address
from corridor.node.metrics import short_address

from .conftest import Network, wait_for

Samples = dict[tuple[str, frozenset], float]


def scrape(net: Network, node: int = 0) -> Samples:
    """Every sample of the node's /metrics, keyed by (sample name, labels)."""
    response = net.get("/metrics", node=node)
    assert response.status == 200, response
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    samples: Samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    """One sample's value; a counter series that does not exist yet is 0."""
    return samples.get((metric, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, metric: str, /, **labels: str) -> float:
    return value(after, metric, **labels) - value(before, metric, **labels)


def transfer_fields(to: str, amount_minor: int) -> dict:
    return {"to": parse_address(to), "currency": "USD", "amount_minor": amount_minor, "memo": ""}


def test_metrics_move_with_payments(network: Network) -> None:
    net = network
    alice, bob = net.new_account("alice"), net.new_account("bob")
    before = scrape(net)
    names = {name for name, _ in before}
    for name in ("corridor_height", "corridor_mempool_txs", "corridor_peers_connected", "corridor_node_info",
                 "corridor_txs_per_block_count", "corridor_submit_to_commit_seconds_count",
                 "corridor_signature_verifications_total", "corridor_store_write_seconds_count"):
        assert name in names, f"{name} missing from /metrics"
    info = next(dict(labels) for name, labels in before if name == "corridor_node_info")
    assert info["chain_id"] == net.chain_id and info["validator"].startswith("cor1") and info["moniker"] == "node0"
    assert value(before, "corridor_peers_connected") == 0 and value(before, "corridor_validators") == 1

    net.fund(alice, "USD", 1_000)
    # Three transfers in one batch, without waiting: they may share a block.
    nonce = net.account(alice.address)["next_nonce"]
    transfers = [net.sign(alice, "transfer", transfer_fields(bob.address, 10 + i), nonce=nonce + i) for i in range(3)]
    response = net.post("/v1/txs", {"txs": [tx.raw.hex() for tx in transfers]})
    assert response.status == 202 and all("error" not in r for r in response.json["results"]), response
    for tx in transfers:
        wait_for(lambda: net.get(f"/v1/txs/{tx.hash.hex()}").json.get("status") == "committed", 30, "the transfers to commit")
    refused = net.submit(net.sign(alice, "transfer", transfer_fields(bob.address, 1_000_000)))
    assert (refused.status, refused.error_code) == (422, "insufficient_funds"), refused

    after = scrape(net)
    height = net.node0.height()
    blocks = height - value(before, "corridor_height")
    assert value(after, "corridor_height") == height and blocks >= 2  # the mint, then at least one block of transfers
    assert moved(before, after, "corridor_txs_committed_total", type="mint", result="applied") == 1
    assert moved(before, after, "corridor_txs_committed_total", type="transfer", result="applied") == 3
    assert moved(before, after, "corridor_mempool_rejections_total", code="insufficient_funds", source="client") == 1
    assert sum(v for (name, _), v in after.items() if name == "corridor_mempool_rejections_total") == 1
    assert moved(before, after, "corridor_submit_to_commit_seconds_count") == 4
    assert moved(before, after, "corridor_submit_to_commit_seconds_sum") > 0
    assert moved(before, after, "corridor_submit_to_commit_seconds_bucket", le="+Inf") == 4
    assert moved(before, after, "corridor_txs_per_block_count") == blocks
    assert moved(before, after, "corridor_txs_per_block_sum") == 4
    assert moved(before, after, "corridor_rounds_per_height_count") == blocks
    assert moved(before, after, "corridor_rounds_per_height_bucket", le="1.0") == blocks  # one validator: round 0 always
    assert moved(before, after, "corridor_store_write_seconds_count") == blocks
    assert moved(before, after, "corridor_block_interval_seconds_count") == blocks - (value(before, "corridor_height") == 0)
    assert moved(before, after, "corridor_signature_verifications_total", result="valid") >= 5  # each tx, the refused one too
    assert value(after, "corridor_mempool_txs") == 0
    assert value(after, "corridor_mempool_capacity_txs") > 0
    node0 = short_address(load_key(net.node0.home / "node_key.json").public_key)
    assert moved(before, after, "corridor_missed_votes_total", validator=node0, name="node0") == 0
    assert value(after, "corridor_missed_votes_total", validator=node0, name="node0") == 0
    assert ("corridor_missed_votes_total", frozenset({("validator", node0), ("name", "node0")})) in after


def test_a_stopped_validator_misses_every_vote(network_factory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    alice, bob = net.new_account("alice"), net.new_account("bob")
    net.fund(alice, "USD", 1_000)
    label = {i: short_address(load_key(node.home / "node_key.json").public_key) for i, node in enumerate(net.nodes)}
    wait_for(lambda: value(scrape(net), "corridor_peers_connected") == 3, 10, "node0 to connect to its 3 peers")

    net.nodes[3].kill()
    wait_for(lambda: value(scrape(net), "corridor_peers_connected") == 2, 10, "node0 to see node3 go")
    before = scrape(net)
    for amount in (5, 6):
        response = net.submit(net.sign(alice, "transfer", transfer_fields(bob.address, amount)))
        assert response.status == 200 and response.json["status"] == "committed", response
    after = scrape(net)
    blocks = value(after, "corridor_height") - value(before, "corridor_height")
    assert blocks >= 2
    # Three validators of four are a bare quorum: every certificate has exactly nodes 0, 1 and 2.
    assert moved(before, after, "corridor_missed_votes_total", validator=label[3], name="node3") == blocks
    for i in (0, 1, 2):
        assert moved(before, after, "corridor_missed_votes_total", validator=label[i], name=f"node{i}") == 0
    assert value(after, "corridor_validators") == 4
    for i in (1, 2):
        assert moved(before, after, "corridor_peer_messages_received_total", peer=label[i]) > 0
        assert moved(before, after, "corridor_peer_messages_sent_total", peer=label[i]) > 0
    assert moved(before, after, "corridor_peer_messages_sent_total", peer=label[3]) == 0
