"""No open redirect after sign-in, in real headless Chromium (issue 17 item 1).

`evil.example` is mapped to a second local server that answers "EVIL", so a redirect that
escaped would land the browser there visibly rather than on a DNS error: after each sign-in the
browser's address must be on the app's host (and be the orders grid, or the page asked for).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from playwright import sync_api as playwright
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales
from postsales.core.services.users import add_user
from tests.adapters.test_web_redirects import EVIL, HOSTILE, KEPT
from tests.conftest import import_examples
from tests.e2e.test_browser import CHROMIUM, FLAGS


def serve(app: object) -> Iterator[int]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()


@pytest.fixture
def server(sqlite_app: Postsales) -> Iterator[str]:
    import_examples(sqlite_app, "order-create.json")
    add_user(sqlite_app, "anna", ["supervisor"], "password-123")
    for port in serve(create_app(sqlite_app, secret_key="e2e-" + "k" * 40)):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def evil_port() -> Iterator[int]:
    @Request.application
    def evil(_request: Request) -> Response:
        return Response("<h1>EVIL</h1>", mimetype="text/html")

    yield from serve(evil)


@pytest.fixture
def browser_page(evil_port: int) -> Iterator[object]:
    rules = f"--host-resolver-rules=MAP {EVIL} 127.0.0.1:{evil_port}, MAP *.{EVIL} 127.0.0.1"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, rules])
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def sign_in_with_next(page, server: str, target: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/login?next={quote(target, safe='')}")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill("password-123")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return str(page.url)


def test_the_evil_host_is_reachable(browser_page, evil_port: int) -> None:  # type: ignore[no-untyped-def]
    """The test's own check: a browser sent to evil.example really lands there."""
    browser_page.goto(f"http://{EVIL}/x")
    assert urlsplit(browser_page.url).hostname == EVIL
    assert "EVIL" in browser_page.inner_text("body")


def test_every_hostile_next_stays_on_the_app(browser_page, server: str) -> None:  # type: ignore[no-untyped-def]
    host = urlsplit(server).netloc
    escaped = []
    for target in HOSTILE:
        url = sign_in_with_next(browser_page, server, target)
        parts = urlsplit(url)
        if parts.netloc != host or parts.path != "/orders" or "EVIL" in browser_page.content():
            escaped.append((target, url))
    assert escaped == []


def test_a_path_on_this_site_opens_after_sign_in(browser_page, server: str) -> None:  # type: ignore[no-untyped-def]
    host = urlsplit(server).netloc
    for target, location in KEPT.items():
        url = sign_in_with_next(browser_page, server, target)
        assert urlsplit(url).netloc == host, target
        assert url == f"{server}{location}", target
