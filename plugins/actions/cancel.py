"""A-1 Cancel order: the whole order or some lines, in the statuses the channel allows.

Cancelled lines give back the stock they held (a release reserves it), get back their captured
money through a CANCELLATION refund (D-1, D-4; released or not per R-6), and the customer is
notified (seed 000: "ensure an email notification was sent to the customer").
"""

from __future__ import annotations

import attrs

from postsales.core import (
    CANCEL_ELIGIBILITY,
    LINE,
    SHIPMENT,
    ZERO,
    ActionContext,
    ActionSpec,
    BadInput,
    Decision,
    Order,
    OrderLine,
    RefundLine,
    Refused,
    Widget,
    can_fire,
    fire,
    format_amount,
    give_back_stock,
    hookimpl,
    order_updated,
    param,
    refund_owed,
    refundable_remainder,
    sync_order_status,
)

REQUIREMENT = "A-1"
CANCELLABLE = ("NEW", "ALLOCATED")  # the line machine's sources of `cancel`


@attrs.frozen
class CancelParams:
    """Which lines to cancel (none given: the whole order) and why."""

    lines: list[int] | None = param(
        Widget.LINES, label="Lines", default=None, eligible=lambda o, ln, ctx: not_cancellable(ln),
        help="Lines to cancel; none ticked cancels the whole order",
    )  # fmt: skip
    reason: str = param(
        Widget.LONG_TEXT, label="Reason", default="", required_in_forms=True,
        help="Why the order is cancelled; the customer's e-mail says it",
    )  # fmt: skip


def not_cancellable(line: OrderLine) -> str | None:
    """Why a line cannot be cancelled, in the agent's words (None: it can)."""
    if line.status in CANCELLABLE:
        return None
    if line.status == "CANCELLED":
        return "already cancelled"
    return f"{line.status.lower().replace('_', ' ')}: a shipped line is returned, not cancelled"


def confirm_label(order: dict, result: dict, params: dict) -> str:
    """ "Cancel order 000000102", or "Cancel lines 1, 3 of order 000000102"."""
    lines = result.get("cancelled_lines") or []
    if not params.get("lines") or len(lines) == len(order.get("lines", [])):
        return f"Cancel order {order['id']}"
    what = ("lines " if len(lines) > 1 else "line ") + ", ".join(map(str, lines))
    return f"Cancel {what} of order {order['id']}"


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    """Closed by the channel's allowed statuses, by a rule, or because nothing is cancellable."""
    allowed = ctx.channel(order).postsales.cancel_allowed_statuses
    if order.status not in allowed:
        return f"order is {order.status}; cancel is allowed in {', '.join(allowed)}"
    decision = _rules_decision(order, ctx)
    if decision.outcome != "allowed":
        return decision.reason
    if not any(line.status in CANCELLABLE for line in order.lines):
        return "no line can be cancelled; every line is shipped or already cancelled"
    return None


def _rules_decision(order: Order, ctx: ActionContext) -> Decision:
    # A channel may narrow cancel beyond its statuses (SPEC §3: "rules and config may narrow").
    decision: Decision = ctx.decide(CANCEL_ELIGIBILITY, order)
    return decision


def lines_to_cancel(order: Order, requested: list[int] | None) -> list[int]:
    """The lines a cancel touches: the requested ones plus the services attached to them.

    BadInput for unknown or repeated lines; Refused for a line shipped (or later) or already
    cancelled, naming it, before anything changes.
    """
    if requested is None:
        chosen = [ln.line_number for ln in order.lines if ln.status != "CANCELLED"]
    else:
        if not requested:
            raise BadInput(
                "lines: choose at least one line, or leave lines out to cancel the order",
                field="lines",
            )
        for n in requested:
            if not order.has_line(n):
                raise BadInput(f"lines: order {order.id} has no line {n}", field="lines")
        if len(set(requested)) != len(requested):
            raise BadInput("lines: a line is listed twice", field="lines")
        chosen = list(requested)
        # A service (gift wrap) attached to a cancelled product line has nothing left to serve.
        for line in order.lines:
            if (line.parent_line_number in chosen and line.line_number not in chosen
                    and line.status in CANCELLABLE):  # fmt: skip
                chosen.append(line.line_number)
    for n in chosen:
        status = order.line(n).status
        if status not in CANCELLABLE:
            if status == "CANCELLED":
                raise Refused(f"line {n} is already CANCELLED")
            raise Refused(f"line {n} is {status}; a line that has shipped cannot be cancelled")
    if not chosen:
        raise Refused("no line can be cancelled")
    return chosen


def refund_lines(lines: list[OrderLine]) -> list[RefundLine]:
    """What the cancelled lines cost: each line's refundable remainder (D-1), in line order
    (`refund_owed` keeps it within what is left of the captured amount, D-4)."""
    owed = [RefundLine(line.line_number, refundable_remainder(line)) for line in lines]
    return [rl for rl in owed if rl.amount > ZERO]


def _release_shipments(order: Order, cancelled: set[int]) -> list[str]:
    # A shipment request whose every line is cancelled has nothing left to ship.
    done = []
    for shipment in order.shipments:
        if set(shipment.lines) <= cancelled and can_fire(SHIPMENT, shipment.status, "cancel"):
            fire(SHIPMENT, shipment, "cancel", label=f"shipment {shipment.id}")
            done.append(shipment.id)
    return done


def run(order: Order, params: CancelParams, ctx: ActionContext) -> dict[str, object]:
    """Cancel the lines, release their stock, refund their captured money, notify."""
    reason = why_unavailable(order, ctx)
    if reason:
        raise Refused(reason)
    numbers = lines_to_cancel(order, params.lines)
    lines = [order.line(n) for n in numbers]
    for line in lines:
        fire(LINE, line, "cancel", label=f"line {line.line_number}")
        line.status_reason = None
    # What the lines held goes back to its source; once this commits, it is assigned to the
    # shipments waiting for it, oldest first.
    stock = give_back_stock(ctx, order, lines)
    cancelled = {ln.line_number for ln in order.lines if ln.status == "CANCELLED"}
    shipments = _release_shipments(order, cancelled)
    whole = cancelled == {ln.line_number for ln in order.lines}
    what = "Order" if whole else f"Line(s) {', '.join(map(str, numbers))}"
    cur = order.currency
    ctx.record(
        order, "order.cancelled" if whole else "lines.cancelled",
        f"{what} cancelled by {ctx.actor}" + (f": {params.reason}" if params.reason else ""),
        {"lines": numbers, "reason": params.reason, "stock_released": stock,
         "shipments_cancelled": shipments},
    )  # fmt: skip
    refunded = ZERO
    money = refund_lines(lines) if order.captured > ZERO else []
    refund = None
    if money:
        refund = refund_owed(ctx, order, "CANCELLATION", money,
                             reason=params.reason or "Cancelled",
                             description=f"{what} cancelled")  # fmt: skip
    if refund is not None:
        refunded = refund.amount
    sync_order_status(order)
    ctx.notify(
        order, "order_cancelled",
        "Your order has been cancelled" if whole else "Items of your order have been cancelled",
        lines=numbers, whole=whole, reason=params.reason, refund=format_amount(refunded, cur),
        # What the customer recognises: products and services by name, not line numbers.
        items=[{"line_number": ln.line_number, "sku": ln.sku, "name": ln.name}
               for ln in lines if ln.product_type != "SHIPPING"],
    )  # fmt: skip
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
    return {"cancelled_lines": numbers}


@hookimpl
def postsales_register_actions(settings: object) -> list[ActionSpec]:
    """Register A-1 `cancel`."""
    return [
        ActionSpec(
            name="cancel",
            label="Cancel order",
            permission="order.cancel",
            params=CancelParams,
            run=run,
            why_unavailable=why_unavailable,
            description="Cancel the whole order or selected lines; captured money is refunded.",
            confirm="Cancel this order? The customer is e-mailed and captured money refunded.",
            confirm_label=confirm_label,
            requirement=REQUIREMENT,
        )
    ]
