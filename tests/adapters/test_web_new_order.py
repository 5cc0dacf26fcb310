"""`/orders/new` (issue 13 item 6, A-12/A-13): an agent finds the customer, the products and
places a draft, through Flask's test client. The same in Chromium:
tests/e2e/test_browser_new_order.py."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.adapters.forms_data import IN_STOCK, NEW, OUT_OF_STOCK, load
from tests.adapters.test_api import order_count
from tests.adapters.test_web import PASSWORD, make_web, post, sign_in

CUSTOMER = "veronica.costello@example.com"


@pytest.fixture
def services(sqlite_app: Postsales) -> Postsales:
    load(sqlite_app)
    add_user(sqlite_app, "anna", ["agent"], PASSWORD, "Europe/Berlin")
    return sqlite_app


@pytest.fixture
def web(services: Postsales) -> Flask:
    return make_web(services)


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    c = web.test_client()
    sign_in(c)
    return c


def fields(html: str) -> dict[str, str]:
    """The form's inputs as the browser would send them (text, hidden, selected options)."""
    form = html.split('class="new-order"', 1)[1].split("</form>", 1)[0]
    out: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            out[name[1]] = value[1] if value else ""
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = chosen[1] if chosen else ""
    out.pop("csrf_token", None)
    return out


def send(client: FlaskClient, html: str, **changes: Any) -> Any:
    return post(client, "/orders/new", {**fields(html), **changes})


# A new customer and her address, as an agent types them.
MERCY = {
    "customer.first_name": "Mercy",
    "customer.last_name": "Taylor",
    "customer.email": "mercy@example.com",
    "shipping_address.address1": "1 Main St",
    "shipping_address.city": "Austin",
    "shipping_method": "express",
}


def with_a_line(client: FlaskClient) -> str:
    """The new-order page with one unit of the in-stock jacket added."""
    page = client.get("/orders/new").text
    page = send(client, page, product_q="MJ01-L", step="find_products").text
    return str(send(client, page, add=IN_STOCK).text)


def test_an_agent_finds_the_customer_and_products_and_creates_a_taxed_draft(
    services: Postsales, client: FlaskClient
) -> None:
    page = client.get("/orders/new")
    assert page.status_code == 200
    assert '<label for="f-customer_q">Find a customer</label>' in page.text
    # Part of a name finds the customer; "Use" brings their latest shipping address.
    found = send(client, page.text, customer_q="costel", step="find_customer")
    assert found.status_code == 200 and CUSTOMER in found.text
    customer_id = re.search(r'name="use_customer" value="([^"]+)"', found.text)[1]
    chosen = send(client, found.text, use_customer=customer_id)
    assert f'name="customer_id" value="{customer_id}"' in chosen.text
    assert fields(chosen.text)["shipping_address.city"] == "Calder"
    # Three characters of a name find the products with their price and stock.
    products = send(client, chosen.text, product_q="summit", step="find_products")
    assert IN_STOCK in products.text and "45.00 USD" in products.text
    row = products.text.split(f'<td data-label="SKU" class="mono">{OUT_OF_STOCK}</td>', 1)[1]
    assert "out of stock" in row.split("</tr>", 1)[0]
    added = send(client, products.text, add=IN_STOCK)
    added = send(client, added.text, **{"lines-0-quantity": "2", "step": "update"})
    # ST1 adds 8 % to the lines: 2 x 45.00 = 90.00 + 7.20 tax.
    totals = added.text.split('aria-label="Order totals"', 1)[1].split("Update totals", 1)[0]
    assert "90.00 USD" in totals and "7.20 USD" in totals and "97.20 USD" in totals
    before = order_count(services)
    created = send(client, added.text, shipping_method="express", step="create")
    assert created.status_code == 303, created.text
    location = urlsplit(created.headers["Location"])
    order_id = location.path.rsplit("/", 1)[1]
    assert parse_qs(location.query) == {"open": ["add_payment"], "amount": ["97.20"]}
    assert order_count(services) == before + 1
    order = show_order(services, order_id, get_user(services, None))
    assert order["status"] == "DRAFT" and order["customer"]["email"] == CUSTOMER
    assert order["shipping_address"]["city"] == "Calder"
    assert [ln["sku"] for ln in order["lines"]] == [IN_STOCK, IN_STOCK]
    assert order["totals"]["grand_total"] == "97.20"
    # Its page opens the payment form with the amount due; paying it places the order.
    shown = client.get(created.headers["Location"])
    form = shown.text
    assert re.search(r"<details class=\"action\" open>\s*<summary>Add payment", form)
    assert 'name="amount" inputmode="decimal" autocomplete="off" value="97.20"' in form
    paid = post(
        client,
        f"/orders/{order_id}/actions/add_payment",
        {"method": "card", "amount": "97.20", "preview": ""},
    )
    assert paid.status_code in (302, 303), paid.text
    assert show_order(services, order_id, get_user(services, None))["status"] == "NEW"


def test_the_create_form_sent_twice_makes_one_order(
    services: Postsales, client: FlaskClient
) -> None:
    page = with_a_line(client)
    data = {**MERCY, "shipping_address.country_code": "US", "step": "create"}
    before = order_count(services)
    first = send(client, page, **data)
    second = send(client, page, **data)
    assert first.status_code == 303 and second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert order_count(services) == before + 1
    # The new customer's names go on the parcel when the address leaves them out.
    order_id = urlsplit(first.headers["Location"]).path.rsplit("/", 1)[1]
    shipping = show_order(services, order_id, get_user(services, None))["shipping_address"]
    assert (shipping["first_name"], shipping["last_name"], shipping["city"]) == (
        "Mercy",
        "Taylor",
        "Austin",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"customer.email": "not-an-address"},
            "customer.email",
            "Customer's email: expected an e-mail address",
        ),
        ({"customer.first_name": ""}, "customer.first_name", "a value is required"),
        ({"shipping_method": ""}, "shipping_method", "missing required parameter"),
        ({"lines-0-quantity": "0"}, "lines-0-quantity", "Line 1, quantity: must be between 1"),
        ({"lines-0-quantity": "two"}, "lines-0-quantity", "expected a whole number"),
        ({"lines-0-price": "4.999"}, "lines-0-price", "decimals"),
        ({"lines-0-price": "-1"}, "lines-0-price", "must not be negative"),
        ({"sales_channel": "XX"}, "sales_channel", "unknown sales channel 'XX'"),
    ],
)
def test_wrong_input_is_named_next_to_its_field_and_creates_nothing(
    services: Postsales, client: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    page = with_a_line(client)
    good = MERCY
    before = order_count(services)
    answer = send(client, page, **{**good, **changes, "step": "create"})
    assert answer.status_code in (409, 422), answer.status_code
    assert message in html.unescape(answer.text)
    fid = "f-" + field.replace(".", "-")
    assert re.search(rf'id="{re.escape(fid)}"[^>]*aria-invalid="true"', answer.text), fid
    assert order_count(services) == before


def test_searches_need_three_characters_and_say_when_nothing_matches(
    client: FlaskClient,
) -> None:
    page = client.get("/orders/new").text
    short = send(client, page, product_q="mj", step="find_products")
    assert "type at least 3 characters of a SKU or product name" in short.text
    assert re.search(r'id="f-product_q"[^>]*aria-invalid="true"', short.text)
    long = send(client, page, product_q="y" * 100_000, step="find_products")
    assert long.status_code == 200 and "Find a product: at most 256 characters" in long.text
    far = send(client, page, customer_q="x" * 5000, step="find_customer")
    assert "Find a customer: at most 256 characters" in far.text
    unknown = send(client, page, add="NOPE-SKU")
    assert "unknown SKU" in html.unescape(unknown.text)
    none = send(client, page, product_q="zzzz%", step="find_products")
    assert "No product matches" in none.text
    nobody = send(client, page, customer_q="nobody-like-this", step="find_customer")
    assert "No customer in this store matches" in nobody.text
    # Enter in a search box presses the form's first button, which searches what was typed.
    entered = send(client, page, product_q="summit", step="enter")
    assert IN_STOCK in entered.text


def test_the_product_finder_serves_every_line_editor(client: FlaskClient) -> None:
    """The JSON the page script reads, on /orders/new and in an order's edit form."""
    answer = client.get("/orders/new/products?sales_channel=ST1&q=summit")
    assert answer.status_code == 200
    found = {p["sku"]: p for p in answer.get_json()["products"]}
    assert (found[IN_STOCK]["price"], found[IN_STOCK]["available"]) == ("45.00", 4)
    assert found[OUT_OF_STOCK]["available"] == 0
    short = client.get("/orders/new/products?sales_channel=ST1&q=mj")
    assert short.status_code == 422 and short.get_json()["field"] == "product_q"
    elsewhere = client.get("/orders/new/products?sales_channel=XX&q=summit")
    assert elsewhere.status_code == 422 and elsewhere.get_json()["field"] == "sales_channel"
    page = client.get(f"/orders/{NEW}").text
    form = page.split(f'action="/orders/{NEW}/actions/edit"', 1)[1].split("</form>", 1)[0]
    assert 'data-products="/orders/new/products?sales_channel=ST1"' in form
    assert form.count("data-sku-finder") == 3  # each product row of the line editor


def test_the_line_editor_quotes_its_rows_as_the_order_will_hold_them(client: FlaskClient) -> None:
    """The live totals of every line editor (new order, edit): rows priced and taxed by the
    server at the store's rate, answered per row as the page numbers it (a row left empty is
    skipped), and a wrong value named at its row's input; nothing is created."""
    answer = client.get(
        "/orders/new/quote?sales_channel=ST1&lines-0-sku=&lines-2-sku=" + IN_STOCK
        + "&lines-2-quantity=2&lines-5-sku=" + OUT_OF_STOCK + "&lines-5-price=1000"
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    quote = answer.get_json()
    rows = {r["row"]: r for r in quote["rows"]}
    assert sorted(rows) == [2, 5]
    assert (rows[2]["tax"], rows[2]["total"], rows[2]["available"]) == ("7.20", "97.20", "4")
    assert (rows[5]["total"], rows[5]["short"]) == ("1,080.00", 1)  # grouped, as pages show
    assert (quote["net"], quote["tax"], quote["gross"]) == ("1,090.00", "87.20", "1,177.20")
    for query, field in (
        (f"lines-3-sku={IN_STOCK}&lines-3-price=4.999", "lines-3-price"),
        (f"lines-3-sku={IN_STOCK}&lines-3-quantity=two", "lines-3-quantity"),
        ("lines-1-sku=NOPE", "lines-1-sku"),
    ):
        wrong = client.get(f"/orders/new/quote?sales_channel=ST1&{query}")
        assert wrong.status_code == 422 and wrong.get_json()["field"] == field, wrong.text
    elsewhere = client.get(f"/orders/new/quote?sales_channel=XX&lines-0-sku={IN_STOCK}")
    assert elsewhere.status_code == 422 and elsewhere.get_json()["field"] == "sales_channel"
    # A row number no page makes is not a row (and not a server error).
    silly = client.get(f"/orders/new/quote?sales_channel=ST1&lines-{'9' * 5000}-sku={IN_STOCK}")
    assert silly.status_code == 200 and silly.get_json()["rows"] == []
