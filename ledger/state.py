"""The state interface the rules run on: typed reads and buffered writes over a key-value reader.

`State` is an overlay. Reads fall through to its base (the LevelDB store, a parent overlay or a dict in
tests); writes stay in the overlay until `commit()` pushes them into a parent overlay, or the store writes
`changes()` in one batch. A refused transaction is simply an overlay that is dropped.

Key layout of the state keyspace (docs/protocol.md, "State"):
    a/<address 20 bytes>                  -> nonce (int)
    b/<address 20 bytes>/<currency code>  -> balance in minor units (int, absent when 0)
    c/<currency code>                     -> currency record (map)
    p/<address 20 bytes>/<currency code>  -> holder record: authorised, frozen (map, absent when both false)
    l/r/ l/a/ l/q/                        -> licences, their account index, required scopes (see licences.py)
    o/ q/ i/ g/next_offer_id              -> the FX order book (see fx.py)
    s/<address 20 bytes>                  -> the consortium sanctions list (see sanctions.py)
    n/<currency code>                     -> the currency's compliance keys and threshold (see orders.py)
    u/r/ u/o/ u/a/ g/next_redemption_id   -> redemption requests and their open indexes (see redemption.py)
    j/a/ j/p/ j/n/ j/w/                   -> jurisdictions, corridor policies and their windows (see corridors.py)
    v/ w/ g/gov_nonce                     -> the validator set and governance (see governance.py)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

from corridor import codec
from corridor.ledger import limits

STATE_PREFIXES = (b"a/", b"b/", b"c/", b"g/", b"i/", b"j/", b"l/", b"n/", b"o/", b"p/", b"q/", b"s/", b"u/", b"v/", b"w/")
_ABSENT = object()


class StateReader(Protocol):
    """Anything that returns the stored bytes for a state key, and walks keys in order under a prefix."""

    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...


class MemoryReader:
    """A dict-backed reader: the base for tests and for building genesis."""

    def __init__(self, items: dict[bytes, bytes] | None = None) -> None:
        self.items = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(sorted((key, value) for key, value in self.items.items() if key.startswith(prefix)))


@dataclass(frozen=True, slots=True)
class Currency:
    """A registered currency: its issuer, precision, supply, latest reserve attestation and policy.

    Policy: `holders_need_authorization` makes the currency an allow-list (KYC) currency; `paused` stops
    every movement of it; `transfer_max_minor` caps one payment (0: no cap); above
    `travel_rule_threshold_minor` (0: never) a payment must carry a travel-rule hash; with
    `distributors_only`, only licensed distributors receive new coins and redeem (the issuance /
    distribution split of the US GENIUS Act).

    Reserves (ledger/reserves.py): only `auditor` (never the issuer) attests the reserve, as of
    `reserve_as_of_ms`; a mint is refused when supply would pass `reserve_minor` or when that attestation
    is more than `reserve_max_age_ms` (0: no limit) older than the block time."""

    code: str
    decimals: int
    issuer: bytes
    supply_minor: int
    reserve_minor: int
    reserve_report_hash: bytes
    reserve_height: int
    holders_need_authorization: bool = False
    paused: bool = False
    transfer_max_minor: int = 0
    travel_rule_threshold_minor: int = 0
    distributors_only: bool = False
    redemption_deadline_ms: int = limits.REDEMPTION_DEADLINE_MS_DEFAULT  # the issuer acts on a redemption request within it (redemption.py)
    auditor: bytes = b""  # only it attests the reserve (reserves.py); b"": nobody can
    reserve_as_of_ms: int = 0  # the time the latest attestation is as of
    reserve_max_age_ms: int = limits.RESERVE_MAX_AGE_MS_DEFAULT  # older than this, it stops minting (0: never)

    def to_map(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Holder:
    """What an issuer decided about one account for its currency."""

    authorized: bool = False
    frozen: bool = False


# Every rule and every resting offer a book walk passes reads a currency record: building its 16-field
# Currency once per decoded record, not once per read, is a tenth of a cross-currency payment's cost.
# Records are never changed in place (a write stores a new map), so a record's Currency never goes stale.
CURRENCY_RECORDS_CACHED = 256
_currency_of_record: dict[int, tuple[dict[str, Any], Currency]] = {}


def account_key(address: bytes) -> bytes:
    return b"a/" + address


def balance_key(address: bytes, currency: str) -> bytes:
    return b"b/" + address + b"/" + currency.encode()


def currency_key(code: str) -> bytes:
    return b"c/" + code.encode()


def holder_key(address: bytes, currency: str) -> bytes:
    return b"p/" + address + b"/" + currency.encode()


class State:
    """A typed overlay over a StateReader. Values are cached decoded; encoding happens in `changes()`."""

    def __init__(self, base: StateReader | State) -> None:
        self._base = base
        self._values: dict[bytes, Any] = {}
        self._dirty: set[bytes] = set()
        self._dirty_by_keyspace: dict[bytes, set[bytes]] = {}  # written keys by their 2-byte keyspace ("o/"...)

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
                value = None if raw is None else codec.decode_stored(raw)
            self._values[key] = value
        return value

    def _write(self, key: bytes, value: Any) -> None:
        self._values[key] = value
        self._dirty.add(key)
        keyspace = self._dirty_by_keyspace.get(key[:2])
        if keyspace is None:
            self._dirty_by_keyspace[key[:2]] = {key}
        else:
            keyspace.add(key)

    def written_count(self) -> int:
        """How many keys this overlay holds writes for."""
        return len(self._dirty)

    def forget_reads(self) -> None:
        """Drop the cached values this overlay only read (not wrote), so they are read from the base again."""
        self._values = {key: self._values[key] for key in self._dirty}

    def commit(self) -> None:
        """Push this overlay's writes into the parent overlay."""
        assert isinstance(self._base, State), "only a child overlay commits into a parent"
        for key in self._dirty:
            self._base._write(key, self._values[key])
        self._dirty.clear()
        self._dirty_by_keyspace.clear()

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, Any]]:
        """(key, decoded value) of every entry under `prefix` in key order, this overlay's writes included.

        Writes made while iterating are not seen by the iteration (it works on a snapshot of this
        overlay's keys and the base's iterator)."""
        assert len(prefix) >= 2, "iterate within one keyspace"
        # Only this keyspace's written keys are scanned: walking the book must not cost in proportion to
        # every balance the mempool's pending transactions wrote.
        own = sorted((key, self._values[key]) for key in self._dirty_by_keyspace.get(prefix[:2], ()) if key.startswith(prefix))
        if isinstance(self._base, State):
            below: Iterator[tuple[bytes, Any]] = self._base.iterate(prefix)
        else:
            below = ((key, codec.decode_stored(raw)) for key, raw in self._base.iterate(prefix))  # never None: deletes remove keys
        if not own:
            return below  # nothing written here under the prefix: the level below's walk as it is
        written = {key for key, _ in own}
        merged = heapq.merge(own, ((key, value) for key, value in below if key not in written), key=lambda item: item[0])
        return ((key, value) for key, value in merged if value is not None)

    def get_record(self, key: bytes) -> Any:
        """The decoded value at `key`, or None: for modules that own a keyspace of their own (fx.py)."""
        return self._read(key)

    def put_record(self, key: bytes, value: Any) -> None:
        """Write a decoded value at `key` (None deletes it)."""
        self._write(key, value)

    def changes(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Each written key with its new encoded value (None = delete), in key order."""
        for key in sorted(self._dirty):
            value = self._values[key]
            yield key, None if value is None else codec.encode(value)

    def base_reader(self) -> StateReader:
        """The reader under every overlay (the committed state)."""
        base = self._base
        while isinstance(base, State):
            base = base._base
        return base

    def base_bytes(self, key: bytes) -> bytes | None:
        """The encoded value of `key` in the underlying reader, ignoring every overlay."""
        return self.base_reader().get(key)

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
        cached = _currency_of_record.get(id(record))
        if cached is not None and cached[0] is record:
            return cached[1]
        if len(_currency_of_record) >= CURRENCY_RECORDS_CACHED:
            _currency_of_record.clear()
        currency = Currency(**record)
        _currency_of_record[id(record)] = (record, currency)  # holding the record keeps its id from being reused
        return currency

    def put_currency(self, currency: Currency) -> None:
        self._write(currency_key(currency.code), currency.to_map())

    # Holders (distributor licences: licences.py)
    def get_holder(self, address: bytes, currency: str) -> Holder:
        record = self._read(holder_key(address, currency))
        return Holder() if record is None else Holder(**record)

    def put_holder(self, address: bytes, currency: str, holder: Holder) -> None:
        empty = not holder.authorized and not holder.frozen
        self._write(holder_key(address, currency), None if empty else {"authorized": holder.authorized, "frozen": holder.frozen})
