"""Redemption requests with deadlines on a real one-validator network, through the CLI (`corridor redeem ...`,
`corridor issuer redemption-deadline`, `corridor query redemptions|redemption`), the HTTP API, `/metrics` and the
explorer page (docs/compliance.md, section 6).

USD keeps the default 5-day deadline (its requests are never overdue during the test); EUR gets a deadline of
a few milliseconds, so its requests turn overdue at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error, wait_for
from .test_explorer_browser import browser, screenshot  # noqa: F401 (browser: a fixture; chromium, skipped without it)
from .test_metrics import scrape, value

DEFAULT_DEADLINE_MS = 432_000_000


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network (overrides conftest's)."""
    factory = NetworkFactory(tmp_path_factory.mktemp("redemption"), port_allocator)
    network = factory.create(currencies=("USD", "EUR"))
    yield network
    factory.close()


def issuer(net: Network, code: str) -> str:
    return str(net.issuers[code].path)


def run_json(net: Network, *args: str) -> dict:
    """A transaction command with --wait --json that must commit; its receipt."""
    result = net.cli(*args, "--wait", "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    answer = json.loads(result.stdout)
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def request(net: Network, holder: Account, amount: str, code: str) -> tuple[int, dict]:
    receipt = run_json(net, "redeem", "request", "--key", str(holder.path), "--currency", code, "--amount", amount)
    (event,) = receipt["events"]
    assert event["kind"] == "redemption_requested" and event["account"] == holder.address
    return event["redemption_id"], receipt


def shown(net: Network, redemption_id: int) -> dict:
    response = net.get(f"/v1/redemptions/{redemption_id}")
    assert response.status == 200, response
    return response.json


def block_time(net: Network, height: int) -> int:
    return net.get(f"/v1/blocks/{height}").json["header"]["time_ms"]


def refused(net: Network, *args: str, code: str) -> None:
    assert_cli_error(net.cli(*args, "--wait"), exit_code=3, contains=(code,))


def test_request_cancel_fulfil_and_reject(net: Network) -> None:
    holder, other = net.new_account("holder"), net.new_account("other")
    net.fund(holder, "USD", 100_000)  # 1,000.00 USD
    supply = net.currency("USD")["supply_minor"]
    assert net.currency("USD")["redemption_deadline_ms"] == DEFAULT_DEADLINE_MS

    # request: the balance falls, the supply does not, the amount is shown locked
    first, receipt = request(net, holder, "250.00", "USD")
    requested_at = block_time(net, receipt["height"])
    assert receipt["events"][0] == {"kind": "redemption_requested", "redemption_id": first, "currency": "USD",
                                    "account": holder.address, "amount_minor": 25_000,
                                    "deadline_ms": requested_at + DEFAULT_DEADLINE_MS}
    assert net.balance(holder.address, "USD") == 75_000
    assert net.currency("USD")["supply_minor"] == supply
    assert net.account(holder.address)["redemptions_locked"] == {"USD": 25_000}
    view = shown(net, first)
    assert (view["status"], view["overdue"], view["requester"], view["amount_minor"], view["amount"]) == (
        "open", False, holder.address, 25_000, "250.00")
    assert (view["requested_height"], view["requested_time_ms"], view["deadline_ms"]) == (
        receipt["height"], requested_at, requested_at + DEFAULT_DEADLINE_MS)
    listed = net.cli_json("query", "redemptions", "--currency", "USD")
    assert [item["id"] for item in listed["redemptions"]] == [first] and listed["summary"]["USD"]["locked_minor"] == 25_000
    assert net.cli_json("query", "redemption", str(first))["status"] == "open"
    assert net.cli("query", "redemptions").returncode == 0  # the table

    # only the requester cancels; cancelling returns the amount
    refused(net, "redeem", "cancel", "--key", str(other.path), "--id", str(first), code="not_redemption_requester")
    refused(net, "redeem", "fulfil", "--key", str(holder.path), "--id", str(first), "--payout", "x", code="not_issuer")
    receipt = run_json(net, "redeem", "cancel", "--key", str(holder.path), "--id", str(first))
    assert receipt["events"] == [{"kind": "redemption_cancelled", "redemption_id": first, "currency": "USD",
                                  "account": holder.address, "amount_minor": 25_000}]
    assert net.balance(holder.address, "USD") == 100_000 and net.account(holder.address)["redemptions_locked"] == {}
    view = shown(net, first)
    assert (view["status"], view["closed_height"], view["late"]) == ("cancelled", receipt["height"], False)
    refused(net, "redeem", "fulfil", "--key", issuer(net, "USD"), "--id", str(first), "--payout", "x", code="redemption_closed")

    # request again and fulfil: the supply falls by the amount, the payout reference is in the event
    second, _ = request(net, holder, "100.00", "USD")
    receipt = run_json(net, "redeem", "fulfil", "--key", issuer(net, "USD"), "--id", str(second), "--payout", "wire 2026-0042")
    payout = sha256(b"wire 2026-0042").hex()
    assert receipt["events"] == [{"kind": "redemption_fulfilled", "redemption_id": second, "currency": "USD",
                                  "account": holder.address, "amount_minor": 10_000, "payout_reference": payout, "late": False}]
    assert net.currency("USD")["supply_minor"] == supply - 10_000
    assert net.balance(holder.address, "USD") == 90_000
    view = net.cli_json("query", "redemption", str(second))
    assert (view["status"], view["payout_reference"], view["late"], view["closed_height"]) == ("fulfilled", payout, False, receipt["height"])

    # a rejection returns the amount and records the reason
    third, _ = request(net, holder, "50.00", "USD")
    receipt = run_json(net, "redeem", "reject", "--key", issuer(net, "USD"), "--id", str(third), "--reason", "KYC expired")
    assert receipt["events"][0]["kind"] == "redemption_rejected" and receipt["events"][0]["reason_hash"] == sha256(b"KYC expired").hex()
    assert net.balance(holder.address, "USD") == 90_000 and net.currency("USD")["supply_minor"] == supply - 10_000
    assert shown(net, third)["reason_hash"] == sha256(b"KYC expired").hex()

    # the other refusals
    refused(net, "redeem", "request", "--key", issuer(net, "USD"), "--currency", "USD", "--amount", "1.00", code="issuer_redemption")
    refused(net, "redeem", "request", "--key", str(other.path), "--currency", "USD", "--amount", "1.00", code="insufficient_funds")
    refused(net, "redeem", "cancel", "--key", str(holder.path), "--id", "999999", code="unknown_redemption")
    assert (net.get("/v1/redemptions/999999").status, net.get("/v1/redemptions/999999").error_code) == (404, "unknown_redemption")
    assert net.get("/v1/redemptions?status=closed").error_code == "bad_status"
    assert net.get("/v1/redemptions?currency=XAU").error_code == "unknown_currency"

    everything = net.cli_json("query", "redemptions", "--status", "all", "--account", holder.address)
    assert [(item["id"], item["status"]) for item in everything["redemptions"]] == [
        (third, "rejected"), (second, "fulfilled"), (first, "cancelled")]
    assert net.cli_json("query", "redemptions", "--account", holder.address)["redemptions"] == []


def test_an_overdue_request_shows_in_the_api_and_metrics_until_fulfilled_late(net: Network) -> None:
    holder = net.new_account("late-holder")
    net.fund(holder, "EUR", 10_000)
    receipt = run_json(net, "issuer", "redemption-deadline", "--key", issuer(net, "EUR"), "--currency", "EUR", "--deadline", "5ms")
    assert receipt["events"] == [{"kind": "redemption_deadline_set", "currency": "EUR", "redemption_deadline_ms": 5}]
    assert net.currency("EUR")["redemption_deadline_ms"] == 5
    before = scrape(net)
    assert value(before, "corridor_redemptions_overdue", currency="EUR") == 0
    assert ("corridor_redemptions_open", frozenset({("currency", "USD")})) in before  # every currency has a series

    late_id, receipt = request(net, holder, "20.00", "EUR")
    deadline = receipt["events"][0]["deadline_ms"]
    assert deadline == block_time(net, receipt["height"]) + 5

    def overdue_listed() -> dict | None:
        answer = net.get("/v1/redemptions?status=overdue&currency=EUR").json
        return answer if answer["redemptions"] else None

    answer = wait_for(overdue_listed, 10, "the request to turn overdue")
    (item,) = answer["redemptions"]
    assert (item["id"], item["status"], item["overdue"]) == (late_id, "open", True)
    assert item["overdue_ms"] == answer["now_ms"] - deadline > 0
    assert answer["summary"] == {"EUR": {"open": 1, "overdue": 1, "locked_minor": 2_000,
                                         "oldest_overdue_age_ms": answer["now_ms"] - item["requested_time_ms"]}}
    assert shown(net, late_id)["overdue"] is True
    assert net.get("/v1/redemptions?status=overdue&currency=USD").json["redemptions"] == []
    table = net.cli("query", "redemptions", "--currency", "EUR")
    assert table.returncode == 0 and "OVERDUE" in table.stdout, table.stdout

    samples = scrape(net)
    assert value(samples, "corridor_redemptions_open", currency="EUR") == 1
    assert value(samples, "corridor_redemptions_overdue", currency="EUR") == 1
    assert value(samples, "corridor_redemption_oldest_overdue_age_seconds", currency="EUR") > 0
    assert value(samples, "corridor_redemptions_overdue", currency="USD") == 0

    # fulfilling after the deadline is allowed and recorded late; the metrics return to 0
    receipt = run_json(net, "redeem", "fulfil", "--key", issuer(net, "EUR"), "--id", str(late_id), "--payout", "wire late")
    assert receipt["events"][0]["late"] is True
    view = shown(net, late_id)
    assert (view["status"], view["late"], view["overdue"]) == ("fulfilled", True, False)
    samples = scrape(net)
    assert value(samples, "corridor_redemptions_open", currency="EUR") == 0
    assert value(samples, "corridor_redemptions_overdue", currency="EUR") == 0
    assert value(samples, "corridor_redemption_oldest_overdue_age_seconds", currency="EUR") == 0


def test_the_explorer_shows_open_redemptions_with_overdue_ones_highlighted(browser, net: Network) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page, problems = browser
    holder = net.new_account("explorer-holder")
    net.fund(holder, "USD", 10_000)
    net.fund(holder, "EUR", 10_000)
    run_json(net, "issuer", "redemption-deadline", "--key", issuer(net, "EUR"), "--currency", "EUR", "--deadline", "5ms")
    on_time, _ = request(net, holder, "1.00", "USD")
    overdue, _ = request(net, holder, "2.00", "EUR")
    wait_for(lambda: shown(net, overdue)["overdue"], 10, "the EUR request to turn overdue")

    page.goto(net.api + "/")
    row = page.locator(f'#redemptions tr[data-redemption="{overdue}"]')
    expect(row).to_have_attribute("data-overdue", "true")
    expect(row).to_contain_text("overdue")
    expect(row).to_contain_text("2.00 EUR")
    expect(page.locator(f'#redemptions tr[data-redemption="{on_time}"]')).to_have_attribute("data-overdue", "false")
    expect(page.locator("#redemptions-summary")).to_contain_text("EUR: 1 open, 1 overdue")
    screenshot(page, "explorer-redemptions.png")

    # a fulfilment reaches the page live: the row goes, and the receipt is described
    receipt = run_json(net, "redeem", "fulfil", "--key", issuer(net, "EUR"), "--id", str(overdue), "--payout", "wire")
    expect(page.locator(f'#redemptions tr[data-redemption="{overdue}"]')).to_have_count(0)
    expect(page.locator("#txs")).to_contain_text(f"redemption #{overdue}")
    run_json(net, "redeem", "cancel", "--key", str(holder.path), "--id", str(on_time))
    assert receipt["events"][0]["late"] is True
    assert problems == [], problems
