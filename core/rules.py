"""Rules: pure decisions over an order and its channel's settings (SPEC §7).

A rule plugin registers :class:`Rule` objects, each answering one decision point. The core asks
every enabled rule of a point and applies the answers; rules never change an order themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from .domain.orders import Order

Outcome = Literal["allowed", "needs_approval", "refused"]


@attrs.frozen
class Decision:
    """An eligibility answer with three outcomes, as in Solidus's return-item validators."""

    outcome: Outcome
    reason: str = ""
    rule: str = ""

    @classmethod
    def allowed(cls) -> Decision:
        return cls("allowed")

    @classmethod
    def needs_approval(cls, reason: str) -> Decision:
        return cls("needs_approval", reason)

    @classmethod
    def refused(cls, reason: str) -> Decision:
        return cls("refused", reason)


# Decision points the core consults, and what a rule's `decide` receives and returns there.
POINTS: dict[str, str] = {
    "return_eligibility": "decide(order, line, ctx) -> Decision | None: may the line be returned?",
    "return_composition": "decide(order, line_numbers, ctx) -> list[int]: lines to add",
    "return_auto_approve": "decide(order, ret, ctx) -> bool | None: approve a new return now?",
    "refund_auto_release": "decide(order, refund, ctx) -> bool | None: send a refund now?",
    "refund_lines": "decide(order, ret, lines, ctx) -> list[RefundLine] | None: adjust amounts",
    "cancel_eligibility": "decide(order, ctx) -> Decision | None: may the order be cancelled?",
    "appeasement_approval": "decide(order, line, amount, ctx) -> Decision | None: approval?",
    "child_order_return": (
        "decide(order, order_type, line_numbers, ctx) -> ChildReturn | None — does an exchange or "
        "reshipment return the original lines, and with a refund?"
    ),
}


@attrs.frozen
class ChildReturn:
    """R-4/R-5: an exchange or reshipment requests a return of the original lines."""

    request_return: bool
    refunds: bool = False


@attrs.frozen
class Rule:
    """A named decision for one decision point. `settings_keys` lists the channel settings it
    reads, so `postsales config check` can show which rule a toggle drives."""

    name: str
    point: str = attrs.field(validator=attrs.validators.in_(tuple(POINTS)))
    decide: Callable[..., Any]
    description: str = ""
    settings_keys: tuple[str, ...] = ()
    requirement: str = ""  # SPEC id, e.g. "R-3"


def child_order_return_rule(order_type: str, name: str, requirement: str, description: str) -> Rule:
    """A ``child_order_return`` rule: a child order of `order_type` returns the original lines,
    without a refund (R-4 for RESHIPMENT, R-5 for EXCHANGE).

    The customer is made whole in goods (the free child order), so money going back too would pay
    twice. The rule answers for its own order type only, and only when one of the lines was
    SHIPPED: nothing else can go back, and then it has no opinion (None). Unknown line numbers
    are ignored rather than raised on: the action validates its input. Each child-order type
    stays its own plugin (its own entry point and YAML switch); only the decision is shared.
    """

    def decide(order: Order, asked: str, line_numbers: list[int], ctx: Any) -> ChildReturn | None:
        if asked != order_type:
            return None
        numbers = set(line_numbers)
        if not any(ln.line_number in numbers and ln.status == "SHIPPED" for ln in order.lines):
            return None
        return ChildReturn(request_return=True, refunds=False)

    return Rule(
        name=name,
        point="child_order_return",
        decide=decide,
        description=description,
        settings_keys=(),
        requirement=requirement,
    )


def combine(decisions: Iterable[Decision | None]) -> Decision:
    """The strictest answer wins: refused over needs_approval over allowed."""
    rank = {"allowed": 0, "needs_approval": 1, "refused": 2}
    worst = Decision.allowed()
    for decision in decisions:
        if decision is not None and rank[decision.outcome] > rank[worst.outcome]:
            worst = decision
    return worst
