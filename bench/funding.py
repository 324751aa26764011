"""Scenario setup over the real API, before the timed window: fund the sender accounts by minting from the
issuers' keys in batched transactions, and let a market maker post a book of offers on every pair."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

from corridor.client.http import Client
from corridor.keys import KeyPair, load_key
from corridor.ledger.tx import Mint, OfferCreate, SignedTx, sign_tx

from presign import MID_RATES_USD, worth_minor

BATCH_TXS_MAX = 1_000  # POST /v1/txs batch limit, and the mempool's per-sender limit
COMMIT_TIMEOUT_S = 120.0
MARKET_SPREAD = Fraction(101, 100)  # the maker sells 1 % above mid on the best level
MARKET_LEVELS = 5
MARKET_LEVEL_STEP = Fraction(2, 1000)  # each deeper level 0.2 % worse
MARKET_LEVEL_USD = Fraction(100_000)


class SetupError(RuntimeError):
    pass


def _submit_all(client: Client, txs: list[SignedTx]) -> None:
    for start in range(0, len(txs), BATCH_TXS_MAX):
        results = client.submit_batch(txs[start : start + BATCH_TXS_MAX])
        errors = [result for result in results if "error" in result]
        if errors:
            raise SetupError(f"{len(errors)} setup transaction(s) refused, first: {errors[0]['error']}")


def wait_nonces(client: Client, targets: dict[str, int], timeout_s: float = COMMIT_TIMEOUT_S) -> None:
    """Until each account (by address text) has a committed nonce of at least its target."""
    deadline = time.monotonic() + timeout_s
    pending = dict(targets)
    while pending:
        for address, target in list(pending.items()):
            if client.account(address)["nonce"] >= target:
                del pending[address]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SetupError(f"setup transactions of {len(pending)} account(s) did not commit within {timeout_s:.0f} s")
        time.sleep(0.1)


def mint_to(client: Client, chain_id: str, issuers: dict[str, KeyPair], grants: dict[str, list[tuple[bytes, int]]]) -> int:
    """Mint, for each currency, every (address, amount_minor) of `grants[currency]` with its issuer's key:
    batches of up to 1,000 per issuer (its own nonce sequence), every issuer's batch of a round in flight at
    once, each round committed before the next. Returns the number of mint transactions."""
    nonces = {code: client.account(issuers[code].address_text)["next_nonce"] for code in grants}
    total = 0
    offset = 0
    while any(offset < len(items) for items in grants.values()):
        targets = {}
        for code, items in grants.items():
            chunk = items[offset : offset + BATCH_TXS_MAX]
            if not chunk:
                continue
            key = issuers[code]
            txs = []
            for address, amount_minor in chunk:
                txs.append(sign_tx(Mint(key.public_key, nonces[code], address, code, amount_minor), [key], chain_id))
                nonces[code] += 1
            _submit_all(client, txs)
            targets[key.address_text] = nonces[code]
            total += len(txs)
        wait_nonces(client, targets)
        offset += BATCH_TXS_MAX
    return total


def load_issuers(issuer_paths: dict[str, str]) -> dict[str, KeyPair]:
    return {code: load_key(Path(path)) for code, path in issuer_paths.items()}


def maker_price(sell: str, buy: str, decimals: dict[str, int], level: int) -> tuple[int, int]:
    """Minor units of `buy` asked per minor unit of `sell` at book level `level` (0 best)."""
    price = MID_RATES_USD[sell] / MID_RATES_USD[buy] * (MARKET_SPREAD + MARKET_LEVEL_STEP * level)
    price *= Fraction(10 ** decimals[buy], 10 ** decimals[sell])
    price = price.limit_denominator(10**9)
    return price.numerator, price.denominator


def populate_book(client: Client, chain_id: str, issuers: dict[str, KeyPair], decimals: dict[str, int], maker: KeyPair) -> int:
    """The maker is funded, then sells every currency for every other at MARKET_LEVELS price levels of
    MARKET_LEVEL_USD each; its offers never cross one another. Returns the number of resting offers."""
    codes = sorted(MID_RATES_USD)
    pairs = [(sell, buy) for sell in codes for buy in codes if sell != buy]
    per_currency_usd = MARKET_LEVEL_USD * MARKET_LEVELS * (len(codes) - 1) * Fraction(11, 10)
    mint_to(client, chain_id, issuers, {code: [(maker.address, worth_minor(code, per_currency_usd, decimals))] for code in codes})
    nonce = client.account(maker.address_text)["next_nonce"]
    txs = []
    for sell, buy in pairs:
        for level in range(MARKET_LEVELS):
            num, den = maker_price(sell, buy, decimals, level)
            txs.append(sign_tx(OfferCreate(maker.public_key, nonce, sell, worth_minor(sell, MARKET_LEVEL_USD, decimals), buy, num, den), [maker], chain_id))
            nonce += 1
    _submit_all(client, txs)
    wait_nonces(client, {maker.address_text: nonce})
    offers = client.offers(maker.address_text)
    if len(offers) != len(txs):
        raise SetupError(f"the market maker has {len(offers)} resting offers, expected {len(txs)}")
    return len(offers)
