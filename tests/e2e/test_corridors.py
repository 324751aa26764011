"""Corridors on a real one-validator network (docs/compliance.md section 3), through the CLI, the HTTP API, the
SDK, the events stream and the explorer.

The USD issuer authorises a sender with `corridor issuer authorize --jurisdiction US` and records a recipient
in HK with `corridor issuer jurisdiction`; `corridor issuer set-corridor` gives the US -> HK corridor a
travel-rule threshold of 1,000.00 USD. A payment above it without a travel-rule hash is refused
`travel_rule_required` (exit code 3) and, with `--travel-rule FILE`, settles; the same amount to an account in
SG needs nothing. Then a maximum per payment and a rolling window refuse `corridor_limit_exceeded`, the API,
the SDK and `corridor query corridors` show the policy and what the sender used of its window, and removing
the policy (through the SDK's builder) lets the payment through without a hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from corridor.client import load_key
from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error
from .test_explorer_browser import browser  # noqa: F401  (the fixture)
from .test_fx_corridor import EventStream


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network with USD and EUR."""
    factory = NetworkFactory(tmp_path_factory.mktemp("corridors"), port_allocator)
    network = factory.create(validators=1, currencies=("USD", "EUR"))
    yield network
    factory.close()


def issuer(net: Network) -> str:
    return str(net.issuers["USD"].path)


def ok_json(net: Network, *args: str) -> object:
    result = net.cli(*args, "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def committed(answer: dict) -> dict:
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def transfer(net: Network, sender: Account, to: Account, amount: str, *extra: str):
    return net.cli("tx", "transfer", "--key", str(sender.path), "--to", to.address, "--amount", amount, "--currency", "USD",
                   *extra, "--wait")


def test_a_corridor_threshold_forces_a_travel_rule_hash_and_its_limits_refuse_what_is_over(net: Network) -> None:
    sender, receiver, other = net.new_account("us-sender"), net.new_account("hk-receiver"), net.new_account("sg-other")
    net.fund(sender, "USD", 2_000_000)  # 20,000.00 USD
    issuer_address = net.issuers["USD"].address
    events = EventStream(f"{net.api}/v1/events?account={issuer_address}")
    try:
        # jurisdictions: with the authorisation, or on their own
        answers = ok_json(net, "issuer", "authorize", "--key", issuer(net), "--currency", "USD", "--account", sender.address,
                          "--jurisdiction", "us", "--wait")
        assert [committed(a)["events"][0]["kind"] for a in answers] == ["authorized", "jurisdiction_set"]
        assert committed(answers[1])["events"] == [{"kind": "jurisdiction_set", "currency": "USD", "account": sender.address,
                                                   "jurisdiction": "US"}]
        for account, place in ((receiver, "HK"), (other, "SG")):
            committed(ok_json(net, "issuer", "jurisdiction", "--key", issuer(net), "--currency", "USD", "--account", account.address,
                              "--jurisdiction", place, "--wait"))
        assert net.account(sender.address)["jurisdictions"] == {"USD": "US"}
        assert net.account(sender.address)["balances"]["USD"]["jurisdiction"] == "US"
        assert net.client().jurisdiction(receiver.address, "USD") == "HK"
        shown = net.cli("query", "account", receiver.address)
        assert shown.returncode == 0 and "jurisdictions: USD HK" in shown.stdout, shown.stdout
        assert net.client().jurisdiction(receiver.address, "EUR") is None
        assert_cli_error(net.cli("issuer", "jurisdiction", "--key", issuer(net), "--currency", "USD", "--account", other.address,
                                 "--jurisdiction", "UK", "--wait"), exit_code=1, contains=("ISO 3166-1",))

        # the US -> HK corridor: above 1,000.00 USD a payment carries a travel-rule hash
        answer = ok_json(net, "issuer", "set-corridor", "--key", issuer(net), "--currency", "USD", "--from", "US", "--to", "HK",
                         "--travel-rule-threshold", "1000.00", "--wait")
        receipt = committed(answer)
        assert receipt["events"] == [{"kind": "corridor_policy_set", "currency": "USD", "from_jurisdiction": "US",
                                      "to_jurisdiction": "HK", "travel_rule_threshold_minor": 100_000, "travel_rule_always": False,
                                      "payment_max_minor": 0, "window_max_minor": 0, "window_ms": 0, "removed": False}]
        streamed = events.wait_receipt(answer["hash"])
        assert streamed["tx_type"] == "set_corridor_policy" and streamed["events"] == receipt["events"]
    finally:
        events.close()

    refused = transfer(net, sender, receiver, "1500.00")
    assert_cli_error(refused, exit_code=3, contains=("travel_rule_required",))
    assert net.balance(receiver.address, "USD") == 0
    payload = net.root / "scratch" / "travel-rule.json"
    payload.write_text(json.dumps({"originator": "Acme Corp, New York", "beneficiary": "Kowloon Trading Ltd"}))
    settled = transfer(net, sender, receiver, "1500.00", "--travel-rule", str(payload), "--json")
    assert settled.returncode == 0, settled.stderr
    tx_hash = json.loads(settled.stdout)["hash"]
    assert net.get(f"/v1/txs/{tx_hash}").json["tx"]["body"]["travel_rule_hash"] == sha256(payload.read_bytes()).hex()
    assert net.balance(receiver.address, "USD") == 150_000
    assert transfer(net, sender, receiver, "1000.00").returncode == 0  # at the threshold: not above it
    assert transfer(net, sender, other, "1500.00").returncode == 0  # US -> SG: another corridor
    assert transfer(net, receiver, sender, "1500.00").returncode == 0  # HK -> US too

    # a maximum per payment and a rolling window of one hour, the threshold unchanged
    committed(ok_json(net, "issuer", "set-corridor", "--key", issuer(net), "--currency", "USD", "--from", "US", "--to", "HK",
                      "--payment-max", "2000.00", "--window-max", "3000.00", "--window", "1h", "--wait"))
    assert_cli_error(transfer(net, sender, receiver, "2000.01", "--travel-rule", str(payload)), exit_code=3,
                     contains=("corridor_limit_exceeded",))
    assert transfer(net, sender, receiver, "2000.00", "--travel-rule", str(payload)).returncode == 0
    assert_cli_error(transfer(net, sender, receiver, "1000.01", "--travel-rule", str(payload)), exit_code=3,
                     contains=("corridor_limit_exceeded",))
    assert transfer(net, sender, receiver, "1000.00").returncode == 0  # exactly the window's maximum
    assert_cli_error(transfer(net, sender, receiver, "0.01"), exit_code=3, contains=("corridor_limit_exceeded",))

    # the policy in the API, the CLI and the SDK, with what the sender used of its window
    policy = {"currency": "USD", "from_jurisdiction": "US", "to_jurisdiction": "HK", "travel_rule_threshold_minor": 100_000,
              "travel_rule_threshold": "1000.00", "travel_rule_always": False, "payment_max_minor": 200_000,
              "payment_max": "2000.00", "window_max_minor": 300_000, "window_max": "3000.00", "window_ms": 3_600_000,
              "bucket_ms": 450_000}
    listed = net.get("/v1/currencies/usd/corridors").json
    assert listed["currency"] == "USD" and [{k: c[k] for k in policy} for c in listed["corridors"]] == [policy]
    shown = ok_json(net, "query", "corridors", "USD", "--account", sender.address)
    assert shown["jurisdiction"] == "US" and shown["account"] == sender.address
    assert shown["corridors"][0]["account_window"] == {"used_minor": 300_000, "used": "3000.00", "remaining_minor": 0, "remaining": "0.00"}
    client = net.client()
    assert client.corridors("USD", receiver.address)["corridors"][0]["account_window"]["used_minor"] == 0
    table = net.cli("query", "corridors", "USD", env={"COLUMNS": "200"})
    assert table.returncode == 0 and "above 1000.00 USD" in table.stdout and "3000.00 USD / 1.0h" in table.stdout, table.stdout
    assert net.get("/v1/currencies/XYZ/corridors").status == 404
    assert_cli_error(net.cli("issuer", "set-corridor", "--key", str(sender.path), "--currency", "USD", "--from", "US", "--to", "*",
                             "--payment-max", "1.00", "--wait"), exit_code=3, contains=("not_issuer",))

    # removing the policy through the SDK: the payment above the old threshold needs no hash any more
    result = client.send(client.txs.set_corridor_policy(load_key(net.issuers["USD"].path), "USD", "US", "HK"))
    assert [(e["kind"], e["removed"]) for e in result.receipt["events"]] == [("corridor_policy_set", True)]
    assert client.corridors("USD")["corridors"] == []
    assert transfer(net, sender, receiver, "1500.00").returncode == 0


def test_a_wildcard_corridor_covers_accounts_without_a_jurisdiction_and_pay_legs_are_checked(net: Network) -> None:
    unknown, payee = net.new_account("unlocated"), net.new_account("payee")
    net.fund(unknown, "USD", 100_000)
    client, key = net.client(), load_key(net.issuers["USD"].path)
    client.send(client.txs.set_corridor_policy(key, "USD", "*", "*", payment_max="50.00", travel_rule_always=False))
    try:
        assert_cli_error(transfer(net, unknown, payee, "50.01"), exit_code=3, contains=("corridor_limit_exceeded",))
        assert transfer(net, unknown, payee, "50.00").returncode == 0
        # a cross-currency payment's USD leg (what the route costs) goes through the same corridor
        market = net.new_account("market-maker")
        net.fund(market, "EUR", 100_000)
        made = net.cli("offer", "create", "--key", str(market.path), "--sell", "1000.00", "EUR", "--buy", "USD", "--price", "1.25",
                       "--wait")
        assert made.returncode == 0, made.stderr
        paid = net.cli("pay", "--key", str(unknown.path), "--to", payee.address, "--send-max", "100.00", "USD",
                       "--receive", "50.00", "EUR", "--wait")  # costs 62.50 USD
        assert_cli_error(paid, exit_code=3, contains=("corridor_limit_exceeded",))
        paid = net.cli("pay", "--key", str(unknown.path), "--to", payee.address, "--send-max", "100.00", "USD",
                       "--receive", "40.00", "EUR", "--wait")  # costs 50.00 USD
        assert paid.returncode == 0, paid.stderr
        assert net.balance(payee.address, "EUR") == 4_000
    finally:
        client.send(client.txs.set_corridor_policy(key, "USD", "*", "*"))
    assert client.corridors("USD")["corridors"] == []


def test_the_explorer_lists_a_currencys_corridors(browser, net: Network) -> None:
    # `browser` first: without chromium (or playwright) the test skips before doing anything
    from playwright.sync_api import expect

    from .test_explorer_browser import TIMEOUT_MS, screenshot

    page, problems = browser
    expect.set_options(timeout=TIMEOUT_MS)
    client, key = net.client(), load_key(net.issuers["EUR"].path)
    page.goto(net.api + "/")
    expect(page.locator('#currencies tr[data-currency="EUR"]')).to_be_visible()
    client.send(client.txs.set_corridor_policy(key, "EUR", "EU", "CN", travel_rule_always=True, window_max="10000.00",
                                               window=86_400_000))
    try:
        item = page.locator('#currencies tr[data-corridors="EUR"] li[data-corridor="EU-CN"]')
        expect(item).to_contain_text("EU → CN")  # the receipt's event makes the page re-read the corridors
        expect(item).to_contain_text("travel rule on every payment")
        expect(item).to_contain_text("per sender per 24.0 h")
        screenshot(page, "explorer-corridors.png")
        located = net.new_account("located")
        client.send(client.txs.set_jurisdiction(key, "EUR", located.address, "DE"))
        page.fill("#search", located.address)
        page.press("#search", "Enter")
        expect(page.locator('#search-result #account-balances tr[data-currency="EUR"] .jurisdiction')).to_have_text("DE")
    finally:
        client.send(client.txs.set_corridor_policy(key, "EUR", "EU", "CN"))
    expect(page.locator('#currencies li[data-corridor="EU-CN"]')).to_have_count(0)
    assert problems == [], problems
