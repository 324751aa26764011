"""End-to-end harness: real `corridor` processes on loopback, driven through the CLI and the HTTP API.

The pieces, meant to be reused by multi-validator tests:

- `port_allocator`   hands out a base port with 2*n free ports (node i: API base+2i, P2P base+2i+1).
- `network_factory`  creates networks with `corridor testnet --json` and starts their nodes; everything it
                     started is stopped at teardown (SIGTERM, then SIGKILL after a deadline).
- `Network`          one generated network: its nodes, issuer and demo keys, `cli()`, `get()`/`post()`,
                     transaction helpers.
- `Node`             one node process: start, wait_ready, kill (-9), terminate (SIGTERM), restart.

When a test fails, the tail of every node log of the networks it used is attached to its report. A node
that died during a test without the test stopping it makes that test error at teardown.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from corridor.client.http import Client
from corridor.keys import KeyPair, load_key, parse_address, save_key
from corridor.ledger.tx import SignedTx, build_body, sign_tx

CORRIDOR = Path(sys.executable).parent / "corridor"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 60

NETWORKS_KEY = pytest.StashKey[list]()  # per test: lists of the networks it used

# Safety net: if pytest dies without running fixture teardown, no node outlives it.
_LIVE_PROCESSES: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE_PROCESSES):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy (returned) or `timeout_s` passes (AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


# ports ----------------------------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The node binds with SO_REUSEADDR too: a port in TIME_WAIT is usable, one with a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PortAllocator:
    """Finds base ports whose 2*n consecutive ports are free, never handing out a port twice per session.

    A candidate base comes from binding port 0 (the kernel's choice of a free port). Ports in the kernel's
    ephemeral range can be taken by any outgoing connection while a node is down, and a client that keeps
    connecting to a stopped node's port can even connect to itself on it (TCP self-connect), so when a
    node restarts its port might be busy. To avoid both, the kernel's candidate is shifted below the
    ephemeral range when there is room, keeping its randomness.
    """

    LOWEST = 20_000
    HIGHEST = 65_000  # `corridor testnet --base-port` accepts at most 65000

    def __init__(self) -> None:
        self._given: set[int] = set()
        try:
            low, _high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        except (OSError, ValueError):
            low = 32_768
        self._ephemeral_low = low

    def _candidate(self) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if self._ephemeral_low - self.LOWEST > 2_000 and port >= self._ephemeral_low:
            port = self.LOWEST + port % (self._ephemeral_low - self.LOWEST - 200)
        return port

    def allocate(self, count: int) -> int:
        """A base port B such that B .. B+count-1 are free now and were never given out before."""
        for _ in range(200):
            base = self._candidate()
            ports = range(base, base + count)
            if ports[-1] > self.HIGHEST or base < 1024:
                continue
            if any(port in self._given for port in ports):
                continue
            if all(port_free(port) for port in ports):
                self._given.update(ports)
                return base
        raise RuntimeError(f"found no {count} consecutive free ports")


@pytest.fixture(scope="session")
def port_allocator() -> PortAllocator:
    return PortAllocator()


# HTTP -----------------------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        """The stable code of an error body `{"error": {"code", "message"}}`, or None."""
        try:
            return self.json["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        return f"HttpResponse({self.status}, {self.body[:300]!r})"


def http_request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout_s: float = HTTP_TIMEOUT_S,
) -> HttpResponse:
    """One HTTP request; any status (2xx or not) is returned, a connection failure raises OSError."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpResponse(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return HttpResponse(exc.code, exc.read(), dict(exc.headers or {}))
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise reason if isinstance(reason, OSError) else OSError(str(reason)) from None


# nodes ----------------------------------------------------------------------------------------------------


class NodeCrashed(AssertionError):
    """A node process exited when the harness expected it to run."""


class Node:
    """One `corridor start --home HOME` process, its stdout and stderr appended to `log_path`."""

    def __init__(self, index: int, home: Path, api: str, p2p: str, log_path: Path) -> None:
        self.index = index
        self.name = f"node{index}"
        self.home = home
        self.api = api
        self.p2p = p2p
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Node {self.name} {self.api} {state}>"

    # lifecycle
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, wait: bool = True, timeout_s: float = READY_TIMEOUT_S) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- harness: start #{self.starts} of {self.name} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(CORRIDOR), "start", "--home", str(self.home)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of pytest does not reach it; the harness stops it
            )
        _LIVE_PROCESSES.add(self.proc)
        if wait:
            self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S, min_height: int = 0) -> dict[str, Any]:
        """Poll /v1/status until it answers with height >= min_height; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise NodeCrashed(
                    f"{self.name} exited with code {self.proc.returncode} before it was ready; log tail:\n"
                    + self.log_tail()
                )
            try:
                response = http_request(self.api + "/v1/status", timeout_s=2)
                if response.status == 200 and response.json.get("height", -1) >= min_height:
                    return response.json
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} did not report height >= {min_height} at {self.api} within {timeout_s} s; "
                    f"log tail:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _reap(self, timeout_s: float) -> int | None:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None
        _LIVE_PROCESSES.discard(self.proc)
        return code

    def wait_exit(self, timeout_s: float) -> int | None:
        """Wait for the process to exit by itself: its exit code, or None if it still runs after `timeout_s`."""
        assert self.proc is not None, f"{self.name} was never started"
        return self._reap(timeout_s)

    def kill(self) -> int:
        """kill -9 the node and reap it (its LevelDB lock is released). Returns the exit code (-9)."""
        assert self.proc is not None, f"{self.name} was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self._reap(STOP_TIMEOUT_S)
        assert code is not None, f"{self.name} survived SIGKILL"
        return code

    def terminate(self, timeout_s: float = STOP_TIMEOUT_S, sig: int = signal.SIGTERM) -> int | None:
        """Send SIGTERM (or `sig`) and wait up to `timeout_s`: the exit code, or None if still running."""
        assert self.proc is not None, f"{self.name} was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self._reap(timeout_s)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Teardown: SIGTERM, then SIGKILL after `timeout_s`. Returns the exit code, None if never started."""
        if self.proc is None:
            return None
        code = self.terminate(timeout_s)
        if code is None:
            with open(self.log_path, "ab") as log:
                log.write(f"--- harness: {self.name} ignored SIGTERM for {timeout_s} s; SIGKILL ---\n".encode())
            code = self.kill()
        return code

    def restart(self, crash: bool = False, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Stop the node (kill -9 when `crash`, else SIGTERM) and start it again; returns its status."""
        if self.running:
            if crash:
                self.kill()
            else:
                code = self.terminate()
                assert code == 0, f"{self.name} exited with {code} on SIGTERM; log tail:\n{self.log_tail()}"
        self.start(wait=False)
        return self.wait_ready(timeout_s)

    # views
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def url(self, path: str) -> str:
        return self.api + path

    def status(self) -> dict[str, Any]:
        response = http_request(self.api + "/v1/status")
        assert response.status == 200, response
        return response.json

    def height(self) -> int:
        return self.status()["height"]

    def wait_height(self, height: int, timeout_s: float = 20.0) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            try:
                status = self.status()
            except OSError:
                return None
            return status if status["height"] >= height else None

        return wait_for(reached, timeout_s, f"{self.name} to reach height {height}")


# networks -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A key file on disk with its key pair and address."""

    path: Path
    key: KeyPair

    @property
    def address(self) -> str:
        return self.key.address_text

    @classmethod
    def load(cls, path: str | Path) -> Account:
        return cls(Path(path), load_key(Path(path)))


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = CLI_TIMEOUT_S,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the `corridor` console script; never raises on a non-zero exit (check returncode)."""
    full_env = {**os.environ, "COLUMNS": "100"}
    full_env.pop("CORRIDOR_NODE", None)  # only what the test passes in `env`
    full_env.update(env or {})
    return subprocess.run(
        [str(CORRIDOR), *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def assert_cli_error(result: subprocess.CompletedProcess, exit_code: int | None = None,
                     contains: tuple[str, ...] = ()) -> str:
    """A failed command that printed one clear line on stderr (no traceback) and nothing on stdout."""
    assert result.returncode != 0, f"expected a failure, got exit 0; stdout: {result.stdout}"
    if exit_code is not None:
        assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert message.startswith("Error: "), message
    for text in contains:
        assert text in message, f"{text!r} not in {message!r}"
    assert result.stdout.strip() == "", result.stdout
    return message


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row (rich box drawing) whose first cell is `first_cell`."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃|]", line) if cell.strip()]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row starting with {first_cell!r} in:\n{output}")


class Network:
    """A network written by `corridor testnet` under `root`, with a Node per validator."""

    def __init__(self, root: Path, description: dict[str, Any], logs_dir: Path) -> None:
        self.root = root
        self.description = description
        self.chain_id: str = description["chain_id"]
        self.nodes = [
            Node(i, Path(n["home"]), n["api"], n["p2p"], logs_dir / f"{root.name}-node{i}.log")
            for i, n in enumerate(description["nodes"])
        ]
        self.issuers = {code: Account.load(path) for code, path in description["issuers"].items()}
        self.auditors = {code: Account.load(path) for code, path in description.get("auditors", {}).items()}  # reserve auditors
        self.accounts = [Account.load(path) for path in description["accounts"]]
        self._scratch = root / "scratch"
        self._scratch.mkdir(exist_ok=True)
        self._names = 0

    def __repr__(self) -> str:
        return f"<Network {self.chain_id} {self.nodes}>"

    @property
    def node0(self) -> Node:
        return self.nodes[0]

    @property
    def api(self) -> str:
        return self.nodes[0].api

    def start(self) -> None:
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_ready()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def crashed_nodes(self) -> list[Node]:
        """Nodes the harness started that exited on their own (not stopped by the harness)."""
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is not None and n.proc in _LIVE_PROCESSES]

    # the CLI
    def cli(self, *args: str, node: int = 0, env: dict[str, str] | None = None,
            timeout_s: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
        """`corridor ARGS` with CORRIDOR_NODE pointing at node `node`."""
        return run_cli(*args, env={"CORRIDOR_NODE": self.nodes[node].api, **(env or {})}, timeout_s=timeout_s,
                       cwd=self._scratch)

    def cli_json(self, *args: str, node: int = 0) -> Any:
        """`corridor ARGS --json`, which must succeed; its stdout parsed."""
        result = self.cli(*args, "--json", node=node)
        assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
        return json.loads(result.stdout)

    # HTTP
    def get(self, path: str, node: int = 0, timeout_s: float = HTTP_TIMEOUT_S) -> HttpResponse:
        return http_request(self.nodes[node].api + path, timeout_s=timeout_s)

    def post(self, path: str, body: bytes | str | dict | list, content_type: str | None = None, node: int = 0,
             timeout_s: float = HTTP_TIMEOUT_S) -> HttpResponse:
        """POST raw bytes (as `content_type`), text, or a JSON document (dict/list, sent as application/json)."""
        if isinstance(body, (dict, list)):
            body, content_type = json.dumps(body).encode(), content_type or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        return http_request(self.nodes[node].api + path, "POST", body, content_type, timeout_s)

    def client(self, node: int = 0) -> Client:
        return Client(self.nodes[node].api)

    # accounts and transactions
    def new_account(self, name: str | None = None) -> Account:
        """A fresh key file (written with the library, as `corridor keys new` would)."""
        self._names += 1
        path = self._scratch / f"{name or 'account'}-{self._names}.json"
        key = KeyPair.generate()
        save_key(key, path)
        return Account(path, key)

    def account(self, address: str, node: int = 0) -> dict[str, Any]:
        response = self.get(f"/v1/accounts/{address}", node=node)
        assert response.status == 200, response
        return response.json

    def balance(self, address: str, currency: str, node: int = 0) -> int:
        """Balance in minor units over HTTP (0 when the account holds none)."""
        entry = self.account(address, node)["balances"].get(currency)
        return 0 if entry is None else entry["amount_minor"]

    def currency(self, code: str, node: int = 0) -> dict[str, Any]:
        response = self.get("/v1/currencies", node=node)
        assert response.status == 200, response
        return next(c for c in response.json["currencies"] if c["code"] == code)

    def sign(self, account: Account | KeyPair, type_name: str, fields: dict[str, Any], nonce: int | None = None,
             chain_id: str | None = None, node: int = 0) -> SignedTx:
        """A signed transaction; the nonce defaults to the node's next_nonce for the signer."""
        key = account.key if isinstance(account, Account) else account
        if nonce is None:
            nonce = self.account(key.address_text, node)["next_nonce"]
        body = build_body(type_name, {"signer": key.public_key, "nonce": nonce, **fields})
        return sign_tx(body, [key], chain_id or self.chain_id)

    def submit(self, tx: SignedTx | bytes, wait: bool = True, node: int = 0,
               timeout_s: float = 40.0) -> HttpResponse:
        raw = tx.raw if isinstance(tx, SignedTx) else tx
        return self.post("/v1/txs?wait=commit" if wait else "/v1/txs", raw, "application/msgpack", node, timeout_s)

    def commit(self, account: Account | KeyPair, type_name: str, fields: dict[str, Any], node: int = 0) -> dict[str, Any]:
        """Sign, submit with ?wait=commit and require it to commit; returns the node's answer."""
        response = self.submit(self.sign(account, type_name, fields, node=node), node=node)
        assert response.status == 200 and response.json["status"] == "committed", response
        return response.json

    def fund(self, account: Account | str, currency: str, amount_minor: int) -> dict[str, Any]:
        """Mint `amount_minor` of `currency` to an account with the issuer's key (committed)."""
        address = account.address if isinstance(account, Account) else account
        return self.commit(self.issuers[currency], "mint",
                           {"to": parse_address(address), "currency": currency, "amount_minor": amount_minor})


class NetworkFactory:
    """Creates networks (`corridor testnet`), starts their nodes, and stops everything at `close()`."""

    def __init__(self, base_dir: Path, ports: PortAllocator) -> None:
        self.base_dir = base_dir
        self.ports = ports
        self.networks: list[Network] = []

    def create(self, validators: int = 1, currencies: tuple[str, ...] = ("USD", "JPY"), start: bool = True,
               attempts: int = 3) -> Network:
        """A new network under base_dir; with `start`, every node runs and answers /v1/status.

        If a node cannot bind its port (another process took it in the meantime), the network is
        discarded and a new one is made on other ports, up to `attempts` times."""
        for attempt in range(1, attempts + 1):
            base_port = self.ports.allocate(2 * validators)
            root = self.base_dir / f"net{len(self.networks)}-{base_port}"
            result = run_cli("testnet", "--validators", str(validators), "--out", str(root),
                             "--currencies", ",".join(currencies), "--base-port", str(base_port), "--json")
            assert result.returncode == 0, f"corridor testnet failed ({result.returncode}): {result.stderr}"
            network = Network(root, json.loads(result.stdout), self.base_dir)
            self.networks.append(network)
            if not start:
                return network
            try:
                network.start()
                return network
            except NodeCrashed:
                network.stop()
                if attempt == attempts or not any("address already in use" in n.log_text() for n in network.nodes):
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        for network in self.networks:
            network.stop()


@pytest.fixture
def network_factory(tmp_path: Path, port_allocator: PortAllocator, request: pytest.FixtureRequest) -> Iterator[NetworkFactory]:
    """Function-scoped: networks made here live for one test."""
    factory = NetworkFactory(tmp_path, port_allocator)
    request.node.stash.setdefault(NETWORKS_KEY, []).append(factory.networks)
    yield factory
    crashed = [(net, node) for net in factory.networks for node in net.crashed_nodes()]
    factory.close()
    if crashed:
        pytest.fail("node(s) exited during the test without being stopped: "
                    + "; ".join(f"{n.name} (code {n.proc.returncode})\n{n.log_tail()}" for _, n in crashed))


@pytest.fixture
def network(network_factory: NetworkFactory) -> Network:
    """A fresh, running one-validator network (USD with 2 decimals, JPY with 0) for this test alone."""
    return network_factory.create()


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """Module-scoped one-validator network (USD, JPY, EUR), shared by tests that leave it running.

    Use it through `net`, which attaches it to each test (log tails on failure, crash check)."""
    factory = NetworkFactory(tmp_path_factory.mktemp("shared"), port_allocator)
    network = factory.create(currencies=("USD", "JPY", "EUR"))
    yield network
    factory.close()


@pytest.fixture
def net(shared_network: Network, request: pytest.FixtureRequest) -> Iterator[Network]:
    request.node.stash.setdefault(NETWORKS_KEY, []).append([shared_network])
    yield shared_network
    crashed = shared_network.crashed_nodes()
    if crashed:
        pytest.fail("node(s) of the shared network died during this test: "
                    + "; ".join(f"{n.name} (code {n.proc.returncode})\n{n.log_tail()}" for n in crashed))
    for node in shared_network.nodes:
        if not node.running:  # a test stopped it and did not restart it: leave the next test a live node
            node.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for networks in item.stash.get(NETWORKS_KEY, []):
        for node in (node for network in networks for node in network.nodes):
            report.sections.append((f"log tail of {node.name} ({node.log_path})", node.log_tail() or "(empty)"))
