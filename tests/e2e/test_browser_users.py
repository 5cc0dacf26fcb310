"""An admin manages a user in real headless Chromium (issue 16 item 4, issue 17 item 7):
Admin → Users, change a user's roles and time zone, make a read-only token and revoke it,
disable and enable the user — who, signed in in another browser, is signed out at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright

from postsales.core.bootstrap import Postsales
from postsales.core.services.users import add_user
from tests.conftest import import_examples
from tests.e2e.test_browser import CHROMIUM, FLAGS, serving

PASSWORD = "password-123"


@pytest.fixture
def server(sqlite_app: Postsales) -> Iterator[str]:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    add_user(sqlite_app, "ada", ["admin"], PASSWORD, "Europe/Berlin")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def signed_in(browser, server: str, name: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{server}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/orders*")
    return page


def test_an_admin_manages_a_user(browser, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in(browser, server, "anna")
    page = signed_in(browser, server, "ada")

    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Users").click()
    page.wait_for_url(f"{server}/admin/users")
    table = page.locator("#users").inner_text()
    assert "anna" in table and "agent" in table and "ada" in table
    page.screenshot(path=str(tmp_path / "users.png"), full_page=True)

    page.get_by_role("link", name="anna", exact=True).click()
    page.wait_for_url(f"{server}/admin/users/anna")
    page.get_by_label("supervisor", exact=True).check()
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")
    page.get_by_role("button", name="Save roles and time zone").click()
    assert "anna: roles, timezone changed." in page.get_by_role("status").first.inner_text()
    details = page.locator("#h-details + dl").inner_text()
    assert "agent, supervisor" in details and "America/New_York" in details

    page.get_by_label("Token name").fill("BI export")
    page.get_by_label("Expires").fill("90d")
    page.get_by_label("Read only (view and export orders, view config)").check()
    page.get_by_role("button", name="Make token").click()
    token = page.get_by_label("The new token").input_value()
    assert token.startswith("pst_")
    tokens = page.locator("#tokens table").inner_text()
    assert "BI export" in tokens and "read only" in tokens and "active" in tokens
    page.screenshot(path=str(tmp_path / "user.png"), full_page=True)
    page.get_by_role("button", name="Revoke token").first.click()
    assert "was revoked" in page.get_by_role("status").first.inner_text()
    assert "revoked" in page.locator("#tokens table").inner_text()

    anna.goto(f"{server}/orders")
    assert anna.url.startswith(f"{server}/orders")  # still signed in ...
    page.get_by_role("button", name="Disable anna").click()
    assert "anna is disabled" in page.get_by_role("status").first.inner_text()
    anna.goto(f"{server}/orders")
    assert "/login" in anna.url  # ... until she is disabled
    assert "Your session has ended" in anna.locator("main").inner_text()
    page.get_by_role("button", name="Enable anna").click()
    assert "anna may sign in again." in page.get_by_role("status").first.inner_text()
