"""Building blocks for the redemption tests: signed redemption transactions of the named test accounts, and a
snapshot of every redemption record and index entry (what `unit_support.snapshot` does not read)."""

from __future__ import annotations

from typing import Any

from corridor.ledger import redemption
from corridor.ledger.state import State
from corridor.ledger.tx import RedeemCancel, RedeemFulfil, RedeemReject, RedeemRequest, SetRedemptionDeadline, SignedTx, sign_tx

from unit_support import CHAIN_ID, KEYS

PAYOUT = bytes([0x70]) * 32  # SHA-256 of an off-chain payout reference, as the issuer would record it
REJECTION = bytes([0x4E]) * 32


def _signed(sender: str, body: object) -> SignedTx:
    return sign_tx(body, [KEYS[sender]], CHAIN_ID)  # type: ignore[arg-type]


def redeem_request(sender: str, nonce: int, currency: str, amount_minor: int) -> SignedTx:
    return _signed(sender, RedeemRequest(KEYS[sender].public_key, nonce, currency, amount_minor))


def redeem_fulfil(sender: str, nonce: int, redemption_id: int, payout_reference: bytes = PAYOUT) -> SignedTx:
    return _signed(sender, RedeemFulfil(KEYS[sender].public_key, nonce, redemption_id, payout_reference))


def redeem_reject(sender: str, nonce: int, redemption_id: int, reason_hash: bytes = REJECTION) -> SignedTx:
    return _signed(sender, RedeemReject(KEYS[sender].public_key, nonce, redemption_id, reason_hash))


def redeem_cancel(sender: str, nonce: int, redemption_id: int) -> SignedTx:
    return _signed(sender, RedeemCancel(KEYS[sender].public_key, nonce, redemption_id))


def set_redemption_deadline(sender: str, nonce: int, currency: str, deadline_ms: int) -> SignedTx:
    return _signed(sender, SetRedemptionDeadline(KEYS[sender].public_key, nonce, currency, deadline_ms))


def redemption_snapshot(state: State) -> dict[bytes, Any]:
    """Every entry of the redemption keyspace (records and both open indexes) and the id counter."""
    entries: dict[bytes, Any] = dict(state.iterate(b"u/"))
    entries[redemption.NEXT_REDEMPTION_ID_KEY] = state.get_record(redemption.NEXT_REDEMPTION_ID_KEY)
    return entries
