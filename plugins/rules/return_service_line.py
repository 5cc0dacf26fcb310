"""R-2 ReturnServiceLine (seed 002): a service attached to a product goes back with it.

A line-level service (``product_type`` SERVICE with a ``parent_line_number``, e.g. gift wrap on
line 1) has no value without its product. With ``return_service_line`` on, returning the parent
line adds the service line to the same return, so it is approved and refunded with it (D-3).

The seed records a vendor bug — a return including a gift-wrapped line answered with a server
error — so this rule never raises: it only compares line numbers, and a service line that
cannot be returned (not SHIPPED, or pointing at a line the order does not have) is simply not
added.
"""

from __future__ import annotations

from typing import Any

from postsales.core import RETURN_COMPOSITION, Order, Rule, hookimpl

REQUIREMENT = "R-2"


def attached_service_lines(order: Order, parents: list[int]) -> list[int]:
    """Service lines whose parent line is among `parents`, in line-number order.

    Only SHIPPED service lines are offered: one already returned, cancelled or never shipped
    cannot join a return (the core would drop it anyway), and the rule says so by not asking.
    """
    wanted = set(parents)
    return [
        line.line_number
        for line in order.lines
        if line.product_type == "SERVICE"
        and line.parent_line_number is not None
        and line.parent_line_number in wanted
        and line.line_number not in wanted
        and line.status == "SHIPPED"
    ]


def decide(order: Order, line_numbers: list[int], ctx: Any) -> list[int]:
    """``return_composition``: the service lines attached to the returned lines.

    ``ctx`` is the action's ``ActionContext`` (typed loosely to keep SQLAlchemy out of the
    plugin's import graph).
    """
    if not ctx.channel(order).postsales.return_service_line:
        return []
    return attached_service_lines(order, line_numbers)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-2 at the ``return_composition`` decision point."""
    return [
        Rule(
            name="return_service_line",
            point=RETURN_COMPOSITION,
            decide=decide,
            description="A service line (e.g. gift wrap) is returned with its parent line.",
            settings_keys=("return_service_line",),
            requirement=REQUIREMENT,
        )
    ]
