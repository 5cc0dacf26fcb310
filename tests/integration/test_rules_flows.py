"""The rule plugins through the real engine (SPEC §7): config file -> plugins -> actions -> refunds.

Each test writes a config file (the packaged defaults with ST1's `postsales:` keys changed),
bootstraps Postsales on a migrated SQLite copy, imports the example order 000000101 (118.80:
lines 48.60, 54.00, gift wrap 5.40 on line 1, order-level service 5.00, shipping 5.80) shipped,
and runs the `return`, `appeasement`, `exchange` and `reshipment` actions through `run_action`,
the path every door takes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.domain.orders import Order, Return
from postsales.core.domain.users import User
from postsales.core.errors import Refused
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.users import add_user, get_user
from tests.conftest import import_examples

ORDER_ID = "000000101"
SHIPPED_AT = datetime(2026, 11, 3, 16, 2, 40, tzinfo=UTC)
D = Decimal


def _write_config(tmp_path: Path, postsales: dict[str, Any], plugins: dict[str, Any]) -> Path:
    packaged = resources.files("postsales.config") / "postsales.yaml"
    data = yaml.safe_load(packaged.read_text(encoding="utf-8"))
    data["sales_channels"]["ST1"]["postsales"].update(postsales)
    data["plugins"] = plugins
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Callable[..., Postsales]]:
    """`make_app(plugins=None, **st1_postsales)`: Postsales with the example order shipped."""
    apps: list[Postsales] = []

    def make(plugins: dict[str, Any] | None = None, **postsales: Any) -> Postsales:
        folder = tmp_path / f"app{len(apps)}"
        folder.mkdir()
        config = str(_write_config(folder, postsales, plugins or {}))
        db = folder / "postsales.db"
        shutil.copy(sqlite_template, db)
        app = bootstrap(config, f"sqlite:///{db}")
        apps.append(app)
        app.clock = lambda: SHIPPED_AT  # the shipment is stamped with this time
        import_examples(app, "order-create.json", "shipment-shipped.json")
        app.clock = lambda: SHIPPED_AT + timedelta(days=3)
        return app

    yield make
    for app in apps:
        app.engine.dispose()


def act(app: Postsales, action: str, params: dict[str, Any], user: User | None = None) -> Any:
    """Run an action as a door does; the built-in `system` user unless one is given."""
    return run_action(app, ORDER_ID, action, params, user or get_user(app, None))


def do_return(app: Postsales, lines: list[int]) -> Return:
    """Return `lines` as an agent would, with the `return` action."""
    act(app, "return", {"lines": lines, "reason": "Changed mind", "comment": "Changed mind"})
    return load(app).returns[-1]


def load(app: Postsales) -> Order:
    with app.uow(read_only=True) as uow:
        return uow.get_order(ORDER_ID)


def refund_of(app: Postsales, ret: Return) -> tuple[dict[int, Decimal], str] | None:
    """The return's refund as ({line: amount}, status), or None when there is none."""
    refunds = [r for r in load(app).refunds if r.return_id == ret.id]
    assert len(refunds) <= 1
    if not refunds:
        return None
    return {rl.line_number: rl.amount for rl in refunds[0].lines}, refunds[0].status


def total(lines: dict[int, Decimal]) -> Decimal:
    return sum(lines.values(), D(0))


RELEASED = ("PENDING_RELEASE", "RELEASED")


def test_the_rules_are_registered_from_entry_points(make_app: Callable[..., Postsales]) -> None:
    app = make_app()
    names = set(app.registry.rule_plugins)
    assert {
        "return_service_order",
        "return_service_line",
        "shipping_refund_rule",
        "reshipment_return",
        "exchange_return",
        "auto_approve_return",
        "auto_release_refund",
        "appeasement_limit",
        "return_window",
        "non_returnable",
    } <= names


def test_defaults_refund_the_returned_line_only(make_app: Callable[..., Postsales]) -> None:
    app = make_app()
    ret = do_return(app, [1])
    assert (ret.lines, ret.status) == ([1], "APPROVED")
    lines, status = refund_of(app, ret)
    assert lines == {1: D("48.60")} and status in RELEASED


def test_return_service_line_adds_the_gift_wrap(make_app: Callable[..., Postsales]) -> None:
    app = make_app(return_service_line=True)
    ret = do_return(app, [1])
    assert sorted(ret.lines) == [1, 3]
    lines, _ = refund_of(app, ret)
    assert lines == {1: D("48.60"), 3: D("5.40")} and total(lines) == D("54.00")


def test_return_service_order_goes_with_the_first_return_only(
    make_app: Callable[..., Postsales],
) -> None:
    app = make_app(return_service_order=True)
    first = do_return(app, [1])
    second = do_return(app, [2])
    assert sorted(first.lines) == [1, 4] and second.lines == [2]
    assert total(refund_of(app, first)[0]) == D("53.60")
    assert refund_of(app, second)[0] == {2: D("54.00")}


def test_shipping_on_first(make_app: Callable[..., Postsales]) -> None:
    app = make_app(shipping_refund_rule="onFirst")
    first = do_return(app, [1])
    second = do_return(app, [2])
    assert refund_of(app, first)[0] == {1: D("48.60"), 5: D("5.80")}
    assert refund_of(app, second)[0] == {2: D("54.00")}


def test_shipping_on_last(make_app: Callable[..., Postsales]) -> None:
    app = make_app(shipping_refund_rule="onLast")
    first = do_return(app, [1])
    second = do_return(app, [2])
    assert refund_of(app, first)[0] == {1: D("48.60")}
    assert refund_of(app, second)[0] == {2: D("54.00"), 5: D("5.80")}


def test_every_toggle_on_refunds_the_whole_order(make_app: Callable[..., Postsales]) -> None:
    """Seed 002: a gift-wrapped return with both service switches on works and refunds all."""
    app = make_app(
        return_service_order=True, return_service_line=True, shipping_refund_rule="onFirst"
    )
    first = do_return(app, [1])
    second = do_return(app, [2])
    assert total(refund_of(app, first)[0]) == D("64.80")  # 48.60 + 5.40 + 5.00 + 5.80
    assert total(refund_of(app, second)[0]) == D("54.00")
    order = load(app)
    assert order.refunded == order.captured == D("118.80")
    assert {ln.status for ln in order.lines} == {"RETURNED"}


def test_auto_approve_off_leaves_the_return_requested(make_app: Callable[..., Postsales]) -> None:
    app = make_app(auto_approve_return=False)
    ret = do_return(app, [1])
    assert ret.status == "REQUESTED"
    assert refund_of(app, ret) is None
    assert load(app).line(1).status == "RETURN_REQUESTED"


def test_auto_release_off_leaves_the_refund_requested(make_app: Callable[..., Postsales]) -> None:
    app = make_app(auto_release_refund=False)
    ret = do_return(app, [1])
    assert ret.status == "APPROVED"
    assert refund_of(app, ret) == ({1: D("48.60")}, "REQUESTED")


def test_disabling_the_auto_approval_plugin_approves_nothing(
    make_app: Callable[..., Postsales],
) -> None:
    """The core approves only when some rule says yes: no R-6 plugin, nothing is automatic."""
    app = make_app(plugins={"auto_approval": {"enabled": False}})
    assert do_return(app, [1]).status == "REQUESTED"


def test_disabled_shipping_plugin_ignores_its_setting(make_app: Callable[..., Postsales]) -> None:
    app = make_app(
        plugins={"shipping_refund_rule": {"enabled": False}}, shipping_refund_rule="onFirst"
    )
    assert do_return(app, [1]).lines == [1]


def test_return_window_refuses_with_the_reason(make_app: Callable[..., Postsales]) -> None:
    app = make_app(return_window_days=30)
    app.clock = lambda: SHIPPED_AT + timedelta(days=45)
    with pytest.raises(
        Refused, match="line 2 was shipped 45 days ago; the return window of ST1 is 30 days"
    ):
        do_return(app, [2])
    assert load(app).returns == []


def test_return_window_can_ask_for_approval(make_app: Callable[..., Postsales]) -> None:
    app = make_app(return_window_days=30, return_window_exceeded="approval")
    app.clock = lambda: SHIPPED_AT + timedelta(days=45)
    ret = do_return(app, [2])
    assert ret.status == "REQUESTED"  # never auto-approved past the window
    assert "shipped 45 days ago" in ret.needs_approval_reason
    assert refund_of(app, ret) is None


def test_within_the_window_returns_as_usual(make_app: Callable[..., Postsales]) -> None:
    app = make_app(return_window_days=30)
    assert do_return(app, [2]).status == "APPROVED"


def test_non_returnable_sku_is_refused(make_app: Callable[..., Postsales]) -> None:
    app = make_app(non_returnable_skus=["WT09-S-BLK"])
    with pytest.raises(Refused, match=r"line 2 \(WT09-S-BLK\) is not returnable in ST1"):
        do_return(app, [2])
    assert do_return(app, [1]).status == "APPROVED"


def test_reshipment_returns_the_original_line_without_refund(
    make_app: Callable[..., Postsales],
) -> None:
    """R-4; and for onLast the reshipped line counts as returned (docs/rules.md, R-3)."""
    app = make_app(shipping_refund_rule="onLast")
    act(app, "reshipment", {"lines": [2], "reason": "Lost", "reason_description": "Never came"})
    ret = load(app).returns[-1]
    assert (ret.lines, ret.refunds, ret.related_order_id) == ([2], False, f"{ORDER_ID}-R1")
    act(app, "approve_return", {"return_id": ret.id})
    assert refund_of(app, ret) is None and load(app).refunded == D("0.00")
    assert refund_of(app, do_return(app, [1]))[0] == {1: D("48.60"), 5: D("5.80")}


def _catalog(app: Postsales) -> None:
    """A sibling of line 1 (MJ01-M-RED) with stock in SOU1, for the exchange."""
    messages = [
        {"id": "rules-p1", "type": "catalog.product.upsert", "created_at": SHIPPED_AT.isoformat(),
         "payload": {"sku": "MJ01-L-RED", "parent_sku": "MJ01", "name": "Beaumont Summit Kit, L",
                     "prices": {"ST1": "50.00"}}},
        {"id": "rules-s1", "type": "inventory.source_item.update",
         "created_at": SHIPPED_AT.isoformat(),
         "payload": {"source_id": "SOU1", "sku": "MJ01-L-RED", "quantity": 5}},
    ]  # fmt: skip
    report = import_lines(app, [json.dumps(m) for m in messages])
    assert not report.refused, report.refused


def test_exchange_returns_the_original_line_without_refund(
    make_app: Callable[..., Postsales],
) -> None:
    """R-5: the customer is paid in goods, so the original line's return refunds nothing."""
    app = make_app()
    _catalog(app)
    act(app, "exchange", {"items": [{"line": 1, "sku": "MJ01-L-RED"}], "reason": "Too small"})
    ret = load(app).returns[-1]
    assert (ret.lines, ret.refunds, ret.related_order_id) == ([1], False, f"{ORDER_ID}-E1")
    act(app, "approve_return", {"return_id": ret.id})
    assert load(app).line(1).status == "RETURNED"
    assert refund_of(app, ret) is None and load(app).refunded == D("0.00")


def test_appeasement_above_the_agent_limit_waits(make_app: Callable[..., Postsales]) -> None:
    """R-7: per-role limit from the channel's `appeasement_limits`; supervisors are exempt."""
    app = make_app(appeasement_limits={"agent": "20.00"})
    ann = add_user(app, "ann", ["agent"], "password-123")
    bob = add_user(app, "bob", ["supervisor"], "password-123")

    def appease(line: int, amount: str, who: User) -> tuple[str, str]:
        act(app, "appeasement", {"line": line, "amount": amount, "reason": "Late"}, who)
        refund = load(app).refunds[-1]
        return str(refund.amount), refund.status

    assert appease(1, "25.00", ann) == ("25.00", "REQUESTED")
    assert appease(2, "20.00", ann)[1] in RELEASED
    assert appease(2, "25.00", bob)[1] in RELEASED
    with app.uow(read_only=True) as uow:
        order = uow.get_order(ORDER_ID, history=True)
    assert any(
        "appeasement of 25.00 exceeds the agent limit of 20.00" in h.summary for h in order.history
    )


def test_a_non_refunding_return_leaves_service_and_shipping_for_a_refunding_one(
    make_app: Callable[..., Postsales],
) -> None:
    """A reshipment's return (refunds=False) must not take the shipping charge or the order's
    service along: they would be marked RETURNED without ever being refunded."""
    app = make_app(shipping_refund_rule="onFirst", return_service_order=True)
    act(app, "reshipment", {"lines": [2], "reason": "Lost"})
    assert load(app).returns[-1].lines == [2]
    assert total(refund_of(app, do_return(app, [1]))[0]) == D("59.40")  # 48.60 + 5.00 + 5.80
