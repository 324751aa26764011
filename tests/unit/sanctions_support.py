"""Building blocks for the sanctions tests: `gov_set_sanctioned` transactions signed by the unit genesis's single
validator (power 1 of 1, so its signature alone is a quorum), with the chain's next governance nonce."""

from __future__ import annotations

from corridor.hashing import sha256
from corridor.keys import KeyPair
from corridor.ledger import governance
from corridor.ledger.state import State
from corridor.ledger.tx import SignedTx, assemble_tx, build_body, signing_bytes

from unit_support import CHAIN_ID, KEYS

ORDER = sha256(b"consortium listing 2026-07")


def sanction(state: State, address: bytes, listed: bool = True, reason_hash: bytes = ORDER,
             signers: tuple[KeyPair, ...] | None = None, nonce: int | None = None, order: dict | None = None) -> SignedTx:
    """A gov_set_sanctioned for `address`, proposed and signed by the unit validator (or by `signers`, the
    first of which proposes). A listing carries the lawful order `order` (default: OFAC's, orders.py's
    fields); a delisting none."""
    signers = signers or (KEYS["validator"],)
    if order is None:
        order = {"order_authority": "OFAC", "order_hash": ORDER, "order_expiry_ms": 0} if listed else {}
    body = build_body("gov_set_sanctioned", {
        "signer": signers[0].public_key, "nonce": governance.get_gov_nonce(state) if nonce is None else nonce,
        "account": address, "listed": listed, "reason_hash": reason_hash, **order,
    })
    message = signing_bytes(CHAIN_ID, body)
    return assemble_tx(body, [key.public_key + key.sign(message) for key in signers])
