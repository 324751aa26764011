"""Offline verification of a committed block: trusting nothing but the genesis file, check that a block is
well formed, that its roots match its contents, and that more than two thirds of the power of the
validator set of its height signed its commit certificate; and, the same way, that a single transaction and
its receipt are final (`verify_receipt`, over a proof from GET /v1/txs/{hash}/proof).

The validator set of a height is followed from genesis: each committed validator change is itself checked
(its block's certificate, signed by the set of that block's height) before it is applied, and every header
commits to its set (`validators_hash`), so a node that leaves a change out makes verification fail rather
than pass. The usual light-client limit applies: validators that once held more than 2/3 of an old set
could, long after leaving it, certify a false history from that point on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor import codec
from corridor.client.errors import CorridorError
from corridor.consensus.certificate import CertificateError, CommitCertificate, verify_certificate
from corridor.consensus.validators import Validator, ValidatorSet
from corridor.ledger.amounts import format_amount, format_price
from corridor.ledger.governance import skip_reason, validators_hash
from corridor.hashing import merkle_root, sha256, verify_merkle_proof
from corridor.keys import format_address
from corridor.ledger.block import Block, Header, InvalidBlock, Receipt
from corridor.ledger.genesis import Genesis
from corridor.ledger.reserves import SUPPLY_LEAF_BYTES_MAX, SUPPLY_PROOF_FORMAT, SupplyLeaf, coverage_text
from corridor.ledger.tx import GovRegisterCurrency, GovSetValidator, SignedTx, TxError, decode_tx, signatures_valid, tx_to_json

BUNDLE_BYTES_MAX = 64 * 1024 * 1024


class VerificationError(CorridorError, ValueError):
    """The block, or its certificate, does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class VerifiedBlock:
    height: int
    hash: bytes
    tx_count: int
    signers: tuple[str, ...]
    signed_power: int
    total_power: int
    header: dict[str, Any]
    block: Block


ValidatorEntries = list[tuple[bytes, str, int]]


def genesis_validators(genesis: Genesis) -> ValidatorEntries:
    return sorted((v.public_key, v.name, v.power) for v in genesis.validators)


def verify_block_bundle(bundle: bytes, genesis: Genesis, validators: ValidatorEntries | None = None) -> VerifiedBlock:
    """Check a bundle from GET /v1/blocks/{height}/raw; `validators` is the set of its height (the genesis
    set when omitted). Raises VerificationError."""
    entries = genesis_validators(genesis) if validators is None else sorted(validators)
    try:
        document = codec.decode(bundle, BUNDLE_BYTES_MAX)
        block = Block.from_bytes(document["block"])
        certificate = CommitCertificate.from_bytes(document["certificate"])
        receipts = document["receipts"]
    except (codec.DecodeError, InvalidBlock, CertificateError, KeyError, TypeError) as exc:
        raise VerificationError(f"the bundle is malformed: {exc}") from exc
    header = block.header
    if header.chain_id != genesis.chain_id:
        raise VerificationError(f"the block is from chain {header.chain_id}, not {genesis.chain_id}")
    if merkle_root([tx.raw for tx in block.txs]) != header.txs_root or len(block.txs) != header.tx_count:
        raise VerificationError("the transactions do not match the header's txs_root")
    if merkle_root(list(block.evidence)) != header.evidence_root:
        raise VerificationError("the evidence does not match the header's evidence_root")
    if type(receipts) is not list or not all(type(r) is bytes for r in receipts) or merkle_root(receipts) != header.receipts_root:
        raise VerificationError("the receipts do not match the header's receipts_root")
    for tx in block.txs:
        if not signatures_valid(tx, genesis.chain_id):
            raise VerificationError(f"transaction {tx.hash.hex()} carries an invalid signature")
    if header.validators_hash != validators_hash(entries):
        raise VerificationError("the block was signed by another validator set than the one followed from genesis")
    try:
        signers, signed_power, total_power = check_certificate(certificate, entries, genesis.chain_id, header.height, block.hash)
    except VerificationError as exc:
        raise VerificationError(f"the commit certificate does not prove the block: {exc}") from exc
    return VerifiedBlock(header.height, block.hash, len(block.txs), signers, signed_power, total_power, header.to_json(), block)


def check_certificate(
    certificate: CommitCertificate, entries: ValidatorEntries, chain_id: str, height: int, block_hash: bytes
) -> tuple[tuple[str, ...], int, int]:
    """(signer names, signed power, total power) when `certificate` proves `block_hash` at `height` for the
    validator set `entries`; raises VerificationError naming what failed.

    `consensus.certificate.verify_certificate` alone decides; when it refuses, the certificate is walked
    again in the same order only to name the culprit by its address (a signer outside the set, a validator
    twice, a signature that does not verify, too little power)."""
    validators = ValidatorSet([Validator(name, key, power) for key, name, power in entries])
    try:
        verify_certificate(certificate, validators, chain_id, height, block_hash)
    except CertificateError as exc:
        raise VerificationError(str(exc)) from exc
    signers = tuple(validators.get(key).name for key, _ in certificate.signatures)
    signed_power = sum(validators.get(key).power for key, _ in certificate.signatures)
    return signers, signed_power, validators.total_power


def _apply_due(entries: ValidatorEntries, pending: dict[tuple[int, bytes], tuple[str, int]], height: int) -> ValidatorEntries:
    """The set after the pending changes effective at or before `height`, applied as the chain applies them
    (governance.end_block): in key order within a height, with the chain's own skip rule."""
    current = {key: (name, power) for key, name, power in entries}
    for effective, key in sorted(item for item in pending if item[0] <= height):
        name, power = pending.pop((effective, key))
        if skip_reason(set(current), key, power) is not None:
            continue
        if power == 0:
            current.pop(key, None)
        else:
            current[key] = (name, power)
    return sorted((key, name, power) for key, (name, power) in current.items())


def follow_validator_set(fetch_bundle: Any, history: list[dict[str, Any]], genesis: Genesis, height: int) -> ValidatorEntries:
    """The validator set of `height`, followed from genesis through the committed validator changes in
    `history` (GET /v1/governance), each verified in its own certified block fetched with `fetch_bundle`."""
    entries = genesis_validators(genesis)
    pending: dict[tuple[int, bytes], tuple[str, int]] = {}  # a later change for the same height and key replaces an earlier one
    for item in history:
        if item["type"] != "gov_set_validator" or item["height"] >= height:
            continue
        entries = _apply_due(entries, pending, item["height"])
        verified = verify_block_bundle(fetch_bundle(item["height"]), genesis, entries)
        if not 0 <= item["index"] < len(verified.block.txs):
            raise VerificationError(f"governance history points past the transactions of block {item['height']}")
        body = verified.block.txs[item["index"]].body
        if not isinstance(body, GovSetValidator):
            raise VerificationError(f"block {item['height']} holds no validator change at index {item['index']}")
        pending[(body.effective_height, body.validator_key)] = (body.validator_name, body.power)
    return _apply_due(entries, pending, height)


# Offline payment receipts ---------------------------------------------------------------------------------

RECEIPT_PROOF_FORMAT = "corridor/receipt-proof/v1"
HEADER_BYTES_MAX = 4096
RECEIPT_BYTES_MAX = 1024 * 1024
MERKLE_PATH_HASHES_MAX = 64


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A transaction and its receipt, proven final: in block `height` of `chain_id`, certified by validators
    holding `signed_power` of `total_power`. `decimals` holds every currency whose decimals the genesis
    file, or a verified registration, made known."""

    chain_id: str
    height: int
    index: int
    block_hash: bytes
    tx: SignedTx
    receipt: Receipt
    signers: tuple[str, ...]
    signed_power: int
    total_power: int
    decimals: dict[str, int]

    @property
    def tx_hash(self) -> bytes:
        return self.tx.hash

    @property
    def sender(self) -> str:
        """The address of the transaction's signer (for governance, its proposer)."""
        return format_address(self.tx.sender)

    def payments(self) -> list[dict[str, Any]]:
        """Who paid whom how much, in which currency: one entry per `transfer` event (a transfer, each leg
        of a swap) and per `payment` event (a cross-currency pay, with what it cost the payer)."""
        found = []
        for event in self.receipt.events:
            if event.get("kind") not in ("transfer", "payment"):
                continue
            entry = {"from": _address_text(event["from"]), "to": _address_text(event["to"]), "currency": event["currency"],
                     "amount_minor": event["amount_minor"], "amount": self.amount_text(event["amount_minor"], event["currency"])}
            if event["kind"] == "payment":
                entry.update({"sent_currency": event["sent_currency"], "sent_minor": event["sent_minor"],
                              "sent": self.amount_text(event["sent_minor"], event["sent_currency"]), "via": event["via"]})
            found.append(entry)
        return found

    def amount_text(self, minor: int, currency: str) -> str:
        """`1250` USD is "12.50 USD"; a currency of unknown decimals is shown in minor units."""
        if currency in self.decimals:
            return f"{format_amount(minor, self.decimals[currency])} {currency}"
        return f"{minor} minor units of {currency}"

    def summary(self) -> list[str]:
        """One sentence per event of the receipt."""
        return [describe_event(event, self) for event in self.receipt.events] or [f"{self.tx.body.TYPE} applied (no events)"]

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": True,
            "final": True,
            "chain_id": self.chain_id,
            "height": self.height,
            "index": self.index,
            "block_hash": self.block_hash.hex(),
            "tx_hash": self.tx_hash.hex(),
            "tx": tx_to_json(self.tx),
            "payments": self.payments(),
            "summary": self.summary(),
            "events": [_event_json(event) for event in self.receipt.events],
            "signers": list(self.signers),
            "signed_power": self.signed_power,
            "total_power": self.total_power,
        }


def _address_text(value: Any) -> str:
    return format_address(value) if type(value) is bytes and len(value) == 20 else str(value)


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event as JSON: `from`, `to` and `account` as cor1... addresses, other byte strings as hex."""
    return {key: _address_text(value) if key in ("from", "to", "account", "auditor") else value.hex() if type(value) is bytes
            else [item.hex() if type(item) is bytes else item for item in value] if type(value) is list else value  # a seizure's approvers
            for key, value in event.items()}


def describe_event(event: dict[str, Any], receipt: VerifiedReceipt) -> str:
    """A receipt event as a sentence, amounts in major units where the currency's decimals are known."""
    e = _event_json(event)
    amount = receipt.amount_text
    kind = e.get("kind")
    try:
        if kind == "transfer":
            return f"{e['from']} paid {e['to']} {amount(e['amount_minor'], e['currency'])}"
        if kind == "payment":
            route = f" via {e['via']}" if e["via"] else ""
            return (f"{e['from']} paid {e['to']} {amount(e['amount_minor'], e['currency'])}, "
                    f"costing {amount(e['sent_minor'], e['sent_currency'])}{route}")
        if kind == "mint":
            return f"{amount(e['amount_minor'], e['currency'])} minted to {e['to']}"
        if kind == "burn":
            return f"{e['from']} redeemed (burned) {amount(e['amount_minor'], e['currency'])}"
        if kind == "clawback":
            return f"{amount(e['amount_minor'], e['currency'])} clawed back from {e['from']} to the issuer {e['to']}"
        if kind == "forced_burn":
            return f"{amount(e['amount_minor'], e['currency'])} of {e['from']} destroyed by its issuer (forced burn)"
        if kind == "lawful_order":  # ledger/orders.py
            expiry = f"expires at {e['order_expiry_ms']} ms" if e["order_expiry_ms"] else "no expiry"
            approval = {"governance": "approved by governance", "issuer": "no approvals required"}.get(
                e["approved_by"], f"approved by {len(e['approvers'])} compliance key(s), {e['approvals_required']} required")
            where = f" in {e['currency']}" if e["currency"] else ""
            return (f"{e['action'].replace('_', ' ')} of {e['account']}{where} by order of {e['authority']} "
                    f"(document {e['order_hash']}, {expiry}; {approval})")
        if kind == "compliance_keys_set":
            return (f"{e['currency']} compliance keys: {len(e['compliance_keys'])}, of which "
                    f"{e['compliance_threshold']} approve each seizure")
        if kind == "reserve_attested":
            as_of = f" as of {e['reserve_as_of_ms']} ms" if "reserve_as_of_ms" in e else ""
            by = f" by the auditor {e['account']}" if "account" in e else ""
            return f"reserve of {e['currency']} attested at {amount(e['reserve_minor'], e['currency'])}{as_of}{by} (report {e['report_hash']})"
        if kind == "auditor_changed":
            limit = f"{e['reserve_max_age_ms']} ms" if e["reserve_max_age_ms"] else "never"
            return f"{e['currency']} reserve auditor is now {e['account']}; an attestation goes stale after {limit}"
        if kind in ("authorized", "deauthorized", "frozen", "unfrozen", "distributor_licensed", "distributor_revoked"):
            return f"{e['account']} {kind.replace('_', ' ')} in {e['currency']}"
        if kind in ("paused", "resumed"):
            return f"{e['currency']} {kind}"
        if kind == "licence_granted":
            where = f" under {e['jurisdiction']}" if e["jurisdiction"] else ""
            until = f" until {e['expires_at_ms']} ms" if e["expires_at_ms"] else ", no expiry"
            return f"{e['account']} licensed to {e['scope']} {e['currency']}{where}{until}"
        if kind == "licence_revoked":
            return f"{e['account']}'s {e['currency']} {e['scope']} licence revoked (reason {e['reason_hash']})"
        if kind == "licence_required_set":
            return f"{e['currency']} {'requires' if e['required'] else 'no longer requires'} {e['scope']} licences"
        if kind == "policy_set":
            return (f"{e['currency']} policy: payments at most {amount(e['transfer_max_minor'], e['currency'])} (0: no cap), "
                    f"travel rule above {amount(e['travel_rule_threshold_minor'], e['currency'])} (0: never), "
                    f"distributors only: {'yes' if e['distributors_only'] else 'no'}")
        if kind == "offer_taken":
            return (f"{e['account']} paid {amount(e['paid_minor'], e['paid_currency'])} and bought "
                    f"{amount(e['bought_minor'], e['bought_currency'])} from the book")
        if kind == "offer_filled":
            return (f"offer {e['offer_id']} of {e['account']} sold {amount(e['sold_minor'], e['sold_currency'])} for "
                    f"{amount(e['received_minor'], e['received_currency'])}")
        if kind == "offer_removed":
            return f"offer {e['offer_id']} of {e['account']} removed; {amount(e['refunded_minor'], e['currency'])} returned to it"
        if kind == "offer_placed":
            sell, buy = e["sell_currency"], e["buy_currency"]
            if sell in receipt.decimals and buy in receipt.decimals:
                price = f"{format_price(e['price_num'], e['price_den'], receipt.decimals[sell], receipt.decimals[buy])} {buy} per {sell}"
            else:
                price = f"{e['price_num']}/{e['price_den']} {buy} minor units per {sell} minor unit"
            return f"offer {e['offer_id']} of {e['account']} rests in the book: {amount(e['remaining_minor'], sell)} for {buy} at {price}"
        if kind == "offer_unplaced":
            return f"{amount(e['refunded_minor'], e['currency'])} not sold returned to {e['account']}"
        if kind == "currency_registered":
            auditor = f", reserve auditor {e['auditor']}" if "auditor" in e else ""
            return f"currency {e['currency']} registered ({e['decimals']} decimals), issuer {e['account']}{auditor}"
        if kind == "issuer_changed":
            return f"{e['currency']} handed to the issuer {e['account']}"
        if kind == "sanctioned":
            left = "; more of its offers are left for the book to remove" if e["offers_remaining"] else ""
            return (f"{e['account']} put on the consortium sanctions list (order {e['reason_hash']}); "
                    f"{e['offers_removed']} resting offer(s) cancelled{left}")
        if kind == "unsanctioned":
            return f"{e['account']} taken off the consortium sanctions list (order {e['reason_hash']})"
        if kind == "redemption_requested":
            return (f"{e['account']} asked to redeem {amount(e['amount_minor'], e['currency'])} (request {e['redemption_id']}, "
                    f"deadline {e['deadline_ms']} ms)")
        if kind in ("redemption_fulfilled", "redemption_rejected"):
            late = " (late)" if e["late"] else ""
            what = f"paid out and burned (payout {e['payout_reference']})" if kind == "redemption_fulfilled" else f"rejected and returned (reason {e['reason_hash']})"
            return f"redemption {e['redemption_id']} of {e['account']}: {amount(e['amount_minor'], e['currency'])} {what}{late}"
        if kind == "redemption_cancelled":
            return f"redemption {e['redemption_id']} cancelled by {e['account']}; {amount(e['amount_minor'], e['currency'])} returned"
        if kind == "redemption_deadline_set":
            return f"{e['currency']} redemption deadline set to {e['redemption_deadline_ms']} ms"
        if kind == "validator_change_scheduled":
            return f"validator {e['validator_name']} ({e['validator_key'][:16]}…) set to power {e['power']} from height {e['effective_height']}"
    except (KeyError, TypeError, ValueError):
        pass  # an event of an unexpected shape is shown as its fields below
    fields = ", ".join(f"{key}={value}" for key, value in e.items() if key != "kind")
    return f"{kind}: {fields}"


def _malformed(what: str) -> VerificationError:
    return VerificationError(f"the proof is malformed: {what}")


def _get(document: Any, path: str, kind: type, label: str = "") -> Any:
    """document[a][b]... for a dotted `path`, which must be of type `kind`; `label` names the document in
    messages (an item of a list, say)."""
    value, shown = document, f"{label}.{path}" if label else path
    for name in path.split("."):
        if type(value) is not dict or name not in value:
            raise _malformed(f"it has no {shown}")
        value = value[name]
    if type(value) is not kind:
        raise _malformed(f"{shown} is not {'a whole number' if kind is int else 'text' if kind is str else 'a ' + kind.__name__}")
    if kind is int and not 0 <= value <= codec.INT_MAX:
        raise _malformed(f"{shown} is out of range")
    return value


def _hex(document: Any, path: str, length: int | None = None, limit: int = BUNDLE_BYTES_MAX, label: str = "") -> bytes:
    text = _get(document, path, str, label)
    shown = f"{label}.{path}" if label else path
    if len(text) > 2 * limit:
        raise _malformed(f"{shown} is longer than any Corridor object")
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise _malformed(f"{shown} is not hexadecimal") from None
    if length is not None and len(value) != length:
        raise _malformed(f"{shown} is not {length} bytes")
    return value


def _merkle_path(document: Any, name: str, index: int, leaf_count: int, failure: str) -> list[bytes]:
    """The audit path `document[name]`, which must be for leaf `index` of `leaf_count`; `failure` is the
    sentence that says which root it then cannot reach."""
    path = _get(document, f"{name}.path", list)
    if len(path) > MERKLE_PATH_HASHES_MAX:
        raise _malformed(f"{name}.path is longer than any tree's")
    claimed_index, claimed_count = _get(document, f"{name}.leaf_index", int), _get(document, f"{name}.leaf_count", int)
    if (claimed_index, claimed_count) != (index, leaf_count):
        raise VerificationError(f"{failure}: {name} is for leaf {claimed_index} of {claimed_count}, "
                                f"not leaf {index} of the {leaf_count} the header counts")
    return [_hex({"path": {str(i): item}}, f"path.{i}", 32, label=name) for i, item in enumerate(path)]


def _decode_header(raw: bytes) -> Header:
    """A header's canonical bytes, decoded and checked field by field as Block.from_bytes checks a block's."""
    try:
        header_map = codec.decode(raw, HEADER_BYTES_MAX)
        return Block.from_bytes(codec.encode({"evidence": [], "header": header_map, "txs": []})).header
    except (codec.DecodeError, InvalidBlock, ValueError) as exc:
        raise _malformed(f"header.raw is not a block header ({exc})") from None


def _decode_receipt(raw: bytes) -> Receipt:
    try:
        doc = codec.decode(raw, RECEIPT_BYTES_MAX)
    except codec.DecodeError as exc:
        raise _malformed(f"receipt.raw is not canonical ({exc.message})") from None
    fields = {"code": str, "events": list, "height": int, "index": int, "tx_hash": bytes}
    if type(doc) is not dict or set(doc) != set(fields) or any(type(doc[name]) is not kind for name, kind in fields.items()):
        raise _malformed("receipt.raw is not a receipt")
    if not all(type(event) is dict and type(event.get("kind")) is str for event in doc["events"]):
        raise _malformed("receipt.raw holds an event that is not a map with a kind")
    return Receipt.from_map(doc)


def _governance(proof: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """The proof's governance history (as GET /v1/governance lists it) and a fetch_bundle over its blocks."""
    history = _get(proof, "governance.history", list)
    for position, item in enumerate(history):
        if not (type(item) is dict and type(item.get("height")) is int and type(item.get("index")) is int
                and type(item.get("type")) is str):
            raise _malformed(f"governance.history[{position}] is not a {{height, index, type}} entry")
    bundles: dict[int, bytes] = {}
    for position, item in enumerate(_get(proof, "governance.blocks", list)):
        label = f"governance.blocks[{position}]"
        bundles[_get(item, "height", int, label)] = _hex(item, "bundle", label=label)

    def fetch_bundle(height: int) -> bytes:
        if height not in bundles:
            raise VerificationError(f"the proof lacks block {height}, which its governance history names")
        return bundles[height]

    return history, fetch_bundle


def _registered_decimals(genesis: Genesis, history: list[dict[str, Any]], fetch_bundle: Any, height: int,
                         wanted: set[str]) -> dict[str, int]:
    """The decimals of the currencies in `wanted` that governance registered at or before `height`, each read
    from its own verified block (a currency's decimals never change after registration)."""
    found: dict[str, int] = {}
    for item in history:
        if item["type"] != "gov_register_currency" or item["height"] > height or not wanted - set(found):
            continue
        entries = follow_validator_set(fetch_bundle, history, genesis, item["height"])
        verified = verify_block_bundle(fetch_bundle(item["height"]), genesis, entries)
        if verified.height != item["height"] or not 0 <= item["index"] < len(verified.block.txs):
            raise VerificationError(f"governance history points past the transactions of block {item['height']}")
        body = verified.block.txs[item["index"]].body
        if isinstance(body, GovRegisterCurrency) and body.currency in wanted:
            found.setdefault(body.currency, body.decimals)
    return found


def _currencies_of(events: tuple[dict[str, Any], ...]) -> set[str]:
    return {value for event in events for key, value in event.items() if key.endswith("currency") and type(value) is str and value}


def verify_receipt(proof: Any, genesis: Genesis) -> VerifiedReceipt:
    """Check a receipt proof (the JSON document of GET /v1/txs/{hash}/proof) trusting nothing but `genesis`.

    In order: the header is of the genesis chain; it hashes to the certificate's block hash; the validator
    set of its height is followed from genesis through the proof's certified validator-change blocks
    (`follow_validator_set`, as `corridor verify-block` does) and the header commits to that set; the
    certificate carries valid precommits of distinct members holding more than 2/3 of its power; the
    receipt's Merkle path reaches the header's `receipts_root`; the receipt is of this height and index and
    names the transaction whose bytes the proof holds; those bytes reach `txs_root` and their signatures
    verify. The decoded views in the proof are for people and are not read. Raises VerificationError
    with a one-line reason."""
    if type(proof) is not dict:
        raise _malformed("it is not a JSON object")
    if proof.get("format") != RECEIPT_PROOF_FORMAT:
        raise _malformed(f"its format is {proof.get('format')!r}, not {RECEIPT_PROOF_FORMAT!r}")
    header_raw = _hex(proof, "header.raw", limit=HEADER_BYTES_MAX)
    receipt_raw = _hex(proof, "receipt.raw", limit=RECEIPT_BYTES_MAX)
    tx_raw = _hex(proof, "tx.raw")
    index = _get(proof, "index", int)
    certificate = _certificate_of(proof)
    history, fetch_bundle = _governance(proof)

    header = _decode_header(header_raw)
    height = header.height
    if header.chain_id != genesis.chain_id:
        raise VerificationError(f"the proof is from chain {header.chain_id}, but the genesis file is of chain {genesis.chain_id}")
    if certificate.block_hash != header.hash:
        raise VerificationError("header does not match the certificate's block hash")
    if certificate.height != height:
        raise VerificationError(f"the certificate is for height {certificate.height}, the header for height {height}")
    try:
        entries = follow_validator_set(fetch_bundle, history, genesis, height)
    except VerificationError as exc:
        raise VerificationError(f"the validator set of height {height} cannot be followed from genesis: {exc}") from exc
    if header.validators_hash != validators_hash(entries):
        raise VerificationError(f"block {height} was signed by another validator set than the one followed from genesis "
                                "(the proof leaves out a validator change)")
    signers, signed_power, total_power = check_certificate(certificate, entries, genesis.chain_id, height, header.hash)

    if not 0 <= index < header.tx_count:
        raise VerificationError(f"index {index} is outside block {height}, which holds {header.tx_count} transaction(s)")
    not_in_receipts = f"receipt is not in block {height}'s receipts root"
    receipt_path = _merkle_path(proof, "receipt_proof", index, header.tx_count, not_in_receipts)
    if not verify_merkle_proof(receipt_raw, index, header.tx_count, receipt_path, header.receipts_root):
        raise VerificationError(not_in_receipts)
    receipt = _decode_receipt(receipt_raw)
    if receipt.height != height or receipt.index != index:
        raise VerificationError(f"the receipt is of transaction {receipt.index} of block {receipt.height}, not {index} of {height}")
    claimed = proof.get("tx_hash")
    if claimed is not None and claimed != receipt.tx_hash.hex():
        raise VerificationError(f"the proof claims transaction {claimed}, but its receipt is of {receipt.tx_hash.hex()}")
    if sha256(tx_raw) != receipt.tx_hash:
        raise VerificationError(f"transaction bytes do not hash to {receipt.tx_hash.hex()}, the transaction the receipt is of")
    not_in_txs = f"transaction is not in block {height}'s transactions root"
    tx_path = _merkle_path(proof, "tx_proof", index, header.tx_count, not_in_txs)
    if not verify_merkle_proof(tx_raw, index, header.tx_count, tx_path, header.txs_root):
        raise VerificationError(not_in_txs)
    try:
        tx = decode_tx(tx_raw)
    except TxError as exc:
        raise VerificationError(f"the transaction bytes do not decode: {exc.message}") from exc
    if not signatures_valid(tx, genesis.chain_id):
        raise VerificationError(f"the transaction's signature does not verify for chain {genesis.chain_id}")

    decimals = {currency.code: currency.decimals for currency in genesis.currencies}
    unknown = _currencies_of(receipt.events) - set(decimals)
    if unknown:
        decimals.update(_registered_decimals(genesis, history, fetch_bundle, height, unknown))
    return VerifiedReceipt(genesis.chain_id, height, index, header.hash, tx, receipt, signers, signed_power, total_power, decimals)


def _certificate_of(proof: dict[str, Any]) -> CommitCertificate:
    """The certificate from its JSON view (GET /v1/blocks/{height}): height, round, block_hash, signatures."""
    pairs = []
    for position, item in enumerate(_get(proof, "certificate.signatures", list)):
        label = f"certificate.signatures[{position}]"
        pairs.append((_hex(item, "validator", 32, label=label), _hex(item, "signature", 64, label=label)))
    return CommitCertificate(_get(proof, "certificate.height", int), _get(proof, "certificate.round", int),
                             _hex(proof, "certificate.block_hash", 32), tuple(pairs))


# Supply and reserves from a header alone (ledger/reserves.py) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedSupply:
    """One currency's supply and attested reserve after a block, as its header commits to them."""

    code: str
    supply_minor: int
    reserve_minor: int
    reserve_as_of_ms: int
    leaf_index: int

    @property
    def coverage(self) -> str | None:
        """Reserve over supply, four decimal places rounded down ("1.0000": exactly covered); None without supply."""
        return coverage_text(self.reserve_minor, self.supply_minor)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "supply_minor": self.supply_minor, "reserve_minor": self.reserve_minor,
                "reserve_as_of_ms": self.reserve_as_of_ms, "coverage": self.coverage}


def _supply_leaf(raw: bytes, index: int) -> VerifiedSupply:
    try:
        leaf = SupplyLeaf.from_bytes(raw)
    except ValueError as exc:
        raise VerificationError(f"supply leaf {index} is malformed: {exc}") from None
    return VerifiedSupply(leaf.code, leaf.supply_minor, leaf.reserve_minor, leaf.reserve_as_of_ms, index)


def verify_supply(header: Header, leaves_or_proof: Any) -> list[VerifiedSupply]:
    """Check per-currency supply and reserve against a block header alone (its `supply_root`), and return them.

    `leaves_or_proof` is either every leaf of the header's supply tree (a list of bytes, as the store keeps
    them: then the list must be complete, and the root is recomputed), or the JSON document of
    GET /v1/supply/{height} (all currencies or `?currency=C`): each entry's leaf is checked with its Merkle
    audit path. The header must itself be trusted: from `verify_block_bundle`, or hashing to a certified
    block hash. Raises VerificationError with a one-line reason."""
    if isinstance(leaves_or_proof, (list, tuple)):
        leaves = list(leaves_or_proof)
        if not all(type(raw) is bytes for raw in leaves):
            raise _malformed("the supply leaves are not byte strings")
        if merkle_root(leaves) != header.supply_root:
            raise VerificationError(f"the supply leaves do not match block {header.height}'s supply_root")
        entries = [_supply_leaf(raw, index) for index, raw in enumerate(leaves)]
    elif isinstance(leaves_or_proof, dict):
        document = leaves_or_proof
        if document.get("format") != SUPPLY_PROOF_FORMAT:
            raise _malformed(f"its format is {document.get('format')!r}, not {SUPPLY_PROOF_FORMAT!r}")
        entries = []
        for position, item in enumerate(_get(document, "currencies", list)):
            label = f"currencies[{position}]"
            raw = _hex(item, "leaf.raw", limit=SUPPLY_LEAF_BYTES_MAX, label=label)
            index, count = _get(item, "leaf.leaf_index", int, label), _get(item, "leaf.leaf_count", int, label)
            path = _get(item, "leaf.path", list, label)
            if len(path) > MERKLE_PATH_HASHES_MAX:
                raise _malformed(f"{label}.leaf.path is longer than any tree's")
            hashes = [_hex({"path": {str(i): node}}, f"path.{i}", 32, label=label) for i, node in enumerate(path)]
            if not verify_merkle_proof(raw, index, count, hashes, header.supply_root):
                raise VerificationError(f"{label} is not in block {header.height}'s supply_root")
            entries.append(_supply_leaf(raw, index))
    else:
        raise _malformed("give the supply leaves (a list of bytes) or a supply proof (GET /v1/supply/{height})")
    codes = [entry.code for entry in entries]
    if codes != sorted(codes, key=str.encode) or len(set(codes)) != len(codes):
        raise VerificationError("the supply leaves are not one per currency in code order")
    return entries
