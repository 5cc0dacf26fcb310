"""Returns (A-2, A-3): eligibility and composition come from rules; the core applies them.

Also used by exchanges and reshipments, whose returns do not refund (R-4, R-5).
"""

from __future__ import annotations

from ..context import ActionContext
from ..domain.orders import Order, RefundLine, Return
from ..domain.refunds import return_refund_lines
from ..errors import BadInput, Refused
from ..machines import LINE, RETURN, fire
from ..rules import (
    REFUND_LINES,
    RETURN_AUTO_APPROVE,
    RETURN_COMPOSITION,
    RETURN_ELIGIBILITY,
    Decision,
)
from .lifecycle import sync_order_status
from .refunds import refund_owed


def eligibility(ctx: ActionContext, order: Order, line_number: int) -> Decision:
    """May this line be returned? Allowed, needs a supervisor's approval, or refused."""
    line = order.line(line_number)
    if line.status != "SHIPPED":
        return Decision.refused(f"line {line_number} is {line.status}; a return needs SHIPPED")
    decision: Decision = ctx.decide(RETURN_ELIGIBILITY, order, line)
    return decision


def _shipped_only(order: Order, line_number: int) -> Decision:
    status = order.line(line_number).status
    if status != "SHIPPED":
        return Decision.refused(f"line {line_number} is {status}; a return needs SHIPPED")
    return Decision.allowed()


def create_return(
    ctx: ActionContext,
    order: Order,
    lines: list[int],
    *,
    reason: str,
    comment: str,
    source_id: str | None = None,
    refunds: bool = True,
    related_order_id: str | None = None,
    approval_override: bool = False,
) -> Return:
    """Create a return of `lines`; rules add service and shipping lines (R-1…R-3)."""
    if not lines:
        raise BadInput("lines: choose at least one line", field="lines")
    for n in lines:
        if not order.has_line(n):
            raise BadInput(f"lines: order {order.id} has no line {n}", field="lines")
    if len(set(lines)) != len(lines):
        raise BadInput("lines: a line is listed twice", field="lines")
    needs_approval = []
    for n in lines:
        # Exchange and reshipment returns (refunds=False) answer to the line's state only: a
        # lost parcel is reshipped whatever the return window says.
        decision = eligibility(ctx, order, n) if refunds else _shipped_only(order, n)
        if decision.outcome == "refused":
            raise Refused(decision.reason)
        if decision.outcome == "needs_approval":
            needs_approval.append(decision.reason)
    chosen = list(lines)
    # Service and shipping lines go back with a return that refunds them (R-1…R-3); an exchange
    # or reshipment return holds only its own lines, or it would take those charges off the
    # order without ever refunding them.
    if refunds:
        for n in ctx.decide(RETURN_COMPOSITION, order, list(chosen)):
            if n not in chosen and order.line(n).status == "SHIPPED":
                chosen.append(n)
    if source_id is None:
        source_id = order.line(lines[0]).source_id
    ret = Return(
        id=order.next_return_id(),
        lines=chosen,
        reason=reason,
        comment=comment,
        source_id=source_id,
        created_by=ctx.actor,
        # Never before its order, whatever a host's clock says: a search counts an order's
        # returns from the start of its time range (search/counting.py).
        created_at=max(ctx.now, order.created_at),
        refunds=refunds,
        needs_approval_reason="; ".join(needs_approval) or None,
        related_order_id=related_order_id,
    )
    for n in chosen:
        fire(LINE, order.line(n), "request_return", label=f"line {n}")
        order.line(n).status_reason = "RETURN_PENDING"
    order.returns.append(ret)
    added = [n for n in chosen if n not in lines]
    ctx.record(
        order,
        "return.requested",
        f"Return {ret.id} of line(s) {', '.join(map(str, chosen))} requested: {reason}"
        + (f" (added by rules: {', '.join(map(str, added))})" if added else ""),
        {"return_id": ret.id, "lines": chosen, "refunds": refunds, "comment": comment},
    )
    ctx.emit("postsales.return.management.created", _return_message(order, ret), order=order)
    ctx.created("returns", ret.id)
    sync_order_status(order)
    if not needs_approval and not approval_override and ctx.decide(RETURN_AUTO_APPROVE, order, ret):
        approve_return(ctx, order, ret, actor="system")
    return ret


def approve_return(
    ctx: ActionContext, order: Order, ret: Return, *, actor: str | None = None
) -> None:
    """REQUESTED -> APPROVED; lines RETURNED; the refund of D-3 unless the return does not
    refund (exchange, reshipment)."""
    fire(RETURN, ret, "approve", label=f"return {ret.id}")
    for n in ret.lines:
        fire(LINE, order.line(n), "approve_return", label=f"line {n}")
        order.line(n).status_reason = None
    ctx.record(
        order, "return.approved", f"Return {ret.id} approved", {"return_id": ret.id}, actor=actor
    )
    ctx.emit("postsales.return.management.approved", _return_message(order, ret), order=order)
    if ret.refunds:
        refund_lines: list[RefundLine] = return_refund_lines(order, ret.lines)
        for rule in ctx._app.registry.rules_for(REFUND_LINES):  # each adjusts the previous
            adjusted = rule.decide(order, ret, refund_lines, ctx)
            if adjusted is not None:
                refund_lines = adjusted
        if refund_lines:
            refund_owed(
                ctx,
                order,
                "RETURN",
                refund_lines,
                reason=ret.reason,
                description=ret.comment,
                return_id=ret.id,
            )
    sync_order_status(order)


def cancel_return(ctx: ActionContext, order: Order, ret: Return) -> None:
    fire(RETURN, ret, "cancel", label=f"return {ret.id}")
    for n in ret.lines:
        fire(LINE, order.line(n), "cancel_return", label=f"line {n}")
        order.line(n).status_reason = None
    ctx.record(order, "return.cancelled", f"Return {ret.id} cancelled", {"return_id": ret.id})


def _return_message(order: Order, ret: Return) -> dict[str, object]:
    return {
        "return": {
            "id": ret.id,
            "order_id": order.id,
            "sales_channel_id": order.sales_channel,
            "status": ret.status,
            "source_id": ret.source_id,
            "lines": ret.lines,
            "reason": ret.reason,
            "refunds": ret.refunds,
        }
    }
