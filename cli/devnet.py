"""`corridor devnet`: a local consortium network with a live demo workload, in one command.

It creates the network (or reuses the one already in --home), starts every node as a child process, sends
a demo workload (issuers mint, accounts pay each other) and shows the chain live until Ctrl-C, which stops
every process it started. Node pids are recorded in --home, so a run that was killed before it could clean
up leaves nothing that blocks the next one: stale nodes are stopped first.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import click
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from corridor.client.http import ApiError, Client, NodeUnreachable
from corridor.hashing import sha256
from corridor.keys import KeyPair, load_key
from corridor.ledger.amounts import format_amount
from corridor.ledger.tx import build_body, sign_tx
from corridor.node.testnet import NETWORK_FILE, Network, create_testnet, load_network

PIDS_FILE = "pids.json"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
DEMO_TRANSFERS_PER_S = 20.0
DEMO_MINT_INTERVAL_S = 3.0
DEMO_ATTEST_INTERVAL_S = 60.0  # each auditor re-attests its reserve, so minting never meets a stale attestation
LATENCY_WINDOW = 500
RATE_WINDOW_S = 5.0
PAYMENTS_SHOWN = 8


def corridor_command() -> list[str]:
    """How to run `corridor` with the same Python as this process."""
    script = Path(sys.executable).parent / "corridor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "corridor"]


def _process_alive(pid: int, home: Path) -> bool:
    """Whether `pid` is still a `corridor start` of a node under `home` (a reused pid is left alone)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"start" in cmdline and any(str(home).encode() in part for part in cmdline)


def stop_stale_nodes(home: Path) -> None:
    """Stop nodes a previous devnet run in `home` started and could not stop (it was killed, say)."""
    try:
        pids = json.loads((home / PIDS_FILE).read_text())
    except (OSError, ValueError):
        return
    stale = [pid for pid in pids if isinstance(pid, int) and _process_alive(pid, home)]
    for pid in stale:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while stale and time.monotonic() < deadline:
        stale = [pid for pid in stale if _process_alive(pid, home)]
        time.sleep(0.1)
    for pid in stale:
        os.kill(pid, signal.SIGKILL)
    (home / PIDS_FILE).unlink(missing_ok=True)


def prepare_network(home: Path, validators: int, base_port: int, fresh: bool, console: Console) -> Network:
    """Reuse the network in `home` when it matches the request; otherwise create it anew."""
    if home.exists() and any(home.iterdir()):
        if not (home / NETWORK_FILE).exists():
            raise click.ClickException(f"{home} exists and is not a devnet folder; choose another --home")
        stop_stale_nodes(home)
        try:
            network = load_network(home)
        except (OSError, ValueError, KeyError):
            network = None
        reusable = network is not None and len(network.nodes) == validators and all(
            node["api"].endswith(f":{base_port + 2 * i}") for i, node in enumerate(network.nodes)
        ) and bool(network.auditors)  # a network made before reserve auditors cannot run on this version
        if reusable and not fresh:
            console.print(f"reusing network {network.chain_id} in {home} (--fresh starts a new one)")
            return network
        console.print(f"removing the previous network in {home}")
        shutil.rmtree(home)
    network = create_testnet(home, validators, ["USD", "EUR", "JPY"], base_port)
    console.print(f"created network {network.chain_id} with {validators} validator(s) in {home}")
    return network


@dataclass
class NodeProcess:
    home: Path
    api: str
    process: subprocess.Popen[bytes]
    log_path: Path


def start_nodes(home: Path, network: Network) -> list[NodeProcess]:
    nodes = []
    for node in network.nodes:
        node_home = Path(node["home"])
        log_path = node_home.with_suffix(".log")
        log = open(log_path, "ab")
        process = subprocess.Popen(
            [*corridor_command(), "start", "--home", str(node_home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches devnet only; devnet stops the nodes in order
        )
        log.close()
        nodes.append(NodeProcess(node_home, node["api"], process, log_path))
    (home / PIDS_FILE).write_text(json.dumps([n.process.pid for n in nodes]))
    return nodes


def wait_ready(nodes: list[NodeProcess]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    for node in nodes:
        client = Client(node.api, timeout_s=1.0)
        while True:
            if node.process.poll() is not None:
                tail = node.log_path.read_text(errors="replace").strip().splitlines()[-5:]
                raise click.ClickException(f"node {node.home.name} exited at start:\n" + "\n".join(tail))
            try:
                client.status()
                break
            except NodeUnreachable:
                if time.monotonic() > deadline:
                    raise click.ClickException(f"node {node.home.name} did not answer within {READY_TIMEOUT_S:.0f} s") from None
                time.sleep(0.1)


def stop_nodes(home: Path, nodes: list[NodeProcess]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for node in nodes:
        try:
            node.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
    (home / PIDS_FILE).unlink(missing_ok=True)


@dataclass
class DemoStats:
    """What the demo workload and the block follower share; guarded by `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    commits: deque[tuple[float, int]] = field(default_factory=deque)
    payments: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=PAYMENTS_SHOWN))
    submitted: int = 0
    refused: Counter[str] = field(default_factory=Counter)


class DemoSender:
    """Signs and submits one key's transactions with pipelined nonces, waiting for each to be final."""

    def __init__(self, client: Client, chain_id: str, key: KeyPair, stats: DemoStats) -> None:
        self.client, self.chain_id, self.key, self.stats = client, chain_id, key, stats
        self.nonce: int | None = None
        self._lock = threading.Lock()  # one key's nonces are used by one thread at a time

    def send(self, type_name: str, fields: dict) -> None:
        with self._lock:
            self._send(type_name, fields)

    def _send(self, type_name: str, fields: dict) -> None:
        if self.nonce is None:
            self.nonce = self.client.account(self.key.address_text)["next_nonce"]
        body = build_body(type_name, {"signer": self.key.public_key, "nonce": self.nonce, **fields})
        tx = sign_tx(body, [self.key], self.chain_id)
        with self.stats.lock:
            self.stats.submitted += 1
        sent = time.monotonic()
        try:
            self.client.submit(tx, wait=True)
            self.nonce += 1
            with self.stats.lock:
                self.stats.latencies_ms.append((time.monotonic() - sent) * 1000)
        except ApiError as exc:
            with self.stats.lock:
                self.stats.refused[f"{type_name}: {exc.code}"] += 1
            self.nonce = None  # re-read the nonce next time


MID_RATES_USD = {"USD": Fraction(1), "EUR": Fraction(108, 100), "JPY": Fraction(67, 10_000), "HKD": Fraction(128, 1000), "CNH": Fraction(138, 1000)}
MARKET_SPREAD = Fraction(101, 100)  # the market maker sells 1 % above mid on every pair: its own offers never cross
MARKET_OFFER_USD = 2_000
MARKET_REFILL_INTERVAL_S = 5.0


def _minor_price(sell: str, buy: str, decimals: dict[str, int]) -> tuple[int, int]:
    """The market maker's price for selling `sell` for `buy`, in minor units of buy per minor unit of sell."""
    price = MID_RATES_USD[sell] / MID_RATES_USD[buy] * MARKET_SPREAD * Fraction(10 ** decimals[buy], 10 ** decimals[sell])
    price = price.limit_denominator(10**9)
    return price.numerator, price.denominator


def _usd_worth_in(code: str, usd: Fraction, decimals: dict[str, int]) -> int:
    return int(usd / MID_RATES_USD[code] * 10 ** decimals[code])


def run_demo_workload(client: Client, network: Network, stats: DemoStats, stop: threading.Event) -> None:
    """Auditors attest the reserves (at the start and every minute); issuers mint now and then; a market
    maker keeps offers on every pair of the demo currencies; the other demo accounts pay each other, one
    payment in three across currencies through the book.

    Every transaction is submitted with ?wait=commit, so the latency shown is exactly what a client sees
    from submission to finality."""
    chain_id = client.status()["chain_id"]
    decimals = {c["code"]: c["decimals"] for c in client.currencies()}
    tradable = sorted(code for code in decimals if code in MID_RATES_USD)
    keys = [load_key(Path(path)) for path in network.accounts]
    market_maker, users = keys[-1], keys[:-1]
    issuers = {code: load_key(Path(path)) for code, path in network.issuers.items()}

    def pay_others(payer: KeyPair) -> None:
        rng = random.Random()
        sender = DemoSender(client, chain_id, payer, stats)
        interval_s = len(users) / DEMO_TRANSFERS_PER_S
        while not stop.wait(rng.uniform(0.5, 1.5) * interval_s):
            payee = rng.choice([user for user in users if user is not payer])
            code = rng.choice(sorted(decimals))
            amount_minor = max(1, _usd_worth_in(code, Fraction(rng.randint(1, 5000), 100), decimals)) if code in MID_RATES_USD else rng.randint(1, 50 * 10 ** decimals[code])
            try:
                if len(tradable) >= 2 and code in tradable and rng.random() < 1 / 3:
                    balances = client.account(payer.address_text)["balances"]
                    source = max((c for c in tradable if c != code),
                                 key=lambda c: Fraction(balances.get(c, {}).get("amount_minor", 0), 10 ** decimals[c]) * MID_RATES_USD[c])
                    usd = Fraction(amount_minor, 10 ** decimals[code]) * MID_RATES_USD[code]
                    fields = {"to": payee.address, "send_currency": source, "send_max_minor": _usd_worth_in(source, usd * Fraction(105, 100), decimals) + 1,
                              "receive_currency": code, "receive_amount_minor": amount_minor, "memo": "demo"}
                    sender.send("pay", fields)
                else:
                    sender.send("transfer", {"to": payee.address, "currency": code, "amount_minor": amount_minor, "memo": "demo"})
            except NodeUnreachable:
                continue

    minters = {code: DemoSender(client, chain_id, key, stats) for code, key in issuers.items()}
    auditors = {code: DemoSender(client, chain_id, load_key(Path(path)), stats) for code, path in network.auditors.items()}

    def attest_now_and_then() -> None:
        """Each auditor attests its currency's reserve again (the same figure, as of now): a devnet resumed
        long after it was made mints again at once, and however long it runs its reserves never go stale."""
        while not stop.is_set():
            try:
                for currency in client.currencies():
                    code = currency["code"]
                    if code in auditors:
                        as_of_ms = int(time.time() * 1000)
                        auditors[code].send("attest_reserve", {
                            "currency": code, "reserve_minor": currency["reserve_minor"], "reserve_as_of_ms": as_of_ms,
                            "report_hash": sha256(f"devnet reserve report {code} {as_of_ms}".encode())})
            except NodeUnreachable:
                pass
            stop.wait(DEMO_ATTEST_INTERVAL_S)

    def mint_now_and_then() -> None:
        rng = random.Random()
        senders = minters
        while not stop.wait(DEMO_MINT_INTERVAL_S):
            code = rng.choice(sorted(senders))
            worth = _usd_worth_in(code, Fraction(rng.randint(100, 1000)), decimals) if code in MID_RATES_USD else rng.randint(100, 1000) * 10 ** decimals[code]
            fields = {"to": rng.choice(users).address, "currency": code, "amount_minor": worth}
            try:
                senders[code].send("mint", fields)
            except NodeUnreachable:
                continue

    def make_markets() -> None:
        maker = DemoSender(client, chain_id, market_maker, stats)
        pairs = [(sell, buy) for sell in tradable for buy in tradable if sell != buy]
        while not stop.is_set():
            try:
                resting = {(o["sell_currency"], o["buy_currency"]) for o in client.offers(market_maker.address_text)}
                for sell, buy in pairs:
                    if (sell, buy) in resting or stop.is_set():
                        continue
                    amount_minor = _usd_worth_in(sell, Fraction(MARKET_OFFER_USD), decimals)
                    if client.account(market_maker.address_text)["balances"].get(sell, {}).get("amount_minor", 0) < amount_minor:
                        minters[sell].send("mint", {"to": market_maker.address, "currency": sell, "amount_minor": 10 * amount_minor})
                    num, den = _minor_price(sell, buy, decimals)
                    maker.send("offer_create", {"sell_currency": sell, "sell_amount_minor": amount_minor, "buy_currency": buy,
                                                "price_num": num, "price_den": den})
            except NodeUnreachable:
                pass
            stop.wait(MARKET_REFILL_INTERVAL_S)

    for payer in users:
        threading.Thread(target=pay_others, args=(payer,), daemon=True).start()
    threading.Thread(target=attest_now_and_then, daemon=True).start()
    threading.Thread(target=mint_now_and_then, daemon=True).start()
    threading.Thread(target=make_markets, daemon=True).start()


class BlockFollower:
    """Reads each new block once, to count committed transactions and list the latest payments."""

    def __init__(self, client: Client, stats: DemoStats, decimals: dict[str, int]) -> None:
        self.client, self.stats, self.decimals = client, stats, decimals
        self.height = client.status()["height"]

    def poll(self) -> None:
        tip = self.client.status()["height"]
        while self.height < tip:
            self.height += 1
            block = self.client.block(self.height)
            now = time.monotonic()
            with self.stats.lock:
                self.stats.commits.append((now, len(block["txs"])))
                for tx in block["txs"]:
                    for event in tx["receipt"]["events"]:
                        line = self._describe(event)
                        if line is not None:
                            self.stats.payments.append((self.height, line))

    def _describe(self, event: dict) -> str | None:
        """One line for a payment-like event; None for the others (offers, controls, governance)."""
        kind = event["kind"]
        if kind not in ("transfer", "mint", "burn", "payment", "clawback"):
            return None
        amount = format_amount(event["amount_minor"], self.decimals.get(event["currency"], 0))
        short = lambda address: address[:10] + "…"  # noqa: E731
        if kind == "mint":
            return f"mint {amount} {event['currency']} → {short(event['to'])}"
        if kind == "burn":
            return f"burn {amount} {event['currency']} by {short(event['from'])}"
        line = f"{short(event['from'])} → {short(event['to'])}  {amount} {event['currency']}"
        if kind == "payment":
            sent = format_amount(event["sent_minor"], self.decimals.get(event["sent_currency"], 0))
            line += f"  (paid {sent} {event['sent_currency']} through the book)"
        return line if kind != "clawback" else "clawback " + line


def render(network: Network, nodes: list[NodeProcess], client: Client, stats: DemoStats, demo: bool) -> Group:
    status = client.status()
    now = time.monotonic()
    with stats.lock:
        while stats.commits and stats.commits[0][0] < now - RATE_WINDOW_S:
            stats.commits.popleft()
        committed_recent = sum(count for _, count in stats.commits)
        latencies = sorted(stats.latencies_ms)
        payments = list(stats.payments)
        submitted, refused = stats.submitted, sum(stats.refused.values())
        top_refusals = ", ".join(f"{reason} ×{count}" for reason, count in stats.refused.most_common(2))
    if latencies:
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        latency = f"p50 {p50:.0f} ms · p95 {p95:.0f} ms"
    else:
        latency = "—"
    summary = Table.grid(padding=(0, 3))
    summary.add_row(
        f"[bold]height[/] {status['height']}",
        f"[bold]committed[/] {committed_recent / RATE_WINDOW_S:.1f} tx/s",
        f"[bold]submit→final[/] {latency}",
        f"[bold]submitted[/] {submitted}  [bold]refused[/] {refused}" + (f" ({top_refusals})" if refused else ""),
    )
    validators = Table(title="validators", title_justify="left", expand=True)
    for column in ("node", "api", "process", "height"):
        validators.add_column(column)
    for node in nodes:
        alive = node.process.poll() is None
        try:
            height = str(Client(node.api, timeout_s=0.5).status()["height"]) if alive else "—"
        except (NodeUnreachable, ApiError):
            height = "unreachable"
        validators.add_row(node.home.name, node.api, "[green]up[/]" if alive else "[red]down[/]", height)
    supply = Table(title="supply per currency", title_justify="left", expand=True)
    for column in ("currency", "supply", "attested reserve", "attested", "issuer", "auditor"):
        supply.add_column(column, justify="right" if column not in ("issuer", "auditor") else "left")
    for currency in client.currencies():
        age_s = max(0, int(time.time() * 1000) - currency.get("reserve_as_of_ms", 0)) // 1000
        attested = "STALE" if currency.get("reserve_stale") else f"{age_s // 60} min ago" if age_s >= 60 else f"{age_s} s ago"
        supply.add_row(currency["code"], currency["supply"], currency["reserve"], attested, currency["issuer"][:16] + "…",
                       (currency.get("auditor") or "none")[:16] + "…")
    last = Table(title="last payments", title_justify="left", expand=True)
    last.add_column("height", justify="right")
    last.add_column("payment")
    for height, text in reversed(payments):
        last.add_row(str(height), text)
    title = f"Corridor devnet · chain {network.chain_id}" + ("" if demo else " · no demo workload")
    footer = "Ctrl-C stops every node this command started"
    return Group(Panel(summary, title=title, subtitle=footer), validators, supply, last)


def run_devnet(home: Path, validators: int, base_port: int, demo: bool, fresh: bool, console: Console, duration_s: float | None = None) -> None:
    """Create or reuse the network, start it, run the demo and show it until Ctrl-C (or `duration_s`)."""
    home = home.resolve()
    network = prepare_network(home, validators, base_port, fresh, console)
    nodes = start_nodes(home, network)
    stop = threading.Event()
    try:
        wait_ready(nodes)
        client = Client(network.nodes[0]["api"])
        stats = DemoStats()
        decimals = {c["code"]: c["decimals"] for c in client.currencies()}
        follower = BlockFollower(client, stats, decimals)
        if demo:
            run_demo_workload(client, network, stats, stop)
        started = time.monotonic()
        with Live(render(network, nodes, client, stats, demo), console=console, refresh_per_second=4) as live:
            while duration_s is None or time.monotonic() - started < duration_s:
                time.sleep(0.25)
                try:
                    follower.poll()
                    live.update(render(network, nodes, client, stats, demo))
                except NodeUnreachable:
                    continue
    except KeyboardInterrupt:
        console.print("stopping the network…")
    finally:
        stop.set()
        stop_nodes(home, nodes)
    console.print(f"stopped; the chain is kept in {home} and `corridor devnet` resumes it")
