"""Building blocks for the issuer-control tests: signed transactions of the control types (and a transfer
with a travel-rule hash), a genesis variant with an allow-list currency, and a snapshot of the holder and
licence records (ledger/licences.py) that `unit_support.snapshot` does not read."""

from __future__ import annotations

from dataclasses import dataclass

from corridor.keys import format_address
from corridor.ledger import licences as registry
from corridor.ledger.genesis import Genesis, parse_genesis
from corridor.ledger.state import Holder, State
from corridor.ledger.tx import (
    Clawback,
    SetAuthorization,
    SetDistributor,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SignedTx,
    Transfer,
    sign_tx,
)

from unit_support import ADDRESSES, CHAIN_ID, CURRENCY_CODES, KEYS, UNKNOWN_CURRENCY, genesis_document
from orders_support import AUTHORITY, ORDER_HASH

REASON = bytes([0xAB]) * 32
TRAVEL_HASH = bytes([0x5A]) * 32


def _signed(sender: str, body: object, chain_id: str = CHAIN_ID) -> SignedTx:
    return sign_tx(body, [KEYS[sender]], chain_id)  # type: ignore[arg-type]


def transfer_tr(sender: str, nonce: int, to: str, currency: str, amount_minor: int, travel_rule_hash: bytes = b"") -> SignedTx:
    """A transfer carrying a travel-rule hash (b"" for none)."""
    body = Transfer(KEYS[sender].public_key, nonce, ADDRESSES[to], currency, amount_minor, "", travel_rule_hash)
    return _signed(sender, body)


def set_authorization(sender: str, nonce: int, currency: str, account: str, enabled: bool = True) -> SignedTx:
    return _signed(sender, SetAuthorization(KEYS[sender].public_key, nonce, currency, ADDRESSES[account], enabled))


def set_frozen(sender: str, nonce: int, currency: str, account: str, enabled: bool = True, reason_hash: bytes = REASON) -> SignedTx:
    """A freeze carries the unit tests' lawful order (orders_support.ORDER_FIELDS); an unfreeze carries none."""
    order = (AUTHORITY, ORDER_HASH, 0) if enabled else ("", b"", 0)
    return _signed(sender, SetFrozen(KEYS[sender].public_key, nonce, currency, ADDRESSES[account], enabled, reason_hash, *order))


def clawback(sender: str, nonce: int, currency: str, account: str, amount_minor: int, reason_hash: bytes = REASON) -> SignedTx:
    """A clawback carrying the unit tests' lawful order."""
    body = Clawback(KEYS[sender].public_key, nonce, currency, ADDRESSES[account], amount_minor, reason_hash, AUTHORITY, ORDER_HASH, 0)
    return _signed(sender, body)


def set_paused(sender: str, nonce: int, currency: str, enabled: bool = True) -> SignedTx:
    return _signed(sender, SetPaused(KEYS[sender].public_key, nonce, currency, enabled))


def set_distributor(sender: str, nonce: int, currency: str, account: str, enabled: bool = True) -> SignedTx:
    return _signed(sender, SetDistributor(KEYS[sender].public_key, nonce, currency, ADDRESSES[account], enabled))


def set_policy(
    sender: str, nonce: int, currency: str, transfer_max_minor: int = 0, travel_rule_threshold_minor: int = 0,
    distributors_only: bool = False,
) -> SignedTx:
    body = SetPolicy(KEYS[sender].public_key, nonce, currency, transfer_max_minor, travel_rule_threshold_minor, distributors_only)
    return _signed(sender, body)


def allow_list_genesis(*codes: str) -> Genesis:
    """The test genesis with `holders_need_authorization` set on the currencies `codes`."""
    document = genesis_document()
    for item in document["currencies"]:
        if item["code"] in codes:
            item["holders_need_authorization"] = True
    return parse_genesis(document)


@dataclass(frozen=True)
class ControlSnapshot:
    holders: dict[tuple[str, str], Holder]
    licences: dict[tuple[str, str, str], registry.Licence | None]


def control_snapshot(state: State) -> ControlSnapshot:
    """Every holder record and licence (of every scope) of the test accounts."""
    codes = (*CURRENCY_CODES, UNKNOWN_CURRENCY)
    return ControlSnapshot(
        holders={(name, code): state.get_holder(address, code) for name, address in ADDRESSES.items() for code in codes},
        licences={(name, code, scope): registry.get_licence(state, code, address, scope)
                  for name, address in ADDRESSES.items() for code in codes for scope in registry.SCOPES},
    )


def address_text(name: str) -> str:
    return format_address(ADDRESSES[name])
