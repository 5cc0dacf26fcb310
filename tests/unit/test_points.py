"""Every decision point, asked in memory (issue 14 item 4; SPEC §7): a rule registered by a plugin
answers it, and the core applies the answer. One `test_point_<name>` per point
(tests/contracts/test_hooks.py checks that none is missing).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from postsales.core import (
    APPEASEMENT_APPROVAL,
    CANCEL_ELIGIBILITY,
    CHILD_ORDER_RETURN,
    REFUND_AUTO_RELEASE,
    REFUND_LINES,
    RETURN_AUTO_APPROVE,
    RETURN_COMPOSITION,
    RETURN_ELIGIBILITY,
    ChildReturn,
    ConfigError,
    Decision,
    DecisionPoint,
    Order,
    RefundLine,
    Refused,
    Rule,
    Shipment,
    hookimpl,
)
from postsales.core.testing import InMemoryPostsales, a_line, an_order, context, in_memory_app, run

ID = "000000101"


class OneRule:
    """A plugin contributing one rule, registered directly (no installation)."""

    def __init__(self, point: DecisionPoint, decide: Any) -> None:
        self.rule = Rule(name=f"test_{point.name}", point=point, decide=decide)

    @hookimpl
    def postsales_register_rules(self, settings: Any) -> list[Rule]:
        return [self.rule]


def app_with(point: DecisionPoint, decide: Any) -> InMemoryPostsales:
    return in_memory_app(plugins=[("test_rule", OneRule(point, decide))])


def shipped(*prices: str) -> Order:
    lines = [
        a_line(n, price=p, status="SHIPPED", source_id="SOU1") for n, p in enumerate(prices, 1)
    ]
    shipment = Shipment("SH-1", "SOU1", [ln.line_number for ln in lines], status="SHIPPED")
    return an_order(ID, status="SHIPPED", lines=lines, shipments=[shipment])


RETURN = {"reason": "Damaged", "comment": "arrived broken"}


def test_point_return_eligibility() -> None:
    app = app_with(RETURN_ELIGIBILITY, lambda order, line, ctx: Decision.refused("final sale"))
    app.store.add(shipped("20.00"))
    with pytest.raises(Refused, match="final sale"):
        run(app, ID, "return", {"lines": [1], **RETURN})
    assert app.store.saved(ID).returns == []


def test_point_return_composition() -> None:
    app = app_with(RETURN_COMPOSITION, lambda order, numbers, ctx: [2] if 1 in numbers else [])
    app.store.add(shipped("20.00", "5.00"))
    run(app, ID, "return", {"lines": [1], **RETURN})
    assert app.store.saved(ID).returns[0].lines == [1, 2]


def test_point_return_auto_approve() -> None:
    app = app_with(RETURN_AUTO_APPROVE, lambda order, ret, ctx: False)
    app.store.add(shipped("20.00"))
    run(app, ID, "return", {"lines": [1], **RETURN})
    order = app.store.saved(ID)
    assert order.returns[0].status == "REQUESTED"  # one rule said no: an agent approves
    assert order.refunds == []


def test_point_refund_auto_release() -> None:
    app = app_with(REFUND_AUTO_RELEASE, lambda order, refund, ctx: False)
    app.store.add(an_order(ID, lines=[a_line(1, price="20.00")]))
    run(app, ID, "cancel", {"reason": "Customer request"})
    assert [r.status for r in app.store.saved(ID).refunds] == ["REQUESTED"]


def test_point_refund_lines() -> None:
    def half(order: Order, ret: Any, lines: list[RefundLine], ctx: Any) -> list[RefundLine]:
        return [RefundLine(rl.line_number, rl.amount / 2) for rl in lines]

    app = app_with(REFUND_LINES, half)
    app.store.add(shipped("20.00"))
    run(app, ID, "return", {"lines": [1], **RETURN})
    assert [r.amount for r in app.store.saved(ID).refunds] == [Decimal("10.00")]


def test_point_cancel_eligibility() -> None:
    app = app_with(CANCEL_ELIGIBILITY, lambda order, ctx: Decision.refused("already packed"))
    app.store.add(an_order(ID))
    with pytest.raises(Refused, match="already packed"):
        run(app, ID, "cancel", {"reason": "Customer request"})
    assert app.store.saved(ID).status == "NEW"


def test_point_appeasement_approval() -> None:
    app = app_with(
        APPEASEMENT_APPROVAL,
        lambda order, line, amount, ctx: Decision.needs_approval("every appeasement is checked"),
    )
    app.store.add(shipped("20.00"))
    run(app, ID, "appeasement", {"line": 1, "amount": "1.00", "reason": "Late delivery"})
    assert [r.status for r in app.store.saved(ID).refunds] == ["REQUESTED"]


def test_point_child_order_return() -> None:
    """The built-in R-4 rule: a reshipment of a shipped line returns it, without a refund."""
    app = in_memory_app()
    ctx = context(app)
    answers = ctx.ask(CHILD_ORDER_RETURN, shipped("20.00"), "RESHIPMENT", [1])
    assert answers == [("reshipment_return", ChildReturn(request_return=True, refunds=False))]
    assert ctx.ask(CHILD_ORDER_RETURN, an_order(ID), "RESHIPMENT", [1]) == []  # nothing shipped


def test_an_unknown_point_is_refused_not_answered_by_no_rule() -> None:
    ctx = context(in_memory_app())
    with pytest.raises(ConfigError, match="unknown decision point 'cancel_eligibilty'"):
        ctx.ask("cancel_eligibilty", an_order(ID))


def test_a_rule_for_an_unknown_point_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="unknown decision point 'return_eligibilty'"):
        Rule(name="typo", point="return_eligibilty", decide=lambda order, line, ctx: None)


# -- ctx.decide: one answer per point, combined as the point declares (issue 14 item 3) --------


class TwoRules:
    """Two rules on one point, as two plugins or one plugin would register them."""

    def __init__(self, point: DecisionPoint, *answers: Any) -> None:
        self.rules = [
            Rule(name=f"rule_{i}", point=point, decide=lambda *a, answer=answer: answer)
            for i, answer in enumerate(answers, 1)
        ]

    @hookimpl
    def postsales_register_rules(self, settings: Any) -> list[Rule]:
        return self.rules


def decided(point: DecisionPoint, *answers: Any, args: tuple[Any, ...] = ()) -> Any:
    app = in_memory_app(plugins=[("two", TwoRules(point, *answers))], builtins=False)
    return context(app).decide(point, *args)


def test_decide_combines_each_point_as_it_declares() -> None:
    order = shipped("10.00")
    line = order.line(1)
    strict = decided(CANCEL_ELIGIBILITY, Decision.needs_approval("big"), Decision.refused("no"),
                     args=(order,))  # fmt: skip
    assert (strict.outcome, strict.reason, strict.rule) == ("refused", "no", "rule_2")
    assert decided(RETURN_ELIGIBILITY, None, None, args=(order, line)).outcome == "allowed"
    assert decided(RETURN_AUTO_APPROVE, True, True, args=(order, None)) is True
    assert decided(RETURN_AUTO_APPROVE, True, False, args=(order, None)) is False
    assert decided(REFUND_AUTO_RELEASE, None, None, args=(order, None)) is False  # nobody said yes
    assert decided(RETURN_COMPOSITION, [3, 2], [2, 4], args=(order, [1])) == [3, 2, 4]
    first = decided(CHILD_ORDER_RETURN, ChildReturn(False), ChildReturn(True, refunds=True),
                    args=(order, "EXCHANGE", [1]))  # fmt: skip
    assert first == ChildReturn(True, refunds=True)
    with pytest.raises(ConfigError, match=r"refund_lines.*use ctx\.ask"):
        decided(REFUND_LINES, None, args=(order, None, []))
    with pytest.raises(ConfigError, match="unknown decision point 'cancel_elegibility'"):
        context(in_memory_app()).decide("cancel_elegibility", order)
