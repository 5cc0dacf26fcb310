"""A-5 New appeasement: part of a line's price given back, over its net amount (D-2).

Rules at the `appeasement_approval` point may refuse it or ask for a supervisor (e.g. above the
agent's `appeasement_limits`): then the APPEASEMENT refund is created but waits in REQUESTED for
"approve refund" (A-4), with the reason in history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from postsales.core import (
    APPEASEMENT_APPROVAL,
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
    appeasable_amount,
    create_refund,
    format_amount,
    hookimpl,
    order_refundable,
    param,
    parse_amount,
)

REQUIREMENT = "A-5"


@attrs.frozen
class AppeasementParams:
    """One line, an amount up to what is left to appease, a reason and a comment."""

    line: int = param(Widget.LINE, label="Line", eligible=lambda o, ln, ctx: not_appeasable(o, ln))
    amount: Decimal = param(
        Widget.MONEY, label="Amount", line_field="line", maximum_text="left to appease",
        maximum=lambda o, ctx, ln: appeasable(o, ln),
    )  # fmt: skip
    reason: str = param(Widget.TEXT, label="Reason", help="Refund reason")
    comment: str = param(Widget.LONG_TEXT, label="Comment", default="", help="Description")


def appeasable(order: Order, line: OrderLine) -> Decimal:
    """What may still be appeased on this line: D-2, and never more than D-4 leaves."""
    if line.status == "CANCELLED":
        return ZERO
    return min(appeasable_amount(line), order_refundable(order))


def not_appeasable(order: Order, line: OrderLine) -> str | None:
    """Why a line cannot be appeased now, in the agent's words (None: it can)."""
    if line.status == "CANCELLED":
        return "cancelled"
    if appeasable(order, line) <= ZERO:
        if appeasable_amount(line) <= ZERO:
            return "fully refunded"
        return "nothing is left of the captured amount"
    return None


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if order_refundable(order) <= ZERO:
        return "nothing is left of the captured amount to refund"
    if not any(appeasable(order, line) > ZERO for line in order.lines):
        return "no line has an appeasable amount left"
    return None


def _line(order: Order, number: int) -> OrderLine:
    if not order.has_line(number):
        raise BadInput(f"line: order {order.id} has no line {number}", field="line")
    return order.line(number)


def _amount(order: Order, value: Decimal) -> Decimal:
    try:
        amount = parse_amount(str(value), order.currency, field="amount")
    except ValueError as exc:
        raise BadInput(str(exc), field="amount") from None
    if amount <= ZERO:
        raise BadInput(f"amount: must be more than 0, got {value}", field="amount")
    return amount


def approval(order: Order, line: OrderLine, amount: Decimal, ctx: ActionContext) -> Decision:
    """The strictest answer of the `appeasement_approval` rules (allowed if none answers)."""
    decision: Decision = ctx.decide(APPEASEMENT_APPROVAL, order, line, amount)
    return decision


def run(order: Order, params: AppeasementParams, ctx: ActionContext) -> None:
    """Create the APPEASEMENT refund; release it unless a rule wants a supervisor first."""
    line = _line(order, params.line)
    amount = _amount(order, params.amount)
    if not params.reason.strip():
        raise BadInput("reason: a refund reason is required", field="reason")
    cur = order.currency
    if line.status == "CANCELLED":
        raise Refused(f"line {line.line_number} is CANCELLED; it cannot be appeased")
    cap = appeasable(order, line)
    if amount > cap:
        raise Refused(
            f"line {line.line_number}: {format_amount(amount, cur)} exceeds what is left to "
            f"appease ({format_amount(cap, cur)}; appeasements are over the net amount "
            f"{format_amount(line.net_amount, cur)})"
        )
    decision = approval(order, line, amount, ctx)
    if decision.outcome == "refused":
        raise Refused(decision.reason)
    waits = decision.outcome == "needs_approval"
    refund_id = order.next_refund_id()  # the id create_refund gives: history reads in order
    summary = (f"Appeasement {refund_id} of {format_amount(amount, cur)} on line "
               f"{line.line_number} created by {ctx.actor}: {params.reason}")  # fmt: skip
    if waits:
        summary += f"; waits for a supervisor's approval: {decision.reason}"
    ctx.record(
        order, "appeasement.created", summary,
        {"refund_id": refund_id, "line_number": line.line_number,
         "amount": format_amount(amount, cur), "reason": params.reason,
         "comment": params.comment, "needs_approval": decision.reason if waits else None,
         "rule": decision.rule or None},
    )  # fmt: skip
    create_refund(
        ctx, order, "APPEASEMENT", [RefundLine(line.line_number, amount)],
        reason=params.reason, description=params.comment,
        auto_release=False if waits else None,
    )  # fmt: skip


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register A-5 `appeasement`."""
    return [
        ActionSpec(
            name="appeasement",
            label="New appeasement",
            permission="appeasement.create",
            params=AppeasementParams,
            run=run,
            why_unavailable=why_unavailable,
            description="Refund part of a line's net amount (D-2).",
            # Shown as is above the preview, which lists the amount and line (web adapter).
            confirm="Refund this amount on this line to the customer?",
            confirm_label="Refund {refund_total}",
            requirement=REQUIREMENT,
        )
    ]
