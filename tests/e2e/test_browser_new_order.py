"""`/orders/new` in real headless Chromium (issue 13 item 6): an agent finds the customer by
part of their name, products from three characters, sets a quantity and a placed price, sees
the tax, creates the draft, pays it on its page and so places it; wrong values are named at
their field, which takes the focus; axe-core finds nothing serious at 390 and 1280 px.
Screenshots go to $POSTSALES_SHOTS when set (else the test's tmp folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright
from playwright.sync_api import expect

from postsales.core.bootstrap import Postsales
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.adapters.forms_data import IN_STOCK, NEW, OUT_OF_STOCK, load
from tests.e2e.test_browser import CHROMIUM, FLAGS, serving, sign_in
from tests.e2e.test_browser_pages import _serious, _sideways


@pytest.fixture
def server(sqlite_app: Postsales) -> Iterator[str]:
    load(sqlite_app)
    add_user(sqlite_app, "anna", ["agent"], "password-123", "Europe/Berlin")
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("POSTSALES_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser: Any, width: int) -> Any:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_an_agent_creates_and_places_an_order(
    browser: Any, server: str, sqlite_app: Postsales, shots: Path, width: int
) -> None:
    page = _page(browser, width)
    sign_in(page, server)
    page.get_by_role("link", name="New order").click()
    page.wait_for_url(f"{server}/orders/new")
    # Enter in the customer box searches (the form's first button reads the boxes).
    page.get_by_label("Find a customer").fill("costel")
    page.get_by_label("Find a customer").press("Enter")
    page.get_by_role("button", name="Use").first.click()
    expect(page.locator(".chosen-customer")).to_contain_text("veronica.costello@example.com")
    expect(page.get_by_label("City")).to_have_value("Calder")
    page.get_by_label("Shipping method").select_option("express")
    page.get_by_label("Find a product").fill("summit")
    page.get_by_role("button", name="Find products").click()
    found = page.get_by_role("region", name="Products found")
    assert "out of stock" in found.locator("tr", has_text=OUT_OF_STOCK).inner_text()
    page.get_by_role("button", name=f"Add {IN_STOCK}").click()
    page.get_by_label(f"Quantity of {IN_STOCK}").fill("2")
    page.get_by_label(f"Unit price of {IN_STOCK}").fill("40.00")
    totals = page.get_by_role("group", name="Order totals")
    # 2 x 40.00 placed price, 8 % tax in ST1: the totals follow as the agent types...
    expect(totals).to_contain_text("86.40 USD")
    expect(page.get_by_role("region", name="Order lines")).to_contain_text("6.40")
    page.get_by_role("button", name="Update totals").click()
    expect(totals).to_contain_text("86.40 USD")  # ...and the server says the same
    assert "80.00 USD" in totals.inner_text() and "6.40 USD" in totals.inner_text()
    assert _sideways(page) == ""
    assert _serious(page) == []
    page.screenshot(path=str(shots / f"new-order-{width}.png"), full_page=True)
    page.get_by_role("button", name="Create order").click()
    page.wait_for_url(f"{server}/orders/P*")
    order_id = page.url.split("/orders/", 1)[1].split("?", 1)[0]
    assert "86.40 USD due" in page.locator(".flash-success").inner_text()
    payment = page.locator("details.action[open] form")
    assert payment.get_by_label("Amount").input_value() == "86.40"
    payment.get_by_label("Payment method").select_option("card")
    page.screenshot(path=str(shots / f"new-order-pay-{width}.png"), full_page=True)
    payment.get_by_role("button", name="Review…").click()
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(f"{server}/orders/{order_id}")
    order = show_order(sqlite_app, order_id, get_user(sqlite_app, None))
    assert order["status"] == "NEW" and order["totals"]["grand_total"] == "86.40"
    page.context.close()


def focused(page: Any, element_id: str) -> None:
    """Wait until the page's script has put the focus on `element_id` (after the load)."""
    page.wait_for_function(
        f"document.activeElement && document.activeElement.id === {element_id!r}"
    )


def test_wrong_values_are_named_at_their_field(browser: Any, server: str, shots: Path) -> None:
    page = _page(browser, 1280)
    sign_in(page, server)
    page.goto(f"{server}/orders/new")
    page.get_by_label("Find a product").fill("mj")
    page.get_by_role("button", name="Find products").click()
    expect(page.locator("main")).to_contain_text("type at least 3 characters")
    focused(page, "f-product_q")
    page.get_by_label("Find a product").fill("MJ01-L")
    page.get_by_role("button", name="Find products").click()
    page.get_by_role("button", name=f"Add {IN_STOCK}").click()
    page.get_by_label("First name").first.fill("Mercy")
    page.get_by_label("Last name").first.fill("Taylor")
    page.get_by_label("Email").fill("mercy at example")
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("Shipping method").select_option("express")
    page.get_by_label(f"Quantity of {IN_STOCK}").fill("0")
    page.get_by_role("button", name="Create order").click()
    expect(page.locator("main")).to_contain_text("must be between 1 and 100")
    focused(page, "f-lines-0-quantity")
    page.get_by_label(f"Quantity of {IN_STOCK}").fill("1")
    page.get_by_role("button", name="Create order").click()
    expect(page.locator("main")).to_contain_text("expected an e-mail address")
    focused(page, "f-customer-email")
    page.screenshot(path=str(shots / "new-order-error.png"), full_page=True)
    assert page.url == f"{server}/orders/new"
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_the_edit_form_is_the_new_order_s_line_editor(
    browser: Any, server: str, sqlite_app: Postsales, shots: Path, width: int
) -> None:
    """Edit (and a reorder's draft, which is edited) adds lines with the same product finder
    and live totals, rows added as needed, lines to remove ticked; a wrong price is said at
    once and nothing changes until the agent sends it right."""
    page = _page(browser, width)
    sign_in(page, server)
    page.goto(f"{server}/orders/{NEW}")
    page.locator("summary", has_text="Edit order").click()
    form = page.locator("details.action[open] form")
    sku = form.get_by_label("Add SKU, row 1")
    sku.press_sequentially("summ")
    options = form.locator(f"datalist option[value='{IN_STOCK}']")
    options.wait_for(state="attached")
    assert options.get_attribute("label") == "Beaumont Summit Kit, L, Red · 45.00 USD · 4 available"
    sku.fill(IN_STOCK)
    form.get_by_label("Quantity, row 1").fill("2")
    status = form.get_by_role("status")
    expect(status).to_contain_text("subtotal 90.00, tax 7.20, total 97.20 USD")
    form.get_by_role("button", name="Add another product").click()
    form.get_by_label("Add SKU, row 4").fill(IN_STOCK)
    form.get_by_label("Price, row 4").fill("4.999")
    expect(status).to_contain_text("Row 4, price: '4.999' has more than 2 decimals for USD")
    form.get_by_label("Price, row 4").fill("10")
    expect(status).to_contain_text("total 108.00 USD")
    assert _sideways(page) == ""
    assert _serious(page) == []
    page.screenshot(path=str(shots / f"edit-line-editor-{width}.png"), full_page=True)
    before = show_order(sqlite_app, NEW, get_user(sqlite_app, None))["totals"]["grand_total"]
    form.get_by_role("button", name="Edit order").click()
    expect(page.locator(".flash-success")).to_contain_text("Edit order: done")
    after = show_order(sqlite_app, NEW, get_user(sqlite_app, None))
    added = [ln for ln in after["lines"] if ln["sku"] == IN_STOCK and ln["line_number"] > 2]
    assert sorted(ln["original_price"] for ln in added) == ["10.00", "45.00", "45.00"]
    assert Decimal(after["totals"]["grand_total"]) == Decimal(before) + Decimal("108.00")
    page.context.close()
