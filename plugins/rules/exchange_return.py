"""R-5 Exchange rule (seed 000): the original line of an exchange is returned, without a refund.

Seed 000: an exchange order is created with no payment taken, and "the original items can be
returned to the warehouse and such return will not generate a refund" — the customer is paid
in goods (the sibling SKU in ``<original>-E<n>``), so money going back too would pay twice.
"""

from __future__ import annotations

from typing import Any

from postsales.core.domain.orders import Order
from postsales.core.hookspecs import hookimpl
from postsales.core.rules import ChildReturn, Rule

REQUIREMENT = "R-5"
ORDER_TYPE = "EXCHANGE"


def exchange_return(order: Order, order_type: str, line_numbers: list[int]) -> ChildReturn | None:
    """A non-refunding return of the exchanged lines that were shipped; None otherwise.

    An exchange of a line that never shipped has nothing to send back, so the rule has no
    opinion then (the exchange action decides what to do with such a line).
    """
    if order_type != ORDER_TYPE:
        return None
    numbers = set(line_numbers)
    if not any(ln.line_number in numbers and ln.status == "SHIPPED" for ln in order.lines):
        return None
    return ChildReturn(request_return=True, refunds=False)


def decide(order: Order, order_type: str, line_numbers: list[int], ctx: Any) -> ChildReturn | None:
    """``child_order_return``: R-5's answer for an exchange of `line_numbers`."""
    return exchange_return(order, order_type, line_numbers)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-5 at the ``child_order_return`` decision point."""
    return [
        Rule(
            name="exchange_return",
            point="child_order_return",
            decide=decide,
            description="The original line of an exchange is returned with no refund.",
            settings_keys=(),
            requirement=REQUIREMENT,
        )
    ]
