"""R-8 Non-returnable items: SKUs and product types a channel never takes back.

``non_returnable_skus`` lists SKUs (a listed parent SKU covers its whole style, e.g. every size
of a swimsuit); ``non_returnable_product_types`` lists product types (e.g. SERVICE, so an agent
cannot return a service on its own). A chosen line that matches is refused with the reason.

This decides what an agent may *choose*; service and shipping lines that the composition rules
(R-1…R-3) add are governed by those rules' own switches, not by this list.
"""

from __future__ import annotations

from typing import Any

from postsales.core import RETURN_ELIGIBILITY, Decision, Order, OrderLine, Rule, hookimpl

REQUIREMENT = "R-8"


def non_returnable_reason(
    order: Order, line: OrderLine, skus: tuple[str, ...], product_types: tuple[str, ...]
) -> str | None:
    """Why this line may not be returned in its channel, or None if nothing forbids it."""
    where = order.sales_channel
    if line.sku in skus:
        return f"line {line.line_number} ({line.sku}) is not returnable in {where}"
    if line.parent_sku and line.parent_sku in skus:
        return (
            f"line {line.line_number} ({line.sku}) is not returnable in {where}: "
            f"style {line.parent_sku} is non-returnable"
        )
    if line.product_type in product_types:
        return (
            f"line {line.line_number} ({line.sku}) is not returnable in {where}: "
            f"{line.product_type} lines are non-returnable"
        )
    return None


def decide(order: Order, line: OrderLine, ctx: Any) -> Decision | None:
    """``return_eligibility``: refuse a listed SKU or product type.

    ``ctx`` is the action's ``ActionContext`` (typed loosely to keep SQLAlchemy out of the
    plugin's import graph).
    """
    ps = ctx.channel(order).postsales
    reason = non_returnable_reason(
        order, line, tuple(ps.non_returnable_skus), tuple(ps.non_returnable_product_types)
    )
    return Decision.refused(reason) if reason else None


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register the non-returnable list at the ``return_eligibility`` decision point."""
    return [
        Rule(
            name="non_returnable",
            point=RETURN_ELIGIBILITY,
            decide=decide,
            description="Listed SKUs (or styles) and product types cannot be returned.",
            settings_keys=("non_returnable_skus", "non_returnable_product_types"),
            requirement=REQUIREMENT,
        )
    ]
