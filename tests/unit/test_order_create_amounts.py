"""An order create's amounts, read by its one definition (messages_schema/order_create.py): the
same reading as `money.parse_amount` whether sent as text or as a JSON number, from the text
or from decoded JSON, and every refusal naming the field (issue 14 item 1, SPEC §11)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from postsales.core.errors import BadInput
from postsales.core.messages_schema import OrderCreate, parse_message, read_message
from postsales.core.money import parse_amount

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "messages" / "order-create.json"
NET = "payload.order.order_lines[0].amount.net_amount"


def _with_net(value: object, currency: str = "USD") -> tuple[str, dict[str, Any]]:
    """The example order, its first line at net `value` (tax 0, gross = net when it reads),
    as JSON text (a Decimal written as a JSON number) and as decoded JSON."""
    env = json.loads(EXAMPLE.read_text())
    order = env["payload"]["order"]
    order["currency"] = currency
    order["payments"] = []
    line = order["order_lines"][0]
    line["amount"].update(net_amount=value, tax_amount="0", taxes=[], discount="0")
    line["amount"].pop("original_price")
    try:
        line["amount"]["gross_amount"] = str(parse_amount(value, currency))
    except (ValueError, ArithmeticError):
        line["amount"]["gross_amount"] = "1"
    for other in order["order_lines"][1:]:
        for key in ("net_amount", "tax_amount", "gross_amount", "original_price", "discount"):
            other["amount"][key] = "0"
        other["amount"]["taxes"] = []
    return json.dumps(env, default=float), copy.deepcopy(env)


def _both(value: object, currency: str = "USD") -> list[OrderCreate]:
    text, decoded = _with_net(value, currency)
    return [read_message(text)[1], parse_message(decoded)[1]]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("currency", "value"),
    [
        ("USD", "45.00"),
        ("USD", "45"),
        ("USD", "3.6"),
        ("USD", "0"),
        ("USD", "0012.30"),
        ("USD", " 5.00"),
        ("USD", "1e2"),
        ("USD", "-0.00"),
        ("USD", "٥"),  # noqa: RUF001 - an Arabic-Indic 5, as Decimal and parse_amount read it
        ("USD", "999999999999.99"),
        ("USD", Decimal("5.5")),
        ("USD", 45),
        ("JPY", "1200"),
        ("KWD", "1.005"),
    ],
)
def test_amounts_read_as_parse_amount_does(currency: str, value: object) -> None:
    expected = parse_amount(value, currency).copy_abs()
    for record in _both(value, currency):
        net = record.lines[0].amount.net_amount
        assert (net, str(net)) == (expected, str(expected))
        assert record.lines[0].amount.original_price == expected  # net + no discount


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1.005", "'1.005' has more than 2 decimals for USD"),
        (Decimal("1.005"), "'1.005' has more than 2 decimals for USD"),
        ("-1.00", "must not be negative, got '-1.00'"),
        ("1000000000000", "'1000000000000' is too large an amount"),
        ("NaN", "expected an amount, got 'NaN'"),
        ("x", "expected an amount, got 'x'"),
        (True, "expected an amount, got True"),
        ([], "expected an amount, got []"),
        (None, "missing required field"),
    ],
)
def test_refused_amounts_name_the_field(value: object, problem: str) -> None:
    text, decoded = _with_net(value)
    for read in (lambda: read_message(text), lambda: parse_message(decoded)):
        with pytest.raises(BadInput) as info:
            read()
        assert (info.value.field, info.value.message) == (NET, f"{NET}: {problem}")


def test_whole_currencies_refuse_decimals() -> None:
    text, _ = _with_net("12.5", "JPY")
    with pytest.raises(BadInput) as info:
        read_message(text)
    assert info.value.message == f"{NET}: '12.5' has more than 0 decimals for JPY"
