"""The licence registry on a real one-validator network (docs/compliance.md, section 2), through the CLI, the
HTTP API, the SDK, the events stream and the explorer page.

USD is made distributors_only (`corridor issuer require-licence --scope distribute`). A distributor without a
licence is refused a mint (`not_distributor`, exit code 3); granted a US distribute licence
(`corridor issuer grant-licence ... --json`) it receives one, and the licence shows in `GET /v1/licences`,
`corridor query licences --json`, `GET /v1/accounts/{address}`, the currency's distributors and the SDK;
revoked (`corridor issuer revoke-licence --json`), the next mint to it and its own burn and redemption
request are refused `licence_revoked` at once. A second distributor granted a licence that expires a few
seconds later receives a mint before the expiry and is refused `licence_expired` after it, with no
transaction in between. Then the exchange scope on EUR (required by the SDK's builder): an unlicensed offer is
refused `licence_required`, a licensed one rests, and after a revocation `licence_revoked`. The explorer's
account view lists the licences with their status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from corridor.client import load_key
from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error, wait_for
from .test_explorer_browser import browser  # noqa: F401  (the fixture)
from .test_fx_corridor import EventStream

REASON = "licence withdrawn by board decision 2026-07"


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network with USD and EUR."""
    factory = NetworkFactory(tmp_path_factory.mktemp("licences"), port_allocator)
    network = factory.create(validators=1, currencies=("USD", "EUR"))
    yield network
    factory.close()


def issuer(net: Network, code: str) -> str:
    return str(net.issuers[code].path)


def committed(net: Network, *args: str) -> dict:
    """`corridor ARGS --wait --json`, which must commit; its receipt."""
    result = net.cli(*args, "--wait", "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    answer = json.loads(result.stdout)
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def mint_to(net: Network, account: Account, amount: str = "10.00"):
    return net.cli("issuer", "mint", "--key", issuer(net, "USD"), "--to", account.address, "--amount", amount, "--currency", "USD",
                   "--wait")


def test_grant_mint_revoke_and_expiry_of_distributor_licences(net: Network) -> None:
    distributor, second = net.new_account("distributor"), net.new_account("short-licence")
    client = net.client()

    receipt = committed(net, "issuer", "require-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--scope", "distribute")
    assert receipt["events"] == [{"kind": "licence_required_set", "currency": "USD", "scope": "distribute", "required": True}]
    usd = net.currency("USD")
    assert usd["distributors_only"] is True and usd["licences_required"] == ["distribute"]
    assert_cli_error(mint_to(net, distributor), exit_code=3, contains=("not_distributor",))

    # grant: through the CLI, seen in the events stream, the API, the CLI query and the SDK --------------------
    events = EventStream(f"{net.api}/v1/events?account={distributor.address}")
    try:
        result = net.cli("issuer", "grant-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", distributor.address,
                         "--scope", "distribute", "--jurisdiction", "us", "--wait", "--json")
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["receipt"]["events"] == [{"kind": "licence_granted", "currency": "USD", "account": distributor.address,
                                                "scope": "distribute", "jurisdiction": "US", "expires_at_ms": 0}]
        granted_at = answer["receipt"]["height"]
        streamed = events.wait_receipt(answer["hash"])
        assert streamed["tx_type"] == "grant_licence" and streamed["events"] == answer["receipt"]["events"]
    finally:
        events.close()
    document = net.get(f"/v1/licences?currency=USD&account={distributor.address}").json
    assert document["total"] == 1 and document["licences_required"] == ["distribute"]
    [licence] = document["licences"]
    assert {key: licence[key] for key in ("currency", "account", "scope", "jurisdiction", "expires_at_ms", "status", "in_force",
                                          "granted_height", "reason_hash")} == {
        "currency": "USD", "account": distributor.address, "scope": "distribute", "jurisdiction": "US", "expires_at_ms": 0,
        "status": "active", "in_force": True, "granted_height": granted_at, "reason_hash": None}
    assert net.cli_json("query", "licences", "--account", distributor.address)["licences"] == [licence]
    assert net.cli_json("query", "licences", "--currency", "usd")["licences"] == [licence]
    assert net.account(distributor.address)["licences"] == [licence]
    assert client.licence(distributor.address, "USD") == licence and client.licence(distributor.address, "USD", "exchange") is None
    assert net.currency("USD")["distributors"] == [distributor.address]
    text = net.cli("query", "licences", "--currency", "USD")
    assert text.returncode == 0 and "distribute" in text.stdout and "requires licences of: distribute" in text.stdout

    assert mint_to(net, distributor).returncode == 0
    assert net.balance(distributor.address, "USD") == 1_000

    # revoke: refused at once, the record kept with its reason ---------------------------------------------
    result = net.cli("issuer", "revoke-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", distributor.address,
                     "--scope", "distribute", "--reason", REASON, "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["receipt"]["events"] == [
        {"kind": "licence_revoked", "currency": "USD", "account": distributor.address, "scope": "distribute",
         "reason_hash": sha256(REASON.encode()).hex()}]
    assert_cli_error(mint_to(net, distributor), exit_code=3, contains=("licence_revoked",))
    assert_cli_error(net.cli("issuer", "burn", "--key", str(distributor.path), "--amount", "1.00", "--currency", "USD", "--wait"),
                     exit_code=3, contains=("licence_revoked",))
    assert_cli_error(net.cli("redeem", "request", "--key", str(distributor.path), "--amount", "1.00", "--currency", "USD", "--wait"),
                     exit_code=3, contains=("licence_revoked",))
    [licence] = client.licences("USD", distributor.address)["licences"]
    assert (licence["status"], licence["in_force"], licence["reason_hash"]) == ("revoked", False, sha256(REASON.encode()).hex())
    assert net.currency("USD")["distributors"] == []
    again = net.cli("issuer", "revoke-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", distributor.address,
                    "--scope", "distribute", "--reason", REASON, "--wait")
    assert_cli_error(again, exit_code=3, contains=("licence_revoked",))
    text = net.cli("query", "account", distributor.address)
    assert text.returncode == 0 and "USD distribute under US, no expiry: REVOKED" in text.stdout, text.stdout

    # a short expiry: in force, then expired with no transaction at the expiry -------------------------------
    receipt = committed(net, "issuer", "grant-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", second.address,
                        "--scope", "distribute", "--jurisdiction", "HK", "--expires-in", "6s")
    expires_at_ms = receipt["events"][0]["expires_at_ms"]
    assert expires_at_ms > 0
    assert mint_to(net, second, "2.00").returncode == 0
    assert net.balance(second.address, "USD") == 200
    wait_for(lambda: client.licence(second.address, "USD")["status"] == "expired", 20.0, "the licence to expire")
    assert int(time.time() * 1000) >= expires_at_ms - 1_000  # the node's clock judged it, close to ours
    assert_cli_error(mint_to(net, second, "2.00"), exit_code=3, contains=("licence_expired",))
    assert net.balance(second.address, "USD") == 200
    assert client.licence(second.address, "USD")["recorded_status"] == "active"

    # usage: a scope is one of the enum, --expires and --expires-in exclude each other
    usage = net.cli("issuer", "grant-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", second.address,
                    "--scope", "custody", "--jurisdiction", "US")
    assert usage.returncode == 2 and "custody" in usage.stderr
    usage = net.cli("issuer", "grant-licence", "--key", issuer(net, "USD"), "--currency", "USD", "--account", second.address,
                    "--scope", "distribute", "--jurisdiction", "US", "--expires", "1", "--expires-in", "1d")
    assert usage.returncode == 2


def test_exchange_licences_gate_offers_once_required(net: Network) -> None:
    maker = net.new_account("maker")
    net.fund(maker, "EUR", 50_000)
    client = net.client()
    eur_issuer = load_key(net.issuers["EUR"].path)

    def offer(amount: str = "10.00"):
        return net.cli("offer", "create", "--key", str(maker.path), "--sell", amount, "EUR", "--buy", "USD", "--price", "5.00", "--wait")

    assert offer().returncode == 0  # not required yet
    client.send(client.txs.set_licence_required(eur_issuer, "EUR", "exchange"))
    assert net.currency("EUR")["licences_required"] == ["exchange"]
    assert_cli_error(offer(), exit_code=3, contains=("licence_required",))
    client.send(client.txs.grant_licence(eur_issuer, "EUR", maker.address, "exchange", "EU"))
    assert offer().returncode == 0
    client.send(client.txs.revoke_licence(eur_issuer, "EUR", maker.address, "exchange", reason="market abuse"))
    assert_cli_error(offer(), exit_code=3, contains=("licence_revoked",))
    found = net.cli_json("query", "licences", "--currency", "EUR", "--account", maker.address)
    assert [(item["scope"], item["jurisdiction"], item["status"]) for item in found["licences"]] == [("exchange", "EU", "revoked")]


def test_the_explorer_lists_an_accounts_licences(browser, net: Network) -> None:
    # `browser` first: without chromium (or playwright) the test skips before doing anything
    from playwright.sync_api import expect

    from .test_explorer_browser import TIMEOUT_MS, screenshot

    page, problems = browser
    expect.set_options(timeout=TIMEOUT_MS)
    client, usd_issuer = net.client(), load_key(net.issuers["USD"].path)
    holder = net.new_account("licensed-in-explorer")
    client.send(client.txs.grant_licence(usd_issuer, "USD", holder.address, "distribute", "SG"))
    client.send(client.txs.grant_licence(usd_issuer, "USD", holder.address, "exchange", "SG"))
    client.send(client.txs.revoke_licence(usd_issuer, "USD", holder.address, "exchange", reason="explorer"))
    page.goto(f"{net.api}/#account/{holder.address}")
    table = page.locator("#account-licences")
    expect(table.locator('tr[data-licence="USD/distribute"]')).to_contain_text("active")
    expect(table.locator('tr[data-licence="USD/distribute"]')).to_contain_text("SG")
    expect(table.locator('tr[data-licence="USD/exchange"]')).to_contain_text("revoked")
    screenshot(page, "explorer-licences.png")
    assert problems == [], problems
