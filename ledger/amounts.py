"""Exact conversion between decimal strings in major units ("12.50") and integer minor units (1250)."""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
import re
from fractions import Fraction

from corridor.ledger import limits

AMOUNT_TEXT_CHARS_MAX = 64
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")  # ASCII digits only, used with fullmatch


class AmountError(ValueError):
    """A decimal string that is not an exact amount of the currency."""


def parse_amount(text: str, decimals: int) -> int:
    """The amount in minor units; refuses rather than rounds (`12.505` with 2 decimals is an error)."""
    if len(text) > AMOUNT_TEXT_CHARS_MAX:
        raise AmountError(f"{text[:24]!r}... is longer than any amount")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise AmountError(f"{text!r} is not a decimal amount like 12.50")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > decimals:
        significant = fraction[decimals:].strip("0")
        if significant:
            raise AmountError(f"{text!r} has more than the currency's {decimals} decimal places")
        fraction = fraction[:decimals]
    minor = int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or "0")
    if minor > limits.AMOUNT_MINOR_MAX:
        raise AmountError(f"{text!r} is larger than the largest amount")
    return minor


def format_amount(minor: int, decimals: int) -> str:
    """`1250` with 2 decimals is "12.50"."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}" if decimals else f"{sign}{whole}"


def parse_price(text: str, sell_decimals: int, buy_decimals: int) -> tuple[int, int]:
    """A price in major units (buy currency per unit of the sell currency, e.g. "0.0067") as the exact
    fraction (num, den) of buy minor units per sell minor unit, in lowest terms."""
    if len(text) > AMOUNT_TEXT_CHARS_MAX:
        raise AmountError(f"{text[:24]!r}... is longer than any price")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise AmountError(f"{text!r} is not a decimal price like 0.0067")
    whole, fraction = match.group(1), match.group(2) or ""
    num = int(whole + fraction) * 10**buy_decimals
    den = 10 ** len(fraction) * 10**sell_decimals
    if num == 0:
        raise AmountError("a price must be above zero")
    divisor = math.gcd(num, den)
    num, den = num // divisor, den // divisor
    if num > limits.PRICE_TERM_MAX or den > limits.PRICE_TERM_MAX:
        raise AmountError(f"{text!r} cannot be written exactly with terms below 2**63")
    return num, den


def format_price(num: int, den: int, sell_decimals: int, buy_decimals: int, digits: int = 8) -> str:
    """A price (buy minor per sell minor) in major units, to `digits` significant digits."""
    value = Fraction(num, den) * Fraction(10**sell_decimals, 10**buy_decimals)
    with decimal.localcontext() as context:
        context.prec = digits
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")
