"""Builders for the stock tests: small paid orders from the example order-create message, stock
reports, and the stock rows as the database holds them (issue 16 item 1)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.messages.inbound import import_lines
from tests.conftest import example

SKU = "MJ01-M-RED"  # line 1 of the example order
OTHER = "WT09-S-BLK"  # line 2
AT = "2026-11-10T12:00:00+00:00"


def order_message(order_id: str, lines: tuple[int, ...] = (1,), sku: str | None = None) -> str:
    """The example order as `order_id`, with only `lines` (line 1 of `sku` if given), paid in
    full (so releasable)."""
    data = example("order-create.json")
    data["id"] = f"msg-order-{order_id}"
    order = data["payload"]["order"]
    order["id"] = order_id
    order["order_lines"] = [ln for ln in order["order_lines"] if ln["line_number"] in lines]
    if sku is not None:
        order["order_lines"][0]["sku"] = sku
    total = sum(Decimal(ln["amount"]["gross_amount"]) for ln in order["order_lines"])
    payment = order["payments"][0]
    payment["requested_amount"] = payment["captured_amount"] = str(total)
    return json.dumps(data)


def stock_message(source: str, sku: str, quantity: int, n: int | str = 0) -> str:
    return json.dumps(
        {
            "id": f"msg-stock-{source}-{sku}-{quantity}-{n}",
            "type": "inventory.source_item.update",
            "created_at": AT,
            "payload": {"source_id": source, "sku": sku, "quantity": quantity},
        }
    )


def shipped_message(order_id: str, lines: list[int], source: str = "SOU1", **more: Any) -> str:
    return json.dumps(
        {
            "id": f"msg-shipped-{order_id}-{'-'.join(map(str, lines))}-{source}",
            "type": "logistics.shipment_request_management.shipped",
            "created_at": AT,
            "payload": {"order_id": order_id, "source_id": source, "lines": lines,
                        "carrier": "UPS", "tracking_number": f"1Z{order_id}", **more},
        }
    )  # fmt: skip


def feed(app: Postsales, *lines: str) -> None:
    report = import_lines(app, list(lines))
    assert not report.refused, [r.reason for r in report.refused]


def stock_row(app: Postsales, source: str = "SOU1", sku: str = SKU) -> tuple[int, int] | None:
    """(on hand, reserved) as stored, or None when the source has no row for the SKU."""
    s = T.stock.c
    with app.engine.connect() as conn:
        row = conn.execute(
            select(s.quantity, s.reserved).where(s.source_id == source, s.sku == sku)
        ).first()
    return None if row is None else (row.quantity, row.reserved)


def allow_cancel_when_released(app: Postsales) -> None:
    """ST1 lets agents cancel released orders (the default stops at NEW, RECEIVED, ONHOLD)."""
    settings = app.settings
    st1 = settings.sales_channels["ST1"]
    allowed = (*st1.postsales.cancel_allowed_statuses, "LOGISTICS", "PARTIALLY_SHIPPED")
    st1 = attrs.evolve(st1, postsales=attrs.evolve(st1.postsales, cancel_allowed_statuses=allowed))
    app.settings = attrs.evolve(settings, sales_channels={**settings.sales_channels, "ST1": st1})
