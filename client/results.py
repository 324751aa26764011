"""What the clients return besides the node's plain JSON documents: submission results and stream events,
and the pieces both clients (sync and async) share to read them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from corridor.client.errors import ApiError, EventStreamOverflow, Refused, batch_item_error, refusal_status
from corridor.client.keys import AddressLike, address_text
from corridor.ledger.refusals import Refusal
from corridor.ledger.tx import SignedTx

__all__ = ["Event", "SubmitResult"]


class SubmitResult(dict):
    """The node's answer for one submitted transaction, as the exact JSON object of docs/api.md (a dict:
    `{"hash"}` when admitted, `{"hash", "status": "committed", "receipt"}` when final, and for a batch item
    that was refused `{"hash", "error": {"code", "message"}}`), with typed accessors."""

    @property
    def hash(self) -> str | None:  # type: ignore[override]
        """The transaction hash (hex); None for a batch item that was not even a transaction."""
        return self.get("hash")

    @property
    def ok(self) -> bool:
        """True when the transaction was admitted (or is final)."""
        return "error" not in self

    @property
    def error(self) -> ApiError | None:
        """For a refused batch item, the exception describing it (a `Refused` with the refusal code)."""
        return batch_item_error(self)

    @property
    def final(self) -> bool:
        """True when the answer carries the receipt of a committed transaction."""
        return self.get("status") == "committed" and "receipt" in self

    @property
    def receipt(self) -> dict[str, Any] | None:
        """The receipt (`tx_hash`, `height`, `index`, `code`, `events`) of a final transaction, else None."""
        return self.get("receipt")

    def raise_for_error(self) -> SubmitResult:
        """Raise the item's error (Refused or ApiError) if it was refused; else return the result."""
        error = self.error
        if error is not None:
            raise error
        return self


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event of `GET /v1/events`: `kind` is "receipt" (one committed transaction: `data`
    has the receipt's `tx_hash`, `height`, `index`, `code`, `events`, plus `tx_type` and `sender`) or
    "block" (`height`, `hash`, `time_ms`, `tx_count`)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int | None:
        """The block height the event belongs to."""
        return self.data.get("height")

    @property
    def tx_hash(self) -> str | None:
        """A receipt's transaction hash (None for a block)."""
        return self.data.get("tx_hash")


def tx_hash_text(tx_hash: str | bytes | SignedTx) -> str:
    """A transaction hash as the API takes it: lower-case hex, from hex text, 32 bytes or a SignedTx."""
    if isinstance(tx_hash, SignedTx):
        return tx_hash.hash.hex()
    if isinstance(tx_hash, (bytes, bytearray)):
        return bytes(tx_hash).hex()
    return str(tx_hash).lower()


def final_receipt(tx_hash: str, document: dict[str, Any] | None) -> dict[str, Any] | None:
    """From a `GET /v1/txs/{hash}` answer (None: unknown), the receipt when it is committed, None while it
    is pending or unknown; raises Refused when the node dropped it (`"status": "rejected"`)."""
    if document is None:
        return None
    status = document.get("status")
    if status == "committed":
        return document["receipt"]
    if status == "rejected":
        error = document.get("error") or {}
        code, message = str(error.get("code", "rejected")), str(error.get("message", "The transaction was dropped."))
        status_code = refusal_status(Refusal[code.upper()]) if code.upper() in Refusal.__members__ else 422
        raise Refused(status_code, code, message, {"hash": tx_hash, **document})
    return None


def balances_of(account: dict[str, Any]) -> dict[str, Decimal]:
    """An account document's balances as exact Decimals in major units, by currency code."""
    return {code: Decimal(entry["amount"]) for code, entry in account["balances"].items()}


def events_path(account: AddressLike | None, from_height: int | None) -> str:
    query: dict[str, Any] = {}
    if account is not None:
        query["account"] = address_text(account)
    if from_height is not None:
        query["from_height"] = int(from_height)
    return "/v1/events" + (f"?{urlencode(query)}" if query else "")


class SseParser:
    """Server-sent events, line by line (the node sends `event:` and one `data:` line per event, `:`
    comments as keep-alives, and a blank line after each)."""

    def __init__(self) -> None:
        self._kind: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        """Read one line; the event it completes, if any."""
        line = line.rstrip("\r\n")
        if not line:
            if self._kind is None and not self._data:
                return None
            kind, data = self._kind or "message", "\n".join(self._data)
            self._kind, self._data = None, []
            return Event(kind, json.loads(data) if data else {})
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._kind = value
        elif name == "data":
            self._data.append(value)
        return None


class EventCursor:
    """Where an events stream is, so that it can be resumed after the node ends it on `overflow`: the
    next block to ask for, and the receipts of the current block already handed out."""

    def __init__(self, account: AddressLike | None, from_height: int | None) -> None:
        self.account = address_text(account) if account is not None else None
        self.next_height = from_height
        self._partial: set[tuple[int, int]] = set()

    def path(self) -> str:
        return events_path(self.account, self.next_height)

    def admit(self, event: Event) -> bool:
        """Whether to hand `event` out (False for a receipt already handed out before a resume); raises
        EventStreamOverflow on an overflow that cannot be resumed. Call `overflowed` first."""
        if event.kind == "block":
            self.next_height = int(event.data["height"]) + 1
            self._partial.clear()
            return True
        if event.kind == "receipt":
            key = (int(event.data.get("height", -1)), int(event.data.get("index", -1)))
            if key in self._partial:
                return False
            self._partial.add(key)
        return True

    def overflowed(self, event: Event) -> bool:
        """True when `event` is the node's overflow notice and the stream should be reopened at
        `next_height`; raises EventStreamOverflow when there is nothing to resume after."""
        if event.kind != "overflow":
            return False
        if self.next_height is None:
            raise EventStreamOverflow("the node ended the events stream (the reader fell 1000 blocks behind) before "
                                      "any block was seen; reopen it with from_height=")
        return True
