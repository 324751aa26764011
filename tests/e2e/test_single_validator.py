"""One validator, driven as a user would: the `corridor` CLI and the HTTP API against a real node process.

These tests share one running network (`net`, module-scoped) and make their own accounts, so they do not
depend on each other's balances.
"""

from __future__ import annotations

import json

import pytest

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import parse_address

from .conftest import Network, assert_cli_error, table_row, wait_for

USD_DECIMALS = 2


def new_cli_key(net: Network, tmp_path, name: str) -> str:
    """`corridor keys new` then `corridor keys show --json`; returns the address."""
    path = tmp_path / f"{name}.json"
    created = net.cli("keys", "new", "--out", str(path))
    assert created.returncode == 0, created.stderr
    shown = json.loads(net.cli("keys", "show", str(path), "--json").stdout)
    assert shown["address"] == created.stdout.strip()
    return shown["address"]


# mint, transfer, balances ---------------------------------------------------------------------------------


def test_mint_transfer_and_read_balances_back(net: Network, tmp_path) -> None:
    alice = new_cli_key(net, tmp_path, "alice")
    bob = new_cli_key(net, tmp_path, "bob")
    issuer = str(net.issuers["USD"].path)
    supply_before = net.currency("USD")["supply_minor"]

    minted = net.cli_json("tx", "mint", "--key", issuer, "--to", alice, "--amount", "100.00", "--currency", "USD", "--wait")
    assert minted["status"] == "committed"
    assert minted["receipt"]["code"] == "ok"
    assert minted["receipt"]["events"] == [{"kind": "mint", "currency": "USD", "to": alice, "amount_minor": 10_000}]

    heights = []
    for _ in range(3):
        sent = net.cli_json("tx", "transfer", "--key", str(tmp_path / "alice.json"), "--to", bob,
                            "--amount", "1.25", "--currency", "USD", "--wait")
        assert sent["status"] == "committed"
        assert sent["receipt"]["events"] == [
            {"kind": "transfer", "currency": "USD", "from": alice, "to": bob, "amount_minor": 125}
        ]
        heights.append(sent["receipt"]["height"])
    assert heights == sorted(heights) and len(set(heights)) == 3, "each --wait transfer is final in its own block"

    # --json: exact minor units, formatted amount and decimals; 3 x 1.25 USD = 375 minor units
    bob_json = net.cli_json("query", "account", bob)
    assert bob_json["balances"] == {"USD": {"amount_minor": 375, "decimals": 2, "amount": "3.75"}}
    assert (bob_json["nonce"], bob_json["next_nonce"], bob_json["pending_txs"]) == (0, 0, 0)
    alice_json = net.cli_json("query", "account", alice)
    assert alice_json["balances"] == {"USD": {"amount_minor": 9_625, "decimals": 2, "amount": "96.25"}}
    assert (alice_json["nonce"], alice_json["next_nonce"]) == (3, 3)

    # HTTP says exactly what the CLI said
    assert net.account(bob) == bob_json
    assert net.account(alice) == alice_json

    # the table for people
    table = net.cli("query", "account", bob)
    assert table.returncode == 0, table.stderr
    assert table_row(table.stdout, "USD") == ["USD", "3.75", "375"]
    assert "nonce 0" in table.stdout

    currency = net.currency("USD")
    assert currency["supply_minor"] == supply_before + 10_000
    assert currency["decimals"] == USD_DECIMALS
    assert currency["issuer"] == net.issuers["USD"].address


def test_jpy_has_zero_decimals(net: Network, tmp_path) -> None:
    carol = new_cli_key(net, tmp_path, "carol")
    dave = net.new_account("dave")
    issuer = str(net.issuers["JPY"].path)
    minted = net.cli_json("tx", "mint", "--key", issuer, "--to", carol, "--amount", "500", "--currency", "JPY", "--wait")
    assert minted["receipt"]["events"][0]["amount_minor"] == 500
    sent = net.cli_json("tx", "transfer", "--key", str(tmp_path / "carol.json"), "--to", dave.address,
                        "--amount", "7", "--currency", "jpy", "--wait")  # the currency code is case-insensitive
    assert sent["receipt"]["events"][0]["amount_minor"] == 7
    assert net.cli_json("query", "account", carol)["balances"] == {
        "JPY": {"amount_minor": 493, "decimals": 0, "amount": "493"}
    }
    assert net.account(dave.address)["balances"] == {"JPY": {"amount_minor": 7, "decimals": 0, "amount": "7"}}
    assert net.currency("JPY")["decimals"] == 0
    # a fraction of a yen does not exist
    refused = net.cli("tx", "transfer", "--key", str(tmp_path / "carol.json"), "--to", dave.address,
                      "--amount", "1.5", "--currency", "JPY", "--wait")
    assert_cli_error(refused, exit_code=1, contains=("1.5",))
    assert net.balance(carol, "JPY") == 493


def test_trailing_zeros_are_exact_not_rounded(net: Network) -> None:
    sender, to = net.accounts[0], net.new_account()
    result = net.cli_json("tx", "transfer", "--key", str(sender.path), "--to", to.address,
                          "--amount", "12.500", "--currency", "USD", "--wait")
    assert result["receipt"]["events"][0]["amount_minor"] == 1_250
    assert net.balance(to.address, "USD") == 1_250


@pytest.mark.parametrize("amount", ["12.505", "0.001", "abc", "-1", "1e3", "1,5", ".5", "１２"])
def test_bad_amount_is_refused_by_the_cli_and_nothing_is_sent(net: Network, amount: str) -> None:
    """An amount the currency cannot hold exactly is never rounded: one sentence, exit code 1 (docs/api.md)."""
    sender, to = net.accounts[1], net.new_account()
    before = net.account(sender.address)
    result = net.cli("tx", "transfer", "--key", str(sender.path), "--to", to.address,
                     "--amount", amount, "--currency", "USD", "--wait")
    assert_cli_error(result, exit_code=1, contains=(amount,))
    assert net.account(sender.address) == before
    assert net.balance(to.address, "USD") == 0


def test_too_long_memo_is_refused_before_sending(net: Network) -> None:
    sender, to = net.accounts[1], net.new_account()
    before = net.account(sender.address)
    result = net.cli("tx", "transfer", "--key", str(sender.path), "--to", to.address, "--amount", "1",
                     "--currency", "USD", "--memo", "é" * 129, "--wait")  # 258 UTF-8 bytes
    assert_cli_error(result, contains=("memo",))
    assert net.account(sender.address) == before


def test_transfer_without_wait_returns_the_hash_and_commits(net: Network) -> None:
    sender, to = net.accounts[1], net.new_account()
    result = net.cli_json("tx", "transfer", "--key", str(sender.path), "--to", to.address, "--amount", "0.05",
                          "--currency", "USD", "--memo", "rent")
    assert set(result) == {"hash"}
    wait_for(lambda: net.get(f"/v1/txs/{result['hash']}").json.get("status") == "committed", 10, "the transfer to commit")
    committed = net.cli_json("query", "tx", result["hash"])
    assert committed["tx"]["body"]["memo"] == "rent"
    assert net.balance(to.address, "USD") == 5


# refusals -------------------------------------------------------------------------------------------------


def test_mint_by_non_issuer_is_refused(net: Network) -> None:
    impostor, target = net.accounts[2], net.new_account()
    supply = net.currency("USD")["supply_minor"]
    result = net.cli("tx", "mint", "--key", str(impostor.path), "--to", target.address,
                     "--amount", "5.00", "--currency", "USD", "--wait")
    assert_cli_error(result, exit_code=3, contains=("not_issuer",))
    # the issuer of another currency is not the issuer of USD either
    result = net.cli("tx", "mint", "--key", str(net.issuers["JPY"].path), "--to", target.address,
                     "--amount", "5.00", "--currency", "USD", "--wait")
    assert_cli_error(result, exit_code=3, contains=("not_issuer",))
    # and over HTTP
    tx = net.sign(impostor, "mint", {"to": parse_address(target.address), "currency": "USD", "amount_minor": 500})
    response = net.submit(tx)
    assert (response.status, response.error_code) == (422, "not_issuer"), response
    assert net.balance(target.address, "USD") == 0
    assert net.currency("USD")["supply_minor"] == supply


def test_mint_above_reserve_is_refused(net: Network) -> None:
    """EUR is used by this test alone: it mints right up to the reserve."""
    target = net.new_account()
    eur = net.currency("EUR")
    room = eur["reserve_minor"] - eur["supply_minor"]
    too_much = net.submit(net.sign(net.issuers["EUR"], "mint",
                                   {"to": parse_address(target.address), "currency": "EUR", "amount_minor": room + 1}))
    assert (too_much.status, too_much.error_code) == (422, "exceeds_reserves"), too_much
    net.fund(target, "EUR", room)  # exactly up to the reserve is allowed
    assert net.currency("EUR")["supply_minor"] == eur["reserve_minor"]
    result = net.cli("tx", "mint", "--key", str(net.issuers["EUR"].path), "--to", target.address,
                     "--amount", "0.01", "--currency", "EUR", "--wait")
    assert_cli_error(result, exit_code=3, contains=("exceeds_reserves",))
    assert net.balance(target.address, "EUR") == room
    assert net.currency("EUR")["supply_minor"] == eur["reserve_minor"]


def test_overdraft_is_refused(net: Network) -> None:
    poor, rich = net.new_account("poor"), net.new_account("rich")
    net.fund(poor, "USD", 1_000)
    result = net.cli("tx", "transfer", "--key", str(poor.path), "--to", rich.address,
                     "--amount", "10.01", "--currency", "USD", "--wait")
    assert_cli_error(result, exit_code=3, contains=("insufficient_funds",))
    tx = net.sign(poor, "transfer", {"to": parse_address(rich.address), "currency": "USD", "amount_minor": 1_001, "memo": ""})
    response = net.submit(tx)
    assert (response.status, response.error_code) == (422, "insufficient_funds"), response
    assert response.json["hash"] == tx.hash.hex()
    # a currency the account does not hold at all
    result = net.cli("tx", "transfer", "--key", str(poor.path), "--to", rich.address,
                     "--amount", "1", "--currency", "JPY", "--wait")
    assert_cli_error(result, exit_code=3, contains=("insufficient_funds",))
    # exactly the whole balance is fine, and leaves no balance entry behind
    net.commit(poor, "transfer", {"to": parse_address(rich.address), "currency": "USD", "amount_minor": 1_000, "memo": ""})
    assert net.account(poor.address)["balances"] == {}
    assert net.balance(rich.address, "USD") == 1_000
    assert net.account(poor.address)["nonce"] == 1


def test_bad_nonce_and_replay_are_refused(net: Network) -> None:
    sender, to = net.new_account(), net.new_account()
    net.fund(sender, "USD", 10_000)
    fields = {"to": parse_address(to.address), "currency": "USD", "amount_minor": 10, "memo": ""}
    ahead = net.submit(net.sign(sender, "transfer", fields, nonce=1))
    assert (ahead.status, ahead.error_code) == (422, "bad_nonce"), ahead
    first = net.sign(sender, "transfer", fields, nonce=0)
    assert net.submit(first).status == 200
    replay = net.submit(first)
    assert (replay.status, replay.error_code) == (409, "duplicate"), replay
    reused = net.submit(net.sign(sender, "transfer", {**fields, "amount_minor": 11}, nonce=0))
    assert (reused.status, reused.error_code) == (422, "bad_nonce"), reused
    huge = net.submit(net.sign(sender, "transfer", fields, nonce=2**63 - 1))
    assert (huge.status, huge.error_code) == (422, "bad_nonce"), huge
    assert net.balance(to.address, "USD") == 10
    assert net.account(sender.address)["nonce"] == 1


def test_self_transfer_and_unknown_currency_are_refused(net: Network) -> None:
    sender = net.accounts[3]
    result = net.cli("tx", "transfer", "--key", str(sender.path), "--to", sender.address,
                     "--amount", "1", "--currency", "USD", "--wait")
    assert_cli_error(result, exit_code=3, contains=("self_transfer",))
    result = net.cli("tx", "transfer", "--key", str(sender.path), "--to", net.new_account().address,
                     "--amount", "1", "--currency", "GBP", "--wait")
    assert_cli_error(result, contains=("GBP",))
    tx = net.sign(sender, "transfer", {"to": parse_address(net.new_account().address), "currency": "GBP",
                                       "amount_minor": 1, "memo": ""})
    response = net.submit(tx)
    assert (response.status, response.error_code) == (422, "unknown_currency"), response


def mistype(address: str) -> str:
    """The address with one data character changed (the bech32m checksum must catch it)."""
    index = 10
    replacement = "q" if address[index] != "q" else "p"
    return address[:index] + replacement + address[index + 1:]


@pytest.mark.parametrize("mangle,expected", [
    (mistype, "checksum"),
    (lambda a: a[:-1], "checksum"),
    (lambda a: "cos1" + a[4:], "cor1"),
    (lambda a: a[:5] + a[5:].upper(), "mixes upper and lower case"),
    (lambda a: a[:8] + "b" + a[9:], "bech32"),  # 'b' is not a bech32 character
], ids=["one-char-changed", "truncated", "wrong-prefix", "mixed-case", "not-bech32"])
def test_mistyped_address_is_rejected_before_anything_is_sent(net: Network, port_allocator, mangle, expected) -> None:
    sender, to = net.accounts[0], net.new_account()
    bad = mangle(to.address)
    assert bad != to.address
    # No node listens at this URL: the CLI must refuse the address before it talks to any node.
    nowhere = f"http://127.0.0.1:{port_allocator.allocate(1)}"
    for command in (["tx", "transfer", "--key", str(sender.path)], ["tx", "mint", "--key", str(net.issuers["USD"].path)]):
        result = net.cli(*command, "--to", bad, "--amount", "1.00", "--currency", "USD", "--wait", "--node", nowhere)
        message = assert_cli_error(result, contains=(expected,))
        assert "no Corridor node answered" not in message
    result = net.cli("query", "account", bad, "--node", nowhere)
    assert_cli_error(result, contains=(expected,))
    response = net.get(f"/v1/accounts/{bad}")
    assert (response.status, response.error_code) == (400, "bad_address"), response


def test_upper_case_address_is_the_same_account(net: Network) -> None:
    to = net.new_account()
    net.fund(to, "USD", 42)
    assert net.balance(to.address.upper(), "USD") == 42
    assert net.cli_json("query", "account", to.address.upper())["address"] == to.address


# transactions and blocks ----------------------------------------------------------------------------------


def test_get_tx_unknown_hash_is_404(net: Network) -> None:
    other, to = net.new_account(), net.new_account()
    target = net.sign(other, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": 7,
                                          "memo": ""})
    unknown = net.get(f"/v1/txs/{target.hash.hex()}")
    assert (unknown.status, unknown.error_code, unknown.json.get("status")) == (404, "unknown_tx", "unknown"), unknown
    assert_cli_error(net.cli("query", "tx", target.hash.hex()), exit_code=1, contains=("unknown_tx",))
    # a transaction refused at submission is not remembered either
    refused = net.sign(other, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": 8,
                                           "memo": ""})
    assert net.submit(refused).error_code == "insufficient_funds"
    assert net.get(f"/v1/txs/{refused.hash.hex()}").status == 404


def test_get_tx_committed_with_its_receipt(net: Network) -> None:
    # A pending transaction is observed where it stays pending for certain: during a halt
    # (tests/e2e/test_consensus.py); one validator commits it within milliseconds.
    other, to = net.new_account(), net.new_account()
    net.fund(other, "USD", 1_000)
    target = net.sign(other, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": 7, "memo": "hi"})

    bad = net.get("/v1/txs/" + "ab" * 31)
    assert (bad.status, bad.error_code) == (400, "bad_hash"), bad
    accepted = net.submit(target, wait=False)
    assert (accepted.status, accepted.json) == (202, {"hash": target.hash.hex()}), accepted
    wait_for(lambda: net.get(f"/v1/txs/{target.hash.hex()}").json.get("status") == "committed", 10, "the transaction to commit")

    # committed, with its receipt; resubmitting it is a duplicate
    final = net.get(f"/v1/txs/{target.hash.hex()}")
    assert final.status == 200 and final.json["status"] == "committed", final
    assert final.json["tx"] == {
        "hash": target.hash.hex(),
        "type": "transfer",
        "sender": other.address,
        "body": {"signer": other.key.public_key.hex(), "nonce": target.body.nonce, "to": to.address,
                 "currency": "USD", "amount_minor": 7, "memo": "hi", "travel_rule_hash": ""},
    }
    receipt = final.json["receipt"]
    assert receipt["tx_hash"] == target.hash.hex() and receipt["code"] == "ok"
    assert receipt["events"] == [{"kind": "transfer", "currency": "USD", "from": other.address, "to": to.address,
                                  "amount_minor": 7}]
    block = net.get(f"/v1/blocks/{receipt['height']}").json
    assert block["txs"][receipt["index"]]["hash"] == target.hash.hex()
    again = net.submit(target)
    assert (again.status, again.error_code) == (409, "duplicate"), again
    assert net.cli_json("query", "tx", target.hash.hex()) == final.json
    table = net.cli("query", "tx", target.hash.hex())
    assert table.returncode == 0 and table_row(table.stdout, "status") == ["status", "committed"]


def test_blocks_have_header_txs_and_a_one_signature_certificate(net: Network) -> None:
    from corridor.consensus.certificate import CommitCertificate, verify_certificate
    from corridor.consensus.validators import Validator, ValidatorSet
    from corridor.ledger.block import Header

    sender, to = net.new_account(), net.new_account()
    net.fund(sender, "USD", 100)
    for amount in (1, 2, 3, 4, 5):  # several blocks in quick succession
        net.commit(sender, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": amount, "memo": ""})

    status = net.node0.status()
    latest = net.get("/v1/blocks/latest")
    assert latest.status == 200, latest
    block = latest.json
    header = block["header"]
    assert set(header) >= {"height", "parent_hash", "time_ms", "state_root", "txs_root", "proposer"}
    assert header["height"] == status["height"]
    assert header["chain_id"] == net.chain_id
    assert block["hash"] == status["latest_hash"]
    assert header["time_ms"] == status["latest_time_ms"]
    assert header["state_root"] == status["state_root"]
    validator = status["validators"][0]
    assert header["proposer"] == validator["public_key"]
    assert header["tx_count"] == len(block["txs"]) >= 1
    for index, tx in enumerate(block["txs"]):
        assert {"hash", "type", "sender", "body", "receipt"} <= set(tx)
        assert (tx["receipt"]["height"], tx["receipt"]["index"], tx["receipt"]["code"]) == (header["height"], index, "ok")

    # the block hash is the hash of the header, and the certificate proves it offline
    header_obj = Header(**{k: bytes.fromhex(v) if type(v) is str and k != "chain_id" else v for k, v in header.items()})
    assert header_obj.hash.hex() == block["hash"]
    certificate = block["certificate"]
    assert (certificate["height"], certificate["block_hash"]) == (header["height"], block["hash"])
    assert len(certificate["signatures"]) == 1
    assert certificate["signatures"][0]["validator"] == validator["public_key"]
    validators = ValidatorSet([Validator(validator["name"], bytes.fromhex(validator["public_key"]), validator["power"])])
    cert = CommitCertificate(certificate["height"], certificate["round"], bytes.fromhex(certificate["block_hash"]),
                             tuple((bytes.fromhex(s["validator"]), bytes.fromhex(s["signature"])) for s in certificate["signatures"]))
    verify_certificate(cert, validators, net.chain_id, header["height"], bytes.fromhex(block["hash"]))

    # the whole chain: heights, parent links from the genesis hash, strictly increasing times
    genesis = json.loads((net.node0.home / "genesis.json").read_text())
    parent, parent_time = sha256(codec.encode(genesis)).hex(), genesis["genesis_time_ms"]
    for height in range(1, header["height"] + 1):
        h = net.get(f"/v1/blocks/{height}").json["header"]
        assert h["height"] == height
        assert h["parent_hash"] == parent, f"block {height} does not link to block {height - 1}"
        assert h["time_ms"] > parent_time, f"block {height} time does not increase"
        parent = net.get(f"/v1/blocks/{height}").json["hash"]
        parent_time = h["time_ms"]

    # the CLI shows the same block
    assert net.cli_json("query", "block") == block
    assert net.cli_json("query", "block", str(header["height"])) == block
    table = net.cli("query", "block", "1")
    assert table.returncode == 0, table.stderr
    assert table_row(table.stdout, "signatures") == ["signatures", "1"]

    for path, code, status_code in [
        ("/v1/blocks/0", "unknown_block", 404),
        (f"/v1/blocks/{header['height'] + 1000}", "unknown_block", 404),
        ("/v1/blocks/-1", "bad_height", 400),
        ("/v1/blocks/1.5", "bad_height", 400),
        ("/v1/blocks/tip", "bad_height", 400),
    ]:
        response = net.get(path)
        assert (response.status, response.error_code) == (status_code, code), (path, response)


def test_status_via_cli(net: Network) -> None:
    document = net.cli_json("status")
    assert document["chain_id"] == net.chain_id
    assert document["height"] >= 0
    assert document["moniker"] == "node0"
    table = net.cli("status")
    assert table.returncode == 0
    assert table_row(table.stdout, "chain_id") == ["chain_id", net.chain_id]


def test_account_table_shows_the_whole_address(net: Network) -> None:
    to = net.new_account()
    net.fund(to, "USD", 1)
    table = net.cli("query", "account", to.address)
    assert to.address in table.stdout, table.stdout
