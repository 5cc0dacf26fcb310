"""Unit tests of the rule plugins (SPEC §7, R-1…R-8): no database, no plugin manager.

Orders are built directly from the domain classes, shaped like the example order 000000101
(`examples/messages/order-create.json`, 118.80 in all):

    1 PHYSICAL  MJ01-M-RED   48.60
    2 PHYSICAL  WT09-S-BLK   54.00
    3 SERVICE   GIFTWRAP      5.40  (parent line 1)
    4 SERVICE   23456         5.00  (order level)
    5 SHIPPING  STANDARD      5.80

The rules get a tiny fake context: `channel(order).postsales`, `now`, `user`, `settings`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from postsales.core.domain.customers import Customer
from postsales.core.domain.orders import Order, OrderLine, Payment, Return, Shipment
from postsales.core.domain.refunds import return_refund_lines
from postsales.core.domain.users import User, system_user
from postsales.core.money import ZERO
from postsales.core.rules import POINTS, ChildReturn, Decision, Rule, combine
from postsales.core.settings import PostsalesSettings, Role
from postsales.plugins.rules import (
    auto_approval,
    exchange_return,
    non_returnable,
    refund_caps,
    reshipment_return,
    return_service_line,
    return_service_order,
    return_window,
    shipping_refund,
)

MODULES = (
    return_service_order,
    return_service_line,
    shipping_refund,
    reshipment_return,
    exchange_return,
    auto_approval,
    refund_caps,
    return_window,
    non_returnable,
)
ORIGIN = datetime(2026, 11, 2, 9, 30, 55, tzinfo=UTC)
SHIPPED_AT = datetime(2026, 11, 3, 16, 2, 40, tzinfo=UTC)
NOW = SHIPPED_AT + timedelta(days=10)
D = Decimal


# -- builders ----------------------------------------------------------------------------------


def _line(n: int, sku: str, kind: str, gross: str, net: str, **kw: Any) -> OrderLine:
    return OrderLine(
        line_number=n,
        sku=sku,
        name=sku,
        product_type=kind,
        net_amount=D(net),
        gross_amount=D(gross),
        tax_amount=D(gross) - D(net),
        status="SHIPPED",
        source_id="SOU1",
        **kw,
    )


def example_order(*, shipped: bool = True) -> Order:
    """The example order 000000101, every line SHIPPED in shipment ST1-000000101-01."""
    lines = [
        _line(1, "MJ01-M-RED", "PHYSICAL", "48.60", "45.00", parent_sku="MJ01"),
        _line(2, "WT09-S-BLK", "PHYSICAL", "54.00", "50.00", parent_sku="WT09"),
        _line(3, "GIFTWRAP", "SERVICE", "5.40", "5.00", parent_line_number=1),
        _line(4, "23456", "SERVICE", "5.00", "5.00"),
        _line(5, "STANDARD", "SHIPPING", "5.80", "5.80"),
    ]
    order = Order(
        id="000000101",
        sales_channel="ST1",
        currency="USD",
        customer=Customer(id="C-1001", type="registered"),
        created_at=ORIGIN,
        origin_date=ORIGIN,
        status="SHIPPED",
        lines=lines,
        payments=[Payment("15", "card", "PAY-7731902", D("118.80"), D("118.80"))],
    )
    if shipped:
        order.shipments.append(
            Shipment("ST1-000000101-01", "SOU1", [1, 2, 3, 4, 5], "SHIPPED", shipped_at=SHIPPED_AT)
        )
    return order


ROLES = {
    "agent": Role(("orders.view", "return.create", "appeasement.create"), "*"),
    "senior": Role(("orders.view", "appeasement.create"), "*"),
    "teamlead": Role(("orders.view", "appeasement.create"), "*"),
    "viewer": Role(("orders.view",), "*"),
    "supervisor": Role(("orders.view", "appeasement.create", "refund.approve"), "*"),
}


def user(*roles: str) -> User:
    """A user whose permissions are the union of the given roles, as the core builds them."""
    perms = frozenset(p for r in roles if r in ROLES for p in ROLES[r].permissions)
    return User("ann", tuple(roles), perms, None)


@attrs.define
class FakeCtx:
    """The part of ActionContext the rules read."""

    postsales: PostsalesSettings = attrs.field(factory=PostsalesSettings)
    now: datetime = NOW
    user: User = attrs.field(factory=system_user)
    settings: Any = attrs.field(factory=lambda: SimpleNamespace(roles=ROLES))

    def channel(self, order: Order) -> Any:
        return SimpleNamespace(postsales=self.postsales)


def ctx(**postsales: Any) -> FakeCtx:
    return FakeCtx(PostsalesSettings(**postsales))


COMPOSITION = [r for m in MODULES for r in m.postsales_register_rules(None)]
COMPOSITION = [r for r in COMPOSITION if r.point == "return_composition"]


def compose(order: Order, lines: list[int], c: FakeCtx) -> list[int]:
    """What core `create_return` does with the composition rules' answers."""
    chosen = list(lines)
    for rule in COMPOSITION:
        for n in rule.decide(order, list(lines), c):
            if n not in chosen and order.line(n).status == "SHIPPED":
                chosen.append(n)
    return chosen


def take_back(order: Order, lines: list[int], *, status: str = "APPROVED", refunds: bool = True):
    """Record a return of `lines` on the order as the core would leave it."""
    ret = Return(
        id=order.next_return_id(),
        lines=list(lines),
        reason="Changed mind",
        comment="",
        source_id="SOU1",
        created_by="ann",
        created_at=NOW,
        status=status,
        refunds=refunds,
    )
    order.returns.append(ret)
    line_status = {"APPROVED": "RETURNED", "REQUESTED": "RETURN_REQUESTED"}.get(status, "SHIPPED")
    for n in lines:
        order.line(n).status = line_status
    return ret


def cancel_return(order: Order, ret: Return) -> None:
    ret.status = "CANCELLED"
    for n in ret.lines:
        order.line(n).status = "SHIPPED"


def do_return(order: Order, lines: list[int], c: FakeCtx) -> tuple[list[int], Decimal]:
    """Compose a return, refund it by D-3 (core), record it; returns (lines, refund total)."""
    chosen = compose(order, lines, c)
    refund = return_refund_lines(order, chosen)
    for rl in refund:
        order.line(rl.line_number).refunded_amount += rl.amount
    take_back(order, chosen)
    return sorted(chosen), sum((rl.amount for rl in refund), ZERO)


# -- registration ------------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_each_plugin_registers_documented_rules(module: Any) -> None:
    rules = module.postsales_register_rules(None)
    assert rules and all(isinstance(r, Rule) for r in rules)
    fields = {f.name for f in attrs.fields(PostsalesSettings)}
    for rule in rules:
        assert rule.point in POINTS
        assert rule.requirement.startswith("R-")
        assert rule.description
        assert set(rule.settings_keys) <= fields, rule.settings_keys


def test_rule_names_are_unique_and_cover_r1_to_r8() -> None:
    rules = [r for m in MODULES for r in m.postsales_register_rules(None)]
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    assert {r.requirement for r in rules} == {f"R-{i}" for i in range(1, 9)}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_plugins_import_only_the_core(module: Any) -> None:
    """Built-ins use what an outside plugin could use: postsales.core, stdlib typing helpers."""
    tree = ast.parse(Path(module.__file__).read_text())
    allowed = ("postsales.core", "__future__", "typing", "datetime", "decimal")
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert name.startswith(allowed), f"{module.__name__} imports {name}"
            assert not name.startswith("postsales.core.context"), "pulls SQLAlchemy in"


# -- R-1 ReturnServiceOrder --------------------------------------------------------------------


def test_r1_off_adds_nothing() -> None:
    assert return_service_order.decide(example_order(), [1], ctx()) == []


def test_r1_adds_order_level_service_to_first_return_only() -> None:
    order, c = example_order(), ctx(return_service_order=True)
    assert return_service_order.decide(order, [1], c) == [4]
    take_back(order, [1, 4])
    assert return_service_order.decide(order, [2], c) == []


def test_r1_pending_first_return_still_holds_the_service_line() -> None:
    order, c = example_order(), ctx(return_service_order=True)
    take_back(order, [1, 4], status="REQUESTED")
    assert return_service_order.decide(order, [2], c) == []


def test_r1_cancelled_first_return_gives_the_service_line_to_the_next() -> None:
    order, c = example_order(), ctx(return_service_order=True)
    cancel_return(order, take_back(order, [1, 4], status="REQUESTED"))
    assert return_service_order.decide(order, [2], c) == [4]


def test_r1_never_adds_a_service_line_with_a_parent() -> None:
    order = example_order()
    assert 3 not in return_service_order.decide(order, [2], ctx(return_service_order=True))


def test_r1_skips_service_lines_chosen_or_not_returnable() -> None:
    order, c = example_order(), ctx(return_service_order=True)
    assert return_service_order.decide(order, [1, 4], c) == []
    order.line(4).status = "CANCELLED"
    assert return_service_order.decide(order, [1], c) == []


# -- R-2 ReturnServiceLine ---------------------------------------------------------------------


def test_r2_off_adds_nothing() -> None:
    assert return_service_line.decide(example_order(), [1], ctx()) == []


def test_r2_adds_the_gift_wrap_of_a_returned_parent() -> None:
    order, c = example_order(), ctx(return_service_line=True)
    assert return_service_line.decide(order, [1], c) == [3]
    assert return_service_line.decide(order, [2], c) == []
    assert return_service_line.decide(order, [1, 2], c) == [3]


def test_r2_gift_wrap_edge_cases_never_raise() -> None:
    order, c = example_order(), ctx(return_service_line=True)
    assert return_service_line.decide(order, [3], c) == []  # the gift wrap chosen alone
    assert return_service_line.decide(order, [1, 3], c) == []  # already chosen with its parent
    order.lines.append(_line(6, "GIFTWRAP", "SERVICE", "5.40", "5.00", parent_line_number=99))
    assert return_service_line.decide(order, [1], c) == [3]  # a dangling parent is ignored
    order.line(3).status = "RETURNED"
    assert return_service_line.decide(order, [1], c) == []


def test_r2_several_services_on_one_line() -> None:
    order, c = example_order(), ctx(return_service_line=True)
    order.lines.append(_line(6, "GIFTCARD-MSG", "SERVICE", "1.00", "1.00", parent_line_number=1))
    assert return_service_line.decide(order, [1], c) == [3, 6]


def test_r1_and_r2_together_refund_every_line_with_a_cost() -> None:
    """Seed 002: with both switches on, a gift-wrapped return works and refunds all costs."""
    order, c = example_order(), ctx(return_service_order=True, return_service_line=True)
    assert do_return(order, [1], c) == ([1, 3, 4], D("59.00"))
    assert do_return(order, [2], c) == ([2], D("54.00"))


def test_free_gift_wrap_is_returned_but_not_refunded_at_zero() -> None:
    order, c = example_order(), ctx(return_service_line=True)
    order.line(3).gross_amount = order.line(3).net_amount = order.line(3).tax_amount = ZERO
    lines, amount = do_return(order, [1], c)
    assert lines == [1, 3] and amount == D("48.60")


# -- R-3 ShippingRefundRule --------------------------------------------------------------------


def test_r3_never_is_the_default() -> None:
    order = example_order()
    assert shipping_refund.decide(order, [1, 2], ctx()) == []


def test_r3_on_first_adds_shipping_once() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onFirst")
    assert do_return(order, [1], c) == ([1, 5], D("54.40"))
    assert do_return(order, [2], c) == ([2], D("54.00"))


def test_r3_on_first_needs_a_physical_line() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onFirst")
    assert shipping_refund.decide(order, [4], c) == []
    assert shipping_refund.decide(order, [3], c) == []


def test_r3_on_first_after_a_cancelled_return() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onFirst")
    cancel_return(order, take_back(order, [1, 5], status="REQUESTED"))
    assert shipping_refund.decide(order, [2], c) == [5]


def test_r3_on_last_waits_for_the_last_physical_line() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    assert do_return(order, [1], c) == ([1], D("48.60"))
    assert do_return(order, [2], c) == ([2, 5], D("59.80"))


def test_r3_on_last_all_physical_lines_in_one_return() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    assert shipping_refund.decide(order, [1, 2], c) == [5]


def test_r3_on_last_counts_a_pending_return_as_returning() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    take_back(order, [1], status="REQUESTED")
    assert shipping_refund.decide(order, [2], c) == [5]


def test_r3_on_last_service_lines_do_not_count() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    assert order.line(3).status == order.line(4).status == "SHIPPED"
    assert shipping_refund.decide(order, [1, 2], c) == [5]
    take_back(order, [1, 2])
    assert shipping_refund.decide(order, [3, 4], c) == []  # not a product return


def test_r3_on_last_cancelled_product_lines_are_not_waited_for() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    order.line(2).status = "CANCELLED"
    assert shipping_refund.decide(order, [1], c) == [5]


def test_r3_on_first_ignores_cancelled_product_lines() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onFirst")
    order.line(2).status = "CANCELLED"
    assert shipping_refund.decide(order, [1], c) == [5]


def test_r3_on_last_reshipped_or_exchanged_line_counts_as_returned() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    take_back(order, [2], refunds=False)  # a reshipment's (or exchange's) return, no refund
    assert shipping_refund.decide(order, [1], c) == [5]


def test_r3_on_last_unshipped_product_line_holds_shipping_back() -> None:
    order, c = example_order(), ctx(shipping_refund_rule="onLast")
    order.line(2).status = "ALLOCATED"
    assert shipping_refund.decide(order, [1], c) == []


def test_r3_shipping_already_in_a_return_is_not_added_again() -> None:
    order = example_order()
    take_back(order, [5])  # the agent returned the shipping line by hand
    assert shipping_refund.decide(order, [1], ctx(shipping_refund_rule="onFirst")) == []
    assert shipping_refund.decide(order, [1, 2], ctx(shipping_refund_rule="onLast")) == []


def test_every_composition_rule_on_refunds_the_whole_order_over_two_returns() -> None:
    order = example_order()
    c = ctx(return_service_order=True, return_service_line=True, shipping_refund_rule="onFirst")
    first = do_return(order, [1], c)
    second = do_return(order, [2], c)
    assert first == ([1, 3, 4, 5], D("64.80"))
    assert second == ([2], D("54.00"))
    assert first[1] + second[1] == D("118.80")


def test_on_last_with_services_refunds_the_whole_order_over_two_returns() -> None:
    order = example_order()
    c = ctx(return_service_order=True, return_service_line=True, shipping_refund_rule="onLast")
    assert do_return(order, [2], c) == ([2, 4], D("59.00"))
    assert do_return(order, [1], c) == ([1, 3, 5], D("59.80"))


# -- child-order returns -------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "order_type", "other"),
    [(reshipment_return, "RESHIPMENT", "EXCHANGE"), (exchange_return, "EXCHANGE", "RESHIPMENT")],
)
def test_child_order_returns_without_refund(module: Any, order_type: str, other: str) -> None:
    order, c = example_order(), ctx()
    assert module.decide(order, order_type, [2], c) == ChildReturn(True, refunds=False)
    assert module.decide(order, other, [2], c) is None
    order.line(2).status = "ALLOCATED"
    assert module.decide(order, order_type, [2], c) is None  # nothing shipped, nothing to return
    assert module.decide(order, order_type, [1, 2], c) == ChildReturn(True, refunds=False)
    assert module.decide(order, order_type, [42], c) is None  # unknown lines never raise


# -- R-6 auto-approve / auto-release -----------------------------------------------------------


def test_r6_answers_the_channel_toggles() -> None:
    order = example_order()
    ret = take_back(order, [1], status="REQUESTED")
    assert auto_approval.auto_approve_return(order, ret, ctx()) is True
    assert auto_approval.auto_release_refund(order, None, ctx()) is True
    off = ctx(auto_approve_return=False, auto_release_refund=False)
    assert auto_approval.auto_approve_return(order, ret, off) is False
    assert auto_approval.auto_release_refund(order, None, off) is False


def test_r6_registers_one_rule_per_toggle() -> None:
    rules = {r.point: r for r in auto_approval.postsales_register_rules(None)}
    assert rules["return_auto_approve"].settings_keys == ("auto_approve_return",)
    assert rules["refund_auto_release"].settings_keys == ("auto_release_refund",)


# -- R-7 appeasement limits --------------------------------------------------------------------


def appease(amount: str, who: User, limits: dict[str, Decimal] | None) -> Decision | None:
    order = example_order()
    c = FakeCtx(PostsalesSettings(appeasement_limits=limits), user=who)
    return refund_caps.decide(order, order.line(1), D(amount), c)


LIMITS = {"agent": D("50.00")}


def test_r7_within_or_at_the_limit_needs_nothing() -> None:
    assert appease("45.00", user("agent"), LIMITS) is None
    assert appease("50.00", user("agent"), LIMITS) is None


def test_r7_above_the_limit_needs_approval_with_the_reason() -> None:
    decision = appease("50.01", user("agent"), LIMITS)
    assert decision == Decision.needs_approval(
        "appeasement of 50.01 exceeds the agent limit of 50.00"
    )


def test_r7_supervisors_and_the_system_user_are_exempt() -> None:
    assert appease("500.00", user("supervisor"), LIMITS) is None
    assert appease("500.00", user("agent", "supervisor"), LIMITS) is None
    assert appease("500.00", system_user(), LIMITS) is None


def test_r7_no_limits_configured() -> None:
    assert appease("500.00", user("agent"), None) is None
    assert appease("500.00", user("agent"), {}) is None


def test_r7_best_limit_across_roles() -> None:
    limits = {"agent": D("50.00"), "senior": D("80.00")}
    assert appease("70.00", user("agent", "senior"), limits) is None
    decision = appease("90.00", user("agent", "senior"), limits)
    assert decision.reason == "appeasement of 90.00 exceeds the senior limit of 80.00"


def test_r7_unlisted_roles() -> None:
    # A role that may appease and has no limit lifts the cap; one that cannot appease does not.
    assert appease("90.00", user("agent", "teamlead"), LIMITS) is None
    assert appease("90.00", user("agent", "viewer"), LIMITS).outcome == "needs_approval"
    assert appease("90.00", user("agent", "gone-from-config"), LIMITS).outcome == "needs_approval"
    assert appease("90.00", user("teamlead"), LIMITS) is None


def test_r7_adds_no_refund_lines_rule() -> None:
    """D-1…D-4 are core's; a refund_lines rule here could only clobber other plugins' answers."""
    assert [r.point for r in refund_caps.postsales_register_rules(None)] == ["appeasement_approval"]


# -- R-8 return window -------------------------------------------------------------------------


def window(days_ago: float, **postsales: Any) -> Decision | None:
    order = example_order()
    c = FakeCtx(PostsalesSettings(**postsales), now=SHIPPED_AT + timedelta(days=days_ago))
    return return_window.decide(order, order.line(2), c)


def test_r8_no_window_no_decision() -> None:
    assert window(400) is None


def test_r8_within_the_window_up_to_the_last_day() -> None:
    assert window(0, return_window_days=30) is None
    assert window(30.9, return_window_days=30) is None


def test_r8_past_the_window_is_refused_with_the_reason() -> None:
    assert window(45, return_window_days=30) == Decision.refused(
        "line 2 was shipped 45 days ago; the return window of ST1 is 30 days"
    )
    assert window(31, return_window_days=30).outcome == "refused"


def test_r8_past_the_window_can_need_approval_instead() -> None:
    decision = window(45, return_window_days=30, return_window_exceeded="approval")
    assert decision == Decision.needs_approval(
        "line 2 was shipped 45 days ago; the return window of ST1 is 30 days"
    )


def test_r8_ship_time_comes_from_the_shipment_holding_the_line() -> None:
    order = example_order()
    later = SHIPPED_AT + timedelta(days=20)
    order.shipments[0].lines = [1, 3, 4, 5]
    order.shipments.append(Shipment("ST1-000000101-02", "SOU2", [2], "SHIPPED", shipped_at=later))
    order.shipments.append(
        Shipment("ST1-000000101-03", "SOU2", [2], "CANCELLED", shipped_at=later + timedelta(9))
    )
    c = FakeCtx(PostsalesSettings(return_window_days=30), now=SHIPPED_AT + timedelta(days=45))
    assert return_window.decide(order, order.line(2), c) is None  # 25 days since shipment 02
    assert return_window.decide(order, order.line(1), c).outcome == "refused"


def test_r8_falls_back_to_the_origin_date_and_reads_naive_times_as_utc() -> None:
    order = example_order(shipped=False)
    order.origin_date = ORIGIN.replace(tzinfo=None)
    c = FakeCtx(PostsalesSettings(return_window_days=30), now=ORIGIN + timedelta(days=31))
    assert return_window.shipped_at(order, 1) == ORIGIN
    assert "shipped 31 days ago" in return_window.decide(order, order.line(1), c).reason


# -- R-8 non-returnable items ------------------------------------------------------------------


def test_non_returnable_sku() -> None:
    order, c = example_order(), ctx(non_returnable_skus=("WT09-S-BLK",))
    assert non_returnable.decide(order, order.line(1), c) is None
    assert non_returnable.decide(order, order.line(2), c) == Decision.refused(
        "line 2 (WT09-S-BLK) is not returnable in ST1"
    )


def test_non_returnable_style_covers_every_size() -> None:
    order, c = example_order(), ctx(non_returnable_skus=("MJ01",))
    decision = non_returnable.decide(order, order.line(1), c)
    assert (
        decision.reason
        == "line 1 (MJ01-M-RED) is not returnable in ST1: style MJ01 is non-returnable"
    )


def test_non_returnable_product_type() -> None:
    order, c = example_order(), ctx(non_returnable_product_types=("SERVICE",))
    assert non_returnable.decide(order, order.line(1), c) is None
    assert non_returnable.decide(order, order.line(3), c).reason == (
        "line 3 (GIFTWRAP) is not returnable in ST1: SERVICE lines are non-returnable"
    )


def test_non_returnable_does_not_stop_rules_adding_services() -> None:
    # Eligibility is asked for the agent's lines; R-2 still takes the gift wrap along.
    c = ctx(non_returnable_product_types=("SERVICE",), return_service_line=True)
    assert compose(example_order(), [1], c) == [1, 3]


def test_refusal_wins_over_approval_when_rules_disagree() -> None:
    order = example_order()
    c = FakeCtx(
        PostsalesSettings(
            return_window_days=30,
            return_window_exceeded="approval",
            non_returnable_skus=("MJ01-M-RED",),
        ),
        now=SHIPPED_AT + timedelta(days=40),
    )
    decide: list[Callable[..., Decision | None]] = [return_window.decide, non_returnable.decide]
    decision = combine([d(order, order.line(1), c) for d in decide])
    assert decision.outcome == "refused" and "not returnable" in decision.reason
    assert combine([d(order, order.line(2), c) for d in decide]).outcome == "needs_approval"
