"""Four real validators on loopback: fault tolerance, halting without conflict, catch-up, evidence."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

from corridor.consensus.messages import PREVOTE, Vote
from corridor.consensus.certificate import vote_signing_bytes
from corridor.keys import load_key, parse_address
from corridor.node.p2p import Transport

from .conftest import Network, http_request, wait_for

HALT_OBSERVATION_S = 3.0


def transfer(net: Network, sender, recipient, amount_minor: int, node: int, wait: bool = True):
    tx = net.sign(sender, "transfer", {"to": parse_address(recipient.address), "currency": "USD", "amount_minor": amount_minor, "memo": ""}, node=node)
    return tx, net.submit(tx, wait=wait, node=node)


def chain_views(net: Network, node: int, top: int) -> list[tuple[str, str]]:
    """(block hash, state root) of every height up to `top`, as node `node` serves them."""
    views = []
    for height in range(1, top + 1):
        block = net.get(f"/v1/blocks/{height}", node=node).json
        views.append((block["hash"], block["header"]["state_root"]))
    return views


def test_survives_one_down_halts_with_two_down_and_catches_up(network_factory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    alice, bob = net.new_account("alice"), net.new_account("bob")
    net.fund(alice, "USD", 10_000)

    net.nodes[3].kill()
    _, response = transfer(net, alice, bob, 100, node=0)
    assert response.status == 200 and response.json["status"] == "committed", response

    net.nodes[2].kill()
    height_at_halt = net.nodes[0].height()
    pending_tx, response = transfer(net, alice, bob, 50, node=1, wait=False)
    assert response.status == 202, response
    time.sleep(HALT_OBSERVATION_S)  # a halt can only be observed over time: nothing may commit meanwhile
    assert net.nodes[0].height() == height_at_halt
    assert net.nodes[1].height() == height_at_halt
    pending = net.get(f"/v1/txs/{pending_tx.hash.hex()}", node=1)
    assert pending.status == 200 and pending.json["status"] == "pending", pending
    assert pending.json["tx"]["hash"] == pending_tx.hash.hex() and pending.json["tx"]["type"] == "transfer"
    assert "receipt" not in pending.json, "a pending transaction has no receipt yet"

    net.nodes[2].restart()
    net.nodes[3].restart()
    wait_for(lambda: net.get(f"/v1/txs/{pending_tx.hash.hex()}", node=3).json.get("status") == "committed",
             30, "the transfer submitted during the halt to commit, as seen by a restarted node")
    _, response = transfer(net, bob, alice, 25, node=2)
    assert response.status == 200 and response.json["status"] == "committed", response
    top = net.nodes[2].height()
    for node in net.nodes:
        node.wait_height(top)
    reference = chain_views(net, 0, top)
    for index in (1, 2, 3):
        assert chain_views(net, index, top) == reference, f"node{index} disagrees with node0"
    assert net.balance(bob.address, "USD", node=3) == 100 + 50 - 25


def test_a_transaction_submitted_to_any_validator_commits_everywhere(network_factory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    payer, payee = net.new_account("payer"), net.new_account("payee")
    net.fund(payer, "USD", 1_000)
    for node in range(4):
        _, response = transfer(net, payer, payee, 10 + node, node=node)
        assert response.status == 200 and response.json["status"] == "committed", response
    top = max(n.height() for n in net.nodes)
    for index, node in enumerate(net.nodes):
        node.wait_height(top)
        assert net.balance(payee.address, "USD", node=index) == 10 + 11 + 12 + 13


def test_verify_block_checks_a_block_against_the_genesis_alone(network_factory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    net.fund(net.new_account("holder"), "USD", 500)
    genesis = str(net.nodes[0].home / "genesis.json")
    result = net.cli("verify-block", "1", "--genesis", genesis, "--json", node=2)
    assert result.returncode == 0, result.stderr
    verified = json.loads(result.stdout)
    assert verified["valid"] is True and verified["height"] == 1
    assert verified["signed_power"] >= 27 and verified["total_power"] == 40
    other = network_factory.create(validators=1, currencies=("USD",), start=False)
    result = net.cli("verify-block", "1", "--genesis", str(other.nodes[0].home / "genesis.json"), node=2)
    assert result.returncode != 0 and "NOT valid" in result.stderr


async def _double_vote(net: Network, byzantine: int, height: int) -> None:
    """Connect as validator `byzantine` (its node is not running) and send two conflicting prevotes."""
    key = load_key(net.nodes[byzantine].home / "node_key.json")
    genesis = json.loads((net.nodes[0].home / "genesis.json").read_text())
    validator_keys = {bytes.fromhex(v["public_key"]) for v in genesis["validators"]}
    honest = tuple(node.p2p for i, node in enumerate(net.nodes) if i != byzantine)
    host, port = net.nodes[byzantine].p2p.rsplit(":", 1)
    transport = Transport(net.chain_id, key, validator_keys, host, int(port), honest, lambda *message: None, lambda peer: None)
    await transport.start()
    try:
        deadline = time.monotonic() + 15
        while len(transport.connected_peers()) < len(honest):
            assert time.monotonic() < deadline, "the byzantine validator could not connect to the honest ones"
            await asyncio.sleep(0.05)
        for block_hash in sorted(secrets.token_bytes(32) for _ in range(2)):
            signature = key.sign(vote_signing_bytes(net.chain_id, PREVOTE, height, 0, block_hash))
            transport.broadcast("vote", Vote(PREVOTE, height, 0, block_hash, key.public_key, signature).to_map())
        await asyncio.sleep(1.0)  # let the outboxes drain before the connections close
    finally:
        await transport.stop()


def test_a_double_vote_becomes_committed_evidence(network_factory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",), start=False)
    for node in net.nodes[:3]:
        node.start(wait=False)
    for node in net.nodes[:3]:
        node.wait_ready()
    net.fund(net.new_account("holder"), "USD", 500)
    height = net.nodes[0].status()["consensus"]["height"]
    asyncio.run(_double_vote(net, byzantine=3, height=height))
    byzantine_key = load_key(net.nodes[3].home / "node_key.json").public_key.hex()
    for index in range(3):
        evidence = wait_for(lambda: net.get("/v1/evidence", node=index).json["evidence"], 20, f"evidence at node{index}")
        assert [item["validator"] for item in evidence] == [byzantine_key]
        assert evidence[0]["height"] == height and evidence[0]["step"] == "prevote"
    result = net.cli("query", "evidence", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)[0]["validator"] == byzantine_key
