"""Stock that is really reserved (issue 16 item 1; seeds 004, 002), on SQLite and PostgreSQL.

One unit at SOU1 and three orders for it: the first release gets it, the other two wait;
arriving stock assigns the oldest waiting shipment first; a cancellation gives its unit back
to the next one; shipping consumes what a line holds. Exchanges, reorders and new orders see
what is available (on hand less reserved), not what is on hand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.errors import Refused
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.drafts import create_order
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import import_examples, outbox_rows
from tests.integration.stock_orders import (
    AT,
    OTHER,
    SKU,
    allow_cancel_when_released,
    feed,
    order_message,
    shipped_message,
    stock_message,
    stock_row,
)

A, B, C = "000000201", "000000202", "000000203"
REQUESTED = "logistics.shipment_request_management.requested"


@pytest.fixture
def clock(app: Postsales) -> list[datetime]:
    """A clock that moves one minute at each reading: every release is later than the last."""
    now = [datetime(2026, 11, 10, 12, 0, tzinfo=UTC)]

    def tick() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]

    app.clock = tick
    return now


def act(app: Postsales, order_id: str, name: str, **params: Any) -> Any:
    return run_action(app, order_id, name, params, get_user(app, None))


def shipments(app: Postsales, order_id: str) -> list[str]:
    return [s["status"] for s in show_order(app, order_id, get_user(app, None))["shipments"]]


def history(app: Postsales, order_id: str) -> list[Any]:
    with app.engine.connect() as conn:
        seq = conn.execute(select(T.orders.c.seq).where(T.orders.c.id == order_id)).scalar_one()
        q = select(T.history).where(T.history.c.order_seq == seq).order_by(T.history.c.id)
        return list(conn.execute(q))


def requests(app: Postsales, order_id: str) -> list[dict[str, Any]]:
    """The shipment requests sent for an order, oldest first."""
    return [
        r.payload["shipment_request"] for r in outbox_rows(app, REQUESTED) if r.order_id == order_id
    ]


def test_one_unit_three_orders_then_arrival_and_cancel_assign_the_oldest_waiting(
    app: Postsales, clock: list[datetime]
) -> None:
    feed(app, stock_message("SOU1", SKU, 1), *(order_message(o) for o in (A, B, C)))
    released = [act(app, o, "release").order for o in (A, B, C)]
    assert [[s["status"] for s in d["shipments"]] for d in released] == [
        ["INVENTORY_ASSIGNED"],
        ["AWAITING_INVENTORY"],
        ["AWAITING_INVENTORY"],
    ]
    assert stock_row(app) == (1, 1)
    assert [d["lines"][0]["reserved_source_id"] for d in released] == ["SOU1", None, None]
    assert [r["inventory_status"] for r in requests(app, B)] == ["AWAITING_INVENTORY"]
    doc = show_order(app, B, get_user(app, None))
    assert doc["stock"][0] == {"sku": SKU, "source_id": "SOU1", "on_hand": 1, "reserved": 1,
                               "available": 0}  # fmt: skip
    with pytest.raises(Refused, match="no shipment is ready to pick"):
        act(app, B, "pick", shipment_id=f"ST1-{B}-01")

    # One more unit arrives: the oldest waiting shipment (B) gets it, C still waits.
    feed(app, stock_message("SOU1", SKU, 2))
    assert (shipments(app, B), shipments(app, C)) == (
        ["INVENTORY_ASSIGNED"],
        ["AWAITING_INVENTORY"],
    )
    assert stock_row(app) == (2, 2)
    last = history(app, B)[-1]
    assert last.kind == "shipment.inventory_assigned"
    assert last.summary == (
        f"Shipment ST1-{B}-01 is INVENTORY_ASSIGNED: stock at SOU1 for lines 1 "
        "(stock update from SOU1)"
    )
    again = requests(app, B)
    assert [(r["id"], r["inventory_status"]) for r in again] == [
        (f"ST1-{B}-01", "AWAITING_INVENTORY"),
        (f"ST1-{B}-01", "INVENTORY_ASSIGNED"),
    ]
    act(app, B, "pick", shipment_id=f"ST1-{B}-01")  # now it can be picked

    # Cancelling A gives its unit back, and the next waiting shipment (C) is assigned.
    allow_cancel_when_released(app)
    act(app, A, "cancel", reason="Changed mind")
    cancelled = next(h for h in history(app, A) if h.kind == "order.cancelled")
    assert cancelled.payload["stock_released"] == [
        {"line_number": 1, "sku": SKU, "source_id": "SOU1"}
    ]
    assert shipments(app, A) == ["CANCELLED"]
    assert shipments(app, C) == ["INVENTORY_ASSIGNED"]
    assert history(app, C)[-1].payload["cause"] == f"given back by order {A}"
    assert stock_row(app) == (2, 2)

    # Shipping consumes: on hand and reserved both go down, by the action and by the message.
    act(app, B, "ship", shipment_id=f"ST1-{B}-01", carrier="UPS", tracking_number="1Z1")
    assert stock_row(app) == (1, 1)
    feed(app, shipped_message(C, [1], shipment_request_id=f"ST1-{C}-01"))
    assert stock_row(app) == (0, 0)
    lines = show_order(app, C, get_user(app, None))["lines"]
    assert (lines[0]["status"], lines[0]["reserved_source_id"]) == ("SHIPPED", None)


def test_a_shipment_holds_all_its_stock_or_none(app: Postsales, clock: list[datetime]) -> None:
    """Two product lines, one SKU in stock and one not: the shipment waits holding nothing, so
    the unit goes to the next order; it is assigned once both SKUs are there."""
    feed(app, stock_message("SOU1", SKU, 1), order_message(A, (1, 2)), order_message(B))
    assert [s["status"] for s in act(app, A, "release").order["shipments"]] == [
        "AWAITING_INVENTORY"
    ]
    assert stock_row(app) == (1, 0) and stock_row(app, sku=OTHER) == (0, 0)
    assert [s["status"] for s in act(app, B, "release").order["shipments"]] == [
        "INVENTORY_ASSIGNED"
    ]
    feed(app, stock_message("SOU1", OTHER, 1))  # A still lacks SKU: it keeps waiting
    assert shipments(app, A) == ["AWAITING_INVENTORY"] and stock_row(app, sku=OTHER) == (1, 0)
    feed(app, stock_message("SOU1", SKU, 2))
    assert shipments(app, A) == ["INVENTORY_ASSIGNED"]
    assert (stock_row(app), stock_row(app, sku=OTHER)) == ((2, 2), (1, 1))


def test_a_preview_of_release_reserves_nothing(app: Postsales, clock: list[datetime]) -> None:
    feed(app, stock_message("SOU1", SKU, 1), order_message(A))
    out = run_action(app, A, "release", {}, get_user(app, None), dry_run=True)
    assert [s["status"] for s in out.order["shipments"]] == ["INVENTORY_ASSIGNED"]
    assert stock_row(app) == (1, 0)


def test_the_warehouse_may_ship_what_was_never_reserved(
    app: Postsales, clock: list[datetime]
) -> None:
    """Lines shipped without a release lower on hand only, never below zero; a line reserved
    at SOU1 but shipped by SOU2 gives SOU1 its unit back."""
    feed(app, stock_message("SOU1", SKU, 1), order_message(A), order_message(B))
    feed(app, shipped_message(A, [1]))  # never released
    assert stock_row(app) == (0, 0)
    feed(app, shipped_message(B, [1]))  # nothing left on hand: it stays at zero
    assert stock_row(app) == (0, 0)
    assert stock_row(app, "SOU2") is None  # no row is made for a source that reported nothing

    feed(app, stock_message("SOU1", SKU, 1, "again"), stock_message("SOU2", SKU, 3))
    feed(app, order_message(C))
    act(app, C, "release")
    assert stock_row(app) == (1, 1)
    feed(app, shipped_message(C, [1], source="SOU2"))
    assert (stock_row(app), stock_row(app, "SOU2")) == ((1, 0), (2, 0))


def test_stock_reports_keep_working_and_set_what_is_on_hand(
    app: Postsales, clock: list[datetime]
) -> None:
    feed(app, stock_message("SOU1", SKU, 3), order_message(A))
    act(app, A, "release")
    feed(app, stock_message("SOU1", SKU, 1))  # the warehouse counted again: one on hand
    assert stock_row(app) == (1, 1)
    feed(app, stock_message("SOU1", SKU, 0))  # fewer than reserved: available shows it
    doc = show_order(app, A, get_user(app, None))
    assert doc["stock"][0] == {"sku": SKU, "source_id": "SOU1", "on_hand": 0, "reserved": 1,
                               "available": -1}  # fmt: skip
    assert shipments(app, A) == ["INVENTORY_ASSIGNED"]  # what was assigned stays assigned


def test_exchange_reorder_and_new_orders_see_what_is_available(
    app: Postsales, clock: list[datetime]
) -> None:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    products = [
        json.dumps({"id": f"p-{sku}", "type": "catalog.product.upsert", "created_at": AT,
                    "payload": {"sku": sku, "parent_sku": "MJ01", "name": f"Kit {sku}",
                                "image_url": "", "prices": {"ST1": "50.00"}}})
        for sku in (SKU, "MJ01-L-RED")
    ]  # fmt: skip
    feed(
        app,
        *products,
        stock_message("SOU1", SKU, 1),
        stock_message("SOU1", "MJ01-L-RED", 1),
        order_message(A),
    )
    items = [{"line": 1, "sku": "MJ01-L-RED"}]
    preview = run_action(
        app, "000000101", "exchange", {"items": items}, get_user(app, None), dry_run=True
    )
    assert preview.order["related_order_ids"] == ["000000101-E1"]
    act(app, A, "release")  # holds the one unit of MJ01-M-RED

    reorder = act(app, A, "reorder")
    assert reorder.result["flagged"] == [{"line": 1, "sku": SKU, "reason": "out of stock"}]
    draft = create_order(
        app,
        {"sales_channel": "ST1", "customer": {"first_name": "Mercy", "last_name": "Taylor",
                                             "email": "mercy@example.com"},
         "shipping_address": {"first_name": "Mercy", "address1": "1 Main St", "city": "Austin"},
         "shipping_method": "express", "lines": [{"sku": SKU, "quantity": 1}]},
        get_user(app, None),
    )  # fmt: skip
    assert draft["history"][0]["summary"].endswith(f"; {SKU}: 1 ordered, 0 available")
    assert draft["stock"][0]["available"] == 0

    # Another order holds the one MJ01-L-RED on hand: the exchange finds none available.
    feed(app, order_message(B, sku="MJ01-L-RED"))
    act(app, B, "release")
    assert stock_row(app, sku="MJ01-L-RED") == (1, 1)
    with pytest.raises(Refused, match="MJ01-L-RED has no stock in sources SOU1, SOU2 of ST1"):
        act(app, "000000101", "exchange", items=items)

    # Given back, it is the exchange's: its new order is released at once and holds it.
    allow_cancel_when_released(app)
    act(app, B, "cancel")
    out = act(app, "000000101", "exchange", items=items)
    child = show_order(app, out.result["orders"][0], get_user(app, None))
    assert [s["status"] for s in child["shipments"]] == ["INVENTORY_ASSIGNED"]
    assert child["lines"][0]["reserved_source_id"] == "SOU1"
    assert stock_row(app, sku="MJ01-L-RED") == (1, 1)


def test_a_reshipment_waits_for_stock_and_gets_it(app: Postsales, clock: list[datetime]) -> None:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    out = act(app, "000000101", "reshipment", lines=[1], reason="Lost in transit")
    child = out.result["orders"][0]
    assert shipments(app, child) == ["AWAITING_INVENTORY"]
    feed(app, stock_message("SOU1", SKU, 1))
    assert shipments(app, child) == ["INVENTORY_ASSIGNED"]
    assert stock_row(app) == (1, 1)
