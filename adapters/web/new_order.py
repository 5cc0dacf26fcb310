"""`/orders/new`: an agent creates an order for a customer on the phone (A-12), then pays it
(A-13) on the order page, which places it.

One form, sent back to itself as the agent works: find the customer (or type a new one), the
shipping address (prefilled from the customer's latest order) and method, products found from
three characters of SKU or name with their price and stock, quantities and placed prices. Each
send shows the lines priced and taxed as the order will hold them (`quote_lines`); "Create
order" runs `create_order` once however often it is sent (`once.py`). Pressing Enter in a search
box searches: the form's first button is the one that reads both boxes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import attrs
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput, PostsalesError
from postsales.core.money import ZERO, format_amount
from postsales.core.services.customers import CustomerMatch, find_customers, show_customer
from postsales.core.services.drafts import (
    CUSTOMER_FIELDS,
    ProductOffer,
    Quote,
    create_order,
    find_products,
    quote_lines,
)
from postsales.core.widgets import ADDRESS_LABELS

from . import once
from .context import grouped, require, services, user
from .errors import shown_inline, status_for

bp = Blueprint("new_order", __name__)

NEW_CUSTOMER_LABELS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
)
MAX_ROWS = 50  # line rows the page carries (each may hold up to 100 units)
_ROW = re.compile(r"^lines-(\d{1,4})-sku$")  # 4 digits: a row number, not a 5,000-digit int


@attrs.define
class Page:
    """What the form holds, and what this send found out."""

    values: MultiDict[str, str]
    channel_id: str
    customer: Any = None  # the chosen customer (core `Customer`), or None for a new one
    rows: list[dict[str, str]] = attrs.field(factory=list)
    customers: list[CustomerMatch] | None = None  # finder results, None when not searched
    products: list[ProductOffer] | None = None
    quote: Quote | None = None
    errors: dict[str, str] = attrs.field(factory=dict)
    error: str | None = None


def _channels() -> list[tuple[str, Any]]:
    configured = services().settings.sales_channels
    return [(cid, ch) for cid, ch in sorted(configured.items()) if user().sees(cid)]


def _row_numbers(form: MultiDict[str, str]) -> list[int]:
    """The numbers of the rows that name a SKU, as the page numbers them (a row left empty
    is skipped, so a line's number in the core differs from its row's)."""
    numbers = sorted(int(m[1]) for k in form if (m := _ROW.match(k)))
    return [i for i in numbers[:MAX_ROWS] if form.get(f"lines-{i}-sku", "").strip()]


def _rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    rows = []
    for i in _row_numbers(form):
        sku = form.get(f"lines-{i}-sku", "").strip()
        if sku:
            rows.append({
                "sku": sku,
                "quantity": form.get(f"lines-{i}-quantity", "").strip(),
                "price": form.get(f"lines-{i}-price", "").strip(),
                "name": form.get(f"lines-{i}-name", "").strip(),
            })  # fmt: skip
    return rows


def _row_params(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for row in rows:
        line = {"sku": row["sku"], "quantity": row["quantity"] or "1"}
        if row["price"]:
            line["price"] = row["price"]
        out.append(line)
    return out


def _field_name(path: str | None) -> str | None:
    """The form input an error's path names: `lines[0].price` -> `lines-0-price`."""
    if not path:
        return None
    match = re.match(r"^lines\[(\d+)\]\.(\w+)$", path)
    return f"lines-{match[1]}-{match[2]}" if match else path


def _label(path: str) -> str:
    """The words an agent reads for a parameter path (`lines[0].quantity` -> "Line 1,
    quantity"), as the form labels it."""
    part, _, key = path.partition(".")
    if part == "customer" and key:
        return f"Customer's {dict(NEW_CUSTOMER_LABELS).get(key, key).lower()}"
    if part == "shipping_address" and key:
        return f"Shipping address, {dict(ADDRESS_LABELS).get(key, key).lower()}"
    match = re.match(r"^lines\[(\d+)\]$", part)
    if match:
        return f"Line {int(match[1]) + 1}" + (f", {key.replace('_', ' ')}" if key else "")
    return {"customer_q": "Find a customer", "product_q": "Find a product"}.get(
        path, path.replace("_", " ").capitalize()
    )


def _fail(page: Page, exc: PostsalesError) -> None:
    field = _field_name(exc.field)
    message = exc.message
    if exc.field and message.startswith(f"{exc.field}: "):
        message = f"{_label(exc.field)}: {message[len(exc.field) + 2 :]}"
    page.error = message
    if field:
        page.errors[field] = message


def _chosen_customer(page: Page) -> None:
    customer_id = page.values.get("customer_id", "").strip()
    if not customer_id:
        return
    try:
        page.customer = show_customer(services(), user(), customer_id)
    except PostsalesError as exc:
        _fail(page, exc)


def _prefill_address(page: Page) -> None:
    """A customer just chosen brings the address of their latest order (the agent may change
    it); a typed address is never overwritten."""
    if page.customer is None or not page.customer.addresses:
        return
    typed = any(page.values.get(f"shipping_address.{k}", "").strip() for k, _ in ADDRESS_LABELS)
    if typed:
        return
    for key, value in page.customer.addresses[0].address.items():
        page.values.setlist(f"shipping_address.{key}", [value])


def _search(page: Page, pressed: str) -> None:
    app, who = services(), user()
    customer_q = page.values.get("customer_q", "").strip()
    if customer_q and page.customer is None and pressed in ("find_customer", "enter"):
        try:
            page.customers = find_customers(app, who, customer_q, sales_channel=page.channel_id)
        except BadInput as exc:
            _fail(page, exc)
    product_q = page.values.get("product_q", "").strip()
    # The results stay after an "Add", so several products are added from one search.
    if product_q and (pressed in ("find_products", "enter") or "add" in page.values):
        try:
            page.products = find_products(app, who, page.channel_id, product_q)
        except BadInput as exc:
            _fail(page, exc)


def _add(page: Page, sku: str) -> None:
    """A product found is added with one unit at the channel's price (which the agent may
    change); adding it again adds a unit to its row."""
    for row in page.rows:
        if row["sku"] == sku:
            quantity = row["quantity"]
            row["quantity"] = str(int(quantity) + 1) if quantity.isdigit() else quantity
            return
    try:
        found = find_products(services(), user(), page.channel_id, sku)
    except BadInput as exc:
        _fail(page, exc)
        return
    offer = next((p for p in found if p.sku == sku), None)
    if offer is None:
        page.error = f"unknown SKU {sku!r}"
        return
    price = "" if offer.price is None else format_amount(offer.price, offer.currency)
    page.rows.append({"sku": sku, "quantity": "1", "price": price, "name": offer.name})


def _order_params(page: Page) -> dict[str, Any]:
    v = page.values
    params: dict[str, Any] = {
        "sales_channel": page.channel_id,
        "shipping_method": v.get("shipping_method", "").strip(),
        "lines": _row_params(page.rows),
    }
    if page.customer is not None:
        params["customer"] = page.customer.id
    else:
        typed = {k: v.get(f"customer.{k}", "").strip() for k, _ in NEW_CUSTOMER_LABELS}
        params["customer"] = {k: t for k, t in typed.items() if t and k in CUSTOMER_FIELDS}
    address = {k: v.get(f"shipping_address.{k}", "").strip() for k, _ in ADDRESS_LABELS}
    if isinstance(params["customer"], dict) and any(address.values()):
        # A new customer's parcel goes to them unless the address names someone else.
        for key in ("first_name", "last_name"):
            address[key] = address[key] or params["customer"].get(key, "")
    params["shipping_address"] = {k: t for k, t in address.items() if t}
    return params


def _page(form: MultiDict[str, str]) -> Page:
    channels = _channels()
    wanted = form.get("sales_channel", "").strip()
    known = [cid for cid, _ in channels]
    channel_id = wanted if wanted in known else (known[0] if known else "")
    page = Page(values=MultiDict(form), channel_id=channel_id, rows=_rows(form))
    if wanted and wanted not in known:
        page.errors["sales_channel"] = (
            f"unknown sales channel {wanted!r}; known: {', '.join(known)}"
        )
    return page


def _render(page: Page, status: int = 200) -> tuple[str, int]:
    channels = _channels()
    channel = dict(channels).get(page.channel_id)
    return render_template(
        "new_order.html",
        page=page,
        values=page.values,
        channels=channels,
        channel=channel,
        address_labels=ADDRESS_LABELS,
        customer_labels=NEW_CUSTOMER_LABELS,
    ), status


@bp.route("/orders/new/products")
def products() -> tuple[dict[str, Any], int]:
    """The product finder of every line editor (a new order, an order's edit form): products
    from 3 characters of SKU or name with their price and stock in `sales_channel`, as JSON
    for the page's script; 422 naming the field for a bad channel or a short text."""
    require("orders.view")
    try:
        found = find_products(
            services(), user(), request.args.get("sales_channel", ""), request.args.get("q", "")
        )
    except BadInput as exc:
        return {"error": exc.message, "field": exc.field}, 422
    return {"products": [p.to_dict() for p in found]}, 200


@bp.route("/orders/new/quote")
def quote() -> tuple[dict[str, Any], int]:
    """The line editor's live totals (a new order, an order's added lines): the rows
    `lines-N-sku`, `-quantity`, `-price` priced and taxed in `sales_channel` as they would be
    created, as JSON; 422 naming the row's input (`lines-N-price`) for a value that is wrong."""
    require("orders.view")
    rows = _rows(request.args)
    numbers = _row_numbers(request.args)
    try:
        priced = quote_lines(services(), user(), request.args.get("sales_channel", ""),
                             _row_params(rows))  # fmt: skip
    except BadInput as exc:
        field = _field_name(exc.field)
        match = re.match(r"^lines-(\d+)-(\w+)$", field or "")
        if match and int(match[1]) < len(numbers):  # the row as the page numbers it
            field = f"lines-{numbers[int(match[1])]}-{match[2]}"
        message = exc.message
        if exc.field and message.startswith(f"{exc.field}: "):
            message = message[len(exc.field) + 2 :]
        return {"error": message, "field": field}, 422

    def shown(amount: Decimal) -> str:  # as the page shows amounts: 1,234.50
        return grouped(format_amount(amount, priced.currency))

    out = []
    for number, row, (first, units) in zip(numbers, rows, priced.rows, strict=True):
        lines = priced.lines[first - 1 : first - 1 + units]
        have = priced.stock.get(row["sku"], 0)
        out.append({
            "row": number,
            "tax": shown(sum((ln.tax_amount for ln in lines), ZERO)),
            "total": shown(sum((ln.gross_amount for ln in lines), ZERO)),
            "available": grouped(have),
            "short": max(0, units - have),
        })  # fmt: skip
    return {
        "currency": priced.currency,
        "rows": out,
        "net": shown(priced.net),
        "tax": shown(priced.tax),
        "gross": shown(priced.gross),
    }, 200


@bp.route("/orders/new", methods=["GET", "POST"])
def new() -> Response | tuple[str, int]:
    require("orders.create")
    form = request.form if request.method == "POST" else request.args
    page = _page(form)
    pressed = form.get("step", "")
    if "use_customer" in form:
        page.values.setlist("customer_id", [form["use_customer"]])
    if "clear_customer" in form:
        page.values.setlist("customer_id", [""])
    if "sales_channel" in page.errors:
        return _render(page, 422)
    _chosen_customer(page)
    if "use_customer" in form or request.method == "GET":  # picked here, or from their page
        _prefill_address(page)
    if "add" in form:
        _add(page, form["add"].strip())
    if "remove" in form and form["remove"].isdigit():
        index = int(form["remove"])
        if 0 <= index < len(page.rows):
            page.rows.pop(index)
    if pressed == "channel":
        for row in page.rows:  # another store's prices apply
            row["price"] = ""
    _search(page, pressed)
    if page.rows and not page.errors:
        try:
            page.quote = quote_lines(services(), user(), page.channel_id, _row_params(page.rows))
        except PostsalesError as exc:
            if not shown_inline(exc):
                raise
            _fail(page, exc)
    if pressed != "create" or request.method != "POST":
        return _render(page, 422 if page.errors and pressed == "update" else 200)
    return _create(page)


def _create(page: Page) -> Response | tuple[str, int]:
    sent = once.sent_form()
    if sent is not None and (replay := once.answered(sent)) is not None:
        return replay
    if page.errors:
        return _render(page, 422)
    params = _order_params(page)
    keyed = once.with_answer(sent, _done)
    try:
        document = create_order(services(), params, user(), keyed=keyed)
    except PostsalesError as exc:
        if sent is not None and (replay := once.answered(sent)) is not None:
            return replay
        if not shown_inline(exc):
            raise
        _fail(page, exc)
        return _render(page, status_for(exc))
    location, message = _done(document)
    flash(message, "success")
    return redirect(location, 303)


def _done(document: dict[str, Any]) -> tuple[str, str]:
    """To the new draft's page with its payment form open: paying it places it (A-13)."""
    total = document["totals"]["total_due"]
    message = (
        f"Draft order {document['id']} created: {total} {document['currency']} due. Record the "
        "customer's payment to place it."
    )
    location = url_for("orders.show", order_id=document["id"], open="add_payment", amount=total,
                       _anchor="actions")  # fmt: skip
    return location, message
