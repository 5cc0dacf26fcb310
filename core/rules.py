"""Rules: pure decisions over an order and its channel's settings (SPEC §7).

A rule plugin registers :class:`Rule` objects, each answering one decision point. The core asks
every enabled rule of a point and applies the answers; rules never change an order themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import attrs

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


def combine(decisions: list[Decision | None]) -> Decision:
    """The strictest answer wins: refused over needs_approval over allowed."""
    rank = {"allowed": 0, "needs_approval": 1, "refused": 2}
    worst = Decision.allowed()
    for decision in decisions:
        if decision is not None and rank[decision.outcome] > rank[worst.outcome]:
            worst = decision
    return worst
