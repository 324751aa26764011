"""Consortium governance on real validators, through the CLI: `corridor gov propose|sign|submit|history|validators`
and `corridor verify-block`.

One four-validator network (power 10 each: a quorum is 3 of 4) registers a currency, refused with only two
signatures (the refusal names the validators missing) and committed with three, then removes node3; past the
effective height the remaining three commit alone and a verifier trusting only the genesis file follows the set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corridor.keys import load_key, parse_address

from .conftest import Network, NetworkFactory, wait_for


def node_key(net: Network, index: int) -> Path:
    return net.nodes[index].home / "node_key.json"


def genesis_file(net: Network) -> Path:
    return net.nodes[0].home / "genesis.json"


def public_key_hex(net: Network, index: int) -> str:
    return load_key(node_key(net, index)).public_key.hex()


def cli_ok(net: Network, *args: str, node: int = 0) -> str:
    result = net.cli(*args, node=node)
    assert result.returncode == 0, f"corridor {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def sign(net: Network, proposal: Path, index: int) -> None:
    out = cli_ok(net, "gov", "sign", str(proposal), "--key", str(node_key(net, index)), "--yes")
    assert "signed" in out


def submit_committed(net: Network, proposal: Path) -> dict:
    answer = json.loads(cli_ok(net, "gov", "submit", str(proposal), "--wait", "--json"))
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer


def one_block(net: Network, sender, recipient, node: int = 0) -> int:
    """Commit a transfer (a chain with nothing to do makes no blocks); the height it committed at."""
    tx = net.sign(sender, "transfer", {"to": parse_address(recipient.address), "currency": "USD", "amount_minor": 1, "memo": ""}, node=node)
    response = net.submit(tx, node=node, timeout_s=20)
    assert response.status == 200 and response.json["status"] == "committed", response
    return response.json["receipt"]["height"]


def verify_latest(net: Network, node: int = 0) -> dict:
    return json.loads(cli_ok(net, "verify-block", "latest", "--genesis", str(genesis_file(net)), "--json", node=node))


def test_register_a_currency_then_remove_a_validator(network_factory: NetworkFactory) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    names = [f"node{i}" for i in range(4)]
    sender, recipient = net.accounts[0], net.accounts[1]
    krw_issuer, krw_auditor = net.new_account("krw-issuer"), net.new_account("krw-auditor")
    work = net.root / "scratch"

    # register KRW: two signatures (20 of 40) are refused, naming the two validators missing ------------
    proposal = work / "krw.json"
    out = cli_ok(net, "gov", "propose", "register-currency", "--key", str(node_key(net, 0)), "--out", str(proposal),
                 "--code", "krw", "--decimals", "0", "--issuer", krw_issuer.address, "--auditor", krw_auditor.address)
    assert "gov_register_currency" in out
    sign(net, proposal, 1)
    assert len(json.loads(proposal.read_text())["signatures"]) == 2
    result = net.cli("gov", "submit", str(proposal), "--wait")
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "governance_quorum_missing" in result.stderr
    missing_line = result.stderr.split("Missing signatures of:")[1]
    assert "node2" in missing_line and "node3" in missing_line, result.stderr
    assert "node0" not in missing_line and "node1" not in missing_line, result.stderr
    assert "Traceback" not in result.stderr
    assert "20 of 40" in result.stdout  # what it showed before submitting
    assert all(c["code"] != "KRW" for c in net.get("/v1/currencies").json["currencies"])
    assert net.get("/v1/governance").json["next_nonce"] == 0

    # the API names them too, with their keys and power
    from corridor.client.proposal import Proposal

    response = net.submit(Proposal.load(proposal).transaction(), wait=False)
    assert response.status == 422 and response.error_code == "governance_quorum_missing", response
    assert sorted(m["name"] for m in response.json["missing"]) == ["node2", "node3"]
    assert {m["public_key"] for m in response.json["missing"]} == {public_key_hex(net, 2), public_key_hex(net, 3)}

    # a third signature (30 of 40) commits it
    sign(net, proposal, 2)
    answer = submit_committed(net, proposal)
    registered_at = answer["receipt"]["height"]
    krw = net.currency("KRW")
    assert (krw["decimals"], krw["issuer"], krw["supply_minor"], krw["reserve_minor"]) == (0, krw_issuer.address, 0, 0)
    assert krw["auditor"] == krw_auditor.address
    for node in (1, 2, 3):  # every validator applied it
        wait_for(lambda node=node: net.get("/v1/status", node=node).json["height"] >= registered_at, 10, f"node{node} to commit")
        assert any(c["code"] == "KRW" for c in net.get("/v1/currencies", node=node).json["currencies"])
    history = net.cli_json("gov", "history")
    assert history["next_nonce"] == 1
    assert [(item["type"], item["height"]) for item in history["history"]] == [("gov_register_currency", registered_at)]
    assert item_signers(history["history"][0]) == {public_key_hex(net, i) for i in (0, 1, 2)}
    # submitting the same proposal again is a duplicate or a stale nonce, never a second registration
    again = net.cli("gov", "submit", str(proposal), "--wait")
    assert again.returncode == 3, (again.returncode, again.stderr)

    # remove node3 (power 0) three blocks from now ----------------------------------------------------------
    removal = work / "remove-node3.json"
    cli_ok(net, "gov", "propose", "set-validator", "--key", str(node_key(net, 1)), "--out", str(removal),
           "--validator-key", public_key_hex(net, 3), "--name", "node3", "--power", "0", "--in-blocks", "3")
    sign(net, removal, 2)
    sign(net, removal, 3)  # node3 agrees to leave
    answer = submit_committed(net, removal)
    event = answer["receipt"]["events"][0]
    assert event["kind"] == "validator_change_scheduled" and event["power"] == 0
    effective = event["effective_height"]
    assert effective - answer["receipt"]["height"] >= 2
    scheduled = net.cli_json("gov", "validators")
    assert len(scheduled["validators"]) == 4
    assert [(s["name"], s["power"], s["effective_height"]) for s in scheduled["scheduled"]] == [("node3", 0, effective)]

    # the chain moves only when there is something to commit: drive it past the effective height
    while one_block(net, sender, recipient) < effective + 1:
        pass
    validators = net.cli_json("gov", "validators")
    assert sorted(v["name"] for v in validators["validators"]) == names[:3]
    assert validators["scheduled"] == []
    assert len(net.get("/v1/status").json["validators"]) == 3
    assert net.cli_json("gov", "history")["next_nonce"] == 2

    verified = verify_latest(net)
    assert verified["valid"] is True and verified["height"] >= effective + 1
    assert (verified["signed_power"], verified["total_power"]) == (30, 30)
    assert sorted(verified["signers"]) == names[:3]
    # a block from before the change still verifies against the set of its own height
    old = json.loads(cli_ok(net, "verify-block", str(effective - 1), "--genesis", str(genesis_file(net)), "--json"))
    assert old["total_power"] == 40 and old["signed_power"] >= 30

    # node3 no longer matters: stop it and the remaining three (all of whom a quorum of 21 of 30 needs) go on
    net.nodes[3].kill()
    before = net.nodes[0].height()
    for node in (0, 1, 2):
        assert one_block(net, sender, recipient, node=node) > before
    final = verify_latest(net, node=2)
    assert (final["signed_power"], final["total_power"]) == (30, 30) and final["height"] >= before + 3
    top = net.nodes[0].height()
    for i in (1, 2):
        net.nodes[i].wait_height(top, timeout_s=10)
    assert len({net.get(f"/v1/blocks/{top}", node=i).json["hash"] for i in (0, 1, 2)}) == 1


def item_signers(item: dict) -> set[str]:
    return set(item["signers"])


def test_the_smallest_in_blocks_the_cli_accepts_commits(network_factory: NetworkFactory) -> None:
    net = network_factory.create(validators=1, currencies=("USD",))
    proposal = net.root / "scratch" / "repower.json"
    cli_ok(net, "gov", "propose", "set-validator", "--key", str(node_key(net, 0)), "--out", str(proposal),
           "--validator-key", public_key_hex(net, 0), "--name", "node0", "--power", "20", "--in-blocks", "2")
    result = net.cli("gov", "submit", str(proposal), "--wait", "--json")
    assert result.returncode == 0, result.stderr
