"""R-1 ReturnServiceOrder (seed 002): order-level service lines go back with the first return.

An order-level service line (``product_type`` SERVICE, no ``parent_line_number``: a delivery
fee, an order-level gift service…) belongs to no product, so the vendor returns it with the
first return requested on the order. With ``return_service_order`` on, this rule adds such lines
to a return when no earlier non-cancelled return already holds them; the core approves and
refunds them together with the rest of the return (D-3).
"""

from __future__ import annotations

from typing import Any

from postsales.core import RETURN_COMPOSITION, ActionContext, Order, Rule, hookimpl

REQUIREMENT = "R-1"


def order_service_lines(order: Order) -> list[int]:
    """Numbers of the order-level service lines (SERVICE without a parent line)."""
    return [
        line.line_number
        for line in order.lines
        if line.product_type == "SERVICE" and line.parent_line_number is None
    ]


def lines_in_open_returns(order: Order) -> set[int]:
    """Lines held by a return that still counts (anything but a cancelled return)."""
    return {n for ret in order.returns if ret.status != "CANCELLED" for n in ret.lines}


def service_lines_to_add(order: Order, line_numbers: list[int]) -> list[int]:
    """Order-level service lines this return should carry, whatever the channel says.

    A line already in a non-cancelled return has gone back with an earlier ("first") return;
    a cancelled return gives its lines back, so the next return takes them. Only SHIPPED lines
    can join a return (the core drops the others), so a cancelled or never-shipped service line
    is left alone rather than offered.
    """
    taken = lines_in_open_returns(order) | set(line_numbers)
    return [
        n
        for n in order_service_lines(order)
        if n not in taken and order.line(n).status == "SHIPPED"
    ]


def decide(order: Order, line_numbers: list[int], ctx: ActionContext) -> list[int]:
    """``return_composition``: the order-level service lines to add to this return."""
    if not ctx.channel(order).postsales.return_service_order:
        return []
    return service_lines_to_add(order, line_numbers)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-1 at the ``return_composition`` decision point."""
    return [
        Rule(
            name="return_service_order",
            point=RETURN_COMPOSITION,
            decide=decide,
            description=(
                "Order-level service lines (no parent line) are returned with the first return "
                "of the order."
            ),
            settings_keys=("return_service_order",),
            requirement=REQUIREMENT,
        )
    ]
