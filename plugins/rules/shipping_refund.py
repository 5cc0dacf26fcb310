"""R-3 ShippingRefundRule (seed 002): when the shipping charge goes back with a return.

``shipping_refund_rule`` per channel:

- ``onFirst`` — the shipping line is added to the first return that holds a product
  (PHYSICAL) line it ships;
- ``onLast`` — it is added to the return after which every PHYSICAL line it ships is returned
  or being returned;
- ``never`` — it is never added (the default).

Which lines a shipping line "ships": the order carries no link between a SHIPPING line and
product lines (shipment requests list the shipping line once, with whichever products went
first), so a shipping line covers every PHYSICAL line of the order. Choices for ``onLast``
(documented in docs/rules.md):

- SERVICE and SHIPPING lines never count: only products are shipped;
- CANCELLED physical lines count as done: they were never shipped, so the shipping charge
  covers the others only;
- a line in a non-refunding return (exchange, reshipment) counts as returned: by the letter of
  the seed it *is* returned, and its replacement travels in its own child order;
- a physical line not shipped yet (NEW, ALLOCATED, PICKING) is still to come, so it holds the
  shipping back.
"""

from __future__ import annotations

from typing import Any

from postsales.core import RETURN_COMPOSITION, Order, Rule, hookimpl

REQUIREMENT = "R-3"
# A physical line in one of these states needs nothing more for onLast to refund shipping.
_DONE = frozenset({"RETURN_REQUESTED", "RETURNED", "CANCELLED"})


def shipping_lines(order: Order) -> list[int]:
    """SHIPPING lines that can still join a return (SHIPPED, not in a return yet)."""
    return [
        line.line_number
        for line in order.lines
        if line.product_type == "SHIPPING" and line.status == "SHIPPED"
    ]


def physical_lines(order: Order) -> list[int]:
    return [line.line_number for line in order.lines if line.product_type == "PHYSICAL"]


def on_first(order: Order, line_numbers: list[int]) -> list[int]:
    """onFirst: shipping joins a return holding a physical line, unless a return already has it.

    "First" is kept by the shipping line's own state: once it is in a non-cancelled return it
    is no longer SHIPPED and is not offered again; cancelling that return makes it SHIPPED and
    available to the next one.
    """
    chosen = set(line_numbers)
    if not chosen & set(physical_lines(order)):
        return []
    return [n for n in shipping_lines(order) if n not in chosen]


def on_last(order: Order, line_numbers: list[int]) -> list[int]:
    """onLast: shipping joins the return that leaves no physical line still with the customer."""
    chosen = set(line_numbers)
    physical = physical_lines(order)
    if not chosen & set(physical):
        return []  # only a return of a product can be "the last" one
    if any(n not in chosen and order.line(n).status not in _DONE for n in physical):
        return []
    return [n for n in shipping_lines(order) if n not in chosen]


def shipping_to_add(rule: str, order: Order, line_numbers: list[int]) -> list[int]:
    """The shipping lines to add to a return of `line_numbers` under `rule`."""
    if rule == "onFirst":
        return on_first(order, line_numbers)
    if rule == "onLast":
        return on_last(order, line_numbers)
    return []


def decide(order: Order, line_numbers: list[int], ctx: Any) -> list[int]:
    """``return_composition``: the shipping line(s) to add under the channel's rule.

    ``ctx`` is the action's ``ActionContext`` (typed loosely to keep SQLAlchemy out of the
    plugin's import graph).
    """
    return shipping_to_add(ctx.channel(order).postsales.shipping_refund_rule, order, line_numbers)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-3 at the ``return_composition`` decision point."""
    return [
        Rule(
            name="shipping_refund_rule",
            point=RETURN_COMPOSITION,
            decide=decide,
            description=(
                "The shipping line is returned with the first (onFirst) or the last (onLast) "
                "return of a product line, or never."
            ),
            settings_keys=("shipping_refund_rule",),
            requirement=REQUIREMENT,
        )
    ]
