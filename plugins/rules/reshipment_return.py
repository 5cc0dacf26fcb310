"""R-4 Reshipment rule (seed 002): a reshipped line is returned, without a refund.

When a shipped line is reshipped (lost, damaged), the seed says "a return is requested for that
original order line … no refund must be applied to that order line": the customer is made whole
by the free replacement in the child order ``<original>-R<n>``, not by money.
"""

from __future__ import annotations

from typing import Any

from postsales.core.domain.orders import Order
from postsales.core.hookspecs import hookimpl
from postsales.core.rules import ChildReturn, Rule

REQUIREMENT = "R-4"
ORDER_TYPE = "RESHIPMENT"


def reshipment_return(order: Order, order_type: str, line_numbers: list[int]) -> ChildReturn | None:
    """A non-refunding return when the reshipped lines were shipped; None otherwise.

    Only a SHIPPED line can go back; if none of the lines is shipped there is nothing to return
    and the rule has no opinion (the reshipment action decides whether it may run at all).
    Unknown line numbers are ignored rather than raised on: the action validates its input.
    """
    if order_type != ORDER_TYPE:
        return None
    numbers = set(line_numbers)
    if not any(ln.line_number in numbers and ln.status == "SHIPPED" for ln in order.lines):
        return None
    return ChildReturn(request_return=True, refunds=False)


def decide(order: Order, order_type: str, line_numbers: list[int], ctx: Any) -> ChildReturn | None:
    """``child_order_return``: R-4's answer for a reshipment of `line_numbers`."""
    return reshipment_return(order, order_type, line_numbers)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-4 at the ``child_order_return`` decision point."""
    return [
        Rule(
            name="reshipment_return",
            point="child_order_return",
            decide=decide,
            description="A reshipped line gets a return of the original line with no refund.",
            settings_keys=(),
            requirement=REQUIREMENT,
        )
    ]
