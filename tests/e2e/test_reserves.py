"""Reserves attested by an auditor, and minting bounded by them, with real node processes and the CLI
(docs/compliance.md, section 1).

On one validator: `corridor testnet` gives every currency an auditor key; the auditor attests, the issuer
mints right up to the reserve and is refused one unit more (`exceeds_reserves`), the issuer's own attestation
is refused (`not_auditor`); governance gives EUR a tiny maximum attestation age, after which minting is
refused (`reserve_attestation_stale`) until the age limit is lifted; `corridor verify-supply` checks each
currency's supply and reserve at a height against the certified header alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.hashing import sha256

from .conftest import Network, NetworkFactory, PortAllocator, assert_cli_error

CURRENCIES = ("USD", "EUR")


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network (overrides conftest's)."""
    factory = NetworkFactory(tmp_path_factory.mktemp("reserves"), port_allocator)
    network = factory.create(currencies=CURRENCIES)
    yield network
    factory.close()


def committed(net: Network, *args: str) -> dict:
    """A command run with --wait --json that must commit; its receipt."""
    result = net.cli(*args, "--wait", "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    answer = json.loads(result.stdout)
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def report_file(net: Network, text: str) -> Path:
    path = net.root / "scratch" / f"report-{sha256(text.encode()).hex()[:8]}.pdf"
    path.write_text(text)
    return path


def attest(net: Network, key: Path, code: str, reserve: str, report: Path, *extra: str):
    return net.cli("auditor", "attest", "--key", str(key), "--currency", code, "--reserve", reserve, "--report", str(report),
                   *extra, "--wait")


def mint(net: Network, code: str, to: str, amount: str):
    return net.cli("issuer", "mint", "--key", str(net.issuers[code].path), "--to", to, "--amount", amount, "--currency", code, "--wait")


def governance(net: Network, *proposal: str) -> dict:
    """Propose, and submit with the single validator's signature (its whole power); the receipt."""
    path = net.root / "scratch" / f"proposal-{time.monotonic_ns()}.json"
    written = net.cli("gov", "propose", *proposal, "--key", str(net.node0.home / "node_key.json"), "--out", str(path))
    assert written.returncode == 0, written.stderr
    answer = json.loads(net.cli("gov", "submit", str(path), "--wait", "--json").stdout)
    assert answer["status"] == "committed", answer
    return answer["receipt"]


def test_testnet_names_an_auditor_per_currency_and_genesis_carries_it(net: Network) -> None:
    described = json.loads((net.root / "network.json").read_text())
    genesis = json.loads((net.node0.home / "genesis.json").read_text())
    for code in CURRENCIES:
        assert Path(described["auditors"][code]).name == f"auditor-{code}.json"
        entry = next(c for c in genesis["currencies"] if c["code"] == code)
        assert entry["auditor"] == net.auditors[code].address != entry["issuer"]
        view = net.currency(code)
        assert view["auditor"] == net.auditors[code].address
        assert view["reserve_as_of_ms"] == genesis["genesis_time_ms"] and view["reserve_max_age_ms"] == 35 * 86_400_000
        assert view["reserve_stale"] is False


def test_the_auditor_attests_the_issuer_mints_up_to_it_and_not_one_unit_more(net: Network) -> None:
    holder = net.new_account("holder")
    usd = net.currency("USD")
    reserve_minor = usd["supply_minor"] + 100_000  # room for exactly 1,000.00 USD more
    as_of_ms = int(time.time() * 1000)
    report = report_file(net, "USD reserve report, examined")
    receipt = committed(net, "auditor", "attest", "--key", str(net.auditors["USD"].path), "--currency", "USD",
                        "--reserve", str(Decimal(reserve_minor) / 100), "--report", str(report), "--as-of", str(as_of_ms))
    assert receipt["events"] == [{"kind": "reserve_attested", "currency": "USD", "reserve_minor": reserve_minor,
                                  "report_hash": sha256(report.read_bytes()).hex(), "reserve_as_of_ms": as_of_ms,
                                  "account": net.auditors["USD"].address}]
    assert (net.currency("USD")["reserve_minor"], net.currency("USD")["reserve_as_of_ms"]) == (reserve_minor, as_of_ms)

    # The issuer's key alone attests nothing: the reserve it mints against is the auditor's.
    refused = attest(net, net.issuers["USD"].path, "USD", "99999999.00", report)
    assert_cli_error(refused, exit_code=3, contains=("not_auditor",))
    assert net.currency("USD")["reserve_minor"] == reserve_minor

    assert mint(net, "USD", holder.address, "1000.00").returncode == 0
    assert net.currency("USD")["supply_minor"] == reserve_minor
    assert_cli_error(mint(net, "USD", holder.address, "0.01"), exit_code=3, contains=("exceeds_reserves",))
    assert net.balance(holder.address, "USD") == 100_000

    # An as-of time older than the latest attestation, or well in the future, is refused.
    older = attest(net, net.auditors["USD"].path, "USD", "1.00", report, "--as-of", str(as_of_ms - 1))
    assert_cli_error(older, exit_code=3, contains=("attestation_out_of_order",))
    ahead = attest(net, net.auditors["USD"].path, "USD", "1.00", report, "--as-of", str(int(time.time() * 1000) + 3_600_000))
    assert_cli_error(ahead, exit_code=3, contains=("attestation_in_future",))

    # The whole reserve is used: the supply is exactly covered, and the header of that height says so.
    height = net.node0.height()
    genesis = str(net.node0.home / "genesis.json")
    verified = net.cli_json("verify-supply", "--height", str(height), "--genesis", genesis)
    assert verified["valid"] is True and verified["height"] == height
    figures = {c["code"]: c for c in verified["currencies"]}
    assert set(figures) == set(CURRENCIES)
    assert (figures["USD"]["supply_minor"], figures["USD"]["reserve_minor"], figures["USD"]["coverage"]) == (reserve_minor, reserve_minor, "1.0000")
    assert figures["USD"]["reserve_as_of_ms"] == as_of_ms
    one = net.cli_json("verify-supply", "--height", str(height), "--genesis", genesis, "--currency", "usd")
    assert [c["code"] for c in one["currencies"]] == ["USD"]
    table = net.cli("verify-supply", "--height", str(height), "--genesis", genesis)
    assert table.returncode == 0 and "100.00 %" in table.stdout, table.stdout

    # The same figures straight from the API, with the header they are proven against.
    proof = net.get(f"/v1/supply/{height}").json
    assert proof["format"] == "corridor/supply-proof/v1" and proof["height"] == height
    assert proof["supply_root"] == net.get(f"/v1/blocks/{height}").json["header"]["supply_root"]
    assert [c["code"] for c in proof["currencies"]] == ["EUR", "USD"]
    assert net.get("/v1/supply/999999").status == 404


def test_a_stale_attestation_stops_minting_until_governance_lifts_the_age_limit(net: Network) -> None:
    holder = net.new_account("stale-holder")
    auditor = net.auditors["EUR"]
    changed = governance(net, "set-auditor", "--currency", "EUR", "--auditor", auditor.address, "--reserve-max-age-ms", "1")
    assert changed["events"] == [{"kind": "auditor_changed", "currency": "EUR", "account": auditor.address, "reserve_max_age_ms": 1}]
    report = report_file(net, "EUR reserve report")
    reserve = str(Decimal(net.currency("EUR")["reserve_minor"]) / 100)
    assert attest(net, auditor.path, "EUR", reserve, report).returncode == 0  # as of now
    time.sleep(0.05)
    assert_cli_error(mint(net, "EUR", holder.address, "1.00"), exit_code=3, contains=("reserve_attestation_stale",))
    reserves = {c["code"]: c for c in net.cli_json("query", "reserves")}
    assert reserves["EUR"]["reserve_stale"] is True and reserves["USD"]["reserve_stale"] is False
    assert net.currency("EUR")["reserve_stale"] is True
    table = net.cli("query", "reserves")
    assert table.returncode == 0 and "STALE" in table.stdout and net.auditors["EUR"].address[:12] in table.stdout, table.stdout

    # Only governance changes the limit (0: an attestation never goes stale); then the issuer mints again.
    governance(net, "set-auditor", "--currency", "EUR", "--auditor", auditor.address, "--reserve-max-age-ms", "0")
    assert mint(net, "EUR", holder.address, "1.00").returncode == 0
    assert net.balance(holder.address, "EUR") == 100
    assert net.currency("EUR")["reserve_stale"] is False


def test_the_issuer_can_never_be_made_the_auditor(net: Network) -> None:
    path = net.root / "scratch" / "auditor-is-issuer.json"
    written = net.cli("gov", "propose", "set-auditor", "--key", str(net.node0.home / "node_key.json"), "--out", str(path),
                      "--currency", "USD", "--auditor", net.issuers["USD"].address)
    assert written.returncode == 0, written.stderr
    assert_cli_error(net.cli("gov", "submit", str(path), "--wait", "--json"), exit_code=3, contains=("auditor_is_issuer",))
    assert net.currency("USD")["auditor"] == net.auditors["USD"].address
