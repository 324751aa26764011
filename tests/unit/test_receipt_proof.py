"""Offline payment receipts: the node's proof of a committed transaction (node.api.receipt_proof, served as
GET /v1/txs/{hash}/proof) and its verification with the genesis file alone (client.verify.verify_receipt).

A synthetic chain of four validators (power 10 each; a quorum is three signatures) is committed to a real
store, with certificates signed by the test keys:
    1  three transfers (the proof of the second is the one most tests tamper with)
    2  a transfer and the removal of v3 from height 4 on
    3  KRW registered by governance, with 3 decimals
    4  KRW's reserve attested and 1.500 KRW minted (certified by v0, v1, v2: the set after the change)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from corridor import codec
from corridor.client import verify as verify_module
from corridor.client.verify import RECEIPT_PROOF_FORMAT, VerificationError, describe_event, verify_receipt
from corridor.consensus.certificate import CommitCertificate, sign_precommit
from corridor.keys import KeyPair, address_of, format_address
from corridor.ledger.block import ExecutedBlock, build_block
from corridor.ledger.genesis import Genesis, parse_genesis
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, assemble_tx, build_body, sign_tx, signing_bytes
from corridor.node import api

from unit_support import ADDRESSES, CHAIN_ID, GENESIS_TIME_MS, KEYS, OTHER_CHAIN_ID, genesis_document, key_of, transfer

VALIDATORS = ("v0", "v1", "v2", "v3")
AFTER_CHANGE = ("v0", "v1", "v2")
VKEYS: dict[str, KeyPair] = {name: key_of(f"receipt-{name}") for name in (*VALIDATORS, "outsider")}


def label(name: str) -> str:
    return format_address(address_of(VKEYS[name].public_key))


def genesis_of(chain_id: str = CHAIN_ID, names: tuple[str, ...] = VALIDATORS) -> Genesis:
    document = genesis_document()
    document["chain_id"] = chain_id
    document["validators"] = [{"name": n, "public_key": VKEYS[n].public_key.hex(), "power": 10} for n in names]
    return parse_genesis(document)


def gov_tx(type_name: str, fields: dict[str, Any], nonce: int, signers: tuple[str, ...] = ("v0", "v1", "v2")) -> SignedTx:
    body = build_body(type_name, {"signer": VKEYS[signers[0]].public_key, "nonce": nonce, **fields})
    return assemble_tx(body, [VKEYS[n].public_key + VKEYS[n].sign(signing_bytes(CHAIN_ID, body)) for n in signers])


def signed(sender: str, nonce: int, type_name: str, fields: dict[str, Any]) -> SignedTx:
    body = build_body(type_name, {"signer": KEYS[sender].public_key, "nonce": nonce, **fields})
    return sign_tx(body, [KEYS[sender]], CHAIN_ID)


def commit_block(store: Store, txs: list[SignedTx], signers: tuple[str, ...]) -> ExecutedBlock:
    executed, left_out = build_block(store, store.tip, CHAIN_ID, store.tip.time_ms + 1_000, VKEYS["v0"].public_key, txs)
    assert not left_out, [(item.tx.body.TYPE, item.refusal) for item in left_out]
    header = executed.block.header
    signatures = sorted((VKEYS[n].public_key, sign_precommit(VKEYS[n], CHAIN_ID, header.height, 0, executed.block.hash))
                        for n in signers)
    store.commit_block(executed, CommitCertificate(header.height, 0, executed.block.hash, tuple(signatures)).to_bytes())
    return executed


@pytest.fixture(scope="module")
def genesis() -> Genesis:
    return genesis_of()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, genesis: Genesis) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("receipts") / "db", genesis)
    commit_block(store, [transfer("alice", 0, "carol", "USD", 100), transfer("alice", 1, "bob", "USD", 1_250, memo="invoice 42"),
                         transfer("bob", 0, "carol", "USD", 5)], VALIDATORS)
    commit_block(store, [transfer("alice", 2, "bob", "USD", 1),
                         gov_tx("gov_set_validator", {"validator_key": VKEYS["v3"].public_key, "validator_name": "v3",
                                                      "power": 0, "effective_height": 4}, 0)], VALIDATORS)
    commit_block(store, [gov_tx("gov_register_currency", {"currency": "KRW", "decimals": 3, "issuer": ADDRESSES["dave"],
                                                           "holders_need_authorization": False,
                                                           "auditor": ADDRESSES["jpy_auditor"]}, 1)], VALIDATORS)
    commit_block(store, [signed("jpy_auditor", 0, "attest_reserve", {"currency": "KRW", "reserve_minor": 1_000_000,
                                                                     "report_hash": bytes(32), "reserve_as_of_ms": GENESIS_TIME_MS}),
                         signed("dave", 0, "mint", {"to": ADDRESSES["alice"], "currency": "KRW", "amount_minor": 1_500})], AFTER_CHANGE)
    yield store
    store.close()


def proof_of(store: Store, height: int, index: int) -> dict[str, Any]:
    """The proof as a client holds it: the node's JSON, written to a file and read back."""
    return json.loads(json.dumps(api.receipt_proof(store, height, index)))


@pytest.fixture()
def payment(chain: Store) -> dict[str, Any]:
    return proof_of(chain, 1, 1)


def flip_hex(text: str, position: int) -> str:
    return text[:position] + ("0" if text[position] != "0" else "1") + text[position + 1:]


def flip_in_raw(raw_hex: str, needle: bytes) -> str:
    """`raw_hex` with one bit changed inside the first occurrence of `needle` (so it still decodes)."""
    raw = bytearray(bytes.fromhex(raw_hex))
    at = bytes(raw).index(needle) + len(needle) // 2
    raw[at] ^= 0x01
    return bytes(raw).hex()


# A genuine proof --------------------------------------------------------------------------------------------


def test_a_payment_proof_verifies_with_the_genesis_alone(payment: dict[str, Any], genesis: Genesis) -> None:
    verified = verify_receipt(payment, genesis)
    assert (verified.height, verified.index, verified.chain_id) == (1, 1, CHAIN_ID)
    assert verified.tx_hash.hex() == payment["tx_hash"] == payment["receipt"]["decoded"]["tx_hash"]
    assert verified.payments() == [{"from": format_address(ADDRESSES["alice"]), "to": format_address(ADDRESSES["bob"]),
                                    "currency": "USD", "amount_minor": 1_250, "amount": "12.50 USD"}]
    assert verified.summary() == [f"{format_address(ADDRESSES['alice'])} paid {format_address(ADDRESSES['bob'])} 12.50 USD"]
    assert sorted(verified.signers) == list(VALIDATORS) and (verified.signed_power, verified.total_power) == (40, 40)
    document = verified.to_json()
    assert document["valid"] is document["final"] is True and document["tx"]["body"]["memo"] == "invoice 42"


def test_the_proof_holds_the_bytes_paths_and_signatures(payment: dict[str, Any], chain: Store) -> None:
    block = chain.get_block(1)
    assert payment["format"] == RECEIPT_PROOF_FORMAT == api.RECEIPT_PROOF_FORMAT
    assert payment["header"]["hash"] == block.hash.hex() == payment["certificate"]["block_hash"]
    assert payment["tx"]["raw"] == block.txs[1].raw.hex()
    assert payment["receipt_proof"]["leaf_count"] == payment["tx_proof"]["leaf_count"] == 3
    assert len(payment["receipt_proof"]["path"]) == 2  # leaf 1 of 3: its sibling, then the third leaf
    assert all(len(item["signature"]) == 128 for item in payment["certificate"]["signatures"])
    assert payment["governance"] == {"history": [], "blocks": []}  # nothing governed before block 1


def test_a_proof_after_a_validator_change_follows_the_set_and_registered_decimals(chain: Store, genesis: Genesis) -> None:
    proof = proof_of(chain, 4, 1)
    assert [item["height"] for item in proof["governance"]["blocks"]] == [2, 3]
    verified = verify_receipt(proof, genesis)
    assert sorted(verified.signers) == list(AFTER_CHANGE) and verified.total_power == 30
    assert verified.decimals["KRW"] == 3
    assert verified.summary() == [f"1.500 KRW minted to {format_address(ADDRESSES['alice'])}"]


def test_a_governance_receipt_is_summarised(chain: Store, genesis: Genesis) -> None:
    verified = verify_receipt(proof_of(chain, 3, 0), genesis)
    assert verified.summary() == [f"currency KRW registered (3 decimals), issuer {format_address(ADDRESSES['dave'])}, "
                                  f"reserve auditor {format_address(ADDRESSES['jpy_auditor'])}"]


def test_an_unregistered_currency_is_shown_in_minor_units(chain: Store, genesis: Genesis) -> None:
    proof = proof_of(chain, 4, 1)
    proof["governance"]["history"] = [item for item in proof["governance"]["history"] if item["type"] != "gov_register_currency"]
    verified = verify_receipt(proof, genesis)
    assert verified.summary() == [f"1500 minor units of KRW minted to {format_address(ADDRESSES['alice'])}"]


# Tampering ------------------------------------------------------------------------------------------------


def drop_to_two(proof: dict[str, Any]) -> None:
    proof["certificate"]["signatures"] = proof["certificate"]["signatures"][:2]


def foreign_signature(proof: dict[str, Any]) -> None:
    block_hash = bytes.fromhex(proof["certificate"]["block_hash"])
    signature = sign_precommit(VKEYS["outsider"], CHAIN_ID, 1, 0, block_hash)
    proof["certificate"]["signatures"].append({"validator": VKEYS["outsider"].public_key.hex(), "signature": signature.hex()})


def duplicate_signature(proof: dict[str, Any]) -> None:
    proof["certificate"]["signatures"].append(dict(proof["certificate"]["signatures"][0]))


def changed_signature(proof: dict[str, Any]) -> None:
    first = proof["certificate"]["signatures"][0]
    first["signature"] = flip_hex(first["signature"], 10)


def changed_tx(proof: dict[str, Any]) -> None:
    proof["tx"]["raw"] = flip_in_raw(proof["tx"]["raw"], b"invoice 42")


def changed_receipt(proof: dict[str, Any]) -> None:
    receipt = codec.decode(bytes.fromhex(proof["receipt"]["raw"]), 4096)
    receipt["events"][0]["amount_minor"] = 125_000
    proof["receipt"]["raw"] = codec.encode(receipt).hex()


def changed_header(proof: dict[str, Any]) -> None:
    state_root = bytes.fromhex(proof["header"]["decoded"]["state_root"])
    proof["header"]["raw"] = flip_in_raw(proof["header"]["raw"], state_root)


def changed_path(proof: dict[str, Any]) -> None:
    proof["receipt_proof"]["path"][0] = flip_hex(proof["receipt_proof"]["path"][0], 0)


def uncommitted_tx(proof: dict[str, Any]) -> None:
    other = transfer("alice", 1, "bob", "USD", 125_000, memo="invoice 42")
    proof["tx"]["raw"] = other.raw.hex()


TAMPERING = {
    "a changed byte in the transaction": (changed_tx, "transaction bytes do not hash to "),
    "another transaction's bytes": (uncommitted_tx, "transaction bytes do not hash to "),
    "a changed byte in the receipt": (changed_receipt, "receipt is not in block 1's receipts root"),
    "a changed hash in the receipt's audit path": (changed_path, "receipt is not in block 1's receipts root"),
    "a changed byte in the header": (changed_header, "header does not match the certificate's block hash"),
    "a changed signature": (changed_signature, "signature of validator cor1"),
    "signatures dropped below a quorum": (drop_to_two, "certificate carries 20 of 40 voting power, needs more than 2/3"),
    "a signature of a key outside the set": (foreign_signature, f"signer {label('outsider')} is not a validator at height 1"),
    "one validator's signature twice": (duplicate_signature, "signed the certificate twice"),
    "a leaf index outside the block": (lambda p: p.update(index=7), "index 7 is outside block 1"),
    "another leaf index": (lambda p: p.update(index=0), "receipt is not in block 1's receipts root: receipt_proof is for leaf 1 of 3, not leaf 0"),
    "a wrong format": (lambda p: p.update(format="something/else"), "malformed"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_each_tampering_is_refused_with_its_reason(name: str, payment: dict[str, Any], genesis: Genesis) -> None:
    tamper, reason = TAMPERING[name]
    tamper(payment)
    with pytest.raises(VerificationError) as caught:
        verify_receipt(payment, genesis)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_changed_signature_names_its_validator(payment: dict[str, Any], genesis: Genesis) -> None:
    first = payment["certificate"]["signatures"][0]
    name = next(n for n in VALIDATORS if VKEYS[n].public_key.hex() == first["validator"])
    changed_signature(payment)
    with pytest.raises(VerificationError, match=f"signature of validator {label(name)} \\({name}\\) does not verify"):
        verify_receipt(payment, genesis)


def test_another_receipt_of_the_same_block_is_refused(chain: Store, payment: dict[str, Any], genesis: Genesis) -> None:
    other = proof_of(chain, 1, 0)
    payment["receipt"], payment["receipt_proof"] = other["receipt"], other["receipt_proof"]
    with pytest.raises(VerificationError, match="receipt is not in block 1's receipts root: receipt_proof is for leaf 0 of 3, not leaf 1"):
        verify_receipt(payment, genesis)
    # with the other receipt and its own index, it is that transaction's receipt and the bytes do not match it
    payment["index"] = 0
    with pytest.raises(VerificationError, match="the proof claims transaction .*, but its receipt is of "):
        verify_receipt(payment, genesis)
    del payment["tx_hash"]  # informational: without the claim, the transaction's own bytes give it away
    with pytest.raises(VerificationError, match="transaction bytes do not hash to "):
        verify_receipt(payment, genesis)


def test_the_header_of_another_block_is_refused(chain: Store, payment: dict[str, Any], genesis: Genesis) -> None:
    payment["header"] = proof_of(chain, 2, 0)["header"]
    with pytest.raises(VerificationError, match="header does not match the certificate's block hash"):
        verify_receipt(payment, genesis)


def test_the_header_and_certificate_of_another_block_are_refused(chain: Store, payment: dict[str, Any], genesis: Genesis) -> None:
    other = proof_of(chain, 2, 0)
    payment["header"], payment["certificate"] = other["header"], other["certificate"]
    with pytest.raises(VerificationError, match="receipt is not in block 2's receipts root"):
        verify_receipt(payment, genesis)


def test_the_genesis_of_another_chain_is_refused(payment: dict[str, Any]) -> None:
    with pytest.raises(VerificationError, match=f"the proof is from chain {CHAIN_ID}, but the genesis file is of chain {OTHER_CHAIN_ID}"):
        verify_receipt(payment, genesis_of(OTHER_CHAIN_ID))


def test_a_genesis_with_other_validators_is_refused(payment: dict[str, Any]) -> None:
    impostor = genesis_of(CHAIN_ID, ("outsider",))
    with pytest.raises(VerificationError, match="another validator set"):
        verify_receipt(payment, impostor)


def test_the_old_set_cannot_certify_a_block_after_the_change(chain: Store, genesis: Genesis) -> None:
    proof = proof_of(chain, 4, 1)
    block_hash = bytes.fromhex(proof["certificate"]["block_hash"])
    proof["certificate"]["signatures"] = [
        {"validator": VKEYS[n].public_key.hex(), "signature": sign_precommit(VKEYS[n], CHAIN_ID, 4, 0, block_hash).hex()}
        for n in ("v1", "v2", "v3")]
    with pytest.raises(VerificationError, match=f"signer {label('v3')} is not a validator at height 4"):
        verify_receipt(proof, genesis)


def test_a_proof_that_leaves_out_the_validator_change_is_refused(chain: Store, genesis: Genesis) -> None:
    proof = proof_of(chain, 4, 1)
    proof["governance"]["blocks"] = [item for item in proof["governance"]["blocks"] if item["height"] != 2]
    with pytest.raises(VerificationError, match="lacks block 2"):
        verify_receipt(proof, genesis)
    proof["governance"] = {"history": [], "blocks": []}
    with pytest.raises(VerificationError, match="another validator set"):
        verify_receipt(proof, genesis)


def test_a_forged_validator_change_block_is_refused(chain: Store, genesis: Genesis) -> None:
    proof = proof_of(chain, 4, 1)
    bundle = codec.decode(bytes.fromhex(proof["governance"]["blocks"][0]["bundle"]), 1 << 20)
    bundle["certificate"] = bundle["certificate"][:-1] + bytes([bundle["certificate"][-1] ^ 1])  # the last signature's last byte
    proof["governance"]["blocks"][0]["bundle"] = codec.encode(bundle).hex()
    with pytest.raises(VerificationError, match="validator set of height 4 cannot be followed"):
        verify_receipt(proof, genesis)


# Malformed input is a VerificationError, never another exception ---------------------------------------------


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list) and value:
        for position, item in enumerate(value):
            yield from leaf_paths(item, (*path, position))
    yield path


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copied


def deleted(document: Any, path: tuple[Any, ...]) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copied


def test_any_field_of_the_wrong_kind_or_missing_gives_a_verification_error_or_nothing(chain: Store, genesis: Genesis) -> None:
    """Whatever a field is replaced with, or if it is missing, verification raises VerificationError with one
    line, or passes (a field that is not read, such as the decoded views, or a governance entry whose loss
    only costs a currency its decimals); it never raises anything else."""
    proof = proof_of(chain, 4, 1)  # with governance history and blocks, so every part is exercised
    refused = 0
    for path in leaf_paths(proof):
        if "decoded" in path:
            continue
        documents = [replaced(proof, path, new) for new in (None, 0, -1, "", "zz", "00", [], {}, True, 2**70)]
        if path:
            documents.append(deleted(proof, path))
        for document in documents:
            try:
                verify_receipt(document, genesis)
            except VerificationError as exc:
                assert "\n" not in str(exc)
                refused += 1
    assert refused > 300


@pytest.mark.parametrize("document", [None, [], "proof", 7, {"format": RECEIPT_PROOF_FORMAT}])
def test_documents_that_are_not_proofs_are_refused_as_malformed(document: Any, genesis: Genesis) -> None:
    with pytest.raises(VerificationError, match="malformed"):
        verify_receipt(document, genesis)


# Sentences ------------------------------------------------------------------------------------------------


def test_events_of_swaps_payments_and_offers_read_as_sentences(payment: dict[str, Any], genesis: Genesis) -> None:
    verified = verify_receipt(payment, genesis)
    a, b = ADDRESSES["alice"], ADDRESSES["bob"]
    sa, sb = format_address(a), format_address(b)
    assert describe_event({"kind": "payment", "from": a, "to": b, "sent_currency": "USD", "sent_minor": 101, "currency": "JPY",
                           "amount_minor": 140, "via": ""}, verified) == f"{sa} paid {sb} 140 JPY, costing 1.01 USD"
    assert describe_event({"kind": "offer_filled", "offer_id": 3, "account": b, "sold_currency": "JPY", "sold_minor": 140,
                           "received_currency": "USD", "received_minor": 101}, verified) == f"offer 3 of {sb} sold 140 JPY for 1.01 USD"
    assert describe_event({"kind": "offer_placed", "offer_id": 4, "account": a, "sell_currency": "USD", "remaining_minor": 500,
                           "buy_currency": "JPY", "price_num": 3, "price_den": 2}, verified) == \
        f"offer 4 of {sa} rests in the book: 5.00 USD for JPY at 150 JPY per USD"
    assert describe_event({"kind": "frozen", "currency": "USD", "account": a, "reason_hash": bytes(32)}, verified) == f"{sa} frozen in USD"
    assert describe_event({"kind": "something_new", "x": 1}, verified) == "something_new: x=1"
    assert describe_event({"kind": "transfer", "from": a}, verified).startswith("transfer: ")  # a short event does not crash


def test_the_format_names_agree() -> None:
    assert verify_module.RECEIPT_PROOF_FORMAT == api.RECEIPT_PROOF_FORMAT
