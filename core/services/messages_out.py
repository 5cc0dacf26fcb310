"""Payloads of outbound messages shared by several services and actions (SPEC §9).

One builder per message type, so every sender emits key for key the same shape: a warehouse
reads one `shipment_request` whether it came from a release (A-16) or a reshipment (A-7).
Built-in plugins may not import each other, which is why the shared builders live in core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..documents import iso
from ..domain.customers import Address
from ..domain.orders import Order, OrderLine, Shipment
from ..money import format_amount

PENDING_PICKING = "ITEM_PENDING_PICKING"
LINE_PRICES = ("net_amount", "gross_amount", "tax_amount")


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


def _address(reference: str, address: Address) -> dict[str, Any]:
    return {"reference": reference, "address_type": "customer", **address.to_dict()}


def _shipment_item(line: OrderLine, currency: str, at: str | None) -> dict[str, Any]:
    return {
        "order_line_id": str(line.line_number),
        "order_line_number": line.line_number,
        "parent_line_number": line.parent_line_number,
        "item_type": line.product_type,
        "sku": line.sku,
        "name": line.name,
        "order_line_price": {
            **{name: format_amount(getattr(line, name), currency) for name in LINE_PRICES},
            "tax_rate": str(line.tax_rate),
            "taxes": line.taxes,
        },
        "order_line_promotions_info": {
            "original_price": format_amount(line.original_price, currency),
            "promotions": line.promotions,
        },
        # The warehouse's view of the item, as in seed 002: new to it, waiting to be picked.
        "status": "NEW",
        "status_reason": PENDING_PICKING,
        "status_date": at,
    }


def shipment_request(order: Order, shipment: Shipment, at: datetime) -> dict[str, Any]:
    """`logistics.shipment_request_management.requested`, shaped after seed 002's example.

    `at` is when the request is made (the action's `ctx.now`): it dates the request and each
    item. The billing address is reference "1"; a different shipping address is "2", the same
    one is listed once.
    """
    when = iso(at)
    billing = _address("1", order.billing_address) if order.billing_address else None
    shipping = None
    if order.shipping_address:
        same = order.shipping_address == order.billing_address
        shipping = billing if same else _address("2", order.shipping_address)
    addresses = [a for a in (billing, shipping) if a is not None]
    return {
        "shipment_request": {
            "id": shipment.id,
            "order_id": order.id,
            "source_id": shipment.source_id,
            "customer_id": order.customer.id,
            "store": order.sales_channel,
            "language": order.language,
            "vat_country": order.vat_country,
            "origin": order.origin,
            "origin_date": iso(order.origin_date),
            "created_at": when,
            "status": "NEW",
            "shipping_method": order.shipping_method,
            "items": [_shipment_item(order.line(n), order.currency, when) for n in shipment.lines],
            "addresses": list({a["reference"]: a for a in addresses}.values()),
            "shipping_address": shipping,
            "billing_address": billing,
            "status_date": when,
        }
    }
