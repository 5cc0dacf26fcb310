"""A-16 Release to shipping, pick ("add to picklist") and ship ("complete") (004, 002).

Release splits the order's waiting lines into one shipment request per source: a line goes to
the source it names, else to the channel's first source with the SKU available, else to the
channel's first source. A shipment whose product lines all get their stock reserved is
INVENTORY_ASSIGNED, otherwise it holds nothing and is AWAITING_INVENTORY (004) until stock
arrives or is given back (`postsales.core.services.inventory`). Shipping consumes what the
lines hold. Each request is sent to the warehouse as
``logistics.shipment_request_management.requested``, shaped after 002's example by
:func:`postsales.core.services.messages.outbound.shipment_request` (reshipments send the same).
Sources that integrate by message report shipping themselves; for the others an agent picks and
ships here.
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    LINE,
    ORDER,
    SHIPMENT,
    ZERO,
    ActionContext,
    ActionSpec,
    BadInput,
    NoParams,
    Order,
    OrderLine,
    Shipment,
    Widget,
    allowed_sources,
    check_link,
    fire,
    format_amount,
    hookimpl,
    order_updated,
    param,
    reserve_stock,
    ship_lines,
    shipment_request,
    stock_status,
    tell_shipped,
)

RELEASABLE = allowed_sources(ORDER, "release")
PICKABLE = allowed_sources(SHIPMENT, "pick")
SHIPPABLE = allowed_sources(SHIPMENT, "ship")
FREE_OF_CHARGE = ("EXCHANGE", "RESHIPMENT")  # nothing to pay before they ship
PENDING_PICKING = "ITEM_PENDING_PICKING"
TRACKING = ("carrier", "tracking_number", "tracking_link", "box_number")
Plan = dict[str, list[OrderLine]]  # source -> the lines it ships


# -- release --------------------------------------------------------------------------------------


def why_not_release(order: Order, ctx: ActionContext) -> str | None:
    if order.status == "ONHOLD":
        return "a held order cannot be released to shipping"
    if order.status not in RELEASABLE:
        return f"order is {order.status}; release is allowed in {', '.join(RELEASABLE)}"
    if order.order_type not in FREE_OF_CHARGE and order.total_due > ZERO:
        due = format_amount(order.total_due, order.currency)
        return f"order is not fully paid: {due} {order.currency} due"
    if not any(line.status == "NEW" for line in order.lines):
        return "no line is waiting to be shipped"
    if not ctx.channel(order).sources:
        return f"sales channel {order.sales_channel} has no source to ship from"
    return None


def plan_shipments(order: Order, ctx: ActionContext) -> Plan:
    """Lines per source, in the channel's source order: a product line goes to the source it
    names, else to the first source with the SKU available (on hand less reserved), else to
    the channel's first source."""
    sources = ctx.channel(order).sources
    waiting = [line for line in order.lines if line.status == "NEW"]
    known = tuple(dict.fromkeys([*sources, *(ln.source_id for ln in waiting if ln.source_id)]))
    stock: dict[str, dict[str, int]] = {}
    used: dict[tuple[str, str], int] = {}
    plan: Plan = {}

    def left(source: str, sku: str) -> int:
        if sku not in stock:
            stock[sku] = ctx.stock(sku, known)
        return stock[sku].get(source, 0) - used.get((source, sku), 0)

    for line in (ln for ln in waiting if ln.product_type == "PHYSICAL"):
        source = line.source_id or next((s for s in sources if left(s, line.sku) >= 1), sources[0])
        plan.setdefault(source, []).append(line)
        used[(source, line.sku)] = used.get((source, line.sku), 0) + 1
    for line in (ln for ln in waiting if ln.product_type != "PHYSICAL"):
        # Services and shipping have no stock: they travel with their product (gift wrap) or,
        # order-level, with the first shipment.
        parent = next((s for s, lns in plan.items() for p in lns
                       if p.line_number == line.parent_line_number), None)  # fmt: skip
        source = line.source_id or parent or next(iter(plan), sources[0])
        plan.setdefault(source, []).append(line)
    return plan


def _next_shipment_id(order: Order) -> str:
    taken = {s.id for s in order.shipments}
    n = len(order.shipments) + 1
    while (candidate := f"{order.sales_channel}-{order.id}-{n:02d}") in taken:
        n += 1
    return candidate


def release(order: Order, params: NoParams, ctx: ActionContext) -> None:
    plan = plan_shipments(order, ctx)
    fire(ORDER, order, "release")
    order.status_reason = None
    # In this transaction, by guarded UPDATEs: of two releases of the last unit one gets it.
    reserved = reserve_stock(ctx, plan)
    for source, lines in plan.items():
        status = stock_status(reserved[source])
        numbers = [line.line_number for line in lines]
        shipment = Shipment(_next_shipment_id(order), source, numbers, status, created_at=ctx.now)
        order.shipments.append(shipment)
        for line in lines:
            fire(LINE, line, "allocate", label=f"line {line.line_number}")
            line.status_reason = PENDING_PICKING
            line.source_id = source
        ctx.record(order, "shipment.requested",
                   f"Shipment {shipment.id} requested from {source} for lines "
                   f"{', '.join(map(str, numbers))} ({status})",
                   {"shipment_id": shipment.id, "source_id": source, "lines": numbers,
                    "status": status})  # fmt: skip
        ctx.emit("logistics.shipment_request_management.requested",
                 shipment_request(order, shipment, ctx.now), order=order)  # fmt: skip
        ctx.created("shipments", shipment.id)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


# -- pick and ship --------------------------------------------------------------------------------


def _shipment(order: Order, shipment_id: str) -> Shipment:
    try:
        return order.shipment(shipment_id)
    except KeyError:
        ids = ", ".join(s.id for s in order.shipments) or "none"
        raise BadInput(
            f"shipment_id: order {order.id} has no shipment {shipment_id!r}; its shipments: {ids}",
            field="shipment_id",
        ) from None


def _text(limit: int, *, required: bool = False) -> Any:
    def check(_inst: Any, attribute: Any, value: str) -> None:
        name = attribute.name
        if required and not value.strip():
            raise BadInput(f"{name}: a value is required", field=name)
        if len(value) > limit:
            raise BadInput(f"{name}: at most {limit} characters", field=name)

    return check


def _link(_inst: Any, attribute: Any, value: str) -> None:
    check_link(value, attribute.name)  # http and https only, at the door (issue 17 item 6)


@attrs.frozen
class PickParams:
    shipment_id: str = param(
        Widget.SHIPMENT, label="Shipment", help="the shipment to add to the picklist",
        accepts=lambda o, s, ctx: None if s.status in PICKABLE else f"it is {s.status}",
    )  # fmt: skip


@attrs.frozen
class ShipParams:
    shipment_id: str = param(
        Widget.SHIPMENT, label="Shipment", help="the shipment that left the source",
        accepts=lambda o, s, ctx: None if s.status in SHIPPABLE else f"it is {s.status}",
    )  # fmt: skip
    carrier: str = param(
        Widget.TEXT, label="Carrier", validator=_text(64, required=True), max_length=64
    )
    tracking_number: str = param(
        Widget.TEXT, label="Tracking number", validator=_text(128, required=True), max_length=128,
        help="the carrier's tracking number",
    )  # fmt: skip
    tracking_link: str = param(
        Widget.TEXT, label="Tracking link", default="", validator=_link, help="an http or https URL"
    )
    box_number: str = param(
        Widget.TEXT, label="Box number", default="", validator=_text(32), max_length=32
    )


def why_not_pick(order: Order, ctx: ActionContext) -> str | None:
    if not any(s.status in PICKABLE for s in order.shipments):
        return f"no shipment is ready to pick (it must be {' or '.join(PICKABLE)})"
    return None


def pick(order: Order, params: PickParams, ctx: ActionContext) -> None:
    shipment = _shipment(order, params.shipment_id)
    fire(SHIPMENT, shipment, "pick", label=f"shipment {shipment.id}")
    for n in shipment.lines:
        line = order.line(n)
        if line.status == "ALLOCATED":
            fire(LINE, line, "pick", label=f"line {n}")
            line.status_reason = None
    ctx.record(order, "shipment.packing", f"Shipment {shipment.id} added to the picklist",
               {"shipment_id": shipment.id})  # fmt: skip


def why_not_ship(order: Order, ctx: ActionContext) -> str | None:
    if not any(s.status in SHIPPABLE for s in order.shipments):
        return "no shipment is waiting to be shipped; release the order to shipping first"
    return None


def ship(order: Order, params: ShipParams, ctx: ActionContext) -> None:
    shipment = _shipment(order, params.shipment_id)
    fire(SHIPMENT, shipment, "ship", label=f"shipment {shipment.id}")
    for name in TRACKING:
        setattr(shipment, name, getattr(params, name).strip() or None)
    shipment.shipped_at = ctx.now
    shipped = ship_lines(ctx, order, shipment.lines, shipment.source_id)
    ctx.record(order, "shipment.shipped",
               f"Shipment {shipment.id} shipped by {shipment.carrier}, "
               f"tracking {shipment.tracking_number}",
               {"shipment_id": shipment.id, "lines": shipped,
                **{name: getattr(shipment, name) for name in TRACKING}})  # fmt: skip
    tell_shipped(ctx, order, shipment, shipped)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    return [
        ActionSpec(
            name="release",
            label="Release to shipping",
            permission="shipment.manage",
            run=release,
            why_unavailable=why_not_release,
            description="Create shipment requests per source and send them to the warehouses.",
            requirement="A-16",
        ),
        ActionSpec(
            name="pick",
            label="Add to picklist",
            permission="shipment.manage",
            params=PickParams,
            run=pick,
            why_unavailable=why_not_pick,
            description="Mark a shipment as being packed.",
            requirement="A-16",
        ),
        ActionSpec(
            name="ship",
            label="Complete shipment",
            permission="shipment.manage",
            params=ShipParams,
            run=ship,
            why_unavailable=why_not_ship,
            description="Record that a shipment left its source, with carrier and tracking.",
            requirement="A-16",
        ),
    ]
