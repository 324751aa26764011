"""Every seizure with its lawful order, for an auditor: what `corridor audit export` writes.

A freeze, clawback, forced burn or sanctions listing ends its receipt with a `lawful_order` event
(ledger/orders.py): the action, currency, account, amount, the order's authority, hash and expiry, and the
keys that approved it. `lawful_orders` reads the receipts of a range of blocks from a node (GET
/v1/blocks/{height}/raw: the block, its receipts and its commit certificate, in their canonical bytes) and
returns one record per such event. Given the chain's genesis file it trusts the node for nothing: each
block is checked offline as `corridor verify-block` checks it (client/verify.py: the roots, the receipts
root over the very receipt bytes read, every signature, and the certificate of the validator set followed
from genesis), so a node cannot add, drop or alter a seizure without the export failing.

    from corridor.client import Client
    from corridor.client.audit import lawful_orders, to_csv

    document = lawful_orders(Client(url), 1, 5_000, currency="USD", genesis="genesis.json")
    open("orders.csv", "w").write(to_csv(document))
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from corridor import codec
from corridor.client.errors import InvalidInput
from corridor.client.verify import BUNDLE_BYTES_MAX, VerificationError, follow_validator_set, verify_block_bundle
from corridor.keys import address_of, format_address
from corridor.ledger.amounts import format_amount
from corridor.ledger.block import Block, InvalidBlock, Receipt

if TYPE_CHECKING:
    from corridor.client.http import Client
    from corridor.ledger.genesis import Genesis

AUDIT_FORMAT = "corridor/lawful-orders/v1"
RECEIPT_BYTES_MAX = 1024 * 1024
CSV_COLUMNS = (
    "height", "index", "time", "time_ms", "tx_hash", "tx_type", "action", "currency", "account", "amount_minor", "amount",
    "authority", "order_hash", "order_expiry_ms", "order_expiry", "approved_by", "approvals_required", "approvers",
    "approver_addresses", "signer", "signed_by", "reason_hash", "block_hash",
)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decode_bundle(bundle: bytes) -> tuple[Block, list[Receipt]]:
    """The block and receipts of a bundle, decoded strictly but not verified."""
    try:
        document = codec.decode(bundle, BUNDLE_BYTES_MAX)
        block = Block.from_bytes(document["block"])
        raw_receipts = document["receipts"]
        if type(raw_receipts) is not list or len(raw_receipts) != len(block.txs):
            raise ValueError("one receipt per transaction")
        receipts = [Receipt.from_map(codec.decode(raw, RECEIPT_BYTES_MAX)) for raw in raw_receipts]
    except (codec.DecodeError, InvalidBlock, KeyError, TypeError, ValueError) as exc:
        raise VerificationError(f"the node's block bundle is malformed: {exc}") from exc
    return block, receipts


class ValidatorSets:
    """The validator set of each height, followed from genesis (client/verify.follow_validator_set) but
    worked out again only when it can differ: a height's set depends on the validator changes committed below
    it and, of those, on the ones already in effect, so heights with the same counts share one set."""

    def __init__(self, client: Client, genesis: Genesis) -> None:
        self._client, self._genesis = client, genesis
        self._history = client.governance()["history"]
        self._changes = [item for item in self._history if item["type"] == "gov_set_validator"]
        self._bundles: dict[int, bytes] = {}
        self._effective: dict[tuple[int, int], int] = {}
        self._sets: dict[tuple[int, int], Any] = {}

    def bundle(self, height: int) -> bytes:
        """A block bundle of a validator change, fetched once and kept."""
        if height not in self._bundles:
            self._bundles[height] = self._client.block_bundle(height)
        return self._bundles[height]

    def fetch(self, height: int) -> bytes:
        """Any block bundle: a kept one, else fetched (and not kept)."""
        return self._bundles[height] if height in self._bundles else self._client.block_bundle(height)

    def _effective_height(self, item: dict[str, Any]) -> int:
        key = (item["height"], item["index"])
        if key not in self._effective:
            block, _ = _decode_bundle(self.bundle(item["height"]))
            if not 0 <= item["index"] < len(block.txs) or block.txs[item["index"]].body.TYPE != "gov_set_validator":
                raise VerificationError(f"block {item['height']} holds no validator change at index {item['index']}")
            self._effective[key] = block.txs[item["index"]].body.effective_height
        return self._effective[key]

    def at(self, height: int) -> Any:
        committed = [item for item in self._changes if item["height"] < height]
        due = sum(1 for item in committed if self._effective_height(item) <= height)
        key = (len(committed), due)
        if key not in self._sets:
            self._sets[key] = follow_validator_set(self.bundle, self._history, self._genesis, height)
        return self._sets[key]


def _record(height: int, index: int, block: Block, receipt: Receipt, event: dict[str, Any], decimals: dict[str, int]) -> dict[str, Any]:
    tx = block.txs[index]
    code, amount_minor = event["currency"], event["amount_minor"]
    amount = format_amount(amount_minor, decimals[code]) if code in decimals and amount_minor else ""
    expiry = event["order_expiry_ms"]
    return {
        "height": height,
        "index": index,
        "time_ms": block.header.time_ms,
        "time": _utc(block.header.time_ms),
        "block_hash": block.hash.hex(),
        "tx_hash": receipt.tx_hash.hex(),
        "tx_type": tx.body.TYPE,
        "action": event["action"],
        "currency": code,
        "account": format_address(event["account"]),
        "amount_minor": amount_minor,
        "amount": amount,
        "authority": event["authority"],
        "order_hash": event["order_hash"].hex(),
        "order_expiry_ms": expiry,
        "order_expiry": _utc(expiry) if expiry else "",
        "approved_by": event["approved_by"],
        "approvals_required": event["approvals_required"],
        "approvers": [key.hex() for key in event["approvers"]],
        "approver_addresses": [format_address(address_of(key)) for key in event["approvers"]],
        "signer": format_address(tx.sender),
        "signed_by": [key.hex() for key in tx.signers()],  # for a listing: the validators whose quorum approved it
        "reason_hash": getattr(tx.body, "reason_hash", b"").hex(),
    }


def lawful_orders(client: Client, from_height: int = 1, to_height: int | None = None, currency: str | None = None,
                  genesis: Genesis | str | Path | None = None, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Every `lawful_order` record of blocks `from_height` to `to_height` (default: the latest), of `currency`
    only when given, oldest first, in a document with the range and whether it was `verified`.

    With `genesis` (a Genesis or the path of genesis.json) each block is verified offline against it before
    its receipts are read; VerificationError names the first block that fails. `progress(height)` is called
    after each block. Raises InvalidInput for a range outside the chain."""
    from corridor.client.http import _genesis_of

    tip = client.status()["height"]
    last = tip if to_height is None else to_height
    if not 1 <= from_height <= last or last > tip:
        raise InvalidInput(f"the range {from_height} to {last} is outside the chain's blocks 1 to {tip}")
    code = currency.upper() if currency else None
    decimals = {item["code"]: item["decimals"] for item in client.currencies()}
    known = _genesis_of(genesis) if genesis is not None else None
    sets = ValidatorSets(client, known) if known is not None else None
    chain_id, records = None, []
    for height in range(from_height, last + 1):
        bundle = sets.fetch(height) if sets is not None else client.block_bundle(height)
        if known is not None and sets is not None:
            verified = verify_block_bundle(bundle, known, sets.at(height))
            if verified.height != height:
                raise VerificationError(f"the node answered block {verified.height} for height {height}")
        block, receipts = _decode_bundle(bundle)
        if block.header.height != height:
            raise VerificationError(f"the node answered block {block.header.height} for height {height}")
        chain_id = block.header.chain_id
        for index, receipt in enumerate(receipts):
            for event in receipt.events:
                if event.get("kind") == "lawful_order" and code in (None, event["currency"]):
                    records.append(_record(height, index, block, receipt, event, decimals))
        if progress is not None:
            progress(height)
    return {
        "format": AUDIT_FORMAT,
        "chain_id": chain_id,
        "from_height": from_height,
        "to_height": last,
        "currency": code,
        "verified": known is not None,
        "count": len(records),
        "records": records,
    }


def to_csv(document: dict[str, Any]) -> str:
    """The records of `lawful_orders` as CSV, one row each, lists joined with spaces."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in document["records"]:
        writer.writerow({name: " ".join(value) if isinstance(value, list) else value for name, value in item.items()})
    return out.getvalue()
