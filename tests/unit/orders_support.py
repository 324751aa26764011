"""Building blocks for the lawful-order tests (ledger/orders.py): the order every seizure in the unit tests
carries unless a test says otherwise, compliance keys that are no test account's, and signers of seizures
approved by some of them."""

from __future__ import annotations

from typing import Any

from corridor.hashing import sha256
from corridor.keys import KeyPair
from corridor.ledger.tx import TX_TYPES, SignedTx, build_body, sign_tx

from unit_support import CHAIN_ID, KEYS, key_of

AUTHORITY = "US District Court SDNY"
ORDER_HASH = sha256(b"order 2026-cv-0117 (freeze and turnover)")
ORDER_FIELDS: dict[str, Any] = {"order_authority": AUTHORITY, "order_hash": ORDER_HASH, "order_expiry_ms": 0}
SEIZURE_TYPES = ("set_frozen", "clawback", "forced_burn")

# Compliance officers' keys: c1..c3 for USD, c4 elsewhere (never a key of an account that holds money).
COMPLIANCE: dict[str, KeyPair] = {name: key_of(name) for name in ("compliance1", "compliance2", "compliance3", "compliance4")}


def with_order(type_name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` with the default order filled in, for a seizure type (a caller's own order fields win)."""
    return {**ORDER_FIELDS, **fields} if type_name in SEIZURE_TYPES else fields


def signed(sender: str | KeyPair, type_name: str, nonce: int, approvals: tuple[KeyPair, ...] = (), *,
           chain_id: str = CHAIN_ID, **fields: Any) -> SignedTx:
    """A transaction of `type_name` by `sender` (a test account's name, or a key), naming the public keys of
    `approvals` as its approvers (sorted, as the chain wants) and co-signed by each of them."""
    key = KEYS[sender] if isinstance(sender, str) else sender
    ordered = sorted(approvals, key=lambda k: k.public_key)
    if approvals or "approvers" in getattr(TX_TYPES[type_name], "COSIGNER_FIELDS", ()):
        fields = {**fields, "approvers": [k.public_key for k in ordered]}
    body = build_body(type_name, {"signer": key.public_key, "nonce": nonce, **fields})
    return sign_tx(body, [key, *ordered], chain_id)
