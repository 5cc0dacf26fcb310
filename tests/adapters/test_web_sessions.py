"""Sessions kept in the database (issue 17 item 4, issue 15 item 1): signing out ends the
session for every copy of its cookie and on every host; a password change ends all of a user's
sessions; the idle timeout counts requests to any host. "Hosts" are two web apps built by two
`bootstrap` calls on one database (two engines, two processes' worth of state)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.persistence import tables as T
from postsales.core.services.users import add_user, get_user, set_password
from tests.adapters.test_web import PASSWORD, Clock, make_web, post, sign_in
from tests.conftest import import_examples

COOKIE = "postsales_session"


@pytest.fixture
def hosts(app: Postsales) -> tuple[Flask, Flask]:
    """Two web apps on one database, as two hosts behind a load balancer, sharing a clock."""
    import_examples(app, "order-create.json")
    add_user(app, "anna", ["agent"], PASSWORD)
    add_user(app, "ben", ["agent"], PASSWORD)
    other = bootstrap(None, app.engine.url.render_as_string(hide_password=False))
    clock = Clock()
    app.clock = other.clock = clock
    yield make_web(app), make_web(other)
    other.engine.dispose()


def copy_cookie(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None
    target.set_cookie(COOKIE, cookie.value)


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/orders")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sessions(services: Postsales) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(T.web_sessions)).scalar_one())


def test_a_cookie_copied_before_sign_out_opens_nothing_after(hosts: tuple[Flask, Flask]) -> None:
    web, _ = hosts
    agent, thief = web.test_client(), web.test_client()
    sign_in(agent)
    copy_cookie(agent, thief)
    assert signed_in(thief)  # a copy works while the session lasts (it is a bearer secret)
    post(agent, "/logout")
    response = thief.get("/orders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Your session has ended" in thief.get(response.headers["Location"]).text
    assert "Sign in" in thief.get("/login").text
    assert not signed_in(agent)
    assert sessions(web.extensions["postsales"]) == 0


def test_two_hosts_agree_on_a_session(hosts: tuple[Flask, Flask]) -> None:
    a, b = hosts
    on_a, on_b = a.test_client(), b.test_client()
    sign_in(on_a)
    copy_cookie(on_a, on_b)  # the load balancer sends the next request to the other host
    assert signed_in(on_b)
    post(on_b, "/logout")  # signed out on B ...
    assert not signed_in(on_a)  # ... is signed out on A


def test_the_idle_timeout_counts_requests_to_any_host(hosts: tuple[Flask, Flask]) -> None:
    a, b = hosts
    clock = a.extensions["postsales"].clock
    on_a, on_b = a.test_client(), b.test_client()
    sign_in(on_a)
    copy_cookie(on_a, on_b)
    for _ in range(4):  # two hours of work, a page every 20 minutes, alternating hosts
        clock.advance(minutes=20)
        assert signed_in(on_b)
        clock.advance(minutes=20)
        assert signed_in(on_a)
    clock.advance(minutes=31)  # then half an hour away: over on both hosts
    assert not signed_in(on_b)
    assert not signed_in(on_a)


def test_the_last_request_is_written_at_most_once_a_minute(hosts: tuple[Flask, Flask]) -> None:
    a, _ = hosts
    services = a.extensions["postsales"]
    clock = services.clock
    client = a.test_client()
    sign_in(client)

    def seen() -> object:
        with services.engine.connect() as conn:
            return conn.execute(select(T.web_sessions.c.seen_at)).scalar_one()

    started = seen()
    clock.advance(seconds=30)
    assert signed_in(client) and seen() == started  # no write for a page within the minute
    clock.advance(seconds=31)
    assert signed_in(client) and seen() == clock.now


def test_a_password_change_ends_every_session_of_the_user(hosts: tuple[Flask, Flask]) -> None:
    a, b = hosts
    services = a.extensions["postsales"]
    anna_a, anna_b, ben = a.test_client(), b.test_client(), b.test_client()
    sign_in(anna_a)
    sign_in(anna_b)  # a second session, on the other host
    sign_in(ben, "ben")
    set_password(services, "anna", "a-new-password", actor=get_user(services, None))
    assert not signed_in(anna_a) and not signed_in(anna_b)
    assert signed_in(ben)  # other users keep theirs
    assert sign_in(anna_a).status_code == 401  # the old password is gone
    assert sign_in(anna_a, password="a-new-password").status_code == 302
    assert signed_in(anna_a)
    with services.engine.connect() as conn:
        row = conn.execute(
            select(T.audit_log.c.actor, T.audit_log.c.detail).where(
                T.audit_log.c.kind == "user.password_changed"
            )
        ).one()
    assert row.actor == "system" and row.detail == {"user": "anna", "sessions_ended": 2}


def test_a_cookie_signed_with_another_key_is_no_session(hosts: tuple[Flask, Flask]) -> None:
    """Every host must sign with the same POSTSALES_SECRET_KEY (docs/deploy.md)."""
    a, _ = hosts
    on_a = a.test_client()
    sign_in(on_a)
    other = make_web(a.extensions["postsales"])
    other.config["SECRET_KEY"] = "not-the-same-key"
    on_other = other.test_client()
    copy_cookie(on_a, on_other)
    assert not signed_in(on_other)
    assert signed_in(on_a)


def test_sign_in_again_ends_the_browsers_previous_session(hosts: tuple[Flask, Flask]) -> None:
    a, _ = hosts
    client, copy = a.test_client(), a.test_client()
    sign_in(client)
    copy_cookie(client, copy)
    sign_in(client)  # a new session (rotated id); the one before is over
    assert signed_in(client) and not signed_in(copy)
    assert sessions(a.extensions["postsales"]) == 1
