"""The offline payment gateway (SPEC A-4): cash and cheque refunds are paid out by hand, so the
refund is confirmed at once, in the same transaction that releases it."""

from __future__ import annotations

from typing import Any

from postsales.core import GatewayAnswer, Order, Payment, PaymentGateway, Refund, hookimpl

METHODS = ("cash", "cheque")


def send(order: Order, refund: Refund, payment: Payment, ctx: Any) -> GatewayAnswer:
    """Nothing to call: the agent hands the money over; the core marks the refund RELEASED."""
    return GatewayAnswer(True, "confirmed offline")


@hookimpl
def postsales_register_gateways(settings: Any) -> list[PaymentGateway]:
    """Claims the manual payment methods (cash, cheque)."""
    return [
        PaymentGateway(
            name="offline",
            methods=METHODS,
            send=send,
            description="Manual methods: the refund is confirmed at once.",
        )
    ]
