"""Order status that follows from its lines (SPEC §3): every line cancelled -> CANCELLED;
every line shipped, returned or cancelled -> SHIPPED; some shipped -> PARTIALLY_SHIPPED."""

from __future__ import annotations

from .. import machines
from ..domain.orders import Order

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
