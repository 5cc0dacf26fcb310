"""The default payment gateway (SPEC A-4): a released refund becomes a `payment.refund.requested`
message, and the refund stays PENDING_RELEASE until the payment service answers with
`payment.refund.confirmed` or `payment.refund.failed` (handled by the core's inbound handlers).
"""

from __future__ import annotations

from typing import Any

from postsales.core import Order, Payment, PaymentGateway, Refund, format_amount, hookimpl


def refund_requested(order: Order, refund: Refund, payment: Payment) -> dict[str, Any]:
    """The `payment.refund.requested` payload; money as strings with the currency's decimals."""
    cur = order.currency
    return {
        "order_id": order.id,
        "refund_id": refund.id,
        "payment_id": payment.payment_id,
        "method": payment.method,
        "amount": format_amount(refund.amount, cur),
        "currency": cur,
        "kind": refund.kind,
        "lines": [
            {"line_number": rl.line_number, "amount": format_amount(rl.amount, cur)}
            for rl in refund.lines
        ],
    }


def send(order: Order, refund: Refund, payment: Payment, ctx: Any) -> None:
    """Emit the request in the releasing transaction; the answer arrives later as a message.

    ``ctx`` is the ActionContext, typed loosely so this plugin's imports stay free of storage.
    """
    ctx.emit("payment.refund.requested", refund_requested(order, refund, payment), order=order)
    return None


@hookimpl
def postsales_register_gateways(settings: Any) -> list[PaymentGateway]:
    """The fallback gateway (``*``): every payment method no other gateway claims."""
    return [
        PaymentGateway(
            name="message",
            methods=("*",),
            send=send,
            description="Emits payment.refund.requested; waits for the confirmed/failed answer.",
        )
    ]
