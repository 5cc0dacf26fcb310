"""Shipping an order's lines, one way for every door (issue 14 item 3): an agent's ship action
(`plugins/actions/fulfilment.py`) and a warehouse's "shipped" message (`handlers.shipped`)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import machines
from ..context import ActionContext
from ..domain.orders import Order, Shipment
from . import inventory
from .lifecycle import sync_order_status
from .messages.outbound import order_updated

# A line cancelled, or shipped by an earlier report, while its shipment waited is left alone.
WAITING = ("NEW", "ALLOCATED", "PICKING")


def waiting_lines(order: Order, numbers: Iterable[int]) -> list[int]:
    """Those of `numbers` that have not shipped and may still ship."""
    return [n for n in numbers if order.line(n).status in WAITING]


def ship_lines(
    ctx: ActionContext, order: Order, numbers: Iterable[int], source_id: str
) -> list[int]:
    """Ship the waiting ones of `numbers` from `source_id`: each line SHIPPED from there, the
    stock it held (or the source's on hand) consumed, the order's status following. Returns
    the lines shipped; the caller records the shipment, then calls :func:`tell_shipped`."""
    shipped = waiting_lines(order, numbers)
    for n in shipped:
        line = order.line(n)
        machines.fire(machines.LINE, line, "ship", label=f"line {n}")
        line.status_reason = None
        line.source_id = source_id
    inventory.ship(ctx, [order.line(n) for n in shipped], source_id)
    sync_order_status(order)
    return shipped


def tell_shipped(ctx: ActionContext, order: Order, shipment: Shipment, shipped: list[int]) -> None:
    """The customer's "your order has shipped" e-mail when anything shipped, and the order's
    update to the systems that follow it."""
    if shipped:
        ctx.notify(order, "order_shipped", "Your order has shipped", carrier=shipment.carrier,
                   tracking_number=shipment.tracking_number,
                   tracking_link=shipment.tracking_link)  # fmt: skip
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
