"""A whole USD -> JPY corridor on real nodes, driven through the `corridor` CLI and watched over server-sent events.

The JPY and USD issuers mint to a market maker and two companies; the market maker quotes JPY/USD with
`corridor offer create`; a company pays a supplier exactly 14,000 JPY out of USD with `corridor pay`, and the
company, the supplier and the market maker each see the payment's receipt on GET /v1/events?account=...; the
supplier's balance is final in the receipt's block; the book shows the fills; a payment with too low a
--send-max is refused (exit 3) and moves nothing; two companies swap USD for JPY with `corridor swap create`,
`swap sign` and `swap submit`.

Prices: the market maker sells JPY at 0.0067 and 0.0068 USD per yen (67/100 and 68/100 cents per yen) and
buys JPY at 150 per USD (it sells cents at 3/2 yen per cent). 14,000 JPY cost 10,000 x 0.67 + 4,000 x 0.68
= 6,700 + 2,720 cents = 94.20 USD.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from corridor.keys import parse_address

from .conftest import Network, NetworkFactory, assert_cli_error, wait_for

SSE_TIMEOUT_S = 30.0
PAYMENT_JPY = 14_000
PAYMENT_COST_CENTS = 10_000 * 67 // 100 + 4_000 * 68 // 100  # 9,420


class EventStream:
    """GET /v1/events read line by line in a daemon thread with urllib; keeps every (event, data) in order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.headers: dict[str, str] = {}
        self.error: BaseException | None = None
        self._response: Any = None
        self._ready = threading.Event()
        self._changed = threading.Condition()
        threading.Thread(target=self._read, name=f"sse {url}", daemon=True).start()
        assert self._ready.wait(SSE_TIMEOUT_S), f"no answer from {url}"
        assert self.error is None, self.error

    def _read(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=SSE_TIMEOUT_S * 2) as response:
                self._response = response
                self.headers = dict(response.headers)
                name, data = None, []
                for raw in response:
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith(":"):  # the opening comment: the node has subscribed us
                        self._ready.set()
                    elif line.startswith("event: "):
                        name = line[len("event: "):]
                    elif line.startswith("data: "):
                        data.append(line[len("data: "):])
                    elif line == "" and name is not None:
                        with self._changed:
                            self.events.append((name, json.loads("\n".join(data))))
                            self._changed.notify_all()
                        name, data = None, []
        except BaseException as exc:  # the node stopping at teardown ends the stream too
            self.error = exc
        finally:
            self._ready.set()
            with self._changed:
                self._changed.notify_all()

    def close(self) -> None:
        """End the stream from this side (so that the node need not wait for it when it stops)."""
        try:
            self._response.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass

    def receipts(self) -> list[dict[str, Any]]:
        with self._changed:
            return [data for name, data in self.events if name == "receipt"]

    def wait(self, predicate: Callable[[list[tuple[str, dict[str, Any]]]], Any], what: str) -> Any:
        deadline = time.monotonic() + SSE_TIMEOUT_S
        with self._changed:
            while True:
                found = predicate(list(self.events))
                if found:
                    return found
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out waiting for {what} on {self.url}; got {self.events}; error {self.error!r}"
                self._changed.wait(min(remaining, 0.5))

    def wait_receipt(self, tx_hash: str) -> dict[str, Any]:
        return self.wait(lambda events: next((d for n, d in events if n == "receipt" and d["tx_hash"] == tx_hash), None),
                         f"the receipt of {tx_hash}")

    def wait_block(self, height: int) -> dict[str, Any]:
        return self.wait(lambda events: next((d for n, d in events if n == "block" and d["height"] == height), None),
                         f"block {height}")


class BalanceWatch:
    """Samples (height, balance, height) of one account over HTTP while a payment happens: a sample whose two
    heights agree says what the committed balance was at that height."""

    def __init__(self, net: Network, address: str, currency: str, node: int = 0) -> None:
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(net, address, currency, node), daemon=True)
        self._thread.start()

    def _run(self, net: Network, address: str, currency: str, node: int) -> None:
        while not self._stop.is_set():
            try:
                before = net.nodes[node].height()
                balance = net.balance(address, currency, node=node)
                after = net.nodes[node].height()
            except (OSError, AssertionError):
                continue
            if before == after:
                self.samples.append((before, balance))
            time.sleep(0.01)

    def stop(self) -> list[tuple[int, int]]:
        self._stop.set()
        self._thread.join(10)
        return self.samples


def settled_view(net: Network, address: str, currency: str, node: int = 0) -> tuple[int, int]:
    """(height, balance) read between two equal heights."""
    def read() -> tuple[int, int] | None:
        before = net.nodes[node].height()
        balance = net.balance(address, currency, node=node)
        return (before, balance) if net.nodes[node].height() == before else None

    return wait_for(read, 10, "a height that holds still")


def balances(net: Network, accounts: dict[str, Any], node: int = 0) -> dict[tuple[str, str], int]:
    return {(name, code): net.balance(account.address, code, node=node) for name, account in accounts.items() for code in ("USD", "JPY")}


def run_corridor(net: Network, tmp_path: Path, nodes: int) -> None:
    """The whole corridor; with several nodes, each step talks to another node (`node` cycles)."""
    cycle = iter(range(10**6))

    def node() -> int:
        return next(cycle) % nodes

    maker, company, supplier, partner = (net.new_account(name) for name in ("maker", "company", "supplier", "partner"))
    accounts = {"maker": maker, "company": company, "supplier": supplier, "partner": partner}
    issuer = {code: str(net.issuers[code].path) for code in ("USD", "JPY")}

    # the issuers mint: through the CLI to the market maker and the company, over HTTP to the others
    for code, account, amount in (("JPY", maker, "1000000"), ("USD", company, "1000.00")):
        minted = net.cli_json("issuer", "mint", "--key", issuer[code], "--to", account.address, "--amount", amount,
                              "--currency", code, "--wait", node=node())
        assert minted["status"] == "committed" and minted["receipt"]["events"][0]["kind"] == "mint"
    net.fund(maker, "USD", 50_000)
    net.fund(partner, "JPY", 100_000)

    # the market maker quotes through the CLI: two asks (it sells JPY) and one bid (it buys JPY)
    quotes = []
    for sell, buy, price in (("10000 JPY", "USD", "0.0067"), ("20000 JPY", "USD", "0.0068"), ("100.00 USD", "JPY", "150")):
        amount, code = sell.split()
        placed = net.cli_json("offer", "create", "--key", str(maker.path), "--sell", amount, code, "--buy", buy, "--price", price,
                              "--wait", node=node())
        events = placed["receipt"]["events"]
        assert [e["kind"] for e in events] == ["offer_taken", "offer_placed"], events
        quotes.append(events[1])
    assert [(q["price_num"], q["price_den"], q["remaining_minor"]) for q in quotes] == [(67, 100, 10_000), (17, 25, 20_000), (3, 2, 10_000)]
    offers = net.cli_json("query", "offers", maker.address, node=node())
    assert [(o["id"], o["sell_currency"], o["remaining_minor"]) for o in offers] == [
        (quotes[0]["offer_id"], "JPY", 10_000), (quotes[1]["offer_id"], "JPY", 20_000), (quotes[2]["offer_id"], "USD", 10_000)]
    book = net.cli_json("query", "book", "JPY", "USD", node=node())
    assert book["asks"] == [
        {"price_num": 67, "price_den": 100, "base_minor": 10_000, "quote_minor": 6_700, "offers": 1},
        {"price_num": 17, "price_den": 25, "base_minor": 20_000, "quote_minor": 13_600, "offers": 1},
    ]
    assert book["bids"] == [{"price_num": 2, "price_den": 3, "base_minor": 15_000, "quote_minor": 10_000, "offers": 1}]

    # the company, the supplier and the market maker listen; each on another node
    streams = {name: EventStream(net.nodes[node()].api + f"/v1/events?account={accounts[name].address}")
               for name in ("company", "supplier", "maker")}
    assert streams["supplier"].headers.get("Content-Type", "").startswith("text/event-stream")

    # the payment: exactly 14,000 JPY to the supplier, at most 100 USD from the company
    before = balances(net, accounts)
    height_before, supplier_before = settled_view(net, supplier.address, "JPY")
    assert supplier_before == 0
    watch = BalanceWatch(net, supplier.address, "JPY", node=nodes - 1)
    paid = net.cli_json("pay", "--key", str(company.path), "--to", supplier.address, "--send-max", "100", "USD",
                        "--receive", str(PAYMENT_JPY), "JPY", "--wait", node=node())
    assert paid["status"] == "committed"
    receipt = paid["receipt"]
    height = receipt["height"]
    assert height == height_before + 1, "the chain was idle: the payment's block is the next one"
    payment = receipt["events"][-1]
    assert payment == {"kind": "payment", "from": company.address, "to": supplier.address, "sent_currency": "USD",
                       "sent_minor": PAYMENT_COST_CENTS, "currency": "JPY", "amount_minor": PAYMENT_JPY, "via": ""}
    assert [(e["kind"], e["offer_id"], e["sold_minor"], e["received_minor"]) for e in receipt["events"][:-1]] == [
        ("offer_filled", quotes[0]["offer_id"], 10_000, 6_700), ("offer_filled", quotes[1]["offer_id"], 4_000, 2_720)]

    # every subscriber gets the payment's receipt, in the block it committed in
    for name, stream in streams.items():
        seen = stream.wait_receipt(paid["hash"])
        assert seen["height"] == height and seen["code"] == "ok" and seen["tx_type"] == "pay", (name, seen)
        assert seen["sender"] == company.address and seen["events"] == receipt["events"], name
        block = stream.wait_block(height)
        assert block["tx_count"] == 1, (name, block)
        order = [(n, d.get("tx_hash"), d.get("height")) for n, d in stream.events]
        assert order.index(("receipt", paid["hash"], height)) < order.index(("block", None, height)), (name, order)

    # final within one block: the balance first shows at the receipt's height, exactly
    for index in range(nodes):
        net.nodes[index].wait_height(height)
        assert settled_view(net, supplier.address, "JPY", node=index) == (height, PAYMENT_JPY), f"node{index}"
    samples = watch.stop()
    assert samples, "the watcher read the balance"
    for sample_height, balance in samples:
        assert balance == (PAYMENT_JPY if sample_height >= height else 0), (sample_height, balance, height)
    after = balances(net, accounts)
    assert after[("supplier", "JPY")] == PAYMENT_JPY
    assert after[("company", "USD")] == before[("company", "USD")] - PAYMENT_COST_CENTS
    assert after[("maker", "USD")] == before[("maker", "USD")] + PAYMENT_COST_CENTS

    # the book shows the fills: the cheaper ask is gone, 16,000 JPY remain at 0.0068; the bid is untouched
    book = net.cli_json("query", "book", "JPY", "USD", node=node())
    assert book["height"] >= height
    assert book["asks"] == [{"price_num": 17, "price_den": 25, "base_minor": 16_000, "quote_minor": 10_880, "offers": 1}]
    assert book["bids"] == [{"price_num": 2, "price_den": 3, "base_minor": 15_000, "quote_minor": 10_000, "offers": 1}]
    table = net.cli("query", "book", "JPY", "USD", node=node())
    assert table.returncode == 0 and "0.0068" in table.stdout and "16000" in table.stdout, table.stdout

    # too low a --send-max: refused with exit code 3, and nothing moves
    company_account = net.account(company.address)
    book_before = net.get("/v1/books/JPY/USD").json
    refused = net.cli("pay", "--key", str(company.path), "--to", supplier.address, "--send-max", "50", "USD",
                      "--receive", str(PAYMENT_JPY), "JPY", "--wait", node=node())
    assert_cli_error(refused, exit_code=3, contains=("send_max_exceeded",))
    assert balances(net, accounts) == after
    assert net.get("/v1/books/JPY/USD").json == book_before
    assert net.account(company.address)["nonce"] == company_account["nonce"]
    assert net.nodes[0].height() == book_before["height"], "nothing was committed"

    # a swap between the company and its partner: create, co-sign, submit
    swap_file = tmp_path / f"swap-{nodes}.json"
    created = net.cli("swap", "create", "--key", str(company.path), "--counterparty", partner.key.public_key.hex(),
                      "--give", "10.00", "USD", "--get", "1500", "JPY", "--out", str(swap_file), node=node())
    assert created.returncode == 0, created.stderr
    incomplete = net.cli("swap", "submit", str(swap_file), "--wait", node=node())
    assert_cli_error(incomplete, exit_code=1, contains=("both signatures",))
    signed = net.cli("swap", "sign", str(swap_file), "--key", str(partner.path), "--yes", node=node())
    assert signed.returncode == 0, signed.stderr
    assert "gives 10.00 USD" in signed.stdout and "1500 JPY" in signed.stdout and "ready to submit" in signed.stdout
    swapped = net.cli_json("swap", "submit", str(swap_file), "--wait", node=node())
    assert swapped["status"] == "committed"
    assert swapped["receipt"]["events"] == [
        {"kind": "transfer", "currency": "USD", "from": company.address, "to": partner.address, "amount_minor": 1_000},
        {"kind": "transfer", "currency": "JPY", "from": partner.address, "to": company.address, "amount_minor": 1_500},
    ]
    for index in range(nodes):
        net.nodes[index].wait_height(swapped["receipt"]["height"])
    final = balances(net, accounts, node=nodes - 1)
    assert final == {**after, ("company", "USD"): after[("company", "USD")] - 1_000, ("partner", "USD"): 1_000,
                     ("company", "JPY"): 1_500, ("partner", "JPY"): 100_000 - 1_500}

    # the company's stream saw the swap, the supplier's only its payment; a replay from the payment's height agrees
    assert streams["company"].wait_receipt(swapped["hash"])["tx_type"] == "swap"
    streams["supplier"].wait_block(swapped["receipt"]["height"])
    assert [r["tx_hash"] for r in streams["supplier"].receipts()] == [paid["hash"]]
    replay = EventStream(net.api + f"/v1/events?account={supplier.address}&from_height={height}")
    assert replay.wait_receipt(paid["hash"]) == streams["supplier"].wait_receipt(paid["hash"])
    replay.wait_block(swapped["receipt"]["height"])
    assert [r["tx_hash"] for r in replay.receipts()] == [paid["hash"]]
    for stream in (*streams.values(), replay):
        stream.close()
    # one more block makes every node write to the closed streams, so their handlers end before the nodes stop
    net.commit(partner, "transfer", {"to": parse_address(company.address), "currency": "JPY", "amount_minor": 1, "memo": ""})


def test_a_usd_to_jpy_corridor_on_one_validator(network_factory: NetworkFactory, tmp_path: Path) -> None:
    net = network_factory.create(validators=1, currencies=("USD", "JPY"))
    run_corridor(net, tmp_path, nodes=1)


def test_the_same_corridor_on_four_validators(network_factory: NetworkFactory, tmp_path: Path) -> None:
    net = network_factory.create(validators=4, currencies=("USD", "JPY"))
    run_corridor(net, tmp_path, nodes=4)


# the swap file a counterparty reviews --------------------------------------------------------------------------


def proposed_swap(net: Network, tmp_path: Path) -> tuple[Path, Any]:
    """`corridor swap create`: a company gives 10.00 USD for 1,500 JPY; returns the file and the partner."""
    company, partner = net.new_account("company"), net.new_account("partner")
    path = tmp_path / "swap.json"
    created = net.cli("swap", "create", "--key", str(company.path), "--counterparty", partner.key.public_key.hex(),
                      "--give", "10.00", "USD", "--get", "1500", "JPY", "--out", str(path))
    assert created.returncode == 0, created.stderr
    return path, partner


def test_swap_sign_shows_the_terms_in_the_chains_units_whatever_the_file_claims(net: Network, tmp_path: Path) -> None:
    path, partner = proposed_swap(net, tmp_path)
    document = json.loads(path.read_text())
    document["decimals"] = {"USD": 0, "JPY": 0}  # a proposer's edit: the file's claims are never used
    path.write_text(json.dumps(document))
    signed = net.cli("swap", "sign", str(path), "--key", str(partner.path), "--yes")
    assert signed.returncode == 0 and "gives 10.00 USD" in signed.stdout, signed.stdout


def test_swap_sign_without_a_node_shows_minor_units(net: Network, tmp_path: Path) -> None:
    path, partner = proposed_swap(net, tmp_path)
    signed = net.cli("swap", "sign", str(path), "--key", str(partner.path), "--yes", "--node", "http://127.0.0.1:9")
    assert signed.returncode == 0 and "1000 minor units of USD" in signed.stdout, signed.stdout