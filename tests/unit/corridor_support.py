"""Building blocks for the corridor tests: signed `set_jurisdiction` and `set_corridor_policy` transactions for
the FX test accounts (fx_support), and a block context at any block time."""

from __future__ import annotations

from corridor.ledger.outcome import BlockContext
from corridor.ledger.tx import SetCorridorPolicy, SetJurisdiction, SignedTx, sign_tx
from corridor.ledger.state import State

from fx_support import FX_ADDRESSES, FX_KEYS, ISSUER_OF
from unit_support import CHAIN_ID, GENESIS_TIME_MS

TRAVEL = bytes([0x7E]) * 32  # a travel-rule hash


def at(time_ms: int, height: int = 1) -> BlockContext:
    """A block context at `time_ms` after genesis time."""
    return BlockContext(height, GENESIS_TIME_MS + time_ms)


def jurisdiction_tx(state: State, code: str, name: str, jurisdiction: str, signer: str | None = None) -> SignedTx:
    """The issuer of `code` (or `signer`) records `name`'s jurisdiction."""
    signer = signer or ISSUER_OF[code]
    body = SetJurisdiction(FX_KEYS[signer].public_key, state.get_nonce(FX_ADDRESSES[signer]), code, FX_ADDRESSES[name], jurisdiction)
    return sign_tx(body, [FX_KEYS[signer]], CHAIN_ID)


def corridor_tx(state: State, code: str, source: str, target: str, *, threshold: int = 0, always: bool = False,
                payment_max: int = 0, window_max: int = 0, window_ms: int = 0, signer: str | None = None) -> SignedTx:
    """The issuer of `code` (or `signer`) sets the policy of the corridor `source` -> `target`."""
    signer = signer or ISSUER_OF[code]
    body = SetCorridorPolicy(FX_KEYS[signer].public_key, state.get_nonce(FX_ADDRESSES[signer]), code, source, target,
                             threshold, always, payment_max, window_max, window_ms)
    return sign_tx(body, [FX_KEYS[signer]], CHAIN_ID)
