"""The refund lifecycle (SPEC §3, A-4) and the money rules applied to it (D-1…D-4).

Refunds are created here whichever action causes them (return approval, appeasement,
cancellation), so the caps and the lifecycle are enforced in one place. Whether a new refund is
released at once is a rule's decision (R-6, `refund_auto_release`).
"""

from __future__ import annotations

from decimal import Decimal

from ..context import ActionContext
from ..domain.orders import Order, Payment, Refund, RefundLine
from ..domain.refunds import apply_refund, check_refund, within_capture
from ..errors import Refused
from ..machines import REFUND, fire
from ..money import ZERO, format_amount
from ..rules import REFUND_AUTO_RELEASE
from .messages.outbound import notify_refund_failed


def _payment_for(order: Order) -> Payment | None:
    captured = [p for p in order.payments if p.captured_amount > 0]
    return captured[0] if captured else (order.payments[0] if order.payments else None)


def create_refund(
    ctx: ActionContext,
    order: Order,
    kind: str,
    lines: list[RefundLine],
    *,
    reason: str = "",
    description: str = "",
    return_id: str | None = None,
    auto_release: bool | None = None,
) -> Refund:
    """Create a REQUESTED refund within the caps; release it if the rules say so."""
    if not lines:
        raise Refused("nothing to refund")
    appeasement = kind == "APPEASEMENT"
    check_refund(order, lines, appeasement=appeasement)
    payment = _payment_for(order)
    refund = Refund(
        id=order.next_refund_id(),
        kind=kind,
        lines=lines,
        created_by=ctx.actor,
        created_at=ctx.now,
        reason=reason,
        description=description,
        return_id=return_id,
        payment_reference=payment.reference if payment else None,
    )
    order.refunds.append(refund)
    apply_refund(order, lines, appeasement=appeasement, sign=1)
    cur = order.currency
    ctx.record(
        order,
        "refund.requested",
        f"{kind.title()} refund {refund.id} of {format_amount(refund.amount, cur)} requested",
        {
            "refund_id": refund.id,
            "kind": kind,
            "amount": format_amount(refund.amount, cur),
            "lines": [[rl.line_number, format_amount(rl.amount, cur)] for rl in lines],
        },
    )
    ctx.created("refunds", refund.id)
    if auto_release is None:
        auto_release = bool(ctx.decide(REFUND_AUTO_RELEASE, order, refund))
    if auto_release:
        release_refund(ctx, order, refund)
    return refund


def refund_owed(
    ctx: ActionContext,
    order: Order,
    kind: str,
    lines: list[RefundLine],
    *,
    reason: str = "",
    description: str = "",
    return_id: str | None = None,
) -> Refund | None:
    """Refund what a return or a cancellation owes, up to what is left of the captured amount.

    When less was captured than the lines are worth, the refund is what is left (none when
    nothing is), and history and the action's result say how much was not refunded: the return
    or cancellation itself still completes (see docs/rules.md, "Less captured than ordered")."""
    kept, short = within_capture(order, lines)
    if short > ZERO:
        cur = order.currency
        wanted = sum((rl.amount for rl in lines), ZERO)
        note = (
            f"{format_amount(wanted, cur)} {cur} is owed for line(s) "
            f"{', '.join(str(rl.line_number) for rl in lines)}, but only "
            f"{format_amount(wanted - short, cur)} {cur} is left of the captured amount: "
            f"{format_amount(short, cur)} {cur} is not refunded"
        )
        ctx.record(
            order,
            "refund.limited",
            note[0].upper() + note[1:],
            {
                "kind": kind,
                "owed": format_amount(wanted, cur),
                "not_refunded": format_amount(short, cur),
            },
        )
        ctx.result.setdefault("notes", []).append(note)
    if not kept:
        return None
    return create_refund(
        ctx, order, kind, kept, reason=reason, description=description, return_id=return_id
    )


def release_refund(ctx: ActionContext, order: Order, refund: Refund) -> None:
    """Send to the payment gateway of the payment's method (REQUESTED -> PENDING_RELEASE)."""
    payment = next((p for p in order.payments if p.reference == refund.payment_reference), None)
    if not payment:
        raise Refused(f"refund {refund.id}: the order has no payment to refund to")
    gateway = ctx._app.registry.gateway_for(payment.method)
    if gateway is None:
        raise Refused(f"refund {refund.id}: no payment gateway handles method {payment.method!r}")
    _released(ctx, order, refund, f"sent to {gateway.name}", gateway.name)
    answer = gateway.send(order, refund, payment, ctx)
    if answer is not None:
        if answer.confirmed:
            confirm_refund(ctx, order, refund, answer.response, actor=f"gateway:{gateway.name}")
        else:
            fail_refund(ctx, order, refund, answer.response, actor=f"gateway:{gateway.name}")


def settle_refund(ctx: ActionContext, order: Order, refund: Refund, how: str) -> None:
    """Settle a REQUESTED refund without a payment gateway (store credit, a voucher, cash at the
    till): released and confirmed at once through the refund's lifecycle, with both history
    entries and the customer's notification, as a gateway's confirmation would. `how` is
    recorded as the answer (``"store credit issued"``)."""
    _released(ctx, order, refund, f"settled without a payment gateway ({how})", None)
    confirm_refund(ctx, order, refund, how, actor=ctx.actor)


def _released(
    ctx: ActionContext, order: Order, refund: Refund, how: str, gateway: str | None
) -> None:
    """REQUESTED -> PENDING_RELEASE, recorded as "Refund RF-… <how>"."""
    fire(REFUND, refund, "release", label=f"refund {refund.id}")
    refund.updated_at = ctx.now
    ctx.record(
        order,
        "refund.released",
        f"Refund {refund.id} {how}",
        {"refund_id": refund.id, "gateway": gateway},
    )


def confirmation_mismatch(
    order: Order, refund: Refund, amount: Decimal, currency: str | None
) -> str | None:
    """How a gateway's confirmation differs from the refund it names, or None if it matches:
    the gateway must have refunded exactly the refund's amount, in the order's currency."""
    cur = order.currency
    if currency is not None and currency != cur:
        return (
            f"the gateway confirmed {format_amount(amount, cur)} {currency}; refund "
            f"{refund.id} is {format_amount(refund.amount, cur)} {cur}"
        )
    if amount != refund.amount:
        gap = refund.amount - amount
        side = "less" if gap > 0 else "more"
        return (
            f"the gateway confirmed {format_amount(amount, cur)} {cur}; refund {refund.id} is "
            f"{format_amount(refund.amount, cur)} {cur} ({format_amount(abs(gap), cur)} {cur} "
            f"{side})"
        )
    return None


def refuse_confirmation(
    ctx: ActionContext, order: Order, refund: Refund, mismatch: str, *, actor: str
) -> None:
    """A confirmation that does not match: the refund stays PENDING_RELEASE and waits in the
    work queue (S-5) with the difference until a matching answer comes or it is cancelled."""
    refund.gateway_mismatch = mismatch
    refund.updated_at = ctx.now
    ctx.record(
        order,
        "refund.confirmation_refused",
        f"Confirmation of refund {refund.id} refused: {mismatch}",
        {"refund_id": refund.id, "mismatch": mismatch},
        actor=actor,
    )


def confirm_refund(
    ctx: ActionContext, order: Order, refund: Refund, response: str, *, actor: str
) -> None:
    from ..domain.orders import PaymentOperation

    fire(REFUND, refund, "confirm", label=f"refund {refund.id}")
    refund.gateway_response = response
    refund.gateway_mismatch = None
    refund.credit_note = f"CN-{refund.id[3:]}" if refund.id.startswith("RF-") else f"CN-{refund.id}"
    refund.updated_at = ctx.now
    payment = next((p for p in order.payments if p.reference == refund.payment_reference), None)
    if payment is not None:
        payment.operations.append(PaymentOperation("refund", refund.amount, response, ctx.now))
    cur = order.currency
    amount = f"{format_amount(refund.amount, cur)} {cur}"
    # The payment event itself, in History as under Payments (seed 000: "payment events").
    paid_to = f" to {payment.method} {payment.payment_id}".rstrip() if payment else ""
    ctx.record(
        order,
        "refund.confirmed",
        f"Refund {refund.id} of {amount} released{paid_to} ({response}), credit note "
        f"{refund.credit_note}",
        {
            "refund_id": refund.id,
            "credit_note": refund.credit_note,
            "event": "refund",
            "amount": format_amount(refund.amount, cur),
            "response": response,
            "payment_id": payment.payment_id if payment else None,
            "method": payment.method if payment else None,
        },
        actor=actor,
    )
    ctx.notify(
        order,
        "refund_released",
        "Your refund is on its way",
        refund_id=refund.id,
        amount=format_amount(refund.amount, cur),
    )


def fail_refund(
    ctx: ActionContext, order: Order, refund: Refund, response: str, *, actor: str
) -> None:
    """The gateway refused: back to REQUESTED, with the failure in history (work queue S-5).

    The customer is e-mailed here, whichever way the refusal came (an answer message later or a
    gateway refusing at once), so every door sends the same mail exactly once."""
    fire(REFUND, refund, "fail", label=f"refund {refund.id}")
    refund.gateway_response = response
    refund.gateway_mismatch = None
    refund.updated_at = ctx.now
    ctx.record(
        order,
        "refund.failed",
        f"Refund {refund.id} failed at the gateway: {response}",
        {"refund_id": refund.id, "response": response},
        actor=actor,
    )
    notify_refund_failed(ctx, order, refund)


def cancel_refund(ctx: ActionContext, order: Order, refund: Refund, reason: str = "") -> None:
    fire(REFUND, refund, "cancel", label=f"refund {refund.id}")
    refund.updated_at = ctx.now
    refund.gateway_mismatch = None
    apply_refund(order, refund.lines, appeasement=refund.kind == "APPEASEMENT", sign=-1)
    ctx.record(
        order,
        "refund.cancelled",
        f"Refund {refund.id} cancelled" + (f": {reason}" if reason else ""),
        {"refund_id": refund.id},
    )
