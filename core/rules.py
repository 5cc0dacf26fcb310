"""Rules: pure decisions over an order and its channel's settings (SPEC §7).

A rule plugin registers :class:`Rule` objects, each answering one decision point. The core asks
every enabled rule of a point and applies the answers; rules never change an order themselves.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from .errors import ConfigError

if TYPE_CHECKING:
    from .context import ActionContext
    from .domain.orders import Order, OrderLine, Refund, RefundLine, Return

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


# -- decision points ------------------------------------------------------------------------------
# Each point the core (or a plugin) asks is declared once, with the typed signature of the
# `decide` its rules provide: a Protocol, positional arguments, the action's context last.


class ReturnEligibility(Protocol):
    def __call__(self, order: Order, line: OrderLine, ctx: ActionContext, /) -> Decision | None: ...


class ReturnComposition(Protocol):
    def __call__(
        self, order: Order, line_numbers: list[int], ctx: ActionContext, /
    ) -> list[int]: ...


class ReturnAutoApprove(Protocol):
    def __call__(self, order: Order, ret: Return, ctx: ActionContext, /) -> bool | None: ...


class RefundAutoRelease(Protocol):
    def __call__(self, order: Order, refund: Refund, ctx: ActionContext, /) -> bool | None: ...


class RefundLines(Protocol):
    def __call__(
        self, order: Order, ret: Return, lines: list[RefundLine], ctx: ActionContext, /
    ) -> list[RefundLine] | None: ...


class CancelEligibility(Protocol):
    def __call__(self, order: Order, ctx: ActionContext, /) -> Decision | None: ...


class AppeasementApproval(Protocol):
    def __call__(
        self, order: Order, line: OrderLine, amount: Decimal, ctx: ActionContext, /
    ) -> Decision | None: ...


class ChildOrderReturn(Protocol):
    def __call__(
        self, order: Order, order_type: str, line_numbers: list[int], ctx: ActionContext, /
    ) -> ChildReturn | None: ...


@attrs.frozen
class DecisionPoint:
    """A question the core asks its rules: `ctx.ask(point, *args)` calls every enabled rule's
    `decide(*args, ctx)`, typed by `signature`."""

    name: str
    signature: type
    question: str
    # How `ctx.decide` turns the rules' (name, answer) pairs into the point's one answer;
    # None for a point whose rules each adjust a value in turn (refund_lines).
    combined: Callable[[list[tuple[str, Any]]], Any] | None = None

    def describe(self) -> str:
        """`decide(order, line, ctx) -> Decision | None`, read from the signature."""
        hints = typing.get_type_hints(self.signature.__call__, globalns=_hint_names())
        params = [p for p in inspect.signature(self.signature.__call__).parameters if p != "self"]
        returns = _type_text(hints["return"])
        return f"decide({', '.join(params)}) -> {returns}"


def strictest(answers: list[tuple[str, Decision]]) -> Decision:
    """Refused over needs approval over allowed; allowed when no rule answers. The answer
    names the rule that gave it."""
    return combine([Decision(a.outcome, a.reason, name) for name, a in answers])


def unanimous(answers: list[tuple[str, bool]]) -> bool:
    """Yes only when at least one rule answered and every answer is yes."""
    return bool(answers) and all(a for _, a in answers)


def every_line(answers: list[tuple[str, list[int]]]) -> list[int]:
    """The lines any rule adds, each once, in the order the rules gave them."""
    return list(dict.fromkeys(n for _, lines in answers for n in lines))


def first_return(answers: list[tuple[str, ChildReturn]]) -> ChildReturn | None:
    """The first rule that asks for a return decides (R-4, R-5)."""
    return next((a for _, a in answers if a.request_return), None)


RETURN_ELIGIBILITY = DecisionPoint(
    "return_eligibility", ReturnEligibility, "may the line be returned?", strictest
)
RETURN_COMPOSITION = DecisionPoint(
    "return_composition", ReturnComposition, "which lines does a return add?", every_line
)
RETURN_AUTO_APPROVE = DecisionPoint(
    "return_auto_approve", ReturnAutoApprove, "is a new return approved at once?", unanimous
)
REFUND_AUTO_RELEASE = DecisionPoint(
    "refund_auto_release", RefundAutoRelease, "is a new refund sent at once?", unanimous
)
REFUND_LINES = DecisionPoint(
    "refund_lines", RefundLines, "how much does an approved return refund? (each rule adjusts)"
)
CANCEL_ELIGIBILITY = DecisionPoint(
    "cancel_eligibility", CancelEligibility, "may the order be cancelled?", strictest
)
APPEASEMENT_APPROVAL = DecisionPoint(
    "appeasement_approval", AppeasementApproval, "does an appeasement need approval?", strictest
)
CHILD_ORDER_RETURN = DecisionPoint(
    "child_order_return",
    ChildOrderReturn,
    "does an exchange or reshipment return the original lines, and with a refund?",
    first_return,
)

POINTS: dict[str, DecisionPoint] = {
    p.name: p
    for p in (
        RETURN_ELIGIBILITY,
        RETURN_COMPOSITION,
        RETURN_AUTO_APPROVE,
        REFUND_AUTO_RELEASE,
        REFUND_LINES,
        CANCEL_ELIGIBILITY,
        APPEASEMENT_APPROVAL,
        CHILD_ORDER_RETURN,
    )
}


def decision_point(point: str | DecisionPoint) -> DecisionPoint:
    """The declared point of that name. An unknown one is a ConfigError: declare the points a
    module asks at import (``CANCEL = decision_point("cancel_eligibility")``) and a misspelt
    one stops start-up instead of finding no rule, silently."""
    if isinstance(point, DecisionPoint):
        return point
    found = POINTS.get(point)
    if found is None:
        raise ConfigError(
            [f"unknown decision point {point!r} (declared points: {', '.join(POINTS)})"]
        )
    return found


def _point_name(point: str | DecisionPoint) -> str:
    return decision_point(point).name


def _type_text(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(_type_text(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"list[{_type_text(typing.get_args(tp)[0])}]"
    return getattr(tp, "__name__", str(tp))


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
    # A DecisionPoint or its name; an unknown name stops start-up (ConfigError).
    point: str = attrs.field(converter=_point_name)
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
        point=CHILD_ORDER_RETURN,
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


def _hint_names() -> dict[str, Any]:
    """What the Protocols' string annotations name, for `DecisionPoint.describe`."""
    from .context import ActionContext
    from .domain.orders import Order, OrderLine, Refund, RefundLine, Return

    return {
        "ActionContext": ActionContext,
        "Order": Order,
        "OrderLine": OrderLine,
        "Refund": Refund,
        "RefundLine": RefundLine,
        "Return": Return,
        "Decision": Decision,
        "ChildReturn": ChildReturn,
        "Decimal": Decimal,
    }
