"""The Python SDK (corridor.client) against a real one-validator network: payments end to end, sync and
async; a batch with a bad item; refusals as typed exceptions; the events stream; receipt proofs verified
offline; swaps and governance through proposals; and every Python block of docs/sdk.md, run as written.

All tests share one network (`net`, module-scoped)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from contextlib import aclosing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from corridor import codec
from corridor.client import (
    ApiError,
    AsyncClient,
    Client,
    Minor,
    Refusal,
    Refused,
    Timeout,
    TxBuilder,
    VerificationError,
    generate_key,
    load_key,
    verify_receipt,
)
from corridor.ledger.genesis import load_genesis

from .conftest import Network

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def genesis_path(net: Network) -> Path:
    return net.nodes[0].home / "genesis.json"


def usd_issuer(net: Network):
    return load_key(net.issuers["USD"].path)


def test_sync_payment_end_to_end(net: Network) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    minted = client.send(client.txs.mint(usd_issuer(net), alice, "100.00", "USD"))
    assert minted.final and minted.receipt["events"][0]["amount_minor"] == 10_000

    payment = client.txs.transfer(alice, bob.address_text, "12.50", "USD", memo="invoice 42")
    admitted = client.submit(payment)
    assert admitted.ok and admitted.hash == payment.hash.hex() and not admitted.final
    receipt = client.wait_final(payment.hash.hex(), timeout_s=30)
    assert receipt["tx_hash"] == payment.hash.hex() and receipt["code"] == "ok"
    assert receipt["events"] == [{"amount_minor": 1250, "currency": "USD", "from": alice.address_text,
                                  "kind": "transfer", "to": bob.address_text}]
    assert client.balances(alice) == {"USD": Decimal("87.50")}
    assert client.balances(bob) == {"USD": Decimal("12.50")}
    assert client.balance(bob, "JPY") == 0
    assert client.tx(payment)["status"] == "committed"
    assert client.next_nonce(alice) == 1
    # the HTTP view agrees with the SDK's
    assert net.balance(bob.address_text, "USD") == 1250
    # waiting for a transaction that is already final returns at once
    assert client.wait_final(payment, timeout_s=1) == receipt


def test_async_payment_end_to_end(net: Network) -> None:
    issuer = usd_issuer(net)

    async def scenario() -> None:
        async with AsyncClient(net.api) as client:
            alice, bob = generate_key(), generate_key()
            minted = await client.send(await client.txs.mint(issuer, alice, Decimal("40"), "USD"))
            assert minted.final
            payment = await client.txs.transfer(alice, bob, "0.99", "USD")
            assert (await client.submit(payment)).ok
            receipt = await client.wait_final(payment, timeout_s=30)
            assert receipt["events"][0]["amount_minor"] == 99
            assert await client.balances(alice) == {"USD": Decimal("39.01")}
            assert await client.balances(bob) == {"USD": Decimal("0.99")}
            second = await client.send(await client.txs.transfer(bob, alice, "0.09", "USD"), timeout_s=30)
            assert second.receipt["height"] > receipt["height"]
            assert await client.balance(bob, "USD") == Decimal("0.90")
            status = await client.status()
            assert status["chain_id"] == await client.chain_id() == net.chain_id
            assert [c["code"] for c in await client.currencies()] == ["EUR", "JPY", "USD"]
            assert (await client.block(receipt["height"]))["header"]["height"] == receipt["height"]

    asyncio.run(scenario())


def test_a_batch_with_one_bad_item(net: Network) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    client.send(client.txs.mint(usd_issuer(net), alice, "10.00", "USD"))
    builder = client.builder()
    nonce = client.next_nonce(alice)
    batch = [
        builder.transfer(alice, bob, "1.00", "USD", nonce=nonce),
        builder.transfer(alice, bob, "2.00", "USD", nonce=nonce + 7),  # not the next nonce: refused
        builder.transfer(alice, bob, "3.00", "USD", nonce=nonce + 1),
    ]
    results = client.submit_batch(batch)
    assert [r.ok for r in results] == [True, False, True]
    assert [r.hash for r in results] == [tx.hash.hex() for tx in batch]
    error = results[1].error
    assert isinstance(error, Refused) and error.code == "bad_nonce" and error.refusal is Refusal.BAD_NONCE
    with pytest.raises(Refused):
        results[1].raise_for_error()
    for result in (results[0], results[2]):
        client.wait_final(result.hash, timeout_s=30)
    assert client.balances(bob) == {"USD": Decimal("4.00")}
    assert client.balances(alice) == {"USD": Decimal("6.00")}


def test_refusals_are_typed_exceptions_with_their_codes(net: Network) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    client.send(client.txs.mint(usd_issuer(net), alice, "5.00", "USD"))
    with pytest.raises(Refused) as caught:
        client.send(client.txs.transfer(alice, bob, "5.01", "USD"))
    refusal = caught.value
    assert (refusal.code, refusal.status, refusal.refusal) == ("insufficient_funds", 422, Refusal.INSUFFICIENT_FUNDS)
    assert refusal.chain_refusal and refusal.tx_hash and "balance" in refusal.message
    assert isinstance(refusal, ApiError)
    with pytest.raises(Refused) as caught:  # only the issuer may mint
        client.send(client.txs.mint(alice, bob, "1.00", "USD"))
    assert caught.value.code == "not_issuer"
    signed = client.txs.transfer(alice, bob, "1.00", "USD")
    client.send(signed)
    with pytest.raises(Refused) as caught:  # the same transaction again
        client.submit(signed)
    assert (caught.value.code, caught.value.status) == ("duplicate", 409)
    with pytest.raises(Refused) as caught:  # a signature for another chain
        client.submit(TxBuilder("another-chain", {"USD": 2}).transfer(alice, bob, "1", "USD", nonce=client.next_nonce(alice)))
    assert caught.value.code == "bad_signature" and not caught.value.chain_refusal
    with pytest.raises(ApiError) as caught:  # an error of the request, not of a transaction
        client.txs.transfer(alice, bob, "1", "XYZ")
    assert (caught.value.code, caught.value.status) == ("unknown_currency", 404) and not isinstance(caught.value, Refused)
    with pytest.raises(Timeout):  # never submitted: not final within the time given
        client.wait_final("00" * 32, timeout_s=0.2)

    async def refused_async() -> str:
        async with AsyncClient(net.api) as aclient:
            try:
                await aclient.send(await aclient.txs.transfer(bob, alice, "5.00", "USD"))
            except Refused as exc:
                return exc.code
        return "not refused"

    assert asyncio.run(refused_async()) == "insufficient_funds"


def test_events_yield_the_payments_receipt(net: Network) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    client.send(client.txs.mint(usd_issuer(net), alice, "3.00", "USD"))
    start = client.status()["height"] + 1
    payment = client.send(client.txs.transfer(alice, bob, "2.50", "USD", memo="for the stream"))
    seen: list[Any] = []
    for event in client.events(account=bob, from_height=start, idle_timeout_s=20):
        seen.append(event)
        if event.kind == "receipt" and event.tx_hash == payment.hash:
            break
    receipt_event = seen[-1]
    assert receipt_event.height == payment.receipt["height"]
    assert receipt_event.data["sender"] == alice.address_text and receipt_event.data["tx_type"] == "transfer"
    assert receipt_event.data["events"][0]["amount_minor"] == 250
    assert all(e.kind in ("receipt", "block") for e in seen)
    assert all(e.kind == "block" or bob.address_text in str(e.data) for e in seen), "only bob's receipts"

    async def stream() -> tuple[str, list[str]]:
        async with AsyncClient(net.api) as aclient:
            later = await aclient.send(await aclient.txs.transfer(bob, alice, "0.50", "USD"))
            hashes: list[str] = []
            async with aclosing(aclient.events(account=alice, from_height=start, idle_timeout_s=20)) as events:
                async for event in events:
                    if event.kind == "receipt":
                        hashes.append(event.tx_hash)
                    if event.tx_hash == later.hash:
                        break
            return later.hash, hashes

    later_hash, hashes = asyncio.run(stream())
    assert hashes[-1] == later_hash and payment.hash in hashes and len(hashes) == len(set(hashes))


def test_a_receipt_proof_fetched_and_verified_offline(net: Network, tmp_path: Path) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    client.send(client.txs.mint(usd_issuer(net), alice, "20.00", "USD"))
    payment = client.send(client.txs.transfer(alice, bob, "12.50", "USD", memo="invoice 42"))
    verified = client.verify_receipt(payment.hash, genesis_path(net))
    assert verified.height == payment.receipt["height"] and verified.tx_hash.hex() == payment.hash
    assert verified.payments() == [{"from": alice.address_text, "to": bob.address_text, "currency": "USD",
                                    "amount_minor": 1250, "amount": "12.50 USD"}]
    assert verified.signers == ("node0",) and verified.tx.body.memo == "invoice 42"
    # the proof alone, checked with no node
    proof = client.receipt_proof(payment.hash)
    net.node0.terminate()
    try:
        assert verify_receipt(proof, load_genesis(genesis_path(net))).tx_hash.hex() == payment.hash
        receipt = codec.decode(bytes.fromhex(proof["receipt"]["raw"]), 4096)
        receipt["events"][0]["amount_minor"] = 125_000  # 1250.00 USD instead of 12.50
        proof["receipt"]["raw"] = codec.encode(receipt).hex()
        with pytest.raises(VerificationError):
            verify_receipt(proof, load_genesis(genesis_path(net)))
    finally:
        net.node0.start()

    async def verify_async() -> int:
        async with AsyncClient(net.api) as aclient:
            return (await aclient.verify_receipt(payment.hash, str(genesis_path(net)))).height

    assert asyncio.run(verify_async()) == verified.height


def test_swap_and_governance_through_proposals(net: Network) -> None:
    client = Client(net.api)
    alice, bob = generate_key(), generate_key()
    client.send(client.txs.mint(usd_issuer(net), alice, "30.00", "USD"))
    client.send(client.txs.mint(load_key(net.issuers["JPY"].path), bob, "3000", "JPY"))
    proposal = client.txs.swap(alice, bob, "10.00", "USD", "1400", "JPY", expires_in=50)
    assert not proposal.complete
    proposal.sign(bob)
    swapped = client.send(proposal.transaction())
    assert [e["amount_minor"] for e in swapped.receipt["events"]] == [1000, 1400]
    assert client.balances(alice) == {"USD": Decimal("20.00"), "JPY": Decimal("1400")}

    node_key = load_key(net.nodes[0].home / "node_key.json")
    issuer, auditor = generate_key(), generate_key()
    registration = client.txs.gov_register_currency(node_key, "CHF", 2, issuer, auditor, holders_need_authorization=False)
    client.send(registration.transaction())
    assert client.decimals("CHF") == 2
    # the new currency is usable at once: its decimals are read again when the builder does not know them
    attested = client.send(client.txs.attest_reserve(auditor, "chf", "1000.00", report=b"audit"))
    assert attested.receipt["events"][0]["reserve_minor"] == 100_000
    client.send(client.txs.mint(issuer, alice, Minor(5), "CHF"))
    assert client.balance(alice, "CHF") == Decimal("0.05")


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


def test_the_docs_examples_run(net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/sdk.md, in order, in one namespace, against this network."""
    blocks = python_blocks(DOCS.read_text())
    assert len(blocks) >= 8
    monkeypatch.setenv("CORRIDOR_NODE", net.api)
    monkeypatch.setenv("CORRIDOR_NET", str(net.root))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "sdk_docs"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for index, block in enumerate(blocks):
            try:
                exec(compile(block, f"docs/sdk.md block {index + 1}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"docs/sdk.md python block {index + 1} failed: {exc!r}\n{block}") from exc
    text = output.getvalue()
    assert "refused: insufficient_funds 422" in text
    assert "'12.505' has more than the currency's 2 decimal places" in text
    assert "bob was paid in block" in text and "streamed: transfer" in text
    assert "[(True, None), (True, None), (False, 'bad_nonce')]" in text
    assert "2 legs" in text and "'KRW'" in text
    assert "paid" in text and "12.50 USD" in text
    assert (tmp_path / "alice.json").exists() and (tmp_path / "receipt.json").exists()
    assert os.stat(tmp_path / "alice.json").st_mode & 0o077 == 0
