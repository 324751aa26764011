"""A lawful order behind every seizure (ledger/orders.py, docs/compliance.md section 5) on a real one-validator
network, through the CLI as an issuer, its compliance officers and an auditor would use it, the HTTP API, the
SDK and the explorer's script.

The USD issuer names three compliance keys and requires two (`corridor issuer compliance-keys`). A freeze
without approvals, with one approval, with an outsider's approval or under an expired order is refused with
its code; a freeze and then a clawback, each approved by two officers through `corridor compliance sign` and
`corridor compliance submit`, commit with their `lawful_order` records; a forced burn approved through the SDK
makes supply fall; governance lists an account under an OFAC order. `corridor audit export`, verified against
the genesis file, then lists every one of them with its order, in CSV and in JSON, and `--currency USD`
leaves out the listing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.client import load_key
from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error
from .test_explorer_browser import browser  # noqa: F401  (the fixture)

AUTHORITY = "US District Court SDNY"


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network with USD and EUR."""
    factory = NetworkFactory(tmp_path_factory.mktemp("orders"), port_allocator)
    network = factory.create(validators=1, currencies=("USD", "EUR"))
    yield network
    factory.close()


def ok_json(net: Network, *args: str) -> dict:
    result = net.cli(*args)
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def committed(answer: dict) -> dict:
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def issuer(net: Network) -> str:
    return str(net.issuers["USD"].path)


def approved(net: Network, path: Path, *officers: Account) -> None:
    """Each officer reviews and signs the seizure written to `path`."""
    for officer in officers:
        signed = net.cli("compliance", "sign", str(path), "--key", str(officer.path), "--yes")
        assert signed.returncode == 0, signed.stderr
        assert "approved" in signed.stdout


def keys_of(*officers: Account) -> list[str]:
    return sorted(officer.key.public_key.hex() for officer in officers)


def test_seizures_under_2_of_3_compliance_keys_and_the_audit_export(net: Network, tmp_path: Path) -> None:
    officers = [net.new_account(f"officer{i}") for i in (1, 2, 3)]
    o1, o2, o3 = officers
    outsider = net.new_account("outsider")
    holder, listed = net.new_account("holder"), net.new_account("listed")
    net.fund(holder, "USD", 100_000)  # 1,000.00 USD
    net.fund(listed, "EUR", 5_000)
    order = tmp_path / "order-2026-cv-0117.pdf"
    order.write_bytes(b"%PDF-1.7 freeze and turnover order, US District Court SDNY, 2026-cv-0117")
    order_hash = sha256(order.read_bytes()).hex()
    start = net.node0.status()["height"] + 1

    # the issuer names three compliance keys and requires two --------------------------------------------
    receipt = committed(ok_json(net, "issuer", "compliance-keys", "--key", issuer(net), "--currency", "USD",
                                *(arg for o in officers for arg in ("--compliance-key", o.key.public_key.hex())),
                                "--threshold", "2", "--wait", "--json"))
    assert receipt["events"] == [{"kind": "compliance_keys_set", "currency": "USD", "compliance_keys": keys_of(*officers),
                                  "compliance_threshold": 2, "approvers": []}]
    shown = ok_json(net, "compliance", "keys", "usd", "--json")
    assert shown["compliance_threshold"] == 2 and shown["compliance_keys"] == keys_of(*officers)
    assert shown["compliance_key_addresses"] == [o.address for o in sorted(officers, key=lambda o: o.key.public_key)]
    api = net.get("/v1/currencies/USD").json
    assert (api["code"], api["compliance_threshold"], api["compliance_keys"]) == ("USD", 2, keys_of(*officers))
    assert net.currency("USD")["compliance_threshold"] == 2 and net.currency("EUR")["compliance_threshold"] == 0
    assert net.client().compliance("USD")["compliance_keys"] == keys_of(*officers)
    assert net.get("/v1/currencies/XAU").status == 404

    freeze = ("issuer", "freeze", "--key", issuer(net), "--currency", "USD", "--account", holder.address,
              "--reason", "case 17", "--authority", AUTHORITY, "--order", str(order))

    # refusals: no order, no approvals, one approval, an outsider's approval, an expired order ----------------
    no_order = net.cli("issuer", "freeze", "--key", issuer(net), "--currency", "USD", "--account", holder.address,
                       "--reason", "case 17", "--wait")
    assert no_order.returncode == 2 and "--authority" in no_order.stderr, no_order.stderr
    assert_cli_error(net.cli(*freeze, "--wait"), exit_code=3, contains=("order_approvals_missing",))
    one = tmp_path / "freeze-one.json"
    assert net.cli(*freeze, "--approver", o1.key.public_key.hex(), "--out", str(one)).returncode == 0
    approved(net, one, o1)
    assert_cli_error(net.cli("compliance", "submit", str(one), "--wait"), exit_code=3, contains=("order_approvals_missing",))
    foreign = tmp_path / "freeze-foreign.json"
    assert net.cli(*freeze, "--approver", o1.key.public_key.hex(), "--approver", outsider.key.public_key.hex(),
                   "--out", str(foreign)).returncode == 0
    approved(net, foreign, o1, outsider)
    assert_cli_error(net.cli("compliance", "submit", str(foreign), "--wait"), exit_code=3, contains=("not_compliance_key",))
    expired = tmp_path / "freeze-expired.json"
    assert net.cli(*freeze, "--order-expires", "2020-01-01T00:00:00Z", "--approver", o1.key.public_key.hex(),
                   "--approver", o2.key.public_key.hex(), "--out", str(expired)).returncode == 0
    approved(net, expired, o1, o2)
    assert_cli_error(net.cli("compliance", "submit", str(expired), "--wait"), exit_code=3, contains=("order_expired",))
    assert net.account(holder.address)["holder_status"] == {}

    # the freeze, approved by two officers -------------------------------------------------------------------
    path = tmp_path / "freeze.json"
    written = ok_json(net, *freeze, "--order-expires", "2099-12-31T00:00:00Z", "--approver", o3.key.public_key.hex(),
                      "--approver", o1.key.public_key.hex(), "--out", str(path), "--json")
    assert written["type"] == "set_frozen" and written["complete"] is False
    assert written["body"]["approvers"] == keys_of(o1, o3) and written["body"]["order_hash"] == order_hash
    early = net.cli("compliance", "submit", str(path))
    assert early.returncode == 1 and "missing" in early.stderr, early.stderr
    wrong = net.cli("compliance", "sign", str(path), "--key", str(o2.path), "--yes")
    assert wrong.returncode == 1 and "approvers" in wrong.stderr, wrong.stderr
    approved(net, path, o1, o3)
    answer = ok_json(net, "compliance", "submit", str(path), "--wait", "--json")
    freeze_receipt = committed(answer)
    expiry_ms = 4_102_358_400_000  # 2099-12-31T00:00:00Z
    assert freeze_receipt["events"] == [
        {"kind": "frozen", "currency": "USD", "account": holder.address, "reason_hash": sha256(b"case 17").hex()},
        {"kind": "lawful_order", "action": "freeze", "currency": "USD", "account": holder.address, "amount_minor": 0,
         "authority": AUTHORITY, "order_hash": order_hash, "order_expiry_ms": expiry_ms, "approvers": keys_of(o1, o3),
         "approvals_required": 2, "approved_by": "compliance_keys"},
    ]
    tx_view = net.get(f"/v1/txs/{answer['hash']}").json
    assert tx_view["tx"]["body"]["order_authority"] == AUTHORITY and tx_view["tx"]["body"]["approvers"] == keys_of(o1, o3)
    assert tx_view["receipt"]["events"][-1]["kind"] == "lawful_order"

    # the clawback, approved by two others -------------------------------------------------------------------
    claw = tmp_path / "clawback.json"
    assert net.cli("issuer", "clawback", "--key", issuer(net), "--currency", "USD", "--account", holder.address,
                   "--amount", "250.00", "--reason", "turnover", "--authority", AUTHORITY, "--order-hash", order_hash,
                   "--approver", o2.key.public_key.hex(), "--approver", o3.key.public_key.hex(), "--out", str(claw)).returncode == 0
    approved(net, claw, o2, o3)
    claw_receipt = committed(ok_json(net, "compliance", "submit", str(claw), "--wait", "--json"))
    assert [e["kind"] for e in claw_receipt["events"]] == ["clawback", "lawful_order"]
    assert claw_receipt["events"][1]["amount_minor"] == 25_000 and claw_receipt["events"][1]["approvers"] == keys_of(o2, o3)
    assert net.balance(holder.address, "USD") == 75_000

    # a forced burn through the SDK: supply falls ------------------------------------------------------------
    client = net.client()
    supply = net.currency("USD")["supply_minor"]
    proposal = client.txs.forced_burn(load_key(net.issuers["USD"].path), "USD", holder.address, "100.00", reason="forfeiture",
                                      authority=AUTHORITY, order=order.read_bytes(), approvers=[o1.key.public_key, o2.key.public_key])
    proposal.sign(o1.key)
    proposal.sign(o2.key)
    burn_receipt = client.send(proposal.transaction()).receipt
    assert [e["kind"] for e in burn_receipt["events"]] == ["forced_burn", "lawful_order"]
    assert net.currency("USD")["supply_minor"] == supply - 10_000 and net.balance(holder.address, "USD") == 65_000

    # a sanctions listing under an OFAC order ----------------------------------------------------------------
    listing = tmp_path / "listing.json"
    ofac = sha256(b"OFAC SDN entry 2026-07-14").hex()
    node_key = str(net.nodes[0].home / "node_key.json")
    assert net.cli("gov", "propose", "set-sanctioned", "--key", node_key, "--out", str(listing), "--account", listed.address,
                   "--reason", "SDN 2026-07-14", "--authority", "OFAC", "--order-hash", ofac).returncode == 0
    listing_receipt = committed(ok_json(net, "gov", "submit", str(listing), "--wait", "--json"))
    assert listing_receipt["events"][-1] == {
        "kind": "lawful_order", "action": "sanction", "currency": "", "account": listed.address, "amount_minor": 0,
        "authority": "OFAC", "order_hash": ofac, "order_expiry_ms": 0, "approvers": [], "approvals_required": 0,
        "approved_by": "governance"}
    end = listing_receipt["height"]

    # the auditor's export: CSV, verified against the genesis file -------------------------------------------
    genesis = str(net.nodes[0].home / "genesis.json")
    out = tmp_path / "seizures.csv"
    exported = net.cli("audit", "export", "--from", str(start), "--to", str(end), "--format", "csv", "--out", str(out),
                       "--genesis", genesis)
    assert exported.returncode == 0, exported.stderr
    assert "4 seizure(s)" in exported.stderr and "verified against the genesis file" in exported.stderr, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["action"], r["tx_type"]) for r in rows] == [("freeze", "set_frozen"), ("clawback", "clawback"),
                                                          ("forced_burn", "forced_burn"), ("sanction", "gov_set_sanctioned")]
    frozen_row = rows[0]
    assert (frozen_row["height"], frozen_row["tx_hash"]) == (str(freeze_receipt["height"]), answer["hash"])
    assert (frozen_row["account"], frozen_row["currency"], frozen_row["authority"]) == (holder.address, "USD", AUTHORITY)
    assert frozen_row["order_hash"] == order_hash and frozen_row["order_expiry"] == "2099-12-31T00:00:00.000Z"
    assert frozen_row["approvers"].split() == keys_of(o1, o3) and frozen_row["approvals_required"] == "2"
    assert frozen_row["approved_by"] == "compliance_keys" and frozen_row["signer"] == net.issuers["USD"].address
    assert frozen_row["reason_hash"] == sha256(b"case 17").hex()
    assert (rows[1]["amount_minor"], rows[1]["amount"]) == ("25000", "250.00")
    assert (rows[2]["amount"], rows[3]["authority"], rows[3]["order_hash"]) == ("100.00", "OFAC", ofac)
    assert rows[3]["approved_by"] == "governance" and rows[3]["signed_by"].split() == [load_key(Path(node_key)).public_key.hex()]

    # and JSON on stdout, of USD only ------------------------------------------------------------------------
    result = net.cli("audit", "export", "--from", str(start), "--currency", "usd", "--format", "json", "--genesis", genesis)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "corridor/lawful-orders/v1" and document["verified"] is True
    assert document["chain_id"] == net.chain_id and document["currency"] == "USD" and document["count"] == 3
    assert [r["action"] for r in document["records"]] == ["freeze", "clawback", "forced_burn"]
    assert document["records"][0]["approvers"] == keys_of(o1, o3) and document["records"][0]["order_hash"] == order_hash
    unverified = json.loads(net.cli("audit", "export", "--from", str(start), "--to", str(end), "--json").stdout)
    assert unverified["verified"] is False and unverified["records"] == json.loads(
        net.cli("audit", "export", "--from", str(start), "--to", str(end), "--genesis", genesis, "--json").stdout)["records"]
    beyond = net.cli("audit", "export", "--from", "1", "--to", str(end + 10_000))
    assert beyond.returncode == 2, beyond.stderr

    # the explorer knows the record ---------------------------------------------------------------------------
    script = net.get("/static/explorer.js")
    assert script.status == 200 and b"lawful_order" in script.body and b"compliance keys" in script.body


def test_the_explorer_shows_the_order_in_the_transaction_view(browser, net: Network) -> None:  # noqa: F811
    # `browser` first: without chromium (or playwright) the test skips before doing anything
    from playwright.sync_api import expect

    from .test_explorer_browser import TIMEOUT_MS, screenshot

    page, problems = browser
    expect.set_options(timeout=TIMEOUT_MS)
    target = net.new_account("frozen-in-explorer")
    net.fund(target, "EUR", 1_000)
    receipt = committed(ok_json(net, "issuer", "freeze", "--key", str(net.issuers["EUR"].path), "--currency", "EUR",
                                "--account", target.address, "--reason", "case 9", "--authority", "HKMA",
                                "--order-hash", sha256(b"HKMA order 9").hex(), "--order-expires", "2099-01-01T00:00:00Z",
                                "--wait", "--json"))
    tx_hash = receipt["tx_hash"]
    page.goto(f"{net.api}/#tx/{tx_hash}")
    record = page.locator('#search-result li[data-kind="lawful_order"]')
    expect(record).to_contain_text("lawful order")
    expect(record).to_contain_text("by order of HKMA")
    expect(record).to_contain_text("issuer's signature")
    expect(page.locator('#search-result tr[data-field="order_authority"]')).to_contain_text("HKMA")
    screenshot(page, "explorer-lawful-order.png")
    assert problems == [], problems
