"""The consortium sanctions list on a real one-validator network (its single validator holds all the voting
power, so its signature alone is a governance quorum), through the CLI, the HTTP API, the SDK and the events
stream.

An account holding USD with a resting USD -> EUR offer is listed by `corridor gov propose set-sanctioned` +
`gov submit`: its offer leaves the book and the offer's USD returns to its balance, frozen there by the
listing. It then fails, with `account_sanctioned` (exit code 3), to transfer, to place an offer, to swap out
and to pay cross-currency; others fail to transfer to it, to pay it cross-currency and to mint to it. It
shows as sanctioned in `GET /v1/accounts/{address}`, `GET /v1/sanctions`, `corridor query sanctions --json`
and the SDK; its listing's receipt reaches `GET /v1/events?account=...`. Delisting (through the SDK's
builder this time) restores it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.client import Client, load_key
from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error
from .test_fx_corridor import EventStream
from .test_explorer_browser import browser  # noqa: F401  (the fixture)

ORDER = "OFAC SDN designation 2026-07-14"
LAWFUL_ORDER = ("--authority", "OFAC", "--order-hash", sha256(ORDER.encode()).hex())  # what a listing executes (orders.py)


def order_record(account: str) -> dict:
    """The `lawful_order` event that ends a listing's receipt (ledger/orders.py)."""
    return {"kind": "lawful_order", "action": "sanction", "currency": "", "account": account, "amount_minor": 0,
            "authority": "OFAC", "order_hash": sha256(ORDER.encode()).hex(), "order_expiry_ms": 0, "approvers": [],
            "approvals_required": 0, "approved_by": "governance"}


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network with USD and EUR."""
    factory = NetworkFactory(tmp_path_factory.mktemp("sanctions"), port_allocator)
    network = factory.create(validators=1, currencies=("USD", "EUR"))
    yield network
    factory.close()


def node_key(net: Network) -> Path:
    return net.nodes[0].home / "node_key.json"


def ok_json(net: Network, *args: str) -> dict:
    result = net.cli(*args)
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def committed(answer: dict) -> dict:
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def refused(result, code: str = "account_sanctioned") -> None:
    assert_cli_error(result, exit_code=3, contains=(code,))


def gov_refused(result, code: str) -> None:
    """`gov submit` prints the power signed before it submits, then the refusal on stderr (exit code 3)."""
    assert result.returncode == 3 and code in result.stderr and "Traceback" not in result.stderr, (result.returncode, result.stderr)


def test_governance_sanctions_an_account_that_then_cannot_move_anything_until_delisted(net: Network) -> None:
    target, friend = net.new_account("target"), net.new_account("friend")
    net.fund(target, "USD", 100_000)  # 1,000.00 USD
    net.fund(friend, "EUR", 50_000)
    net.fund(friend, "USD", 10_000)
    client = net.client()

    # A resting offer: 200.00 USD for EUR at 0.90 EUR per USD.
    placed = committed(ok_json(net, "offer", "create", "--key", str(target.path), "--sell", "200.00", "USD", "--buy", "EUR",
                               "--price", "0.90", "--wait", "--json"))
    offer_id = next(e["offer_id"] for e in placed["events"] if e["kind"] == "offer_placed")
    assert net.balance(target.address, "USD") == 80_000
    assert [level["base_minor"] for level in net.get("/v1/books/USD/EUR").json["asks"]] == [20_000]
    assert net.account(target.address)["sanctioned"] is False and client.is_sanctioned(target.address) is False

    events = EventStream(f"{net.api}/v1/events?account={target.address}")
    try:
        # list it: propose (the single validator's key is the quorum), submit -------------------------------
        proposal = net.root / "scratch" / "sanction-target.json"
        shown = ok_json(net, "gov", "propose", "set-sanctioned", "--key", str(node_key(net)), "--out", str(proposal),
                        "--account", target.address, "--reason", ORDER, *LAWFUL_ORDER, "--json")
        assert shown["type"] == "gov_set_sanctioned"
        assert shown["body"]["account"] == target.address and shown["body"]["listed"] is True
        assert shown["body"]["reason_hash"] == sha256(ORDER.encode()).hex()
        answer = ok_json(net, "gov", "submit", str(proposal), "--wait", "--json")
        receipt = committed(answer)
        listed_at = receipt["height"]
        assert receipt["events"] == [
            {"kind": "sanctioned", "account": target.address, "reason_hash": sha256(ORDER.encode()).hex(),
             "offers_removed": 1, "offers_remaining": False},
            {"kind": "offer_removed", "offer_id": offer_id, "account": target.address, "currency": "USD", "refunded_minor": 20_000},
            order_record(target.address),
        ]
        streamed = events.wait_receipt(answer["hash"])
        assert streamed["tx_type"] == "gov_set_sanctioned" and streamed["events"] == receipt["events"]
    finally:
        events.close()

    # its offer left the book; the funds are back in its balance, frozen there
    assert net.get("/v1/books/USD/EUR").json["asks"] == []
    assert net.get(f"/v1/accounts/{target.address}/offers").json["offers"] == []
    account = net.account(target.address)
    assert account["balances"]["USD"]["amount_minor"] == 100_000
    assert account["sanctioned"] is True
    assert account["sanction"] == {"height": listed_at, "reason_hash": sha256(ORDER.encode()).hex()}
    entry = {"account": target.address, "height": listed_at, "reason_hash": sha256(ORDER.encode()).hex()}
    assert net.get("/v1/sanctions").json == {"height": net.get("/v1/sanctions").json["height"], "sanctions": [entry]}
    assert net.cli_json("query", "sanctions") == [entry]
    assert client.sanctions() == [entry] and client.is_sanctioned(target.address) is True
    text = net.cli("query", "account", target.address)
    assert text.returncode == 0 and "SANCTIONED" in text.stdout, text.stdout
    assert target.address in net.cli("query", "sanctions").stdout
    # listing it twice is refused
    again = net.root / "scratch" / "sanction-again.json"
    ok_json(net, "gov", "propose", "set-sanctioned", "--key", str(node_key(net)), "--out", str(again),
            "--account", target.address, "--reason", "another order", *LAWFUL_ORDER, "--json")
    gov_refused(net.cli("gov", "submit", str(again), "--wait"), "already_sanctioned")

    # it can neither send, nor trade, nor swap out, nor pay cross-currency --------------------------------
    refused(net.cli("tx", "transfer", "--key", str(target.path), "--to", friend.address, "--amount", "1.00", "--currency", "USD", "--wait"))
    refused(net.cli("offer", "create", "--key", str(target.path), "--sell", "10.00", "USD", "--buy", "EUR", "--price", "0.90", "--wait"))
    refused(net.cli("tx", "burn", "--key", str(target.path), "--amount", "1.00", "--currency", "USD", "--wait"))
    swap = net.root / "scratch" / "swap-out.json"
    created = net.cli("swap", "create", "--key", str(target.path), "--counterparty", friend.key.public_key.hex(),
                      "--give", "100.00", "USD", "--get", "90.00", "EUR", "--out", str(swap))
    assert created.returncode == 0, created.stderr
    assert net.cli("swap", "sign", str(swap), "--key", str(friend.path), "--yes").returncode == 0
    refused(net.cli("swap", "submit", str(swap), "--wait"))
    refused(net.cli("pay", "--key", str(target.path), "--to", friend.address, "--send-max", "20.00", "USD",
                    "--receive", "10.00", "EUR", "--wait"))

    # nobody can pay it or mint to it ------------------------------------------------------------------------
    refused(net.cli("tx", "transfer", "--key", str(friend.path), "--to", target.address, "--amount", "1.00", "--currency", "USD", "--wait"))
    refused(net.cli("pay", "--key", str(friend.path), "--to", target.address, "--send-max", "20.00", "EUR",
                    "--receive", "10.00", "USD", "--wait"))
    refused(net.cli("tx", "mint", "--key", str(net.issuers["USD"].path), "--to", target.address, "--amount", "1.00",
                    "--currency", "USD", "--wait"))
    assert net.balance(target.address, "USD") == 100_000 and net.balance(target.address, "EUR") == 0
    assert (net.balance(friend.address, "USD"), net.balance(friend.address, "EUR")) == (10_000, 50_000)

    # delisting, through the SDK this time, restores it ----------------------------------------------------
    validator = load_key(node_key(net))
    delisting = client.txs.gov_set_sanctioned(validator, target.address, False, reason="designation lifted 2026-09-01")
    result = client.send(delisting.transaction())
    assert [e["kind"] for e in result.receipt["events"]] == ["unsanctioned"]
    assert client.sanctions() == [] and net.account(target.address)["sanctioned"] is False
    assert net.account(target.address)["sanction"] is None
    sent = net.cli("tx", "transfer", "--key", str(target.path), "--to", friend.address, "--amount", "1.00", "--currency", "USD", "--wait")
    assert sent.returncode == 0, sent.stderr
    received = net.cli("tx", "transfer", "--key", str(friend.path), "--to", target.address, "--amount", "2.00", "--currency", "USD", "--wait")
    assert received.returncode == 0, received.stderr
    assert net.balance(target.address, "USD") == 100_100
    history = [item["type"] for item in net.cli_json("gov", "history")["history"]]
    assert history.count("gov_set_sanctioned") == 2


def test_delisting_an_account_that_is_not_listed_is_refused_and_the_explorer_knows_the_list(net: Network) -> None:
    stranger = net.new_account("stranger")
    proposal = net.root / "scratch" / "delist-stranger.json"
    ok_json(net, "gov", "propose", "set-sanctioned", "--key", str(node_key(net)), "--out", str(proposal),
            "--account", stranger.address, "--delist", "--reason", "none", "--json")
    gov_refused(net.cli("gov", "submit", str(proposal), "--wait"), "not_sanctioned")
    usage = net.cli("gov", "propose", "set-sanctioned", "--key", str(node_key(net)), "--out", str(proposal), "--account", stranger.address)
    assert usage.returncode == 2 and "--reason" in usage.stderr
    script = net.get("/static/explorer.js")
    assert script.status == 200 and b"/v1/sanctions" in script.body and b"account-sanctioned" in script.body


def test_the_explorer_shows_the_list_and_a_sanctioned_badge(browser, net: Network) -> None:
    # `browser` first: without chromium (or playwright) the test skips before doing anything
    from playwright.sync_api import expect

    from .test_explorer_browser import TIMEOUT_MS, screenshot

    page, problems = browser
    expect.set_options(timeout=TIMEOUT_MS)
    client, validator = net.client(), load_key(node_key(net))
    target = net.new_account("listed-in-explorer")
    net.fund(target, "USD", 5_000)
    page.goto(net.api + "/")
    expect(page.locator("#sanctions")).to_contain_text("Consortium sanctions list")
    client.send(client.txs.gov_set_sanctioned(validator, target.address, reason="explorer order", authority="OFAC",
                                              order=b"explorer order").transaction())
    try:
        row = page.locator(f'#sanctions tr[data-account="{target.address}"]')
        expect(row).to_contain_text("sanctioned")  # the receipt's event makes the page re-read the list
        page.fill("#search", target.address)
        page.press("#search", "Enter")
        expect(page.locator("#search-result #account-sanctioned")).to_have_text("sanctioned")
        expect(page.locator('#search-result #account-balances tr[data-currency="USD"] td.amount')).to_have_text("50.00")
        screenshot(page, "explorer-sanctions.png")
    finally:
        client.send(client.txs.gov_set_sanctioned(validator, target.address, False, reason="explorer order lifted").transaction())
    expect(page.locator(f'#sanctions tr[data-account="{target.address}"]')).to_have_count(0)
    expect(page.locator("#search-result #account-sanctioned")).to_have_count(0)  # the account view follows its receipts
    assert problems == [], problems
