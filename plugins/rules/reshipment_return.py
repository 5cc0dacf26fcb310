"""R-4 Reshipment rule (seed 002): a reshipped line is returned, without a refund.

When a shipped line is reshipped (lost, damaged), the seed says "a return is requested for that
original order line … no refund must be applied to that order line": the customer is made whole
by the free replacement in the child order ``<original>-R<n>``, not by money.

The decision is the one R-5 (exchanges) makes, so it is shared in
:func:`postsales.core.rules.child_order_return_rule`; this module is the switch for reshipments.
If none of the lines is shipped there is nothing to return and the rule has no opinion (the
reshipment action decides whether it may run at all).
"""

from __future__ import annotations

from typing import Any

from postsales.core import Rule, child_order_return_rule, hookimpl

REQUIREMENT = "R-4"
ORDER_TYPE = "RESHIPMENT"

RULE = child_order_return_rule(
    ORDER_TYPE,
    name="reshipment_return",
    requirement=REQUIREMENT,
    description="A reshipped line gets a return of the original line with no refund.",
)
# ``child_order_return``: decide(order, order_type, line_numbers, ctx) -> ChildReturn | None.
decide = RULE.decide


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-4 at the ``child_order_return`` decision point."""
    return [RULE]
