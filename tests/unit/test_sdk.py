"""The SDK without a node: builders of every transaction type (decodable, correctly signed, amounts converted
exactly or refused), the error hierarchy, submission results and the events stream parser."""

from __future__ import annotations

import inspect
import time
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from corridor.client import (
    AddressError,
    AmountError,
    ApiError,
    AsyncClient,
    Client,
    CorridorError,
    InvalidInput,
    InvalidTransaction,
    KeyFileError,
    Minor,
    NodeUnreachable,
    Proposal,
    Refusal,
    Refused,
    SubmitResult,
    Timeout,
    TxBuilder,
    UnknownDecimals,
    WaitTimeout,
    decode_tx,
    from_minor,
    generate_key,
    load_key,
    save_key,
    to_minor,
    to_price,
)
from corridor.client.errors import EventStreamOverflow, error_from_answer
from corridor.client.results import EventCursor, SseParser
from corridor.client.txs import TX_BUILDERS
from corridor.hashing import sha256
from corridor.keys import KeyPair
from corridor.ledger import amounts as ledger_amounts
from corridor.ledger import limits
from corridor.ledger.tx import TX_TYPES, SignedTx, TxError, signatures_valid

CHAIN = "corridor-sdk-test"
DECIMALS = {"USD": 2, "JPY": 0, "BTC": 8}
A, B, V = KeyPair.from_seed(b"a" * 32), KeyPair.from_seed(b"b" * 32), KeyPair.from_seed(b"v" * 32)
C1, C2, C3 = (KeyPair.from_seed(bytes([c]) * 32) for c in b"123")  # compliance keys
DOCS = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


@pytest.fixture
def builder() -> TxBuilder:
    return TxBuilder(CHAIN, DECIMALS, height=100)


# amounts --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, decimals, minor", [
    ("12.50", 2, 1250), ("12.5", 2, 1250), ("12.500", 2, 1250), ("0.01", 2, 1), ("100", 2, 10_000),
    (Decimal("12.50"), 2, 1250), (Decimal("1E+2"), 2, 10_000), (Decimal("0.00000001"), 8, 1), (7, 0, 7), (7, 2, 700),
    ("92233720368547758.07", 2, limits.AMOUNT_MINOR_MAX), (Minor(1250), 2, 1250), ("0", 2, 0),
])
def test_amounts_convert_exactly(amount: Any, decimals: int, minor: int) -> None:
    assert to_minor(amount, decimals) == minor
    assert type(to_minor(amount, decimals)) is int


@pytest.mark.parametrize("amount, decimals", [
    ("12.505", 2), (Decimal("12.505"), 2), ("0.1", 0), ("0.000000001", 8), (12.5, 2), (0.1, 2), (True, 2), (-1, 2),
    ("-1", 2), (Decimal("-0.01"), 2), (Decimal("NaN"), 2), (Decimal("Infinity"), 2), ("1e3", 2), ("", 2), (" 1", 2),
    ("92233720368547758.08", 2), (Minor(-1), 2), (None, 2), ("١٢", 0),
])
def test_inexact_or_invalid_amounts_are_refused_never_rounded(amount: Any, decimals: int) -> None:
    with pytest.raises(AmountError) as caught:
        to_minor(amount, decimals)
    assert isinstance(caught.value, ledger_amounts.AmountError) and isinstance(caught.value, CorridorError)


def test_12_505_of_a_2_decimal_currency_names_the_problem(builder: TxBuilder) -> None:
    with pytest.raises(AmountError, match=r"'12.505' has more than the currency's 2 decimal places"):
        builder.transfer(A, B, "12.505", "USD", nonce=0)
    assert builder.transfer(A, B, "12.50", "USD", nonce=0).body.amount_minor == 1250
    assert builder.transfer(A, B, "12505", "JPY", nonce=0).body.amount_minor == 12505


def test_from_minor_round_trips() -> None:
    assert from_minor(1250, 2) == Decimal("12.50") and str(from_minor(1250, 2)) == "12.50"
    assert from_minor(7, 0) == Decimal(7)
    assert to_minor(from_minor(123_456_789, 8), 8) == 123_456_789


def test_prices_are_exact_fractions_of_minor_units() -> None:
    # 0.0067 USD per JPY: 0.67 cents per yen
    assert to_price("0.0067", 0, 2) == (67, 100)
    assert to_price(Decimal("0.0067"), 0, 2) == (67, 100)
    assert to_price(Fraction(67, 10_000), 0, 2) == (67, 100)
    assert to_price(150, 2, 0) == (3, 2)  # 150 JPY per USD: 1.5 yen per cent
    for bad in ("0", Fraction(0), 0.5, "-1", "abc"):
        with pytest.raises(AmountError):
            to_price(bad, 0, 2)


def test_unknown_decimals_and_missing_nonce_are_input_errors() -> None:
    bare = TxBuilder(CHAIN)
    with pytest.raises(UnknownDecimals) as caught:
        bare.transfer(A, B, "1.00", "USD", nonce=0)
    assert caught.value.currency == "USD" and isinstance(caught.value, InvalidInput)
    assert bare.transfer(A, B, Minor(100), "USD", nonce=0).body.amount_minor == 100  # Minor needs no decimals
    with pytest.raises(InvalidInput, match="nonce"):
        TxBuilder(CHAIN, DECIMALS).transfer(A, B, "1", "USD")
    with pytest.raises(InvalidInput, match="height"):
        TxBuilder(CHAIN, DECIMALS).swap(A, B, "1", "USD", "1", "JPY", nonce=0)


# every transaction type -----------------------------------------------------------------------------------


def build_every_type(b: TxBuilder) -> dict[str, SignedTx | Proposal]:
    """One transaction of each of the 17 types, built from human amounts."""
    return {
        "transfer": b.transfer(A, B, "12.50", "usd", memo="invoice 42", travel_rule=b"originator: A; beneficiary: B", nonce=3),
        "mint": b.mint(A, B.address_text, "100.00", "USD", nonce=0),
        "burn": b.burn(A, Decimal("5"), "USD", nonce=1),
        "attest_reserve": b.attest_reserve(A, "USD", "2000000000.00", report=b"%PDF audit", as_of=1_767_225_600_000, nonce=2),
        "set_authorization": b.set_authorization(A, "JPY", B, False, nonce=4),
        "set_frozen": b.set_frozen(A, "USD", B.address, reason="order 2026/17", authority="US District Court SDNY",
                                   order=b"%PDF order", nonce=5),
        "clawback": b.clawback(A, "USD", B, "50.00", reason="order 2026/17", authority="US District Court SDNY",
                               order_hash=sha256(b"%PDF order"), order_expiry=1_798_761_600_000, nonce=6),
        "forced_burn": b.forced_burn(A, "USD", B, "5.00", reason="order 2026/17", authority="HKMA", order=b"%PDF order",
                                     approvers=[C2.public_key, C1], nonce=21),
        "set_compliance_keys": b.set_compliance_keys(A, "USD", [C1.public_key, C2, C3.public_key.hex()], 2, nonce=22),
        "set_paused": b.set_paused(A, "JPY", nonce=7),
        "set_distributor": b.set_distributor(A, "USD", B, nonce=8),
        "set_policy": b.set_policy(A, "USD", transfer_max="5000.00", travel_rule_threshold=Minor(100_000),
                                   distributors_only=False, nonce=9),
        "swap": b.swap(A, B.public_key.hex(), "10.00", "USD", "1400", "JPY", nonce=10),
        "offer_create": b.offer_create(A, "1000000", "JPY", "USD", "0.0068", nonce=11),
        "offer_cancel": b.offer_cancel(A, 0, nonce=12),
        "pay": b.pay(A, B, "100", "USD", "14000", "JPY", memo="m", nonce=13),
        "gov_register_currency": b.gov_register_currency(V, "KRW", 0, B, A, holders_need_authorization=True, nonce=0),
        "gov_set_auditor": b.gov_set_auditor(V, "KRW", A.address_text, reserve_max_age_ms=86_400_000, nonce=4),
        "gov_set_issuer": b.gov_set_issuer(V, "KRW", A, nonce=1),
        "gov_set_validator": b.gov_set_validator(V, B, "node-b", 10, nonce=2),
        "redeem_request": b.redeem_request(A, "250.00", "usd", nonce=14),
        "redeem_fulfil": b.redeem_fulfil(A, 3, payout="wire 2026-0042", nonce=15),
        "redeem_reject": b.redeem_reject(A, 4, reason="KYC incomplete", nonce=16),
        "redeem_cancel": b.redeem_cancel(A, 5, nonce=17),
        "set_redemption_deadline": b.set_redemption_deadline(A, "USD", timedelta(days=2), nonce=18),
        "gov_set_sanctioned": b.gov_set_sanctioned(V, B, reason="OFAC SDN 2026-07", authority="OFAC", order=b"SDN list entry",
                                                   nonce=3),
        "set_jurisdiction": b.set_jurisdiction(A, "usd", B, "hk", nonce=19),
        "set_corridor_policy": b.set_corridor_policy(A, "USD", "US", "*", travel_rule_threshold="1000.00", payment_max="50000.00",
                                                     window_max="100000.00", window=timedelta(days=1), nonce=20),
        "grant_licence": b.grant_licence(A, "usd", B, "distribute", "us", expires=1_798_761_600_000, nonce=23),
        "revoke_licence": b.revoke_licence(A, "USD", B.address_text, "Exchange", reason="licence withdrawn 2026-09", nonce=24),
        "set_licence_required": b.set_licence_required(A, "USD", "exchange", nonce=25),
    }


def test_every_transaction_type_is_buildable_signed_and_decodable(builder: TxBuilder) -> None:
    built = build_every_type(builder)
    assert set(built) == set(TX_TYPES) == set(TX_BUILDERS)
    for type_name, item in built.items():
        if isinstance(item, Proposal):
            assert not item.complete or type_name.startswith("gov_")
            if type_name == "swap":
                item.sign(B)
            if type_name == "forced_burn":  # approved by two compliance keys (ledger/orders.py)
                item.sign(C1)
                item.sign(C2)
            assert item.complete
            tx = item.transaction()
        else:
            tx = item
        decoded = decode_tx(tx.raw)
        assert decoded.body == tx.body and decoded.hash == tx.hash and decoded.body.TYPE == type_name
        assert signatures_valid(decoded, CHAIN), type_name
        assert not signatures_valid(decoded, "another-chain"), type_name


def test_builders_fill_fields_exactly(builder: TxBuilder) -> None:
    built = build_every_type(builder)
    transfer = built["transfer"].body
    assert (transfer.currency, transfer.amount_minor, transfer.memo, len(transfer.travel_rule_hash)) == ("USD", 1250, "invoice 42", 32)
    assert transfer.to == B.address and transfer.signer == A.public_key and transfer.nonce == 3
    assert built["burn"].body.amount_minor == 500
    assert built["attest_reserve"].body.reserve_minor == 200_000_000_000
    assert built["set_authorization"].body.enabled is False and built["set_paused"].body.enabled is True
    policy = built["set_policy"].body
    assert (policy.transfer_max_minor, policy.travel_rule_threshold_minor) == (500_000, 100_000)
    swap = built["swap"].body
    assert (swap.give_amount_minor, swap.get_amount_minor, swap.expiry_height, swap.counterparty) == (1000, 1400, 700, B.public_key)
    offer = built["offer_create"].body
    assert (offer.sell_amount_minor, offer.price_num, offer.price_den) == (1_000_000, 17, 25)  # 0.68 cents per yen
    pay = built["pay"].body
    assert (pay.send_max_minor, pay.receive_amount_minor, pay.to) == (10_000, 14_000, B.address)
    assert built["gov_set_validator"].body.effective_height == 100 + 1 + 10
    assert built["gov_register_currency"].body.issuer == B.address
    registered = built["gov_register_currency"].body
    assert (registered.auditor, registered.reserve_max_age_ms) == (A.address, 35 * 86_400_000)
    assert built["attest_reserve"].body.reserve_as_of_ms == 1_767_225_600_000
    assert (built["gov_set_auditor"].body.auditor, built["gov_set_auditor"].body.reserve_max_age_ms) == (A.address, 86_400_000)
    sanctioned = built["gov_set_sanctioned"].body
    assert (sanctioned.account, sanctioned.listed, sanctioned.reason_hash) == (B.address, True, sha256(b"OFAC SDN 2026-07"))


def test_redemption_builders_fill_fields_exactly(builder: TxBuilder) -> None:
    built = build_every_type(builder)
    request = built["redeem_request"].body
    assert (request.currency, request.amount_minor) == ("USD", 25_000)
    fulfil = built["redeem_fulfil"].body
    assert (fulfil.redemption_id, fulfil.payout_reference) == (3, sha256(b"wire 2026-0042"))
    assert built["redeem_reject"].body.reason_hash == sha256(b"KYC incomplete")
    assert built["redeem_cancel"].body.redemption_id == 5
    assert built["set_redemption_deadline"].body.redemption_deadline_ms == 2 * 86_400_000
    assert builder.set_redemption_deadline(A, "USD", 1_500, nonce=0).body.redemption_deadline_ms == 1_500
    assert builder.redeem_fulfil(A, 3, payout_reference=sha256(b"x").hex(), nonce=0).body.payout_reference == sha256(b"x")
    with pytest.raises(InvalidInput):
        builder.redeem_fulfil(A, 3, nonce=0)  # a payout reference is required
    with pytest.raises(InvalidTransaction):
        builder.set_redemption_deadline(A, "USD", 0, nonce=0)


def test_licence_builders_fill_fields_exactly(builder: TxBuilder) -> None:
    built = build_every_type(builder)
    grant = built["grant_licence"].body
    assert (grant.currency, grant.account, grant.scope, grant.jurisdiction, grant.expires_at_ms) == (
        "USD", B.address, "distribute", "US", 1_798_761_600_000)
    assert builder.grant_licence(A, "USD", B, "exchange", "HK", nonce=0).body.expires_at_ms == 0  # no expiry
    soon = builder.grant_licence(A, "USD", B, "exchange", "HK", expires=timedelta(hours=1), nonce=0).body.expires_at_ms
    assert abs(soon - (int(time.time() * 1000) + 3_600_000)) < 60_000
    revoke = built["revoke_licence"].body
    assert (revoke.scope, revoke.account, revoke.reason_hash) == ("exchange", B.address, sha256(b"licence withdrawn 2026-09"))
    required = built["set_licence_required"].body
    assert (required.currency, required.scope, required.required) == ("USD", "exchange", True)
    assert builder.set_licence_required(A, "USD", "distribute", False, nonce=0).body.required is False
    with pytest.raises(InvalidInput):
        builder.revoke_licence(A, "USD", B, "exchange", nonce=0)  # a reason is required
    with pytest.raises(InvalidTransaction):
        builder.grant_licence(A, "USD", B, "custody", "US", nonce=0)  # not a scope


def test_field_errors_are_typed(builder: TxBuilder) -> None:
    with pytest.raises(InvalidTransaction) as caught:
        builder.transfer(A, B, "1", "USD", memo="x" * 300, nonce=0)
    assert caught.value.refusal is Refusal.BAD_FIELD and isinstance(caught.value, TxError)
    with pytest.raises(InvalidTransaction):  # zero is not a transfer amount: the chain's field check says so
        builder.transfer(A, B, "0", "USD", nonce=0)
    with pytest.raises(AddressError):
        builder.transfer(A, "cor1notanaddress", "1", "USD", nonce=0)
    with pytest.raises(InvalidInput):
        builder.build(A, "swap", {}, nonce=0)
    with pytest.raises(InvalidInput):
        builder.attest_reserve(A, "USD", "1", nonce=0)  # a report (or its hash) is required


def test_generic_build_matches_the_typed_builder(builder: TxBuilder) -> None:
    typed = builder.mint(A, B, "1.00", "USD", nonce=0)
    generic = builder.build(A, "mint", {"to": B.address, "currency": "USD", "amount_minor": 100}, nonce=0)
    assert typed.raw == generic.raw


def test_both_clients_offer_every_builder_and_the_same_methods() -> None:
    sync_methods = {n for n, _ in inspect.getmembers(Client) if not n.startswith("_")}
    async_methods = {n for n, _ in inspect.getmembers(AsyncClient) if not n.startswith("_")}
    assert sync_methods == async_methods
    for name in TX_BUILDERS:
        assert inspect.signature(getattr(Client("http://x").txs, name)) == inspect.signature(getattr(builder_of(), name))
        assert callable(getattr(AsyncClient("http://x").txs, name))


def builder_of() -> TxBuilder:
    return TxBuilder(CHAIN)


# keys -----------------------------------------------------------------------------------------------------


def test_keys_round_trip_and_errors_are_typed(tmp_path: Path) -> None:
    key = generate_key()
    save_key(key, tmp_path / "k.json")
    assert load_key(tmp_path / "k.json").public_key == key.public_key
    with pytest.raises(KeyFileError, match="already exists"):
        save_key(key, tmp_path / "k.json")
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key(tmp_path / "missing.json")


# errors and results ---------------------------------------------------------------------------------------


def test_error_answers_map_to_the_hierarchy() -> None:
    refused = error_from_answer(422, {"error": {"code": "insufficient_funds", "message": "m"}, "hash": "ab"}, transaction=True)
    assert isinstance(refused, Refused) and refused.refusal is Refusal.INSUFFICIENT_FUNDS and refused.chain_refusal
    assert refused.tx_hash == "ab" and str(refused) == "insufficient_funds: m" and not refused.dropped
    malformed = error_from_answer(400, {"error": {"code": "bad_signature", "message": "m"}}, transaction=True)
    assert isinstance(malformed, Refused) and not malformed.chain_refusal
    book = error_from_answer(404, {"error": {"code": "unknown_currency", "message": "m"}})
    assert type(book) is ApiError and book.status == 404
    timeout = error_from_answer(504, {"error": {"code": "wait_timeout", "message": "m"}, "hash": "cd"}, transaction=True)
    assert isinstance(timeout, WaitTimeout) and isinstance(timeout, Timeout) and isinstance(timeout, ApiError)
    assert timeout.tx_hash == "cd" and timeout.code == "wait_timeout"
    plain = error_from_answer(502, None, reason="Bad Gateway")
    assert (plain.code, plain.message) == ("http_error", "HTTP 502 Bad Gateway")
    for cls in (NodeUnreachable, ApiError, Timeout, InvalidInput, EventStreamOverflow):
        assert issubclass(cls, CorridorError)


def test_submit_results_are_the_nodes_json_with_accessors() -> None:
    admitted = SubmitResult({"hash": "aa"})
    assert admitted.ok and admitted.hash == "aa" and admitted.error is None and not admitted.final
    refused = SubmitResult({"hash": "bb", "error": {"code": "bad_nonce", "message": "m"}})
    assert not refused.ok and isinstance(refused.error, Refused) and refused.error.status == 422
    with pytest.raises(Refused):
        refused.raise_for_error()
    undecodable = SubmitResult({"hash": None, "error": {"code": "bad_field", "message": "m"}})
    assert undecodable.error.status == 400 and undecodable.hash is None
    final = SubmitResult({"hash": "cc", "status": "committed", "receipt": {"height": 3}})
    assert final.final and final.receipt == {"height": 3} and final == {"hash": "cc", "status": "committed", "receipt": {"height": 3}}


def test_unreachable_node_is_a_typed_error() -> None:
    with pytest.raises(NodeUnreachable, match="no Corridor node answered"):
        Client("http://127.0.0.1:9", timeout_s=2).status()


# events ---------------------------------------------------------------------------------------------------


def feed(parser: SseParser, text: str) -> list:
    return [event for line in text.splitlines(keepends=True) if (event := parser.feed(line)) is not None]


def test_sse_parser_reads_the_nodes_stream() -> None:
    stream = (': corridor events\n\nevent: receipt\ndata: {"tx_hash":"aa","height":1,"index":0}\n\n'
              ': keep-alive\n\nevent: block\ndata: {"height":1,"hash":"bb","time_ms":1,"tx_count":1}\n\n'
              'event: overflow\ndata: {}\n\n')
    events = feed(SseParser(), stream)
    assert [e.kind for e in events] == ["receipt", "block", "overflow"]
    assert events[0].tx_hash == "aa" and events[1].height == 1 and events[2].data == {}


def test_event_cursor_resumes_after_the_last_block_without_repeats() -> None:
    cursor = EventCursor(KeyPair.from_seed(b"c" * 32), None)
    assert "account=cor1" in cursor.path() and "from_height" not in cursor.path()
    parser = SseParser()
    first = feed(parser, 'event: receipt\ndata: {"height":5,"index":0}\n\nevent: block\ndata: {"height":5}\n\n'
                         'event: receipt\ndata: {"height":6,"index":0}\n\n')
    assert [cursor.admit(e) for e in first] == [True, True, True]
    (overflow,) = feed(parser, "event: overflow\ndata: {}\n\n")
    assert cursor.overflowed(overflow) and "from_height=6" in cursor.path()
    replay = feed(SseParser(), 'event: receipt\ndata: {"height":6,"index":0}\n\nevent: receipt\ndata: {"height":6,"index":1}\n\n')
    assert [cursor.admit(e) for e in replay] == [False, True]
    with pytest.raises(EventStreamOverflow):
        EventCursor(None, None).overflowed(overflow)


# docs -----------------------------------------------------------------------------------------------------


def test_the_sdk_reference_names_every_builder_and_client_method() -> None:
    text = DOCS.read_text()
    for name in TX_BUILDERS:
        assert f"`{name}(" in text, f"docs/sdk.md does not describe the builder {name}"
    for name, _ in inspect.getmembers(Client):
        if not name.startswith("_"):
            assert f"`{name}" in text, f"docs/sdk.md does not describe Client.{name}"
