"""The web door of the search (S-3…S-5): grid sorting and filters, per-user columns, export
downloads and the work queue, through Flask's test client."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from postsales.adapters.demo import build_demo
from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.search import export as E
from postsales.core.services.users import add_user
from tests.adapters.test_web import PASSWORD, make_web, post, sign_in
from tests.conftest import import_examples

ORDER = "000000101"


@pytest.fixture
def client(sqlite_app: Postsales) -> FlaskClient:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    add_user(sqlite_app, "sam", ["supervisor"], PASSWORD)
    web: Flask = make_web(sqlite_app)
    return web.test_client()


def test_more_filters_sorting_and_bad_values(client: FlaskClient) -> None:
    sign_in(client)
    html = client.get("/orders?sort=-grand_total").text
    assert ORDER in html and "▼" in html  # sorted on grand total, descending
    assert client.get("/orders?customer_type=registered").status_code == 302  # one: opened
    assert client.get("/orders?tracking_number=1Z999AA10123456784").status_code == 302
    assert client.get("/orders?billing_address=honey%20bluff").status_code == 302
    bad = client.get("/orders?from_date=yesterday")
    # Named by its label in the grid (the field itself is marked: test_web_pages.py).
    assert bad.status_code == 400 and "Created from: &#39;yesterday&#39; is not a date" in bad.text
    short = client.get("/orders?name=ab%25")  # a partial pattern needs three in a row
    assert short.status_code == 400 and "at least 3 characters" in short.text
    # Without %, a short word matches whole words (issue 12 item 8); accents and case are
    # folded, SKUs compare in any case (item 5): each finds the one order, and opens it.
    assert client.get("/orders?name=ab").status_code == 200
    for query in ("last_name=COSTELLÖ", "name=veronica%20costello", "sku=mj01-m-red"):
        assert client.get(f"/orders?{query}").status_code == 302, query
    unknown = client.get("/orders?sales_channel=ST9")
    assert unknown.status_code == 400 and "unknown store &#39;ST9&#39;" in unknown.text


def test_columns_are_remembered_per_user(client: FlaskClient) -> None:
    sign_in(client)
    page = client.get("/orders/columns")
    assert page.status_code == 200 and 'value="email"' in page.text
    done = post(client, "/orders/columns", {"columns": ["id", "email"], "back": "/orders"})
    assert done.status_code == 302 and done.headers["Location"] == "/orders"
    html = client.get("/orders").text
    assert "veronica.costello@example.com" in html and "Purchase point" not in html
    post(client, "/orders/columns", {"reset": "1"})
    assert "Purchase point" in client.get("/orders").text


def test_columns_belong_to_the_user_not_the_browser(client: FlaskClient) -> None:
    sign_in(client)
    post(client, "/orders/columns", {"columns": ["id", "email"], "back": "/orders"})
    assert "Purchase point" not in client.get("/orders").text
    post(client, "/logout")
    sign_in(client, "sam")  # same browser, another agent: their own (default) columns
    html = client.get("/orders").text
    assert "Purchase point" in html
    assert f'<a class="order-id" href="/orders/{ORDER}">{ORDER}</a>' in html
    post(client, "/logout")
    sign_in(client)
    assert "Purchase point" not in client.get("/orders").text


def test_export_needs_the_permission_and_downloads(client: FlaskClient) -> None:
    sign_in(client)  # an agent: no orders.export
    assert client.get("/orders/export?format=csv").status_code == 403
    client.get("/logout")
    post(client, "/logout")
    sign_in(client, "sam")
    response = client.get("/orders/export?format=csv&status=SHIPPED")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "ID" and [r[0] for r in rows[1:]] == [ORDER]
    xml = client.get("/orders/export?format=xml")
    assert xml.status_code == 200 and b"<Workbook" in xml.data
    assert client.get("/orders/export?format=pdf").status_code in (400, 422)


def _exports(app: Postsales) -> list[dict[str, Any]]:
    """The export records of the audit log, oldest first."""
    a = T.audit_log.c
    with app.uow(read_only=True) as uow:
        query = select(a.detail).where(a.kind == "orders.export").order_by(a.id)
        return [dict(row.detail) for row in uow.conn.execute(query)]


def test_export_is_read_as_it_is_sent_in_bounded_chunks(
    client: FlaskClient, sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_demo(sqlite_app, 30)
    monkeypatch.setattr(E, "BATCH", 4)  # rows per chunk
    fetched: list[int] = []  # rows handed out by the database read, batch by batch
    real = E.stream_chunks

    def spy(*args: Any) -> Iterator[Any]:
        for rows in real(*args):
            fetched.append(len(rows))
            yield rows

    monkeypatch.setattr(E, "stream_chunks", spy)
    sign_in(client, "sam")
    response = client.get("/orders/export?format=csv", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "Content-Length" not in response.headers  # sent as it is read, not spooled
    body = iter(response.response)
    assert next(body).decode("utf-8-sig").startswith('"ID",') and fetched == []
    rows = []
    for n, chunk in enumerate(body, start=1):
        assert len(fetched) == n  # one database batch per chunk sent, never read ahead
        rows += list(csv.reader(io.StringIO(chunk.decode())))
    response.close()
    total = len(rows)
    assert total > 30 and max(fetched) == 4  # every order, at most BATCH rows at a time
    assert ORDER in {row[0] for row in rows}
    assert [(e["rows"], e.get("aborted")) for e in _exports(sqlite_app)] == [(total, None)]


def test_export_cut_short_is_recorded_once_as_aborted(
    client: FlaskClient, sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_demo(sqlite_app, 30)
    monkeypatch.setattr(E, "BATCH", 4)
    sign_in(client, "sam")
    response = client.get("/orders/export?format=xml", buffered=False)
    body = iter(response.response)
    next(body), next(body)  # the header and four orders, then the client goes away
    response.close()
    [record] = _exports(sqlite_app)
    # Handed to the client: 4 rows, and the audit says exactly that (counted before sending).
    assert record["aborted"] is True and record["format"] == "xml" and record["rows"] == 4
    head = client.head("/orders/export?format=csv")  # nothing read: nothing exported
    assert head.status_code == 200 and head.data == b""
    head.close()
    assert len(_exports(sqlite_app)) == 1


def test_refused_exports_are_error_pages_not_downloads(
    client: FlaskClient, sqlite_app: Postsales
) -> None:
    sign_in(client, "sam")
    for url, status, text in (
        ("/orders/export?format=csv&from_date=yesterday", 400, "is not a date"),
        ("/orders/export?format=pdf", 400, "format: must be one of"),
        ("/orders/export?format=csv&name=%25ab", 400, "at least 3 characters"),
        ("/orders/export?format=csv&market=XX", 400, "unknown market"),
    ):
        bad = client.get(url)
        assert bad.status_code == status and bad.mimetype == "text/html", url
        assert "Content-Disposition" not in bad.headers and text in bad.text, url
    assert _exports(sqlite_app) == []


def test_work_queue_page(client: FlaskClient) -> None:
    sign_in(client)
    assert "Nothing waits for an agent." in client.get("/queue").text
