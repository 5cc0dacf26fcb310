"""`sales.order_management.create`: an order as a web store sends it, read into typed records."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from ..domain.customers import CUSTOMER_TYPES, Address, Customer
from ..domain.orders import PRODUCT_TYPES, Order, OrderLine, Payment, PaymentOperation
from ..limits import MAX_LIST
from ..links import check_link
from .read import (
    ADDRESS_FIELDS,
    CURRENCY_PATTERN,
    JSON_SCALARS,
    ORDER_ID_MAX,
    ORDER_ID_PATTERN,
    ZERO,
    Amounts,
    amounts_for,
    as_object,
    fail,
    join_path,
    opt_id,
    opt_list,
    opt_str,
    plain_json,
    read_rate,
    read_time,
    req_dict,
    req_id,
    req_int,
    req_list,
    req_str,
    show,
)

# -- sales.order_management.create ---------------------------------------------------------------


# The order-create records are built for every line of every imported order. Frozen attrs
# classes with slots set each field through object.__setattr__ (about twice the cost of the
# whole __init__ otherwise); without slots attrs writes __dict__ directly. Hence slots=False.


@attrs.frozen(slots=False)
class OrderCreateCustomer:
    """The customer snapshot of an incoming order."""

    id: str
    type: str
    first_name: str
    last_name: str
    email: str
    phone: str


@attrs.frozen(slots=False)
class OrderCreatePayment:
    """A payment of an incoming order; amounts quantised to the order's currency."""

    reference: str
    method: str
    payment_id: str
    requested_amount: Decimal
    captured_amount: Decimal


@attrs.frozen(slots=False)
class OrderCreateLine:
    """An order line as sent; `quantity` N becomes N unit lines in `to_order` (SPEC §2).

    Amounts are per unit. `taxes` and `promotions` are JSON-safe dicts, copied into each line.
    """

    line_number: int
    sku: str
    name: str
    product_type: str
    parent_sku: str | None
    parent_line_number: int | None
    image_url: str
    shipping_address_reference: str | None
    quantity: int
    original_price: Decimal
    discount: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal
    tax_rate: Decimal
    taxes: tuple[dict[str, Any], ...]
    promotions: tuple[dict[str, Any], ...]

    def to_lines(self, extra_numbers: Iterator[int]) -> list[OrderLine]:
        """The unit lines: the first keeps `line_number`, the others take `extra_numbers`."""
        units = []
        for unit in range(self.quantity):
            units.append(
                OrderLine(
                    line_number=self.line_number if unit == 0 else next(extra_numbers),
                    sku=self.sku,
                    name=self.name,
                    product_type=self.product_type,
                    parent_sku=self.parent_sku,
                    parent_line_number=self.parent_line_number,
                    image_url=self.image_url,
                    original_price=self.original_price,
                    discount=self.discount,
                    net_amount=self.net_amount,
                    tax_amount=self.tax_amount,
                    gross_amount=self.gross_amount,
                    tax_rate=self.tax_rate,
                    taxes=list(map(dict, self.taxes)),
                    promotions=list(map(dict, self.promotions)),
                )
            )
        return units


@attrs.frozen(slots=False)
class OrderCreate:
    """A validated `sales.order_management.create`: addresses resolved, amounts checked."""

    id: str
    client_order_reference: str | None
    sales_channel_id: str
    language: str
    vat_country: str
    currency: str
    origin: str
    origin_date: datetime
    customer: OrderCreateCustomer
    addresses: dict[str, Address]
    billing_address: Address
    shipping_address: Address
    shipping_method: str
    payments: tuple[OrderCreatePayment, ...]
    lines: tuple[OrderCreateLine, ...]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OrderCreate:
        return _parse_order_create(payload)

    def to_order(self, now: datetime) -> Order:
        """The new order aggregate (status NEW, type NORMAL, created at `now`); fresh objects on
        every call, so the payload can be applied again after a rolled-back attempt."""
        c = self.customer
        customer = Customer(
            id=c.id,
            type=c.type,
            first_name=c.first_name,
            last_name=c.last_name,
            email=c.email,
            phone=c.phone,
        )
        payments = []
        for p in self.payments:
            payment = Payment(
                reference=p.reference,
                method=p.method,
                payment_id=p.payment_id,
                requested_amount=p.requested_amount,
                captured_amount=p.captured_amount,
            )
            if p.captured_amount > ZERO:
                # The store captured before sending the order: log it as the first operation so
                # refunds have a capture to refer to.
                payment.operations.append(
                    PaymentOperation(
                        event="capture",
                        amount=p.captured_amount,
                        response="imported",
                        at=self.origin_date,
                    )
                )
            payments.append(payment)
        # Units beyond the first of a quantity take numbers after the highest one sent.
        extra_numbers = itertools.count(max(line.line_number for line in self.lines) + 1)
        lines = []
        for line in self.lines:
            lines.extend(line.to_lines(extra_numbers))
        return Order(
            id=self.id,
            sales_channel=self.sales_channel_id,
            currency=self.currency,
            customer=customer,
            created_at=now,
            origin_date=self.origin_date,
            status="NEW",
            order_type="NORMAL",
            client_order_reference=self.client_order_reference,
            origin=self.origin,
            language=self.language,
            vat_country=self.vat_country,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            shipping_method=self.shipping_method,
            lines=lines,
            payments=payments,
        )


def _parse_order_create(payload: dict[str, Any]) -> OrderCreate:
    order = req_dict(payload, "order", "payload")
    base = "payload.order"
    order_id = req_id(order, "id", base)
    if len(order_id) > ORDER_ID_MAX or not ORDER_ID_PATTERN.fullmatch(order_id):
        fail(
            f"{base}.id",
            f"expected at most {ORDER_ID_MAX} characters of A-Z a-z 0-9 . _ -, "
            f"got {show(order_id)}",
        )
    currency = req_str(order, "currency", base)
    if not CURRENCY_PATTERN.fullmatch(currency):
        fail(f"{base}.currency", f"expected a 3-letter upper-case currency code, got {currency!r}")
    amounts = amounts_for(currency)

    customer = _parse_customer(req_dict(order, "customer", base))
    addresses = _parse_addresses(order, base)
    billing_ref = req_id(order, "billing_address_reference", base)
    billing = addresses.get(billing_ref)
    if billing is None:
        fail(f"{base}.billing_address_reference", _unknown_address(billing_ref, addresses))

    payments = []
    for i, raw in enumerate(opt_list(order, "payments", base)):
        pbase = f"{base}.payments[{i}]"
        if raw.__class__ is not dict:
            as_object(raw, pbase)
        payments.append(
            OrderCreatePayment(
                reference=opt_id(raw, "reference", pbase) or "",
                method=req_str(raw, "method", pbase),
                payment_id=opt_id(raw, "payment_id", pbase) or "",
                requested_amount=amounts.required(raw, "requested_amount", pbase),
                captured_amount=amounts.optional(raw, "captured_amount", pbase),
            )
        )

    raw_lines = req_list(order, "order_lines", base)
    if not raw_lines:
        fail(f"{base}.order_lines", "expected at least one order line, got none")
    lines = []
    index_of: dict[int, int] = {}  # line number → index in order_lines, for duplicate errors
    for i, raw in enumerate(raw_lines):
        line = _parse_line(raw, f"{base}.order_lines[{i}]", amounts, addresses)
        number = line.line_number
        if number in index_of:
            fail(
                f"{base}.order_lines[{i}].line_number",
                f"duplicate line number {number} (also at order_lines[{index_of[number]}])",
            )
        index_of[number] = i
        lines.append(line)
    for i, line in enumerate(lines):
        parent = line.parent_line_number
        if parent is not None and (parent == line.line_number or parent not in index_of):
            fail(
                f"{base}.order_lines[{i}].parent_line_number",
                f"{parent} is not another line of this order (lines: "
                f"{', '.join(map(str, index_of))})",
            )

    ship_ref = lines[0].shipping_address_reference
    return OrderCreate(
        id=order_id,
        client_order_reference=opt_id(order, "client_order_reference", base),
        sales_channel_id=req_id(order, "sales_channel_id", base),
        language=opt_str(order, "language", base, "en_US"),
        vat_country=opt_str(order, "vat_country", base, ""),
        currency=currency,
        origin=opt_str(order, "origin", base, "WEB"),
        origin_date=read_time(order.get("origin_date"), f"{base}.origin_date"),
        customer=customer,
        addresses=addresses,
        billing_address=billing,
        shipping_address=billing if ship_ref is None else addresses[ship_ref],
        shipping_method=opt_str(order, "shipping_method", base, ""),
        payments=tuple(payments),
        lines=tuple(lines),
    )


def _parse_customer(raw: dict[str, Any]) -> OrderCreateCustomer:
    base = "payload.order.customer"
    type_ = opt_str(raw, "type", base, "guest")
    if type_ not in CUSTOMER_TYPES:
        fail(f"{base}.type", f"expected one of {', '.join(CUSTOMER_TYPES)}, got {type_!r}")
    return OrderCreateCustomer(
        id=req_id(raw, "id", base),
        type=type_,
        first_name=opt_str(raw, "first_name", base, ""),
        last_name=opt_str(raw, "last_name", base, ""),
        email=req_str(raw, "email", base),
        phone=opt_str(raw, "phone", base, ""),
    )


def _parse_addresses(order: dict[str, Any], base: str) -> dict[str, Address]:
    addresses = {}
    for i, raw in enumerate(req_list(order, "addresses", base)):
        abase = f"{base}.addresses[{i}]"
        if raw.__class__ is not dict:
            as_object(raw, abase)
        reference = req_id(raw, "reference", abase)
        if reference in addresses:
            fail(f"{abase}.reference", f"duplicate address reference {reference!r}")
        # Kept as sent (A-7 accepts any address), but each part must be text.
        parts = [raw.get(name) for name in ADDRESS_FIELDS]
        for n, value in enumerate(parts):
            if value.__class__ is not str:
                parts[n] = opt_str(raw, ADDRESS_FIELDS[n], abase, "")
        addresses[reference] = Address(*parts)
    return addresses


def _parse_line(
    raw: dict[str, Any], base: str, amounts: Amounts, addresses: dict[str, Address]
) -> OrderCreateLine:
    # Hot path (every line of every imported order): each field is checked inline for its usual
    # shape, and only anything else goes to the reader that accepts, converts or explains.
    if raw.__class__ is not dict:
        as_object(raw, base)
    get = raw.get
    number = get("line_number")
    if number.__class__ is not int or number < 1:
        number = req_int(raw, "line_number", base, 1)
    sku = get("sku")
    if sku.__class__ is not str or not sku:
        sku = req_id(raw, "sku", base)
    name = get("product_name")
    if name.__class__ is not str or not name:
        name = req_str(raw, "product_name", base)
    product_type = get("product_type")
    if product_type not in PRODUCT_TYPES:
        product_type = opt_str(raw, "product_type", base, "PHYSICAL")
        if product_type not in PRODUCT_TYPES:
            fail(
                f"{base}.product_type",
                f"expected one of {', '.join(PRODUCT_TYPES)}, got {product_type!r}",
            )
    parent_sku = get("parent_sku")
    if parent_sku is not None and (parent_sku.__class__ is not str or not parent_sku):
        parent_sku = opt_id(raw, "parent_sku", base)
    image_url = get("image_url")
    if image_url.__class__ is not str:
        image_url = opt_str(raw, "image_url", base, "")
    check_link(image_url, join_path(base, "image_url"))
    ship_ref = get("shipping_address_reference")
    if ship_ref is not None:
        if ship_ref.__class__ is not str or not ship_ref:
            ship_ref = opt_id(raw, "shipping_address_reference", base)
        if ship_ref is not None and ship_ref not in addresses:
            fail(f"{base}.shipping_address_reference", _unknown_address(ship_ref, addresses))
    parent = get("parent_line_number")
    if parent is not None:
        parent = req_int(raw, "parent_line_number", base, 1)
    quantity = get("quantity")
    # Each unit becomes a line of its own (SPEC §2): a bound on the order's size.
    quantity = 1 if quantity is None else req_int(raw, "quantity", base, 1, MAX_LIST)

    amount = get("amount")
    if amount.__class__ is not dict:
        amount = req_dict(raw, "amount", base)
    abase = f"{base}.amount"
    net = amounts.required(amount, "net_amount", abase)
    tax = amounts.required(amount, "tax_amount", abase)
    gross = amounts.required(amount, "gross_amount", abase)
    if gross != net + tax:
        fail(
            f"{abase}.gross_amount",
            f"{gross} is not net_amount {net} + tax_amount {tax} (= {net + tax})",
        )
    discount = amounts.optional(amount, "discount", abase)
    original = amount.get("original_price")
    if original is None:
        original = net + discount  # a store that omits the list price implies it
    else:
        original = amounts.read(original, abase, "original_price")
    tax_rate = amount.get("tax_rate")
    tax_rate = ZERO if tax_rate is None else read_rate(tax_rate, abase, "tax_rate")
    taxes = () if amount.get("taxes") is None else _parse_taxes(amount, abase, amounts)
    promotions = () if get("promotions") is None else tuple(_objects(raw, "promotions", base))

    return OrderCreateLine(
        number,
        sku,
        name,
        product_type,
        parent_sku,
        parent,
        image_url,
        ship_ref,
        quantity,
        original,
        discount,
        net,
        tax,
        gross,
        tax_rate,
        taxes,
        promotions,
    )


def _parse_taxes(amount: dict[str, Any], base: str, amounts: Amounts) -> tuple[dict[str, Any], ...]:
    # Stored as JSON and kept as sent once checked; a number becomes its text ("3.60", "8").
    taxes = []
    for j, tax in enumerate(opt_list(amount, "taxes", base)):
        tbase = f"{base}.taxes[{j}]"
        entry = _json_copy(as_object(tax, tbase))
        value = amounts.required(tax, "amount", tbase)
        if tax["amount"].__class__ is not str:
            entry["amount"] = str(value)
        rate = tax.get("rate")
        if rate is not None:
            value = read_rate(rate, tbase, "rate")
            if rate.__class__ is not str:
                entry["rate"] = str(value)
        kind = tax.get("type")
        if kind is not None and kind.__class__ is not str:
            req_str(tax, "type", tbase)
        taxes.append(entry)
    return tuple(taxes)


def _objects(obj: dict[str, Any], key: str, base: str) -> list[dict[str, Any]]:
    """A list of JSON objects, each copied JSON-safe."""
    return [
        _json_copy(as_object(item, f"{base}.{key}[{j}]"))
        for j, item in enumerate(opt_list(obj, key, base))
    ]


def _json_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy that json.dumps accepts: numbers read as Decimal become strings."""
    for value in obj.values():
        if value.__class__ not in JSON_SCALARS:
            return plain_json(obj)
    return dict(obj)


def _unknown_address(reference: str, addresses: dict[str, Address]) -> str:
    known = ", ".join(map(repr, addresses)) or "none"
    return f"no address with reference {reference!r} in payload.order.addresses (known: {known})"
