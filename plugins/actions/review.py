"""Order review (SPEC §3 `RECEIVED`; seeds 000 and 001: "Order Review"): an order that passed
the checks a contact centre makes before it ships — a fraud check, a verified payment or
address — moves from NEW to RECEIVED, with the reason in history.

An agent with `order.review` passes it with this action; a channel with `auto_review: true`
leaves it to `postsales lifecycle`, which passes every NEW order of the channel (reason
"Automatic review"). Cancel stays possible in RECEIVED (`cancel_allowed_statuses`).
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    BadInput,
    Order,
    Widget,
    hookimpl,
    param,
    pass_review,
)

COMMENT_MAX = 1000


@attrs.frozen
class ReviewParams:
    """Why the order passed review, from the channel's `review_reasons`."""

    reason: str = param(Widget.CHOICE, label="Reason", choices_from="review_reasons")
    comment: str = param(
        Widget.LONG_TEXT, label="Comment", default="", help="Optional", max_length=COMMENT_MAX
    )


def run(order: Order, params: ReviewParams, ctx: ActionContext) -> None:
    reasons = ctx.channel(order).review_reasons
    if params.reason not in reasons:
        raise BadInput(
            f"reason: {params.reason!r} is not a review reason of {order.sales_channel}; "
            f"one of {', '.join(reasons)}",
            field="reason",
        )
    if len(params.comment) > COMMENT_MAX:
        raise BadInput(f"comment: at most {COMMENT_MAX} characters", field="comment")
    pass_review(ctx, order, params.reason, params.comment.strip())


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register `review`."""
    return [
        ActionSpec(
            name="review",
            label="Pass order review",
            permission="order.review",
            params=ReviewParams,
            run=run,
            applies_to=("NEW",),
            description="The order passed review (fraud check, payment, address): NEW to RECEIVED.",
            requirement="SPEC §3",
        )
    ]
