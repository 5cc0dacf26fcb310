"""D-1…D-4 as plain functions over an in-memory order: no database (SPEC §2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from postsales.core.domain.customers import Customer
from postsales.core.domain.orders import Order, OrderLine, Payment, Refund, RefundLine
from postsales.core.domain.refunds import (
    appeasable_amount,
    apply_refund,
    check_refund,
    order_refundable,
    refundable_remainder,
    return_refund_lines,
)
from postsales.core.errors import Refused
from postsales.core.money import format_amount, from_minor, parse_amount, to_minor

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def example_order(captured: str = "118.80") -> Order:
    def line(
        n: int, net: str, tax: str, kind: str = "PHYSICAL", parent: int | None = None
    ) -> OrderLine:
        return OrderLine(
            n,
            f"SKU{n}",
            f"line {n}",
            kind,
            parent_line_number=parent,
            net_amount=D(net),
            tax_amount=D(tax),
            gross_amount=D(net) + D(tax),
            status="SHIPPED",
        )

    return Order(
        id="000000101",
        sales_channel="ST1",
        currency="USD",
        customer=Customer("C-1"),
        created_at=NOW,
        origin_date=NOW,
        lines=[
            line(1, "45.00", "3.60"),
            line(2, "50.00", "4.00"),
            line(3, "5.00", "0.40", "SERVICE", 1),
            line(4, "5.00", "0.00", "SERVICE"),
            line(5, "5.80", "0.00", "SHIPPING"),
        ],
        payments=[Payment("15", "card", "PAY-1", D("118.80"), D(captured))],
    )


def refund(order: Order, kind: str, *lines: tuple[int, str]) -> Refund:
    rls = [RefundLine(n, D(a)) for n, a in lines]
    check_refund(order, rls, appeasement=kind == "APPEASEMENT")
    r = Refund(order.next_refund_id(), kind, rls, "agent", NOW)
    order.refunds.append(r)
    apply_refund(order, rls, appeasement=kind == "APPEASEMENT", sign=1)
    return r


def test_d1_remainder_is_gross_minus_active_refunds() -> None:
    order = example_order()
    line = order.line(1)
    assert refundable_remainder(line) == D("48.60")
    r = refund(order, "APPEASEMENT", (1, "10.00"))
    assert refundable_remainder(line) == D("38.60")
    r.status = "CANCELLED"  # a cancelled refund gives its amount back
    apply_refund(order, r.lines, appeasement=True, sign=-1)
    assert refundable_remainder(line) == D("48.60")


def test_d2_appeasements_are_capped_by_the_net_amount() -> None:
    order = example_order()
    assert appeasable_amount(order.line(1)) == D("45.00")  # net, not gross 48.60
    refund(order, "APPEASEMENT", (1, "40.00"))
    assert appeasable_amount(order.line(1)) == D("5.00")
    with pytest.raises(Refused, match=r"exceeds the appeasable .* of 5\.00"):
        refund(order, "APPEASEMENT", (1, "5.01"))


def test_d2_appeasement_never_exceeds_the_refundable_remainder() -> None:
    order = example_order()
    refund(order, "RETURN", (2, "50.00"))  # leaves 4.00 of gross, net still 50.00 unappeased
    assert appeasable_amount(order.line(2)) == D("4.00")


def test_d3_return_refunds_what_is_left_after_appeasement() -> None:
    order = example_order()
    refund(order, "APPEASEMENT", (1, "10.00"))
    lines = return_refund_lines(order, [1, 2])
    assert [(rl.line_number, rl.amount) for rl in lines] == [(1, D("38.60")), (2, D("54.00"))]


def test_d3_fully_refunded_lines_are_left_out() -> None:
    order = example_order()
    refund(order, "RETURN", (2, "54.00"))
    assert return_refund_lines(order, [2]) == []


def test_d4_refunds_never_exceed_the_captured_amount() -> None:
    order = example_order(captured="60.00")  # partly captured
    refund(order, "RETURN", (1, "48.60"))
    assert order_refundable(order) == D("11.40")
    with pytest.raises(Refused, match="exceeds what is left of the captured amount"):
        refund(order, "RETURN", (2, "54.00"))


def test_refund_amounts_must_be_positive() -> None:
    with pytest.raises(Refused, match="more than 0"):
        refund(example_order(), "APPEASEMENT", (1, "0"))


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("45", "USD", "45.00"),
        ("45.5", "USD", "45.50"),
        (45, "JPY", "45"),
        ("0.125", "KWD", "0.125"),
        (D("1.10"), "EUR", "1.10"),
        (0.1, "USD", "0.10"),
    ],
)
def test_parse_amount_quantises_to_minor_units(value: object, currency: str, expected: str) -> None:
    amount = parse_amount(value, currency)
    assert format_amount(amount, currency) == expected
    assert from_minor(to_minor(amount, currency), currency) == amount


@pytest.mark.parametrize("value", ["abc", "1.001", "NaN", "Infinity", None, True, ""])
def test_parse_amount_refuses_what_is_not_money(value: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(value, "USD")
