"""Transactions on the wire: strict decoding with the right refusal, and signatures bound to chain and type."""

from __future__ import annotations

import copy
import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import address_of, verify_signature
from corridor.ledger import limits
from corridor.ledger.refusals import Refusal
from corridor.ledger.tx import (
    FIELDS,
    TX_TYPES,
    body_to_map,
    AttestReserve,
    Burn,
    Mint,
    Transfer,
    TxError,
    decode_tx,
    signatures_valid,
    signing_bytes,
    tx_to_json,
)

from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    KEYS,
    OTHER_CHAIN_ID,
    attest,
    burn,
    mint,
    pack,
    transfer,
    tx_document,
)

TRANSFER = transfer("alice", 0, "bob", "USD", 1_250, memo="invoice 42")
SAMPLES = {
    "transfer": TRANSFER,
    "mint": mint("usd_issuer", 0, "alice", "USD", 10_000),
    "burn": burn("alice", 3, "JPY", 500),
    "attest_reserve": attest("jpy_auditor", 7, "JPY", 0),
}


def refusal_of(raw: bytes) -> Refusal:
    with pytest.raises(TxError) as caught:
        decode_tx(raw)
    return caught.value.refusal


def with_body(tx_name: str = "transfer", **changes: Any) -> bytes:
    """The sample's wire map with body fields changed (a value of DELETE removes the field), re-encoded."""
    document = copy.deepcopy(tx_document(SAMPLES[tx_name]))
    for name, value in changes.items():
        if value is DELETE:
            del document["body"][name]
        else:
            document["body"][name] = value
    return codec.encode(document)


DELETE = object()


# Valid transactions
@pytest.mark.parametrize("tx", SAMPLES.values(), ids=SAMPLES.keys())
def test_signed_transaction_decodes_to_itself_and_verifies(tx: Any) -> None:
    decoded = decode_tx(tx.raw)
    assert decoded == tx
    assert decoded.hash == sha256(tx.raw)
    assert decoded.sender == address_of(tx.body.signer)
    assert signatures_valid(decoded, CHAIN_ID)


def test_signature_covers_the_documented_signing_bytes() -> None:
    # Clients in other languages sign encode(["corridor/tx/v1", chain_id, type, body]); keep that contract.
    body_map = tx_document(TRANSFER)["body"]
    message = codec.encode(["corridor/tx/v1", CHAIN_ID, "transfer", body_map])
    assert signing_bytes(CHAIN_ID, TRANSFER.body) == message
    assert verify_signature(KEYS["alice"].public_key, message, TRANSFER.signatures[0])


def test_json_view_shows_addresses_and_hex() -> None:
    shown = tx_to_json(TRANSFER)
    assert shown["type"] == "transfer"
    assert shown["sender"] == KEYS["alice"].address_text
    assert shown["body"]["to"] == KEYS["bob"].address_text
    assert shown["body"]["signer"] == KEYS["alice"].public_key.hex()
    assert shown["body"]["amount_minor"] == 1_250


# Signatures are bound to the chain, the type and the body
def test_signature_made_for_another_chain_does_not_verify_here() -> None:
    foreign = transfer("alice", 0, "bob", "USD", 1_250, memo="invoice 42", chain_id=OTHER_CHAIN_ID)
    assert foreign.body == TRANSFER.body
    decoded = decode_tx(foreign.raw)
    assert signatures_valid(decoded, OTHER_CHAIN_ID)
    assert not signatures_valid(decoded, CHAIN_ID)


def test_mint_body_relabelled_as_transfer_does_not_verify() -> None:
    minted = SAMPLES["mint"]
    document = tx_document(minted)
    document["type"] = "transfer"
    document["body"]["memo"] = ""  # the fields a Transfer has beyond a Mint, at their default values
    document["body"]["travel_rule_hash"] = b""
    relabelled = decode_tx(codec.encode(document))
    assert isinstance(relabelled.body, Transfer)
    assert relabelled.signatures == minted.signatures
    assert not signatures_valid(relabelled, CHAIN_ID)


def test_transfer_body_relabelled_as_mint_does_not_verify() -> None:
    sent = transfer("usd_issuer", 0, "bob", "USD", 1_000)  # empty memo: the Mint fields carry the same values
    document = tx_document(sent)
    document["type"] = "mint"
    del document["body"]["memo"]
    del document["body"]["travel_rule_hash"]
    relabelled = decode_tx(codec.encode(document))
    assert isinstance(relabelled.body, Mint)
    assert not signatures_valid(relabelled, CHAIN_ID)


def test_signing_bytes_differ_by_type_for_the_same_fields() -> None:
    body_map = tx_document(SAMPLES["mint"])["body"]
    as_mint = codec.encode(["corridor/tx/v1", CHAIN_ID, "mint", body_map])
    as_other = codec.encode(["corridor/tx/v1", CHAIN_ID, "transfer", body_map])
    signature = SAMPLES["mint"].signatures[0]
    assert verify_signature(KEYS["usd_issuer"].public_key, as_mint, signature)
    assert not verify_signature(KEYS["usd_issuer"].public_key, as_other, signature)


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount_minor", 1_251), ("nonce", 1), ("to", ADDRESSES["carol"]), ("currency", "JPY"), ("memo", "invoice 43")],
)
def test_changing_any_signed_field_breaks_the_signature(field: str, value: Any) -> None:
    tampered = decode_tx(with_body(**{field: value}))
    assert not signatures_valid(tampered, CHAIN_ID)


def test_signature_by_someone_other_than_the_signer_does_not_verify() -> None:
    document = tx_document(TRANSFER)
    document["signatures"] = [KEYS["bob"].sign(signing_bytes(CHAIN_ID, TRANSFER.body))]
    assert not signatures_valid(decode_tx(codec.encode(document)), CHAIN_ID)


# Refusals of malformed transactions
FIELD_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown_body_field": ("transfer", {"fee_minor": 1}),
    "missing_memo": ("transfer", {"memo": DELETE}),
    "missing_nonce": ("transfer", {"nonce": DELETE}),
    "mint_with_memo": ("mint", {"memo": ""}),
    "bool_nonce": ("transfer", {"nonce": True}),
    "bool_amount": ("transfer", {"amount_minor": True}),
    "false_reserve": ("attest_reserve", {"reserve_minor": False}),
    "str_amount": ("transfer", {"amount_minor": "1250"}),
    "nil_amount": ("transfer", {"amount_minor": None}),
    "str_signer": ("transfer", {"signer": KEYS["alice"].public_key.hex()}),
    "str_to": ("transfer", {"to": KEYS["bob"].address_text}),
    "str_report_hash": ("attest_reserve", {"report_hash": "00" * 32}),
    "bytes_currency": ("transfer", {"currency": b"USD"}),
    "bytes_memo": ("transfer", {"memo": b"invoice"}),
    "list_to": ("transfer", {"to": [ADDRESSES["bob"]]}),
    "signer_31_bytes": ("transfer", {"signer": bytes(31)}),
    "signer_33_bytes": ("transfer", {"signer": bytes(33)}),
    "to_19_bytes": ("transfer", {"to": bytes(19)}),
    "to_21_bytes": ("transfer", {"to": bytes(21)}),
    "to_is_a_public_key": ("transfer", {"to": KEYS["bob"].public_key}),
    "report_hash_31_bytes": ("attest_reserve", {"report_hash": bytes(31)}),
    "currency_lower_case": ("transfer", {"currency": "usd"}),
    "currency_two_letters": ("transfer", {"currency": "US"}),
    "currency_thirteen_chars": ("transfer", {"currency": "ABCDEFGHIJKLM"}),
    "currency_starts_with_digit": ("transfer", {"currency": "1SD"}),
    "currency_symbol": ("transfer", {"currency": "US$"}),
    "currency_empty": ("transfer", {"currency": ""}),
    "currency_non_ascii": ("transfer", {"currency": "ÜSD"}),
    "currency_leading_space": ("transfer", {"currency": " USD"}),
    "memo_257_bytes": ("transfer", {"memo": "x" * 257}),
    "memo_129_two_byte_chars": ("transfer", {"memo": "é" * 129}),
    "amount_zero": ("transfer", {"amount_minor": 0}),
    "amount_negative": ("transfer", {"amount_minor": -5}),
    "amount_above_max": ("transfer", {"amount_minor": limits.AMOUNT_MINOR_MAX + 1}),
    "mint_amount_zero": ("mint", {"amount_minor": 0}),
    "burn_amount_zero": ("burn", {"amount_minor": 0}),
    "reserve_negative": ("attest_reserve", {"reserve_minor": -1}),
    "nonce_negative": ("transfer", {"nonce": -1}),
    "nonce_above_max": ("transfer", {"nonce": limits.NONCE_MAX + 1}),
}


@pytest.mark.parametrize(("tx_name", "changes"), FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_bad_body_field_is_refused_as_bad_field(tx_name: str, changes: dict[str, Any]) -> None:
    assert refusal_of(with_body(tx_name, **changes)) == Refusal.BAD_FIELD


ACCEPTED_EDGES: dict[str, tuple[str, dict[str, Any]]] = {
    "memo_256_bytes": ("transfer", {"memo": "x" * 256}),
    "memo_128_two_byte_chars": ("transfer", {"memo": "é" * 128}),
    "memo_empty": ("transfer", {"memo": ""}),
    "amount_one": ("transfer", {"amount_minor": 1}),
    "amount_max": ("transfer", {"amount_minor": limits.AMOUNT_MINOR_MAX}),
    "reserve_zero": ("attest_reserve", {"reserve_minor": 0}),
    "nonce_max": ("transfer", {"nonce": limits.NONCE_MAX}),
    "currency_twelve_chars": ("transfer", {"currency": "ABCDEFGHIJ12"}),
    "currency_three_chars": ("transfer", {"currency": "X1Z"}),
}


@pytest.mark.parametrize(("tx_name", "changes"), ACCEPTED_EDGES.values(), ids=ACCEPTED_EDGES.keys())
def test_values_at_the_edge_of_each_range_are_accepted(tx_name: str, changes: dict[str, Any]) -> None:
    decoded = decode_tx(with_body(tx_name, **changes))
    for name, value in changes.items():
        assert getattr(decoded.body, name) == value


@pytest.mark.parametrize("currency", ["USD\n", "JPY\n", "\nUSD"])
def test_currency_code_with_a_newline_is_refused(currency: str) -> None:
    # Regression: a pattern ending in '$' used with re.match also matches before a trailing newline.
    assert refusal_of(with_body("transfer", currency=currency)) == Refusal.BAD_FIELD


def _document(**changes: Any) -> bytes:
    document: dict[str, Any] = tx_document(TRANSFER)
    for name, value in changes.items():
        if value is DELETE:
            del document[name]
        else:
            document[name] = value
    return codec.encode(document)


# The same transfer with amount_minor written as the float 1250.0 instead of the integer 1250 (cd 04 e2).
FLOAT_AMOUNT_RAW = TRANSFER.raw.replace(b"\xcd\x04\xe2", b"\xcb" + struct.pack(">d", 1250.0))
assert FLOAT_AMOUNT_RAW != TRANSFER.raw

ENVELOPE_CASES: dict[str, tuple[bytes, Refusal]] = {
    "not_a_map": (codec.encode([tx_document(TRANSFER)]), Refusal.BAD_FIELD),
    "extra_top_level_field": (_document(chain_id=CHAIN_ID), Refusal.BAD_FIELD),
    "missing_signatures": (_document(signatures=DELETE), Refusal.BAD_FIELD),
    "missing_type": (_document(type=DELETE), Refusal.BAD_FIELD),
    "missing_body": (_document(body=DELETE), Refusal.BAD_FIELD),
    "type_not_a_string": (_document(type=1), Refusal.BAD_FIELD),
    "type_as_bytes": (_document(type=b"transfer"), Refusal.BAD_FIELD),
    "unknown_type": (_document(type="teleport"), Refusal.UNKNOWN_TX_TYPE),
    "type_in_upper_case": (_document(type="TRANSFER"), Refusal.UNKNOWN_TX_TYPE),
    "body_not_a_map": (_document(body=[1, 2]), Refusal.BAD_FIELD),
    "signatures_not_a_list": (_document(signatures=TRANSFER.signatures[0]), Refusal.BAD_FIELD),
    "signature_as_string": (_document(signatures=[TRANSFER.signatures[0].hex()]), Refusal.BAD_FIELD),
    "no_signature": (_document(signatures=[]), Refusal.BAD_SIGNATURE),
    "two_signatures": (_document(signatures=[TRANSFER.signatures[0]] * 2), Refusal.BAD_SIGNATURE),
    "signature_63_bytes": (_document(signatures=[TRANSFER.signatures[0][:63]]), Refusal.BAD_SIGNATURE),
    "signature_65_bytes": (_document(signatures=[TRANSFER.signatures[0] + b"\x00"]), Refusal.BAD_SIGNATURE),
    "too_large": (_document(padding="x" * limits.TX_SIZE_BYTES_MAX), Refusal.TOO_LARGE),
    "trailing_byte": (TRANSFER.raw + b"\x00", Refusal.BAD_ENCODING),
    "truncated": (TRANSFER.raw[:-1], Refusal.BAD_ENCODING),
    "float_amount": (FLOAT_AMOUNT_RAW, Refusal.BAD_ENCODING),
}


@pytest.mark.parametrize(("raw", "refusal"), ENVELOPE_CASES.values(), ids=ENVELOPE_CASES.keys())
def test_malformed_envelope_is_refused_with_its_code(raw: bytes, refusal: Refusal) -> None:
    assert refusal_of(raw) == refusal


# Non-canonical re-encodings of a valid transaction
NODE_PATHS = [
    (),
    ("body",),
    ("body", "nonce"),
    ("body", "amount_minor"),
    ("body", "signer"),
    ("body", "to"),
    ("body", "currency"),
    ("body", "memo"),
    ("signatures",),
    ("signatures", 0),
    ("type",),
]


def test_hand_written_encoding_of_the_sample_is_its_wire_form() -> None:
    assert pack(tx_document(TRANSFER)) == TRANSFER.raw


@pytest.mark.parametrize("path", NODE_PATHS, ids=lambda p: "/".join(map(str, p)) or "root")
def test_wider_encoding_of_any_part_is_refused_as_non_canonical(path: tuple[Any, ...]) -> None:
    raw = pack(tx_document(TRANSFER), widen=path)
    assert raw != TRANSFER.raw
    assert refusal_of(raw) == Refusal.NON_CANONICAL


@pytest.mark.parametrize("path", [(), ("body",)], ids=["root", "body"])
def test_unsorted_map_keys_are_refused_as_non_canonical(path: tuple[Any, ...]) -> None:
    raw = pack(tx_document(TRANSFER), unsorted=path)
    assert raw != TRANSFER.raw
    assert refusal_of(raw) == Refusal.NON_CANONICAL


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_tx_error(raw: bytes) -> None:
    try:
        decode_tx(raw)
    except TxError as exc:
        assert isinstance(exc.refusal, Refusal)


@given(st.sampled_from(list(SAMPLES.values())), st.data())
def test_any_changed_byte_is_refused_or_fails_signature_check(tx: Any, data: st.DataObject) -> None:
    raw = bytearray(tx.raw)
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]), label="byte")
    try:
        changed = decode_tx(bytes(raw))
    except TxError:
        return
    assert not signatures_valid(changed, CHAIN_ID)


def test_dataclasses_are_the_documented_types() -> None:
    assert {type(tx.body) for tx in SAMPLES.values()} == {Transfer, Mint, Burn, AttestReserve}


def _a_valid_value(field_name: str) -> Any:
    """Some value the field's own check accepts (the first of a few typical shapes)."""
    candidates = [7, "USD", "", b"", True, bytes(range(32)), bytes(range(20)), bytes(range(96)), [], ["USD"], [[b"\x01" * 32, 1]], "US", "distribute"]
    for value in candidates:
        if FIELDS[field_name].check(value) is None:
            return value
    raise AssertionError(f"no sample value for field {field_name}")


@pytest.mark.parametrize("type_name", sorted(TX_TYPES))
def test_signing_bytes_of_every_type_are_the_canonical_encoding_of_the_documented_list(type_name: str) -> None:
    # signing_bytes packs the body directly, without codec.encode's walk: it must still produce exactly
    # encode(["corridor/tx/v1", chain_id, type, body]) for every transaction type.
    cls = TX_TYPES[type_name]
    body = cls(**{field.name: _a_valid_value(field.name) for field in dataclasses.fields(cls)})
    assert signing_bytes(CHAIN_ID, body) == codec.encode(["corridor/tx/v1", CHAIN_ID, type_name, body_to_map(body)])
