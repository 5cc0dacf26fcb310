"""The admin pages for users and their API tokens, through the test client (issue 16 item 4,
issue 17 item 7): `users.manage` only, CSRF on every form, a new token shown once."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales
from postsales.core.services import tokens as tk
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_web import PASSWORD, Clock, make_web, post, sign_in
from tests.conftest import import_examples

ORDER = "000000101"


@pytest.fixture
def web(sqlite_app: Postsales) -> Flask:
    import_examples(sqlite_app, "order-create.json")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD, "Europe/Berlin")
    add_user(sqlite_app, "ada", ["admin"], PASSWORD)
    sqlite_app.clock = Clock()
    return make_web(sqlite_app)


@pytest.fixture
def admin(web: Flask) -> FlaskClient:
    client = web.test_client()
    assert sign_in(client, "ada").status_code == 302
    return client


def tokens_of(web: Flask, name: str) -> list[dict]:
    services = web.extensions["postsales"]
    return tk.list_tokens(services, name, actor=get_user(services, None))


def test_only_user_managers_see_the_pages(web: Flask, admin: FlaskClient) -> None:
    agent = web.test_client()
    sign_in(agent)
    assert agent.get("/admin/users").status_code == 403
    assert agent.get("/admin/users/ada").status_code == 403
    assert post(agent, "/admin/users/anna/tokens", {"token_name": "mine"}).status_code == 403
    assert tokens_of(web, "anna") == []
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert re.search(r'<a class="order-id" href="/admin/users/anna">anna</a>', page.text)
    assert "Europe/Berlin" in page.text
    assert 'aria-current="page">Users</a>' in page.text
    assert admin.get("/admin/users/nobody").status_code == 404


def test_a_token_is_made_and_shown_once(web: Flask, admin: FlaskClient) -> None:
    form = {"token_name": "warehouse sync", "expires": "90d", "scope": "read"}
    made = post(admin, "/admin/users/anna/tokens", form)
    assert made.status_code == 201
    token = re.search(r'id="new-token-value" class="mono" value="(pst_[^"]+)"', made.text)[1]  # type: ignore[index]
    cookie = admin.get_cookie("postsales_session")
    assert cookie is not None and token not in cookie.value
    (listed,) = tokens_of(web, "anna")
    assert (listed["name"], listed["scope"], listed["status"]) == (
        "warehouse sync",
        "read",
        "active",
    )
    again = admin.get("/admin/users/anna")
    assert token not in again.text and "warehouse sync" in again.text and "read only" in again.text
    api = web.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/orders/{ORDER}", headers=headers).status_code == 200


def test_a_token_is_revoked_from_the_page(web: Flask, admin: FlaskClient) -> None:
    services = web.extensions["postsales"]
    made = tk.create_token(services, "anna", actor=get_user(services, None), label="old")
    url = f"/admin/users/anna/tokens/{made.id}/revoke"
    assert admin.post(url).status_code == 400  # no CSRF token: refused, nothing done
    assert tokens_of(web, "anna")[0]["status"] == "active"
    response = post(admin, url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users/anna#tokens"
    page = admin.get("/admin/users/anna")
    assert f"Token {made.id} of anna was revoked" in page.text
    assert tokens_of(web, "anna")[0]["status"] == "revoked"
    headers = {"Authorization": f"Bearer {made.token}"}
    assert web.test_client().get(f"/api/v1/orders/{ORDER}", headers=headers).status_code == 401
    assert post(admin, url).status_code == 409  # already revoked


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"token_name": "x", "expires": "soon"}, "expires: expected 90d"),
        ({"token_name": "x", "scope": "some"}, "scope: tick at least one permission"),
        ({"token_name": "x", "scope": "some", "permission": "users.manage"}, "anna does not have"),
        ({"token_name": "", "scope": "all"}, "a token&#39;s name is 1 to 64 characters"),
    ],
)
def test_bad_token_forms_are_422_and_keep_the_values(
    web: Flask, admin: FlaskClient, form: dict, message: str
) -> None:
    response = post(admin, "/admin/users/anna/tokens", form)
    assert response.status_code == 422
    assert message in response.text and 'role="alert"' in response.text
    if form.get("expires"):
        assert f'value="{form["expires"]}"' in response.text
    assert tokens_of(web, "anna") == []


def test_every_field_has_a_visible_label(admin: FlaskClient) -> None:
    html = admin.get("/admin/users/anna").text
    form = html[html.index('id="new-token-form"') :]
    for field in re.findall(r'<input id="([^"]+)"', form):
        assert f'<label for="{field}">' in form, field
    assert "<legend>What the token may do</legend>" in form
    assert 'name="csrf_token"' in form


def test_the_list_shows_roles_stores_zone_last_sign_in_and_status(
    web: Flask, admin: FlaskClient
) -> None:
    html = admin.get("/admin/users").text
    row = html[html.index('href="/admin/users/ada"') :].split("</tr>")[0]
    assert "admin" in row and "all" in row and "UTC" in row and "active" in row
    assert "never" not in row  # ada signed in (the admin fixture)
    anna = html[html.index('href="/admin/users/anna"') :].split("</tr>")[0]
    assert "Europe/Berlin" in anna and "never" in anna


def test_roles_and_time_zone_are_changed_from_the_page(web: Flask, admin: FlaskClient) -> None:
    agent = web.test_client()
    sign_in(agent)
    assert agent.get("/admin/config").status_code == 403
    form = {"role": ["agent", "admin"], "timezone": "America/New_York"}
    response = post(admin, "/admin/users/anna", form)
    assert response.status_code == 302
    assert "anna: roles, timezone changed." in admin.get("/admin/users/anna").text
    assert agent.get("/admin/config").status_code == 200  # her next request has the new role
    assert "America/New_York" in agent.get("/orders").text  # shown in the header
    bad = post(admin, "/admin/users/anna", {"timezone": "America/New_York"})
    assert bad.status_code == 422 and "give at least one role" in bad.text
    own = post(admin, "/admin/users/ada", {"role": ["agent"], "timezone": "UTC"})
    assert own.status_code == 409 and "cannot take users.manage from yourself" in own.text
    assert admin.post("/admin/users/anna", data=form).status_code == 400  # no CSRF token


def test_the_password_is_changed_from_the_page(web: Flask, admin: FlaskClient) -> None:
    agent = web.test_client()
    sign_in(agent)
    differ = post(
        admin, "/admin/users/anna/password", {"password": "a" * 9, "password_again": "b" * 9}
    )
    assert differ.status_code == 422 and "the two passwords differ" in differ.text
    short = post(
        admin, "/admin/users/anna/password", {"password": "short", "password_again": "short"}
    )
    assert short.status_code == 422 and "at least 8 characters" in short.text
    assert agent.get("/orders").status_code == 200  # nothing changed so far
    form = {"password": "a-new-password", "password_again": "a-new-password"}
    assert post(admin, "/admin/users/anna/password", form).status_code == 302
    assert agent.get("/orders").status_code == 302  # her session ended
    assert sign_in(agent).status_code == 401
    assert sign_in(agent, password="a-new-password").status_code == 302


def test_disabling_from_the_page_stops_her_on_every_host(web: Flask, admin: FlaskClient) -> None:
    from postsales.core.bootstrap import bootstrap

    services = web.extensions["postsales"]
    other_host = bootstrap(None, services.engine.url.render_as_string(hide_password=False))
    other_host.clock = services.clock
    on_other = make_web(other_host).test_client()
    sign_in(on_other)
    token = tk.issue_token(services, "anna")
    headers = {"Authorization": f"Bearer {token}"}
    assert on_other.get("/orders").status_code == 200
    response = post(admin, "/admin/users/anna/disable")
    assert response.status_code == 302
    page = admin.get("/admin/users/anna").text
    assert "anna is disabled: 1 session ended, their API tokens stopped." in page
    assert "Enable anna" in page
    assert on_other.get("/orders").status_code == 302  # the other host's session is over
    assert on_other.get(f"/api/v1/orders/{ORDER}", headers=headers).status_code == 401
    assert sign_in(on_other).status_code == 401  # "Invalid username or password." as ever
    assert post(admin, "/admin/users/ada/disable").status_code == 409  # not herself
    assert post(admin, "/admin/users/anna/enable").status_code == 302
    assert sign_in(on_other).status_code == 302
    assert on_other.get(f"/api/v1/orders/{ORDER}", headers=headers).status_code == 200
    other_host.engine.dispose()


def test_every_form_has_csrf_and_every_field_a_visible_label(admin: FlaskClient) -> None:
    html = admin.get("/admin/users/anna").text
    forms = re.findall(r"<form .*?</form>", html, flags=re.S)
    assert len(forms) >= 5  # roles, password, disable, new token, sign-out
    for form in forms:
        # Every POST carries the token; the header's "Search orders" box is a GET.
        assert 'name="csrf_token"' in form or 'method="get"' in form
        for field in re.findall(r'<(?:input|select) id="([^"]+)"', form):
            assert f'<label for="{field}">' in form, field
        boxes = len(re.findall(r'<input type="(?:checkbox|radio)"', form))
        labelled = re.findall(
            r'<label class="check"><input type="(?:checkbox|radio)"[^>]*> \S', form
        )
        assert len(labelled) == boxes  # each box inside its own label, with its text
