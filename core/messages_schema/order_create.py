"""`sales.order_management.create`: an order as a web store sends it, defined once.

The msgspec Structs below mirror the payload's JSON. msgspec checks each field's type as it
decodes — from the message's text (`decode_order_create`, what imports and brokers deliver) or
from an already decoded dict (`convert_order_create`) — and `OrderCreate.__post_init__` makes
every check across fields, in one place: the order id's shape, the currency and each amount's
decimals for it, gross = net + tax, unique address references and line numbers, references
that exist. Both the single-message path (`OrderCreate.to_order`, the aggregate) and bulk
import (`services/messages/ingest_orders.py`, table rows) read these records, so both accept
exactly the same (issue 14 item 1).

Errors keep the form of every other inbound payload: `BadInput` naming the field's path from
the envelope root (`payload.order.order_lines[1].amount.gross_amount: ...`). msgspec's own type
errors are reworded by `read.reworded`. A JSON `null` counts as absent, and unknown keys are
ignored: web stores send more than we read.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from ..domain.customers import CUSTOMER_TYPES, Address, Customer
from ..domain.orders import PRODUCT_TYPES, Order, OrderLine, Payment, PaymentOperation
from ..errors import BadInput
from ..limits import MAX_LIST
from ..links import link_problem
from .checks import Id, Money, Text, as_id, aware, count, defaults, money_for, rate, tax_entry
from .read import (
    ADDRESS_FIELDS,
    CURRENCY_PATTERN,
    JSON_DECODER,
    ORDER_ID_MAX,
    ORDER_ID_PATTERN,
    TOO_DEEP,
    ZERO,
    convert_payload,
    fail,
    plain_json,
    reworded,
    show,
)

_set = msgspec.structs.force_setattr


class OrderCreateAddress(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An address of `payload.order.addresses`, kept as sent (A-7 accepts any address)."""

    reference: Id
    first_name: Text = ""
    last_name: Text = ""
    company_name: Text = ""
    address1: Text = ""
    address2: Text = ""
    city: Text = ""
    state: Text = ""
    zip: Text = ""
    country_code: Text = ""
    phone: Text = ""
    email: Text = ""

    def to_address(self) -> Address:
        return Address(*[getattr(self, name) for name in ADDRESS_FIELDS])


assert tuple(OrderCreateAddress.__struct_fields__[1:]) == ADDRESS_FIELDS


class OrderCreateCustomer(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The customer snapshot of an incoming order."""

    id: Id
    type: Text = "guest"
    first_name: Text = ""
    last_name: Text = ""
    email: str
    phone: Text = ""


class OrderCreatePayment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A payment of an incoming order; amounts quantised to the order's currency."""

    reference: Id | None = ""
    method: str
    payment_id: Id | None = ""
    requested_amount: Decimal
    captured_amount: Decimal | None = ZERO


class OrderCreateAmount(msgspec.Struct, frozen=True, kw_only=True):
    """A line's amounts, per unit; `taxes` entries are kept as sent once checked."""

    original_price: Decimal | None = None
    discount: Decimal | None = ZERO
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal
    tax_rate: Decimal | None = ZERO
    taxes: list[dict[str, Any]] | None = None


class OrderCreateLine(msgspec.Struct, frozen=True, kw_only=True):
    """An order line as sent; `quantity` N becomes N unit lines in `to_order` (SPEC §2)."""

    line_number: int
    sku: Id
    name: str = msgspec.field(name="product_name")
    product_type: Text = "PHYSICAL"
    parent_sku: Id | None = None
    parent_line_number: int | None = None
    image_url: Text = ""
    shipping_address_reference: Id | None = None
    quantity: int | None = 1
    amount: OrderCreateAmount
    promotions: list[dict[str, Any]] | None = None

    def to_lines(self, extra_numbers: itertools.count[int]) -> list[OrderLine]:
        """The unit lines: the first keeps `line_number`, the others take `extra_numbers`."""
        a = self.amount
        taxes = a.taxes or ()
        promotions = self.promotions or ()
        return [
            OrderLine(
                line_number=self.line_number if unit == 0 else next(extra_numbers),
                sku=self.sku,  # type: ignore[arg-type]  # text once checked
                name=self.name,
                product_type=self.product_type,  # type: ignore[arg-type]
                parent_sku=self.parent_sku,  # type: ignore[arg-type]
                parent_line_number=self.parent_line_number,
                image_url=self.image_url,  # type: ignore[arg-type]
                original_price=a.original_price,  # type: ignore[arg-type]
                discount=a.discount,  # type: ignore[arg-type]
                net_amount=a.net_amount,
                tax_amount=a.tax_amount,
                gross_amount=a.gross_amount,
                tax_rate=a.tax_rate,  # type: ignore[arg-type]
                taxes=list(map(dict, taxes)),
                promotions=list(map(dict, promotions)),
            )
            for unit in range(self.quantity)  # type: ignore[arg-type]
        ]


class OrderCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A validated `sales.order_management.create` (`payload.order`): ids as text, defaults
    in place of nulls, amounts quantised to the currency, every reference checked."""

    id: Id
    client_order_reference: Id | None = None
    sales_channel_id: Id
    language: Text = "en_US"
    vat_country: Text = ""
    currency: str
    origin: Text = "WEB"
    origin_date: datetime
    customer: OrderCreateCustomer
    billing_address_reference: Id
    shipping_method: Text = ""
    addresses: list[OrderCreateAddress]
    payments: list[OrderCreatePayment] | None = None
    lines: list[OrderCreateLine] = msgspec.field(name="order_lines")

    def __post_init__(self) -> None:
        _check_order(self)

    def address(self, reference: str) -> OrderCreateAddress:
        return next(a for a in self.addresses if a.reference == reference)

    @property
    def shipping_address_reference(self) -> str:
        """The first line's address, else the billing one: where the order ships."""
        ref = self.lines[0].shipping_address_reference
        return self.billing_address_reference if ref is None else ref  # type: ignore[return-value]

    def to_order(self, now: datetime) -> Order:
        """The new order aggregate (status NEW, type NORMAL, created at `now`); fresh objects on
        every call, so the payload can be applied again after a rolled-back attempt."""
        c = self.customer
        customer = Customer(
            id=c.id,  # type: ignore[arg-type]  # text once checked
            type=c.type,  # type: ignore[arg-type]
            first_name=c.first_name,  # type: ignore[arg-type]
            last_name=c.last_name,  # type: ignore[arg-type]
            email=c.email,
            phone=c.phone,  # type: ignore[arg-type]
        )
        payments = []
        for p in self.payments or ():
            payment = Payment(
                reference=p.reference,  # type: ignore[arg-type]
                method=p.method,
                payment_id=p.payment_id,  # type: ignore[arg-type]
                requested_amount=p.requested_amount,
                captured_amount=p.captured_amount,  # type: ignore[arg-type]
            )
            if p.captured_amount:
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
        billing = self.address(self.billing_address_reference).to_address()  # type: ignore[arg-type]
        ship_ref = self.shipping_address_reference
        return Order(
            id=self.id,  # type: ignore[arg-type]
            sales_channel=self.sales_channel_id,  # type: ignore[arg-type]
            currency=self.currency,
            customer=customer,
            created_at=now,
            origin_date=self.origin_date,
            status="NEW",
            order_type="NORMAL",
            client_order_reference=self.client_order_reference,  # type: ignore[arg-type]
            origin=self.origin,  # type: ignore[arg-type]
            language=self.language,  # type: ignore[arg-type]
            vat_country=self.vat_country,  # type: ignore[arg-type]
            billing_address=billing,
            shipping_address=billing
            if ship_ref == self.billing_address_reference
            else self.address(ship_ref).to_address(),
            shipping_method=self.shipping_method,  # type: ignore[arg-type]
            lines=lines,
            payments=payments,
        )


class _Payload(msgspec.Struct, frozen=True):
    order: OrderCreate


# One decoder for every message: JSON numbers in the kept-as-sent objects (taxes, promotions)
# are read as Decimal, as everywhere else, never float (SPEC §11).
_DECODER = msgspec.json.Decoder(_Payload, float_hook=Decimal)


def decode_order_create(text: str | bytes | memoryview) -> OrderCreate:
    """`payload.order` of an order create from the payload's JSON text."""
    try:
        return _DECODER.decode(text).order
    except msgspec.ValidationError as exc:
        raw = text if isinstance(text, str) else bytes(text).decode()
        raise reworded(exc, "payload", lambda: JSON_DECODER.decode(raw)) from None
    except RecursionError:
        raise BadInput(TOO_DEEP, field="payload") from None


def convert_order_create(payload: dict[str, Any]) -> OrderCreate:
    """`payload.order` of an order create from its decoded JSON (numbers as Decimal)."""
    return convert_payload(payload, _Payload).order


# -- the checks across fields --------------------------------------------------------------------

BASE = "payload.order"


def _check_order(order: OrderCreate) -> None:
    order_id = as_id(order, "id", BASE)
    if order_id is None or len(order_id) > ORDER_ID_MAX or not ORDER_ID_PATTERN.fullmatch(order_id):
        fail(
            f"{BASE}.id",
            f"expected at most {ORDER_ID_MAX} characters of A-Z a-z 0-9 . _ -, "
            f"got {show(order_id or '')}",
        )
    currency = order.currency
    if not CURRENCY_PATTERN.fullmatch(currency):
        fail(f"{BASE}.currency", f"expected a 3-letter upper-case currency code, got {currency!r}")
    amounts = money_for(currency)
    defaults(order, _ORDER_DEFAULTS)
    as_id(order, "client_order_reference", BASE, required=False)
    as_id(order, "sales_channel_id", BASE)
    aware(order.origin_date, f"{BASE}.origin_date")

    customer = order.customer
    cbase = f"{BASE}.customer"
    defaults(customer, _CUSTOMER_DEFAULTS)
    if customer.type not in CUSTOMER_TYPES:
        fail(f"{cbase}.type", f"expected one of {', '.join(CUSTOMER_TYPES)}, got {customer.type!r}")
    as_id(customer, "id", cbase)
    if not customer.email:
        fail(f"{cbase}.email", "must not be empty")

    references: dict[str, None] = {}  # in the order sent, for the unknown-reference error
    for i, address in enumerate(order.addresses):
        abase = f"{BASE}.addresses[{i}]"
        reference = as_id(address, "reference", abase)
        if reference in references:
            fail(f"{abase}.reference", f"duplicate address reference {reference!r}")
        references[reference] = None
        defaults(address, _ADDRESS_DEFAULTS)
    billing = as_id(order, "billing_address_reference", BASE)
    if billing not in references:
        fail(f"{BASE}.billing_address_reference", _unknown_address(billing, references))

    if order.payments is None:
        _set(order, "payments", [])
    for i, payment in enumerate(order.payments):  # type: ignore[arg-type]
        pbase = f"{BASE}.payments[{i}]"
        as_id(payment, "reference", pbase, required=False, absent="")
        as_id(payment, "payment_id", pbase, required=False, absent="")
        if not payment.method:
            fail(f"{pbase}.method", "must not be empty")
        amounts.set(payment, "requested_amount", pbase)
        amounts.set(payment, "captured_amount", pbase)

    if not order.lines:
        fail(f"{BASE}.order_lines", "expected at least one order line, got none")
    index_of: dict[int, int] = {}  # line number → index in order_lines, for duplicate errors
    for i, line in enumerate(order.lines):
        _check_line(line, f"{BASE}.order_lines[{i}]", amounts, references)
        number = line.line_number
        if number in index_of:
            fail(
                f"{BASE}.order_lines[{i}].line_number",
                f"duplicate line number {number} (also at order_lines[{index_of[number]}])",
            )
        index_of[number] = i
    for i, line in enumerate(order.lines):
        parent = line.parent_line_number
        if parent is not None and (parent == line.line_number or parent not in index_of):
            fail(
                f"{BASE}.order_lines[{i}].parent_line_number",
                f"{parent} is not another line of this order (lines: "
                f"{', '.join(map(str, index_of))})",
            )


def _check_line(
    line: OrderCreateLine, base: str, amounts: Money, references: dict[str, None]
) -> None:
    count(line.line_number, f"{base}.line_number", 1)
    if not as_id(line, "sku", base):
        fail(f"{base}.sku", "must not be empty")
    if not line.name:
        fail(f"{base}.product_name", "must not be empty")
    defaults(line, _LINE_DEFAULTS)
    if line.product_type not in PRODUCT_TYPES:
        fail(
            f"{base}.product_type",
            f"expected one of {', '.join(PRODUCT_TYPES)}, got {line.product_type!r}",
        )
    as_id(line, "parent_sku", base, required=False)
    if line.image_url:
        problem = link_problem(line.image_url)
        if problem:
            fail(f"{base}.image_url", problem)
    ship = as_id(line, "shipping_address_reference", base, required=False)
    if ship is not None and ship not in references:
        fail(f"{base}.shipping_address_reference", _unknown_address(ship, references))
    if line.parent_line_number is not None:
        count(line.parent_line_number, f"{base}.parent_line_number", 1)
    # Each unit becomes a line of its own (SPEC §2): a bound on the order's size.
    count(line.quantity, f"{base}.quantity", 1, MAX_LIST)  # type: ignore[arg-type]

    a = line.amount
    abase = f"{base}.amount"
    net = amounts.set(a, "net_amount", abase)
    tax = amounts.set(a, "tax_amount", abase)
    gross = amounts.set(a, "gross_amount", abase)
    if gross != net + tax:
        fail(
            f"{abase}.gross_amount",
            f"{gross} is not net_amount {net} + tax_amount {tax} (= {net + tax})",
        )
    discount = amounts.set(a, "discount", abase)
    if a.original_price is None:
        _set(a, "original_price", net + discount)  # a store that omits the list price implies it
    else:
        amounts.set(a, "original_price", abase)
    if a.tax_rate is None:
        _set(a, "tax_rate", ZERO)
    else:
        rate(a.tax_rate, f"{abase}.tax_rate")
    if a.taxes:
        taxes = [
            tax_entry(entry, f"{abase}.taxes[{j}]", amounts.currency)
            for j, entry in enumerate(a.taxes)
        ]
        _set(a, "taxes", taxes)
    if line.promotions:
        _set(line, "promotions", [plain_json(p) for p in line.promotions])


def _unknown_address(reference: str, known: dict[str, None]) -> str:
    names = ", ".join(map(repr, known)) or "none"
    return f"no address with reference {reference!r} in payload.order.addresses (known: {names})"


_ADDRESS_DEFAULTS = tuple((name, "") for name in ADDRESS_FIELDS)
_CUSTOMER_DEFAULTS = (("type", "guest"), ("first_name", ""), ("last_name", ""), ("phone", ""))
_LINE_DEFAULTS = (("product_type", "PHYSICAL"), ("image_url", ""), ("quantity", 1))
_ORDER_DEFAULTS = (
    ("language", "en_US"),
    ("vat_country", ""),
    ("origin", "WEB"),
    ("shipping_method", ""),
)

__all__ = [
    "OrderCreate",
    "OrderCreateAddress",
    "OrderCreateAmount",
    "OrderCreateCustomer",
    "OrderCreateLine",
    "OrderCreatePayment",
    "convert_order_create",
    "decode_order_create",
]
