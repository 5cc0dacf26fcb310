"""The order's own lifecycle (SPEC §3).

- Status that follows from its lines: every line cancelled -> CANCELLED; every line shipped,
  returned or cancelled -> SHIPPED; some shipped -> PARTIALLY_SHIPPED.
- Order review: NEW -> RECEIVED (`pass_review`).
- Closing: SHIPPED -> CLOSED once nothing more can happen to the order (`why_not_closable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import machines
from ..domain.orders import Order
from .messages.outbound import order_updated

if TYPE_CHECKING:
    from ..context import ActionContext

_SHIPPED_OR_LATER = frozenset({"SHIPPED", "RETURN_REQUESTED", "RETURNED"})
_DONE = _SHIPPED_OR_LATER | {"CANCELLED"}


def sync_order_status(order: Order) -> str | None:
    """Fire the order transition its lines call for; returns the trigger fired, if any."""
    statuses = {line.status for line in order.lines}
    if not statuses:
        return None
    trigger = None
    if statuses == {"CANCELLED"}:
        trigger = None if order.status == "CANCELLED" else "cancel"
    elif statuses <= _DONE:
        trigger = None if order.status in ("SHIPPED", "CLOSED") else "ship"
    elif statuses & _SHIPPED_OR_LATER:
        trigger = None if order.status == "PARTIALLY_SHIPPED" else "ship_partially"
    if trigger is None:
        return None
    machines.fire(machines.ORDER, order, trigger)
    order.status_reason = None
    return trigger


def pass_review(ctx: ActionContext, order: Order, reason: str, comment: str = "") -> None:
    """NEW -> RECEIVED: the order passed review (an agent's action, or `auto_review`)."""
    machines.fire(machines.ORDER, order, "review", label=f"order {order.id}")
    order.status_reason = reason
    summary = f"Order review passed: {reason}" + (f" ({comment})" if comment else "")
    ctx.record(order, "order.reviewed", summary, {"reason": reason, "comment": comment})
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


def why_not_closable(ctx: ActionContext, order: Order) -> str | None:
    """Why more can still happen to a SHIPPED order, or None when it is finished: every line
    returned, cancelled, or shipped and no longer returnable (the return rules say so, e.g. past
    the channel's return window), no return waiting and no refund open."""
    if order.status != "SHIPPED":
        return f"order is {order.status}; only SHIPPED orders are closed"
    from .returns import eligibility  # returns imports this module for sync_order_status

    for line in order.lines:
        if line.status == "RETURN_REQUESTED":
            return f"line {line.line_number} has a return waiting"
        if line.status == "SHIPPED" and line.product_type != "SHIPPING":
            decision = eligibility(ctx, order, line.line_number)
            if decision.outcome != "refused":
                return f"line {line.line_number} can still be returned"
    open_refunds = [r.id for r in order.refunds if r.status in ("REQUESTED", "PENDING_RELEASE")]
    if open_refunds:
        return f"refund {open_refunds[0]} is still open"
    return None


def close_order(ctx: ActionContext, order: Order) -> None:
    """SHIPPED -> CLOSED: nothing more can happen to the order."""
    machines.fire(machines.ORDER, order, "close", label=f"order {order.id}")
    order.status_reason = None
    ctx.record(order, "order.closed", "Order closed: nothing more can happen to it", {})
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
