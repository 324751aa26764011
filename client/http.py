"""The synchronous client of a node's HTTP API (standard library only): `corridor.client.Client`.

The CLI, the devnet and the tests talk to nodes through it; `corridor.client.AsyncClient` has the same
methods for asyncio code. Every answer is the node's JSON document as docs/api.md describes it, except
where a method says otherwise; every error is a `corridor.client.errors.CorridorError`.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from corridor.client.errors import ApiError, NodeUnreachable, Timeout, WaitTimeout, error_from_answer
from corridor.client.keys import AddressLike, address_text
from corridor.client.results import (
    Event,
    EventCursor,
    SseParser,
    SubmitResult,
    balances_of,
    final_receipt,
    tx_hash_text,
)
from corridor.client.txs import TX_BUILDERS, Amount, TxBuilder, UnknownDecimals, bind_builder
from corridor.keys import KeyPair
from corridor.ledger.tx import SignedTx

if TYPE_CHECKING:
    from corridor.client.verify import VerifiedBlock, VerifiedReceipt, VerifiedSupply
    from corridor.ledger.genesis import Genesis

__all__ = ["ApiError", "Client", "NodeUnreachable", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 10.0
NODE_WAIT_S = 30.0  # the node's own limit for ?wait=commit (docs/api.md, Limits)
POLL_INTERVAL_S = 0.02
POLL_INTERVAL_MAX_S = 0.5


def _unknown_currency(code: str) -> ApiError:
    return ApiError(404, "unknown_currency", f"The chain has no currency {code}.", {})


def redemptions_path(currency: str | None, status: str, account: AddressLike | None, limit: int | None) -> str:
    """The path and query of a `GET /v1/redemptions` (both clients)."""
    from urllib.parse import urlencode

    query: dict[str, Any] = {"status": status}
    if currency is not None:
        query["currency"] = currency.upper()
    if account is not None:
        query["account"] = account if isinstance(account, str) else address_text(account)
    if limit is not None:
        query["limit"] = limit
    return "/v1/redemptions?" + urlencode(query)


def corridors_path(currency: str, account: AddressLike | None) -> str:
    """The path and query of a `GET /v1/currencies/{code}/corridors` (both clients)."""
    from urllib.parse import quote

    path = f"/v1/currencies/{quote(currency.upper(), safe='')}/corridors"
    if account is None:
        return path
    return path + "?account=" + (account if isinstance(account, str) else address_text(account))


def licences_path(currency: str | None, account: AddressLike | None) -> str:
    """The path and query of a `GET /v1/licences` (both clients)."""
    from urllib.parse import urlencode

    query: dict[str, Any] = {}
    if currency is not None:
        query["currency"] = currency.upper()
    if account is not None:
        query["account"] = account if isinstance(account, str) else address_text(account)
    return "/v1/licences" + (f"?{urlencode(query)}" if query else "")


def supply_path(height: int | str, currency: str | None) -> str:
    return f"/v1/supply/{height}" + (f"?currency={currency.upper()}" if currency else "")


def _genesis_of(genesis: Genesis | str | Path) -> Genesis:
    from corridor.ledger.genesis import Genesis, load_genesis

    return genesis if isinstance(genesis, Genesis) else load_genesis(Path(genesis))


class Client:
    """Talks to one node: queries, transaction building, submission, finality, events and receipts.

    `base_url` is the node's API address (`http://127.0.0.1:26650`); `timeout_s` bounds each request
    (waiting for finality has its own `timeout_s`). A Client holds no connection; it caches only the
    chain id and the currencies' decimals, which never change. Safe to share between threads."""

    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._chain_id: str | None = None
        self._height: int | None = None
        self._decimals: dict[str, int] | None = None

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (each request opens its own connection); for symmetry with AsyncClient."""

    # transport ----------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = "",
                 timeout_s: float | None = None, raw: bool = False, transaction: bool = False) -> Any:
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                content = response.read()
                return content if raw else json.loads(content)
        except urllib.error.HTTPError as exc:
            try:
                document: Any = json.loads(exc.read())
            except (ValueError, OSError):
                document = None
            raise error_from_answer(exc.code, document, transaction, str(exc.reason)) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeUnreachable(f"no Corridor node answered at {self.base_url} ({reason})") from None

    # queries ------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """`GET /v1/status`: chain id, height, latest block, consensus, mempool, validators."""
        document = self._request("GET", "/v1/status")
        self._chain_id, self._height = document["chain_id"], document["height"]
        return document

    def chain_id(self) -> str:
        """The chain's id (read once, then cached)."""
        if self._chain_id is None:
            self.status()
        assert self._chain_id is not None
        return self._chain_id

    def account(self, address: AddressLike) -> dict[str, Any]:
        """`GET /v1/accounts/{address}`: `nonce`, `next_nonce`, `balances` (minor and major units) and
        `holder_status`. `address` is `cor1...` text (sent as given), 20 bytes or a KeyPair."""
        return self._request("GET", f"/v1/accounts/{address if isinstance(address, str) else address_text(address)}")

    def balances(self, address: AddressLike) -> dict[str, Decimal]:
        """The account's committed balances as exact Decimals in major units, by currency code."""
        return balances_of(self.account(address))

    def balance(self, address: AddressLike, currency: str) -> Decimal:
        """One committed balance in major units (0 when the account holds none of `currency`)."""
        return self.balances(address).get(currency.upper(), Decimal(0))

    def next_nonce(self, address: AddressLike) -> int:
        """The nonce the account's next transaction must carry (counting its transactions pending on
        this node)."""
        return self.account(address)["next_nonce"]

    def tx(self, tx_hash: str | bytes | SignedTx) -> dict[str, Any]:
        """`GET /v1/txs/{hash}`: `status` (committed, pending, rejected), the transaction and its receipt;
        an unknown hash raises ApiError `unknown_tx`."""
        return self._request("GET", f"/v1/txs/{tx_hash_text(tx_hash)}")

    def block(self, height: int | str = "latest") -> dict[str, Any]:
        """`GET /v1/blocks/{height}`: header, transactions, receipts and commit certificate."""
        return self._request("GET", f"/v1/blocks/{height}")

    def block_bundle(self, height: int | str = "latest") -> bytes:
        """The block, its receipts and certificate as canonical bytes (see corridor.client.verify)."""
        return self._request("GET", f"/v1/blocks/{height}/raw", raw=True)

    def supply(self, height: int | str = "latest", currency: str | None = None) -> dict[str, Any]:
        """`GET /v1/supply/{height}`: every currency's (or `currency`'s) supply and attested reserve after
        that block, each with its Merkle path to the header's `supply_root` (check it with
        `corridor.client.verify.verify_supply`, or all at once with `verify_supply`)."""
        return self._request("GET", supply_path(height, currency))

    def verify_supply(self, height: int | str, genesis: Genesis | str | Path) -> tuple[VerifiedBlock, list[VerifiedSupply]]:
        """Fetch block `height` and check it offline against `genesis` as `corridor verify-block` does (its
        certificate, by the validator set followed from genesis), then check every currency's supply and
        reserve against that header alone. Raises VerificationError."""
        from corridor.client.verify import follow_validator_set, verify_block_bundle, verify_supply

        known = _genesis_of(genesis)
        number = self.status()["height"] if height == "latest" else int(height)
        block = verify_block_bundle(self.block_bundle(number), known,
                                    follow_validator_set(self.block_bundle, self.governance()["history"], known, number))
        return block, verify_supply(block.block.header, self.supply(number))

    def book(self, base: str, quote: str, depth: int = 20) -> dict[str, Any]:
        """`GET /v1/books/{base}/{quote}`: the order book of a pair, `depth` price levels per side."""
        return self._request("GET", f"/v1/books/{base}/{quote}?depth={depth}")

    def offers(self, address: AddressLike) -> list[dict[str, Any]]:
        """An account's resting offers (`GET /v1/accounts/{address}/offers`)."""
        return self._request("GET", f"/v1/accounts/{address if isinstance(address, str) else address_text(address)}/offers")["offers"]

    def validators(self) -> dict[str, Any]:
        """`GET /v1/validators`: the validator set and the changes scheduled for it."""
        return self._request("GET", "/v1/validators")

    def governance(self) -> dict[str, Any]:
        """`GET /v1/governance`: `next_nonce` (the governance nonce) and every committed decision."""
        return self._request("GET", "/v1/governance")

    def evidence(self) -> list[dict[str, Any]]:
        """Committed evidence of double signing (`GET /v1/evidence`)."""
        return self._request("GET", "/v1/evidence")["evidence"]

    def sanctions(self) -> list[dict[str, Any]]:
        """The consortium sanctions list (`GET /v1/sanctions`): each listed `account` (cor1...), the `height`
        its listing committed at and the `reason_hash` of the order behind it."""
        return self._request("GET", "/v1/sanctions")["sanctions"]

    def is_sanctioned(self, address: AddressLike) -> bool:
        """Whether the account is on the consortium sanctions list now (`sanctioned` of `account()`)."""
        return self.account(address)["sanctioned"]

    def corridors(self, currency: str, account: AddressLike | None = None) -> dict[str, Any]:
        """`GET /v1/currencies/{code}/corridors`: the currency's corridor policies (`corridors`: the
        jurisdictions, travel-rule threshold, payment and window maxima); with `account`, that account's
        `jurisdiction` in the currency and, per corridor with a window, what it has paid through it
        (`account_window`: used and remaining, judged at `now_ms`)."""
        return self._request("GET", corridors_path(currency, account))

    def jurisdiction(self, address: AddressLike, currency: str) -> str | None:
        """The jurisdiction `currency`'s issuer recorded for the account (`"US"`, ...), or None."""
        return self.account(address).get("jurisdictions", {}).get(currency.upper())

    def licences(self, currency: str | None = None, account: AddressLike | None = None) -> dict[str, Any]:
        """`GET /v1/licences`: the licence registry, of one `currency` and/or one `account` when given. Each
        licence has its `scope`, `jurisdiction`, `expires_at_ms` (0: none) and `status` at `now_ms` (active,
        expired, revoked, with the revocation's `reason_hash`); with `currency`, the scopes it requires
        (`licences_required`)."""
        return self._request("GET", licences_path(currency, account))

    def licence(self, address: AddressLike, currency: str, scope: str = "distribute") -> dict[str, Any] | None:
        """The account's licence of `scope` in `currency` as `licences()` shows it, or None when it has none."""
        found = self.licences(currency, address)["licences"]
        return next((item for item in found if item["scope"] == scope), None)

    def redemptions(self, currency: str | None = None, status: str = "open", account: AddressLike | None = None,
                    limit: int | None = None) -> dict[str, Any]:
        """`GET /v1/redemptions`: redemption requests, `status` "open" (not yet acted on, overdue ones
        included), "overdue" (open and past their deadline) or "all", of one `currency` or `account` when
        given. The answer has `now_ms` (the node's clock, which judges overdue), `height` and `redemptions`."""
        return self._request("GET", redemptions_path(currency, status, account, limit))

    def redemption(self, redemption_id: int) -> dict[str, Any]:
        """`GET /v1/redemptions/{id}`: one redemption request, open or closed (ApiError `unknown_redemption`)."""
        return self._request("GET", f"/v1/redemptions/{int(redemption_id)}")

    def currencies(self) -> list[dict[str, Any]]:
        """Every registered currency with its decimals, supply, reserve and policy (`GET /v1/currencies`)."""
        currencies = self._request("GET", "/v1/currencies")["currencies"]
        self._decimals = {c["code"]: c["decimals"] for c in currencies}
        return currencies

    def currency(self, code: str) -> dict[str, Any]:
        """One currency of `currencies()`; ApiError `unknown_currency` (404) when the chain has none."""
        for currency in self.currencies():
            if currency["code"] == code:
                return currency
        raise _unknown_currency(code)

    def compliance(self, code: str) -> dict[str, Any]:
        """`GET /v1/currencies/{code}`: one currency with its `compliance_keys` (hex), their addresses and the
        `compliance_threshold` of approvals each freeze, clawback and forced burn needs (docs/compliance.md
        section 5); ApiError `unknown_currency` (404)."""
        return self._request("GET", f"/v1/currencies/{code.upper()}")

    def decimals(self, code: str) -> int:
        """The decimals of currency `code` (cached; re-read once when not known)."""
        if self._decimals is None or code not in self._decimals:
            self.currencies()
        assert self._decimals is not None
        if code not in self._decimals:
            raise _unknown_currency(code)
        return self._decimals[code]

    def to_minor(self, amount: Amount, currency: str) -> int:
        """`amount` (major units: "12.50", a Decimal; or Minor) in minor units of `currency`, exactly, with
        the decimals the node reports; AmountError rather than any rounding."""
        from corridor.client.txs import Minor, to_minor

        return to_minor(amount, 0 if isinstance(amount, Minor) else self.decimals(currency))

    # receipts -----------------------------------------------------------------------------------------

    def receipt_proof(self, tx_hash: str | bytes | SignedTx) -> dict[str, Any]:
        """`GET /v1/txs/{hash}/proof`: the offline-verifiable receipt of a committed transaction (save it as
        JSON; `corridor verify-receipt` checks it). ApiError `not_committed` while it is pending."""
        return self._request("GET", f"/v1/txs/{tx_hash_text(tx_hash)}/proof")

    def verify_receipt(self, tx_hash: str | bytes | SignedTx, genesis: Genesis | str | Path) -> VerifiedReceipt:
        """Fetch the receipt proof of a committed transaction and check it offline against `genesis` (a
        Genesis or the path of genesis.json), trusting nothing the node says: returns the VerifiedReceipt
        (height, signers, `payments()`, `summary()`), or raises VerificationError."""
        from corridor.client.verify import verify_receipt

        return verify_receipt(self.receipt_proof(tx_hash), _genesis_of(genesis))

    # building -----------------------------------------------------------------------------------------

    def builder(self, refresh_height: bool = False) -> TxBuilder:
        """A TxBuilder for this chain with every currency's decimals and the current height (re-read from
        the node when `refresh_height`, or not known yet)."""
        if self._chain_id is None or self._height is None or refresh_height:
            self.status()
        if self._decimals is None:
            self.currencies()
        assert self._chain_id is not None
        return TxBuilder(self._chain_id, self._decimals, self._height)

    @property
    def txs(self) -> BoundTxs:
        """Every transaction builder of TxBuilder, with the chain id, decimals, height and the signer's
        next nonce read from the node: `client.txs.transfer(key, to, "12.50", "USD")`."""
        return BoundTxs(self)

    def prepare(self, key: KeyPair, type_name: str, fields: dict[str, Any]) -> SignedTx:
        """Build and sign a transaction of `type_name` from `key`, with raw `fields` (minor units, bytes),
        with the chain id and next nonce filled in (`client.txs` takes human amounts)."""
        chain_id = self.status()["chain_id"]
        nonce = self.next_nonce(key.address_text)
        return TxBuilder(chain_id).build(key, type_name, fields, nonce=nonce)

    # submitting ---------------------------------------------------------------------------------------

    def submit(self, tx: SignedTx, wait: bool = False, timeout_s: float = 60.0) -> SubmitResult:
        """Submit one transaction: `{"hash"}` once admitted. With `wait`, the node answers once it is final
        (`{"hash", "status": "committed", "receipt"}`); `timeout_s` bounds the request, and the node gives
        up after 30 s (WaitTimeout). Raises Refused (with the refusal code) if the chain refuses it."""
        path = "/v1/txs?wait=commit" if wait else "/v1/txs"
        return SubmitResult(self._request("POST", path, tx.raw, "application/msgpack", timeout_s if wait else None,
                                          transaction=True))

    def submit_batch(self, txs: list[SignedTx]) -> list[SubmitResult]:
        """Submit up to 1000 transactions in one request, admitted in order (a sender's nonces n, n+1, ...
        may share a batch). One result per transaction, in order: `ok` and `hash`, or `error` (a Refused
        with its code) for the items the node refused; refused items raise nothing."""
        body = json.dumps({"txs": [tx.raw.hex() for tx in txs]}).encode()
        results = self._request("POST", "/v1/txs", body, "application/json", transaction=True)["results"]
        return [SubmitResult(item) for item in results]

    def wait_final(self, tx_hash: str | bytes | SignedTx, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until a submitted transaction is final and return its receipt (`tx_hash`, `height`,
        `index`, `code`, `events`). Raises Refused (`dropped` True) if the node dropped it, Timeout if it is
        not final within `timeout_s` (it may still commit)."""
        hash_text = tx_hash_text(tx_hash)
        deadline = time.monotonic() + timeout_s
        interval = POLL_INTERVAL_S
        while True:
            try:
                document: dict[str, Any] | None = self.tx(hash_text)
            except ApiError as exc:
                if exc.code != "unknown_tx":
                    raise
                document = None
            receipt = final_receipt(hash_text, document)
            if receipt is not None:
                return receipt
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state = "unknown to the node" if document is None else document.get("status", "pending")
                raise Timeout(f"transaction {hash_text} is not final after {timeout_s:g} s ({state})", hash_text)
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, POLL_INTERVAL_MAX_S)

    def send(self, tx: SignedTx, wait: bool = True, timeout_s: float = 60.0) -> SubmitResult:
        """Submit `tx` and, with `wait`, return only once it is final: `{"hash", "status": "committed",
        "receipt"}`. Raises Refused with the chain's code if it is refused (at submission or later) and
        Timeout if it is not final within `timeout_s`."""
        if not wait:
            return self.submit(tx)
        deadline = time.monotonic() + timeout_s
        if timeout_s > NODE_WAIT_S + 1:
            try:
                return self.submit(tx, wait=True, timeout_s=NODE_WAIT_S + 5)
            except WaitTimeout:
                pass  # admitted, not final after the node's 30 s: keep waiting on our own deadline
        else:
            self.submit(tx)
        receipt = self.wait_final(tx, max(0.0, deadline - time.monotonic()))
        return SubmitResult({"hash": tx.hash.hex(), "status": "committed", "receipt": receipt})

    # events -------------------------------------------------------------------------------------------

    def events(self, account: AddressLike | None = None, from_height: int | None = None,
               idle_timeout_s: float = 60.0) -> Iterator[Event]:
        """Committed receipts and blocks as they commit (`GET /v1/events`), forever: a generator of Event
        ("receipt" and "block"). `account` keeps only the receipts touching that account; `from_height`
        first replays committed blocks from that height. If the node ends the stream because the reader
        fell behind, it is reopened after the last block seen, without repeating a receipt. Raises
        NodeUnreachable if the node goes away or sends nothing (not even its 15 s keep-alive) for
        `idle_timeout_s`. Stop by leaving the loop (or `close()` the generator)."""
        cursor = EventCursor(account, from_height)
        while True:
            request = urllib.request.Request(self.base_url + cursor.path(), headers={"Accept": "text/event-stream"})
            try:
                response = urllib.request.urlopen(request, timeout=idle_timeout_s)
            except urllib.error.HTTPError as exc:
                try:
                    document: Any = json.loads(exc.read())
                except (ValueError, OSError):
                    document = None
                raise error_from_answer(exc.code, document, False, str(exc.reason)) from None
            except (urllib.error.URLError, OSError) as exc:
                raise NodeUnreachable(f"no Corridor node answered at {self.base_url} ({getattr(exc, 'reason', exc)})") from None
            parser, resume = SseParser(), False
            try:
                while not resume:
                    try:
                        line = response.readline()
                    except (socket.timeout, TimeoutError):
                        raise NodeUnreachable(f"the events stream of {self.base_url} sent nothing for {idle_timeout_s:g} s") from None
                    except (OSError, http.client.HTTPException) as exc:
                        raise NodeUnreachable(f"the events stream of {self.base_url} broke ({exc!r})") from None
                    if not line:
                        raise NodeUnreachable(f"the node at {self.base_url} closed the events stream")
                    event = parser.feed(line.decode())
                    if event is None:
                        continue
                    if cursor.overflowed(event):
                        resume = True
                    elif cursor.admit(event):
                        yield event
            finally:
                response.close()


class BoundTxs:
    """`client.txs`: the TxBuilder methods (transfer, mint, swap, gov_register_currency, ...), each with
    the chain id, decimals, height and nonce read from the node; `nonce=` may still be given."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _call(self, name: str, key: KeyPair, *args: Any, nonce: int | None = None, **kwargs: Any) -> Any:
        nonce_kind, needs_height = TX_BUILDERS[name]
        client = self._client
        builder = client.builder(refresh_height=needs_height)
        if nonce is None:
            nonce = client.governance()["next_nonce"] if nonce_kind == "governance" else client.next_nonce(key.address_text)
        try:
            return getattr(builder, name)(key, *args, nonce=nonce, **kwargs)
        except UnknownDecimals as exc:  # a currency registered since the decimals were read, or none at all
            client.currencies()
            if client._decimals is None or exc.currency not in client._decimals:
                raise _unknown_currency(exc.currency) from None
            return getattr(client.builder(), name)(key, *args, nonce=nonce, **kwargs)


for _name in TX_BUILDERS:
    setattr(BoundTxs, _name, bind_builder(_name, BoundTxs._call))
del _name
