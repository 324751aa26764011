"""Durability: kill -9 during a stream of transfers loses nothing that was acknowledged as committed, and
SIGTERM stops the node cleanly. Each test has its own network (`network`), since they stop nodes."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

from corridor.client.http import ApiError, Client
from corridor.keys import parse_address

from .conftest import Account, Network, Node, port_free, wait_for

GENESIS_USD_MINOR = 10_000 * 100  # each demo account starts with 10 000.00 USD


@dataclass
class Attempt:
    hash: str
    amount_minor: int
    outcome: str  # "acked" (the node answered committed), "lost" (no answer), or "refused:<code>"


@dataclass
class TransferStream:
    """A thread sending transfers with ?wait=commit one after the other, riding out node restarts."""

    net: Network
    sender: Account
    recipient: Account
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"stream-{self.sender.address[:10]}", daemon=True)

    def _run(self) -> None:
        client = Client(self.net.api, timeout_s=5)
        to = parse_address(self.recipient.address)
        amount = 0
        while not self.stop.is_set():
            try:
                tx = client.prepare(self.sender.key, "transfer",
                                    {"to": to, "currency": "USD", "amount_minor": amount + 1, "memo": ""})
            except Exception:  # the node is down or restarting: try again shortly
                time.sleep(0.02)
                continue
            amount += 1
            try:
                result = client.submit(tx, wait=True, timeout_s=10)
                outcome = "acked" if result.get("status") == "committed" else f"odd:{result}"
            except ApiError as exc:
                outcome = f"refused:{exc.code}"
            except Exception as exc:  # connection refused or reset, incomplete answer: no acknowledgement
                outcome = "lost"
                self.errors.append(repr(exc))
            self.attempts.append(Attempt(tx.hash.hex(), tx.body.amount_minor, outcome))

    def acked(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == "acked"]

    def start(self) -> TransferStream:
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "a transfer stream did not stop"


def tx_status(net: Network, tx_hash: str) -> str:
    response = net.get(f"/v1/txs/{tx_hash}")
    assert response.status in (200, 404), response
    return response.json["status"]


def check_chain_links(net: Network) -> None:
    """Every block links to its parent and has a later time than it."""
    previous = None
    for height in range(1, net.node0.height() + 1):
        block = net.get(f"/v1/blocks/{height}").json
        if previous is not None:
            assert block["header"]["parent_hash"] == previous["hash"], f"block {height} does not link"
            assert block["header"]["time_ms"] > previous["header"]["time_ms"], f"block {height} time does not increase"
        previous = block


def test_kill_9_during_transfer_stream_loses_no_acked_transfer(network: Network) -> None:
    net, node = network, network.node0
    supply = net.currency("USD")["supply_minor"]
    streams = [TransferStream(net, sender, net.new_account(f"to{i}")) for i, sender in enumerate(net.accounts[:3])]
    for stream in streams:
        stream.start()
    try:
        wait_for(lambda: all(len(s.acked()) >= 10 for s in streams), 20, "10 acked transfers per stream")
        node.kill()
        acked_before = {s.sender.address: len(s.acked()) for s in streams}
        height_after_restart = node.restart()["height"]
        wait_for(lambda: all(len(s.acked()) >= acked_before[s.sender.address] + 5 for s in streams), 20,
                 "5 more acked transfers per stream after the restart")
    finally:
        for stream in streams:
            stream.finish()

    assert node.height() > height_after_restart, "the node produces blocks after the restart"
    for stream in streams:
        statuses = {a.hash: tx_status(net, a.hash) for a in stream.attempts}
        print(f"stream {stream.sender.address[:12]}: {len(stream.acked())} acked of {len(stream.attempts)}, "
              f"{sum(s == 'committed' for s in statuses.values())} committed, errors {stream.errors}")
        lost_acks = [a for a in stream.acked() if statuses[a.hash] != "committed"]
        assert not lost_acks, f"transfers acknowledged as committed are gone after kill -9: {lost_acks}"
        # A client cannot know whether an unanswered transfer committed: the next one, built with the nonce the
        # node reported, may race it and be refused with bad_nonce. Nothing else may be refused.
        after_unanswered = {i + 1 for i, a in enumerate(stream.attempts) if a.outcome == "lost"}
        refused = [(i, a) for i, a in enumerate(stream.attempts) if a.outcome.startswith(("refused", "odd"))]
        assert all(i in after_unanswered and a.outcome == "refused:bad_nonce" for i, a in refused), refused
        unanswered = [a for a in stream.attempts if a.outcome == "lost"]
        assert len(unanswered) <= 1, f"only the transfer in flight at the kill may go unanswered: {unanswered}"
        # The chain holds exactly the committed transfers: the acked ones, and maybe the one in flight.
        committed = [a for a in stream.attempts if statuses[a.hash] == "committed"]
        assert set(statuses.values()) <= {"committed", "unknown"}
        moved = sum(a.amount_minor for a in committed)
        sender = net.account(stream.sender.address)
        assert sender["nonce"] == len(committed)
        assert sender["balances"]["USD"]["amount_minor"] == GENESIS_USD_MINOR - moved
        assert net.balance(stream.recipient.address, "USD") == moved
        assert moved >= sum(a.amount_minor for a in stream.acked())
    assert net.currency("USD")["supply_minor"] == supply, "transfers never change the supply"
    check_chain_links(net)
    log_after_restart = node.log_text().split("start #2")[1]
    assert "Traceback" not in log_after_restart, node.log_tail()

    # the CLI works against the restarted node too
    to = net.new_account()
    result = net.cli("tx", "transfer", "--key", str(net.accounts[3].path), "--to", to.address, "--amount", "0.01",
                     "--currency", "USD", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert net.balance(to.address, "USD") == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_exits_zero_and_restart_keeps_height(network: Network, sig: int) -> None:
    net, node = network, network.node0
    to = net.new_account()
    for amount in (1, 2, 3):
        net.commit(net.accounts[0], "transfer", {"to": parse_address(to.address), "currency": "USD",
                                                 "amount_minor": amount, "memo": ""})
    before = node.status()
    assert before["height"] >= 3

    started = time.monotonic()
    code = node.terminate(timeout_s=5, sig=sig)
    elapsed = time.monotonic() - started
    assert code == 0, f"exit code {code} after {sig.name}; log:\n{node.log_tail()}"
    assert elapsed < 5
    assert f"node stopped cleanly at height {before['height']}" in node.log_text()
    port = int(node.api.rsplit(":", 1)[1])
    assert port_free(port), "the API port is released"

    after = node.restart()
    assert (after["height"], after["latest_hash"], after["state_root"]) == (
        before["height"], before["latest_hash"], before["state_root"]), "restart keeps the chain"
    assert net.balance(to.address, "USD") == 6
    result = net.commit(net.accounts[0], "transfer", {"to": parse_address(to.address), "currency": "USD",
                                                      "amount_minor": 4, "memo": ""})
    assert result["receipt"]["height"] == before["height"] + 1
    check_chain_links(net)


def test_sigterm_during_transfer_stream_exits_zero_and_keeps_acked(network: Network) -> None:
    net, node = network, network.node0
    streams = [TransferStream(net, sender, net.new_account()) for sender in net.accounts[:2]]
    for stream in streams:
        stream.start()
    try:
        wait_for(lambda: all(len(s.acked()) >= 10 for s in streams), 20, "10 acked transfers per stream")
        started = time.monotonic()
        code = node.terminate(timeout_s=5)
        assert code == 0, f"exit code {code} on SIGTERM under load; log:\n{node.log_tail()}"
        assert time.monotonic() - started < 5
        node.restart()
    finally:
        for stream in streams:
            stream.finish()
    for stream in streams:
        for attempt in stream.acked():
            assert tx_status(net, attempt.hash) == "committed", attempt


def test_second_node_on_the_same_home_is_refused(network: Network, tmp_path) -> None:
    net, node = network, network.node0
    twin = Node(0, node.home, node.api, node.p2p, tmp_path / "twin.log")
    twin.start(wait=False)
    try:
        code = twin.wait_exit(20)
    finally:
        twin.stop()
    assert code is not None and code != 0, "a second node on the same home must not start"
    log = twin.log_text()
    assert "Traceback" not in log, log
    assert "another node" in log or "address already in use" in log, log
    assert node.running
    assert net.node0.status()["chain_id"] == net.chain_id
