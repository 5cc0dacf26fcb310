"""The web door of the search (S-3…S-5): grid sorting and filters, per-user columns, export
downloads and the work queue, through Flask's test client."""

from __future__ import annotations

import csv
import io
import threading
import time
from typing import IO

import pytest
from flask import Flask
from flask.testing import FlaskClient

from postsales.adapters.web import streaming
from postsales.core.bootstrap import Postsales
from postsales.core.errors import BadInput
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


def test_export_is_streamed_and_refusals_are_pages(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny chunks and a one-chunk pipe: one order's CSV is then more than the pipe holds.
    monkeypatch.setattr(streaming, "CHUNK", 16)
    monkeypatch.setattr(streaming, "DEPTH", 1)
    sign_in(client, "sam")
    response = client.get("/orders/export?format=csv", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Length" not in response.headers  # sent as it is written, not spooled
    assert ORDER in b"".join(response.response).decode("utf-8-sig")
    response.close()
    head = client.head("/orders/export?format=csv")
    assert head.status_code == 200 and head.data == b""
    head.close()  # the server closes an unread body: the export thread must end
    deadline = time.monotonic() + 5
    while any(t.name == "export-stream" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the export thread outlived its response"
        time.sleep(0.05)
    bad = client.get("/orders/export?format=csv&from_date=yesterday")
    assert bad.status_code == 400 and "attachment" not in bad.headers.get("Content-Disposition", "")
    assert "is not a date" in bad.text and bad.mimetype == "text/html"


def test_stream_holds_a_bounded_number_of_chunks() -> None:
    written: list[int] = []

    def produce(out: IO[bytes]) -> None:
        for n in range(1000):  # 64 MB if it were all held at once
            out.write(b"x" * streaming.CHUNK)
            written.append(n)

    chunks = streaming.stream(produce)
    first = next(chunks)
    time.sleep(0.3)  # the producer runs ahead until the pipe is full, then waits
    assert len(first) == streaming.CHUNK and len(written) <= streaming.DEPTH + 3
    assert sum(map(len, chunks)) == 999 * streaming.CHUNK  # nothing lost on the way


def test_stream_raises_early_errors_and_stops_when_closed() -> None:
    def refuse(out: IO[bytes]) -> None:
        raise BadInput("format: no")

    with pytest.raises(BadInput):
        streaming.stream(refuse)

    stopped = threading.Event()

    def endless(out: IO[bytes]) -> None:
        try:
            while True:
                out.write(b"y" * streaming.CHUNK)
        finally:
            stopped.set()

    chunks = streaming.stream(endless)
    next(chunks)
    chunks.close()  # what the server does when the client goes away
    assert stopped.wait(5)
    stopped.clear()
    streaming.stream(endless).close()  # closed unread (a HEAD request, a client gone at once)
    assert stopped.wait(5)

    def late(out: IO[bytes]) -> None:
        out.write(b"z" * streaming.CHUNK * 2)
        raise RuntimeError("the database went away")

    broken = streaming.stream(late)
    with pytest.raises(RuntimeError):
        list(broken)  # after the first byte an error ends the download, never a short file


def test_work_queue_page(client: FlaskClient) -> None:
    sign_in(client)
    assert "Nothing waits for an agent." in client.get("/queue").text
