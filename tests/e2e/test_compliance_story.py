"""The compliance story of issue #8, end to end, on one real one-validator network (docs/compliance.md).

Its single validator holds all the voting power, so its signature alone is a governance quorum. Everything
a participant does goes through the `corridor` command, as a user would type it; the HTTP API is only read,
to see what a user would see. The six steps run in order on the same chain and share what they learn in
`story`; a step whose predecessor failed is skipped, naming the step that broke the story.

1. The USD auditor (the testnet's keys/auditor-USD.json) attests a reserve; the issuer mints exactly up to
   it (supply == reserve) and one more minor unit is refused `exceeds_reserves` (exit code 3).
2. The issuer records alice in US and bob in HK and sets a US -> HK corridor threshold of 1,000.00 USD: 1,500.00
   USD without a travel-rule hash is refused `travel_rule_required`; with `--travel-rule FILE` it settles.
3. Governance sanctions carol, who holds USD and EUR and has a resting USD -> EUR offer: the offer leaves the
   book, and carol can neither swap out (a swap dave co-signed) nor pay cross-currency through the book, which
   has liquidity others still use (`account_sanctioned`).
4. The USD issuer executes a court order: it freezes carol's USD and claws back 400.00 USD, each with the
   order's authority and hash (USD names no compliance keys: the issuer's signature is the approval).
5. `corridor audit export` (JSON on stdout and CSV to a file, verified against the genesis file) lists the
   sanctions listing, the freeze and the clawback, each with its order.
6. `corridor verify-supply`, from the certified header alone, shows USD's supply before and at the mint and
   that the clawback moved coins without changing the supply.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error

COURT = "US District Court SDNY"
COURT_ORDER = b"%PDF-1.7 freeze and turnover order, US District Court SDNY, case 2026-cv-0417"
OFAC = "OFAC"
OFAC_DESIGNATION = b"OFAC SDN list entry 2026-07-14: carol"
ROOM_MINOR = 1_000_000  # the auditor attests 10,000.00 USD above the supply; the issuer mints exactly that


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network with USD and EUR (overrides conftest's)."""
    factory = NetworkFactory(tmp_path_factory.mktemp("compliance-story"), port_allocator)
    network = factory.create(validators=1, currencies=("USD", "EUR"))
    yield network
    factory.close()


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    """What the steps learn and hand on (heights, accounts, figures), and which steps completed."""
    return {"completed": set()}


@pytest.fixture(autouse=True)
def in_order(request: pytest.FixtureRequest, story: dict[str, Any]) -> Iterator[None]:
    """Step N runs only if steps 1 .. N-1 completed; it completes if it did not fail."""
    step = int(re.match(r"test_step(\d+)_", request.node.name).group(1))
    missing = [n for n in range(1, step) if n not in story["completed"]]
    if missing:
        pytest.skip(f"step {missing[0]} did not complete; step {step} builds on it")
    failures_before = request.session.testsfailed
    yield
    if request.session.testsfailed == failures_before:  # the call's report is logged before teardown runs
        story["completed"].add(step)


# the CLI, as a user runs it --------------------------------------------------------------------------------


def ok(net: Network, *args: str) -> Any:
    """`corridor ARGS --json`, which must succeed: its output parsed."""
    result = net.cli(*args, "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def committed(net: Network, *args: str) -> dict[str, Any]:
    """`corridor ARGS --wait --json`, which must commit: the receipt."""
    answer = ok(net, *args, "--wait")
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def refused(net: Network, code: str, *args: str) -> str:
    """`corridor ARGS --wait --json`, which the chain must refuse with `code`: exit code 3, and the code in the
    one line on stderr (a refusal prints no JSON on stdout, even with --json; docs/operations.md)."""
    result = net.cli(*args, "--wait", "--json")
    return assert_cli_error(result, exit_code=3, contains=(f"refused ({code})",))


def usd_issuer(net: Network) -> str:
    return str(net.issuers["USD"].path)


def governance(net: Network, name: str, *proposal: str) -> dict[str, Any]:
    """Propose with the single validator's key (its whole voting power) and submit: the receipt."""
    path = net.root / "scratch" / f"{name}.json"
    written = ok(net, "gov", "propose", *proposal, "--key", str(net.node0.home / "node_key.json"), "--out", str(path))
    assert written["complete"] is True, written  # one signature is the quorum
    return committed(net, "gov", "submit", str(path))


def supply_at(net: Network, height: int) -> dict[str, Any]:
    """USD's figures at `height`, as `corridor verify-supply` checks them against the certified header alone."""
    verified = ok(net, "verify-supply", "--height", str(height), "--genesis", str(net.node0.home / "genesis.json"))
    assert verified["valid"] is True and verified["height"] == height and verified["signers"] == ["node0"], verified
    return next(c for c in verified["currencies"] if c["code"] == "USD")


# the story ------------------------------------------------------------------------------------------------


def test_step1_the_auditor_attests_and_the_issuer_mints_exactly_up_to_the_reserve(net: Network, story: dict[str, Any]) -> None:
    auditor = net.auditors["USD"]
    assert auditor.path == net.root / "keys" / "auditor-USD.json"
    assert net.currency("USD")["auditor"] == auditor.address != net.issuers["USD"].address
    alice, bob, carol, dave = (net.new_account(name) for name in ("alice", "bob", "carol", "dave"))
    story.update(alice=alice, bob=bob, carol=carol, dave=dave)

    supply_before = net.currency("USD")["supply_minor"]  # what the testnet's genesis gave its demo accounts
    reserve = supply_before + ROOM_MINOR
    report = net.root / "scratch" / "usd-reserve-report.pdf"
    report.write_bytes(b"%PDF-1.7 USD reserve report, examined by the auditor")
    attested = committed(net, "auditor", "attest", "--key", str(auditor.path), "--currency", "USD",
                         "--reserve", f"{reserve // 100}.{reserve % 100:02d}", "--report", str(report))
    [event] = attested["events"]
    assert (event["kind"], event["currency"], event["reserve_minor"], event["account"]) == (
        "reserve_attested", "USD", reserve, auditor.address)
    assert event["report_hash"] == sha256(report.read_bytes()).hex()
    assert net.currency("USD")["reserve_minor"] == reserve

    minted = committed(net, "tx", "mint", "--key", usd_issuer(net), "--to", alice.address, "--amount", "10000.00", "--currency", "USD")
    usd = net.currency("USD")
    assert (usd["supply_minor"], usd["reserve_minor"]) == (reserve, reserve)  # exactly covered
    assert net.balance(alice.address, "USD") == ROOM_MINOR

    refused(net, "exceeds_reserves", "tx", "mint", "--key", usd_issuer(net), "--to", alice.address, "--amount", "0.01",
            "--currency", "USD")
    assert net.currency("USD")["supply_minor"] == reserve and net.balance(alice.address, "USD") == ROOM_MINOR
    story.update(supply_before=supply_before, reserve=reserve, attested_height=attested["height"], mint_height=minted["height"])


def test_step2_a_corridor_threshold_forces_a_travel_rule_hash(net: Network, story: dict[str, Any]) -> None:
    alice, bob = story["alice"], story["bob"]
    answers = ok(net, "issuer", "authorize", "--key", usd_issuer(net), "--currency", "USD", "--account", alice.address,
                 "--jurisdiction", "US", "--wait")
    assert [a["receipt"]["code"] for a in answers] == ["ok", "ok"]
    committed(net, "issuer", "jurisdiction", "--key", usd_issuer(net), "--currency", "USD", "--account", bob.address,
              "--jurisdiction", "HK")
    assert net.account(alice.address)["jurisdictions"] == {"USD": "US"}
    assert net.account(bob.address)["jurisdictions"] == {"USD": "HK"}
    receipt = committed(net, "issuer", "set-corridor", "--key", usd_issuer(net), "--currency", "USD", "--from", "US", "--to", "HK",
                        "--travel-rule-threshold", "1000.00")
    assert receipt["events"][0]["travel_rule_threshold_minor"] == 100_000
    [corridor] = ok(net, "query", "corridors", "USD")["corridors"]
    assert (corridor["from_jurisdiction"], corridor["to_jurisdiction"], corridor["travel_rule_threshold"]) == ("US", "HK", "1000.00")

    pay_bob = ("tx", "transfer", "--key", str(alice.path), "--to", bob.address, "--amount", "1500.00", "--currency", "USD")
    refused(net, "travel_rule_required", *pay_bob)
    assert net.balance(bob.address, "USD") == 0 and net.balance(alice.address, "USD") == ROOM_MINOR

    payload = net.root / "scratch" / "travel-rule-alice-bob.json"
    payload.write_text(json.dumps({"originator": "Alice, New York, US", "beneficiary": "Bob, Kowloon, HK"}))
    settled = committed(net, *pay_bob, "--travel-rule", str(payload))
    body = ok(net, "query", "tx", settled["tx_hash"])["tx"]["body"]
    assert body["travel_rule_hash"] == sha256(payload.read_bytes()).hex()  # only the hash goes on chain
    assert net.balance(bob.address, "USD") == 150_000 and net.balance(alice.address, "USD") == ROOM_MINOR - 150_000


def test_step3_governance_sanctions_carol_who_then_cannot_swap_or_pay_her_way_out(net: Network, story: dict[str, Any]) -> None:
    alice, bob, carol, dave = story["alice"], story["bob"], story["carol"], story["dave"]
    # carol holds USD (from alice) and EUR (minted to her), and rests 200.00 USD for EUR at 0.90 EUR per USD
    committed(net, "tx", "transfer", "--key", str(alice.path), "--to", carol.address, "--amount", "1000.00", "--currency", "USD")
    committed(net, "tx", "mint", "--key", str(net.issuers["EUR"].path), "--to", carol.address, "--amount", "500.00", "--currency", "EUR")
    committed(net, "tx", "mint", "--key", str(net.issuers["EUR"].path), "--to", dave.address, "--amount", "2000.00", "--currency", "EUR")
    placed = committed(net, "offer", "create", "--key", str(carol.path), "--sell", "200.00", "USD", "--buy", "EUR", "--price", "0.90")
    offer_id = next(e["offer_id"] for e in placed["events"] if e["kind"] == "offer_placed")
    # dave makes the market the other way, 1,000.00 EUR at 1.25 USD per EUR (it does not cross carol's offer)
    committed(net, "offer", "create", "--key", str(dave.path), "--sell", "1000.00", "EUR", "--buy", "USD", "--price", "1.25")
    assert [(a["base_minor"], a["offers"]) for a in ok(net, "query", "book", "USD", "EUR")["asks"]] == [(20_000, 1)]
    assert (net.balance(carol.address, "USD"), net.balance(carol.address, "EUR")) == (80_000, 50_000)

    listing = governance(net, "sanction-carol", "set-sanctioned", "--account", carol.address, "--reason", "OFAC SDN 2026-07-14",
                         "--authority", OFAC, "--order-hash", sha256(OFAC_DESIGNATION).hex())
    assert [e["kind"] for e in listing["events"]] == ["sanctioned", "offer_removed", "lawful_order"]
    assert listing["events"][1] == {"kind": "offer_removed", "offer_id": offer_id, "account": carol.address, "currency": "USD",
                                    "refunded_minor": 20_000}
    assert [entry["account"] for entry in ok(net, "query", "sanctions")] == [carol.address]
    assert net.account(carol.address)["sanctioned"] is True

    # her offer left the book (dave's is still there); its 200.00 USD are back in her balance, which stays put
    assert ok(net, "query", "book", "USD", "EUR")["asks"] == []
    assert [a["base_minor"] for a in ok(net, "query", "book", "EUR", "USD")["asks"]] == [100_000]
    assert (net.balance(carol.address, "USD"), net.balance(carol.address, "EUR")) == (100_000, 50_000)

    # a two-party swap out of USD into EUR, which dave co-signs, is refused
    swap = net.root / "scratch" / "swap-carol-dave.json"
    created = net.cli("swap", "create", "--key", str(carol.path), "--counterparty", dave.key.public_key.hex(),
                      "--give", "100.00", "USD", "--get", "90.00", "EUR", "--out", str(swap))
    assert created.returncode == 0, created.stderr
    signed = net.cli("swap", "sign", str(swap), "--key", str(dave.path), "--yes")
    assert signed.returncode == 0, signed.stderr
    refused(net, "account_sanctioned", "swap", "submit", str(swap))

    # and so is a cross-currency payment through the book, whose liquidity an unsanctioned payer still uses
    refused(net, "account_sanctioned", "pay", "--key", str(carol.path), "--to", dave.address, "--send-max", "100.00", "USD",
            "--receive", "50.00", "EUR")
    paid = committed(net, "pay", "--key", str(alice.path), "--to", bob.address, "--send-max", "100.00", "USD",
                     "--receive", "50.00", "EUR")  # costs 62.50 USD at dave's 1.25
    assert paid["code"] == "ok" and net.balance(bob.address, "EUR") == 5_000
    assert (net.balance(carol.address, "USD"), net.balance(carol.address, "EUR")) == (100_000, 50_000)
    story.update(listing_height=listing["height"], listing_hash=listing["tx_hash"])


def test_step4_the_issuer_freezes_and_claws_back_under_a_court_order(net: Network, story: dict[str, Any]) -> None:
    carol = story["carol"]
    issuer_address = net.issuers["USD"].address
    assert ok(net, "compliance", "keys", "USD")["compliance_threshold"] == 0  # the issuer's signature is the approval
    order = net.root / "scratch" / "order-2026-cv-0417.pdf"
    order.write_bytes(COURT_ORDER)
    order_hash = sha256(COURT_ORDER).hex()
    issuer_usd_before = net.balance(issuer_address, "USD")
    supply_before = net.currency("USD")["supply_minor"]

    frozen = committed(net, "issuer", "freeze", "--key", usd_issuer(net), "--currency", "USD", "--account", carol.address,
                       "--reason", "case 2026-cv-0417", "--authority", COURT, "--order", str(order))
    assert [e["kind"] for e in frozen["events"]] == ["frozen", "lawful_order"]
    assert net.account(carol.address)["holder_status"]["USD"]["frozen"] is True

    clawed = committed(net, "issuer", "clawback", "--key", usd_issuer(net), "--currency", "USD", "--account", carol.address,
                       "--amount", "400.00", "--reason", "turnover, case 2026-cv-0417", "--authority", COURT, "--order", str(order))
    [clawback, record] = clawed["events"]
    assert (clawback["kind"], clawback["from"], clawback["to"], clawback["amount_minor"]) == (
        "clawback", carol.address, issuer_address, 40_000)
    assert {k: record[k] for k in ("kind", "action", "account", "amount_minor", "authority", "order_hash", "approved_by")} == {
        "kind": "lawful_order", "action": "clawback", "account": carol.address, "amount_minor": 40_000, "authority": COURT,
        "order_hash": order_hash, "approved_by": "issuer"}
    assert net.balance(carol.address, "USD") == 60_000 and net.balance(carol.address, "EUR") == 50_000
    assert net.balance(issuer_address, "USD") == issuer_usd_before + 40_000
    assert net.currency("USD")["supply_minor"] == supply_before == story["reserve"]  # moved, not destroyed
    story.update(order_hash=order_hash, freeze_height=frozen["height"], freeze_hash=frozen["tx_hash"],
                 clawback_height=clawed["height"], clawback_hash=clawed["tx_hash"])


def test_step5_the_audit_export_lists_every_seizure_with_its_order(net: Network, story: dict[str, Any]) -> None:
    carol, genesis = story["carol"], str(net.node0.home / "genesis.json")
    tip = net.node0.height()
    assert tip >= story["clawback_height"]
    expected = [  # (height, tx hash, tx type, action, currency, amount, authority, order hash)
        (story["listing_height"], story["listing_hash"], "gov_set_sanctioned", "sanction", "", 0, OFAC, sha256(OFAC_DESIGNATION).hex()),
        (story["freeze_height"], story["freeze_hash"], "set_frozen", "freeze", "USD", 0, COURT, story["order_hash"]),
        (story["clawback_height"], story["clawback_hash"], "clawback", "clawback", "USD", 40_000, COURT, story["order_hash"]),
    ]

    exported = net.cli("audit", "export", "--from", "1", "--to", str(tip), "--format", "json", "--genesis", genesis)
    assert exported.returncode == 0, exported.stderr
    assert f"3 seizure(s) with their orders in blocks 1 to {tip}; verified against the genesis file" in exported.stderr
    document = json.loads(exported.stdout)
    assert (document["format"], document["chain_id"], document["verified"], document["count"]) == (
        "corridor/lawful-orders/v1", net.chain_id, True, 3)
    assert [(r["height"], r["tx_hash"], r["tx_type"], r["action"], r["currency"], r["amount_minor"], r["authority"], r["order_hash"])
            for r in document["records"]] == expected
    assert all(r["account"] == carol.address for r in document["records"])
    assert [r["approved_by"] for r in document["records"]] == ["governance", "issuer", "issuer"]

    out = net.root / "scratch" / "seizures.csv"
    written = net.cli("audit", "export", "--from", "1", "--to", str(tip), "--format", "csv", "--out", str(out), "--genesis", genesis)
    assert written.returncode == 0 and written.stdout == "", (written.stdout, written.stderr)
    assert "verified against the genesis file" in written.stderr and str(out) in written.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(int(r["height"]), r["tx_hash"], r["tx_type"], r["action"], r["currency"], int(r["amount_minor"]), r["authority"],
             r["order_hash"]) for r in rows] == expected
    assert rows[2]["amount"] == "400.00" and all(r["account"] == carol.address for r in rows)


def test_step6_the_header_alone_shows_the_supply_at_the_mint_and_after_the_clawback(net: Network, story: dict[str, Any]) -> None:
    before, reserve, mint_height = story["supply_before"], story["reserve"], story["mint_height"]
    assert mint_height - 1 >= story["attested_height"]  # the attestation committed before the mint

    just_before = supply_at(net, mint_height - 1)
    assert (just_before["supply_minor"], just_before["reserve_minor"]) == (before, reserve)
    at_mint = supply_at(net, mint_height)
    assert (at_mint["supply_minor"], at_mint["reserve_minor"], at_mint["coverage"]) == (before + ROOM_MINOR, reserve, "1.0000")
    assert at_mint["supply_minor"] == reserve

    claw = story["clawback_height"]
    assert supply_at(net, claw - 1)["supply_minor"] == reserve  # before the clawback
    after = supply_at(net, claw)
    assert (after["supply_minor"], after["reserve_minor"]) == (reserve, reserve)  # a clawback moves coins, it burns none
    assert net.currency("USD")["supply_minor"] == reserve
