"""The explorer page (`GET /`) in a real browser: Debian's chromium, driven by Playwright, against a real
one-validator network. The page must follow the chain live, without a reload, and its search must work.

Needs the `playwright` Python package (the `test` extra) and a chromium at /usr/bin/chromium
(`apt-get install chromium`; `.ci/run` installs it when it can; `CORRIDOR_CHROMIUM` names another binary).
Without either the test is skipped. Playwright's own browser download (`playwright install`) is not used.
Screenshots are written to tests/artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from corridor.keys import parse_address

from .conftest import Network, http_request

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the test extra is not installed
    sync_playwright = None

CHROMIUM = Path(os.environ.get("CORRIDOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """A fresh headless chromium page (its own profile directory) and the list of errors the page logs."""
    if sync_playwright is None:
        pytest.skip("playwright not installed: pip install -e '.[test]' (no `playwright install` needed)")
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not installed: run apt-get install chromium (looked for {CHROMIUM})")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
            page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
            yield page, problems
        finally:
            context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def grouped(amount: str) -> str:
    """An API amount ("41000.00") as the page shows it ("41,000.00")."""
    whole, _, fraction = amount.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def test_explorer_follows_the_chain_live_and_searches(browser: tuple[Any, list[str]], network: Network) -> None:
    # `browser` first: without chromium the test skips before a network is made
    page, problems = browser
    expect.set_options(timeout=TIMEOUT_MS)

    # the page and its files come from the node itself
    for path in ("/", "/explorer"):
        served = http_request(network.api + path)
        assert served.status == 200 and served.headers["Content-Type"].startswith("text/html"), served
    assert http_request(network.api + "/static/explorer.js").headers["Content-Type"].startswith("text/javascript")
    assert http_request(network.api + "/static/nothing.js").status == 404

    response = page.goto(network.api + "/")
    assert response is not None and response.status == 200
    expect(page.locator("#chain-id")).to_have_text(network.chain_id)
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#height")).to_have_text(str(network.node0.height()))
    expect(page.locator('#validators tr[data-validator="node0"]')).to_contain_text("this node")
    page.evaluate("() => { window.explorerTestSameDocument = true; }")  # gone if the page reloads

    # the height advances on screen as blocks commit
    alice, bob = network.new_account("alice"), network.new_account("bob")
    minted = network.fund(alice, "USD", 10_000)  # 100.00 USD
    height = minted["receipt"]["height"]
    expect(page.locator("#height")).to_have_text(str(height))
    expect(page.locator(f'#blocks tr[data-height="{height}"]')).to_be_visible()
    expect(page.locator(f'#txs tr[data-tx-hash="{minted["hash"]}"]')).to_contain_text("minted 100.00 USD")
    expect(page.locator('#currencies tr[data-currency="USD"] td.supply')).to_have_text(grouped(network.currency("USD")["supply"]))
    # the currencies card shows the reserve auditor, how old the attestation is, and whether it is stale
    attested = page.locator('#currencies tr[data-currency="USD"] td.attested')
    expect(attested.locator(".reserve-stale")).to_have_text("fresh")
    expect(attested.locator(".reserve-auditor a")).to_have_attribute("title", network.auditors["USD"].address)
    expect(attested.locator(".reserve-age")).to_contain_text("ago")

    # a payment made through the API appears without a reload, decoded with the currency's decimals
    paid = network.commit(alice, "transfer", {"to": parse_address(bob.address), "currency": "USD", "amount_minor": 1_250,
                                             "memo": "invoice 42"})
    paid_height = paid["receipt"]["height"]
    assert paid_height > height
    expect(page.locator("#height")).to_have_text(str(paid_height))
    row = page.locator(f'#txs tr[data-tx-hash="{paid["hash"]}"]')
    expect(row).to_contain_text("12.50 USD")
    expect(row).to_contain_text("transfer")

    # an offer shows in the FX book the page follows
    network.commit(alice, "offer_create", {"sell_currency": "USD", "sell_amount_minor": 5_000, "buy_currency": "JPY",
                                           "price_num": 3, "price_den": 2})  # 50.00 USD at 150 JPY per USD
    expect(page.locator("#book-base")).to_have_value("USD")
    expect(page.locator("#book-body tr.ask")).to_contain_text("150")
    expect(page.locator("#book-body tr.ask")).to_contain_text("50.00")
    screenshot(page, "explorer-live.png")

    # searching the recipient's address shows its balance, which then follows new payments
    page.fill("#search", bob.address)
    page.press("#search", "Enter")
    balance = page.locator('#search-result #account-balances tr[data-currency="USD"] td.amount')
    expect(balance).to_have_text("12.50")
    network.commit(alice, "transfer", {"to": parse_address(bob.address), "currency": "USD", "amount_minor": 100, "memo": ""})
    expect(balance).to_have_text("13.50")
    screenshot(page, "explorer-search-account.png")

    # a transaction hash and a height
    page.fill("#search", paid["hash"])
    page.press("#search", "Enter")
    expect(page.locator("#tx-status")).to_have_text("committed")
    expect(page.locator("#search-result")).to_contain_text("invoice 42")
    page.fill("#search", str(paid_height))
    page.click("#search-button")
    expect(page.locator(f'#block-detail ~ [data-tx-hash="{paid["hash"]}"]')).to_contain_text("12.50 USD")

    assert page.evaluate("() => window.explorerTestSameDocument === true"), "the page reloaded"
    expect(page.locator("#errors")).to_be_hidden()
    assert problems == [], problems

    # errors from the API are shown in the page
    page.fill("#search", "999999")
    page.press("#search", "Enter")
    expect(page.locator('#search-result [data-error-code="unknown_block"]')).to_contain_text("There is no block at height 999999")
    page.fill("#search", "not a thing")
    page.press("#search", "Enter")
    expect(page.locator("#search-result .result-error")).to_contain_text("Enter an account address")
