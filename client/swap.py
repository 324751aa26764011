"""Building a two-party swap: one side creates and signs, the other reviews and co-signs, either submits.

The file passed between the parties is JSON: the chain id, the body in canonical hex (exactly the bytes
both sign), and the signatures gathered so far by public key. Nothing in it is secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corridor import codec
from corridor.keys import KeyPair, address_of, format_address, verify_signature
from corridor.ledger.amounts import format_amount
from corridor.ledger.tx import SignedTx, Swap, assemble_tx, body_to_map, build_body, signing_bytes
from corridor.client.http import Client

SWAP_FILE_BYTES_MAX = 64 * 1024


class SwapFileError(ValueError):
    """A swap file that cannot be read or does not hold a swap."""


@dataclass
class SwapProposal:
    chain_id: str
    body: Swap
    decimals: dict[str, int]
    signatures: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(key in self.signatures for key in (self.body.signer, self.body.counterparty))

    def sign(self, key: KeyPair) -> None:
        if key.public_key not in (self.body.signer, self.body.counterparty):
            raise SwapFileError("this key is neither party of the swap")
        self.signatures[key.public_key] = key.sign(signing_bytes(self.chain_id, self.body))

    def transaction(self) -> SignedTx:
        return assemble_tx(self.body, [self.signatures[self.body.signer], self.signatures[self.body.counterparty]])

    def describe(self) -> str:
        body = self.body
        give = format_amount(body.give_amount_minor, self.decimals[body.give_currency])
        get = format_amount(body.get_amount_minor, self.decimals[body.get_currency])
        a, b = format_address(address_of(body.signer)), format_address(address_of(body.counterparty))
        return (f"swap on {self.chain_id}: {a} gives {give} {body.give_currency} to {b}, "
                f"which gives {get} {body.get_currency} back; valid until height {body.expiry_height}")

    def save(self, path: Path) -> None:
        document = {
            "chain_id": self.chain_id,
            "type": Swap.TYPE,
            "body": codec.encode(body_to_map(self.body)).hex(),
            "decimals": self.decimals,
            "signatures": {key.hex(): sig.hex() for key, sig in self.signatures.items()},
            "terms": self.describe(),
        }
        Path(path).write_text(json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> SwapProposal:
        try:
            raw = Path(path).read_bytes()
            if len(raw) > SWAP_FILE_BYTES_MAX:
                raise SwapFileError(f"{path} is too large to be a swap")
            document = json.loads(raw)
            body = build_body(Swap.TYPE, codec.decode(bytes.fromhex(document["body"]), SWAP_FILE_BYTES_MAX), fill_defaults=False)
            proposal = cls(document["chain_id"], body, {str(k): int(v) for k, v in document["decimals"].items()})
            for key_hex, sig_hex in document["signatures"].items():
                key, signature = bytes.fromhex(key_hex), bytes.fromhex(sig_hex)
                if not verify_signature(key, signing_bytes(proposal.chain_id, body), signature):
                    raise SwapFileError(f"{path} carries a signature that does not verify")
                proposal.signatures[key] = signature
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, SwapFileError):
                raise
            raise SwapFileError(f"{path} is not a swap file: {exc}") from exc
        return proposal


def create_swap(client: Client, key: KeyPair, counterparty: bytes, give_currency: str, give_minor: int,
                get_currency: str, get_minor: int, expires_in_blocks: int) -> SwapProposal:
    """A swap from `key`'s account, signed by it, expiring `expires_in_blocks` after the current height."""
    status = client.status()
    nonce = client.account(key.address_text)["next_nonce"]
    body = build_body(Swap.TYPE, {
        "signer": key.public_key, "nonce": nonce, "counterparty": counterparty,
        "give_currency": give_currency, "give_amount_minor": give_minor,
        "get_currency": get_currency, "get_amount_minor": get_minor,
        "expiry_height": status["height"] + expires_in_blocks,
    })
    decimals = {c["code"]: c["decimals"] for c in client.currencies()}
    proposal = SwapProposal(status["chain_id"], body, decimals)
    proposal.sign(key)
    return proposal
