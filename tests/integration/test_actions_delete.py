"""A-15 Delete draft: a DRAFT goes with every row of it; anything else is refused, at the action
and again at the unit of work (`UnitOfWork.delete_order`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales
from postsales.core.errors import NotFound, Refused
from postsales.core.persistence import tables as T
from postsales.core.persistence.unit_of_work import _ORDER_ROW_TABLES
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.drafts import create_order
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import import_examples

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def draft(app: Postsales) -> str:
    """A phone order (A-12) of two units at 50.00, not paid yet: a cart."""
    app.clock = lambda: NOW
    product = {"sku": "MJ01-M-RED", "parent_sku": "MJ01", "name": "Kit", "prices": {"ST1": "50"}}
    upsert = {"id": "p-1", "type": "catalog.product.upsert", "created_at": NOW.isoformat()}
    report = import_lines(app, [json.dumps({**upsert, "payload": product})])
    assert not report.refused
    doc = create_order(
        app,
        {
            "sales_channel": "ST1",
            "customer": {"first_name": "Mercy", "last_name": "Taylor", "email": "m@example.com"},
            "shipping_address": {"address1": "1 Main St", "city": "Austin", "country_code": "US"},
            "shipping_method": "express",
            "lines": [{"sku": "MJ01-M-RED", "quantity": 2}],
        },
        get_user(app, None),
    )
    return doc["id"]


def _act(app: Postsales, order_id: str, name: str, **params: Any) -> Any:
    return run_action(app, order_id, name, params, get_user(app, None))


def _rows(app: Postsales) -> dict[str, int]:
    """Rows per table that holds rows of orders."""
    with app.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (T.orders, *_ORDER_ROW_TABLES)
        }


def test_deleting_a_draft_removes_it_and_every_row_of_it(app: Postsales, draft: str) -> None:
    import_examples(app, "order-create.json")  # another order, which must keep its rows
    before = _rows(app)
    assert before["payments"] == 1 and before["history"] > 1
    reasons = {a.name: a.reason for a in list_actions(app, draft, get_user(app, None))}
    assert reasons["delete"] is None

    out = _act(app, draft, "delete")
    assert out.result == {"deleted": [draft]}
    # The document as it was before deletion, for the door to show what went.
    assert (out.order["id"], out.order["status"]) == (draft, "DRAFT")
    assert [h["kind"] for h in out.order["history"]] == ["order.created"]
    assert out.messages == []
    with pytest.raises(NotFound, match=f"order {draft} not found"):
        show_order(app, draft, get_user(app, None))
    assert show_order(app, "000000101", get_user(app, None))["status"] == "NEW"
    after = _rows(app)
    assert after["orders"] == before["orders"] - 1
    # Only the example order's rows are left: 5 lines, 1 payment, 1 operation, its history.
    assert (after["order_lines"], after["payments"], after["payment_operations"]) == (5, 1, 1)
    with pytest.raises(NotFound):
        _act(app, draft, "delete")


def test_a_draft_with_money_taken_is_not_deleted(app: Postsales, draft: str) -> None:
    """Deleting would lose the record of captured money: refund or place it first."""
    out = _act(app, draft, "add_payment", method="card", amount="40.00")
    assert out.order["status"] == "DRAFT"
    with pytest.raises(Refused, match=r"40\.00 USD was captured"):
        _act(app, draft, "delete")
    assert show_order(app, draft, get_user(app, None))["status"] == "DRAFT"


def test_previewing_a_delete_keeps_the_draft(app: Postsales, draft: str) -> None:
    preview = run_action(app, draft, "delete", {}, get_user(app, None), dry_run=True)
    assert preview.result == {"deleted": [draft]}
    assert show_order(app, draft, get_user(app, None))["status"] == "DRAFT"


def test_deleting_a_placed_order_is_refused(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    with pytest.raises(Refused, match="order is NEW; delete is allowed in DRAFT"):
        _act(app, "000000101", "delete")
    # The unit of work refuses it too, whatever door or plugin asks.
    with app.uow() as uow:
        order = uow.get_order("000000101")
        with pytest.raises(Refused, match="order is NEW; only DRAFT orders can be deleted"):
            uow.delete_order(order)
    assert show_order(app, "000000101", get_user(app, None))["status"] == "NEW"


def test_every_table_with_rows_of_an_order_is_deleted_from() -> None:
    """A new table with a foreign key to orders must join the list, or deletes would fail."""
    referencing = {
        t.name
        for t in T.metadata.sorted_tables
        if any(fk.column.table is T.orders for fk in t.foreign_keys)
    }
    assert referencing == {t.name for t in _ORDER_ROW_TABLES}
