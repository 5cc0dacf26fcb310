"""The one-pass reader's amounts (services/ingest_lines.py): plain texts to minor units, anything
else left to the object path (None), never a different reading from `money.parse_amount`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from postsales.core.money import parse_amount, to_minor
from postsales.core.services.messages.ingest_lines import Minor, reader_for


@pytest.mark.parametrize(
    ("currency", "text"),
    [
        ("USD", "45.00"),
        ("USD", "45"),
        ("USD", "3.6"),
        ("USD", "0"),
        ("USD", "0012.30"),
        ("USD", "999999999999.99"),
        ("JPY", "1200"),
        ("KWD", "1.005"),
        ("KWD", "1.5"),
    ],
)
def test_plain_amounts_read_as_parse_amount_does(currency: str, text: str) -> None:
    expected = to_minor(parse_amount(text, currency), currency)
    reader = reader_for(currency)
    assert reader.read(text) == expected
    assert reader.read(text) == expected  # and again, from the memo


@pytest.mark.parametrize(
    ("currency", "value"),
    [
        ("USD", "1.005"),  # more decimals than the currency has: the object path refuses
        ("USD", "-1.00"),
        ("USD", "-0.00"),
        ("USD", " 5.00"),
        ("USD", "5."),
        ("USD", ".5"),
        ("USD", "1e2"),
        ("USD", "٥"),  # noqa: RUF001 - Decimal reads it; the object path decides
        ("USD", "1000000000000"),
        ("JPY", "12.0"),
        ("USD", Decimal("5.00")),
        ("USD", True),
        ("USD", None),
        ("USD", 5.0),
        ("USD", -1),
    ],
)
def test_anything_else_is_left_to_the_object_path(currency: str, value: object) -> None:
    assert Minor(2 if currency != "JPY" else 0).read(value) is None


def test_integers_are_whole_units() -> None:
    assert reader_for("USD").read(45) == 4500
    assert reader_for("JPY").read(45) == 45
