"""Child orders of exchanges and reshipments (`core.services.child_orders`) and the shared
shipment-request payload (`core.services.messages.outbound`): no database.

The context is a real `ActionContext` over a fake unit of work that only knows which order ids
exist and which orders were added; the rules are a fake registry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from postsales.core.context import ActionContext
from postsales.core.domain.customers import Address, Customer
from postsales.core.domain.orders import Order, OrderLine, Shipment
from postsales.core.domain.users import system_user
from postsales.core.errors import Refused
from postsales.core.rules import ChildReturn, child_order_return_rule
from postsales.core.services import child_orders
from postsales.core.services.messages.outbound import shipment_request
from postsales.plugins.rules import exchange_return, reshipment_return

D = Decimal
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
HOME = Address(first_name="Veronica", last_name="Costello", address1="6146 Honey Bluff Parkway")


class FakeUow:
    def __init__(self, existing: tuple[str, ...] = ()) -> None:
        self.existing = set(existing)
        self.added: list[Order] = []

    def order_exists(self, order_id: str) -> bool:
        return order_id in self.existing

    def add_order(self, order: Order) -> None:
        self.added.append(order)


def make_ctx(uow: FakeUow | None = None, rules: tuple[Any, ...] = ()) -> ActionContext:
    registry = SimpleNamespace(rules_for=lambda point: [r for r in rules if r.point == point])
    app: Any = SimpleNamespace(registry=registry)
    return ActionContext(app=app, uow=uow or FakeUow(), user=system_user(), now=NOW)


def parent() -> Order:
    lines = [
        OrderLine(1, "MJ01-M-RED", "Kit", parent_sku="MJ01", original_price=D("50.00"),
                  discount=D("5.00"), net_amount=D("45.00"), tax_amount=D("3.60"),
                  gross_amount=D("48.60"), tax_rate=D("8"),
                  taxes=[{"type": "SALES", "rate": "8", "amount": "3.60"}],
                  promotions=[{"code": "AUTUMN10"}], status="SHIPPED", source_id="SOU1"),
        OrderLine(2, "GIFTWRAP", "Gift wrap", "SERVICE", parent_line_number=1,
                  original_price=D("5.00"), net_amount=D("5.00"), gross_amount=D("5.00"),
                  status="SHIPPED", source_id="SOU1"),
    ]  # fmt: skip
    return Order(
        id="000000101",
        sales_channel="ST1",
        currency="USD",
        customer=Customer(id="C-1001", type="registered"),
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
        origin_date=datetime(2026, 11, 2, tzinfo=UTC),
        status="SHIPPED",
        client_order_reference="WEB-88412",
        language="de_DE",
        vat_country="DE",
        market="DE",
        billing_address=HOME,
        shipping_address=HOME,
        shipping_method="flatrate Fixed",
        lines=lines,
    )


def test_reserve_id_numbers_children_and_refuses_an_unlinked_order() -> None:
    order = parent()
    assert child_orders.reserve_id(make_ctx(), order, "EXCHANGE") == "000000101-E1"
    order.related_order_ids += ["000000101-E1", "000000101-R1"]
    assert child_orders.reserve_id(make_ctx(), order, "EXCHANGE") == "000000101-E2"
    assert child_orders.reserve_id(make_ctx(), order, "RESHIPMENT") == "000000101-R2"
    with pytest.raises(Refused, match="order 000000101-R2 already exists; it is not linked"):
        child_orders.reserve_id(make_ctx(FakeUow(("000000101-R2",))), order, "RESHIPMENT")


def test_free_line_keeps_the_price_for_display_and_charges_nothing() -> None:
    old = parent().line(1)
    line = child_orders.free_line(1, old, "USD")
    assert (line.sku, line.parent_sku, line.source_id, line.status) == (
        "MJ01-M-RED", "MJ01", "SOU1", "NEW",
    )  # fmt: skip
    assert (line.original_price, line.discount) == (D("50.00"), D("50.00"))
    assert (line.net_amount, line.tax_amount, line.gross_amount) == (D(0), D(0), D(0))
    assert line.taxes == [{"type": "SALES", "rate": "8", "amount": "0.00"}]
    assert old.taxes[0]["amount"] == "3.60"  # the original line is untouched
    assert (line.promotions, line.parent_line_number) == ([], None)
    swapped = child_orders.free_line(2, old, "USD", sku="MJ01-L-RED", source_id="SOU2")
    assert (swapped.line_number, swapped.sku, swapped.source_id) == (2, "MJ01-L-RED", "SOU2")


def test_new_child_order_copies_the_parent_and_links_to_it() -> None:
    order = parent()
    lines = [child_orders.free_line(1, order.line(1), "USD")]
    child = child_orders.new_child_order(make_ctx(), order, "000000101-E1", "EXCHANGE", lines)
    assert (child.order_type, child.status, child.origin) == ("EXCHANGE", "NEW", "EX")
    assert (child.parent_order_id, child.related_order_ids) == ("000000101", ["000000101"])
    assert child.customer == order.customer and child.customer is not order.customer
    assert (child.currency, child.language, child.vat_country, child.market) == (
        "USD", "de_DE", "DE", "DE",
    )  # fmt: skip
    assert (child.billing_address, child.shipping_address) == (HOME, HOME)
    assert (child.shipping_method, child.client_order_reference) == ("flatrate Fixed", "WEB-88412")
    assert (child.created_at, child.origin_date, child.grand_total) == (NOW, NOW, D(0))
    assert order.related_order_ids == []  # linked from the parent only by add_child_order
    elsewhere = Address(address1="1 Main St")
    reship = child_orders.new_child_order(
        make_ctx(), order, "000000101-R1", "RESHIPMENT", lines,
        shipping_address=elsewhere, shipping_method="express",
    )  # fmt: skip
    assert (reship.origin, reship.shipping_address, reship.shipping_method) == (
        "RE", elsewhere, "express",
    )  # fmt: skip
    assert reship.billing_address == HOME


def test_add_child_order_links_both_ways_and_records_both_histories() -> None:
    order, uow = parent(), FakeUow()
    ctx = make_ctx(uow)
    child = child_orders.new_child_order(ctx, order, "000000101-R1", "RESHIPMENT", [])
    child_orders.add_child_order(
        ctx, order, child, summary="made", payload={"lines": [1]},
        parent_summary="reshipped", parent_payload={"lines": [1], "reason": "Lost"},
    )  # fmt: skip
    assert order.related_order_ids == ["000000101-R1"]
    assert uow.added == [child]
    assert ctx.result == {"orders": ["000000101-R1"]}
    (created,) = child.history
    assert (created.kind, created.summary, created.actor) == ("order.created", "made", "system")
    assert created.payload == {"parent_order_id": "000000101", "lines": [1]}
    (linked,) = order.history
    assert (linked.kind, linked.summary) == ("reshipment.created", "reshipped")
    assert list(linked.payload) == ["new_order_id", "lines", "reason"]


def test_no_rule_asking_means_no_return() -> None:
    order = parent()
    ctx = make_ctx()
    child = child_orders.new_child_order(ctx, order, "000000101-E1", "EXCHANGE", [])
    assert child_orders.return_originals(ctx, order, child, [1], reason="Too small") is None
    assert order.returns == [] and order.line(1).status == "SHIPPED"


# -- the shared rule decision (R-4, R-5) ----------------------------------------------------------


def test_child_order_return_rule_answers_for_its_type_only() -> None:
    rule = child_order_return_rule("EXCHANGE", "x_return", "R-9", "a test rule")
    assert (rule.name, rule.point, rule.requirement, rule.description) == (
        "x_return", "child_order_return", "R-9", "a test rule",
    )  # fmt: skip
    order = parent()
    assert rule.decide(order, "EXCHANGE", [1], None) == ChildReturn(True, refunds=False)
    assert rule.decide(order, "RESHIPMENT", [1], None) is None


def test_the_two_rule_plugins_stay_separate_switches() -> None:
    (r4,) = reshipment_return.postsales_register_rules(None)
    (r5,) = exchange_return.postsales_register_rules(None)
    assert (r4.name, r4.requirement, r5.name, r5.requirement) == (
        "reshipment_return", "R-4", "exchange_return", "R-5",
    )  # fmt: skip


# -- the shipment request (A-7 and A-16 send the same) ---------------------------------------------


def test_shipment_request_lists_items_and_addresses_once() -> None:
    order = parent()
    shipment = Shipment("ST1-000000101-02", "SOU1", [1, 2], created_at=NOW)
    sr = shipment_request(order, shipment, NOW)["shipment_request"]
    at = "2026-11-10T12:00:00+00:00"
    assert (sr["id"], sr["order_id"], sr["customer_id"], sr["store"]) == (
        "ST1-000000101-02", "000000101", "C-1001", "ST1",
    )  # fmt: skip
    assert (sr["created_at"], sr["status_date"], sr["origin_date"]) == (
        at, at, "2026-11-02T00:00:00+00:00",
    )  # fmt: skip
    item = sr["items"][0]
    assert item["order_line_price"] == {
        "net_amount": "45.00", "gross_amount": "48.60", "tax_amount": "3.60",
        "tax_rate": "8", "taxes": [{"type": "SALES", "rate": "8", "amount": "3.60"}],
    }  # fmt: skip
    assert (item["status"], item["status_reason"], item["status_date"]) == (
        "NEW", "ITEM_PENDING_PICKING", at,
    )  # fmt: skip
    assert sr["items"][1]["parent_line_number"] == 1
    # Billing and shipping are the same address: listed once, as reference 1.
    assert [a["reference"] for a in sr["addresses"]] == ["1"]
    assert sr["shipping_address"] == sr["billing_address"]
    order.shipping_address = Address(address1="1 Main St")
    sr = shipment_request(order, shipment, NOW)["shipment_request"]
    assert [a["reference"] for a in sr["addresses"]] == ["1", "2"]
    assert sr["shipping_address"]["address1"] == "1 Main St"
