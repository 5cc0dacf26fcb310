"""A-2 New return, A-3 Approve return / cancel return.

Eligibility (per line: SHIPPED, the return window, non-returnable SKUs) and composition (service
and shipping lines, R-1…R-3) are the core's and the rules'; this plugin checks what the agent
typed against the channel's settings and calls the core's return services.

The customer is e-mailed when the return is made (`return_created`: what to send back, where,
and the refund if it was approved at once) and when a supervisor approves it later
(`return_approved`).
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    BadInput,
    Order,
    Return,
    Widget,
    approve_return,
    cancel_return,
    create_return,
    hookimpl,
    notify_return,
    order_updated,
    param,
    return_eligibility,
    sync_order_status,
)

REQUIREMENT_NEW = "A-2"
REQUIREMENT_DECIDE = "A-3"


@attrs.frozen
class ReturnParams:
    """A-2: the lines, a reason from the channel's list, a mandatory comment, maybe a source."""

    lines: list[int] = param(
        Widget.LINES, label="Lines", help="Shipped lines to return",
        eligible=lambda o, ln, ctx: not_returnable(o, ln, ctx),
    )  # fmt: skip
    reason: str = param(Widget.CHOICE, label="Reason", choices_from="return_reasons")
    comment: str = param(Widget.LONG_TEXT, label="Comment", help="Mandatory")
    source: str | None = param(
        Widget.SOURCE, label="Returned to", default=None,
        help="The source receiving the parcel (only where the channel lets agents choose)",
        accepts=lambda o, src, ctx: source_refused(o, src, ctx),
    )  # fmt: skip


@attrs.frozen
class ReturnIdParams:
    """A-3: the return to approve or cancel."""

    return_id: str = param(
        Widget.RETURN, label="Return", help="A requested return, e.g. RET-000000101-1",
        accepts=lambda o, ret, ctx: None if ret.status == "REQUESTED" else "not requested",
    )  # fmt: skip


def not_returnable(order: Order, line: Any, ctx: ActionContext) -> str | None:
    """Why a line cannot be returned (its state, the return window, the SKU), or None."""
    decision = return_eligibility(ctx, order, line.line_number)
    return decision.reason if decision.outcome == "refused" else None


def source_refused(order: Order, source: tuple[str, Any], ctx: ActionContext) -> str | None:
    if not ctx.channel(order).postsales.return_source_manual:
        return "the channel chooses the source"
    return None if source[1].accepts_returns else "does not accept returns"


def _return_label(order: dict, result: dict, params: dict) -> str:
    total = _refund_total(order, result)
    return f"Create return and refund {total}" if total else "Create return"


def _approve_label(order: dict, result: dict, params: dict) -> str:
    total = _refund_total(order, result)
    return f"Approve return and refund {total}" if total else "Approve return"


def _refund_total(order: dict, result: dict) -> str:
    from decimal import Decimal

    ids = set(result.get("refunds", []))
    amount = sum((Decimal(r["amount"]) for r in order.get("refunds", []) if r["id"] in ids),
                 Decimal(0))  # fmt: skip
    return f"{amount} {order['currency']}" if ids else ""


def check_return_input(
    order: Order, params: ReturnParams, ctx: ActionContext
) -> tuple[str, str | None]:
    """Validate reason, comment and source against the channel.

    Returns the reason as the channel spells it (matched ignoring case) and the chosen source.
    """
    channel = ctx.channel(order)
    settings = channel.postsales
    by_key = {r.casefold(): r for r in channel.return_reasons}
    reason = by_key.get(params.reason.strip().casefold())
    if reason is None:
        raise BadInput(
            f"reason: {params.reason!r} is not a return reason of sales channel "
            f"{order.sales_channel}; choose one of: {', '.join(channel.return_reasons)}",
            field="reason",
        )
    if not params.comment.strip():
        raise BadInput("comment: a comment is required", field="comment")
    if len(params.comment) > settings.return_comment_max:
        raise BadInput(
            f"comment: at most {settings.return_comment_max} characters, got {len(params.comment)}",
            field="comment",
        )
    if params.source is None:
        return reason, None
    if not settings.return_source_manual:
        raise BadInput(
            f"source: sales channel {order.sales_channel} does not allow choosing the returned-to "
            "source (return_source_manual is off); leave source out",
            field="source",
        )
    accepting = sorted(sid for sid, src in ctx.settings.sources.items() if src.accepts_returns)
    if params.source not in accepting:
        what = "is not a known source" if params.source not in ctx.settings.sources else (
            "does not accept returns")  # fmt: skip
        raise BadInput(
            f"source: {params.source} {what}; sources accepting returns: "
            f"{', '.join(accepting) or 'none'}",
            field="source",
        )
    return reason, params.source


def return_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(line.status == "SHIPPED" for line in order.lines):
        return "no line is SHIPPED; a return needs a shipped line"
    return None


def run_return(order: Order, params: ReturnParams, ctx: ActionContext) -> None:
    """Create the return; rules may add lines, approve it at once and release its refund."""
    reason, source = check_return_input(order, params, ctx)
    ret = create_return(
        ctx, order, list(params.lines), reason=reason, comment=params.comment,
        source_id=source,
    )  # fmt: skip
    notify_return(ctx, order, ret, created=True)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


def _requested(order: Order, ctx: ActionContext) -> str | None:
    if not any(ret.status == "REQUESTED" for ret in order.returns):
        return "no return is REQUESTED"
    return None


def _return(order: Order, return_id: str) -> Return:
    try:
        return order.return_(return_id)
    except KeyError:
        known = ", ".join(r.id for r in order.returns) or "none"
        raise BadInput(
            f"return_id: order {order.id} has no return {return_id!r}; its returns: {known}",
            field="return_id",
        ) from None


def run_approve(order: Order, params: ReturnIdParams, ctx: ActionContext) -> None:
    """REQUESTED -> APPROVED: lines RETURNED and, if the return refunds, its refund (D-3)."""
    ret = _return(order, params.return_id)
    approve_return(ctx, order, ret)
    notify_return(ctx, order, ret)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


def run_cancel(order: Order, params: ReturnIdParams, ctx: ActionContext) -> None:
    """REQUESTED -> CANCELLED: the lines are SHIPPED again and may be returned later."""
    ret = _return(order, params.return_id)
    cancel_return(ctx, order, ret)
    sync_order_status(order)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register `return` (A-2), `approve_return` and `cancel_return` (A-3)."""
    return [
        ActionSpec(
            name="return",
            label="New return",
            permission="return.create",
            params=ReturnParams,
            run=run_return,
            why_unavailable=return_unavailable,
            description="Return shipped lines; the refund follows approval (D-3).",
            confirm="Create this return? The customer is e-mailed what to send back.",
            confirm_label=_return_label,
            requirement=REQUIREMENT_NEW,
        ),
        ActionSpec(
            name="approve_return",
            label="Approve return",
            permission="return.approve",
            params=ReturnIdParams,
            run=run_approve,
            why_unavailable=_requested,
            description="Approve a requested return; creates its refund unless it does not refund.",
            confirm="Approve return {return_id}?",
            confirm_label=_approve_label,
            requirement=REQUIREMENT_DECIDE,
        ),
        ActionSpec(
            name="cancel_return",
            label="Cancel return",
            permission="return.cancel",
            params=ReturnIdParams,
            run=run_cancel,
            why_unavailable=_requested,
            description="Cancel a requested return; its lines go back to SHIPPED.",
            confirm="Cancel return {return_id}? Its lines can be returned again later.",
            confirm_label="Cancel return {return_id}",
            requirement=REQUIREMENT_DECIDE,
        ),
    ]
