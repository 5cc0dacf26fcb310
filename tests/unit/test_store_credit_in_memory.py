"""The example outside plugin, unit-tested with `postsales.core.testing` exactly as
docs/plugins.md shows it (issue 14 item 5): the action's `why_unavailable` and `run`, and the
rule's decision, in memory.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import postsales_store_credit
import pytest
import yaml

from postsales.core import RefundLine, Return
from postsales.core.testing import (
    NOW,
    InMemoryPostsales,
    a_line,
    an_order,
    context,
    in_memory_app,
    run,
    unavailable,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app() -> InMemoryPostsales:
    return in_memory_app(plugins=[("store_credit", postsales_store_credit)])


def test_store_credit_needs_something_left_to_credit(app: InMemoryPostsales) -> None:
    paid_back = a_line(1, price="20.00", status="SHIPPED", refunded_amount=Decimal("20.00"))
    app.store.add(an_order("000000101", status="SHIPPED", lines=[paid_back]))
    assert unavailable(app, "000000101", "store_credit") == "no line has anything left to credit"


def test_store_credit_is_settled_without_a_gateway(app: InMemoryPostsales) -> None:
    app.store.add(an_order("000000101", status="SHIPPED", lines=[a_line(1, price="20.00")]))
    outcome = run(app, "000000101", "store_credit", {"line": 1, "amount": "5.00"})
    (refund,) = app.store.saved("000000101").refunds
    assert (refund.kind, refund.amount, refund.status) == (
        "APPEASEMENT",
        Decimal("5.00"),
        "RELEASED",
    )
    assert outcome.result["store_credit"] == [refund.id]
    issued = [m for m in app.store.messages if m["type"] == "postsales.store_credit.issued"]
    assert issued[0]["payload"]["amount"] == "5.00"


def test_restocking_fee_is_off_until_configured(app: InMemoryPostsales) -> None:
    order = an_order(lines=[a_line(1, price="20.00")])
    ret = Return("RT-1", [1], "Damaged", "", "SOU1", "agent", NOW)
    lines = [RefundLine(1, Decimal("20.00"))]
    assert postsales_store_credit.restocking_fee(order, ret, lines, context(app)) is None


def test_restocking_fee_keeps_a_share_of_physical_lines_only(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["plugins"] = {"store_credit": {"restocking_fee_percent": "10"}}
    (tmp_path / "postsales.yaml").write_text(yaml.safe_dump(config))
    app = in_memory_app(
        plugins=[("store_credit", postsales_store_credit)],
        config=str(tmp_path / "postsales.yaml"),
    )
    app.store.add(
        an_order(
            status="SHIPPED",
            lines=[
                a_line(1, price="20.00", status="SHIPPED", source_id="SOU1"),
                a_line(2, price="5.00", status="SHIPPED", product_type="SERVICE"),
            ],
        )
    )
    run(app, "000000101", "return", {"lines": [1, 2], "reason": "Damaged", "comment": "torn"})
    (refund,) = app.store.saved("000000101").refunds
    assert [(rl.line_number, rl.amount) for rl in refund.lines] == [
        (1, Decimal("18.00")),  # 10 % kept
        (2, Decimal("5.00")),  # a service line: refunded in full
    ]
