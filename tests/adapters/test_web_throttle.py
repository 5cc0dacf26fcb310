"""Sign-in throttling that slows the attacker, not the agent (issue 17 item 8, issue 15 item 1):
failures are counted in the database, shared by every app instance and process; per-address
limits trust only a configured proxy; per-user delays grow, and never stop the agent signing
in from an address that has not failed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import ConfigError
from postsales.core.services.users import add_user
from tests.adapters.test_web import PASSWORD, Clock, audit_rows, make_web
from tests.conftest import import_examples

ATTACKER = "203.0.113.66"
AGENT_DESK = "198.51.100.5"


def attempt(
    client: FlaskClient, address: str, password: str, name: str = "anna", **headers: str
) -> Any:
    client.get("/login", environ_base={"REMOTE_ADDR": address}, headers=headers)
    with client.session_transaction() as sess:
        token = sess["csrf"]
    form = {"username": name, "password": password, "csrf_token": token}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address}, headers=headers)


@pytest.fixture
def web(sqlite_app: Postsales) -> Flask:
    import_examples(sqlite_app, "order-create.json")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    sqlite_app.clock = Clock()
    return make_web(sqlite_app)


def test_a_known_agent_cannot_be_locked_out(web: Flask) -> None:
    clock = web.extensions["postsales"].clock
    attacker, agent = web.test_client(), web.test_client()
    started, checked = clock.now, 0
    while clock.now - started < timedelta(minutes=35):  # guessing as fast as allowed
        response = attempt(attacker, ATTACKER, "guess-123")
        assert response.status_code in (401, 429)
        checked += response.status_code == 401
        clock.advance(seconds=int(response.headers.get("Retry-After", 0)))
    # 3 free guesses, 8 more after waits of 2, 4, … 256 s (8.5 minutes), then one per
    # 5 minutes (5 in the rest of the 35 minutes): slowed ...
    assert checked == 3 + 8 + 5
    attempt(attacker, ATTACKER, "guess-123")
    response = attempt(agent, AGENT_DESK, PASSWORD)
    assert response.status_code == 302  # ... and the agent at her desk signs in at once
    assert agent.get("/orders").status_code == 200
    assert attempt(attacker, ATTACKER, PASSWORD).status_code == 429  # the guesser still waits


def test_per_user_delays_grow_then_stop_growing(web: Flask) -> None:
    clock = web.extensions["postsales"].clock
    client = web.test_client()
    for _ in range(3):
        assert attempt(client, ATTACKER, "guess-123").status_code == 401  # three free tries
    waits = []
    for _ in range(12):
        response = attempt(client, ATTACKER, "guess-123")
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
        assert attempt(client, ATTACKER, "guess-123").status_code == 401  # waited: checked
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300]
    response = attempt(client, ATTACKER, "guess-123")
    assert "Try again in 5 minutes." in response.text
    throttled = [r for r in audit_rows(web.extensions["postsales"], "auth.sign_in_failed")]
    assert {r.detail["reason"] for r in throttled} == {"invalid", "throttled"}
    assert {r.detail["source"] for r in throttled} == {ATTACKER}


def test_waiting_attempts_are_not_failures(web: Flask) -> None:
    """A refused (waiting) attempt is not counted: the agent who waits out a delay and then
    types the right password is in, and the delay does not grow while she waits."""
    clock = web.extensions["postsales"].clock
    client = web.test_client()
    for _ in range(3):
        attempt(client, AGENT_DESK, "typo-typo")
    for _ in range(5):
        assert attempt(client, AGENT_DESK, PASSWORD).status_code == 429
    clock.advance(seconds=2)
    assert attempt(client, AGENT_DESK, PASSWORD).status_code == 302
    for _ in range(3):  # her own failures from her desk were cleared by the sign-in
        assert attempt(client, AGENT_DESK, "typo-typo").status_code == 401


def test_one_address_is_limited_across_names(web: Flask) -> None:
    clock = web.extensions["postsales"].clock
    client, other = web.test_client(), web.test_client()
    for n in range(20):  # twenty names, one try each: no user delay, only the address counts
        assert attempt(client, ATTACKER, "guess-123", name=f"user{n}").status_code == 401
        clock.advance(seconds=10)
    blocked = attempt(client, ATTACKER, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 15 * 60 - 200  # until the first ages out
    assert attempt(other, AGENT_DESK, PASSWORD).status_code == 302
    clock.advance(seconds=15 * 60 - 200)
    assert attempt(client, ATTACKER, "guess-123", name="user0").status_code == 401


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(web: Flask) -> None:
    """Without POSTSALES_WEB_TRUSTED_PROXIES a client cannot pick its address: rotating
    X-Forwarded-For values does not escape the limits of its real one."""
    client = web.test_client()
    for n in range(3):
        forged = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert attempt(client, ATTACKER, "guess-123", **forged).status_code == 401
    forged = {"X-Forwarded-For": "192.0.2.99"}
    assert attempt(client, ATTACKER, "guess-123", **forged).status_code == 429
    sources = {
        r.detail["source"] for r in audit_rows(web.extensions["postsales"], "auth.sign_in_failed")
    }
    assert sources == {ATTACKER}


def test_behind_a_trusted_proxy_each_client_has_its_own_address(
    sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    sqlite_app.clock = Clock()
    monkeypatch.setenv("POSTSALES_WEB_TRUSTED_PROXIES", "1")  # one nginx in front
    proxied = make_web(sqlite_app)
    proxy = "10.0.0.1"  # every request comes from the proxy; the client is in the header
    attacker, agent = proxied.test_client(), proxied.test_client()
    for _ in range(3):
        response = attempt(attacker, proxy, "guess-123", **{"X-Forwarded-For": ATTACKER})
        assert response.status_code == 401
    response = attempt(attacker, proxy, PASSWORD, **{"X-Forwarded-For": ATTACKER})
    assert response.status_code == 429
    response = attempt(agent, proxy, PASSWORD, **{"X-Forwarded-For": AGENT_DESK})
    assert response.status_code == 302  # another client of the same proxy is not slowed
    sources = {r.detail["source"] for r in audit_rows(sqlite_app, "auth.sign_in_failed")}
    assert sources == {ATTACKER}
    # A client's own X-Forwarded-For before the proxy's entry is not believed: one proxy, one hop.
    spoofed = {"X-Forwarded-For": f"192.0.2.1, {ATTACKER}"}
    assert attempt(attacker, proxy, PASSWORD, **spoofed).status_code == 429


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTED_PROXIES", "two"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "1.5"),
        ("TRUSTED_PROXIES", "true"),
        ("SIGN_IN_ADDRESS_LIMIT", "0"),
        ("SIGN_IN_ADDRESS_LIMIT", "many"),
    ],
)
def test_a_bad_web_setting_stops_start_up(
    sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"POSTSALES_WEB_{name}", value)
    with pytest.raises(ConfigError, match=f"POSTSALES_WEB_{name}: expected a whole number"):
        create_app(sqlite_app, secret_key="test-secret-key")


def test_the_address_limit_can_be_raised_for_a_large_office(
    sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_app.clock = Clock()
    monkeypatch.setenv("POSTSALES_WEB_SIGN_IN_ADDRESS_LIMIT", "25")
    client = make_web(sqlite_app).test_client()
    for n in range(25):
        assert attempt(client, ATTACKER, "guess-123", name=f"user{n}").status_code == 401
    assert attempt(client, ATTACKER, "guess-123", name="user99").status_code == 429


def test_two_app_instances_count_failures_together(app: Postsales) -> None:
    """Two app instances on one database (two engines, as two hosts): the failures made on
    one slow the next attempt on the other, on SQLite and PostgreSQL."""
    add_user(app, "anna", ["agent"], PASSWORD)
    other = bootstrap(None, app.engine.url.render_as_string(hide_password=False))
    app.clock = other.clock = Clock()
    a, b = make_web(app).test_client(), make_web(other).test_client()
    assert attempt(a, ATTACKER, "guess-123").status_code == 401
    assert attempt(b, ATTACKER, "guess-123").status_code == 401
    assert attempt(a, ATTACKER, "guess-123").status_code == 401
    assert attempt(b, ATTACKER, PASSWORD).status_code == 429
    assert attempt(a, AGENT_DESK, PASSWORD).status_code == 302
    other.engine.dispose()


# -- separate processes, as gunicorn workers or hosts ----------------------------------------

SERVER = """
import sys
from datetime import timedelta
from werkzeug.serving import make_server
from postsales.adapters.web import create_app
from postsales.core.services.sign_in import ThrottlePolicy

policy = ThrottlePolicy(first_delay=timedelta(minutes=1))  # no wait ends during the test
web = create_app(secret_key="shared-secret-key-of-every-host", sign_in_policy=policy)
make_server("127.0.0.1", int(sys.argv[1]), web).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def processes(sqlite_app: Postsales, tmp_path: Path) -> Iterator[list[str]]:
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = {
        **os.environ,
        "POSTSALES_DATABASE_URL": sqlite_app.engine.url.render_as_string(hide_password=False),
        "POSTSALES_WEB_TRUSTED_PROXIES": "1",
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen([sys.executable, str(script), str(port)], env=env, cwd=tmp_path)
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            for _ in range(300):
                try:
                    requests.get(f"{url}/login", timeout=5)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def http_attempt(url: str, address: str, password: str) -> int:
    with requests.Session() as browser:
        headers = {"X-Forwarded-For": address}
        page = browser.get(f"{url}/login", headers=headers, timeout=30).text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"username": "anna", "password": password, "csrf_token": token}
        response = browser.post(
            f"{url}/login", data=form, headers=headers, allow_redirects=False, timeout=30
        )
        return response.status_code


def test_separate_processes_share_the_count(processes: list[str]) -> None:
    """Two server processes on one database, behind one (trusted) proxy: what one counted,
    the other enforces; the agent at another address is not affected."""
    one, two = processes
    assert [http_attempt(url, ATTACKER, "guess-123") for url in (one, two, one)] == [401] * 3
    assert http_attempt(two, ATTACKER, PASSWORD) == 429
    assert http_attempt(one, ATTACKER, PASSWORD) == 429
    assert http_attempt(two, AGENT_DESK, PASSWORD) == 302
