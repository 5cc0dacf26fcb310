"""A-9 Hold / release hold: park an order (to verify it, wait for stock…) and let it go again.

A held order cannot be released to shipping (the release action refuses on ONHOLD); whether it
can be cancelled follows the channel's ``cancel_allowed_statuses``. Release returns the order to
the status it was held from (``Order.held_from``, read by the ORDER machine's guards).
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ORDER,
    ActionContext,
    ActionSpec,
    BadInput,
    NoParams,
    Order,
    Widget,
    allowed_sources,
    fire,
    hookimpl,
    order_updated,
    param,
)

REASON_MAX = 500


def _reason(_inst: Any, _attr: Any, value: str) -> None:
    if len(value) > REASON_MAX:
        raise BadInput(f"reason: at most {REASON_MAX} characters, got {len(value)}", field="reason")


@attrs.frozen
class HoldParams:
    reason: str = param(
        Widget.LONG_TEXT, label="Reason", default="", validator=_reason, max_length=REASON_MAX,
        help="why the order is held (optional)",
    )  # fmt: skip


def hold(order: Order, params: HoldParams, ctx: ActionContext) -> None:
    previous = order.status
    fire(ORDER, order, "hold")
    # Remembered after the transition succeeded, so a refused hold leaves nothing behind.
    order.held_from = previous
    reason = params.reason.strip()
    summary = f"Order put on hold (was {previous})" + (f": {reason}" if reason else "")
    ctx.record(order, "order.held", summary, {"from": previous, "reason": reason})
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


def release_hold(order: Order, params: NoParams, ctx: ActionContext) -> None:
    fire(ORDER, order, "release_hold")
    held_from = order.held_from
    order.held_from = None
    ctx.record(
        order,
        "order.hold_released",
        f"Hold released; order is {order.status} again",
        {"held_from": held_from, "status": order.status},
    )
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    return [
        ActionSpec(
            name="hold",
            label="Hold",
            permission="order.hold",
            params=HoldParams,
            run=hold,
            applies_to=allowed_sources(ORDER, "hold"),
            description="Put the order on hold; it cannot be released to shipping meanwhile.",
            requirement="A-9",
        ),
        ActionSpec(
            name="release_hold",
            label="Release hold",
            permission="order.hold",
            run=release_hold,
            applies_to=("ONHOLD",),
            description="Return a held order to the status it was held from.",
            requirement="A-9",
        ),
    ]
