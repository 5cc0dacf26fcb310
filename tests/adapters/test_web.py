"""The web door through Flask's test client: sign-in, sessions, CSRF, headers, the grid, the
order page and its Actions menu (SPEC §4, §8 S-3, §10 W)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from postsales.adapters.web import create_app
from postsales.adapters.web.security import load_secret_key
from postsales.core import ActionContext, ActionSpec, hookimpl
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import BadInput
from postsales.core.persistence import rows
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.services.drafts import create_order
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.conftest import ROOT, import_examples

ORDER = "000000101"
PASSWORD = "password-123"


class Clock:
    """A clock for the services object that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_web(services: Postsales) -> Flask:
    app = create_app(services, secret_key="test-secret-key")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def web(sqlite_app: Postsales) -> Flask:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    return make_web(sqlite_app)


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    return web.test_client()


def csrf(client: FlaskClient) -> str:
    client.get("/login")  # makes the session's token if there is none yet
    with client.session_transaction() as sess:
        return str(sess["csrf"])


def sign_in(client: FlaskClient, name: str = "anna", password: str = PASSWORD) -> Any:
    form = {"username": name, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=form)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> Any:
    with client.session_transaction() as sess:
        token = sess["csrf"]
    return client.post(url, data={**(data or {}), "csrf_token": token})


# -- sign-in and the session ----------------------------------------------------------------


def test_sign_in_page_has_the_labels_and_button(client: FlaskClient) -> None:
    html = client.get("/login").text
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert re.search(r"<button[^>]*>Sign in</button>", html)
    assert 'name="csrf_token"' in html


def test_bad_password_shows_an_error_and_starts_no_session(client: FlaskClient) -> None:
    response = sign_in(client, password="wrong-password")
    assert response.status_code == 401
    assert "Invalid username or password." in response.text
    with client.session_transaction() as sess:
        assert "sid" not in sess
    assert client.get("/orders").status_code == 302


def test_sign_in_rotates_the_session(client: FlaskClient) -> None:
    token_before = csrf(client)
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/orders"
    with client.session_transaction() as sess:
        assert sess["sid"]
        assert "planted" not in sess  # nothing from before sign-in survives
        assert sess["csrf"] != token_before
    assert client.get("/orders").status_code == 200


def test_sign_in_refuses_open_redirects(client: FlaskClient) -> None:
    form = {"username": "anna", "password": PASSWORD, "next": "//evil.example.com/x"}
    response = client.post("/login", data={**form, "csrf_token": csrf(client)})
    assert response.headers["Location"] == "/orders"


def test_session_cookie_flags(web: Flask, client: FlaskClient) -> None:
    cookie = sign_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = web.test_client()
    cookie = https.get("/login", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie
    web.config["SESSION_COOKIE_SECURE"] = True  # what PREFERRED_URL_SCHEME=https sets
    assert "Secure" in web.test_client().get("/login").headers["Set-Cookie"]


def test_missing_or_wrong_csrf_token_is_400(client: FlaskClient) -> None:
    assert client.post("/login", data={"username": "anna", "password": PASSWORD}).status_code == 400
    sign_in(client)
    response = client.post(f"/orders/{ORDER}/actions/comment", data={"text": "forged"})
    assert response.status_code == 400
    forged = {"text": "forged", "csrf_token": "not-the-token"}
    assert client.post(f"/orders/{ORDER}/actions/comment", data=forged).status_code == 400
    assert "forged" not in client.get(f"/orders/{ORDER}").text


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    pages = [client.get("/login"), client.get("/static/style.css"), client.get("/nowhere")]
    sign_in(client)
    pages += [client.get("/orders"), client.get(f"/orders/{ORDER}"), client.get("/orders/nope")]
    for response in pages:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "img-src 'self' https: data:" in csp and "style-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_idle_and_absolute_timeouts_sign_out(web: Flask, client: FlaskClient) -> None:
    clock = Clock()
    web.extensions["postsales"].clock = clock
    sign_in(client)
    clock.advance(minutes=31)
    response = client.get("/orders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with client.session_transaction() as sess:
        assert "sid" not in sess
    assert "30 minutes without activity" in client.get("/login").text
    sign_in(client)
    signed_in = clock.now
    for _ in range(13 * 4):  # busy all day, one page every 15 minutes
        clock.advance(minutes=15)
        if client.get("/orders").status_code != 200:
            break
    assert clock.now - signed_in > timedelta(hours=12)
    assert "12-hour limit" in client.get("/login").text
    assert client.get("/orders").status_code == 302


def test_logout_post_ends_the_session(client: FlaskClient) -> None:
    sign_in(client)
    assert client.get("/logout").status_code == 405  # a link cannot sign anyone out
    response = post(client, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    with client.session_transaction() as sess:
        assert "sid" not in sess
    assert client.get("/orders").status_code == 302


def test_sign_in_is_slowed_after_three_failures(web: Flask, client: FlaskClient) -> None:
    web.extensions["postsales"].clock = Clock()
    for _ in range(3):
        assert sign_in(client, password="wrong-password").status_code == 401
    response = sign_in(client)  # from the address that failed, even the right password waits
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert "Too many failed sign-in attempts. Try again in 2 seconds." in response.text


def test_secret_key_file_is_made_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 7: the session key belongs to the database, wherever the app starts."""
    monkeypatch.delenv("POSTSALES_SECRET_KEY", raising=False)
    monkeypatch.delenv("POSTSALES_SECRET_KEY_FILE", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'postsales.db'}")
    monkeypatch.chdir(tmp_path)
    key = load_secret_key(engine)
    path = tmp_path / "db" / "secret_key"
    assert re.fullmatch(r"[0-9a-f]{64}", key) and path.stat().st_mode & 0o077 == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_secret_key(engine) == key
    assert not (elsewhere / "var").exists() and not (tmp_path / "var").exists()
    monkeypatch.setenv("POSTSALES_SECRET_KEY_FILE", str(tmp_path / "configured"))
    configured = load_secret_key(engine)
    assert configured != key and (tmp_path / "configured").read_text().strip() == configured
    monkeypatch.setenv("POSTSALES_SECRET_KEY", "from-the-environment")
    assert load_secret_key(engine) == "from-the-environment"


def test_a_database_without_a_folder_needs_a_configured_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POSTSALES_SECRET_KEY", raising=False)
    monkeypatch.delenv("POSTSALES_SECRET_KEY_FILE", raising=False)
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")  # never connected to
    with pytest.raises(BadInput, match="POSTSALES_SECRET_KEY"):
        load_secret_key(engine)


# -- the orders grid ------------------------------------------------------------------------


def test_orders_lists_the_example_order(client: FlaskClient) -> None:
    sign_in(client)
    html = client.get("/orders").text
    assert ORDER in html and "Veronica Costello" in html and "118.80" in html
    for column in ("Purchase point", "Purchase date", "Bill to", "Ship to", "Grand total"):
        assert column in html
    assert ">Apply</button>" in html and ">Reset</a>" in html


def test_a_filter_with_one_result_opens_the_order(client: FlaskClient) -> None:
    sign_in(client)
    response = client.get("/orders?email=VERONICA.Costello@example.com")
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{ORDER}"
    assert client.get("/orders?name=%25cost").status_code == 302
    assert client.get("/orders?order_id=0000001").status_code == 302
    none = client.get("/orders?email=@example.com")  # a bare domain does not match
    assert none.status_code == 200 and "No orders found." in none.text


@pytest.mark.parametrize(
    ("query", "message"),
    [("per_page=7", "per_page: must be one of 10, 20, 50, 100"), ("page=x", "page: expected")],
)
def test_bad_paging_is_400_with_a_message(client: FlaskClient, query: str, message: str) -> None:
    sign_in(client)
    response = client.get(f"/orders?{query}")
    assert response.status_code == 400 and message in response.text


# -- the order page and its actions ---------------------------------------------------------


def test_order_page_has_the_four_sections_and_actions(client: FlaskClient) -> None:
    sign_in(client)
    html = client.get(f"/orders/{ORDER}").text
    for heading in ("Details", "Payments", "Post-sales", "History and comments", "Actions"):
        assert f"<h2>{heading}</h2>" in html
    assert "Beaumont Summit Kit, M, Red" in html and "MJ01-M-RED" in html
    assert 'src="https://cdn.example.com/p/MJ01-M-RED.jpg"' in html
    assert "PAY-7731902" in html and "6146 Honey Bluff Parkway" in html
    assert "Shipment ST1-000000101-01 shipped by UPS" in html


def test_actions_menu_shows_available_and_unavailable(web: Flask, client: FlaskClient) -> None:
    actions = web.extensions["postsales"].registry.actions
    sign_in(client)
    html = client.get(f"/orders/{ORDER}").text
    if not actions:
        assert "No actions are installed." in html
        return
    if "comment" in actions:
        assert f'action="/orders/{ORDER}/actions/comment"' in html
        assert "<summary>Comment</summary>" in html
    if "cancel" in actions:  # shipped: cancel is shown greyed, with the reason in words
        assert (
            "Cancel order is possible only when the order is new, received or on hold; "
            "it is shipped" in html
        )
        assert "SHIPPED; cancel is allowed" not in html  # issue 13 item 7: no codes


def test_a_comment_appears_in_history(web: Flask, client: FlaskClient) -> None:
    sign_in(client)
    response = post(client, f"/orders/{ORDER}/actions/comment", {"text": "Called the customer"})
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{ORDER}"
    html = client.get(f"/orders/{ORDER}").text
    assert "Comment: done." in html
    history = html.split("<h2>History and comments</h2>", 1)[1]
    assert "Called the customer" in history and "anna" in history
    blank = post(client, f"/orders/{ORDER}/actions/comment", {"text": "   "})
    assert blank.status_code == 422 and "must not be blank" in blank.text


def _form_key(html: str, action: str) -> str:
    """The one-time key of the action's form on an order page."""
    form = html.split(f'action="/orders/{ORDER}/actions/{action}"', 1)[1].split("</form>", 1)[0]
    return form.split('name="form_key" value="', 1)[1].split('"', 1)[0]


def test_a_form_sent_twice_has_one_effect(web: Flask, client: FlaskClient) -> None:
    """Issue 13 item 3, issue 17 item 3: a double click, or back and resend, runs the action
    once; the second send shows the first result."""
    sign_in(client)
    page = client.get(f"/orders/{ORDER}").text
    key = _form_key(page, "comment")
    assert key != _form_key(client.get(f"/orders/{ORDER}").text, "comment")  # one per render
    form = {"text": "Called the customer", "form_key": key}
    first = post(client, f"/orders/{ORDER}/actions/comment", form)
    assert first.status_code == 302
    assert "Comment: done." in client.get(f"/orders/{ORDER}").text
    again = post(client, f"/orders/{ORDER}/actions/comment", form)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    html = client.get(f"/orders/{ORDER}").text
    assert "Comment: done." in html and "it was not done again" in html
    history = html.split("<h2>History and comments</h2>", 1)[1]
    assert history.count("Called the customer") == 1
    # Back, edit, resend: still the one form, so not run; the agent is told why.
    edited = post(client, f"/orders/{ORDER}/actions/comment", {**form, "text": "Other"})
    assert edited.status_code == 302
    html = client.get(f"/orders/{ORDER}").text
    assert "it was not done again" in html and "Other" not in html
    # A new form (a new key) runs again.
    fresh = {"text": "Called again", "form_key": _form_key(html, "comment")}
    assert post(client, f"/orders/{ORDER}/actions/comment", fresh).status_code == 302
    assert "Called again" in client.get(f"/orders/{ORDER}").text


def test_a_confirmed_appeasement_sent_twice_refunds_once(web: Flask, client: FlaskClient) -> None:
    sign_in(client)
    key = _form_key(client.get(f"/orders/{ORDER}").text, "appeasement")
    form = {"line": "1", "amount": "5.00", "reason": "Late delivery", "comment": "sorry",
            "form_key": key}  # fmt: skip
    preview = post(client, f"/orders/{ORDER}/actions/appeasement", {**form, "preview": "1"})
    assert preview.status_code == 200 and f'name="form_key" value="{key}"' in preview.text
    for _ in range(2):  # the confirmation sent twice (double click)
        assert post(client, f"/orders/{ORDER}/actions/appeasement", form).status_code in (302, 303)
    services = web.extensions["postsales"]
    document = show_order(services, ORDER, get_user(services, None))
    assert [r["kind"] for r in document["refunds"]] == ["APPEASEMENT"]


def test_the_preview_says_what_is_not_refunded(sqlite_app: Postsales) -> None:
    """Issue 16 item 3: less captured than owed is said before the agent confirms."""
    order = json.loads((ROOT / "examples/messages/order-create.json").read_text())
    order["payload"]["order"]["payments"][0]["captured_amount"] = "60.00"
    shipped = (ROOT / "examples/messages/shipment-shipped.json").read_text()
    assert not import_lines(sqlite_app, [json.dumps(order), shipped.replace("\n", " ")]).refused
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    client = make_web(sqlite_app).test_client()
    sign_in(client)
    form = {"lines": "2", "reason": "Too small", "comment": "c"}
    assert post(client, f"/orders/{ORDER}/actions/return", form).status_code == 302
    form = {"lines": "1", "reason": "Damaged", "comment": "c", "preview": "1"}
    preview = post(client, f"/orders/{ORDER}/actions/return", form)
    assert "Note:</strong> 48.60 USD is owed for line(s) 1, but only 6.00 USD is left" in (
        preview.text
    )
    assert '<th colspan="2">Refund total</th><td class="num"><strong>6.00 USD</strong>' in (
        preview.text
    )
    assert ">Create return and refund 6.00 USD</button>" in preview.text


def test_missing_orders_and_forbidden_actions(web: Flask, client: FlaskClient) -> None:
    sign_in(client)
    missing = client.get("/orders/does-not-exist")
    assert missing.status_code == 404 and "Order not found" in missing.text
    unknown = post(client, f"/orders/{ORDER}/actions/no_such_action", {})
    assert unknown.status_code == 404 and "There is no action" in unknown.text
    if "approve_refund" in web.extensions["postsales"].registry.actions:
        response = post(client, f"/orders/{ORDER}/actions/approve_refund", {"refund_id": "RF-1"})
        assert response.status_code == 403
        assert "Approve refund is not part of your role; ask a supervisor" in response.text
        assert "refund.approve" not in response.text  # issue 13 item 7: the agent's words


def audit_rows(services: Postsales, kind: str) -> list[Any]:
    a = T.audit_log.c
    with services.uow(read_only=True) as uow:
        return list(uow.conn.execute(select(T.audit_log).where(a.kind == kind).order_by(a.id)))


def scoped_services(app: Postsales, tmp_path: Path) -> Postsales:
    """`app`'s database seen through a config with `de_agent`, an agent of store ST2 only."""
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["roles"]["de_agent"] = {
        "permissions": ["orders.view", "order.comment"],
        "sales_channels": ["ST2"],
    }
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    return bootstrap(str(path), app.engine.url.render_as_string(hide_password=False))


def test_an_order_of_another_store_is_not_found(sqlite_app: Postsales, tmp_path: Path) -> None:
    import_examples(sqlite_app, "order-create.json")
    services = scoped_services(sqlite_app, tmp_path)
    add_user(services, "dieter", ["de_agent"], PASSWORD)
    client = make_web(services).test_client()
    sign_in(client, "dieter")
    response = client.get(f"/orders/{ORDER}")
    assert response.status_code == 404 and "Order not found" in response.text
    assert ORDER not in client.get("/orders").text
    assert client.get(f"/orders?order_id={ORDER}").status_code == 200  # no redirect, no hint
    comment = post(client, f"/orders/{ORDER}/actions/comment", {"text": "hello"})
    assert comment.status_code == 404
    services.engine.dispose()


def test_access_failures_are_audited_and_not_shown(
    app: Postsales, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_examples(app, "order-create.json")  # ORDER is in store ST1
    services = scoped_services(app, tmp_path)
    add_user(services, "dieter", ["de_agent"], PASSWORD)
    client = make_web(services).test_client()
    sign_in(client, "dieter")
    loaded: list[str] = []
    real_build = rows.order_from_rows

    def order_from_rows(order_row: Any, *children: Any, **kw: Any) -> Any:
        loaded.append(order_row.id)
        return real_build(order_row, *children, **kw)

    monkeypatch.setattr(rows, "order_from_rows", order_from_rows)
    hidden, unknown = client.get(f"/orders/{ORDER}"), client.get("/orders/000000999")
    assert hidden.status_code == unknown.status_code == 404
    assert loaded == []  # the store is checked on the order row: another store's order is
    # refused by the same single read that refuses an unknown one, never loaded (nor locked)
    assert hidden.text.replace(ORDER, "X") == unknown.text.replace("000000999", "X")
    assert post(client, f"/orders/{ORDER}/actions/comment", {"text": "hi"}).status_code == 404
    forbidden = client.get("/admin/config")
    assert forbidden.status_code == 403 and "config.view" in forbidden.text

    out = [(r.actor, r.detail["route"], r.detail["action"], r.detail["door"])
           for r in audit_rows(services, "access.out_of_store")]  # fmt: skip
    assert out == [
        ("dieter", f"/orders/{ORDER}", None, "web"),
        ("dieter", f"/orders/{ORDER}/actions/comment", "comment", "web"),
    ]
    assert {r.detail["sales_channel"] for r in audit_rows(services, "access.out_of_store")} == {
        "ST1"
    }
    (missing,) = audit_rows(services, "access.unknown_order")
    assert missing.actor == "dieter" and missing.detail["order_id"] == "000000999"
    (refused,) = audit_rows(services, "access.forbidden")
    assert refused.actor == "dieter" and refused.detail["route"] == "/admin/config"
    assert "config.view" in refused.detail["reason"] and refused.detail["method"] == "GET"
    assert abs((refused.at - services.now()).total_seconds()) < 60
    services.engine.dispose()


def test_forbidden_action_and_sign_in_failure_are_audited(client: FlaskClient, web: Flask) -> None:
    services = web.extensions["postsales"]
    assert sign_in(client, password="wrong-password").status_code == 401
    (failed,) = audit_rows(services, "auth.sign_in_failed")
    assert failed.actor == "anna" and failed.detail["reason"] == "invalid"
    assert "wrong-password" not in str(failed.detail)
    sign_in(client)
    client.get(f"/orders/{ORDER}")  # a visible order: nothing to record
    assert audit_rows(services, "access.out_of_store") == []
    if "approve_refund" in services.registry.actions:
        response = post(client, f"/orders/{ORDER}/actions/approve_refund", {"refund_id": "RF-1"})
        assert response.status_code == 403
        (refused,) = audit_rows(services, "access.forbidden")
        assert refused.actor == "anna" and refused.detail["order_id"] == ORDER
        assert refused.detail["action"] == "approve_refund"


def make_draft(services: Postsales) -> str:
    """A DRAFT order for the example customer (the example order must be imported)."""
    product = {
        "id": "p-MJ01", "type": "catalog.product.upsert", "created_at": "2026-11-01T00:00:00Z",
        "payload": {"sku": "MJ01-M-RED", "parent_sku": "MJ01", "name": "Jacket", "image_url": "",
                    "prices": {"ST1": "45.00"}},
    }  # fmt: skip
    assert not import_lines(services, [json.dumps(product)]).refused
    params = {
        "sales_channel": "ST1",
        "customer": "C-1001",
        "shipping_address": {"first_name": "Veronica", "address1": "1 Main St", "city": "Austin",
                             "zip": "78701", "country_code": "US"},
        "shipping_method": "express",
        "lines": [{"sku": "MJ01-M-RED", "quantity": 1}],
    }  # fmt: skip
    return str(create_order(services, params, get_user(services, None))["id"])


def test_deleting_a_draft_returns_to_the_grid(sqlite_app: Postsales) -> None:
    import_examples(sqlite_app, "order-create.json")
    draft = make_draft(sqlite_app)
    add_user(sqlite_app, "sam", ["supervisor"], PASSWORD)
    client = make_web(sqlite_app).test_client()
    sign_in(client, "sam")
    assert draft in client.get("/orders").text
    response = post(client, f"/orders/{draft}/actions/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/orders"
    grid = client.get("/orders")
    assert f"Delete draft: done. Order {draft} was deleted." in grid.text
    assert f'href="/orders/{draft}"' not in grid.text
    assert client.get(f"/orders/{draft}").status_code == 404


# -- forms rendered from any plugin's schema ------------------------------------------------


@attrs.frozen
class ProbeParams:
    note: str
    count: int = 1
    urgent: bool = False
    payload: dict | None = None
    colour: str = attrs.field(default="red", metadata={"choices": ["red", "blue"]})


class ProbePlugin:
    """An outside plugin's action with every kind of parameter and a confirmation step."""

    @staticmethod
    def run(order: Any, params: ProbeParams, ctx: ActionContext) -> None:
        summary = f"probe {params.note} x{params.count} {params.urgent} {params.colour}"
        ctx.record(order, "probe", f"{summary} {params.payload}")

    @hookimpl
    def postsales_register_actions(self, settings: Any) -> list[ActionSpec]:
        return [
            ActionSpec(
                name="probe",
                label="Probe",
                permission="order.comment",
                params=ProbeParams,
                run=self.run,
                confirm="Probe {count} times?",
            )
        ]


@pytest.fixture
def probe_client(sqlite_app: Postsales) -> FlaskClient:
    import_examples(sqlite_app, "order-create.json")
    url = str(sqlite_app.engine.url)
    services = bootstrap(None, url, extra_plugins=[("probe", ProbePlugin())])
    add_user(services, "anna", ["agent"], PASSWORD)
    client = make_web(services).test_client()
    sign_in(client)
    yield client
    services.engine.dispose()


def test_forms_follow_the_schema(probe_client: FlaskClient) -> None:
    html = probe_client.get(f"/orders/{ORDER}").text
    form = html.split("<summary>Probe</summary>", 1)[1].split("</form>", 1)[0]
    assert 'name="count" type="number"' in form
    assert 'type="checkbox" id="f-probe-urgent" name="urgent"' in form
    assert '<select id="f-probe-colour" name="colour"' in form
    assert 'name="payload" rows="4" class="mono"' in form
    assert 'name="preview" value="1"' in form


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"note": "x", "payload": "{not json"}, "Payload: not valid JSON"),
        ({"note": "x", "count": "many"}, "Count: expected a whole number"),
        ({"count": "2"}, "Note: missing required parameter"),
    ],
)
def test_bad_form_input_is_422(probe_client: FlaskClient, fields: dict, message: str) -> None:
    response = post(probe_client, f"/orders/{ORDER}/actions/probe", fields)
    assert response.status_code == 422 and message in response.text
    assert '<details class="action" open>' in response.text  # the form stays open
    # Next to the field it names, which is marked invalid (the field's label, not its name).
    name = message.split(":")[0].lower()
    assert f'<p class="field-error" id="f-probe-{name}-error">{message}' in response.text
    assert f'aria-invalid="true" aria-describedby="f-probe-{name}-error"' in response.text


def test_preview_then_confirm(probe_client: FlaskClient) -> None:
    fields = {"note": "hi", "count": "3", "urgent": "1", "payload": '{"a": 1}', "preview": "1"}
    preview = post(probe_client, f"/orders/{ORDER}/actions/probe", fields)
    assert preview.status_code == 200 and "Probe 3 times?" in preview.text
    assert "Nothing has changed yet." in preview.text and ">Probe</button>" in preview.text
    assert "probe hi" not in probe_client.get(f"/orders/{ORDER}").text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', preview.text))
    assert "preview" not in hidden and hidden["count"] == "3"
    hidden = {k: v.replace("&#34;", '"') for k, v in hidden.items() if k != "csrf_token"}
    done = post(probe_client, f"/orders/{ORDER}/actions/probe", hidden)
    assert done.status_code == 302
    assert "probe hi x3 True red {&#39;a&#39;: 1}" in probe_client.get(f"/orders/{ORDER}").text


# -- the CLI door ---------------------------------------------------------------------------


def test_serve_is_a_command() -> None:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)
    from postsales.adapters.cli.main import cli

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output and "gunicorn" in result.output
