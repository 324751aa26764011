"""Offline payment receipts against real nodes: GET /v1/txs/{hash}/proof, saved to a file, checked by
`corridor verify-receipt FILE --genesis GENESIS` with no node running the check; every tampering is refused
with a one-line reason and exit code 1.

Most tests share one one-validator network (`net`) and one mint and one payment made through the CLI; the
last makes a four-validator network to drop signatures below a quorum of several.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from corridor import codec
from corridor.consensus.certificate import sign_precommit
from corridor.keys import KeyPair, address_of, format_address

from .conftest import Network, assert_cli_error

HASH = re.compile(r"[0-9a-f]{64}")


def genesis_of(net: Network) -> Path:
    return net.nodes[0].home / "genesis.json"


def fetch_proof(net: Network, tx_hash: str, node: int = 0) -> dict[str, Any]:
    response = net.get(f"/v1/txs/{tx_hash}/proof", node=node)
    assert response.status == 200, response
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json


def verify(net: Network, proof: dict[str, Any], directory: Path, *args: str, genesis: Path | None = None):
    path = directory / "proof.json"
    path.write_text(json.dumps(proof))
    return net.cli("verify-receipt", str(path), "--genesis", str(genesis or genesis_of(net)), *args)


@pytest.fixture(scope="module")
def payments(shared_network: Network, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A mint of 100.00 USD to alice and her payment of 12.50 USD to bob, both through the CLI with --json."""
    net = shared_network
    folder = tmp_path_factory.mktemp("receipts")
    alice, bob = net.new_account("alice"), net.new_account("bob")
    mint = net.cli("tx", "mint", "--key", str(net.issuers["USD"].path), "--to", alice.address, "--amount", "100.00",
                   "--currency", "USD", "--wait", "--json")
    assert mint.returncode == 0, mint.stderr
    payment = net.cli("tx", "transfer", "--key", str(alice.path), "--to", bob.address, "--amount", "12.50",
                      "--currency", "USD", "--memo", "invoice 42", "--wait", "--json")
    assert payment.returncode == 0, payment.stderr
    return {"alice": alice.address, "bob": bob.address, "folder": folder,
            "mint": json.loads(mint.stdout), "payment": json.loads(payment.stdout)}


# The real thing -------------------------------------------------------------------------------------------


def test_tx_json_output_names_the_transaction_hash(net: Network, payments: dict[str, Any]) -> None:
    for document in (payments["mint"], payments["payment"]):
        assert HASH.fullmatch(document["hash"]) and document["status"] == "committed"
        assert document["receipt"]["tx_hash"] == document["hash"]
    alice = net.new_account("alice-unwaited")
    admitted = net.cli_json("tx", "mint", "--key", str(net.issuers["USD"].path), "--to", alice.address, "--amount", "1.00",
                            "--currency", "USD")
    assert HASH.fullmatch(admitted["hash"])


def test_a_real_payment_verifies_offline(net: Network, payments: dict[str, Any], tmp_path: Path) -> None:
    proof = fetch_proof(net, payments["payment"]["hash"])
    height = payments["payment"]["receipt"]["height"]
    assert proof["tx_hash"] == payments["payment"]["hash"] and proof["height"] == height
    result = verify(net, proof, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"final at height {height}" in result.stdout
    assert f"{payments['alice']} paid {payments['bob']} 12.50 USD" in result.stdout
    assert "memo: invoice 42" in result.stdout
    document = json.loads(verify(net, proof, tmp_path, "--json").stdout)
    assert document["valid"] is document["final"] is True and document["height"] == height
    assert document["payments"] == [{"from": payments["alice"], "to": payments["bob"], "currency": "USD",
                                     "amount_minor": 1_250, "amount": "12.50 USD"}]
    assert document["tx_hash"] == payments["payment"]["hash"] and document["signers"] == ["node0"]


def test_a_mint_receipt_verifies_with_a_summary_of_its_event(net: Network, payments: dict[str, Any], tmp_path: Path) -> None:
    result = verify(net, fetch_proof(net, payments["mint"]["hash"]), tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"100.00 USD minted to {payments['alice']}" in result.stdout


def test_proof_errors_use_the_api_error_shape(net: Network) -> None:
    unknown = net.get("/v1/txs/" + "00" * 32 + "/proof")
    assert unknown.status == 404 and unknown.error_code == "unknown_tx", unknown
    assert set(unknown.json["error"]) == {"code", "message"}
    for bad in ("00", "zz" * 32, "00" * 33):
        response = net.get(f"/v1/txs/{bad}/proof")
        assert response.status == 400 and response.error_code == "bad_hash", response


# Tampering ------------------------------------------------------------------------------------------------


def flip_in_raw(raw_hex: str, needle: bytes) -> str:
    raw = bytearray(bytes.fromhex(raw_hex))
    raw[bytes(raw).index(needle) + len(needle) // 2] ^= 0x01
    return bytes(raw).hex()


def changed_tx(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    proof["tx"]["raw"] = flip_in_raw(proof["tx"]["raw"], b"invoice 42")


def changed_receipt(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    receipt = codec.decode(bytes.fromhex(proof["receipt"]["raw"]), 4096)
    receipt["events"][0]["amount_minor"] = 125_000  # 1250.00 USD instead of 12.50
    proof["receipt"]["raw"] = codec.encode(receipt).hex()


def changed_header(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    proof["header"]["raw"] = flip_in_raw(proof["header"]["raw"], bytes.fromhex(proof["header"]["decoded"]["state_root"]))


def changed_signature(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    signature = proof["certificate"]["signatures"][0]["signature"]
    proof["certificate"]["signatures"][0]["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]


def dropped_signature(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    proof["certificate"]["signatures"] = []


OUTSIDER = KeyPair.from_seed(b"o" * 32)


def foreign_signature(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    signature = sign_precommit(OUTSIDER, net.chain_id, proof["height"], proof["certificate"]["round"],
                               bytes.fromhex(proof["certificate"]["block_hash"]))
    proof["certificate"]["signatures"].append({"validator": OUTSIDER.public_key.hex(), "signature": signature.hex()})


def swapped_header(proof: dict[str, Any], net: Network, payments: dict[str, Any]) -> None:
    proof["header"] = fetch_proof(net, payments["mint"]["hash"])["header"]  # the mint's block, one before


TAMPERING: dict[str, tuple[Callable[[dict[str, Any], Network, dict[str, Any]], None], str]] = {
    "a changed byte in the transaction": (changed_tx, "transaction bytes do not hash to "),
    "a changed byte in the receipt": (changed_receipt, "receipt is not in block {height}'s receipts root"),
    "a changed byte in the header": (changed_header, "header does not match the certificate's block hash"),
    "a changed signature": (changed_signature, "signature of validator cor1"),
    "the signature dropped": (dropped_signature, "certificate carries 0 of 10 voting power, needs more than 2/3"),
    "a signature of a key outside the set": (
        foreign_signature, f"signer {format_address(address_of(OUTSIDER.public_key))} is not a validator at height {{height}}"),
    "the header of another block": (swapped_header, "header does not match the certificate's block hash"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_each_tampering_is_refused_with_its_reason(name: str, net: Network, payments: dict[str, Any], tmp_path: Path) -> None:
    tamper, reason = TAMPERING[name]
    proof = fetch_proof(net, payments["payment"]["hash"])
    tamper(proof, net, payments)
    result = verify(net, proof, tmp_path)
    assert_cli_error(result, exit_code=1, contains=("receipt is NOT valid: ", reason.format(height=proof["height"])))


def test_the_genesis_of_another_chain_is_refused(net: Network, payments: dict[str, Any], network_factory, tmp_path: Path) -> None:
    other = network_factory.create(validators=1, currencies=("USD",), start=False)
    result = verify(net, fetch_proof(net, payments["payment"]["hash"]), tmp_path, genesis=genesis_of(other))
    assert_cli_error(result, exit_code=1, contains=(f"the proof is from chain {net.chain_id}, but the genesis file is of chain "
                                                    f"{other.chain_id}",))


@pytest.mark.parametrize("content, reason", [
    ("{not json", "is not a JSON receipt proof"),
    ("[1, 2]", "the proof is malformed: it is not a JSON object"),
    ("{}", "the proof is malformed"),
    (None, "the proof is malformed: it has no header.raw"),
])
def test_a_malformed_proof_file_is_one_clear_line(net: Network, payments: dict[str, Any], tmp_path: Path,
                                                  content: str | None, reason: str) -> None:
    path = tmp_path / "bad.json"
    if content is None:
        proof = fetch_proof(net, payments["payment"]["hash"])
        del proof["header"]["raw"]
        content = json.dumps(proof)
    path.write_text(content)
    result = net.cli("verify-receipt", str(path), "--genesis", str(genesis_of(net)))
    assert_cli_error(result, exit_code=1, contains=(reason,))


# Four validators ------------------------------------------------------------------------------------------


def test_four_validators_a_proof_verifies_and_fewer_than_a_quorum_of_signatures_is_refused(network_factory, tmp_path: Path) -> None:
    net = network_factory.create(validators=4, currencies=("USD",))
    holder = net.new_account("holder")
    minted = net.fund(holder, "USD", 500)
    proof = fetch_proof(net, minted["hash"], node=2)
    result = verify(net, proof, tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    verified = json.loads(result.stdout)
    assert verified["total_power"] == 40 and verified["signed_power"] >= 30
    assert verified["summary"] == [f"5.00 USD minted to {holder.address}"]
    # keep signatures while they stay under a quorum: two of four validators (20 of 40) is not enough
    proof["certificate"]["signatures"] = proof["certificate"]["signatures"][:2]
    assert_cli_error(verify(net, proof, tmp_path), exit_code=1,
                     contains=("certificate carries 20 of 40 voting power, needs more than 2/3",))
