"""Transactions that need more than one signature: two-party swaps and consortium governance.

One side creates and signs; the others review the terms and add their signatures; anyone submits. The
file passed around is JSON: the chain id, the type, the body in canonical hex (exactly the bytes every
party signs), and the signatures gathered so far by public key. Nothing in it is secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridor import codec
from corridor.client.errors import InvalidInput, NodeUnreachable
from corridor.keys import KeyPair, address_of, format_address, verify_signature
from corridor.ledger.amounts import format_amount
from corridor.ledger.tx import (
    FIELDS,
    SignedTx,
    Swap,
    TxBody,
    assemble_tx,
    body_to_map,
    build_body,
    cosigners_of,
    is_governance,
    signing_bytes,
)

if TYPE_CHECKING:
    from corridor.client.http import Client

PROPOSAL_FILE_BYTES_MAX = 64 * 1024


class ProposalFileError(InvalidInput):
    """A proposal file that cannot be read, or a signature that does not belong in it."""


@dataclass
class Proposal:
    """A transaction gathering its signatures: a swap (both parties sign), a seizure approved by
    compliance keys (the issuer and each approver it names sign) or a governance change (the validators
    sign). `signatures` maps each signer's public key to its signature over the body's signing bytes on
    `chain_id`. Build one with `TxBuilder.swap` / `Client.txs.swap`, a seizure builder given `approvers`,
    or a `gov_*` builder."""

    chain_id: str
    body: TxBody
    signatures: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every required party signed (for governance: at least one validator; the chain checks the quorum)."""
        if is_governance(self.body):
            return bool(self.signatures)
        return all(key in self.signatures for key in self.required_keys)

    @property
    def required_keys(self) -> tuple[bytes, ...]:
        """Who must sign, in the order the signatures go on the wire (not for governance): the signer, then
        a swap's counterparty or a seizure's approvers."""
        return (self.body.signer, *cosigners_of(self.body))

    def sign(self, key: KeyPair) -> None:
        """Add `key`'s signature (a swap's counterparty, an approver, or one more validator's node key)."""
        if not is_governance(self.body) and key.public_key not in self.required_keys:
            if isinstance(self.body, Swap):
                raise ProposalFileError("this key is neither party of the swap")
            raise ProposalFileError(f"this key is neither the signer nor one of the approvers this {self.body.TYPE} names")
        self.signatures[key.public_key] = key.sign(signing_bytes(self.chain_id, self.body))

    def transaction(self) -> SignedTx:
        """The wire transaction with the signatures gathered so far, ready to submit (check `complete`)."""
        if is_governance(self.body):
            return assemble_tx(self.body, [key + signature for key, signature in self.signatures.items()])
        return assemble_tx(self.body, [self.signatures[key] for key in self.required_keys])

    def describe(self, decimals: dict[str, int] | None = None) -> str:
        """The terms in words. Amounts are shown in major units with `decimals` read from the chain (never
        from the file, which nobody signs), or in minor units when they are not known."""
        body = self.body

        def amount(minor: int, code: str) -> str:
            if decimals is not None and code in decimals:
                return f"{format_amount(minor, decimals[code])} {code}"
            return f"{minor} minor units of {code}"

        if isinstance(body, Swap):
            give, get = amount(body.give_amount_minor, body.give_currency), amount(body.get_amount_minor, body.get_currency)
            a, b = format_address(address_of(body.signer)), format_address(address_of(body.counterparty))
            return (f"swap on {self.chain_id}: {a} gives {give} to {b}, "
                    f"which gives {get} back; valid until height {body.expiry_height}")
        fields = {name: FIELDS[name].to_json(value) for name, value in body_to_map(body).items() if name not in ("signer", "nonce")}
        if not is_governance(body):
            signer = format_address(address_of(body.signer))
            return f"{body.TYPE} on {self.chain_id} by {signer} (nonce {body.nonce}): {json.dumps(fields)}"
        return f"{body.TYPE} on {self.chain_id} (governance nonce {body.nonce}): {json.dumps(fields)}"

    def save(self, path: Path) -> None:
        """Write the proposal file (JSON; nothing in it is secret) for the next party to sign."""
        document: dict[str, Any] = {
            "chain_id": self.chain_id,
            "type": self.body.TYPE,
            "body": codec.encode(body_to_map(self.body)).hex(),
            "signatures": {key.hex(): sig.hex() for key, sig in self.signatures.items()},
        }
        Path(path).write_text(json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Proposal:
        """Read a proposal file, checking every signature in it; raises ProposalFileError."""
        try:
            raw = Path(path).read_bytes()
            if len(raw) > PROPOSAL_FILE_BYTES_MAX:
                raise ProposalFileError(f"{path} is too large to be a proposal")
            document = json.loads(raw)
            body_map = codec.decode(bytes.fromhex(document["body"]), PROPOSAL_FILE_BYTES_MAX)
            body = build_body(document["type"], body_map, fill_defaults=False)
            proposal = cls(document["chain_id"], body)
            for key_hex, sig_hex in document["signatures"].items():
                key, signature = bytes.fromhex(key_hex), bytes.fromhex(sig_hex)
                if not verify_signature(key, signing_bytes(proposal.chain_id, body), signature):
                    raise ProposalFileError(f"{path} carries a signature that does not verify")
                proposal.signatures[key] = signature
        except ProposalFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProposalFileError(f"{path} is not a proposal file: {exc}") from exc
        return proposal


def create_swap(client: Client, key: KeyPair, counterparty: bytes, give_currency: str, give_minor: int,
                get_currency: str, get_minor: int, expires_in_blocks: int, travel_rule_hash: bytes = b"") -> Proposal:
    """A swap from `key`'s account, signed by it, expiring `expires_in_blocks` after the current height
    (amounts in minor units; `client.txs.swap` takes them in major units)."""
    from corridor.client.txs import Minor

    return client.txs.swap(key, counterparty, Minor(give_minor), give_currency, Minor(get_minor), get_currency,
                           expires_in=expires_in_blocks, travel_rule_hash=travel_rule_hash or None)


def create_governance(client: Client, key: KeyPair, type_name: str, fields: dict[str, Any]) -> Proposal:
    """A governance proposal with the chain's next governance nonce, signed by `key` (a validator's key)."""
    return client.builder().propose(key, type_name, fields, nonce=client.governance()["next_nonce"])


def chain_decimals(client: Client) -> dict[str, int] | None:
    """Every currency's decimals as the node says, or None when no node answers."""
    try:
        return {c["code"]: c["decimals"] for c in client.currencies()}
    except NodeUnreachable:
        return None
