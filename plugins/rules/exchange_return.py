"""R-5 Exchange rule (seed 000): the original line of an exchange is returned, without a refund.

Seed 000: an exchange order is created with no payment taken, and "the original items can be
returned to the warehouse and such return will not generate a refund" — the customer is paid
in goods (the sibling SKU in ``<original>-E<n>``), so money going back too would pay twice.

The decision is the one R-4 (reshipments) makes, so it is shared in
:func:`postsales.core.rules.child_order_return_rule`; this module is the switch for exchanges.
An exchange of a line that never shipped has nothing to send back, so the rule has no opinion
then (the exchange action decides what to do with such a line).
"""

from __future__ import annotations

from typing import Any

from postsales.core import Rule, child_order_return_rule, hookimpl

REQUIREMENT = "R-5"
ORDER_TYPE = "EXCHANGE"

RULE = child_order_return_rule(
    ORDER_TYPE,
    name="exchange_return",
    requirement=REQUIREMENT,
    description="The original line of an exchange is returned with no refund.",
)
# ``child_order_return``: decide(order, order_type, line_numbers, ctx) -> ChildReturn | None.
decide = RULE.decide


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-5 at the ``child_order_return`` decision point."""
    return [RULE]
