"""R-8 Return window: lines shipped too long ago are not returnable, or need approval.

With ``return_window_days`` set for a channel, a line may be returned until N whole days
(24-hour periods) have passed since it shipped; after that the return is refused, or — with
``return_window_exceeded: approval`` — allowed but held for a supervisor's approval. The reason
names the line, its age and the window, so the agent can tell the customer why.

A line's ship time is the ``shipped_at`` of the shipment that carried it (the latest, should a
line appear in several shipments); a line no shipment records (imported already shipped, or an
order-level service line) falls back to the order's origin date, the oldest time we know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from postsales.core import RETURN_ELIGIBILITY, Decision, Order, OrderLine, Rule, hookimpl

REQUIREMENT = "R-8"


def _aware(moment: datetime) -> datetime:
    # Times are stored in UTC; a naive one (a test double, an old row) is read as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def shipped_at(order: Order, line_number: int) -> datetime:
    """When the line left the source (see the module docstring for the fall-back)."""
    times = [
        s.shipped_at
        for s in order.shipments
        if line_number in s.lines and s.shipped_at is not None and s.status != "CANCELLED"
    ]
    return _aware(max(times, key=_aware)) if times else _aware(order.origin_date)


def days_since_shipped(order: Order, line: OrderLine, now: datetime) -> int:
    """Whole days elapsed since the line shipped (0 on the day it shipped)."""
    return (_aware(now) - shipped_at(order, line.line_number)).days


def window_decision(
    order: Order,
    line: OrderLine,
    now: datetime,
    window_days: int | None,
    when_exceeded: str,
) -> Decision | None:
    """Refused (or needs approval) past the window; None within it or without a window."""
    if window_days is None:
        return None
    age = days_since_shipped(order, line, now)
    if age <= window_days:
        return None
    reason = (
        f"line {line.line_number} was shipped {age} days ago; the return window of "
        f"{order.sales_channel} is {window_days} days"
    )
    if when_exceeded == "approval":
        return Decision.needs_approval(reason)
    return Decision.refused(reason)


def decide(order: Order, line: OrderLine, ctx: Any) -> Decision | None:
    """``return_eligibility``: the channel's return window applied to one line.

    ``ctx`` is the action's ``ActionContext`` (typed loosely to keep SQLAlchemy out of the
    plugin's import graph).
    """
    ps = ctx.channel(order).postsales
    return window_decision(order, line, ctx.now, ps.return_window_days, ps.return_window_exceeded)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-8's return window at the ``return_eligibility`` decision point."""
    return [
        Rule(
            name="return_window",
            point=RETURN_ELIGIBILITY,
            decide=decide,
            description=(
                "Lines shipped more than return_window_days ago are refused, or need a "
                "supervisor's approval with return_window_exceeded: approval."
            ),
            settings_keys=("return_window_days", "return_window_exceeded"),
            requirement=REQUIREMENT,
        )
    ]
