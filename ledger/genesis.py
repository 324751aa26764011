"""The genesis document: the chain's identity, its first validators, currencies and balances.

It is JSON so that operators can read and diff it (docs/protocol.md, "Genesis"). Its hash (SHA-256 of the
canonical msgpack encoding of the parsed JSON) is the parent hash of block 1, so every validator that
accepts block 1 started from the same genesis.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import AddressError, parse_address
from corridor.ledger import limits
from corridor.ledger.state import Currency, State, StateReader
from corridor.ledger.tx import CURRENCY_CODE_PATTERN

CHAIN_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")  # always used with fullmatch


class GenesisError(ValueError):
    """A genesis document that cannot start a chain, with the reason."""


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    name: str
    public_key: bytes
    power: int


@dataclass(frozen=True, slots=True)
class Genesis:
    chain_id: str
    genesis_time_ms: int
    validators: tuple[GenesisValidator, ...]
    currencies: tuple[Currency, ...]
    balances: tuple[tuple[bytes, str, int], ...]  # (address, currency, amount_minor)
    hash: bytes

    def initial_state(self, reader: StateReader) -> State:
        """The state at height 0, as writes in an overlay over an empty reader."""
        state = State(reader)
        for validator in self.validators:
            state.put_record(b"v/" + validator.public_key, {"name": validator.name, "power": validator.power})
        for currency in self.currencies:
            state.put_currency(currency)
        for address, code, amount_minor in self.balances:
            state.increase_balance(address, code, amount_minor)
        return state


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise GenesisError(message)


def _int(value: Any, what: str, low: int = 0, high: int = limits.AMOUNT_MINOR_MAX) -> int:
    _require(type(value) is int and low <= value <= high, f"{what} must be an integer from {low} to {high}")
    return value


def _address(value: Any, what: str) -> bytes:
    try:
        return parse_address(value)
    except AddressError as exc:
        raise GenesisError(f"{what}: {exc}") from exc


def _hex_bytes(value: Any, length: int, what: str) -> bytes:
    try:
        decoded = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise GenesisError(f"{what} must be hex") from exc
    _require(len(decoded) == length, f"{what} must be {length} bytes")
    return decoded


def parse_genesis(document: Any) -> Genesis:
    """Check a parsed genesis JSON document and return it typed; raises GenesisError with the reason."""
    _require(type(document) is dict, "genesis must be a JSON object")
    expected = {"chain_id", "genesis_time_ms", "validators", "currencies", "balances"}
    _require(set(document) == expected, f"genesis must have exactly the fields {sorted(expected)}")
    chain_id = document["chain_id"]
    _require(type(chain_id) is str and bool(CHAIN_ID_PATTERN.fullmatch(chain_id)), "chain_id must be 3-64 of [a-z0-9-]")
    genesis_time_ms = _int(document["genesis_time_ms"], "genesis_time_ms")
    for section in ("validators", "currencies", "balances"):
        _require(type(document[section]) is list, f"genesis {section} must be a list")
    validators = []
    for item in document["validators"]:
        _require(type(item) is dict and set(item) == {"name", "public_key", "power"}, "a validator has name, public_key, power")
        _require(type(item["name"]) is str and 0 < len(item["name"]) <= 64, "a validator name is 1-64 characters")
        key = _hex_bytes(item["public_key"], 32, f"validator {item['name']} public_key")
        validators.append(GenesisValidator(item["name"], key, _int(item["power"], "validator power", 1, 2**32)))
    _require(0 < len(validators) <= limits.VALIDATORS_MAX, f"genesis needs 1 to {limits.VALIDATORS_MAX} validators")
    _require(len({v.public_key for v in validators}) == len(validators), "a validator key appears twice")
    currencies: dict[str, Currency] = {}
    for item in document["currencies"]:
        fields = {"code", "decimals", "issuer", "auditor", "reserve_minor", "reserve_report_hash"}
        optional = {"holders_need_authorization", "reserve_as_of_ms", "reserve_max_age_ms"}
        _require(type(item) is dict and fields <= set(item) <= fields | optional, f"a currency has {sorted(fields)} and optionally {sorted(optional)}")
        needs_authorization = item.get("holders_need_authorization", False)
        _require(type(needs_authorization) is bool, "holders_need_authorization must be true or false")
        code = item["code"]
        _require(type(code) is str and bool(CURRENCY_CODE_PATTERN.fullmatch(code)), f"bad currency code {code!r}")
        _require(code not in currencies, f"currency {code} appears twice")
        # The genesis reserve is attested as of genesis_time_ms unless told otherwise (never later); it goes
        # stale after reserve_max_age_ms, 35 days when left out (0, given explicitly: never).
        as_of_ms = _int(item.get("reserve_as_of_ms", genesis_time_ms), f"{code} reserve_as_of_ms", 0, genesis_time_ms)
        max_age_ms = _int(item.get("reserve_max_age_ms", limits.RESERVE_MAX_AGE_MS_DEFAULT), f"{code} reserve_max_age_ms", 0, limits.NONCE_MAX)
        issuer, auditor = _address(item["issuer"], f"{code} issuer"), _address(item["auditor"], f"{code} auditor")
        _require(auditor != issuer, f"{code}: the auditor must be another account than the issuer")
        currencies[code] = Currency(
            code=code,
            decimals=_int(item["decimals"], f"{code} decimals", 0, limits.CURRENCY_DECIMALS_MAX),
            issuer=issuer,
            supply_minor=0,
            reserve_minor=_int(item["reserve_minor"], f"{code} reserve_minor"),
            reserve_report_hash=_hex_bytes(item["reserve_report_hash"], 32, f"{code} reserve_report_hash"),
            reserve_height=0,
            holders_need_authorization=needs_authorization,
            auditor=auditor,
            reserve_as_of_ms=as_of_ms,
            reserve_max_age_ms=max_age_ms,
        )
    balances = []
    for item in document["balances"]:
        _require(type(item) is dict and set(item) == {"address", "currency", "amount_minor"}, "a balance has address, currency, amount_minor")
        code = item["currency"]
        _require(type(code) is str and code in currencies, f"balance in unregistered currency {code!r}")
        amount_minor = _int(item["amount_minor"], "balance amount_minor", 1)
        balances.append((_address(item["address"], "balance address"), code, amount_minor))
        currency = currencies[code]
        currencies[code] = Currency(**{**currency.to_map(), "supply_minor": currency.supply_minor + amount_minor})
    for currency in currencies.values():
        _require(currency.supply_minor <= currency.reserve_minor, f"{currency.code} genesis supply exceeds its reserve")
    return Genesis(
        chain_id=chain_id,
        genesis_time_ms=genesis_time_ms,
        validators=tuple(validators),
        currencies=tuple(currencies.values()),
        balances=tuple(balances),
        hash=sha256(codec.encode(document)),
    )


def load_genesis(path: Path) -> Genesis:
    """Read and check a genesis file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from exc
    _require(len(raw) <= limits.GENESIS_BYTES_MAX, "genesis file is too large")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise GenesisError(f"genesis file {path} is not JSON: {exc}") from exc
    try:
        return parse_genesis(document)
    except (KeyError, TypeError) as exc:
        raise GenesisError(f"genesis file {path} is malformed: {exc}") from exc
