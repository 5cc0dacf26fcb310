"""A-4 Approve refund / cancel refund.

With `auto_release_refund` off (or an appeasement above the agent's limit) a refund waits in
REQUESTED. Approving it sends it to the payment gateway of its payment's method
(REQUESTED -> PENDING_RELEASE; the gateway's answer makes it RELEASED); cancelling it frees its
amount again (D-1…D-4 count only non-cancelled refunds).
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    BadInput,
    Order,
    Refund,
    Widget,
    cancel_refund,
    hookimpl,
    param,
    release_refund,
)

REQUIREMENT = "A-4"


@attrs.frozen
class ApproveRefundParams:
    """The refund to send to the payment gateway."""

    refund_id: str = param(
        Widget.REFUND, label="Refund", help="A requested refund, e.g. RF-000000101-1",
        accepts=lambda o, refund, ctx: not_approvable(o, refund, ctx),
    )  # fmt: skip


def not_approvable(order: Order, refund: Refund, ctx: ActionContext) -> str | None:
    """Why this refund cannot be sent to a gateway now (issue 13 item 7), or None."""
    if refund.status != "REQUESTED":
        return f"it is {refund.status}"
    payment = next((p for p in order.payments if p.reference == refund.payment_reference), None)
    if payment is None:
        return "the order has no payment to refund to"
    if ctx.gateway_for(payment.method) is None:
        return f"no payment gateway handles {payment.method}"
    return None


def _amount_of(order: dict, params: dict) -> str:
    refund = next((r for r in order.get("refunds", []) if r["id"] == params.get("refund_id")), None)
    return f"{refund['amount']} {order['currency']}" if refund else ""


@attrs.frozen
class CancelRefundParams:
    """The refund to cancel, and optionally why (shown in history)."""

    refund_id: str = param(
        Widget.REFUND, label="Refund", help="A refund not yet released, e.g. RF-000000101-1",
        accepts=lambda o, refund, ctx: None
        if refund.status in ("REQUESTED", "PENDING_RELEASE") else f"it is {refund.status}",
    )  # fmt: skip
    reason: str = param(Widget.LONG_TEXT, label="Reason", default="", help="Why it is cancelled")


def _refund(order: Order, refund_id: str) -> Refund:
    try:
        return order.refund(refund_id)
    except KeyError:
        known = ", ".join(r.id for r in order.refunds) or "none"
        raise BadInput(
            f"refund_id: order {order.id} has no refund {refund_id!r}; its refunds: {known}",
            field="refund_id",
        ) from None


def approve_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(r.status == "REQUESTED" for r in order.refunds):
        return "no refund is REQUESTED"
    return None


def cancel_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(r.status in ("REQUESTED", "PENDING_RELEASE") for r in order.refunds):
        return "no refund is REQUESTED or PENDING_RELEASE"
    return None


def run_approve(order: Order, params: ApproveRefundParams, ctx: ActionContext) -> None:
    """Release to the gateway chosen by the payment method; the machine refuses other states."""
    # The history entry of the release carries the approving user as its actor.
    release_refund(ctx, order, _refund(order, params.refund_id))


def run_cancel(order: Order, params: CancelRefundParams, ctx: ActionContext) -> None:
    """Cancel a refund not yet released; its amount may be refunded again later."""
    refund = _refund(order, params.refund_id)
    cancel_refund(ctx, order, refund, params.reason or f"by {ctx.actor}")


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register `approve_refund` and `cancel_refund` (A-4)."""
    return [
        ActionSpec(
            name="approve_refund",
            label="Approve refund",
            permission="refund.approve",
            params=ApproveRefundParams,
            run=run_approve,
            why_unavailable=approve_unavailable,
            description="Send a requested refund to the payment gateway.",
            confirm="Send refund {refund_id} to the payment gateway?",
            confirm_label=lambda order, result, params: f"Refund {_amount_of(order, params)}",
            requirement=REQUIREMENT,
        ),
        ActionSpec(
            name="cancel_refund",
            label="Cancel refund",
            permission="refund.cancel",
            params=CancelRefundParams,
            run=run_cancel,
            why_unavailable=cancel_unavailable,
            description="Cancel a refund that is requested or waiting for the gateway.",
            confirm="Cancel refund {refund_id}? Its amount may be refunded again later.",
            confirm_label="Cancel refund {refund_id}",
            requirement=REQUIREMENT,
        ),
    ]
