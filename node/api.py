"""The HTTP JSON API (docs/api.md). Every error is `{"error": {"code", "message"}}` with a 4xx/5xx status;
internal faults are logged with their traceback and never shown to a client."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from importlib import resources
from typing import Any

from aiohttp import web

from corridor import codec
from corridor.consensus.certificate import CommitCertificate
from corridor.consensus.evidence import Equivocation
from corridor.hashing import merkle_proof
from corridor.keys import AddressError, format_address, parse_address
from corridor.ledger import fx, governance, reserves, sanctions
from corridor.ledger import redemption
from corridor.ledger import corridors
from corridor.ledger import orders
from corridor.ledger import licences
from corridor.ledger.amounts import format_amount
from corridor.ledger.block import Block, Receipt
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, TxError, decode_tx, tx_to_json
from corridor.node.chain import Chain
from corridor.node.config import NodeConfig
from corridor.node.runner import Runner
from corridor.node.verifier import ArrivalOrder, BatchVerifier, Ticket

log = logging.getLogger(__name__)
CHAIN = web.AppKey("chain", Chain)
RUNNER = web.AppKey("runner", Runner)
CONFIG = web.AppKey("config", NodeConfig)
VERIFIER = web.AppKey("verifier", BatchVerifier)
ARRIVAL_ORDER = web.AppKey("arrival_order", ArrivalOrder)

ADMIT_CHUNK_TXS = 64  # a batch's admission yields to the loop after this many transactions
HEIGHT_PATTERN = re.compile(r"[0-9]{1,18}")
MALFORMED = frozenset(
    {
        Refusal.BAD_ENCODING,
        Refusal.NON_CANONICAL,
        Refusal.BAD_SIGNATURE,
        Refusal.BAD_FIELD,
        Refusal.UNKNOWN_TX_TYPE,
    }
)


def http_status(refusal: Refusal) -> int:
    """The one place a refusal becomes an HTTP status."""
    if refusal in MALFORMED:
        return 400
    if refusal is Refusal.TOO_LARGE:
        return 413
    if refusal is Refusal.DUPLICATE:
        return 409
    if refusal is Refusal.SENDER_QUEUE_FULL:
        return 429
    if refusal is Refusal.MEMPOOL_FULL:
        return 503
    return 422


class ApiError(Exception):
    """A request refused with a stable code, rendered by the error middleware."""

    def __init__(self, http_status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message, self.extra = http_status, code, message, extra


def refusal_error(refusal: Refusal, message: str | None = None, **extra: Any) -> ApiError:
    return ApiError(http_status(refusal), refusal.code, message or refusal.sentence, **extra)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, **extra}


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(error_body(exc.code, exc.message, **exc.extra), status=exc.http_status)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(error_body("too_large", "The request body is larger than the limit."), status=413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "bad_request")
        return web.json_response(error_body(code, exc.reason), status=exc.status)
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path)
        return web.json_response(error_body("internal", "The node failed to serve this request."), status=500)


def value_to_json(value: Any) -> Any:
    """Events and receipts as JSON: bytes as hex, lists and maps element-wise."""
    if type(value) is bytes:
        return value.hex()
    if type(value) is list or type(value) is tuple:
        return [value_to_json(item) for item in value]
    if type(value) is dict:
        return {key: value_to_json(item) for key, item in value.items()}
    return value


ADDRESS_EVENT_FIELDS = frozenset({"from", "to", "account", "auditor"})


def event_to_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event with its account fields (from, to, account) shown as addresses."""
    return {
        key: format_address(item) if key in ADDRESS_EVENT_FIELDS and type(item) is bytes else value_to_json(item)
        for key, item in event.items()
    }


def receipt_to_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "tx_hash": receipt.tx_hash.hex(),
        "height": receipt.height,
        "index": receipt.index,
        "code": receipt.code,
        "events": [event_to_json(event) for event in receipt.events],
    }


def currency_to_json(currency: Currency, distributors: list[bytes], now_ms: int = 0) -> dict[str, Any]:
    return {
        "code": currency.code,
        "decimals": currency.decimals,
        "issuer": format_address(currency.issuer),
        "supply_minor": currency.supply_minor,
        "supply": format_amount(currency.supply_minor, currency.decimals),
        "reserve_minor": currency.reserve_minor,
        "reserve": format_amount(currency.reserve_minor, currency.decimals),
        "reserve_report_hash": currency.reserve_report_hash.hex(),
        "reserve_height": currency.reserve_height,
        "holders_need_authorization": currency.holders_need_authorization,
        "paused": currency.paused,
        "transfer_max_minor": currency.transfer_max_minor,
        "travel_rule_threshold_minor": currency.travel_rule_threshold_minor,
        "distributors_only": currency.distributors_only,
        "redemption_deadline_ms": currency.redemption_deadline_ms,
        "distributors": [format_address(address) for address in distributors],
        **reserves.reserve_view(currency, now_ms),  # auditor, attestation as-of time, age, stale flag, coverage
    }


def _parse_hash(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise ApiError(400, "bad_hash", "A transaction hash is 64 hexadecimal characters.")
    return value


async def _read_txs(request: web.Request) -> tuple[list[bytes], bool]:
    """The raw transactions in a POST body and whether the body was a batch."""
    limits = request.app[CONFIG].limits
    body = await request.read()
    if request.content_type == "application/msgpack":
        return [body], False
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_json", "The body is neither application/msgpack nor JSON.") from exc
    if type(document) is dict and set(document) == {"tx"} and type(document["tx"]) is str:
        items, batch = [document["tx"]], False
    elif type(document) is dict and set(document) == {"txs"} and type(document["txs"]) is list:
        items, batch = document["txs"], True
        if len(items) > limits.http_batch_txs_max:
            raise ApiError(413, "too_many_txs", f"A batch holds at most {limits.http_batch_txs_max} transactions.")
    else:
        raise ApiError(400, "bad_json", 'A JSON body is {"tx": "<hex>"} or {"txs": ["<hex>", ...]}.')
    try:
        return [bytes.fromhex(item) for item in items], batch
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_hex", "Each transaction is a string of hexadecimal digits.") from exc


def _admit(chain: Chain, tx: SignedTx | ApiError, signature_ok: bool | None = None) -> tuple[bytes | None, ApiError | None]:
    """Admit a decoded transaction (or pass on why it did not decode): its hash and what went wrong."""
    if isinstance(tx, ApiError):
        return None, tx
    refusal = chain.submit(tx, signature_ok=signature_ok)
    if refusal is Refusal.GOVERNANCE_QUORUM_MISSING:
        missing = governance.missing_signers(chain.committed_state(), tx)
        names = ", ".join(name for _, name, _ in missing)
        return tx.hash, refusal_error(refusal, f"{refusal.sentence} Missing signatures of: {names}.", hash=tx.hash.hex(),
                                      missing=[{"public_key": key.hex(), "name": name, "power": power} for key, name, power in missing])
    if refusal is not None:
        return tx.hash, refusal_error(refusal, hash=tx.hash.hex())
    return tx.hash, None


async def _admit_batch(request: web.Request, decoded: list[SignedTx | ApiError], ticket: Ticket) -> list[dict[str, Any]]:
    """Verify a batch's signatures together in the worker processes, then admit it in its order (one
    sender's nonces in sequence) once the requests that arrived before it are admitted. Transactions the
    mempool refuses before any signature work (duplicates, no room) are not sent to the workers."""
    chain, verifier = request.app[CHAIN], request.app[VERIFIER]
    signature_ok: list[bool | None] = [None] * len(decoded)
    if verifier.has_workers:
        worth = [index for index, tx in enumerate(decoded) if isinstance(tx, SignedTx) and chain.mempool.cheap_refusal(tx) is None]
        for index, ok in zip(worth, await verifier.verify([decoded[index] for index in worth]), strict=True):
            signature_ok[index] = ok
    await ticket.wait_turn()
    results = []
    for index, (tx, ok) in enumerate(zip(decoded, signature_ok, strict=True)):
        if index and not index % ADMIT_CHUNK_TXS:
            await asyncio.sleep(0)  # consensus messages need not wait for the whole batch (the ticket keeps our turn)
        tx_hash, error = _admit(chain, tx, ok)
        entry: dict[str, Any] = {"hash": tx_hash.hex() if tx_hash else None}
        if error is not None:
            entry.update(error_body(error.code, error.message))
        results.append(entry)
    return results


def _decoded(raw: bytes) -> SignedTx | ApiError:
    try:
        return decode_tx(raw)
    except TxError as exc:
        return refusal_error(exc.refusal, exc.message)


async def post_txs(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    raws, batch = await _read_txs(request)
    ticket = request.app[ARRIVAL_ORDER].ticket()
    try:
        if batch:
            results = await _admit_batch(request, [_decoded(raw) for raw in raws], ticket)
            return web.json_response({"results": results}, status=202)
        await ticket.wait_turn()
        tx_hash, error = _admit(chain, _decoded(raws[0]))
    finally:
        ticket.done()
    if error is not None:
        raise error
    assert tx_hash is not None
    if request.query.get("wait") != "commit":
        return web.json_response({"hash": tx_hash.hex()}, status=202)
    result = await chain.wait_final(tx_hash, request.app[CONFIG].limits.wait_commit_timeout_s)
    if result is None:
        raise ApiError(504, "wait_timeout", "The transaction is pending but not final yet.", hash=tx_hash.hex())
    if isinstance(result, Refusal):
        raise refusal_error(result, hash=tx_hash.hex(), status="rejected")
    return web.json_response({"hash": tx_hash.hex(), "status": "committed", "receipt": receipt_to_json(result)})


async def get_tx(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    tx_hash = _parse_hash(request.match_info["hash"])
    location = chain.store.find_tx(tx_hash)
    if location is not None:
        height, index = location
        block = chain.store.get_block(height)
        assert block is not None
        receipt = chain.receipt_at(height, index)
        return web.json_response(
            {"status": "committed", "tx": tx_to_json(block.txs[index]), "receipt": receipt_to_json(receipt)}
        )
    pending = chain.mempool.get(tx_hash)
    if pending is not None:
        return web.json_response({"status": "pending", "tx": tx_to_json(pending)})
    refusal = chain.rejection_of(tx_hash)
    if refusal is not None:
        return web.json_response({"status": "rejected", "hash": tx_hash.hex(), **error_body(refusal.code, refusal.sentence)})
    raise ApiError(404, "unknown_tx", "This node knows no transaction with this hash.", status="unknown")


RECEIPT_PROOF_FORMAT = "corridor/receipt-proof/v1"  # the same string as corridor.client.verify's, which reads it


def block_bundle(store: Store, height: int) -> bytes | None:
    """A committed block with its certificate and receipts, as canonical bytes (GET /v1/blocks/{height}/raw)."""
    block_bytes = store.get_block_bytes(height)
    if block_bytes is None:
        return None
    receipts = [codec.encode(receipt.to_map()) for receipt in store.get_receipts(height)]
    return codec.encode({"block": block_bytes, "certificate": store.get_certificate(height), "receipts": receipts})


def receipt_proof(store: Store, height: int, index: int) -> dict[str, Any]:
    """Everything needed to check, offline and with the genesis file alone, that transaction `index` of block
    `height` is final (docs/protocol.md, "Offline payment receipts"): the transaction's and receipt's bytes,
    their Merkle audit paths to the header's txs_root and receipts_root, the header's bytes and its commit
    certificate, and what corridor.client.verify.follow_validator_set needs to reach the validator set of
    `height`: the governance history up to that height and the certified blocks (bundles) of its validator
    changes below it and of its currency registrations up to it."""
    block = store.get_block(height)
    assert block is not None and 0 <= index < len(block.txs), f"no transaction {index} at height {height}"
    receipts = store.get_receipts(height)
    receipt_leaves = [codec.encode(r.to_map()) for r in receipts]
    tx_leaves = [tx.raw for tx in block.txs]
    certificate = store.get_certificate(height)
    assert certificate is not None, f"block {height} has no certificate"
    history, bundle_heights = [], set()
    for gov_height, gov_index in store.governance_history():
        if gov_height > height:
            break
        gov_block = block if gov_height == height else store.get_block(gov_height)
        assert gov_block is not None
        type_name = gov_block.txs[gov_index].body.TYPE
        history.append({"height": gov_height, "index": gov_index, "type": type_name})
        if (type_name == "gov_set_validator" and gov_height < height) or type_name == "gov_register_currency":
            bundle_heights.add(gov_height)
    bundles = [(h, block_bundle(store, h)) for h in sorted(bundle_heights)]
    header = block.header
    return {
        "format": RECEIPT_PROOF_FORMAT,
        "chain_id": header.chain_id,
        "tx_hash": block.txs[index].hash.hex(),
        "height": height,
        "index": index,
        "tx": {"raw": block.txs[index].raw.hex(), "decoded": tx_to_json(block.txs[index])},
        "receipt": {"raw": receipt_leaves[index].hex(), "decoded": receipt_to_json(receipts[index])},
        "receipt_proof": {"root": "receipts_root", "leaf_index": index, "leaf_count": len(receipt_leaves),
                          "path": [node.hex() for node in merkle_proof(receipt_leaves, index)]},
        "tx_proof": {"root": "txs_root", "leaf_index": index, "leaf_count": len(tx_leaves),
                     "path": [node.hex() for node in merkle_proof(tx_leaves, index)]},
        "header": {"raw": codec.encode(header.to_map()).hex(), "hash": block.hash.hex(), "decoded": header.to_json()},
        "certificate": CommitCertificate.from_bytes(certificate).to_json(),
        "governance": {
            "history": history,
            "blocks": [{"height": h, "bundle": bundle.hex()} for h, bundle in bundles if bundle is not None],
        },
    }


async def get_tx_proof(request: web.Request) -> web.Response:
    """A committed transaction's offline-verifiable receipt proof (corridor verify-receipt checks it)."""
    chain = request.app[CHAIN]
    tx_hash = _parse_hash(request.match_info["hash"])
    location = chain.store.find_tx(tx_hash)
    if location is None:
        if chain.mempool.get(tx_hash) is not None:
            raise ApiError(404, "not_committed", "This transaction is pending; its proof exists once it commits.", status="pending")
        raise ApiError(404, "unknown_tx", "This node knows no committed transaction with this hash.", status="unknown")
    return web.json_response(receipt_proof(chain.store, *location))


async def get_account(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    try:
        address = parse_address(request.match_info["address"])
    except AddressError as exc:
        raise ApiError(400, "bad_address", str(exc)) from exc
    state = chain.committed_state()
    balances = {}
    prefix = b"b/" + address + b"/"
    for key, _ in chain.store.iterate(prefix):
        code = key[len(prefix) :].decode()
        currency = state.get_currency(code)
        assert currency is not None, "a balance exists only in a registered currency"
        amount_minor = state.get_balance(address, code)
        balances[code] = {
            "amount_minor": amount_minor,
            "decimals": currency.decimals,
            "amount": format_amount(amount_minor, currency.decimals),
        }
    holder_prefix = b"p/" + address + b"/"
    holdings = {}
    for key, _ in chain.store.iterate(holder_prefix):
        code = key[len(holder_prefix) :].decode()
        holder = state.get_holder(address, code)
        holdings[code] = {"authorized": holder.authorized, "frozen": holder.frozen}
    jurisdictions = corridors.jurisdictions_of(state, address)  # recorded by each currency's issuer (corridors.py)
    for code, jurisdiction in jurisdictions.items():
        if code in balances:
            balances[code]["jurisdiction"] = jurisdiction
    sanction = sanctions.get_sanction(state, address)
    return web.json_response(
        {
            "address": format_address(address),
            "nonce": state.get_nonce(address),
            "next_nonce": chain.mempool.next_nonce(address),
            "pending_txs": chain.mempool.pending_count(address),
            "balances": balances,
            "holder_status": holdings,
            "jurisdictions": jurisdictions,
            "redemptions_locked": redemption.locked_of(state, address),  # minor units by currency, in open requests
            "sanctioned": sanction is not None,
            "sanction": None if sanction is None else {"height": sanction.height, "reason_hash": sanction.reason_hash.hex()},
            # every licence it holds, as in force at the node's clock (licences.py)
            "licences": [licences.licence_to_json(found, licences_now_ms(chain)) for found in licences.licences_of_account(state, address)],
        }
    )


def _block_json(chain: Chain, height: int) -> dict[str, Any]:
    block = chain.store.get_block(height)
    if block is None:
        raise ApiError(404, "unknown_block", f"There is no block at height {height}; the tip is {chain.store.tip.height}.")
    receipts = chain.store.get_receipts(height)
    certificate = chain.certificate_at(height)
    return {
        "hash": block.hash.hex(),
        "header": block.header.to_json(),
        "txs": [{**tx_to_json(tx), "receipt": receipt_to_json(r)} for tx, r in zip(block.txs, receipts, strict=True)],
        "certificate": certificate.to_json(),
    }


async def get_block(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    text = request.match_info["height"]
    if text == "latest":
        height = chain.store.tip.height
        if height == 0:
            raise ApiError(404, "unknown_block", "No block has been committed yet (height 0 is genesis).")
    elif HEIGHT_PATTERN.fullmatch(text):
        height = int(text)
    else:
        raise ApiError(400, "bad_height", "A height is a non-negative integer or 'latest'.")
    return web.json_response(_block_json(chain, height))


async def get_block_raw(request: web.Request) -> web.Response:
    """The block, its receipts and its certificate in their canonical bytes, for offline verification."""
    chain = request.app[CHAIN]
    text = request.match_info["height"]
    height = chain.store.tip.height if text == "latest" else int(text) if HEIGHT_PATTERN.fullmatch(text) else -1
    if height < 0:
        raise ApiError(400, "bad_height", "A height is a non-negative integer or 'latest'.")
    body = block_bundle(chain.store, height)
    if body is None:
        raise ApiError(404, "unknown_block", f"There is no block at height {height}; the tip is {chain.store.tip.height}.")
    return web.Response(body=body, content_type="application/msgpack")


async def get_evidence(request: web.Request) -> web.Response:
    """Every piece of misbehaviour evidence committed so far, with the height that recorded it."""
    chain = request.app[CHAIN]
    items = []
    for height, raw in chain.store.committed_evidence():
        items.append({"committed_height": height, **Equivocation.from_bytes(raw).to_json()})
    return web.json_response({"evidence": items})


EVENTS_KEEPALIVE_S = 15.0


def _block_events(block: Block, receipts: tuple[Receipt, ...] | list[Receipt], account: bytes | None) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of one committed block: one `receipt` per transaction (those touching
    `account`, when given), then one `block`."""
    events = []
    for tx, receipt in zip(block.txs, receipts, strict=True):
        if account is not None and tx.sender != account and not any(
            account in (event.get("from"), event.get("to"), event.get("account")) for event in receipt.events
        ):
            continue
        events.append(("receipt", {**receipt_to_json(receipt), "tx_type": tx.body.TYPE, "sender": format_address(tx.sender)}))
    header = block.header
    events.append(("block", {"height": header.height, "hash": block.hash.hex(), "time_ms": header.time_ms, "tx_count": header.tx_count}))
    return events


async def get_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every committed receipt and block, live; `from_height` replays committed
    blocks first (so a client that reconnects misses nothing), `account` keeps only its receipts."""
    chain = request.app[CHAIN]
    limits = request.app[CONFIG].limits
    account = None
    if "account" in request.query:
        try:
            account = parse_address(request.query["account"])
        except AddressError as exc:
            raise ApiError(400, "bad_address", str(exc)) from exc
    from_text = request.query.get("from_height")
    if from_text is not None and not HEIGHT_PATTERN.fullmatch(from_text):
        raise ApiError(400, "bad_height", "from_height is a non-negative integer.")
    if chain.subscriber_count >= limits.events_subscribers_max:
        raise ApiError(503, "too_many_subscribers", "The node serves as many event streams as it can; retry later.")
    queue = chain.subscribe()
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(b": corridor events\n\n")
        next_height = chain.store.tip.height + 1
        if from_text is not None:
            first = max(1, int(from_text), next_height - limits.events_replay_blocks_max)
            for height in range(first, next_height):
                block = chain.store.get_block(height)
                assert block is not None
                await _write_events(response, _block_events(block, chain.store.get_receipts(height), account))
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), EVENTS_KEEPALIVE_S)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if item is None:
                await response.write(b"event: overflow\ndata: {}\n\n")
                break
            block, receipts = item
            if block.header.height >= next_height:
                await _write_events(response, _block_events(block, receipts, account))
        return response
    except ConnectionResetError:
        return response  # the client went away: the end of its stream, not a fault
    finally:
        chain.unsubscribe(queue)


async def _write_events(response: web.StreamResponse, events: list[tuple[str, dict[str, Any]]]) -> None:
    payload = "".join(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n" for name, data in events)
    await response.write(payload.encode())


BOOK_DEPTH_DEFAULT = 20
BOOK_DEPTH_MAX = 200


def offer_to_json(offer: fx.Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "owner": format_address(offer.owner),
        "sell_currency": offer.sell_currency,
        "buy_currency": offer.buy_currency,
        "remaining_minor": offer.remaining_minor,
        "price_num": offer.price_num,
        "price_den": offer.price_den,
    }


def _book_side(offers: Any, depth: int, sells_base: bool) -> list[dict[str, Any]]:
    """Price levels of one side, in quote minor units per base minor unit, best first."""
    levels: list[dict[str, Any]] = []
    for offer in offers:
        if sells_base:
            num, den = offer.price_num, offer.price_den
            base_minor, quote_minor = offer.remaining_minor, fx.cost_of(offer.remaining_minor, num, den)
        else:
            num, den = offer.price_den, offer.price_num
            quote_minor, base_minor = offer.remaining_minor, offer.remaining_minor * offer.price_num // offer.price_den
        divisor = math.gcd(num, den)
        num, den = num // divisor, den // divisor
        if levels and (levels[-1]["price_num"], levels[-1]["price_den"]) == (num, den):
            level = levels[-1]
        elif len(levels) == depth:
            break
        else:
            level = {"price_num": num, "price_den": den, "base_minor": 0, "quote_minor": 0, "offers": 0}
            levels.append(level)
        level["base_minor"] += base_minor
        level["quote_minor"] += quote_minor
        level["offers"] += 1
    return levels


async def get_book(request: web.Request) -> web.Response:
    """Depth of the book for a pair: asks sell the base currency, bids sell the quote currency (they buy
    the base). Prices are exact fractions of quote minor units per base minor unit."""
    chain = request.app[CHAIN]
    base, quote = request.match_info["base"].upper(), request.match_info["quote"].upper()
    state = chain.committed_state()
    for code in (base, quote):
        if state.get_currency(code) is None:
            raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.")
    if base == quote:
        raise ApiError(400, "same_currency", "A book is for two different currencies.")
    depth_text = request.query.get("depth", str(BOOK_DEPTH_DEFAULT))
    if not HEIGHT_PATTERN.fullmatch(depth_text) or not 1 <= int(depth_text) <= BOOK_DEPTH_MAX:
        raise ApiError(400, "bad_depth", f"depth is an integer from 1 to {BOOK_DEPTH_MAX}.")
    depth = int(depth_text)
    return web.json_response(
        {
            "base": base,
            "quote": quote,
            "height": chain.store.tip.height,
            "asks": _book_side(fx.book(state, base, quote), depth, sells_base=True),
            "bids": _book_side(fx.book(state, quote, base), depth, sells_base=False),
        }
    )


async def get_account_offers(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    try:
        address = parse_address(request.match_info["address"])
    except AddressError as exc:
        raise ApiError(400, "bad_address", str(exc)) from exc
    offers = fx.offers_of(chain.committed_state(), address)
    return web.json_response({"address": format_address(address), "offers": [offer_to_json(o) for o in offers]})


async def get_validators(request: web.Request) -> web.Response:
    """The validator set of the next height and the changes scheduled after it."""
    chain = request.app[CHAIN]
    state = chain.committed_state()
    current = [{"public_key": key.hex(), "name": name, "power": power} for key, name, power in governance.validators_in(state)]
    scheduled = [
        {"effective_height": int.from_bytes(key[2:10], "big"), "public_key": key[11:].hex(), "name": record["name"], "power": record["power"]}
        for key, record in state.iterate(b"w/")
    ]
    return web.json_response({"height": chain.store.tip.height + 1, "validators": current, "scheduled": scheduled})


async def get_governance(request: web.Request) -> web.Response:
    """Every committed governance transaction, oldest first, with the next governance nonce."""
    chain = request.app[CHAIN]
    history = []
    for height, index in chain.store.governance_history():
        block = chain.store.get_block(height)
        assert block is not None
        tx = block.txs[index]
        history.append({"height": height, "index": index, **tx_to_json(tx), "signers": [key.hex() for key in tx.signers()]})
    return web.json_response({"next_nonce": governance.get_gov_nonce(chain.committed_state()), "history": history})


async def get_sanctions(request: web.Request) -> web.Response:
    """The consortium sanctions list: every listed account, the height its listing committed at and the
    hash of the order behind it, ordered by address."""
    chain = request.app[CHAIN]
    listed = sanctions.sanctions_in(chain.committed_state())
    return web.json_response({"height": chain.store.tip.height, "sanctions": [sanctions.sanction_to_json(s) for s in listed]})


async def get_supply(request: web.Request) -> web.Response:
    """Every currency's supply and attested reserve after block `height`, each with its Merkle audit path to
    the header's supply_root (`?currency=USD`: that one only), for a check from the header alone."""
    chain = request.app[CHAIN]
    text = request.match_info["height"]
    height = chain.store.tip.height if text == "latest" else int(text) if HEIGHT_PATTERN.fullmatch(text) else -1
    if height < 0:
        raise ApiError(400, "bad_height", "A height is a non-negative integer or 'latest'.")
    block, leaves = chain.store.get_block(height), chain.store.get_supply_leaves(height)
    if block is None or leaves is None:
        raise ApiError(404, "unknown_block", f"There is no block at height {height}; the tip is {chain.store.tip.height}.")
    only = request.query.get("currency")
    decimals = {c.code: c.decimals for c in chain.currencies()}
    if only is not None and only.upper() not in decimals:
        raise ApiError(404, "unknown_currency", f"The chain has no currency {only.upper()}.")
    return web.json_response(reserves.supply_document(block.header, leaves, decimals, only.upper() if only else None))


REDEMPTION_STATUSES = ("open", "overdue", "all")
REDEMPTIONS_LIMIT_DEFAULT = 100
REDEMPTIONS_LIMIT_MAX = 1000


def redemptions_now_ms(chain: Chain) -> int:
    """The time overdue redemptions are judged at: the node's clock, never before the last block's time.
    Blocks are made only when transactions wait, so an idle chain's last block time would hide a deadline."""
    return max(chain.clock_ms(), chain.store.tip.time_ms)


async def get_redemptions(request: web.Request) -> web.Response:
    """Redemption requests (ledger/redemption.py): `status` open (not yet acted on; the default), overdue
    (open and past their deadline now) or all; `currency` and `account` filter; open ones oldest first,
    `all` newest first; at most `limit`, with the `total` that matched and each currency's open `summary`."""
    chain = request.app[CHAIN]
    state = chain.committed_state()
    status = request.query.get("status", "open")
    if status not in REDEMPTION_STATUSES:
        raise ApiError(400, "bad_status", "status is open, overdue or all.")
    code = request.query.get("currency", "").upper() or None
    if code is not None and state.get_currency(code) is None:
        raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.")
    account = None
    if "account" in request.query:
        try:
            account = parse_address(request.query["account"])
        except AddressError as exc:
            raise ApiError(400, "bad_address", str(exc)) from exc
    limit_text = request.query.get("limit", str(REDEMPTIONS_LIMIT_DEFAULT))
    if not HEIGHT_PATTERN.fullmatch(limit_text) or not 1 <= int(limit_text) <= REDEMPTIONS_LIMIT_MAX:
        raise ApiError(400, "bad_limit", f"limit is an integer from 1 to {REDEMPTIONS_LIMIT_MAX}.")
    now_ms = redemptions_now_ms(chain)
    if status == "all":
        found = [r for r in redemption.all_redemptions(state) if account in (None, r.requester) and code in (None, r.currency)]
        found.reverse()
    else:
        walk = redemption.open_redemptions_of(state, account) if account is not None else redemption.open_redemptions(state, code)
        found = sorted((r for r in walk if code in (None, r.currency) and (status == "open" or r.overdue(now_ms))), key=lambda r: r.id)
    decimals = {c.code: c.decimals for c in chain.currencies()}
    summary = {
        currency: {"open": s.open, "overdue": s.overdue, "locked_minor": s.locked_minor, "oldest_overdue_age_ms": s.oldest_overdue_age_ms}
        for currency, s in sorted(redemption.open_summary(state, now_ms).items()) if code in (None, currency)
    }
    return web.json_response({
        "height": chain.store.tip.height,
        "now_ms": now_ms,
        "status": status,
        "total": len(found),
        "summary": summary,
        "redemptions": [redemption.redemption_to_json(r, decimals[r.currency], now_ms) for r in found[: int(limit_text)]],
    })


async def get_redemption(request: web.Request) -> web.Response:
    """One redemption request, open or closed, with whether it is overdue now."""
    chain = request.app[CHAIN]
    text = request.match_info["id"]
    if not HEIGHT_PATTERN.fullmatch(text):
        raise ApiError(400, "bad_redemption_id", "A redemption id is a non-negative integer.")
    state = chain.committed_state()
    found = redemption.get_redemption(state, int(text))
    if found is None:
        raise ApiError(404, Refusal.UNKNOWN_REDEMPTION.code, Refusal.UNKNOWN_REDEMPTION.sentence)
    currency = state.get_currency(found.currency)
    assert currency is not None
    now_ms = redemptions_now_ms(chain)
    return web.json_response({"height": chain.store.tip.height, "now_ms": now_ms,
                              **redemption.redemption_to_json(found, currency.decimals, now_ms)})


async def get_corridors(request: web.Request) -> web.Response:
    """A currency's corridor policies (ledger/corridors.py), "*" sides first, then by jurisdiction; with
    `?account=`, that account's jurisdiction in the currency and, per corridor with a window, what it has
    paid through it as the chain would count it now (`now_ms`: the node's clock, never before the last block)."""
    chain = request.app[CHAIN]
    state = chain.committed_state()
    code = request.match_info["code"].upper()
    currency = state.get_currency(code)
    if currency is None:
        raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.")
    account = None
    if "account" in request.query:
        try:
            account = parse_address(request.query["account"])
        except AddressError as exc:
            raise ApiError(400, "bad_address", str(exc)) from exc
    now_ms = max(chain.clock_ms(), chain.store.tip.time_ms)
    policies = []
    for policy in corridors.policies_of(state, code):
        entry = corridors.policy_to_json(policy, currency.decimals)
        if account is not None:
            entry["account_window"] = corridors.account_window_json(state, policy, account, now_ms, currency.decimals)
        policies.append(entry)
    document: dict[str, Any] = {"currency": code, "height": chain.store.tip.height, "corridors": policies}
    if account is not None:
        document.update(account=format_address(account), jurisdiction=corridors.jurisdiction_of(state, account, code) or None,
                        now_ms=now_ms)
    return web.json_response(document)


LICENCES_LIMIT_MAX = 1000


def licences_now_ms(chain: Chain) -> int:
    """The time licences are judged at in queries: the node's clock, never before the last block's time (what
    a transaction proposed now would meet)."""
    return max(chain.clock_ms(), chain.store.tip.time_ms)


async def get_licences(request: web.Request) -> web.Response:
    """The licence registry (ledger/licences.py): every licence, or those of one `currency` and/or one
    `account`, by currency, account and scope, each with its status at `now_ms` (active, expired, revoked);
    at most `limit` (default and most: 1000) with the `total` that matched; with `currency`, the scopes it
    requires (`licences_required`)."""
    chain = request.app[CHAIN]
    state = chain.committed_state()
    code = request.query.get("currency", "").upper() or None
    currency = None
    if code is not None:
        currency = state.get_currency(code)
        if currency is None:
            raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.")
    account = None
    if request.query.get("account"):
        try:
            account = parse_address(request.query["account"])
        except AddressError as exc:
            raise ApiError(400, "bad_address", str(exc)) from exc
    limit_text = request.query.get("limit", str(LICENCES_LIMIT_MAX))
    if not HEIGHT_PATTERN.fullmatch(limit_text) or not 1 <= int(limit_text) <= LICENCES_LIMIT_MAX:
        raise ApiError(400, "bad_limit", f"limit is an integer from 1 to {LICENCES_LIMIT_MAX}.")
    if account is not None:
        found = [item for item in licences.licences_of_account(state, account) if code in (None, item.currency)]
    elif code is not None:
        found = list(licences.licences_of_currency(state, code))
    else:
        found = list(licences.all_licences(state))
    now_ms = licences_now_ms(chain)
    document: dict[str, Any] = {"height": chain.store.tip.height, "now_ms": now_ms, "total": len(found),
                                "licences": [licences.licence_to_json(item, now_ms) for item in found[: int(limit_text)]]}
    if currency is not None:
        document.update(currency=currency.code, **licences.required_view(state, currency))
    if account is not None:
        document["account"] = format_address(account)
    return web.json_response(document)


async def get_currencies(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    now_ms = max(chain.clock_ms(), chain.store.tip.time_ms)  # what a mint proposed now would meet
    state = chain.committed_state()
    return web.json_response(
        {"currencies": [{**currency_to_json(c, chain.distributors(c.code, now_ms), now_ms),
                         **orders.compliance_view(orders.get_compliance(state, c.code)),  # compliance keys (orders.py)
                         **licences.required_view(state, c)}  # the scopes it requires licences of (licences.py)
                        for c in chain.currencies()]}
    )


async def get_currency(request: web.Request) -> web.Response:
    """One currency as GET /v1/currencies lists it: supply, reserve, policy, and the compliance keys and
    threshold its seizures need (ledger/orders.py)."""
    chain = request.app[CHAIN]
    code = request.match_info["code"].upper()
    state = chain.committed_state()
    currency = state.get_currency(code)
    if currency is None:
        raise ApiError(404, "unknown_currency", f"The chain has no currency {code}.")
    now_ms = max(chain.clock_ms(), chain.store.tip.time_ms)
    return web.json_response({"height": chain.store.tip.height, **currency_to_json(currency, chain.distributors(code, now_ms), now_ms),
                              **orders.compliance_view(orders.get_compliance(state, code)),
                              **licences.required_view(state, currency)})


async def get_status(request: web.Request) -> web.Response:
    chain = request.app[CHAIN]
    runner = request.app[RUNNER]
    config = request.app[CONFIG]
    tip = chain.store.tip
    return web.json_response(
        {
            "chain_id": chain.chain_id,
            "height": tip.height,
            "latest_hash": tip.block_hash.hex(),
            "latest_time_ms": tip.time_ms,
            "state_root": tip.state_hash.root().hex(),
            "node_id": runner.node_id.hex(),
            "moniker": config.moniker,
            "peers": [{"node_id": peer.hex(), "height": height} for peer, height in runner.peer_heights().items()],
            "syncing": runner.syncing,
            "consensus": {"height": runner.core.height, "round": runner.core.round, "step": runner.core.step_.name.lower()},
            "mempool_txs": len(chain.mempool),
            "txs_committed_since_start": chain.committed_txs_total,
            "validators": [
                {"name": v.name, "public_key": v.public_key.hex(), "power": v.power} for v in runner.validators.validators
            ],
        }
    )


async def _start_verifier(app: web.Application) -> None:
    app[VERIFIER].start()


async def _stop_verifier(app: web.Application) -> None:
    app[VERIFIER].stop()


STATIC_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
STATIC_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # The explorer loads nothing but this node's own files and API (no CDN, no network).
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


async def get_static(request: web.Request) -> web.Response:
    """The explorer page (`/`, `/explorer`) and its files (`/static/{name}`), shipped in node/static/."""
    name = request.match_info.get("name", "explorer.html")
    suffix = name[name.rfind(".") :] if "." in name else ""
    resource = resources.files("corridor.node").joinpath("static", name)
    if suffix not in STATIC_TYPES or not resource.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=resource.read_bytes(), content_type=STATIC_TYPES[suffix], charset="utf-8", headers=STATIC_HEADERS)


def make_app(chain: Chain, runner: Runner, config: NodeConfig) -> web.Application:
    """The aiohttp application serving the API for `chain`."""
    app = web.Application(middlewares=[errors_as_json], client_max_size=config.limits.http_body_bytes_max)
    app[CHAIN] = chain
    app[RUNNER] = runner
    app[CONFIG] = config
    app[VERIFIER] = BatchVerifier(chain.chain_id, config.verify_worker_count)
    app[ARRIVAL_ORDER] = ArrivalOrder()
    app.on_startup.append(_start_verifier)
    app.on_cleanup.append(_stop_verifier)
    app.router.add_post("/v1/txs", post_txs)
    app.router.add_get("/v1/txs/{hash}", get_tx)
    app.router.add_get("/v1/txs/{hash}/proof", get_tx_proof)
    app.router.add_get("/v1/accounts/{address}", get_account)
    app.router.add_get("/v1/blocks/{height}", get_block)
    app.router.add_get("/v1/blocks/{height}/raw", get_block_raw)
    app.router.add_get("/v1/evidence", get_evidence)
    app.router.add_get("/v1/events", get_events)
    app.router.add_get("/v1/books/{base}/{quote}", get_book)
    app.router.add_get("/v1/validators", get_validators)
    app.router.add_get("/v1/governance", get_governance)
    app.router.add_get("/v1/accounts/{address}/offers", get_account_offers)
    app.router.add_get("/v1/currencies", get_currencies)
    app.router.add_get("/v1/currencies/{code}/corridors", get_corridors)
    app.router.add_get("/v1/currencies/{code}", get_currency)
    app.router.add_get("/v1/redemptions", get_redemptions)
    app.router.add_get("/v1/redemptions/{id}", get_redemption)
    app.router.add_get("/v1/supply/{height}", get_supply)
    app.router.add_get("/v1/sanctions", get_sanctions)
    app.router.add_get("/v1/licences", get_licences)
    app.router.add_get("/v1/status", get_status)
    app.router.add_get("/", get_static)  # the explorer page and its files (node/static/)
    app.router.add_get("/explorer", get_static)
    app.router.add_get("/static/{name}", get_static)
    app.router.add_get("/metrics", chain.metrics.handle)  # Prometheus text format (node/metrics.py)
    return app
