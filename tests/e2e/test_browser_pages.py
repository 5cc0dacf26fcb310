"""The workbench in real headless Chromium (issue 13 items 4, 5, 9): the header search, the
customer page, every page at phone width (390 px) without sideways scrolling, and axe-core's
accessibility check on every page, with no serious or critical violation.

axe-core is vendored in `vendor/axe-core/` (the npm package's `axe.min.js`) and injected into
each page by the test; the app never serves it. Screenshots go to the test's temporary folder,
or to `$POSTSALES_SCREENSHOTS` when set (to look at them)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright

from postsales.core.bootstrap import Postsales
from postsales.core.services.actions import run_action
from postsales.core.services.users import add_user, get_user
from tests.conftest import import_examples
from tests.e2e.test_browser import CHROMIUM, FLAGS, serving

ORDER = "000000101"
AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 900}

# Every page an agent or an admin opens (GET), by a name for the screenshots.
PAGES = {
    "login": "/login",
    "orders": "/orders",
    "orders-sorted": "/orders?sales_channel=ST1&sort=grand_total",
    "orders-bad-filter": "/orders?purchased_from=yesterday",
    "order": f"/orders/{ORDER}",
    "child-order": f"/orders/{ORDER}-R1",
    "customer": "/customers/C-1001",
    "new-order": "/orders/new?customer_id=C-1001&sales_channel=ST1",
    "queue": "/queue",
    "columns": "/orders/columns",
    "dashboard": "/dashboard",
    "config": "/admin/config",
    "plugins": "/admin/plugins",
    "machines": "/admin/machines",
    "users": "/admin/users",
    "user": "/admin/users/anna",
    "not-found": "/orders/000000999",
}


@pytest.fixture
def server(sqlite_app: Postsales) -> Iterator[str]:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    add_user(sqlite_app, "anna", ["supervisor", "admin"], "password-123", "Europe/Berlin")
    anna = get_user(sqlite_app, "anna")
    run_action(sqlite_app, ORDER, "reshipment", {"lines": [2], "reason": "Lost"}, anna)
    run_action(
        sqlite_app, ORDER, "comment", {"text": "Customer called about the parcel " * 4}, anna
    )
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _signed_in(browser: Any, server: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{server}/login")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill("password-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/orders*")
    return page


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("POSTSALES_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _sideways(page: Any) -> str:
    """How far the page scrolls sideways, and the widest elements past the edge ("": fits)."""
    return str(
        page.evaluate(
            """() => {
  const root = document.documentElement, edge = root.clientWidth;
  const wide = Math.max(root.scrollWidth, document.body.scrollWidth) - edge;
  if (wide <= 0) return "";
  const past = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > edge + 1 && !e.closest(".table-wrap"))
    .slice(0, 6)
    .map(e => `${e.tagName}.${e.className}:${Math.round(e.getBoundingClientRect().width)}`);
  return `scrolls ${wide} px sideways: ${past.join(", ")}`;
}"""
        )
    )


@pytest.mark.parametrize("viewport", [PHONE, TABLET, DESKTOP], ids=["phone", "tablet", "desktop"])
def test_every_page_fits_and_passes_axe(
    browser: Any, server: str, shots: Path, viewport: dict[str, int]
) -> None:
    page = _signed_in(browser, server, viewport)
    problems = {}
    for name, path in PAGES.items():
        if name == "login":
            continue  # signed in: shown on its own below
        page.goto(f"{server}{path}")
        page.screenshot(path=str(shots / f"{name}-{viewport['width']}.png"), full_page=True)
        found = _serious(page)
        if wide := _sideways(page):
            found.append(wide)
        if found:
            problems[path] = found
    # The preview of an action that moves money, and the sign-in page.
    page.goto(f"{server}/orders/{ORDER}")
    # An open form must fit too (a return's select once made the page 875 px wide at 390).
    page.locator("summary", has_text="Cancel return").first.click()
    if found := _serious(page) + [w for w in [_sideways(page)] if w]:
        problems["open form"] = found
    page.locator("details[open] select").first.select_option(index=1)
    page.locator("details[open] button[type=submit]").click()
    page.wait_for_load_state()
    assert "Confirm" in page.title(), page.title()
    page.screenshot(path=str(shots / f"preview-{viewport['width']}.png"), full_page=True)
    if found := _serious(page) + [w for w in [_sideways(page)] if w]:
        problems["preview"] = found
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    if found := _serious(page) + [w for w in [_sideways(page)] if w]:
        problems["/login"] = found
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_the_header_search_opens_the_order_by_its_exact_id(browser: Any, server: str) -> None:
    page = _signed_in(browser, server, DESKTOP)
    page.goto(f"{server}/dashboard")
    box = page.get_by_label("Search orders")
    box.fill(ORDER)  # 000000101-R1 shares the prefix
    box.press("Enter")
    page.wait_for_url(f"{server}/orders/{ORDER}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Order {ORDER}")
    page.get_by_label("Search orders").fill("costello")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(f"{server}/orders?q=costello")  # two orders: the grid lists them
    assert page.locator("table.grid tbody tr").count() == 2


def test_the_customer_page_from_the_order(browser: Any, server: str, shots: Path) -> None:
    page = _signed_in(browser, server, DESKTOP)
    page.goto(f"{server}/orders/{ORDER}")
    page.get_by_role("link", name="C-1001").click()
    page.wait_for_url(f"{server}/customers/C-1001")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Veronica Costello")
    mail = page.get_by_role("link", name="veronica.costello@example.com")
    assert mail.get_attribute("href") == "mailto:veronica.costello@example.com"
    assert page.get_by_role("link", name="(555) 229-3326").get_attribute("href").startswith("tel:")
    orders = page.locator("table.grid tbody tr")
    assert orders.count() == 2  # the order and its reshipment
    page.screenshot(path=str(shots / "customer-desktop.png"), full_page=True)
    page.locator("table.grid").get_by_role("link", name=f"{ORDER}-R1").click()
    page.wait_for_url(f"{server}/orders/{ORDER}-R1")


def test_phone_width_grid_cards_and_actions_in_reach(
    browser: Any, server: str, shots: Path
) -> None:
    page = _signed_in(browser, server, PHONE)
    page.goto(f"{server}/orders")
    first = page.locator("table.grid tbody tr").first
    assert first.bounding_box()["width"] <= PHONE["width"]
    labels = first.locator("td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert '"Purchase date"' in labels and '"Status"' in labels  # a card of labelled values
    page.goto(f"{server}/orders/{ORDER}")
    link = page.get_by_role("link", name="Actions", exact=True)
    assert link.bounding_box()["y"] < PHONE["height"]  # on the first screen
    link.click()
    heading = page.locator("#actions h2")
    box = heading.bounding_box()
    assert 0 <= box["y"] < PHONE["height"]  # the menu is in view, one tap from the top
    page.screenshot(path=str(shots / "order-actions-390.png"))


def test_skip_link_and_focus_on_the_field_in_error(browser: Any, server: str) -> None:
    page = _signed_in(browser, server, DESKTOP)
    page.goto(f"{server}/orders")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content" and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    header = page.locator("th[aria-sort]").first
    assert header.get_attribute("aria-sort") in ("ascending", "descending", "none")
    page.goto(f"{server}/orders?purchased_from=yesterday")
    focused = page.locator(":focus")
    assert focused.get_attribute("id") == "f-purchased_from"
    assert focused.get_attribute("aria-invalid") == "true"
