"""API tokens an admin controls (issue 17 item 7): tied to the user's id, named, expiring,
scoped, listed and revoked, their use in the audit log; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import BadInput, Forbidden, NotFound, Refused
from postsales.core.persistence import tables as T
from postsales.core.services import tokens as tk
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_web import Clock
from tests.conftest import example_path, import_examples

ORDER = "000000101"


@pytest.fixture
def services(app: Postsales) -> Postsales:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    add_user(app, "anna", ["supervisor"], None)
    add_user(app, "ada", ["admin"], None)
    app.clock = Clock()
    return app


def client(services: Postsales) -> FlaskClient:
    web = create_app(services, secret_key="test-secret-key")
    web.config["TESTING"] = True
    return web.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def system(services: Postsales):  # type: ignore[no-untyped-def]
    return get_user(services, None)


def audit(services: Postsales, kind: str) -> list:
    a = T.audit_log.c
    with services.engine.connect() as conn:
        return list(conn.execute(select(T.audit_log).where(a.kind == kind).order_by(a.id)))


def test_a_re_created_user_does_not_get_the_old_tokens(services: Postsales) -> None:
    token = tk.issue_token(services, "anna")
    api = client(services)
    assert api.get(f"/api/v1/orders/{ORDER}", headers=bearer(token)).status_code == 200
    old_id = get_user(services, "anna").id
    with services.engine.begin() as conn:  # the user is removed (her tokens go with her) ...
        conn.execute(delete(T.users).where(T.users.c.name == "anna"))
    add_user(services, "anna", ["admin"], None)  # ... and someone new gets the name, with more
    assert get_user(services, "anna").id != old_id
    assert api.get(f"/api/v1/orders/{ORDER}", headers=bearer(token)).status_code == 401
    assert tk.list_tokens(services, "anna", actor=system(services)) == []


def test_a_token_expires(services: Postsales) -> None:
    now = services.now()
    made = tk.create_token(
        services,
        "anna",
        actor=system(services),
        label="night job",
        expires_at=now + timedelta(hours=1),
    )
    api = client(services)
    assert api.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token)).status_code == 200
    services.clock.advance(minutes=61)
    response = api.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token))
    assert response.status_code == 401 and "not valid" in response.get_json()["detail"]
    (listed,) = tk.list_tokens(services, "anna", actor=system(services))
    assert listed["status"] == "expired" and listed["name"] == "night job"


def test_a_read_only_token_reads_and_does_nothing_else(services: Postsales) -> None:
    made = tk.create_token(services, "anna", actor=system(services), label="bi", scope=["read"])
    api, auth = client(services), bearer(made.token)
    assert api.get(f"/api/v1/orders/{ORDER}", headers=auth).status_code == 200
    assert api.get("/api/v1/orders", headers=auth).status_code == 200
    assert api.get("/api/v1/outbox", headers=auth).status_code == 200
    url = f"/api/v1/orders/{ORDER}/actions/comment"
    refused = api.post(url, json={"text": "from a read-only token"}, headers=auth)
    assert refused.status_code == 403 and "order.comment" in refused.get_json()["detail"]
    message = example_path("order-create.json").read_text()
    assert api.post("/api/v1/messages", data=message, headers=auth).status_code == 403
    actions = api.get(f"/api/v1/orders/{ORDER}/actions", headers=auth).get_json()
    assert not any(a["available"] for a in actions)
    full = tk.issue_token(services, "anna")  # the same user's full token still comments
    assert api.post(url, json={"text": "hi"}, headers=bearer(full)).status_code == 200


def test_a_token_scoped_to_some_permissions(services: Postsales) -> None:
    made = tk.create_token(
        services, "anna", actor=system(services), scope=["orders.view,order.comment"]
    )
    assert made.scope == ("order.comment", "orders.view")
    api, auth = client(services), bearer(made.token)
    comment = api.post(f"/api/v1/orders/{ORDER}/actions/comment", json={"text": "ok"}, headers=auth)
    assert comment.status_code == 200
    body = {"lines": [2], "reason": "Damaged", "comment": "torn"}
    returned = api.post(f"/api/v1/orders/{ORDER}/actions/return", json=body, headers=auth)
    assert returned.status_code == 403  # anna may, her token may not
    assert "return.create" in returned.get_json()["detail"]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (["order.teleport"], "unknown permission 'order.teleport'"),
        (["users.manage"], "anna does not have users.manage"),
    ],
)
def test_a_scope_names_only_permissions_the_user_holds(
    services: Postsales, scope: list[str], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        tk.create_token(services, "anna", actor=system(services), scope=scope)
    assert tk.list_tokens(services, "anna", actor=system(services)) == []


def test_revoking_stops_a_token_on_every_host(services: Postsales) -> None:
    made = tk.create_token(services, "anna", actor=system(services), label="ci")
    other = bootstrap(None, services.engine.url.render_as_string(hide_password=False))
    other.clock = services.clock
    a, b = client(services), client(other)
    assert b.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token)).status_code == 200
    tk.revoke_token(services, "anna", made.id, actor=get_user(services, "ada"))
    assert a.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token)).status_code == 401
    assert b.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token)).status_code == 401
    (listed,) = tk.list_tokens(services, "anna", actor=system(services))
    assert listed["status"] == "revoked" and listed["revoked_by"] == "ada"
    with pytest.raises(Refused, match="already revoked"):
        tk.revoke_token(services, "anna", made.id, actor=system(services))
    with pytest.raises(NotFound):
        tk.revoke_token(services, "ada", made.id, actor=system(services))  # not ada's token
    (revoked,) = audit(services, tk.TOKEN_REVOKED)
    assert revoked.actor == "ada" and revoked.detail == {
        "user": "anna",
        "token_id": made.id,
        "token_name": "ci",
    }
    other.engine.dispose()


def test_only_a_user_manager_controls_tokens(services: Postsales) -> None:
    anna = get_user(services, "anna")
    with pytest.raises(Forbidden, match=r"users\.manage"):
        tk.create_token(services, "anna", actor=anna)
    with pytest.raises(Forbidden):
        tk.list_tokens(services, "ada", actor=anna)
    made = tk.create_token(services, "anna", actor=get_user(services, "ada"), label="x")
    with pytest.raises(Forbidden):
        tk.revoke_token(services, "anna", made.id, actor=anna)
    (issued,) = audit(services, tk.TOKEN_ISSUED)
    assert issued.actor == "ada" and issued.detail["user"] == "anna"
    assert issued.detail["token_name"] == "x" and made.token not in str(issued.detail)


def test_use_is_audited_at_most_once_a_minute_per_token(services: Postsales) -> None:
    made = tk.create_token(services, "anna", actor=system(services), label="sync")
    api = client(services)
    for _ in range(5):
        api.get(f"/api/v1/orders/{ORDER}", headers=bearer(made.token))
    (first,) = audit(services, tk.TOKEN_USED)
    assert first.actor == "anna"
    assert first.detail == {
        "door": "api",
        "token_id": made.id,
        "token_name": "sync",
        "method": "GET",
        "route": f"/api/v1/orders/{ORDER}",
        "source": "127.0.0.1",
    }
    services.clock.advance(seconds=61)
    api.post(
        f"/api/v1/orders/{ORDER}/actions/comment", json={"text": "x"}, headers=bearer(made.token)
    )
    used = audit(services, tk.TOKEN_USED)
    assert len(used) == 2 and used[1].detail["method"] == "POST"
    (listed,) = tk.list_tokens(services, "anna", actor=system(services))
    assert listed["last_used_at"] == services.now()
    refused = api.get(f"/api/v1/orders/{ORDER}", headers=bearer("pst_unknown"))
    assert refused.status_code == 401 and len(audit(services, tk.TOKEN_USED)) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("", None),
    ],
)
def test_expiry_as_typed(text: str, expected: timedelta | None) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    got = tk.parse_expiry(text, now)
    assert got == (None if expected is None else now + expected)


def test_a_date_is_valid_through_that_day_in_the_users_zone() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    got = tk.parse_expiry("2026-06-30", now, "Europe/Berlin")
    assert got == datetime(2026, 6, 30, 22, tzinfo=UTC)  # midnight in Berlin (CEST)
    assert tk.parse_expiry("2026-07-01T09:00:00+02:00", now) == datetime(2026, 7, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize("text", ["soon", "0d", "2026-13-01", "2026-07-01T09:00:00", "5y"])
def test_a_bad_expiry_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="expires: "):
        tk.parse_expiry(text, datetime(2026, 6, 1, tzinfo=UTC))
