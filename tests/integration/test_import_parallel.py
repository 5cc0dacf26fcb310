"""Bulk import with worker processes (issue 2 items 8 and 13): whatever the workers read, the
database, the report and the dead letters are those of the serial import, in stream order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from postsales.adapters.cli.main import cli
from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.persistence import writes
from postsales.core.services.messages import parallel_import
from postsales.core.services.messages.inbound import Importer, ImportReport
from postsales.core.services.search import search_orders
from postsales.core.services.users import get_user
from tests.conftest import _db_for, _make_app, example


def order_message(n: int, last_name: str = "Taylor") -> dict[str, Any]:
    message = example("order-create.json")
    message["id"] = f"bulk-{n}"
    order = message["payload"]["order"]
    order["id"] = f"B{n:06d}"
    order["customer"]["last_name"] = f"{last_name}{n}"
    order["customer"]["email"] = f"c{n}@example.com"
    order["addresses"][0]["last_name"] = f"{last_name}{n}"
    return message


def mixed_stream() -> list[str]:
    """Order creates with every kind of line a bulk file may hold between them."""
    lines = [json.dumps(order_message(n)) for n in range(1, 41)]
    bad_amount = order_message(100)
    bad_amount["payload"]["order"]["order_lines"][0]["amount"]["gross_amount"] = "lots"
    unknown_channel = order_message(101)
    unknown_channel["payload"]["order"]["sales_channel_id"] = "XX9"
    stock = {
        "id": "stock-1",
        "type": "inventory.source_item.update",
        "created_at": "2026-11-01T00:00:00+00:00",
        "payload": {"source_id": "SOU1", "sku": "MJ01-L-RED", "quantity": 4},
    }
    lines[3:3] = ["", json.dumps(bad_amount)]
    lines[9:9] = ["{not json}", lines[1]]  # a bad line, and a redelivery of order 2
    lines[15:15] = [json.dumps(unknown_channel), json.dumps(stock)]
    lines[30:30] = [json.dumps(order_message(20)).replace("bulk-20", "other-id")]  # same order
    return [line + "\n" for line in lines]


def snapshot(app: Postsales, report: ImportReport) -> dict[str, Any]:
    """What a user sees of an import: the report, the orders in the order they were stored,
    their lines and history, the inbound records, stock and the dead letters."""
    with app.uow(read_only=True) as uow:
        c = uow.conn
        orders = c.execute(
            select(T.orders.c.seq, T.orders.c.id, T.orders.c.name_norm, T.orders.c.status).order_by(
                T.orders.c.seq
            )
        ).all()
        by_seq = {o.seq: o.id for o in orders}
        lines = sorted(
            (by_seq[r.order_seq], r.line_number, r.sku, r.gross_minor)
            for r in c.execute(select(T.order_lines))
        )
        history = sorted((by_seq[r.order_seq], r.kind) for r in c.execute(select(T.history)))
        inbound = sorted(
            (r.message_id, r.type, r.order_id) for r in c.execute(select(T.inbound_messages))
        )
        stock = c.execute(select(T.stock.c.source_id, T.stock.c.quantity)).all()
        letters = [
            (r.message_id, r.reason)
            for r in c.execute(select(T.dead_letters).order_by(T.dead_letters.c.id))
        ]
    return {
        "report": (
            report.applied,
            report.duplicates,
            [(r.line, r.message_id, r.reason) for r in report.refused],
        ),
        "orders": [(o.id, o.name_norm, o.status) for o in orders],
        "lines": lines,
        "history": history,
        "inbound": inbound,
        "stock": stock,
        "dead_letters": letters,
    }


@pytest.fixture
def twin_apps(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], Postsales]:
    """A second fresh database of the same kind, made after the first one's snapshot (the
    PostgreSQL schema is one per test: it is emptied again)."""

    def second() -> Postsales:
        kind = "postgres" if app.engine.dialect.name == "postgresql" else "sqlite"
        app.engine.dispose()
        other = _make_app(_db_for(request, tmp_path / "second", kind))
        request.addfinalizer(other.engine.dispose)
        return other

    (tmp_path / "second").mkdir()
    return second


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_store_what_the_serial_import_stores(
    app: Postsales,
    twin_apps: Callable[[], Postsales],
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    monkeypatch.setattr(parallel_import, "CHUNK_LINES", 7)  # many chunks in flight
    stream = mixed_stream()
    serial = snapshot(app, Importer(app, batch_size=5).run(iter(stream)))
    other = twin_apps()
    parallel = snapshot(other, Importer(other, batch_size=5, workers=workers).run(iter(stream)))
    assert parallel == serial
    applied, duplicates, refused = parallel["report"]
    assert (applied, duplicates) == (41, 1)  # 40 orders and the stock update; order 2 again
    assert [line for line, _id, _reason in refused] == [5, 10, 16, 31]
    assert "already exists" in refused[-1][2]
    assert [o[0] for o in parallel["orders"]] == [f"B{n:06d}" for n in range(1, 41)]


def test_a_pretty_printed_document_midway_is_read_with_the_rest(
    app: Postsales, twin_apps: Callable[[], Postsales], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel_import, "CHUNK_LINES", 5)
    head = [json.dumps(order_message(n)) + "\n" for n in range(1, 23)]
    pretty = json.dumps(order_message(500), indent=2).splitlines(keepends=True)
    tail = [json.dumps(order_message(n)) + "\n" for n in range(23, 30)] + ["{broken\n"]
    stream = head + pretty + tail
    serial = snapshot(app, Importer(app, batch_size=4).run(iter(stream)))
    other = twin_apps()
    parallel = snapshot(other, Importer(other, batch_size=4, workers=1).run(iter(stream)))
    assert parallel == serial
    assert parallel["report"][0] == 30
    assert parallel["report"][2][0][0] == len(stream)  # the broken last line, numbered right
    assert "B000500" in [o[0] for o in parallel["orders"]]


@pytest.mark.parametrize("layout", ["pretty", "array"])
def test_workers_read_pretty_printed_files_and_arrays(
    app: Postsales,
    twin_apps: Callable[[], Postsales],
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
) -> None:
    """Any layout is cut into messages before the workers read them (issue 18 item 2): the
    workers store what the serial import stores, refusals numbered by their first line."""
    monkeypatch.setattr(parallel_import, "CHUNK_LINES", 6)
    docs: list[Any] = [json.loads(line) for line in mixed_stream() if line[:2] == '{"']
    docs[7] = {"id": "not-an-envelope"}
    if layout == "pretty":
        stream = [ln for d in docs for ln in (json.dumps(d, indent=2) + "\n").splitlines(True)]
    else:
        stream = (json.dumps(docs, indent=2) + "\n").splitlines(True)
    serial = snapshot(app, Importer(app, batch_size=4).run(iter(stream)))
    other = twin_apps()
    parallel = snapshot(other, Importer(other, batch_size=4, workers=2).run(iter(stream)))
    assert parallel == serial
    refused = parallel["report"][2]
    assert [(message_id, reason[:20]) for _line, message_id, reason in refused] == [
        ("bulk-100", "payload.order.order_"),
        (None, "type: missing requir"),
        ("bulk-101", "payload.order.sales_"),
        ("other-id", "payload.order.id: or"),
    ]
    firsts = {n for n, line in enumerate(stream, start=1) if line.strip() == "{"}
    assert {line for line, _id, _reason in refused} <= firsts
    assert len(parallel["orders"]) > 30


def test_orders_imported_many_rows_per_statement_are_searchable(
    app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite multi-row INSERTs cut at the statement's variable limit; every order lands,
    and the search indexes the triggers feed (names, addresses, billing words) hold them all."""
    monkeypatch.setattr(writes, "_variable_limit", lambda driver: 100)
    names = ["Hayes", "Okafor", "Lindqvist"]
    messages = [json.dumps(order_message(n, names[n % 3])) for n in range(1, 26)]
    report = Importer(app, batch_size=10).run(messages)
    assert (report.applied, report.refused) == (25, [])
    admin = get_user(app, None)
    found = search_orders(app, admin, {"name": "%kafo"}, per_page=100)
    assert sorted(r["id"] for r in found.orders) == [
        f"B{n:06d}" for n in range(1, 26) if n % 3 == 1
    ]
    billing = search_orders(app, admin, {"billing_address": "Lindqvist8"}, per_page=100)
    assert [r["id"] for r in billing.orders] == ["B000008"]
    street = search_orders(app, admin, {"shipping_address": "%oney blu"}, per_page=100)
    assert street.total == 25


def test_cli_import_takes_a_worker_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel_import, "CHUNK_LINES", 4)
    db = f"sqlite:///{tmp_path / 'p.db'}"
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(order_message(n)) + "\n" for n in range(1, 13)))
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init"]).exit_code == 0
    done = runner.invoke(cli, ["--db", db, "import", "--workers", "1", str(path)])
    assert done.exit_code == 0, done.output
    assert "12 applied, 0 duplicates, 0 refused" in done.output
    bad = runner.invoke(cli, ["--db", db, "import", "--workers", "-1", str(path)])
    assert bad.exit_code == 2 and "--workers" in bad.output
