"""Payloads of outbound messages shared by several services and actions (SPEC §9).

One builder per message type, so every sender emits key for key the same shape: a warehouse
reads one `shipment_request` whether it came from a release (A-16) or a reshipment (A-7).
Built-in plugins may not import each other, which is why the shared builders live in core.

The `notify_*` functions below are the customer notifications (`notification.email`) that more
than one door sends — a return approved by a supervisor or by the warehouse's message, a refund
failing at the gateway — so the customer reads the same e-mail whichever door caused it. Each
passes the template the facts it words: ids, the items (name and SKU), amounts as strings with
the currency's decimals (the template adds `currency`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...documents import iso
from ...domain.customers import Address
from ...domain.orders import Order, OrderLine, Refund, Return, Shipment
from ...money import format_amount

if TYPE_CHECKING:
    from ...context import ActionContext

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
    # Seed 002's addresses end with `custom_attributes`; Postsales keeps none, so it is empty.
    return {"reference": reference, "address_type": "customer", **address.to_dict(),
            "custom_attributes": []}  # fmt: skip


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
            # Beyond seed 002: whether the source's stock is reserved for it. A request sent
            # AWAITING_INVENTORY is sent again, same id, once stock is assigned to it.
            "inventory_status": shipment.status,
            "shipping_method": order.shipping_method,
            "items": [_shipment_item(order.line(n), order.currency, when) for n in shipment.lines],
            "addresses": list({a["reference"]: a for a in addresses}.values()),
            "shipping_address": shipping,
            "billing_address": billing,
            "status_date": when,
        }
    }


# -- customer notifications -----------------------------------------------------------------------


def _items(order: Order, numbers: list[int]) -> list[dict[str, Any]]:
    """The products among `numbers`: what a parcel holds (services and shipping are not sent)."""
    lines = (order.line(n) for n in numbers)
    return [
        {"line_number": ln.line_number, "sku": ln.sku, "name": ln.name}
        for ln in lines
        if ln.product_type == "PHYSICAL"
    ]


def _source_name(ctx: ActionContext, source_id: str | None) -> str:
    source = ctx.settings.sources.get(source_id) if source_id else None
    return source.name if source is not None else (source_id or "")


def _return_facts(ctx: ActionContext, order: Order, ret: Return | None) -> dict[str, Any]:
    """What the customer needs to send a return back: its id, the items and where to."""
    if ret is None:
        return {"return_id": None, "send_back": [], "send_to": ""}
    return {
        "return_id": ret.id,
        "send_back": _items(order, ret.lines),
        "send_to": _source_name(ctx, ret.source_id),
    }


def _refund_of(order: Order, ret: Return) -> Refund | None:
    return next(
        (r for r in order.refunds if r.return_id == ret.id and r.status != "CANCELLED"), None
    )


def notify_return(
    ctx: ActionContext, order: Order, ret: Return, *, created: bool = False, received: bool = False
) -> None:
    """`return_created` when the return is made (approved at once or not), else
    `return_approved` (a supervisor, or the warehouse that `received` the items)."""
    refund = _refund_of(order, ret)
    approved = ret.status == "APPROVED"
    template = "return_created" if created else "return_approved"
    subject = "Your return has been approved" if approved else "Your return has been registered"
    ctx.notify(
        order, template, subject,
        **_return_facts(ctx, order, ret),
        status=ret.status,
        received=received,
        refunds=ret.refunds,
        refund_id=refund.id if refund else None,
        refund_amount=format_amount(refund.amount, order.currency) if refund else None,
        refund_status=refund.status if refund else None,
        related_order_id=ret.related_order_id,
    )  # fmt: skip


def _ship_to(address: Address | None) -> str:
    if address is None:
        return ""
    a = address
    parts = (a.address1, a.address2, f"{a.zip} {a.city}".strip(), a.state, a.country_code)
    return ", ".join(p for p in parts if p)


def notify_exchange(
    ctx: ActionContext, order: Order, child: Order, swaps: list[dict[str, Any]], ret: Return | None
) -> None:
    """`exchange_created`: the new items coming in `child`, and the originals to send back."""
    items = [
        {"sku": s["sku"], "name": order.line(s["line_number"]).name, "new_sku": s["new_sku"],
         "new_name": child.line(s["new_line_number"]).name}
        for s in swaps
    ]  # fmt: skip
    ctx.notify(
        order, "exchange_created", "Your exchange is on its way",
        new_order_id=child.id, items=items, ship_to=_ship_to(child.shipping_address),
        shipping_method=child.shipping_method or "", **_return_facts(ctx, order, ret),
    )  # fmt: skip


def notify_reshipment(ctx: ActionContext, order: Order, child: Order, ret: Return | None) -> None:
    """`reshipment_created`: what is sent again, where and how; the return of the originals."""
    ctx.notify(
        order, "reshipment_created", "We are sending your items again",
        new_order_id=child.id, items=_items(child, [ln.line_number for ln in child.lines]),
        ship_to=_ship_to(child.shipping_address), shipping_method=child.shipping_method or "",
        **_return_facts(ctx, order, ret),
    )  # fmt: skip


def notify_refund_failed(ctx: ActionContext, order: Order, refund: Refund) -> None:
    """`refund_failed`: the gateway refused; the customer is told an agent takes it from here.
    The gateway's response stays in history: it is for the agent, not the customer."""
    ctx.notify(
        order, "refund_failed", "We could not complete your refund",
        refund_id=refund.id, amount=format_amount(refund.amount, order.currency),
    )  # fmt: skip
