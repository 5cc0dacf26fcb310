"""Typed action forms, preview then confirm, in real headless Chromium, tried as an agent would
(issue 13 items 1, 2 and 7): an exchange and a reshipment done without typing JSON, a cancel
that waits for confirmation and is sent twice, wrong values typed into every field, the example
plugin's form. Screenshots go to $POSTSALES_SHOTS when set (else the test's tmp folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright
from playwright.sync_api import expect

from postsales.core.bootstrap import Postsales
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.adapters.forms_data import IN_STOCK, NEW, OUT_OF_STOCK, SHIPPED, load
from tests.e2e.test_browser import CHROMIUM, FLAGS, serving, sign_in


@pytest.fixture
def server(sqlite_app: Postsales) -> Iterator[str]:
    load(sqlite_app)
    add_user(sqlite_app, "anna", ["supervisor"], "password-123", "Europe/Berlin")
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("POSTSALES_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def doc(app: Postsales, order_id: str) -> dict:
    return show_order(app, order_id, get_user(app, None))


def open_action(page: Any, server: str, order_id: str, label: str) -> Any:
    page.goto(f"{server}/orders/{order_id}")
    page.locator("summary", has_text=label).click()
    return page.locator("details.action[open] form")


def test_exchange_and_reshipment_without_json(
    page: Any, server: str, sqlite_app: Postsales, shots: Path
) -> None:
    sign_in(page, server)
    form = open_action(page, server, SHIPPED, "New exchange")
    assert form.locator("textarea.mono").count() == 0  # no JSON box
    jacket = form.get_by_label("New SKU")
    assert jacket.count() == 1  # only the jacket has siblings; the other lines say why not
    assert form.locator(f"option[value='{OUT_OF_STOCK}']").is_disabled()
    assert "Not possible: a shipping line" in form.inner_text()
    jacket.select_option(IN_STOCK)
    form.get_by_label("Reason").fill("Too small")
    page.locator("details.action[open]").screenshot(path=str(shots / "exchange-form.png"))
    form.get_by_role("button", name="Review…").click()
    main = page.locator("main")
    assert f"New order {SHIPPED}-E1" in main.inner_text()
    assert "E-mail to veronica.costello@example.com" in main.inner_text()
    page.screenshot(path=str(shots / "exchange-preview.png"), full_page=True)
    assert doc(sqlite_app, SHIPPED)["related_order_ids"] == []  # nothing yet
    page.get_by_role("button", name="Create exchange order").click()
    page.wait_for_url(f"{server}/orders/{SHIPPED}")
    assert [ln["sku"] for ln in doc(sqlite_app, f"{SHIPPED}-E1")["lines"]] == [IN_STOCK]

    form = open_action(page, server, SHIPPED, "New reshipment")
    form.locator("input[name=lines][value='2']").check()
    assert form.locator("input[name=lines][value='5']").is_disabled()  # the shipping charge
    form.get_by_label("Reason").fill("Lost parcel")
    city = form.get_by_label("City")
    assert city.input_value() == "Calder"  # prefilled from the order
    city.fill("Austin")
    page.locator("details.action[open]").screenshot(path=str(shots / "reshipment-form.png"))
    form.get_by_role("button", name="Review…").click()
    assert f"New order {SHIPPED}-R1" in page.locator("main").inner_text()
    page.get_by_role("button", name="Create reshipment order").click()
    page.wait_for_url(f"{server}/orders/{SHIPPED}")
    address = doc(sqlite_app, f"{SHIPPED}-R1")["shipping_address"]
    assert address["city"] == "Austin"
    assert address["address1"] == "6146 Honey Bluff Parkway" and address["last_name"] == "Costello"


def test_cancel_waits_for_confirmation_and_runs_once(
    page: Any, server: str, sqlite_app: Postsales, shots: Path
) -> None:
    sign_in(page, server)
    form = open_action(page, server, NEW, "Cancel order")
    form.get_by_role("button", name="Review…").click()  # no reason: the browser asks for one
    assert page.url == f"{server}/orders/{NEW}"
    assert form.get_by_label("Reason").evaluate("el => el.validity.valueMissing")
    form.get_by_label("Reason").fill("Customer changed their mind")
    form.get_by_role("button", name="Review…").click()
    main = page.locator("main").inner_text()
    assert "REFUND TOTAL" in main.upper() and "118.80 USD" in main
    assert "1 · Beaumont Summit Kit, M, Red" in main and "48.60 USD" in main
    assert "E-mail to veronica.costello@example.com" in main
    page.screenshot(path=str(shots / "cancel-preview.png"), full_page=True)
    assert doc(sqlite_app, NEW)["status"] == "NEW"  # waits for the confirmation
    confirm = page.get_by_role("button", name=f"Cancel order {NEW}")
    sent = confirm.evaluate(
        "b => [...new FormData(b.form)].map(([k, v]) => [k, v])"
    )  # what the confirmation sends, to send it again below
    confirm.dblclick()  # a double click
    page.wait_for_url(f"{server}/orders/{NEW}")
    assert doc(sqlite_app, NEW)["status"] == "CANCELLED"
    # Back and resend: the same form, posted again from the order page.
    page.evaluate(
        """([action, fields]) => { const f = document.createElement('form');
           f.method = 'post'; f.action = action;
           for (const [k, v] of fields) { const i = document.createElement('input');
             i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
           document.body.appendChild(f); f.submit(); }""",
        [f"/orders/{NEW}/actions/cancel", sent],
    )
    page.wait_for_load_state()
    assert "it was not done again" in page.locator("main").inner_text()
    assert [r["kind"] for r in doc(sqlite_app, NEW)["refunds"]] == ["CANCELLATION"]


def _error_of(page: Any, fid: str) -> str:
    return page.locator(f"#{fid}-error").inner_text()


def test_wrong_values_in_every_field(
    page: Any, server: str, sqlite_app: Postsales, shots: Path
) -> None:
    sign_in(page, server)
    before = doc(sqlite_app, SHIPPED)

    def appease(line: str, amount: str) -> None:
        form = open_action(page, server, SHIPPED, "New appeasement")
        line_box = form.get_by_label("Line")
        if line not in line_box.evaluate("el => [...el.options].map(o => o.value)"):
            # What no list offers, sent anyway (a stale page, a tampered form).
            line_box.evaluate(f"el => el.add(new Option('line {line}', '{line}'))")
        line_box.select_option(line)
        form.get_by_label("Amount").fill(amount)
        form.get_by_label("Reason").fill("Late")
        form.get_by_role("button", name="Review…").click()

    form = open_action(page, server, SHIPPED, "New appeasement")
    form.get_by_label("Line").select_option("2")  # the hint follows the line chosen
    assert form.locator(".hint-limit").inner_text() == "At most 50.00 USD left to appease on line 2"

    for amount, said in [
        ("-5", "Amount: must be more than 0"),
        ("0", "Amount: must be more than 0"),
        ("abc", "Amount: expected an amount"),
        ("1.001", "Amount:"),
        ("9999", "Amount: 9999.00 USD is more than 45.00 USD left to appease on line 1"),
    ]:
        appease("1", amount)
        assert said in _error_of(page, "f-appeasement-amount"), amount
        assert page.locator("#f-appeasement-amount").get_attribute("aria-invalid") == "true"
        # The page's script moves the focus there after the load: expect() waits for it.
        expect(page.locator("#f-appeasement-amount")).to_be_focused()
    page.locator("details.action[open]").screenshot(path=str(shots / "appeasement-error.png"))
    appease("99", "5")
    assert "Line: order 000000101 has no line 99" in _error_of(page, "f-appeasement-line")

    form = open_action(page, server, SHIPPED, "New return")
    form.locator("input[name=lines][value='1']").check()
    form.get_by_label("Reason").select_option("Damaged")
    form.get_by_label("Comment").fill("   ")
    form.get_by_role("button", name="Review…").click()
    assert "Comment: a comment is required" in _error_of(page, "f-return-comment")
    expect(page.locator("#f-return-comment")).to_be_focused()

    form = open_action(page, server, SHIPPED, "New reshipment")
    form.locator("input[name=lines][value='2']").check()
    form.get_by_label("Reason").fill("Lost")
    method = form.get_by_label("Shipping method")
    method.evaluate("el => el.add(new Option('teleport', 'teleport'))")
    method.select_option("teleport")
    form.get_by_role("button", name="Review…").click()
    assert "is not a shipping method" in _error_of(page, "f-reshipment-shipping_method")

    form = open_action(page, server, SHIPPED, "New exchange")
    sku = form.get_by_label("New SKU")
    sku.evaluate("el => el.add(new Option('NOPE-1', 'NOPE-1'))")
    sku.select_option("NOPE-1")
    form.get_by_role("button", name="Review…").click()
    assert "NOPE-1 is not in the catalog" in _error_of(page, "f-exchange-items")
    assert page.locator("#f-exchange-items-1-sku").get_attribute("aria-invalid") == "true"
    # The first invalid input of the line rows: the SKU choice of line 1.
    expect(page.locator("[name=items-1-sku]")).to_be_focused()

    after = doc(sqlite_app, SHIPPED)
    assert after["refunds"] == before["refunds"] and after["returns"] == before["returns"]
    assert after["related_order_ids"] == [] and len(after["history"]) == len(before["history"])


def test_the_example_plugin_gets_the_same_widgets(
    page: Any, server: str, sqlite_app: Postsales, shots: Path
) -> None:
    if "store_credit" not in sqlite_app.registry.actions:
        pytest.fail("the example plugin examples/plugins/postsales-store-credit is not installed")
    sign_in(page, server)
    form = open_action(page, server, SHIPPED, "Store credit")
    options = form.get_by_label("Line").inner_text()
    assert "Beaumont Summit Kit, M, Red" in options and "45.00 USD left to credit" in options
    assert "USD" in form.locator(".currency").inner_text()
    form.get_by_label("Line").select_option("1")
    form.get_by_label("Amount").fill("45.01")
    form.get_by_role("button", name="Review…").click()
    said = _error_of(page, "f-store_credit-amount")
    assert "more than 45.00 USD left to credit on line 1" in said
    form = page.locator("details.action[open] form")
    form.get_by_label("Amount").fill("12.00")
    form.get_by_role("button", name="Review…").click()
    page.get_by_role("button", name="Issue 12.00 store credit").click()
    page.wait_for_url(f"{server}/orders/{SHIPPED}")
    page.screenshot(path=str(shots / "store-credit-done.png"), full_page=True)
    assert [r["amount"] for r in doc(sqlite_app, SHIPPED)["refunds"]] == ["12.00"]


def test_comment_line_breaks_show(page: Any, server: str) -> None:
    sign_in(page, server)
    page.goto(f"{server}/orders/{SHIPPED}")
    page.get_by_label("Add a comment").fill("First line\nSecond line")
    page.get_by_role("button", name="Save comment").click()
    page.wait_for_url(f"{server}/orders/{SHIPPED}")
    cell = page.locator("#history tr.kind-comment .summary").first
    assert cell.inner_text() == "First line\nSecond line"
