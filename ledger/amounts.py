"""Exact conversion between decimal strings in major units ("12.50") and integer minor units (1250)."""

from __future__ import annotations

import re

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
