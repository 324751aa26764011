"""The state interface the rules run on: typed reads and buffered writes over a key-value reader.

`State` is an overlay. Reads fall through to its base (the LevelDB store, a parent overlay or a dict in
tests); writes stay in the overlay until `commit()` pushes them into a parent overlay, or the store writes
`changes()` in one batch. A refused transaction is simply an overlay that is dropped.

Key layout of the state keyspace (docs/protocol.md, "State"):
    a/<address 20 bytes>                  -> nonce (int)
    b/<address 20 bytes>/<currency code>  -> balance in minor units (int, absent when 0)
    c/<currency code>                     -> currency record (map)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterator, Protocol

from corridor import codec

STATE_PREFIXES = (b"a/", b"b/", b"c/")
STATE_VALUE_BYTES_MAX = 64 * 1024
_ABSENT = object()


class StateReader(Protocol):
    """Anything that returns the stored bytes for a state key, or None."""

    def get(self, key: bytes) -> bytes | None: ...


class MemoryReader:
    """A dict-backed reader: the base for tests and for building genesis."""

    def __init__(self, items: dict[bytes, bytes] | None = None) -> None:
        self.items = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)


@dataclass(frozen=True, slots=True)
class Currency:
    """A registered currency: its issuer, precision, supply and latest reserve attestation."""

    code: str
    decimals: int
    issuer: bytes
    supply_minor: int
    reserve_minor: int
    reserve_report_hash: bytes
    reserve_height: int

    def to_map(self) -> dict[str, Any]:
        return asdict(self)


def account_key(address: bytes) -> bytes:
    return b"a/" + address


def balance_key(address: bytes, currency: str) -> bytes:
    return b"b/" + address + b"/" + currency.encode()


def currency_key(code: str) -> bytes:
    return b"c/" + code.encode()


class State:
    """A typed overlay over a StateReader. Values are cached decoded; encoding happens in `changes()`."""

    def __init__(self, base: StateReader | State) -> None:
        self._base = base
        self._values: dict[bytes, Any] = {}
        self._dirty: set[bytes] = set()

    def child(self) -> State:
        """A new overlay on top of this one (for all-or-nothing multi-step work)."""
        return State(self)

    def _read(self, key: bytes) -> Any:
        value = self._values.get(key, _ABSENT)
        if value is _ABSENT:
            if isinstance(self._base, State):
                value = self._base._read(key)
            else:
                raw = self._base.get(key)
                value = None if raw is None else codec.decode(raw, STATE_VALUE_BYTES_MAX)
            self._values[key] = value
        return value

    def _write(self, key: bytes, value: Any) -> None:
        self._values[key] = value
        self._dirty.add(key)

    def commit(self) -> None:
        """Push this overlay's writes into the parent overlay."""
        assert isinstance(self._base, State), "only a child overlay commits into a parent"
        for key in self._dirty:
            self._base._write(key, self._values[key])
        self._dirty.clear()

    def changes(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Each written key with its new encoded value (None = delete), in key order."""
        for key in sorted(self._dirty):
            value = self._values[key]
            yield key, None if value is None else codec.encode(value)

    def base_bytes(self, key: bytes) -> bytes | None:
        """The encoded value of `key` in the underlying reader, ignoring every overlay."""
        base = self._base
        while isinstance(base, State):
            base = base._base
        return base.get(key)

    # Accounts
    def get_nonce(self, address: bytes) -> int:
        nonce = self._read(account_key(address))
        return 0 if nonce is None else nonce

    def set_nonce(self, address: bytes, nonce: int) -> None:
        self._write(account_key(address), nonce)

    def get_balance(self, address: bytes, currency: str) -> int:
        balance = self._read(balance_key(address, currency))
        return 0 if balance is None else balance

    def set_balance(self, address: bytes, currency: str, amount_minor: int) -> None:
        assert amount_minor >= 0, "a balance can never be negative"
        self._write(balance_key(address, currency), amount_minor or None)

    def increase_balance(self, address: bytes, currency: str, amount_minor: int) -> None:
        self.set_balance(address, currency, self.get_balance(address, currency) + amount_minor)

    def decrease_balance(self, address: bytes, currency: str, amount_minor: int) -> None:
        self.set_balance(address, currency, self.get_balance(address, currency) - amount_minor)

    # Currencies
    def get_currency(self, code: str) -> Currency | None:
        record = self._read(currency_key(code))
        if record is None:
            return None
        return Currency(**record)

    def put_currency(self, currency: Currency) -> None:
        self._write(currency_key(currency.code), currency.to_map())
