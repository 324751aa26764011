"""Malformed requests get a 4xx JSON error `{"error": {"code", "message"}}` with a stable code, and the node
keeps serving: its status answers and a valid transfer still commits afterwards."""

from __future__ import annotations

import json
from typing import Callable

import msgpack
import pytest

from corridor import codec
from corridor.keys import parse_address
from corridor.ledger.tx import SignedTx

from .conftest import HttpResponse, Network

MSGPACK = "application/msgpack"
JSON = "application/json"


@pytest.fixture(scope="module")
def sample_tx(shared_network: Network) -> SignedTx:
    """A valid, signed transfer that is never submitted as is (its variants are)."""
    net = shared_network
    sender = net.accounts[0]
    return net.sign(sender, "transfer", {"to": parse_address(net.new_account().address), "currency": "USD",
                                         "amount_minor": 1, "memo": ""})


def document_of(tx: SignedTx) -> dict:
    return msgpack.unpackb(tx.raw, raw=False)


def flip_signature_byte(tx: SignedTx) -> bytes:
    document = document_of(tx)
    signature = bytearray(document["signatures"][0])
    signature[10] ^= 0x01
    document["signatures"][0] = bytes(signature)
    return codec.encode(document)


def reorder_keys(tx: SignedTx) -> bytes:
    """The same map with its keys in reverse order: valid msgpack, not canonical."""
    document = document_of(tx)
    reversed_body = dict(reversed(list(document["body"].items())))
    return msgpack.packb({"type": document["type"], "signatures": document["signatures"], "body": reversed_body},
                         use_bin_type=True)


def widen_integer(tx: SignedTx) -> bytes:
    """amount_minor 1 written as a uint8 (0xcc 0x01) instead of a positive fixint (0x01)."""
    needle = b"\xacamount_minor\x01"
    assert tx.raw.count(needle) == 1
    return tx.raw.replace(needle, b"\xacamount_minor\xcc\x01")


def with_body(tx: SignedTx, **changes) -> bytes:
    document = document_of(tx)
    document["body"].update(changes)
    return codec.encode(document)


def with_type(tx: SignedTx, type_name: str) -> bytes:
    document = document_of(tx)
    document["type"] = type_name
    return codec.encode(document)


def with_signatures(tx: SignedTx, signatures: list) -> bytes:
    document = document_of(tx)
    document["signatures"] = signatures
    return codec.encode(document)


def signed_for_other_chain(net: Network) -> bytes:
    sender = net.accounts[0]
    return net.sign(sender, "transfer", {"to": parse_address(net.new_account().address), "currency": "USD",
                                         "amount_minor": 1, "memo": ""}, chain_id="corridor-other-chain").raw


# (case id, content type, body builder (net, tx) -> bytes, expected HTTP status, expected error code)
Case = tuple[str, str | None, Callable[[Network, SignedTx], bytes], int, str]
CASES: list[Case] = [
    ("garbage-msgpack", MSGPACK, lambda net, tx: b"not a transaction", 400, "bad_encoding"),
    ("empty-msgpack", MSGPACK, lambda net, tx: b"", 400, "bad_encoding"),
    ("reserved-byte", MSGPACK, lambda net, tx: b"\xc1", 400, "bad_encoding"),
    ("truncated-tx", MSGPACK, lambda net, tx: tx.raw[:-5], 400, "bad_encoding"),
    ("trailing-byte", MSGPACK, lambda net, tx: tx.raw + b"\x00", 400, "bad_encoding"),
    ("float-field", MSGPACK, lambda net, tx: msgpack.packb({"body": {"amount_minor": 1.5}, "signatures": [], "type": "transfer"}), 400, "bad_encoding"),
    ("msgpack-list", MSGPACK, lambda net, tx: codec.encode([1, 2, 3]), 400, "bad_field"),
    ("missing-field", MSGPACK, lambda net, tx: codec.encode({k: v for k, v in document_of(tx).items() if k != "signatures"}), 400, "bad_field"),
    ("zero-amount", MSGPACK, lambda net, tx: with_body(tx, amount_minor=0), 400, "bad_field"),
    ("lowercase-currency", MSGPACK, lambda net, tx: with_body(tx, currency="usd"), 400, "bad_field"),
    ("long-memo", MSGPACK, lambda net, tx: with_body(tx, memo="x" * 257), 400, "bad_field"),
    ("extra-field", MSGPACK, lambda net, tx: with_body(tx, fee=1), 400, "bad_field"),
    ("unknown-type", MSGPACK, lambda net, tx: with_type(tx, "teleport"), 400, "unknown_tx_type"),
    ("flipped-signature", MSGPACK, lambda net, tx: flip_signature_byte(tx), 400, "bad_signature"),
    ("flipped-signature-json", JSON, lambda net, tx: json.dumps({"tx": flip_signature_byte(tx).hex()}).encode(), 400, "bad_signature"),
    ("short-signature", MSGPACK, lambda net, tx: with_signatures(tx, [document_of(tx)["signatures"][0][:63]]), 400, "bad_signature"),
    ("no-signature", MSGPACK, lambda net, tx: with_signatures(tx, []), 400, "bad_signature"),
    ("other-chain", MSGPACK, lambda net, tx: signed_for_other_chain(net), 400, "bad_signature"),
    ("non-canonical-key-order", MSGPACK, lambda net, tx: reorder_keys(tx), 400, "non_canonical"),
    ("non-canonical-int-width", MSGPACK, lambda net, tx: widen_integer(tx), 400, "non_canonical"),
    ("json-not-tx", JSON, lambda net, tx: b'{"foo": "bar"}', 400, "bad_json"),
    ("json-list", JSON, lambda net, tx: b'["00"]', 400, "bad_json"),
    ("json-tx-not-string", JSON, lambda net, tx: b'{"tx": 5}', 400, "bad_json"),
    ("json-tx-and-extra", JSON, lambda net, tx: json.dumps({"tx": tx.raw.hex(), "wait": True}).encode(), 400, "bad_json"),
    ("not-json", JSON, lambda net, tx: b"{not json", 400, "bad_json"),
    ("not-utf8", JSON, lambda net, tx: b'{"tx": "\xff"}', 400, "bad_json"),
    ("no-content-type", None, lambda net, tx: tx.raw, 400, "bad_json"),
    ("bad-hex", JSON, lambda net, tx: b'{"tx": "zz"}', 400, "bad_hex"),
    ("odd-hex", JSON, lambda net, tx: json.dumps({"tx": tx.raw.hex()[:-1]}).encode(), 400, "bad_hex"),
    ("bad-hex-in-batch", JSON, lambda net, tx: json.dumps({"txs": [tx.raw.hex(), "zz"]}).encode(), 400, "bad_hex"),
    ("batch-not-strings", JSON, lambda net, tx: b'{"txs": [1]}', 400, "bad_hex"),
    ("tx-too-large", MSGPACK, lambda net, tx: b"\x00" * 5_000, 413, "too_large"),
    ("body-too-large", MSGPACK, lambda net, tx: b"\x00" * (5 * 1024 * 1024), 413, "too_large"),
    ("batch-too-many", JSON, lambda net, tx: json.dumps({"txs": [tx.raw.hex()] * 1_001}).encode(), 413, "too_many_txs"),
]


def assert_json_error(response: HttpResponse, status: int, code: str) -> None:
    assert response.status == status, response
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    error = response.json["error"]
    assert error["code"] == code, response
    assert isinstance(error["message"], str) and error["message"], response


@pytest.mark.parametrize("content_type,build,status,code", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_malformed_tx_body_is_a_json_4xx(net: Network, sample_tx: SignedTx, content_type, build, status, code) -> None:
    response = net.post("/v1/txs", build(net, sample_tx), content_type)
    assert_json_error(response, status, code)
    assert net.get("/v1/status").status == 200


@pytest.mark.parametrize("path,status,code", [
    ("/v1/txs/xyz", 400, "bad_hash"),
    ("/v1/txs/" + "00" * 33, 400, "bad_hash"),
    ("/v1/accounts/nobody", 400, "bad_address"),
    ("/v1/blocks/-3", 400, "bad_height"),
    ("/v1/blocks/99999999999999999999999", 400, "bad_height"),
    ("/v1/blocks/%C2%B2", 400, "bad_height"),  # '²' is a digit to str.isdigit, not to int()
    ("/v1/blocks/%D9%A1", 400, "bad_height"),  # Arabic-Indic one: only ASCII digits make a height
    ("/v1/nothing", 404, "not_found"),
    ("/v1/txs", 405, "method_not_allowed"),
])
def test_bad_get_is_a_json_4xx(net: Network, path: str, status: int, code: str) -> None:
    assert_json_error(net.get(path), status, code)


def test_batch_reports_each_transaction(net: Network) -> None:
    sender, to = net.new_account(), net.new_account()
    net.fund(sender, "USD", 100)
    good = net.sign(sender, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": 60, "memo": ""})
    overdraft = net.sign(sender, "transfer", {"to": parse_address(to.address), "currency": "USD", "amount_minor": 60,
                                              "memo": ""}, nonce=good.body.nonce + 1)
    response = net.post("/v1/txs", {"txs": [good.raw.hex(), "c1", flip_signature_byte(overdraft).hex(), overdraft.raw.hex(),
                                           good.raw.hex()]})
    assert response.status == 202, response
    results = response.json["results"]
    assert results[0] == {"hash": good.hash.hex()}
    assert results[1]["hash"] is None and results[1]["error"]["code"] == "bad_encoding"
    assert results[2]["error"]["code"] == "bad_signature"
    assert results[3] == {"hash": overdraft.hash.hex(), "error": results[3]["error"]}
    assert results[3]["error"]["code"] == "insufficient_funds"
    assert results[4]["error"]["code"] == "duplicate"
    empty = net.post("/v1/txs", {"txs": []})
    assert (empty.status, empty.json) == (202, {"results": []})
    net.node0.wait_height(1)
    assert net.submit(good).error_code == "duplicate"
    assert net.balance(to.address, "USD") == 60


def test_node_keeps_serving_after_bad_input(net: Network) -> None:
    """Runs after the malformed requests above (same module network): nothing they did broke the node."""
    status = net.node0.status()
    assert status["chain_id"] == net.chain_id
    sender, to = net.new_account(), net.new_account()
    net.fund(sender, "USD", 500)
    result = net.cli_json("tx", "transfer", "--key", str(sender.path), "--to", to.address, "--amount", "2.50",
                          "--currency", "USD", "--wait")
    assert result["status"] == "committed"
    as_json = net.post("/v1/txs?wait=commit", {"tx": net.sign(sender, "transfer", {
        "to": parse_address(to.address), "currency": "USD", "amount_minor": 1, "memo": "json"}).raw.hex()})
    assert as_json.status == 200 and as_json.json["status"] == "committed", as_json
    assert net.balance(to.address, "USD") == 251
    # every bad request above was refused on purpose: none is an internal error with a traceback
    log = net.node0.log_text()
    assert "Traceback" not in log and " ERROR " not in log, net.node0.log_tail()


def test_deeply_nested_json_is_a_400(net: Network) -> None:
    response = net.post("/v1/txs", b"[" * 100_000, JSON)
    assert_json_error(response, 400, "bad_json")
