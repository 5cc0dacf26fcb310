"""A-7 New reshipment: shipped lines sent again, free of charge, in a new order `<id>-R<n>`.

Seed 002: the new order is a child of the original; a `postsales.reshipment.management.create`
message is sent, then a `logistics.shipment_request_management.requested` for the new order and a
`sales.order_management.updated`. The original lines get a return without refund (R-4, asked at
the `child_order_return` rule point). The new shipping address is not validated (seed 000).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from postsales.core import ActionContext, ActionSpec, BadInput, Refused, hookimpl
from postsales.core.domain.customers import Address
from postsales.core.domain.orders import Order, OrderLine, Shipment
from postsales.core.machines import LINE, ORDER, fire
from postsales.core.money import ZERO, format_amount
from postsales.core.services.messages_out import order_updated
from postsales.core.services.returns import create_return

REQUIREMENT = "A-7"
ORDER_TYPE = "RESHIPMENT"
ORIGIN = "RE"  # seed 002's shipment request of a reshipment says `"origin": "RE"`
# The keys of `new_shipping_address` in seed 002 and examples/messages/out-reshipment-create.json.
MESSAGE_ADDRESS_KEYS = (
    *("first_name", "last_name", "company_name", "address1", "address2", "city", "zip", "state"),
    "country_code",
)
ADDRESS_KEYS = tuple(attrs.fields_dict(Address))


@attrs.frozen
class ReshipmentParams:
    """The shipped lines to send again, why, and optionally a new address and method."""

    lines: list[int] = attrs.field(metadata={"help": "Line numbers to reship (each SHIPPED)"})
    reason: str = attrs.field(metadata={"help": "Reason, e.g. Warehouse mistake"})
    reason_description: str = attrs.field(default="", metadata={"help": "Description"})
    shipping_method: str | None = attrs.field(
        default=None, metadata={"help": "Shipping method (default: the order's)"}
    )
    shipping_address: dict[str, Any] | None = attrs.field(
        default=None,
        metadata={"help": "New shipping address (not validated); keys left out keep the order's"},
    )


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(ln.status == "SHIPPED" and ln.product_type != "SHIPPING" for ln in order.lines):
        return "no line is SHIPPED; a reshipment needs a shipped line"
    return None


def check_lines(order: Order, numbers: list[int]) -> list[OrderLine]:
    if not numbers:
        raise BadInput("lines: choose at least one line to reship", field="lines")
    if len(set(numbers)) != len(numbers):
        raise BadInput("lines: a line is listed twice", field="lines")
    for n in numbers:
        if not order.has_line(n):
            raise BadInput(f"lines: order {order.id} has no line {n}", field="lines")
        if order.line(n).product_type == "SHIPPING":
            raise BadInput(
                f"lines: line {n} is the shipping charge; choose product lines", field="lines"
            )
    for n in numbers:
        if order.line(n).status != "SHIPPED":
            raise Refused(f"line {n} is {order.line(n).status}; a reshipment needs a SHIPPED line")
    return [order.line(n) for n in numbers]


def new_address(order: Order, given: dict[str, Any] | None) -> Address | None:
    """The given address over the order's shipping address; only text values, known keys."""
    if given is None:
        return order.shipping_address
    unknown = sorted(set(given) - set(ADDRESS_KEYS))
    if unknown:
        where = f"shipping_address.{unknown[0]}"
        allowed = ", ".join(ADDRESS_KEYS)
        raise BadInput(f"{where}: unknown field; expected some of: {allowed}", field=where)
    values = order.shipping_address.to_dict() if order.shipping_address else {}
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | None):
            raise BadInput(f"shipping_address.{key}: expected text, got {value!r}",
                           field=f"shipping_address.{key}")  # fmt: skip
        values[key] = "" if value is None else str(value)
    return Address.from_dict(values)


def free_line(number: int, old: OrderLine, parent: int | None, currency: str) -> OrderLine:
    """A clone of the shipped line at no charge; the original price stays for display."""
    zero = format_amount(ZERO, currency)
    return OrderLine(
        line_number=number, sku=old.sku, name=old.name, product_type=old.product_type,
        parent_sku=old.parent_sku, parent_line_number=parent, image_url=old.image_url,
        original_price=old.original_price, discount=old.original_price, tax_rate=old.tax_rate,
        taxes=[{**tax, "amount": zero} for tax in old.taxes], source_id=old.source_id,
    )  # fmt: skip


def new_order(order: Order, new_id: str, params: ReshipmentParams, ctx: ActionContext) -> Order:
    """The reshipment order: the original's customer and billing, the (new) shipping details."""
    child = Order(
        id=new_id, sales_channel=order.sales_channel, currency=order.currency,
        customer=attrs.evolve(order.customer), created_at=ctx.now, origin_date=ctx.now,
        status="NEW", order_type=ORDER_TYPE, parent_order_id=order.id,
        related_order_ids=[order.id], client_order_reference=order.client_order_reference,
        origin=ORIGIN, language=order.language, vat_country=order.vat_country,
        market=order.market, billing_address=order.billing_address,
        shipping_address=new_address(order, params.shipping_address),
        shipping_method=params.shipping_method or order.shipping_method,
    )  # fmt: skip
    renumber = {n: i for i, n in enumerate(params.lines, start=1)}
    for n in params.lines:
        old = order.line(n)
        child.lines.append(
            free_line(renumber[n], old, renumber.get(old.parent_line_number or 0), order.currency)
        )
    return child


def request_shipments(
    child: Order, ctx: ActionContext, fallback_source: str | None
) -> list[Shipment]:
    """One shipment request per source (the source that shipped the original line)."""
    by_source: dict[str, list[int]] = {}
    for line in child.lines:
        line.source_id = line.source_id or fallback_source
        by_source.setdefault(line.source_id or "", []).append(line.line_number)
    shipments = []
    for source, numbers in by_source.items():
        shipment = Shipment(id=child.next_shipment_id(), source_id=source, lines=numbers,
                            created_at=ctx.now)  # fmt: skip
        child.shipments.append(shipment)
        shipments.append(shipment)
        for n in numbers:
            fire(LINE, child.line(n), "allocate", label=f"line {n}")
            child.line(n).status_reason = "ITEM_PENDING_PICKING"
    fire(ORDER, child, "release", label=f"order {child.id}")
    return shipments


def _address(reference: str, address: Address) -> dict[str, Any]:
    return {"reference": reference, "address_type": "customer", **address.to_dict()}


def shipment_request(order: Order, shipment: Shipment, at: str) -> dict[str, Any]:
    """`logistics.shipment_request_management.requested`, shaped after seed 002's example.

    Kept key for key the same as the one `release` (A-16, fulfilment.py) emits, so a warehouse
    reads one shape; plugins cannot share code, so the builder belongs in core (see the report).
    """
    cur = order.currency

    def m(amount: Decimal) -> str:
        return format_amount(amount, cur)

    items = []
    for n in shipment.lines:
        ln = order.line(n)
        items.append({
            "order_line_id": str(n), "order_line_number": n,
            "parent_line_number": ln.parent_line_number, "item_type": ln.product_type,
            "sku": ln.sku, "name": ln.name,
            "order_line_price": {"net_amount": m(ln.net_amount), "gross_amount": m(ln.gross_amount),
                                 "tax_amount": m(ln.tax_amount), "tax_rate": str(ln.tax_rate),
                                 "taxes": ln.taxes},
            "order_line_promotions_info": {"original_price": m(ln.original_price),
                                           "promotions": ln.promotions},
            # The warehouse's view of the item, as in 002: new to it, waiting to be picked.
            "status": "NEW", "status_reason": "ITEM_PENDING_PICKING", "status_date": at,
        })  # fmt: skip
    billing = _address("1", order.billing_address) if order.billing_address else None
    shipping = None
    if order.shipping_address:
        same = order.shipping_address == order.billing_address
        shipping = billing if same else _address("2", order.shipping_address)
    addresses = [a for a in (billing, shipping) if a is not None]
    return {"shipment_request": {
        "id": shipment.id, "order_id": order.id, "source_id": shipment.source_id,
        "customer_id": order.customer.id, "store": order.sales_channel,
        "language": order.language, "vat_country": order.vat_country, "origin": order.origin,
        "origin_date": order.origin_date.isoformat(), "created_at": at, "status": "NEW",
        "shipping_method": order.shipping_method, "items": items,
        "addresses": list({a["reference"]: a for a in addresses}.values()),
        "shipping_address": shipping, "billing_address": billing, "status_date": at,
    }}  # fmt: skip


def reshipment_created(
    order: Order, child: Order, params: ReshipmentParams, actor: str
) -> dict[str, Any]:
    """`postsales.reshipment.management.create`, exactly as seed 002 and the example show it."""
    address = child.shipping_address.to_dict() if child.shipping_address else {}
    return {
        "reshipment": {
            "sales_channel_id": order.sales_channel,
            "order_id": order.id,
            "new_order_id": child.id,
            "new_shipping_method": child.shipping_method,
            "new_shipping_address": {k: address.get(k, "") for k in MESSAGE_ADDRESS_KEYS},
            "lines": [
                {
                    "line_number": n,
                    "reason": params.reason,
                    "reason_description": params.reason_description,
                }
                for n in params.lines
            ],
        },
        "user": actor,
    }


def run(order: Order, params: ReshipmentParams, ctx: ActionContext) -> None:
    """Create the free order, request its shipment, return the originals without refund."""
    lines = check_lines(order, list(params.lines))
    if not params.reason.strip():
        raise BadInput("reason: a reason is required", field="reason")
    channel = ctx.channel(order)
    if (
        params.shipping_method is not None
        and params.shipping_method not in channel.shipping_methods
    ):
        methods = ", ".join(channel.shipping_methods)
        raise BadInput(
            f"shipping_method: {params.shipping_method!r} is not a shipping method of "
            f"{order.sales_channel}; choose one of: {methods}",
            field="shipping_method",
        )
    new_id = order.next_child_order_id(ORDER_TYPE)
    if ctx.order_exists(new_id):
        raise Refused(f"order {new_id} already exists; it is not linked to order {order.id}")
    child = new_order(order, new_id, params, ctx)
    order.related_order_ids.append(new_id)
    numbers = [ln.line_number for ln in lines]
    what = f"line(s) {', '.join(map(str, numbers))}: {params.reason}" + (
        f" ({params.reason_description})" if params.reason_description else "")  # fmt: skip
    summary = f"Reshipment of order {order.id} created by {ctx.actor}, {what}"
    ctx.record(child, "order.created", summary,
               {"parent_order_id": order.id, "lines": numbers, "reason": params.reason,
                "reason_description": params.reason_description})  # fmt: skip
    shipments = request_shipments(child, ctx, channel.sources[0] if channel.sources else None)
    ctx.add_order(child)
    ctx.created("orders", new_id)
    ctx.record(order, "reshipment.created", f"Reshipment {new_id} created by {ctx.actor}, {what}",
               {"new_order_id": new_id, "lines": numbers, "reason": params.reason,
                "reason_description": params.reason_description,
                "shipping_method": child.shipping_method})  # fmt: skip
    answers = [a for _, a in ctx.ask("child_order_return", order, ORDER_TYPE, numbers)]
    answer = next((a for a in answers if a.request_return), None)
    if answer is not None:
        create_return(
            ctx, order, numbers, reason=params.reason, comment=f"Reshipment {new_id}",
            refunds=answer.refunds, related_order_id=new_id,
            # Lost or damaged items may never come back: the return waits for the warehouse.
            approval_override=True,
        )  # fmt: skip
    ctx.emit("postsales.reshipment.management.create",
             reshipment_created(order, child, params, ctx.actor), order=order)  # fmt: skip
    at = ctx.now.isoformat()
    for shipment in shipments:
        ctx.emit("logistics.shipment_request_management.requested",
                 shipment_request(child, shipment, at), order=child)  # fmt: skip
    ctx.emit("sales.order_management.updated", order_updated(child), order=child)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register A-7 `reshipment`."""
    return [
        ActionSpec(
            name="reshipment",
            label="New reshipment",
            permission="reshipment.create",
            params=ReshipmentParams,
            run=run,
            why_unavailable=why_unavailable,
            description="Ship lines again for free in a new order; the originals are returned.",
            requirement=REQUIREMENT,
        )
    ]
