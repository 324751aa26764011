"""A small synchronous client of a node's HTTP API (standard library only), used by the CLI and tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from corridor.keys import KeyPair
from corridor.ledger.tx import SignedTx, TxBody, build_body, sign_tx

DEFAULT_TIMEOUT_S = 10.0


class ApiError(Exception):
    """The node answered with an error: `status`, the stable `code` and the node's sentence."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.body = status, code, message, body


class NodeUnreachable(Exception):
    """No node answered at the URL."""


class Client:
    """Talks to one node: queries and transaction submission."""

    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = "", timeout_s: float | None = None, raw: bool = False) -> Any:
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                content = response.read()
                return content if raw else json.loads(content)
        except urllib.error.HTTPError as exc:
            try:
                document = json.loads(exc.read())
                error = document["error"]
                raise ApiError(exc.code, error["code"], error["message"], document) from None
            except (ValueError, KeyError, TypeError):
                raise ApiError(exc.code, "http_error", f"HTTP {exc.code} {exc.reason}", {}) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeUnreachable(f"no Corridor node answered at {self.base_url} ({reason})") from None

    def status(self) -> dict[str, Any]:
        return self._request("GET", "/v1/status")

    def account(self, address: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/accounts/{address}")

    def tx(self, tx_hash: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/txs/{tx_hash}")

    def block(self, height: int | str = "latest") -> dict[str, Any]:
        return self._request("GET", f"/v1/blocks/{height}")

    def block_bundle(self, height: int | str = "latest") -> bytes:
        """The block, its receipts and certificate as canonical bytes (see corridor.client.verify)."""
        return self._request("GET", f"/v1/blocks/{height}/raw", raw=True)

    def book(self, base: str, quote: str, depth: int = 20) -> dict[str, Any]:
        return self._request("GET", f"/v1/books/{base}/{quote}?depth={depth}")

    def offers(self, address: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/v1/accounts/{address}/offers")["offers"]

    def validators(self) -> dict[str, Any]:
        return self._request("GET", "/v1/validators")

    def governance(self) -> dict[str, Any]:
        return self._request("GET", "/v1/governance")

    def evidence(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/evidence")["evidence"]

    def currencies(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/currencies")["currencies"]

    def currency(self, code: str) -> dict[str, Any]:
        for currency in self.currencies():
            if currency["code"] == code:
                return currency
        raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.", {})

    def submit(self, tx: SignedTx, wait: bool = False, timeout_s: float = 60.0) -> dict[str, Any]:
        """Submit one transaction; with `wait`, return only once it is final (receipt) or raise if refused."""
        path = "/v1/txs?wait=commit" if wait else "/v1/txs"
        return self._request("POST", path, tx.raw, "application/msgpack", timeout_s if wait else None)

    def submit_batch(self, txs: list[SignedTx]) -> list[dict[str, Any]]:
        """Submit several transactions in one request; one result (hash or error) per transaction."""
        body = json.dumps({"txs": [tx.raw.hex() for tx in txs]}).encode()
        return self._request("POST", "/v1/txs", body, "application/json")["results"]

    def prepare(self, key: KeyPair, type_name: str, fields: dict[str, Any]) -> SignedTx:
        """Build and sign a transaction of `type_name` from `key`, with the chain id and next nonce filled in."""
        chain_id = self.status()["chain_id"]
        nonce = self.account(key.address_text)["next_nonce"]
        body: TxBody = build_body(type_name, {"signer": key.public_key, "nonce": nonce, **fields})
        return sign_tx(body, [key], chain_id)
