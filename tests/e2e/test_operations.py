"""The operations guide (docs/operations.md), run as written on real node processes.

Every fenced block of the guide carries a label (`<!-- ops:NAME -->` on the line before it). This module reads
the blocks from the guide itself and runs each bash block with `bash -euo pipefail`, the `corridor` console
script first on PATH and the guide's variables (NODE_HOME, NODE_API, ...) set for the node at hand; the JSON
blocks (the genesis and config.json templates) are filled in and used to build the network the tests run on.
So a command changed in the guide is the command the tests run, and:

- every fenced block of the guide must be labelled, and every label must be run by the test named for it in
  COVERAGE, which fails if it did not run exactly its blocks;
- every `corridor ...` command the guide's prose mentions must be one of the blocks' commands, with options
  that block uses.

The network: four validators on loopback, each with its own home made the guide's way (keys new, a genesis
and a config.json from the templates, genesis digests compared), shared by the tests of this module. Each
test leaves all four running.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import textwrap
import time
from copy import deepcopy
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import click
import pytest

from corridor.cli.main import EXIT_CODES, cli
from corridor.keys import parse_address
from corridor.node.config import load_config

from .conftest import (CORRIDOR, NETWORKS_KEY, Account, Network, Node, PortAllocator, run_cli, table_row,
                       wait_for)

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
BLOCK = re.compile(r"^[ \t]*<!-- ops:([a-z0-9-]+) -->\n([ \t]*)```(bash|json)\n(.*?)\n\2```[ \t]*$", re.M | re.S)
OPENING_FENCE = re.compile(r"^[ \t]*```(\w+)", re.M)
STOP_TIMEOUT_S = 15.0
HALT_OBSERVATION_S = 2.5

# Which test (or fixture) runs which blocks of the guide. The union must be every label of the guide.
COVERAGE: dict[str, set[str]] = {
    "guide_net": {"node-key", "issuer-key", "genesis", "genesis-digest", "config", "start", "verify-genesis"},
    "test_the_guide_built_network_is_in_step": {"status", "metrics-check"},
    "test_stop_upgrade_and_kill": {"stop", "version", "start", "status"},
    "test_backup_restore_and_rebuild_from_peers": {"stop", "backup", "restore", "start", "rebuild", "peer-status",
                                                   "status", "evidence"},
    "test_node_key_rotation_through_governance": {"new-node-key", "propose-add-key", "gov-sign", "gov-submit",
                                                  "gov-validators", "stop", "swap-node-key", "start", "old-node-key",
                                                  "propose-remove-key"},
    "test_issuer_key_rotation_through_governance": {"issuer-key", "propose-set-issuer", "gov-sign", "gov-submit"},
    "test_testnet_writes_what_the_guide_lists": {"testnet"},
    "test_shell_completion_scripts": {"completion-bash", "completion-zsh", "completion-fish"},
    "test_exit_codes_are_documented_and_pinned": {"help"},
}


# the guide ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    label: str
    language: str
    text: str

    @property
    def command_lines(self) -> list[str]:
        """The block's commands, one per line, with continuation lines joined and comments dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def guide_text() -> str:
    return GUIDE.read_text()


def guide_blocks() -> dict[str, Block]:
    text = guide_text()
    blocks: dict[str, Block] = {}
    for match in BLOCK.finditer(text):
        label, _indent, language, body = match.groups()
        assert label not in blocks, f"the guide labels two blocks {label!r}"
        blocks[label] = Block(label, language, textwrap.dedent(body))
    return blocks


class Guide:
    """Runs the guide's blocks and remembers which ran."""

    def __init__(self, blocks: dict[str, Block], home: Path) -> None:
        self.blocks = blocks
        self.home = home  # $HOME of the commands (shell completion writes there)
        self.ran: set[str] = set()

    def _block(self, label: str, language: str) -> Block:
        block = self.blocks.get(label)
        assert block is not None, f"docs/operations.md has no block labelled {label!r}"
        assert block.language == language, f"block {label!r} is {block.language}, not {language}"
        return block

    def env(self, variables: dict[str, Any]) -> dict[str, str]:
        env = {**os.environ, "PATH": f"{CORRIDOR.parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "HOME": str(self.home), "COLUMNS": "160"}
        env.pop("CORRIDOR_NODE", None)
        env.update({name: str(value) for name, value in variables.items()})
        return env

    def run(self, label: str, stdin: str = "", check: bool = True, cwd: Path | None = None, timeout_s: float = 60,
            **variables: Any) -> subprocess.CompletedProcess:
        """Run a bash block of the guide with `variables` set; with `check`, it must exit 0."""
        block = self._block(label, "bash")
        self.ran.add(label)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], input=stdin, capture_output=True,
                                text=True, env=self.env(variables), timeout=timeout_s, cwd=cwd or self.home)
        if check:
            assert result.returncode == 0, (f"guide block {label!r} failed ({result.returncode}):\n{block.text}\n"
                                            f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def spawn(self, label: str, **variables: Any) -> subprocess.Popen:
        """Start a bash block of the guide without waiting for it (the stop block waits for the node)."""
        block = self._block(label, "bash")
        self.ran.add(label)
        return subprocess.Popen(["bash", "-euo", "pipefail", "-c", block.text], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(variables), cwd=self.home)

    def argv(self, label: str, **variables: Any) -> list[str]:
        """The one command of a bash block, split into words with `variables` substituted."""
        block = self._block(label, "bash")
        lines = block.command_lines
        assert len(lines) == 1, f"block {label!r} should hold one command: {lines}"
        self.ran.add(label)

        def substitute(word: str) -> str:
            return re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: str(variables[m.group(1)]), word)

        return [substitute(word) for word in shlex.split(lines[0])]

    def template(self, label: str) -> Any:
        self.ran.add(label)
        return json.loads(self._block(label, "json").text)

    def start(self, node: Node) -> None:
        """The guide's start command is exactly the command the harness runs for a node; run it."""
        assert self.argv("start", NODE_HOME=node.home) == ["corridor", "start", "--home", str(node.home)]
        node.start(wait=False)

    def stop(self, node: Node) -> int:
        """The guide's stop block: SIGTERM, then it waits for the process to be gone. Returns the exit code."""
        block = self.spawn("stop", NODE_PID=node.pid)
        code = node.wait_exit(STOP_TIMEOUT_S)  # reaps the node, which ends the block's wait loop
        assert code is not None, f"{node.name} did not stop on SIGTERM within {STOP_TIMEOUT_S} s"
        out, err = block.communicate(timeout=STOP_TIMEOUT_S)
        assert block.returncode == 0, (block.returncode, out, err)
        return code


# the network the tests share --------------------------------------------------------------------------------


@dataclass
class GuideNet:
    net: Network
    root: Path
    names: list[str]
    sink: Account

    @property
    def nodes(self) -> list[Node]:
        return self.net.nodes

    def vars(self, index: int, **more: Any) -> dict[str, Any]:
        node = self.nodes[index]
        return {"NODE_HOME": node.home, "NODE_API": node.api, "MONIKER": self.names[index], **more}

    def block(self, node: int = 0) -> int:
        """Commit one transaction (a chain with nothing to do makes no blocks); the height it committed at."""
        answer = self.net.commit(self.net.issuers["EUR"], "mint",
                                 {"to": parse_address(self.sink.address), "currency": "EUR", "amount_minor": 1}, node=node)
        return answer["receipt"]["height"]

    def block_hashes(self, node: int, top: int) -> list[tuple[str, str]]:
        views = []
        for height in range(1, top + 1):
            block = self.net.get(f"/v1/blocks/{height}", node=node).json
            views.append((block["hash"], block["header"]["state_root"]))
        return views

    def in_step(self, indexes: tuple[int, ...] = (0, 1, 2, 3)) -> int:
        """Wait until the given nodes are at one height and connected to each other; that height."""
        def same() -> int | None:
            statuses = [self.nodes[i].status() for i in indexes]
            heights = {s["height"] for s in statuses}
            connected = all(len(s["peers"]) >= len(indexes) - 1 for s in statuses)
            return statuses[0]["height"] if len(heights) == 1 and connected else None

        return wait_for(same, 30, f"nodes {indexes} to be at one height and connected")


def last_stop_height(node: Node) -> int:
    heights = re.findall(r"node stopped cleanly at height (\d+)", node.log_text())
    assert heights, f"{node.name} never logged a clean stop:\n{node.log_tail()}"
    return int(heights[-1])


def last_start_height(node: Node) -> int:
    heights = re.findall(r"node \S+ serving \S+ for chain \S+ at height (\d+)", node.log_text())
    assert heights, f"{node.name} never logged its start:\n{node.log_tail()}"
    return int(heights[-1])


def build_network_from_the_guide(guide: Guide, root: Path, base_port: int) -> GuideNet:
    """Four validators set up the way the guide tells separate banks to, on loopback ports."""
    genesis = guide.template("genesis")
    config_template = guide.template("config")
    names = [v["name"] for v in genesis["validators"]]
    assert len(names) == 4
    keys_dir = root / "keys"

    homes = [root / name for name in names]
    for validator, home in zip(genesis["validators"], homes):  # step 1, on each validator's machine
        made = json.loads(guide.run("node-key", NODE_HOME=home).stdout)
        assert (home / "node_key.json").is_file()
        validator["public_key"] = made["public_key"]
    issuers = {}
    for currency in genesis["currencies"]:  # step 2, each issuer
        path = keys_dir / f"issuer-{currency['code']}.json"
        currency["issuer"] = guide.run("issuer-key", ISSUER_KEY=path).stdout.strip()
        assert currency["issuer"].startswith("cor1")
        # the reserve auditor makes its key the same way (step 2), on its own machine
        currency["auditor"] = guide.run("issuer-key", ISSUER_KEY=keys_dir / f"auditor-{currency['code']}.json").stdout.strip()
        assert currency["auditor"].startswith("cor1") and currency["auditor"] != currency["issuer"]
        currency["reserve_report_hash"] = hashlib.sha256(f"audit report {currency['code']}".encode()).hexdigest()
        issuers[currency["code"]] = str(path)
    # The coordinator sets the chain's start: the reserves are attested as of then, and go stale 35 days later.
    genesis["genesis_time_ms"] = int(time.time() * 1000)
    text = json.dumps(genesis, indent=2) + "\n"  # step 3, the coordinator
    digests = set()
    for home in homes:  # step 4, every operator
        (home / "genesis.json").write_text(text)
        digests.add(guide.run("genesis-digest", NODE_HOME=home).stdout.split()[0])
    assert digests == {hashlib.sha256(text.encode()).hexdigest()}

    template_home = root / "config-template"  # step 5: the template itself is a valid config
    template_home.mkdir()
    (template_home / "config.json").write_text(json.dumps(config_template))
    loaded = load_config(template_home)
    assert (loaded.moniker, loaded.verify_workers, loaded.p2p_delay_ms) == (config_template["moniker"], None, 0)
    assert len(loaded.peers) == 3
    nodes = []
    for index, home in enumerate(homes):
        api_port, p2p_port = base_port + 2 * index, base_port + 2 * index + 1
        config = deepcopy(config_template)
        config["moniker"] = names[index]
        config["api"] = {"host": "127.0.0.1", "port": api_port}
        config["p2p"] = {"host": "127.0.0.1", "port": p2p_port}
        config["peers"] = [f"127.0.0.1:{base_port + 2 * i + 1}" for i in range(4) if i != index]
        config["verify"] = {"workers": 0}  # four validators share this machine's cores
        assert set(config) == set(config_template)
        (home / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        nodes.append({"home": str(home), "api": f"http://127.0.0.1:{api_port}", "p2p": f"127.0.0.1:{p2p_port}"})

    net = Network(root, {"chain_id": genesis["chain_id"], "nodes": nodes, "issuers": issuers, "accounts": []}, root)
    for node in net.nodes:  # step 7
        guide.start(node)
    for node in net.nodes:
        node.wait_ready()
    gnet = GuideNet(net, root, names, net.new_account("sink"))
    gnet.block()  # the first block
    for index in (0, 3):
        verified = guide.run("verify-genesis", **gnet.vars(index)).stdout
        assert "block 1 is valid and final" in verified, verified
    return gnet


@pytest.fixture(scope="module")
def guide_net(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[GuideNet]:
    root = tmp_path_factory.mktemp("ops")
    guide = Guide(guide_blocks(), root)
    gnet = build_network_from_the_guide(guide, root, port_allocator.allocate(8))
    assert guide.ran == COVERAGE["guide_net"], guide.ran ^ COVERAGE["guide_net"]
    yield gnet
    gnet.net.stop()


@pytest.fixture
def gnet(guide_net: GuideNet, request: pytest.FixtureRequest) -> Iterator[GuideNet]:
    """The shared network, attached to this test (log tails on failure; nodes it stopped are started again)."""
    request.node.stash.setdefault(NETWORKS_KEY, []).append([guide_net.net])
    yield guide_net
    crashed = guide_net.net.crashed_nodes()
    for node in guide_net.nodes:
        if not node.running:
            node.start(wait=False)
    for node in guide_net.nodes:
        node.wait_ready()
    if crashed:
        pytest.fail("node(s) died during this test: " + "; ".join(f"{n.name}\n{n.log_tail()}" for n in crashed))


@pytest.fixture
def guide(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Guide]:
    """The guide's blocks for one test; if the test passes, it must have run exactly its COVERAGE blocks."""
    runner = Guide(guide_blocks(), tmp_path)
    failed_before = request.session.testsfailed
    yield runner
    expected = COVERAGE.get(request.node.name, set())
    if request.session.testsfailed == failed_before and runner.ran != expected:
        pytest.fail(f"{request.node.name} ran guide blocks {sorted(runner.ran)}, COVERAGE says {sorted(expected)}")


# the guide and its tests stay in step ---------------------------------------------------------------------


def test_every_block_of_the_guide_is_labelled_and_run() -> None:
    text = guide_text()
    blocks = guide_blocks()
    assert len(OPENING_FENCE.findall(text)) == len(blocks), "every fenced block needs an <!-- ops:NAME --> label"
    covered = set().union(*COVERAGE.values())
    assert set(blocks) - covered == set(), f"blocks no test runs: {sorted(set(blocks) - covered)}"
    assert covered - set(blocks) == set(), f"COVERAGE names blocks the guide lacks: {sorted(covered - set(blocks))}"


def test_commands_in_the_prose_are_commands_of_the_blocks() -> None:
    """`corridor …` in the prose names a command a block runs, with options that block uses."""
    commands = [shlex.split(line) for block in guide_blocks().values() if block.language == "bash"
                for line in block.command_lines if line.startswith("corridor")]

    def path_and_options(words: list[str]) -> tuple[list[str], set[str]]:
        path = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        return path, {word for word in words if word.startswith("--")}

    mentioned = [span for span in re.findall(r"`([^`\n]+)`", guide_text()) if span.startswith("corridor ")]
    assert mentioned, "the guide's prose mentions no command?"
    for span in mentioned:
        path, options = path_and_options(span.replace("…", "").split())
        assert any(path_and_options(words)[0] == path and options <= path_and_options(words)[1] for words in commands), \
            f"the guide mentions `{span}`, which no block runs"


# the network ----------------------------------------------------------------------------------------------


def test_the_guide_built_network_is_in_step(gnet: GuideNet, guide: Guide) -> None:
    height = gnet.in_step()
    shown = guide.run("status", **gnet.vars(1)).stdout
    assert table_row(shown, "chain_id")[1] == gnet.net.chain_id
    assert table_row(shown, "height")[1] == str(height)
    assert re.fullmatch(rf"height {height + 1}, round \d+, \w+", table_row(shown, "consensus")[1]), shown
    assert table_row(shown, "syncing")[1].startswith("in step"), shown
    assert table_row(shown, "peers")[1] == "3 connected of 3 other validator(s)"
    assert table_row(shown, "bank-eur")[3] == "this node"
    for name in ("bank-usd", "bank-jpy", "bank-gbp"):
        assert table_row(shown, name)[3].startswith("connected, at height"), shown
    assert table_row(shown, "quorum")[1] == "more than 26 of 40 voting power"

    # --json is the API's answer, unchanged
    document = gnet.net.cli_json("status", node=1)
    assert set(document) == set(gnet.net.get("/v1/status", node=1).json)
    assert (document["chain_id"], document["moniker"]) == (gnet.net.chain_id, "bank-eur")

    metrics = guide.run("metrics-check", **gnet.vars(2)).stdout
    values = {name: float(value) for name, value in (line.split() for line in metrics.splitlines())}
    assert (values["corridor_peers_connected"], values["corridor_validators"]) == (3, 4), metrics
    assert values["corridor_height"] >= height and "corridor_consensus_round" in values


def test_stop_upgrade_and_kill(gnet: GuideNet, guide: Guide) -> None:
    net = gnet.net
    gnet.block()
    gnet.in_step()
    node1 = net.nodes[1]

    # SIGTERM is a clean stop; meanwhile (one of four down) the chain goes on
    assert guide.stop(node1) == 0
    stopped_at = last_stop_height(node1)
    assert gnet.block() > stopped_at
    shown = guide.run("status", **gnet.vars(0)).stdout
    assert table_row(shown, "bank-eur")[3] == "not connected", shown
    assert table_row(shown, "peers")[1] == "2 connected of 3 other validator(s)"

    # an upgrade: the node is stopped, the version checked, the node started: back at its height, then in step
    version = guide.run("version").stdout
    assert metadata.version("corridor") in version, version
    guide.start(node1)
    node1.wait_ready()
    assert last_start_height(node1) == stopped_at
    top = gnet.in_step()
    assert gnet.block_hashes(1, top) == gnet.block_hashes(0, top)

    # kill -9 loses nothing committed
    node2 = net.nodes[2]
    before = gnet.block(node=2)
    committed = gnet.block_hashes(2, before)
    node2.kill()
    gnet.block()
    node2.start()
    assert last_start_height(node2) >= before
    top = gnet.in_step()
    assert gnet.block_hashes(2, top)[:before] == committed
    assert gnet.block_hashes(2, top) == gnet.block_hashes(0, top)


def test_backup_restore_and_rebuild_from_peers(gnet: GuideNet, guide: Guide, tmp_path: Path) -> None:
    net = gnet.net
    gnet.block()
    gnet.in_step()
    node2, node3 = net.nodes[2], net.nodes[3]
    backup = tmp_path / "bank-gbp.tar.gz"

    # back up a stopped node, then lose its whole home
    assert guide.stop(node3) == 0
    stopped_at = last_stop_height(node3)
    guide.run("backup", BACKUP_FILE=backup, **gnet.vars(3))
    shutil.rmtree(node3.home)

    # two of four down: the chain halts, nothing commits, the transaction waits
    assert guide.stop(node2) == 0
    node2_last = last_stop_height(node2)
    halted_at = net.nodes[0].height()
    pending = net.sign(net.issuers["EUR"], "mint", {"to": parse_address(gnet.sink.address), "currency": "EUR",
                                                    "amount_minor": 1})
    assert net.submit(pending, wait=False).status == 202
    time.sleep(HALT_OBSERVATION_S)
    assert net.nodes[0].height() == halted_at and net.nodes[1].height() == halted_at
    shown = guide.run("status", **gnet.vars(0)).stdout
    assert table_row(shown, "bank-jpy")[3] == "not connected" and table_row(shown, "bank-gbp")[3] == "not connected"
    assert table_row(shown, "mempool_txs")[1] == "1", shown

    # restore the copy (made after the node's last stop: safe at any time): it comes back at its height and
    # the chain resumes, committing the waiting transaction
    guide.run("restore", BACKUP_FILE=backup, **gnet.vars(3))
    guide.start(node3)
    node3.wait_ready()
    assert last_start_height(node3) == stopped_at
    wait_for(lambda: net.get(f"/v1/txs/{pending.hash.hex()}").json.get("status") == "committed", 30,
             "the transaction that waited during the halt to commit")

    # rebuild the other one from its peers: its data moved aside, the peers past its last height, then started
    guide.run("rebuild", **gnet.vars(2))
    assert not (node2.home / "data").exists() and (node2.home / "data.broken").is_dir()
    peer = json.loads(guide.run("peer-status", PEER_API=net.nodes[0].api).stdout)
    assert peer["height"] > node2_last
    guide.start(node2)
    node2.wait_ready()
    assert last_start_height(node2) == 0
    gnet.block()
    top = gnet.in_step()
    reference = gnet.block_hashes(0, top)
    for index in (1, 2, 3):
        assert gnet.block_hashes(index, top) == reference, f"{net.nodes[index].name} disagrees"
    assert "caught up block 1 from a peer" in node2.log_text()
    assert table_row(guide.run("status", **gnet.vars(2)).stdout, "syncing")[1].startswith("in step")

    # nobody signed anything twice
    evidence = guide.run("evidence", **gnet.vars(2)).stdout
    assert "evidence of double signing" in evidence and "cor1" not in evidence, evidence
    assert net.get("/v1/evidence").json["evidence"] == []


def test_node_key_rotation_through_governance(gnet: GuideNet, guide: Guide, tmp_path: Path) -> None:
    net = gnet.net
    started = time.monotonic()
    gnet.in_step()
    node3 = net.nodes[3]
    keys_dir = tmp_path / "keys"
    proposal = tmp_path / "add-key.json"
    old_key = node3.status()["node_id"]

    new_key = json.loads(guide.run("new-node-key", KEYS_DIR=keys_dir).stdout)["public_key"]
    guide.run("propose-add-key", PROPOSAL=proposal, NEW_PUBLIC_KEY=new_key, **gnet.vars(3))
    for index in (0, 1):  # the other operators, each with its own key and node
        signed = guide.run("gov-sign", stdin="y\n", PROPOSAL=proposal, **gnet.vars(index)).stdout
        assert "gov_set_validator" in signed and new_key in signed, signed
    submitted = guide.run("gov-submit", PROPOSAL=proposal, **gnet.vars(3)).stdout
    assert "30 of 40 power" in submitted and "final" in submitted, submitted

    def in_set(key: str) -> bool:
        return any(v["public_key"] == key for v in net.get("/v1/validators").json["validators"])

    while not in_set(new_key):
        gnet.block()
    shown = guide.run("gov-validators", **gnet.vars(0)).stdout
    for key in (new_key, old_key):  # both in the set now, nothing scheduled
        rows = [line for line in shown.splitlines() if key in line]
        assert len(rows) == 1 and table_row(rows[0], "bank-gbp")[-1] == "now", shown
    assert len(net.get("/v1/validators").json["validators"]) == 5

    assert guide.stop(node3) == 0
    guide.run("swap-node-key", KEYS_DIR=keys_dir, **gnet.vars(3))
    guide.start(node3)
    assert node3.wait_ready()["node_id"] == new_key
    gnet.block()  # all four running validators (40 of 50) commit

    shown_old = json.loads(guide.run("old-node-key", KEYS_DIR=keys_dir).stdout)
    assert shown_old["public_key"] == old_key
    removal = tmp_path / "remove-key.json"
    guide.run("propose-remove-key", PROPOSAL=removal, OLD_PUBLIC_KEY=old_key, **gnet.vars(3))
    for index in (0, 1, 2):
        guide.run("gov-sign", stdin="y\n", PROPOSAL=removal, **gnet.vars(index))
    submitted = guide.run("gov-submit", PROPOSAL=removal, **gnet.vars(0)).stdout
    assert "40 of 50 power" in submitted, submitted
    while in_set(old_key):
        gnet.block()
    keys = {v["public_key"] for v in net.get("/v1/validators").json["validators"]}
    assert len(keys) == 4 and new_key in keys and old_key not in keys
    gnet.block(node=3)
    top = gnet.in_step()
    assert gnet.block_hashes(3, top) == gnet.block_hashes(0, top)
    elapsed = time.monotonic() - started
    print(f"node key rotation took {elapsed:.1f} s")


def test_issuer_key_rotation_through_governance(gnet: GuideNet, guide: Guide, tmp_path: Path) -> None:
    net = gnet.net
    gnet.in_step()
    new_issuer_path = tmp_path / "issuer-USD.new.json"
    new_issuer = guide.run("issuer-key", ISSUER_KEY=new_issuer_path).stdout.strip()
    proposal = tmp_path / "set-issuer.json"
    guide.run("propose-set-issuer", PROPOSAL=proposal, NEW_ISSUER_ADDRESS=new_issuer, **gnet.vars(0))
    for index in (1, 2):
        guide.run("gov-sign", stdin="y\n", PROPOSAL=proposal, **gnet.vars(index))
    guide.run("gov-submit", PROPOSAL=proposal, **gnet.vars(1))
    wait_for(lambda: net.currency("USD")["issuer"] == new_issuer, 10, "node0 to commit the new issuer")

    old_issuer = net.issuers["USD"]
    mint = {"to": parse_address(gnet.sink.address), "currency": "USD", "amount_minor": 100}
    refused = net.submit(net.sign(old_issuer, "mint", mint))
    assert (refused.status, refused.error_code) == (422, "not_issuer"), refused
    net.commit(Account.load(new_issuer_path), "mint", mint)
    assert net.balance(gnet.sink.address, "USD") == 100


# without the network --------------------------------------------------------------------------------------


def test_testnet_writes_what_the_guide_lists(guide: Guide, tmp_path: Path) -> None:
    guide.run("testnet", cwd=tmp_path)
    listed = set(re.findall(r"^\| `(trial-net/[^`]+)`", guide_text(), re.M))
    assert listed, "the guide's table of what corridor testnet writes is gone"
    for path in listed:
        first = path.replace(" …", "")
        assert (tmp_path / first).exists(), f"corridor testnet did not write {first}"
    for index in range(4):
        home = tmp_path / "trial-net" / f"node{index}"
        assert {p.name for p in home.iterdir()} == {"config.json", "node_key.json", "genesis.json"}
        assert set(json.loads((home / "config.json").read_text())) == set(json.loads(guide_blocks()["config"].text))


def test_shell_completion_scripts(guide: Guide) -> None:
    home = guide.home
    guide.run("completion-bash")
    guide.run("completion-zsh")
    guide.run("completion-fish")
    assert "_corridor_completion" in (home / ".corridor-complete.bash").read_text()
    assert ". ~/.corridor-complete.bash" in (home / ".bashrc").read_text()
    assert (home / ".corridor-complete.zsh").read_text().startswith("#compdef corridor")
    assert ". ~/.corridor-complete.zsh" in (home / ".zshrc").read_text()
    assert "complete" in (home / ".config/fish/completions/corridor.fish").read_text()

    def complete(*words: str) -> list[str]:
        script = ('. ~/.corridor-complete.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                  '_corridor_completion corridor; printf "%s\\n" "${COMPREPLY[@]}"')
        result = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, timeout=60,
                                env=guide.env({}))
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert {"start", "status"} <= set(complete("corridor", "st"))
    assert complete("corridor", "gov", "pro") == ["propose"]
    assert "--json" in complete("corridor", "status", "--")


def test_exit_codes_are_documented_and_pinned(gnet: GuideNet, guide: Guide, tmp_path: Path,
                                             port_allocator: PortAllocator) -> None:
    documented = {int(code): meaning for code, meaning in
                  re.findall(r"^\| ([0-9]) \| (.+) \|$", guide_text().split("## The corridor command")[1], re.M)}
    assert set(documented) == set(EXIT_CODES) == {0, 1, 2, 3}
    help_text = guide.run("help").stdout
    for code, meaning in EXIT_CODES.items():
        assert f"{code}  {meaning}" in help_text, help_text
    assert "_CORRIDOR_COMPLETE=bash_source corridor" in help_text

    node = gnet.nodes[0].api
    assert run_cli("status", "--node", node).returncode == 0
    nowhere = f"http://127.0.0.1:{port_allocator.allocate(1)}"
    assert run_cli("status", "--node", nowhere).returncode == 1
    assert run_cli("status", "--no-such-option").returncode == 2
    assert run_cli("query", "account", "--node", node).returncode == 2  # a missing argument
    assert run_cli("query", "tx", "00", "--node", node).returncode == 1  # an error answer (bad_hash) that is no refusal
    payer = tmp_path / "payer.json"
    assert run_cli("keys", "new", "--out", str(payer)).returncode == 0
    refused = run_cli("tx", "transfer", "--key", str(payer), "--to", gnet.sink.address, "--amount", "5.00",
                      "--currency", "USD", "--wait", "--node", node)
    assert refused.returncode == 3 and "refused (insufficient_funds)" in refused.stderr, refused.stderr


def test_every_command_has_json_but_the_foreground_ones() -> None:
    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    without = {" ".join(path) for path, command in walk(cli, ()) if not any("--json" in p.opts for p in command.params)}
    assert without == {"start", "devnet"}


def test_proposal_and_swap_commands_print_json(gnet: GuideNet, tmp_path: Path) -> None:
    net = gnet.net
    node = net.nodes[0]
    proposal = tmp_path / "krw.json"
    issuer, auditor = net.new_account("krw-issuer"), net.new_account("krw-auditor")
    written = net.cli_json("gov", "propose", "register-currency", "--key", str(node.home / "node_key.json"),
                           "--out", str(proposal), "--code", "KRW", "--decimals", "0", "--issuer", issuer.address,
                           "--auditor", auditor.address)
    node_id = node.status()["node_id"]
    assert written["type"] == "gov_register_currency" and written["body"]["currency"] == "KRW"
    assert written["signed_by"] == [node_id] and written["path"] == str(proposal)
    signed = net.cli("gov", "sign", str(proposal), "--key", str(net.nodes[1].home / "node_key.json"), "--yes", "--json")
    assert signed.returncode == 0, signed.stderr
    assert len(json.loads(signed.stdout)["signed_by"]) == 2 and "gov_register_currency" in signed.stderr

    a, b = net.new_account("a"), net.new_account("b")
    swap = tmp_path / "swap.json"
    created = net.cli_json("swap", "create", "--key", str(a.path), "--counterparty", b.key.public_key.hex(),
                           "--give", "1.00", "USD", "--get", "100", "JPY", "--out", str(swap))
    assert created["type"] == "swap" and created["body"]["give_amount_minor"] == 100 and created["complete"] is False
    co_signed = net.cli("swap", "sign", str(swap), "--key", str(b.path), "--yes", "--json")
    assert co_signed.returncode == 0, co_signed.stderr
    assert json.loads(co_signed.stdout)["complete"] is True
