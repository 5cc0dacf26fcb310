"""The web door of the search (S-3…S-5): grid sorting and filters, per-user columns, export
downloads and the work queue, through Flask's test client."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales
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
    assert bad.status_code == 400 and "from_date: &#39;yesterday&#39; is not a date" in bad.text
    short = client.get("/orders?name=ab")
    assert short.status_code == 400 and "at least 3 characters" in short.text


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


def test_work_queue_page(client: FlaskClient) -> None:
    sign_in(client)
    assert "Nothing waits for an agent." in client.get("/queue").text
