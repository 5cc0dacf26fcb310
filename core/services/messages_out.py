"""Payloads of outbound messages shared by several services (SPEC §9)."""

from __future__ import annotations

from typing import Any

from ..domain.orders import Order


def order_updated(order: Order) -> dict[str, Any]:
    """`sales.order_management.updated`: the order's status and its lines' statuses."""
    return {
        "order": {
            "id": order.id,
            "sales_channel_id": order.sales_channel,
            "status": order.status,
            "status_reason": order.status_reason,
            "order_type": order.order_type,
            "parent_order_id": order.parent_order_id,
            "lines": [
                {
                    "line_number": ln.line_number,
                    "sku": ln.sku,
                    "status": ln.status,
                    "status_reason": ln.status_reason,
                }
                for ln in order.lines
            ],
        }
    }
