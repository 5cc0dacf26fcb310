"""No open redirect after sign-in (issue 17 item 1): every `next` value of the OWASP
unvalidated-redirect list ends on this site. Chromium follows the same list in
`tests/e2e/test_browser_redirects.py`."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales
from postsales.core.services.users import add_user
from tests.adapters.test_web import PASSWORD, csrf, make_web, sign_in
from tests.conftest import import_examples

EVIL = "evil.example"

# `next` values as the server receives them (already percent-decoded once): the OWASP
# "Unvalidated Redirects and Forwards" cheat sheet's bypasses, and the forms browsers repair.
HOSTILE = [
    f"//{EVIL}/x",
    f"///{EVIL}/x",
    f"////{EVIL}/x",
    f"/\\{EVIL}/x",
    f"\\/{EVIL}/x",
    f"\\\\{EVIL}/x",
    f"/\\/{EVIL}/x",
    f"/\t/{EVIL}/x",
    f"/\n/{EVIL}/x",
    f"/\r/{EVIL}/x",
    f"/\r\n/{EVIL}/x",
    f"\t//{EVIL}/x",
    f" //{EVIL}/x",
    f"\x00//{EVIL}/x",
    f"\x1f//{EVIL}/x",
    f"/\x00/{EVIL}/x",
    f"/\x7f/{EVIL}/x",
    f"//{EVIL}\t/x",
    f"/%2F{EVIL}/x",  # escapes that decode to another host's reference (double-encoded)
    f"/%09/{EVIL}/x",
    f"/%0A/{EVIL}/x",
    f"/%2f%2f{EVIL}/x",
    f"/%5C{EVIL}/x",
    f"/%5c%5c{EVIL}/x",
    f"%2F%2F{EVIL}/x",
    f"https:{EVIL}",
    f"https:/{EVIL}",
    f"https://{EVIL}/x",
    f"HTTPS://{EVIL}/x",
    f"http://{EVIL}",
    f"http:/\\/\\{EVIL}",
    f"https:\\\\{EVIL}",
    f"ftp://{EVIL}/",
    f"//{EVIL}@localhost/",
    f"https://localhost@{EVIL}/",
    f"//localhost@{EVIL}",
    f"@{EVIL}",
    f"{EVIL}",
    f"{EVIL}/x",
    f".{EVIL}",
    f"//{EVIL}%2F@localhost/",
    f"//{EVIL}%E3%80%82com",
    f"//{EVIL}\u3002com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "\njavascript:alert(1)",
    "javascript://%0Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    f"/\u2028/{EVIL}/x",
    f"/\u0085/{EVIL}/x",
]

# Paths on this site keep working, in the form the browser will request them.
KEPT = {
    "/orders/000000101": "/orders/000000101",
    "/orders?name=%25tay&page=2": "/orders?name=%25tay&page=2",
    "/orders?q=Mercy Taylor": "/orders?q=Mercy%20Taylor",
    "/orders/caf\u00e9": "/orders/caf%C3%A9",
    "/dashboard?days=7#refunds": "/dashboard?days=7#refunds",
    f"/@{EVIL}": f"/@{EVIL}",  # a path of this site, however it reads
    f"/{EVIL}": f"/{EVIL}",
    "/javascript:alert(1)": "/javascript:alert(1)",
}


@pytest.fixture
def client(sqlite_app: Postsales) -> FlaskClient:
    import_examples(sqlite_app, "order-create.json")
    add_user(sqlite_app, "anna", ["supervisor"], PASSWORD)
    return make_web(sqlite_app).test_client()


def on_this_site(location: str) -> bool:
    """A `Location` no browser can read as another host: one leading `/`, then only printable
    ASCII that is neither a space nor a backslash (WHATWG: a path-absolute URL)."""
    return bool(re.fullmatch(r"/(?!/)[!-~]*", location)) and "\\" not in location


def test_hostile_next_lands_on_the_orders(client: FlaskClient) -> None:
    """Each hostile value: the form does not carry it and sign-in goes to the grid."""
    escaped, echoed = [], []
    for target in HOSTILE:
        page = client.get("/login?next=" + quote(target, safe=""))
        if page.status_code != 200 or 'name="next" value=""' not in page.text:
            echoed.append(target)
        form = {"username": "anna", "password": PASSWORD, "next": target}
        response = client.post("/login", data={**form, "csrf_token": csrf(client)})
        if response.status_code != 302 or response.headers["Location"] != "/orders":
            escaped.append((target, response.status_code, response.headers.get("Location")))
    assert escaped == [] and echoed == []


def test_a_path_on_this_site_is_kept(client: FlaskClient) -> None:
    for target, location in KEPT.items():
        page = client.get("/login?next=" + quote(target, safe=""))
        assert f'name="next" value="{location}"' in page.text.replace("&amp;", "&"), target
        form = {"username": "anna", "password": PASSWORD, "next": target}
        response = client.post("/login", data={**form, "csrf_token": csrf(client)})
        assert response.headers["Location"] == location, target
        assert on_this_site(location), target


def test_the_form_sends_the_value_back_unchanged(client: FlaskClient) -> None:
    """What the form carries is what was checked: posting it again gives the same address."""
    for target, location in KEPT.items():
        form = {"username": "anna", "password": PASSWORD, "next": location}
        response = client.post("/login", data={**form, "csrf_token": csrf(client)})
        assert response.headers["Location"] == location, target


def test_a_newline_in_next_is_no_server_error(client: FlaskClient) -> None:
    """`next=/%0A/x` answered 500 (a newline in a header); now the orders."""
    csrf(client)
    with client.session_transaction() as sess:
        token = sess["csrf"]
    body = f"username=anna&password={PASSWORD}&next=/%0A/x&csrf_token={quote(token)}"
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302 and response.headers["Location"] == "/orders"
    assert client.get("/login?next=/%0A/x").status_code == 200


def test_the_page_asked_for_before_sign_in_opens_after_it(client: FlaskClient) -> None:
    response = client.get("/orders/000000101?tab=history")
    assert response.status_code == 302
    login = response.headers["Location"]
    assert login.startswith("/login?next=")
    client.get(login)
    form = {"username": "anna", "password": PASSWORD, "csrf_token": csrf(client)}
    form["next"] = "/orders/000000101?tab=history"
    assert client.post("/login", data=form).headers["Location"] == "/orders/000000101?tab=history"
    assert sign_in(client).headers["Location"] == "/orders"  # a plain sign-in: the grid
