"""The exceptions of the Corridor SDK: one hierarchy, rooted at `CorridorError`.

    CorridorError
    ├── NodeUnreachable          no node answered at the URL (connection refused, reset, socket timeout)
    ├── ApiError                 the node answered with an error: `status`, stable `code`, `message`, `body`
    │   ├── Refused              the node refused a transaction: `code` is one of the chain's refusal codes
    │   └── WaitTimeout          the node's `?wait=commit` gave up (504 `wait_timeout`); also a `Timeout`
    ├── Timeout                  a transaction was not final within the time allowed (`tx_hash`)
    ├── EventStreamOverflow      the events stream fell too far behind and could not be resumed
    └── InvalidInput             something given to the SDK is not valid (also a ValueError)
        ├── AmountError          an amount or price that is not exact in the currency's decimals
        ├── AddressError         text that is not a `cor1...` address
        ├── KeyFileError         a key file that is missing, unreadable or malformed
        └── InvalidTransaction   a field the transaction type does not accept (also a ledger TxError)

Branch on `code` (the node's stable machine code, docs/api.md "Errors"), never on `message`. The
input errors are also instances of the library's own exceptions (`corridor.ledger.amounts.AmountError`,
`corridor.keys.AddressError`, `corridor.keys.KeyFileError`, `corridor.ledger.tx.TxError`), so code that
catches those keeps working.
"""

from __future__ import annotations

from typing import Any

from corridor import keys as _keys
from corridor.ledger import amounts as _amounts
from corridor.ledger import tx as _tx
from corridor.ledger.refusals import Refusal

REFUSAL_CODES: frozenset[str] = frozenset(member.code for member in Refusal)
"""Every refusal code the chain gives a transaction (protocol.md section 7), e.g. `insufficient_funds`."""

CHAIN_REFUSAL_STATUSES: frozenset[int] = frozenset({409, 422, 429, 503})
"""The statuses of refusals of a well-formed transaction (duplicate, a rule, a full sender queue or
mempool); the CLI exits with code 3 for these. Malformed transactions are refused with 400 or 413."""


class CorridorError(Exception):
    """Base class of every exception the SDK raises on purpose."""


class NodeUnreachable(CorridorError):
    """No node answered at the URL (connection refused or reset, a socket timeout, a truncated answer)."""


class ApiError(CorridorError):
    """The node answered with an error: HTTP `status`, the stable `code`, the node's sentence `message` and
    the whole JSON `body` (which may carry `hash`, `status` or `missing` beside `error`)."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.body: dict[str, Any] = body if body is not None else {}

    @property
    def tx_hash(self) -> str | None:
        """The transaction's hash when the node named it (errors of a submitted transaction)."""
        value = self.body.get("hash")
        return value if isinstance(value, str) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class Refused(ApiError):
    """The node refused a transaction, with one of the chain's stable refusal codes (`code`): at
    submission (`bad_nonce`, `insufficient_funds`, `duplicate`, `bad_signature`, ...), or after admission
    (then `dropped` is True: it was dropped from the mempool and will never commit).

    `chain_refusal` is True for the refusals of a well-formed transaction (status 409, 422, 429 or 503),
    False for a malformed one (400 or 413). `missing` lists the validators whose signatures a governance
    transaction lacks (`governance_quorum_missing`)."""

    @property
    def refusal(self) -> Refusal | None:
        """The code as a `corridor.ledger.refusals.Refusal` member."""
        return Refusal[self.code.upper()] if self.code in REFUSAL_CODES else None

    @property
    def chain_refusal(self) -> bool:
        return self.status in CHAIN_REFUSAL_STATUSES

    @property
    def dropped(self) -> bool:
        return self.body.get("status") == "rejected"

    @property
    def missing(self) -> list[dict[str, Any]]:
        return list(self.body.get("missing", []))


class Timeout(CorridorError):
    """A transaction was not final within the time allowed. It may still commit later: look it up with
    `Client.tx(tx_hash)` or wait again with `Client.wait_final`."""

    code = "wait_timeout"

    def __init__(self, message: str, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self._timeout_hash = tx_hash

    @property
    def tx_hash(self) -> str | None:
        return self._timeout_hash


class WaitTimeout(ApiError, Timeout):
    """The node's own wait (`POST /v1/txs?wait=commit`, 30 s) ran out: 504 `wait_timeout`. The transaction
    is admitted and normally still commits."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any] | None = None) -> None:
        ApiError.__init__(self, status, code, message, body)

    @property
    def tx_hash(self) -> str | None:
        return ApiError.tx_hash.fget(self)  # type: ignore[attr-defined]


class EventStreamOverflow(CorridorError):
    """The node ended the events stream because the reader fell 1000 blocks behind, and the stream could
    not be resumed (no block had been seen yet to resume after)."""


class InvalidInput(CorridorError, ValueError):
    """A value given to the SDK is not valid; nothing was sent."""


class AmountError(InvalidInput, _amounts.AmountError):
    """An amount or price that is not exact in the currency's decimals (`12.505` for a 2-decimal currency),
    negative, too large, or not a decimal at all (floats are refused: they are not exact)."""


class AddressError(InvalidInput, _keys.AddressError):
    """Text that is not a valid `cor1...` address (or bytes that are not a 20-byte address)."""


class KeyFileError(InvalidInput, _keys.KeyFileError):
    """A key file that is missing, unreadable or malformed (or that already exists, when saving)."""


class InvalidTransaction(InvalidInput, _tx.TxError):
    """A field the transaction type does not accept; `refusal` is the code the chain would give."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        _tx.TxError.__init__(self, refusal, message)


def error_from_answer(status: int, document: Any, transaction: bool = False, reason: str = "") -> ApiError:
    """The exception for an error answer of the node: `document` is its parsed JSON body (or None when the
    body was not JSON); `transaction` says whether the request submitted or looked after a transaction,
    where a refusal code means the transaction was refused (elsewhere `unknown_currency`, say, is an error
    of the request); `reason` is the HTTP reason phrase, shown when the body is not the node's JSON."""
    try:
        error = document["error"]
        code, message = error["code"], error["message"]
        if not isinstance(code, str) or not isinstance(message, str):
            raise TypeError
    except (KeyError, TypeError, IndexError):
        return ApiError(status, "http_error", f"HTTP {status} {reason}" if reason else f"HTTP {status}", {})
    if code == "wait_timeout":
        return WaitTimeout(status, code, message, document)
    if transaction and code in REFUSAL_CODES:
        return Refused(status, code, message, document)
    return ApiError(status, code, message, document)


def batch_item_error(item: dict[str, Any]) -> ApiError | None:
    """The exception describing one item of a batch answer, None when it was admitted. A batch item has no
    HTTP status of its own; `status` is the one the node gives the same refusal alone."""
    error = item.get("error")
    if not isinstance(error, dict):
        return None
    code, message = str(error.get("code")), str(error.get("message"))
    if code in REFUSAL_CODES:
        return Refused(refusal_status(Refusal[code.upper()]), code, message, dict(item))
    return ApiError(400, code, message, dict(item))


def refusal_status(refusal: Refusal) -> int:
    """The HTTP status the node answers a refusal with (node/api.py `http_status`, docs/api.md)."""
    if refusal in (Refusal.BAD_ENCODING, Refusal.NON_CANONICAL, Refusal.BAD_SIGNATURE, Refusal.BAD_FIELD,
                   Refusal.UNKNOWN_TX_TYPE):
        return 400
    return {Refusal.TOO_LARGE: 413, Refusal.DUPLICATE: 409, Refusal.SENDER_QUEUE_FULL: 429,
            Refusal.MEMPOOL_FULL: 503}.get(refusal, 422)
