"""Payment gateways: where a released refund goes (SPEC A-4).

A gateway is chosen by the payment method of the payment being refunded. ``send`` is called
inside the unit of work that releases the refund; it either emits a message and leaves the refund
``PENDING_RELEASE`` (answer comes later as ``payment.refund.confirmed``/``.failed``), or answers at
once (``GatewayAnswer``) for offline methods such as cash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


@attrs.frozen
class GatewayAnswer:
    confirmed: bool
    response: str


@attrs.frozen
class PaymentGateway:
    """``send(order, refund, payment, ctx) -> GatewayAnswer | None`` (None: answer comes later)."""

    name: str
    methods: tuple[str, ...]
    send: Callable[..., Any]
    description: str = ""
