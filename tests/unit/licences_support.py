"""Building blocks for the licence-registry tests (ledger/licences.py): `grant_licence`, `revoke_licence` and
`set_licence_required` transactions signed by a named account (of unit_support's or fx_support's keys) with
its next nonce read from the state, and a snapshot of the whole licence keyspace."""

from __future__ import annotations

from typing import Any

from corridor.ledger.state import State
from corridor.ledger.tx import GrantLicence, RevokeLicence, SetLicenceRequired, SignedTx, sign_tx

from fx_support import FX_ADDRESSES, FX_KEYS
from unit_support import CHAIN_ID

REVOCATION = bytes([0x7E]) * 32  # SHA-256 of a revocation's reason, as the issuer would record it


def _signed(state: State, sender: str, body_type: type, nonce: int | None, **fields: Any) -> SignedTx:
    nonce = state.get_nonce(FX_ADDRESSES[sender]) if nonce is None else nonce
    return sign_tx(body_type(FX_KEYS[sender].public_key, nonce, **fields), [FX_KEYS[sender]], CHAIN_ID)


def grant(state: State, sender: str, currency: str, account: str, scope: str = "distribute", jurisdiction: str = "US",
          expires_at_ms: int = 0, nonce: int | None = None) -> SignedTx:
    return _signed(state, sender, GrantLicence, nonce, currency=currency, account=FX_ADDRESSES[account], scope=scope,
                   jurisdiction=jurisdiction, expires_at_ms=expires_at_ms)


def revoke(state: State, sender: str, currency: str, account: str, scope: str = "distribute", reason_hash: bytes = REVOCATION,
           nonce: int | None = None) -> SignedTx:
    return _signed(state, sender, RevokeLicence, nonce, currency=currency, account=FX_ADDRESSES[account], scope=scope,
                   reason_hash=reason_hash)


def require(state: State, sender: str, currency: str, scope: str = "exchange", required: bool = True,
            nonce: int | None = None) -> SignedTx:
    return _signed(state, sender, SetLicenceRequired, nonce, currency=currency, scope=scope, required=required)


def licence_keyspace(state: State) -> dict[bytes, Any]:
    """Every entry under l/ (records, the account index, the required scopes)."""
    return dict(state.iterate(b"l/"))
