"""Child orders: the free order an exchange (A-6) or a reshipment (A-7) creates.

Both make `<original>-E<n>` / `<original>-R<n>` the same way: the original's customer, addresses,
channel, currency and language; lines cloned at no charge (the original price kept for display);
`parent_order_id` on the child and `related_order_ids` both ways; an entry in both histories; and
the original lines returned without refund when a `child_order_return` rule asks for it (R-4,
R-5). What differs — which lines, which SKUs, which address, the messages — stays in the two
action plugins, which may not import each other and so share this through core.

Both children are released to shipping at once (seed 002: "a shipment request message is sent
from the new reshipment order"; an exchange order has nothing to pay either, so nothing to wait
for): :func:`release_child` allocates the lines, opens one shipment request per source, moves the
order to LOGISTICS and emits the requests in the action's transaction, as a release (A-16) does.

The steps are separate functions, not one, because each action validates its own input between
them (a reshipment checks its new address only once the child id is known to be free).
"""

from __future__ import annotations

from typing import Any

import attrs

from ..context import ActionContext
from ..domain.customers import Address
from ..domain.orders import Order, OrderLine, Return, Shipment
from ..errors import Refused
from ..machines import LINE, ORDER, fire
from ..money import ZERO, format_amount
from ..rules import CHILD_ORDER_RETURN
from . import inventory
from .messages.outbound import PENDING_PICKING, shipment_request
from .returns import create_return

# The `origin` of each kind of child order; seed 002's shipment request of a reshipment says
# `"origin": "RE"`.
ORIGINS = {"EXCHANGE": "EX", "RESHIPMENT": "RE"}


def reserve_id(ctx: ActionContext, order: Order, order_type: str) -> str:
    """The child's id, `<original>-E<n>` or `<original>-R<n>`.

    Refused if an order of that id exists without being linked to `order` (imported from
    elsewhere): numbering past it would hide that something is wrong.
    """
    new_id = order.next_child_order_id(order_type)
    if ctx.order_exists(new_id):
        raise Refused(f"order {new_id} already exists; it is not linked to order {order.id}")
    return new_id


def new_child_order(
    ctx: ActionContext,
    order: Order,
    new_id: str,
    order_type: str,
    lines: list[OrderLine],
    *,
    shipping_address: Address | None = None,
    shipping_method: str | None = None,
) -> Order:
    """The child order, NEW and linked to its parent; nothing to pay.

    A copy of the original's customer, billing address and sales data; the shipping address and
    method are the original's unless given (a reshipment may go elsewhere, by another method).
    The parent is not touched here: :func:`add_child_order` links it.
    """
    return order.copied(
        new_id,
        ctx.now,
        lines,
        status="NEW",
        order_type=order_type,
        parent_order_id=order.id,
        related_order_ids=[order.id],
        client_order_reference=order.client_order_reference,
        origin=ORIGINS[order_type],
        shipping_address=order.shipping_address if shipping_address is None else shipping_address,
        shipping_method=shipping_method or order.shipping_method,
    )


def free_line(number: int, old: OrderLine, currency: str, **changes: Any) -> OrderLine:
    """Line `number` of a child order: `old` at no charge.

    The original price stays for display, fully discounted, so net, tax and gross are zero and
    each tax entry's amount is too. The line is NEW, without promotions, and with no parent line
    unless `changes` give one (the child is numbered afresh); `changes` replace other fields as
    well, e.g. an exchange's new SKU and the source that ships it.
    """
    zero = format_amount(ZERO, currency)
    line = old.copied(
        number,
        original_price=old.original_price,
        discount=old.original_price,
        taxes=[{**tax, "amount": zero} for tax in old.taxes],
        source_id=old.source_id,
    )
    return attrs.evolve(line, **changes) if changes else line


def add_child_order(
    ctx: ActionContext,
    order: Order,
    child: Order,
    *,
    summary: str,
    payload: dict[str, Any],
    parent_summary: str,
    parent_payload: dict[str, Any],
) -> None:
    """Link the child from its parent, record it in both histories and save it with the command.

    The child's entry is `order.created` (its payload led by `parent_order_id`); the parent's is
    `exchange.created` or `reshipment.created` (led by `new_order_id`). The child's id goes into
    the action's result under `orders`.
    """
    order.related_order_ids.append(child.id)
    ctx.record(child, "order.created", summary, {"parent_order_id": order.id, **payload})
    ctx.add_order(child)
    ctx.created("orders", child.id)
    kind = f"{child.order_type.lower()}.created"
    ctx.record(order, kind, parent_summary, {"new_order_id": child.id, **parent_payload})


def return_originals(
    ctx: ActionContext, order: Order, child: Order, lines: list[int], *, reason: str
) -> Return | None:
    """The return of the original `lines`, if a `child_order_return` rule asks for one.

    The first rule asking for a return decides whether it refunds (R-4, R-5: it does not). The
    return skips auto-approval: the items have not come back yet (and lost ones may never), so
    it stays pending until the warehouse receives them (seed 000).
    """
    answer = ctx.decide(CHILD_ORDER_RETURN, order, child.order_type, lines)
    if answer is None:
        return None
    return create_return(
        ctx,
        order,
        lines,
        reason=reason,
        comment=f"{child.order_type.capitalize()} {child.id}",
        refunds=answer.refunds,
        related_order_id=child.id,
        approval_override=True,
    )


def release_child(ctx: ActionContext, child: Order, fallback_source: str | None) -> list[Shipment]:
    """Release the new child order to shipping: one shipment request per source, emitted.

    A line ships from the source it names (the original's for a reshipment, the one with stock
    for an exchange), else from `fallback_source`. As in a release (A-16), a request is
    INVENTORY_ASSIGNED when its product lines' stock is reserved, in this transaction, else
    AWAITING_INVENTORY (holding nothing, until stock arrives). Lines become ALLOCATED
    (`ITEM_PENDING_PICKING`), the order LOGISTICS, and each request is recorded in the child's
    history and sent as `logistics.shipment_request_management.requested`.
    """
    by_source: dict[str, list[OrderLine]] = {}
    for line in child.lines:
        line.source_id = line.source_id or fallback_source
        by_source.setdefault(line.source_id or "", []).append(line)
    shipments = []
    reserved = inventory.reserve(ctx, by_source)
    for source, lines in by_source.items():
        status = inventory.status_for(reserved[source])
        numbers = [line.line_number for line in lines]
        shipment = Shipment(id=child.next_shipment_id(), source_id=source, lines=numbers,
                            status=status, created_at=ctx.now)  # fmt: skip
        child.shipments.append(shipment)
        shipments.append(shipment)
        for line in lines:
            fire(LINE, line, "allocate", label=f"line {line.line_number}")
            line.status_reason = PENDING_PICKING
    fire(ORDER, child, "release", label=f"order {child.id}")
    for shipment in shipments:
        ctx.record(child, "shipment.requested",
                   f"Shipment {shipment.id} requested from {shipment.source_id} for lines "
                   f"{', '.join(map(str, shipment.lines))} ({shipment.status})",
                   {"shipment_id": shipment.id, "source_id": shipment.source_id,
                    "lines": shipment.lines, "status": shipment.status})  # fmt: skip
        ctx.emit("logistics.shipment_request_management.requested",
                 shipment_request(child, shipment, ctx.now), order=child)  # fmt: skip
        ctx.created("shipments", shipment.id)
    return shipments
