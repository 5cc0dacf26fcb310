"""SQLite under a held lock, and a read-only SQLite file, through every door (issue 17 item 10).

Another connection holds `BEGIN IMMEDIATE` (the write lock) while the test runs. Readers never
take that lock, so they answer at once; writers wait the busy timeout — 10 s by default, well
inside gunicorn's 30 s worker timeout (docs/deploy.md) — and then answer a clear 503 (web page,
API problem+json, both with `Retry-After`) or CLI exit 3 with one line, never a 500 or a
traceback. A read-only file answers 503 / exit 5 the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import BadInput
from postsales.core.persistence.database import BUSY_TIMEOUT_ENV, make_engine
from postsales.core.services.tokens import issue_token
from postsales.core.services.users import add_user
from tests.conftest import import_examples

ORDER = "000000101"
PASSWORD = "password-123"
POSTSALES = Path(sys.executable).parent / "postsales"
GUNICORN_TIMEOUT = 30.0  # gunicorn's default --timeout, which docs/deploy.md keeps


@pytest.fixture
def db_path(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated SQLite file holding the example order, shipped, and the users anna and ada."""
    path = tmp_path / "postsales.db"
    shutil.copy(sqlite_template, path)
    services = bootstrap(None, f"sqlite:///{path}")
    import_examples(services, "order-create.json", "shipment-shipped.json")
    add_user(services, "anna", ["agent"], PASSWORD)
    services.engine.dispose()
    return path


@pytest.fixture
def held_lock(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction, held for the whole test."""
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE orders SET status_reason = status_reason")
    yield other
    other.execute("ROLLBACK")
    other.close()


def _web(url: str) -> tuple[Postsales, Flask, str]:
    services = bootstrap(None, url)
    token = issue_token(services, "anna") if "mode=ro" not in url else ""
    web = create_app(services, secret_key="test-secret-key")
    web.config["TESTING"] = True
    return services, web, token


def _signed_in(web: Flask) -> FlaskClient:
    client = web.test_client()
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    form = {"username": "anna", "password": PASSWORD, "csrf_token": csrf}
    assert client.post("/login", data=form).status_code == 302
    return client


def _post_form(client: FlaskClient, url: str, data: dict[str, str]) -> object:
    with client.session_transaction() as sess:
        token = sess["csrf"]
    return client.post(url, data={**data, "csrf_token": token})


def _timed(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


# -- the busy timeout -----------------------------------------------------------------------


def _busy_ms(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("PRAGMA busy_timeout")).scalar_one())
    finally:
        engine.dispose()


def test_the_busy_timeout_is_10_s_and_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.delenv(BUSY_TIMEOUT_ENV, raising=False)
    assert _busy_ms(url) == 10_000 < GUNICORN_TIMEOUT * 1000
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "2.5")
    assert _busy_ms(url) == 2_500
    assert _busy_ms(url + "?timeout=4") == 4_000  # the URL's own wins
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "soon")
    with pytest.raises(BadInput, match=r"POSTSALES_SQLITE_BUSY_TIMEOUT='soon' is not a number"):
        make_engine(url)


# -- CLI ------------------------------------------------------------------------------------


def _cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(POSTSALES), "--db", url, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_orders_show_does_not_wait_for_a_held_lock(
    db_path: Path, held_lock: sqlite3.Connection
) -> None:
    """With the default 10 s busy timeout, a read that took the write lock would wait 10 s."""
    shown, seconds = _timed(_cli, f"sqlite:///{db_path}", "orders", "show", ORDER, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == ORDER
    assert seconds < 5, f"orders show took {seconds:.1f} s behind a held lock"


def test_cli_writer_behind_a_held_lock_exits_3_within_the_busy_timeout(
    db_path: Path, held_lock: sqlite3.Connection
) -> None:
    done, seconds = _timed(
        _cli, f"sqlite:///{db_path}", "act", ORDER, "comment", "--param", "text=hello",
        env={BUSY_TIMEOUT_ENV: "1"},
    )  # fmt: skip
    assert done.returncode == 3
    assert "is locked by another process" in done.stderr and "Traceback" not in done.stderr
    assert 1 <= seconds < 8


# -- API ------------------------------------------------------------------------------------


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return json.loads(response.get_data(as_text=True))


def test_api_reads_answer_and_writes_get_503_behind_a_held_lock(db_path: Path) -> None:
    services, web, token = _web(f"sqlite:///{db_path}?timeout=1")
    auth = {"Authorization": f"Bearer {token}"}
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        client = web.test_client()
        read, seconds = _timed(client.get, f"/api/v1/orders/{ORDER}", headers=auth)
        assert read.status_code == 200 and read.json["id"] == ORDER
        assert seconds < 3  # the token's use is recorded best effort, waiting 1 s at most
        write, seconds = _timed(
            client.post, f"/api/v1/orders/{ORDER}/actions/comment",
            json={"text": "hello"}, headers=auth,
        )  # fmt: skip
        body = _problem(write, 503)
        assert body["type"] == "urn:postsales:problem:unavailable"
        assert "is locked by another process" in body["detail"]
        assert str(db_path) not in body["detail"]  # no path of the server's for the client
        assert write.headers["Retry-After"]
        assert seconds < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The lock gone, the same request goes through.
    again = web.test_client().post(
        f"/api/v1/orders/{ORDER}/actions/comment", json={"text": "hello"}, headers=auth
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    services.engine.dispose()


def test_api_on_a_read_only_file_reads_and_refuses_writes_with_503(db_path: Path) -> None:
    writable = bootstrap(None, f"sqlite:///{db_path}")
    token = issue_token(writable, "anna")
    writable.engine.dispose()
    services, web, _ = _web(f"sqlite:///file:{db_path}?mode=ro&uri=true")
    auth = {"Authorization": f"Bearer {token}"}
    client = web.test_client()
    assert client.get(f"/api/v1/orders/{ORDER}", headers=auth).status_code == 200
    write = client.post(f"/api/v1/orders/{ORDER}/actions/comment", json={"text": "x"}, headers=auth)
    body = _problem(write, 503)
    assert "is read-only here" in body["detail"] and "Traceback" not in body["detail"]
    services.engine.dispose()


# -- web ------------------------------------------------------------------------------------


def test_web_pages_answer_and_forms_get_a_503_page_behind_a_held_lock(db_path: Path) -> None:
    services, web, _ = _web(f"sqlite:///{db_path}?timeout=1")
    client = _signed_in(web)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        page, seconds = _timed(client.get, f"/orders/{ORDER}")
        assert page.status_code == 200 and seconds < 3
        sent, seconds = _timed(
            _post_form, client, f"/orders/{ORDER}/actions/comment", {"text": "hello"}
        )
        assert sent.status_code == 503 and seconds < 5
        assert "is locked by another process" in sent.text and "Traceback" not in sent.text
        assert sent.headers["Retry-After"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    services.engine.dispose()


def test_web_on_a_read_only_file_shows_pages_and_a_503_for_forms(db_path: Path) -> None:
    writable = bootstrap(None, f"sqlite:///{db_path}")
    services, web, _ = _web(f"sqlite:///file:{db_path}?mode=ro&uri=true")
    # Signing in writes a session row: on a read-only file it is a 503 page, not a 500.
    client = web.test_client()
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    form = {"username": "anna", "password": PASSWORD, "csrf_token": csrf}
    refused = client.post("/login", data=form)
    assert refused.status_code == 503 and "is read-only here" in refused.text
    # A session made while the file was writable keeps working for pages.
    signed_in = _signed_in(create_app(writable, secret_key="test-secret-key"))
    with signed_in.session_transaction() as sess:
        cookie = dict(sess)
    client = web.test_client()
    with client.session_transaction() as sess:
        sess.update(cookie)
    assert client.get(f"/orders/{ORDER}").status_code == 200
    sent = _post_form(client, f"/orders/{ORDER}/actions/comment", {"text": "hello"})
    assert sent.status_code == 503 and "is read-only here" in sent.text
    writable.engine.dispose()
    services.engine.dispose()
