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
    assert re.search(r'<a href="/admin/users/anna">anna</a>', page.text)
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
