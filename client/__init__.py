"""The Corridor SDK: keys, transaction builders, and sync and async clients of a node's HTTP API.

    from corridor.client import Client, load_key

    client = Client("http://127.0.0.1:26650")
    alice = load_key("alice.json")
    receipt = client.send(client.txs.transfer(alice, "cor1...", "12.50", "USD")).receipt

See docs/sdk.md for a quick start and the reference. The modules:

- `corridor.client.http`     Client (synchronous, standard library)
- `corridor.client.aio`      AsyncClient (asyncio, aiohttp), the same methods awaited
- `corridor.client.txs`      TxBuilder: every transaction type, amounts in major units, converted exactly
- `corridor.client.proposal` Proposal: swaps and governance, which gather several signatures
- `corridor.client.keys`     key files and addresses
- `corridor.client.errors`   the exceptions (CorridorError and below)
- `corridor.client.verify`   offline verification of blocks and receipt proofs
- `corridor.client.results`  SubmitResult and Event
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corridor.client.errors import (
    AddressError,
    AmountError,
    ApiError,
    CorridorError,
    EventStreamOverflow,
    InvalidInput,
    InvalidTransaction,
    KeyFileError,
    NodeUnreachable,
    Refused,
    Timeout,
    WaitTimeout,
)
from corridor.client.http import Client
from corridor.client.keys import (
    AddressLike,
    KeyPair,
    PublicKeyLike,
    address_bytes,
    address_text,
    format_address,
    generate_key,
    load_key,
    parse_address,
    public_key_bytes,
    save_key,
)
from corridor.client.proposal import Proposal, ProposalFileError
from corridor.client.results import Event, SubmitResult
from corridor.client.txs import Amount, Minor, Price, TxBuilder, UnknownDecimals, from_minor, to_minor, to_price
from corridor.ledger.refusals import Refusal
from corridor.ledger.tx import SignedTx, decode_tx

if TYPE_CHECKING:
    from corridor.client.aio import AsyncClient
    from corridor.client.verify import VerificationError, VerifiedReceipt

__all__ = [
    "AddressError", "AddressLike", "Amount", "AmountError", "ApiError", "AsyncClient", "Client", "CorridorError", "Event",
    "EventStreamOverflow", "InvalidInput", "InvalidTransaction", "KeyFileError", "KeyPair", "Minor", "NodeUnreachable",
    "Price", "Proposal", "ProposalFileError", "PublicKeyLike", "Refusal", "Refused", "SignedTx", "SubmitResult",
    "Timeout", "TxBuilder", "UnknownDecimals", "VerificationError", "VerifiedReceipt", "WaitTimeout", "address_bytes",
    "address_text", "decode_tx", "format_address", "from_minor", "generate_key", "load_genesis", "load_key",
    "parse_address", "public_key_bytes", "save_key", "to_minor", "to_price", "verify_receipt",
]

_LAZY = {
    # aiohttp and the verifier are imported only when used, so that `import corridor.client` stays light.
    "AsyncClient": ("corridor.client.aio", "AsyncClient"),
    "VerificationError": ("corridor.client.verify", "VerificationError"),
    "VerifiedReceipt": ("corridor.client.verify", "VerifiedReceipt"),
    "verify_receipt": ("corridor.client.verify", "verify_receipt"),
    "load_genesis": ("corridor.ledger.genesis", "load_genesis"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'corridor.client' has no attribute {name!r}")
