"""Inbound messages through the real import path (SPEC §9, issue 2 item 8)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import example, example_path


def count(app: Postsales, table: object) -> int:
    with app.uow(read_only=True) as uow:
        return uow.conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_example_messages_import_as_they_are(app: Postsales) -> None:
    """The pretty-printed example files are read whole, not line by line."""
    for name in ("order-create.json", "shipment-shipped.json"):
        report = import_lines(app, example_path(name).open())
        assert (report.applied, report.duplicates, report.refused) == (1, 0, [])
    doc = show_order(app, "000000101", get_user(app, None))
    assert doc["status"] == "SHIPPED"
    assert doc["totals"] == {
        "grand_total": "118.80",
        "captured": "118.80",
        "total_due": "0.00",
        "refunded": "0.00",
    }
    assert [ln["status"] for ln in doc["lines"]] == ["SHIPPED"] * 5
    assert doc["lines"][2]["parent_line_number"] == 1
    assert doc["shipments"][0]["id"] == "ST1-000000101-01"
    assert doc["shipments"][0]["tracking_number"] == "1Z999AA10123456784"
    kinds = [h["kind"] for h in doc["history"]]
    assert kinds[0] == "order.created" and "shipment.shipped" in kinds


def test_redelivery_changes_nothing_and_is_not_an_error(app: Postsales) -> None:
    line = json.dumps(example("order-create.json"))
    first = import_lines(app, [line])
    before = (count(app, T.orders), count(app, T.history), count(app, T.outbox))
    again = import_lines(app, [line, line])
    assert first.applied == 1
    assert (again.applied, again.duplicates, again.exit_code) == (0, 2, 0)
    assert (count(app, T.orders), count(app, T.history), count(app, T.outbox)) == before


def test_duplicate_within_one_batch_applies_once(app: Postsales) -> None:
    line = json.dumps(example("order-create.json"))
    report = import_lines(app, [line, line])
    assert (report.applied, report.duplicates) == (1, 1)
    assert count(app, T.orders) == 1


def test_malformed_message_is_refused_with_the_field_and_dead_lettered(app: Postsales) -> None:
    bad = example("order-create.json")
    bad["payload"]["order"]["order_lines"][1]["amount"]["gross_amount"] = "fifty"
    good = example("order-create.json")
    good["id"], good["payload"]["order"]["id"] = "msg-2", "000000102"
    report = import_lines(app, [json.dumps(bad), "{not json", json.dumps(good)])
    assert report.applied == 1
    assert report.exit_code == 2
    reasons = [r.reason for r in report.refused]
    assert reasons[0].startswith("payload.order.order_lines[1].amount.gross_amount")
    assert reasons[1].startswith("not valid JSON")
    assert count(app, T.orders) == 1  # nothing of the refused ones stored
    with app.uow(read_only=True) as uow:
        letters = list(uow.conn.execute(select(T.dead_letters).order_by(T.dead_letters.c.id)))
    assert [dl.reason for dl in letters] == reasons
    assert letters[0].message_id == "msg-2026-000101" and "fifty" in letters[0].raw


def test_a_refused_message_can_be_fixed_and_sent_again(app: Postsales) -> None:
    bad = example("order-create.json")
    del bad["payload"]["order"]["customer"]["email"]
    assert import_lines(app, [json.dumps(bad)]).refused
    assert import_lines(app, [json.dumps(example("order-create.json"))]).applied == 1


def test_unknown_channel_and_existing_order_are_refused(app: Postsales) -> None:
    other = example("order-create.json")
    other["payload"]["order"]["sales_channel_id"] = "XX9"
    import_lines(app, [json.dumps(example("order-create.json"))])
    same_order = example("order-create.json")
    same_order["id"] = "msg-new-id"
    report = import_lines(app, [json.dumps(other), json.dumps(same_order)])
    assert "unknown sales channel 'XX9'" in report.refused[0].reason
    assert report.refused[1].reason == "payload.order.id: order 000000101 already exists"
    assert report.refused[1].exit_code == 3


def test_order_import_writes_history_and_outbox_in_the_same_transaction(app: Postsales) -> None:
    import_lines(app, [json.dumps(example("order-create.json"))])
    with app.uow(read_only=True) as uow:
        outbox = list(uow.conn.execute(select(T.outbox)))
        history = list(uow.conn.execute(select(T.history)))
    assert [m.type for m in outbox] == ["sales.order_management.updated"]
    assert outbox[0].payload["order"]["status"] == "NEW"
    assert len(history) == 1


def test_shipped_message_for_unknown_order_is_not_found(app: Postsales) -> None:
    report = import_lines(app, example_path("shipment-shipped.json").open())
    assert report.exit_code == 4
    assert "order 000000101 not found" in report.refused[0].reason


def test_shipped_lines_already_shipped_are_left_as_they_are(app: Postsales) -> None:
    import_lines(app, example_path("order-create.json").open())
    import_lines(app, example_path("shipment-shipped.json").open())
    again = example("shipment-shipped.json")
    again["id"] = "msg-wh-again"
    report = import_lines(app, [json.dumps(again)])
    assert report.applied == 1
    doc = show_order(app, "000000101", get_user(app, None))
    assert len(doc["shipments"]) == 1 and doc["status"] == "SHIPPED"


def test_catalog_and_stock_messages_upsert(app: Postsales) -> None:
    msgs = [
        {
            "id": "p1",
            "type": "catalog.product.upsert",
            "created_at": "2026-11-01T00:00:00+00:00",
            "payload": {
                "sku": "MJ01-L-RED",
                "parent_sku": "MJ01",
                "name": "Kit L",
                "prices": {"ST1": "50.00"},
            },
        },
        {
            "id": "p2",
            "type": "catalog.product.upsert",
            "created_at": "2026-11-01T00:00:00+00:00",
            "payload": {
                "sku": "MJ01-L-RED",
                "parent_sku": "MJ01",
                "name": "Kit L (new)",
                "prices": {"ST1": "45.00"},
            },
        },
        {
            "id": "s1",
            "type": "inventory.source_item.update",
            "created_at": "2026-11-01T00:00:00+00:00",
            "payload": {"source_id": "SOU1", "sku": "MJ01-L-RED", "quantity": 4},
        },
        {
            "id": "s2",
            "type": "inventory.source_item.update",
            "created_at": "2026-11-01T00:00:00+00:00",
            "payload": {"source_id": "NOPE", "sku": "MJ01-L-RED", "quantity": 4},
        },
    ]
    report = import_lines(app, [json.dumps(m) for m in msgs])
    assert report.applied == 3
    assert "unknown source 'NOPE'" in report.refused[0].reason
    with app.uow(read_only=True) as uow:
        product = uow.conn.execute(select(T.products)).one()
        stock = uow.conn.execute(select(T.stock)).one()
    assert (product.name, product.prices) == ("Kit L (new)", {"ST1": "45.00"})
    assert (stock.source_id, stock.quantity) == ("SOU1", 4)


def test_json_lines_and_a_json_array_are_both_read(app: Postsales) -> None:
    a = example("order-create.json")
    b = example("order-create.json")
    b["id"], b["payload"]["order"]["id"] = "msg-b", "000000202"
    report = import_lines(app, [json.dumps([a, b])])
    assert report.applied == 2


def test_a_nul_byte_is_refused_and_kept_as_a_dead_letter(app: Postsales) -> None:
    """PostgreSQL text cannot store NUL; the dead letter keeps it escaped instead of failing."""
    report = import_lines(app, ['{"id": "m\x00x", "type": "x"}'])
    assert report.exit_code == 2
    with app.uow(read_only=True) as uow:
        (letter,) = list(uow.conn.execute(select(T.dead_letters)))
    assert "\\u0000" in letter.raw
