"""Amounts typed by people: exact conversion to minor units, refused rather than rounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.ledger import limits
from corridor.ledger.amounts import AmountError, format_amount, parse_amount

PARSED = [
    ("12.50", 2, 1_250),
    ("12.5", 2, 1_250),
    ("12", 2, 1_200),
    ("0.01", 2, 1),
    ("12.500", 2, 1_250),
    ("1000", 0, 1_000),
    ("1000.00", 0, 1_000),
    ("0", 2, 0),
    (str(limits.AMOUNT_MINOR_MAX), 0, limits.AMOUNT_MINOR_MAX),
    ("0.000000000000000001", 18, 1),
]


@pytest.mark.parametrize(("text", "decimals", "minor"), PARSED)
def test_decimal_text_converts_exactly(text: str, decimals: int, minor: int) -> None:
    assert parse_amount(text, decimals) == minor


REFUSED = [
    ("12.505", 2),  # would need rounding
    ("0.5", 0),
    ("0.001", 2),
    ("", 2),
    ("abc", 2),
    ("-1", 2),
    ("+1", 2),
    ("1e3", 2),
    ("12.", 2),
    (".5", 2),
    ("1,000", 2),
    ("1 000", 2),
    ("0x10", 0),
    (" 7", 0),
    ("7\n", 0),
    (str(limits.AMOUNT_MINOR_MAX + 1), 0),
    (str(limits.AMOUNT_MINOR_MAX // 100 + 1), 2),
]


@pytest.mark.parametrize(("text", "decimals"), REFUSED)
def test_inexact_or_malformed_text_is_refused(text: str, decimals: int) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, decimals)


@pytest.mark.parametrize(("minor", "decimals", "text"), [(1_250, 2, "12.50"), (5, 2, "0.05"), (1_000, 0, "1000"), (0, 2, "0.00"), (-5, 2, "-0.05")])
def test_format_amount(minor: int, decimals: int, text: str) -> None:
    assert format_amount(minor, decimals) == text


@given(st.integers(0, limits.AMOUNT_MINOR_MAX), st.integers(0, limits.CURRENCY_DECIMALS_MAX))
def test_format_then_parse_is_the_identity(minor: int, decimals: int) -> None:
    assert parse_amount(format_amount(minor, decimals), decimals) == minor


@pytest.mark.parametrize("text", ["9" * 5_000, "0" * 5_000 + "1"], ids=["huge", "many_leading_zeros"])
def test_absurdly_long_amount_is_refused_with_amount_error(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, 2)


@pytest.mark.parametrize("text", ["１２", "١٢.٥٠", "12.５"], ids=["fullwidth", "arabic_indic", "mixed"])
def test_non_ascii_digits_are_refused(text: str) -> None:
    # Regression: \d matches every Unicode digit, and int() accepts them.
    with pytest.raises(AmountError):
        parse_amount(text, 2)
