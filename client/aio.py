"""The asyncio client of a node's HTTP API (aiohttp): `corridor.client.AsyncClient`.

The same methods as the synchronous `corridor.client.Client`, as coroutines (`await client.status()`),
with `events()` an async iterator (`async for event in client.events()`) and `txs` builders that are
awaited (`await client.txs.transfer(key, to, "12.50", "USD")`). Use it as an async context manager, or
`await client.close()` when done: it keeps one aiohttp session (and its connection pool).
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

import aiohttp

from corridor.client.errors import ApiError, NodeUnreachable, Timeout, WaitTimeout, error_from_answer
from corridor.client.http import (
    DEFAULT_TIMEOUT_S,
    NODE_WAIT_S,
    POLL_INTERVAL_MAX_S,
    POLL_INTERVAL_S,
    _genesis_of,
    _unknown_currency,
)
from corridor.client.keys import AddressLike, address_text
from corridor.client.http import redemptions_path
from corridor.client.http import supply_path
from corridor.client.http import corridors_path
from corridor.client.http import licences_path
from corridor.client.results import Event, EventCursor, SseParser, SubmitResult, balances_of, final_receipt, tx_hash_text
from corridor.client.txs import TX_BUILDERS, Amount, Minor, TxBuilder, UnknownDecimals, bind_builder, to_minor
from corridor.keys import KeyPair
from corridor.ledger.tx import SignedTx

if TYPE_CHECKING:
    from corridor.client.verify import VerifiedBlock, VerifiedReceipt, VerifiedSupply
    from corridor.ledger.genesis import Genesis

__all__ = ["AsyncClient"]


class AsyncClient:
    """Talks to one node from asyncio code; every method of `Client`, awaited.

    `base_url` is the node's API address; `timeout_s` bounds each request. Pass `session` to share an
    aiohttp.ClientSession you own (then `close()` leaves it open); otherwise one is made on first use."""

    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = session
        self._own_session = session is None
        self._chain_id: str | None = None
        self._height: int | None = None
        self._decimals: dict[str, int] | None = None

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the aiohttp session this client made (not one passed in)."""
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._own_session:
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    # transport ----------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = "",
                       timeout_s: float | None = None, raw: bool = False, transaction: bool = False) -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.timeout_s)
        try:
            async with self._http().request(method, self.base_url + path, data=body, headers=headers, timeout=timeout) as response:
                content = await response.read()
                if response.status >= 400:
                    try:
                        document: Any = json.loads(content)
                    except ValueError:
                        document = None
                    raise error_from_answer(response.status, document, transaction, response.reason or "")
                return content if raw else json.loads(content)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
            raise NodeUnreachable(f"no Corridor node answered at {self.base_url} ({exc!r})") from None

    # queries ------------------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """`GET /v1/status`: chain id, height, latest block, consensus, mempool, validators."""
        document = await self._request("GET", "/v1/status")
        self._chain_id, self._height = document["chain_id"], document["height"]
        return document

    async def chain_id(self) -> str:
        """The chain's id (read once, then cached)."""
        if self._chain_id is None:
            await self.status()
        assert self._chain_id is not None
        return self._chain_id

    async def account(self, address: AddressLike) -> dict[str, Any]:
        """`GET /v1/accounts/{address}`: `nonce`, `next_nonce`, `balances` and `holder_status`."""
        return await self._request("GET", f"/v1/accounts/{address if isinstance(address, str) else address_text(address)}")

    async def balances(self, address: AddressLike) -> dict[str, Decimal]:
        """The account's committed balances as exact Decimals in major units, by currency code."""
        return balances_of(await self.account(address))

    async def balance(self, address: AddressLike, currency: str) -> Decimal:
        """One committed balance in major units (0 when the account holds none of `currency`)."""
        return (await self.balances(address)).get(currency.upper(), Decimal(0))

    async def next_nonce(self, address: AddressLike) -> int:
        """The nonce the account's next transaction must carry (counting its pending ones on this node)."""
        return (await self.account(address))["next_nonce"]

    async def tx(self, tx_hash: str | bytes | SignedTx) -> dict[str, Any]:
        """`GET /v1/txs/{hash}`: `status`, the transaction and its receipt (ApiError `unknown_tx`)."""
        return await self._request("GET", f"/v1/txs/{tx_hash_text(tx_hash)}")

    async def block(self, height: int | str = "latest") -> dict[str, Any]:
        """`GET /v1/blocks/{height}`: header, transactions, receipts and commit certificate."""
        return await self._request("GET", f"/v1/blocks/{height}")

    async def block_bundle(self, height: int | str = "latest") -> bytes:
        """The block, its receipts and certificate as canonical bytes (see corridor.client.verify)."""
        return await self._request("GET", f"/v1/blocks/{height}/raw", raw=True)

    async def supply(self, height: int | str = "latest", currency: str | None = None) -> dict[str, Any]:
        """`GET /v1/supply/{height}`: every currency's (or `currency`'s) supply and attested reserve after
        that block, each with its Merkle path to the header's `supply_root`."""
        return await self._request("GET", supply_path(height, currency))

    async def verify_supply(self, height: int | str, genesis: Genesis | str | Path) -> tuple[VerifiedBlock, list[VerifiedSupply]]:
        """Fetch block `height`, check it offline against `genesis` (its certificate, by the validator set
        followed from genesis), then every currency's supply and reserve against that header alone."""
        from corridor.client.verify import follow_validator_set, verify_block_bundle, verify_supply

        known = _genesis_of(genesis)
        number = (await self.status())["height"] if height == "latest" else int(height)
        history = (await self.governance())["history"]
        bundles = {item["height"]: await self.block_bundle(item["height"])
                   for item in history if item["type"] == "gov_set_validator" and item["height"] < number}
        bundles[number] = await self.block_bundle(number)
        entries = follow_validator_set(bundles.__getitem__, history, known, number)
        block = verify_block_bundle(bundles[number], known, entries)
        return block, verify_supply(block.block.header, await self.supply(number))

    async def book(self, base: str, quote: str, depth: int = 20) -> dict[str, Any]:
        """`GET /v1/books/{base}/{quote}`: the order book of a pair, `depth` price levels per side."""
        return await self._request("GET", f"/v1/books/{base}/{quote}?depth={depth}")

    async def offers(self, address: AddressLike) -> list[dict[str, Any]]:
        """An account's resting offers (`GET /v1/accounts/{address}/offers`)."""
        path = f"/v1/accounts/{address if isinstance(address, str) else address_text(address)}/offers"
        return (await self._request("GET", path))["offers"]

    async def validators(self) -> dict[str, Any]:
        """`GET /v1/validators`: the validator set and the changes scheduled for it."""
        return await self._request("GET", "/v1/validators")

    async def governance(self) -> dict[str, Any]:
        """`GET /v1/governance`: `next_nonce` (the governance nonce) and every committed decision."""
        return await self._request("GET", "/v1/governance")

    async def evidence(self) -> list[dict[str, Any]]:
        """Committed evidence of double signing (`GET /v1/evidence`)."""
        return (await self._request("GET", "/v1/evidence"))["evidence"]

    async def sanctions(self) -> list[dict[str, Any]]:
        """The consortium sanctions list (`GET /v1/sanctions`): each listed `account`, its listing's
        `height` and `reason_hash`."""
        return (await self._request("GET", "/v1/sanctions"))["sanctions"]

    async def is_sanctioned(self, address: AddressLike) -> bool:
        """Whether the account is on the consortium sanctions list now (`sanctioned` of `account()`)."""
        return (await self.account(address))["sanctioned"]

    async def corridors(self, currency: str, account: AddressLike | None = None) -> dict[str, Any]:
        """`GET /v1/currencies/{code}/corridors`: the currency's corridor policies; with `account`, its
        `jurisdiction` and what it has paid through each corridor's window."""
        return await self._request("GET", corridors_path(currency, account))

    async def jurisdiction(self, address: AddressLike, currency: str) -> str | None:
        """The jurisdiction `currency`'s issuer recorded for the account (`"US"`, ...), or None."""
        return (await self.account(address)).get("jurisdictions", {}).get(currency.upper())

    async def licences(self, currency: str | None = None, account: AddressLike | None = None) -> dict[str, Any]:
        """`GET /v1/licences`: the licence registry, of one `currency` and/or one `account` when given, each
        licence with its status at `now_ms` (active, expired, revoked)."""
        return await self._request("GET", licences_path(currency, account))

    async def licence(self, address: AddressLike, currency: str, scope: str = "distribute") -> dict[str, Any] | None:
        """The account's licence of `scope` in `currency` as `licences()` shows it, or None when it has none."""
        found = (await self.licences(currency, address))["licences"]
        return next((item for item in found if item["scope"] == scope), None)

    async def redemptions(self, currency: str | None = None, status: str = "open", account: AddressLike | None = None,
                          limit: int | None = None) -> dict[str, Any]:
        """`GET /v1/redemptions`: redemption requests, `status` "open", "overdue" or "all", of one `currency`
        or `account` when given; with `now_ms` (the node's clock, which judges overdue) and `height`."""
        return await self._request("GET", redemptions_path(currency, status, account, limit))

    async def redemption(self, redemption_id: int) -> dict[str, Any]:
        """`GET /v1/redemptions/{id}`: one redemption request, open or closed (ApiError `unknown_redemption`)."""
        return await self._request("GET", f"/v1/redemptions/{int(redemption_id)}")

    async def currencies(self) -> list[dict[str, Any]]:
        """Every registered currency with its decimals, supply, reserve and policy."""
        currencies = (await self._request("GET", "/v1/currencies"))["currencies"]
        self._decimals = {c["code"]: c["decimals"] for c in currencies}
        return currencies

    async def currency(self, code: str) -> dict[str, Any]:
        """One currency of `currencies()`; ApiError `unknown_currency` (404) when the chain has none."""
        for currency in await self.currencies():
            if currency["code"] == code:
                return currency
        raise _unknown_currency(code)

    async def compliance(self, code: str) -> dict[str, Any]:
        """`GET /v1/currencies/{code}`: one currency with its compliance keys and threshold."""
        return await self._request("GET", f"/v1/currencies/{code.upper()}")

    async def decimals(self, code: str) -> int:
        """The decimals of currency `code` (cached; re-read once when not known)."""
        if self._decimals is None or code not in self._decimals:
            await self.currencies()
        assert self._decimals is not None
        if code not in self._decimals:
            raise _unknown_currency(code)
        return self._decimals[code]

    async def to_minor(self, amount: Amount, currency: str) -> int:
        """`amount` in minor units of `currency`, exactly, with the decimals the node reports."""
        return to_minor(amount, 0 if isinstance(amount, Minor) else await self.decimals(currency))

    # receipts -----------------------------------------------------------------------------------------

    async def receipt_proof(self, tx_hash: str | bytes | SignedTx) -> dict[str, Any]:
        """`GET /v1/txs/{hash}/proof`: the offline-verifiable receipt of a committed transaction."""
        return await self._request("GET", f"/v1/txs/{tx_hash_text(tx_hash)}/proof")

    async def verify_receipt(self, tx_hash: str | bytes | SignedTx, genesis: Genesis | str | Path) -> VerifiedReceipt:
        """Fetch the receipt proof and check it offline against `genesis` (a Genesis or a path): the
        VerifiedReceipt, or VerificationError."""
        from corridor.client.verify import verify_receipt

        return verify_receipt(await self.receipt_proof(tx_hash), _genesis_of(genesis))

    # building -----------------------------------------------------------------------------------------

    async def builder(self, refresh_height: bool = False) -> TxBuilder:
        """A TxBuilder for this chain with every currency's decimals and the current height."""
        if self._chain_id is None or self._height is None or refresh_height:
            await self.status()
        if self._decimals is None:
            await self.currencies()
        assert self._chain_id is not None
        return TxBuilder(self._chain_id, self._decimals, self._height)

    @property
    def txs(self) -> AsyncBoundTxs:
        """Every TxBuilder method as a coroutine, with chain id, decimals, height and nonce read from the
        node: `await client.txs.transfer(key, to, "12.50", "USD")`."""
        return AsyncBoundTxs(self)

    async def prepare(self, key: KeyPair, type_name: str, fields: dict[str, Any]) -> SignedTx:
        """Build and sign a transaction of `type_name` from raw `fields` (minor units), chain id and next
        nonce filled in."""
        chain_id = (await self.status())["chain_id"]
        nonce = await self.next_nonce(key.address_text)
        return TxBuilder(chain_id).build(key, type_name, fields, nonce=nonce)

    # submitting ---------------------------------------------------------------------------------------

    async def submit(self, tx: SignedTx, wait: bool = False, timeout_s: float = 60.0) -> SubmitResult:
        """Submit one transaction (see Client.submit); raises Refused with the chain's refusal code."""
        path = "/v1/txs?wait=commit" if wait else "/v1/txs"
        return SubmitResult(await self._request("POST", path, tx.raw, "application/msgpack", timeout_s if wait else None,
                                                transaction=True))

    async def submit_batch(self, txs: list[SignedTx]) -> list[SubmitResult]:
        """Submit up to 1000 transactions in one request; one SubmitResult per transaction, in order."""
        body = json.dumps({"txs": [tx.raw.hex() for tx in txs]}).encode()
        results = (await self._request("POST", "/v1/txs", body, "application/json", transaction=True))["results"]
        return [SubmitResult(item) for item in results]

    async def wait_final(self, tx_hash: str | bytes | SignedTx, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until the transaction is final and return its receipt; Refused if dropped, Timeout after
        `timeout_s`."""
        hash_text = tx_hash_text(tx_hash)
        deadline = time.monotonic() + timeout_s
        interval = POLL_INTERVAL_S
        while True:
            try:
                document: dict[str, Any] | None = await self.tx(hash_text)
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
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, POLL_INTERVAL_MAX_S)

    async def send(self, tx: SignedTx, wait: bool = True, timeout_s: float = 60.0) -> SubmitResult:
        """Submit `tx` and, with `wait`, return once it is final (see Client.send)."""
        if not wait:
            return await self.submit(tx)
        deadline = time.monotonic() + timeout_s
        if timeout_s > NODE_WAIT_S + 1:
            try:
                return await self.submit(tx, wait=True, timeout_s=NODE_WAIT_S + 5)
            except WaitTimeout:
                pass
        else:
            await self.submit(tx)
        receipt = await self.wait_final(tx, max(0.0, deadline - time.monotonic()))
        return SubmitResult({"hash": tx.hash.hex(), "status": "committed", "receipt": receipt})

    # events -------------------------------------------------------------------------------------------

    async def events(self, account: AddressLike | None = None, from_height: int | None = None,
                     idle_timeout_s: float = 60.0) -> AsyncIterator[Event]:
        """Committed receipts and blocks as they commit, as an async iterator of Event (see
        Client.events). Close it with `contextlib.aclosing` to end the stream at once."""
        cursor = EventCursor(account, from_height)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=idle_timeout_s)
        while True:
            try:
                async with self._http().get(self.base_url + cursor.path(), timeout=timeout,
                                            headers={"Accept": "text/event-stream"}) as response:
                    if response.status >= 400:
                        try:
                            document: Any = json.loads(await response.read())
                        except ValueError:
                            document = None
                        raise error_from_answer(response.status, document, False, response.reason or "")
                    parser, resume = SseParser(), False
                    while not resume:
                        line = await response.content.readline()
                        if not line:
                            raise NodeUnreachable(f"the node at {self.base_url} closed the events stream")
                        event = parser.feed(line.decode())
                        if event is None:
                            continue
                        if cursor.overflowed(event):
                            resume = True
                        elif cursor.admit(event):
                            yield event
            except asyncio.TimeoutError:
                raise NodeUnreachable(f"the events stream of {self.base_url} sent nothing for {idle_timeout_s:g} s") from None
            except (aiohttp.ClientError, OSError) as exc:
                raise NodeUnreachable(f"no Corridor node answered at {self.base_url} ({exc!r})") from None


class AsyncBoundTxs:
    """`client.txs` of an AsyncClient: the TxBuilder methods as coroutines, with the chain id, decimals,
    height and nonce read from the node; `nonce=` may still be given."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _call(self, name: str, key: KeyPair, *args: Any, nonce: int | None = None, **kwargs: Any) -> Any:
        nonce_kind, needs_height = TX_BUILDERS[name]
        client = self._client
        builder = await client.builder(refresh_height=needs_height)
        if nonce is None:
            nonce = (await client.governance())["next_nonce"] if nonce_kind == "governance" else await client.next_nonce(key.address_text)
        try:
            return getattr(builder, name)(key, *args, nonce=nonce, **kwargs)
        except UnknownDecimals as exc:
            await client.currencies()
            if client._decimals is None or exc.currency not in client._decimals:
                raise _unknown_currency(exc.currency) from None
            return getattr(await client.builder(), name)(key, *args, nonce=nonce, **kwargs)


for _name in TX_BUILDERS:
    setattr(AsyncBoundTxs, _name, bind_builder(_name, AsyncBoundTxs._call))
del _name
