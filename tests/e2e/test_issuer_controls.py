"""Issuer controls through the real CLI (`corridor issuer ...`, `corridor tx transfer --travel-rule`) and the
HTTP API, on one running validator.

The module shares one network. Controls that act on a whole currency (pause, policy, distributors) each
get a currency of their own, so the tests do not depend on each other's order; account-level controls
(freeze, clawback, authorisation) use fresh accounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.hashing import sha256

from .conftest import Account, Network, NetworkFactory, PortAllocator, assert_cli_error

# The lawful order every freeze and clawback here executes (ledger/orders.py; tests/e2e/test_orders.py has the rest).
ORDER_HASH = sha256(b"order 2026-cv-0117").hex()
ORDER = ("--authority", "US District Court SDNY", "--order-hash", ORDER_HASH)


def order_record(action: str, account: str, amount_minor: int = 0) -> dict:
    """The `lawful_order` event that ends a seizure's receipt, for ORDER with no approvals required."""
    return {"kind": "lawful_order", "action": action, "currency": "USD", "account": account, "amount_minor": amount_minor,
            "authority": "US District Court SDNY", "order_hash": ORDER_HASH, "order_expiry_ms": 0, "approvers": [],
            "approvals_required": 0, "approved_by": "issuer"}


# USD: freeze / clawback / authorisation; JPY: pause; EUR: payment cap and travel rule; GBP: distributors;
# CHF: refusals to non-issuers.
CURRENCIES = ("USD", "JPY", "EUR", "GBP", "CHF")


@pytest.fixture(scope="module")
def shared_network(tmp_path_factory: pytest.TempPathFactory, port_allocator: PortAllocator) -> Iterator[Network]:
    """This module's own one-validator network (overrides conftest's), with a currency per currency-wide control."""
    factory = NetworkFactory(tmp_path_factory.mktemp("issuer-controls"), port_allocator)
    network = factory.create(currencies=CURRENCIES)
    yield network
    factory.close()


def issuer(net: Network, code: str) -> str:
    return str(net.issuers[code].path)


def run_json(net: Network, *args: str) -> dict:
    """A command with --wait --json that must commit; its receipt."""
    result = net.cli(*args, "--wait", "--json")
    assert result.returncode == 0, f"corridor {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    answer = json.loads(result.stdout)
    assert answer["status"] == "committed" and answer["receipt"]["code"] == "ok", answer
    return answer["receipt"]


def pay(net: Network, sender: Account, to: Account | str, amount: str, code: str, *extra: str):
    """`corridor tx transfer ... --wait` (not checked)."""
    address = to if isinstance(to, str) else to.address
    return net.cli("tx", "transfer", "--key", str(sender.path), "--to", address, "--amount", amount, "--currency", code,
                   *extra, "--wait")


def holder_status(net: Network, account: Account) -> dict:
    return net.account(account.address)["holder_status"]


# freeze, clawback, unfreeze -------------------------------------------------------------------------------


def test_freeze_refuses_both_directions_clawback_takes_the_coins_and_unfreeze_restores(net: Network) -> None:
    holder, friend = net.new_account("holder"), net.new_account("friend")
    net.fund(holder, "USD", 1_000)
    net.fund(friend, "USD", 500)
    issuer_address = net.issuers["USD"].address
    issuer_before = net.balance(issuer_address, "USD")
    supply = net.currency("USD")["supply_minor"]

    receipt = run_json(net, "issuer", "freeze", "--key", issuer(net, "USD"), "--currency", "usd",
                       "--account", holder.address, "--reason", "court order 17", *ORDER)
    assert receipt["events"] == [{"kind": "frozen", "currency": "USD", "account": holder.address,
                                  "reason_hash": sha256(b"court order 17").hex()}, order_record("freeze", holder.address)]
    assert holder_status(net, holder) == {"USD": {"authorized": False, "frozen": True}}
    assert holder_status(net, friend) == {}

    assert_cli_error(pay(net, holder, friend, "1.00", "USD"), exit_code=3, contains=("sender_frozen",))
    assert_cli_error(pay(net, friend, holder, "1.00", "USD"), exit_code=3, contains=("recipient_frozen",))
    burned = net.cli("tx", "burn", "--key", str(holder.path), "--amount", "1.00", "--currency", "USD", "--wait")
    assert_cli_error(burned, exit_code=3, contains=("sender_frozen",))
    minted = net.cli("issuer", "mint", "--key", issuer(net, "USD"), "--to", holder.address, "--amount", "1.00",
                     "--currency", "USD", "--wait")
    assert_cli_error(minted, exit_code=3, contains=("recipient_frozen",))
    assert net.balance(holder.address, "USD") == 1_000 and net.balance(friend.address, "USD") == 500

    # A clawback needs a reason and moves coins to the issuer; supply is unchanged.
    receipt = run_json(net, "issuer", "clawback", "--key", issuer(net, "USD"), "--currency", "USD",
                       "--account", holder.address, "--amount", "6.00", "--reason", "case 2026-114", *ORDER)
    assert receipt["events"] == [{"kind": "clawback", "currency": "USD", "from": holder.address, "to": issuer_address,
                                  "amount_minor": 600, "reason_hash": sha256(b"case 2026-114").hex()},
                                 order_record("clawback", holder.address, 600)]
    assert net.balance(holder.address, "USD") == 400
    assert net.balance(issuer_address, "USD") == issuer_before + 600
    assert net.currency("USD")["supply_minor"] == supply
    too_much = net.cli("issuer", "clawback", "--key", issuer(net, "USD"), "--currency", "USD", "--account", holder.address,
                       "--amount", "4.01", "--reason", "case 2026-114", *ORDER, "--wait")
    assert_cli_error(too_much, exit_code=3, contains=("insufficient_funds",))

    receipt = run_json(net, "issuer", "unfreeze", "--key", issuer(net, "USD"), "--currency", "USD",
                       "--account", holder.address, "--reason", "order lifted")
    assert receipt["events"][0]["kind"] == "unfrozen"
    assert holder_status(net, holder) == {}, "an account with no flags has no holder record"
    assert pay(net, holder, friend, "1.00", "USD").returncode == 0
    assert pay(net, friend, holder, "2.00", "USD").returncode == 0
    assert net.balance(holder.address, "USD") == 500 and net.balance(friend.address, "USD") == 400

    # Unfrozen, it can no longer be clawed back.
    again = net.cli("issuer", "clawback", "--key", issuer(net, "USD"), "--currency", "USD", "--account", holder.address,
                    "--amount", "1.00", "--reason", "again", *ORDER, "--wait")
    assert_cli_error(again, exit_code=3, contains=("account_not_frozen",))


def test_freeze_and_clawback_require_a_reason(net: Network) -> None:
    target = net.new_account()
    for command in (("freeze",), ("unfreeze",), ("clawback", "--amount", "1.00")):
        result = net.cli("issuer", *command, "--key", issuer(net, "USD"), "--currency", "USD", "--account", target.address)
        assert result.returncode == 2 and "--reason" in result.stderr, (command, result.stderr)


def test_authorize_and_deauthorize_show_in_holder_status(net: Network) -> None:
    target = net.new_account()
    receipt = run_json(net, "issuer", "authorize", "--key", issuer(net, "USD"), "--currency", "USD", "--account", target.address)
    assert receipt["events"] == [{"kind": "authorized", "currency": "USD", "account": target.address}]
    assert holder_status(net, target) == {"USD": {"authorized": True, "frozen": False}}
    run_json(net, "issuer", "freeze", "--key", issuer(net, "USD"), "--currency", "USD", "--account", target.address,
             "--reason", "r", *ORDER)
    assert holder_status(net, target) == {"USD": {"authorized": True, "frozen": True}}
    run_json(net, "issuer", "deauthorize", "--key", issuer(net, "USD"), "--currency", "USD", "--account", target.address)
    run_json(net, "issuer", "unfreeze", "--key", issuer(net, "USD"), "--currency", "USD", "--account", target.address,
             "--reason", "r")
    assert holder_status(net, target) == {}


# not_issuer ----------------------------------------------------------------------------------------------


def test_a_non_issuer_using_issuer_commands_is_refused_not_issuer(net: Network) -> None:
    user, target = net.accounts[0], net.new_account()
    chf = net.currency("CHF")
    commands = [
        ("freeze", "--account", target.address, "--reason", "r", *ORDER),
        ("unfreeze", "--account", target.address, "--reason", "r"),
        ("authorize", "--account", target.address),
        ("license", "--account", target.address),
        ("revoke", "--account", target.address),
        ("clawback", "--account", target.address, "--amount", "1.00", "--reason", "r", *ORDER),
        ("pause",),
        ("unpause",),
        ("policy", "--max-transfer", "1"),
    ]
    for command in commands:
        result = net.cli("issuer", command[0], "--key", str(user.path), "--currency", "CHF", *command[1:], "--wait")
        assert_cli_error(result, exit_code=3, contains=("not_issuer",))
    # The issuer of another currency is not the issuer of CHF either.
    result = net.cli("issuer", "freeze", "--key", issuer(net, "USD"), "--currency", "CHF", "--account", user.address,
                     "--reason", "r", *ORDER, "--wait")
    assert_cli_error(result, exit_code=3, contains=("not_issuer",))
    # Nothing changed.
    assert net.currency("CHF") == chf
    assert holder_status(net, target) == {} and holder_status(net, user) == {}
    # A currency that does not exist.
    result = net.cli("issuer", "freeze", "--key", issuer(net, "USD"), "--currency", "XAU", "--account", user.address,
                     "--reason", "r", *ORDER, "--wait")
    assert_cli_error(result, exit_code=3, contains=("unknown_currency",))


# pause -----------------------------------------------------------------------------------------------------


def test_pause_stops_the_currency_and_unpause_resumes_it(net: Network) -> None:
    sender, recipient = net.new_account("sender"), net.new_account("recipient")
    net.fund(sender, "JPY", 1_000)
    receipt = run_json(net, "issuer", "pause", "--key", issuer(net, "JPY"), "--currency", "JPY")
    assert receipt["events"] == [{"kind": "paused", "currency": "JPY"}]
    assert net.currency("JPY")["paused"] is True
    assert net.currency("USD")["paused"] is False

    assert_cli_error(pay(net, sender, recipient, "10", "JPY"), exit_code=3, contains=("currency_paused",))
    minted = net.cli("issuer", "mint", "--key", issuer(net, "JPY"), "--to", recipient.address, "--amount", "10",
                     "--currency", "JPY", "--wait")
    assert_cli_error(minted, exit_code=3, contains=("currency_paused",))
    burned = net.cli("issuer", "burn", "--key", str(sender.path), "--amount", "10", "--currency", "JPY", "--wait")
    assert_cli_error(burned, exit_code=3, contains=("currency_paused",))
    # Attesting the reserve (the auditor's, not the issuer's) still works while paused.
    reserve = net.currency("JPY")["reserve_minor"] + 1
    report = Path(net.root / "scratch" / "jpy-report.txt")
    report.write_text("reserve report")
    attested = run_json(net, "auditor", "attest", "--key", str(net.auditors["JPY"].path), "--currency", "JPY",
                        "--reserve", str(reserve), "--report", str(report))
    assert attested["events"][0]["kind"] == "reserve_attested"
    assert net.currency("JPY")["reserve_minor"] == reserve
    assert net.balance(sender.address, "JPY") == 1_000 and net.balance(recipient.address, "JPY") == 0

    receipt = run_json(net, "issuer", "unpause", "--key", issuer(net, "JPY"), "--currency", "JPY")
    assert receipt["events"] == [{"kind": "resumed", "currency": "JPY"}]
    assert net.currency("JPY")["paused"] is False
    assert pay(net, sender, recipient, "10", "JPY").returncode == 0
    assert net.balance(recipient.address, "JPY") == 10


# payment cap and travel rule -------------------------------------------------------------------------------


def test_policy_caps_payments_and_requires_a_travel_rule_hash_above_the_threshold(net: Network, tmp_path) -> None:
    sender, recipient = net.new_account("sender"), net.new_account("recipient")
    net.fund(sender, "EUR", 100_000)
    receipt = run_json(net, "issuer", "policy", "--key", issuer(net, "EUR"), "--currency", "EUR",
                       "--max-transfer", "100.00", "--travel-rule-threshold", "50")
    assert receipt["events"] == [{"kind": "policy_set", "currency": "EUR", "transfer_max_minor": 10_000,
                                  "travel_rule_threshold_minor": 5_000, "distributors_only": False}]
    eur = net.currency("EUR")
    assert (eur["transfer_max_minor"], eur["travel_rule_threshold_minor"], eur["distributors_only"]) == (10_000, 5_000, False)

    payload = tmp_path / "travel-rule.json"
    payload.write_text(json.dumps({"originator": "Sender GmbH", "beneficiary": "Recipient SA"}))
    travel = ("--travel-rule", str(payload))

    assert_cli_error(pay(net, sender, recipient, "100.01", "EUR", *travel), exit_code=3, contains=("exceeds_transfer_limit",))
    assert pay(net, sender, recipient, "50.00", "EUR").returncode == 0  # at the threshold: no payload needed
    assert_cli_error(pay(net, sender, recipient, "50.01", "EUR"), exit_code=3, contains=("travel_rule_required",))
    sent = net.cli("tx", "transfer", "--key", str(sender.path), "--to", recipient.address, "--amount", "100.00",
                   "--currency", "EUR", *travel, "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    tx_hash = json.loads(sent.stdout)["hash"]
    shown = net.cli_json("query", "tx", tx_hash)
    assert shown["tx"]["body"]["travel_rule_hash"] == sha256(payload.read_bytes()).hex()
    assert net.balance(recipient.address, "EUR") == 15_000

    missing = pay(net, sender, recipient, "1.00", "EUR", "--travel-rule", str(tmp_path / "missing.json"))
    assert missing.returncode == 2 and "missing.json" in missing.stderr

    # Options left out keep their value; lifting the policy takes effect at once.
    run_json(net, "issuer", "policy", "--key", issuer(net, "EUR"), "--currency", "EUR", "--max-transfer", "0")
    assert net.currency("EUR")["travel_rule_threshold_minor"] == 5_000
    run_json(net, "issuer", "policy", "--key", issuer(net, "EUR"), "--currency", "EUR", "--travel-rule-threshold", "0")
    eur = net.currency("EUR")
    assert (eur["transfer_max_minor"], eur["travel_rule_threshold_minor"], eur["distributors_only"]) == (0, 0, False)
    assert pay(net, sender, recipient, "200.00", "EUR").returncode == 0


# distributors ----------------------------------------------------------------------------------------------


def test_distributors_only_with_license_and_revoke(net: Network) -> None:
    distributor, customer = net.new_account("distributor"), net.accounts[1]  # the demo account holds GBP
    receipt = run_json(net, "issuer", "policy", "--key", issuer(net, "GBP"), "--currency", "GBP", "--distributors-only")
    assert receipt["events"][0]["distributors_only"] is True
    gbp = net.currency("GBP")
    assert gbp["distributors_only"] is True and gbp["distributors"] == []

    def mint_to(account: Account):
        return net.cli("issuer", "mint", "--key", issuer(net, "GBP"), "--to", account.address, "--amount", "5.00",
                       "--currency", "GBP", "--wait")

    def burn_by(account: Account):
        return net.cli("issuer", "burn", "--key", str(account.path), "--amount", "1.00", "--currency", "GBP", "--wait")

    assert_cli_error(mint_to(distributor), exit_code=3, contains=("not_distributor",))
    assert_cli_error(burn_by(customer), exit_code=3, contains=("not_distributor",))

    receipt = run_json(net, "issuer", "license", "--key", issuer(net, "GBP"), "--currency", "GBP", "--account", distributor.address)
    assert receipt["events"] == [{"kind": "distributor_licensed", "currency": "GBP",
                                  "account": distributor.address}]
    assert net.currency("GBP")["distributors"] == [distributor.address]
    assert mint_to(distributor).returncode == 0
    assert burn_by(distributor).returncode == 0
    assert net.balance(distributor.address, "GBP") == 400
    # Payments between holders are not limited by the distribution model.
    assert pay(net, customer, distributor, "1.00", "GBP").returncode == 0

    receipt = run_json(net, "issuer", "revoke", "--key", issuer(net, "GBP"), "--currency", "GBP", "--account", distributor.address)
    assert receipt["events"][0]["kind"] == "distributor_revoked"
    assert net.currency("GBP")["distributors"] == []
    assert_cli_error(mint_to(distributor), exit_code=3, contains=("not_distributor",))
    assert_cli_error(burn_by(distributor), exit_code=3, contains=("not_distributor",))

    # --open-distribution lifts the model.
    run_json(net, "issuer", "policy", "--key", issuer(net, "GBP"), "--currency", "GBP", "--open-distribution")
    assert net.currency("GBP")["distributors_only"] is False
    assert mint_to(distributor).returncode == 0


def test_currencies_show_every_policy_field(net: Network) -> None:
    response = net.get("/v1/currencies")
    assert response.status == 200
    for currency in response.json["currencies"]:
        assert {"holders_need_authorization", "paused", "transfer_max_minor", "travel_rule_threshold_minor",
                "distributors_only", "distributors"} <= set(currency)
        assert currency["holders_need_authorization"] is False  # testnet genesis has no allow-list currency
