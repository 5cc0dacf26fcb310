"""Order-create parsers side by side: the product's one definition (msgspec Structs,
messages_schema/order_create.py, since issue 14 item 1) from text and from decoded JSON, and
the bulk rows built from it, against the prototypes it was chosen from — a msgspec definition
with amounts as Decimal or as text, and a cattrs one — with the same checks. The figures of
the two hand-written readers it replaced are in docs/benchmarks.md.

    .venv/bin/python bench/parsers.py                        # 41 batches of 200 orders per path
    .venv/bin/python bench/parsers.py --repeats 101 --number 500
    .venv/bin/python bench/parsers.py --errors-only          # only the error wording

Per order, in µs (time.perf_counter_ns over a batch of --number orders, divided; the median of
--repeats batches, with the min, the max and the interquartile range as the spread; --warmup
orders per path first, not timed), on the example order (examples/messages/order-create.json,
5 lines), on a 10-line order built from it, and on --pool copies of that one, each with prices
of its own, taken in turn: the same order again and again lets every memoising amount reader
(today's two, 3b, 4) find every text it reads already known, which a real stream does not.
The batches of all paths take turns (round robin, rotated each repeat), so a burst of load on
the machine falls on every path alike. Every path gets the same JSON text, compact as
`postsales import` reads it (msgspec its UTF-8 bytes, as a broker delivers it; the json-based
paths the str, as inbox.py has it after decoding).

1. the product from text: `read_message` (the envelope, then the payload decoded by msgspec
   straight into `OrderCreate`), what `postsales import` and the broker consumer run.
   1b. from decoded JSON: `JSON_DECODER.decode` (json with Decimal numbers) and
   `parse_message` (`msgspec.convert` into the same Structs), what the API's dict path runs.
2. rows: `read_message` and `OrderRowsBuilder.build`; it needs an app, bootstrapped on a
   temporary SQLite database outside the timing. It gives table rows, not records: the
   billing address encrypted, search columns, history and outbox rows included. For
   reference, `object_path_rows` (record, aggregate, rows.py) gives the same rows.
3. msgspec: frozen `msgspec.Struct`s (no `forbid_unknown_fields`: today's parser ignores
   unknown keys, web stores send more than we read) for the envelope with its typed payload,
   decoded from bytes by one `msgspec.json.Decoder`; the checks in `__post_init__`. Two ways
   to read amounts: msgspec's `Decimal` (currency decimals checked at the order), or text
   (`str | int | float`) converted at the order by today's memoised reader (`read.Amounts`).
4. cattrs: frozen attrs classes (attrs converters for "null is absent" and integer ids,
   validators for the field checks, `__attrs_post_init__` for the cross-field ones) structured
   from the same decoded dict by a `cattrs.Converter(detailed_validation=True)`, with strict
   hooks (cattrs' own str/int hooks call `str()`/`int()`: `true` would be line 1).

Then the error text each gives for five bad inputs, to compare with today's wording (key path
and expectation).
"""

# No `from __future__ import annotations`: `msgspec_schema` defines its Structs in a function,
# and msgspec resolves string annotations in the module's globals only.

import argparse
import gc
import itertools
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
import cattrs
import msgspec  # not a dependency of the product yet: .venv/bin/pip install msgspec
from cattrs.strategies import configure_union_passthrough
from cattrs.v import format_exception
from databases import fresh_database  # bench/databases.py (run as a script)

import postsales.core
from postsales.core.bootstrap import bootstrap
from postsales.core.domain.customers import CUSTOMER_TYPES
from postsales.core.domain.orders import PRODUCT_TYPES
from postsales.core.errors import BadInput
from postsales.core.limits import DATE_RANGE, MAX_INT, MAX_LIST, utc
from postsales.core.links import link_problem
from postsales.core.messages_schema import (
    JSON_DECODER,
    OrderCreate,
    parse_message,
    read_message,
)
from postsales.core.messages_schema.checks import rate as read_rate_checked
from postsales.core.messages_schema.read import (
    ADDRESS_FIELDS,
    ENVELOPE_ID_MAX,
    ORDER_ID_MAX,
    amounts_for,
    show,
)
from postsales.core.money import AMOUNT_DIGITS_MAX, exponent, quantum
from postsales.core.services.messages.inbound import object_path_rows
from postsales.core.services.messages.ingest_orders import OrderRowsBuilder

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "messages" / "order-create.json"
ZERO = Decimal(0)
_force = msgspec.structs.force_setattr


# -- the checks both definitions share ----------------------------------------------------------


class Check(ValueError):
    """A failed check, `path` relative to the record making it ("" when it is the value's own).

    A ValueError, so msgspec (from `__post_init__`) and cattrs (from `__init__`) both report it
    with the record's location."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)


def unknown_address(reference: str, known: dict[str, Any]) -> str:
    names = ", ".join(map(repr, known)) or "none"
    return f"no address with reference {reference!r} in payload.order.addresses (known: {names})"


def reference_checks(order: Any) -> None:
    """Unique address references and line numbers; billing, shipping and parent references
    that exist: the order-level checks of `_parse_order_create`, worded as it words them."""
    addresses: dict[str, Any] = {}
    for i, address in enumerate(order.addresses):
        if address.reference in addresses:
            raise Check(
                f"addresses[{i}].reference", f"duplicate address reference {address.reference!r}"
            )
        addresses[address.reference] = address
    if order.billing_address_reference not in addresses:
        raise Check(
            "billing_address_reference",
            unknown_address(order.billing_address_reference, addresses),
        )
    index_of: dict[int, int] = {}
    for i, line in enumerate(order.order_lines):
        number = line.line_number
        if number in index_of:
            raise Check(
                f"order_lines[{i}].line_number",
                f"duplicate line number {number} (also at order_lines[{index_of[number]}])",
            )
        index_of[number] = i
        ship = line.shipping_address_reference
        if ship is not None and ship not in addresses:
            raise Check(
                f"order_lines[{i}].shipping_address_reference", unknown_address(ship, addresses)
            )
    for i, line in enumerate(order.order_lines):
        parent = line.parent_line_number
        if parent is not None and (parent == line.line_number or parent not in index_of):
            raise Check(
                f"order_lines[{i}].parent_line_number",
                f"{parent} is not another line of this order (lines: "
                f"{', '.join(map(str, index_of))})",
            )


def amount_problem(amount: Decimal, currency: str) -> str | None:
    """Why an amount read as Decimal is refused: today's rule (money.parse_amount and
    read.read_amount) for a value the library has already turned into a Decimal."""
    try:
        if (
            amount == amount.quantize(quantum(currency))
            and not amount.is_signed()
            and amount.adjusted() < AMOUNT_DIGITS_MAX
        ):
            return None
    except InvalidOperation:  # infinite, or more digits than the context holds
        pass
    if not amount.is_finite():
        return f"{show(str(amount))} is not an amount"
    if amount and amount.adjusted() >= AMOUNT_DIGITS_MAX:
        return f"{show(str(amount))} is too large an amount"
    if amount.is_signed():
        return None if not amount else f"must not be negative, got {amount}"
    return f"{show(str(amount))} has more than {exponent(currency)} decimals for {currency}"


def decimal_checks(order: Any) -> None:
    """Every amount of an order read as Decimal has no more decimals than its currency has,
    is not negative and not too large: checked inline, worded by `_word_decimals`."""
    q = quantum(order.currency)
    try:
        for payment in order.payments or ():
            for value in (payment.requested_amount, payment.captured_amount):
                if (
                    value.is_signed()
                    or value != value.quantize(q)
                    or value.adjusted() >= AMOUNT_DIGITS_MAX
                ):
                    raise InvalidOperation
        for line in order.order_lines:
            a = line.amount
            values = [a.net_amount, a.tax_amount, a.gross_amount, a.discount, a.original_price]
            if a.taxes:
                values += [tax.amount for tax in a.taxes]
            for value in values:
                if (
                    value.is_signed()
                    or value != value.quantize(q)
                    or value.adjusted() >= AMOUNT_DIGITS_MAX
                ):
                    raise InvalidOperation
    except InvalidOperation:  # unusual (NaN, infinite, "-0.00") or refused: look closer
        _word_decimals(order)


def _word_decimals(order: Any) -> None:
    currency = order.currency
    for i, payment in enumerate(order.payments or ()):
        for key in ("requested_amount", "captured_amount"):
            problem = amount_problem(getattr(payment, key), currency)
            if problem:
                raise Check(f"payments[{i}].{key}", problem)
    for i, line in enumerate(order.order_lines):
        a = line.amount
        for key, value in (
            ("net_amount", a.net_amount),
            ("tax_amount", a.tax_amount),
            ("gross_amount", a.gross_amount),
            ("discount", a.discount),
            ("original_price", a.original_price),
        ):
            problem = amount_problem(value, currency)
            if problem:
                raise Check(f"order_lines[{i}].amount.{key}", problem)
        for j, tax in enumerate(a.taxes or ()):
            problem = amount_problem(tax.amount, currency)
            if problem:
                raise Check(f"order_lines[{i}].amount.taxes[{j}].amount", problem)


def gross_problem(net: Decimal, tax: Decimal, gross: Decimal) -> str | None:
    if gross == net + tax:
        return None
    return f"{gross} is not net_amount {net} + tax_amount {tax} (= {net + tax})"


def rate_problem(rate: Decimal) -> str | None:
    if rate.is_finite() and not rate.is_signed():
        return None
    return f"expected a non-negative percentage, got {rate}"


def time_problem(value: datetime) -> str | None:
    return None if utc(value) is not None else f"{value.isoformat()} is outside {DATE_RANGE}"


def convert_amounts(order: Any) -> None:
    """msgspec with amount texts: each amount to a Decimal by today's reader of the order's
    currency (`read.Amounts`, memoised: the same few texts come again and again), put in place
    of the text, then the defaults and gross = net + tax, as `_parse_line` does."""
    amounts = amounts_for(order.currency)
    try:
        for i, payment in enumerate(order.payments or ()):
            base = f"payments[{i}]"
            requested = amounts.read(payment.requested_amount, base, "requested_amount")
            captured = payment.captured_amount
            captured = ZERO if captured is None else amounts.read(captured, base, "captured_amount")
            _force(payment, "requested_amount", requested)
            _force(payment, "captured_amount", captured)
        for i, line in enumerate(order.order_lines):
            a = line.amount
            base = f"order_lines[{i}].amount"
            read = amounts.read
            net = read(a.net_amount, base, "net_amount")
            tax = read(a.tax_amount, base, "tax_amount")
            gross = read(a.gross_amount, base, "gross_amount")
            problem = gross_problem(net, tax, gross)
            if problem:
                raise Check(f"{base}.gross_amount", problem)
            discount = ZERO if a.discount is None else read(a.discount, base, "discount")
            original = a.original_price
            original = (
                net + discount if original is None else read(original, base, "original_price")
            )
            rate = a.tax_rate
            rate = ZERO if rate is None else read_rate_checked(rate, f"{base}.tax_rate")
            _force(a, "net_amount", net)
            _force(a, "tax_amount", tax)
            _force(a, "gross_amount", gross)
            _force(a, "discount", discount)
            _force(a, "original_price", original)
            _force(a, "tax_rate", rate)
            for j, entry in enumerate(a.taxes or ()):
                tbase = f"{base}.taxes[{j}]"
                _force(entry, "amount", read(entry.amount, tbase, "amount"))
                if entry.rate is not None:
                    _force(entry, "rate", read_rate_checked(entry.rate, f"{tbase}.rate"))
    except BadInput as exc:  # its message names the path from the order: msgspec adds the rest
        raise Check("", exc.message) from None


# -- 3. msgspec ----------------------------------------------------------------------------------

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Id = NonEmpty | int  # read.req_id: a non-empty string, or an integer some stores send
OptId = str | int | None  # read.opt_id: "" and null are absent
OptText = str | None  # read.opt_str: null is absent (the field's default)
LineNumber = Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_LIST)]
CustomerType = Literal["guest", "registered", "b2b"]
ProductType = Literal["PHYSICAL", "SERVICE", "SHIPPING"]
assert CustomerType.__args__ == CUSTOMER_TYPES and ProductType.__args__ == PRODUCT_TYPES
Aware = Annotated[datetime, msgspec.Meta(tz=True)]
OrderId = Annotated[str, msgspec.Meta(max_length=ORDER_ID_MAX, pattern=r"^[A-Za-z0-9._-]+$")] | int
EnvelopeId = Annotated[str, msgspec.Meta(min_length=1, max_length=ENVELOPE_ID_MAX)] | int
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]


def _defaults(record: Any, defaults: tuple[tuple[str, object], ...]) -> None:
    """null → the field's default (msgspec takes null only as None: `str | None`)."""
    for name, default in defaults:
        if getattr(record, name) is None:
            _force(record, name, default)


def _ids(record: Any, *names: str) -> None:
    """An integer id → its text; "" → None (read.opt_id)."""
    for name in names:
        value = getattr(record, name)
        if value.__class__ is int:
            _force(record, name, str(value))
        elif value == "":
            _force(record, name, None)


def msgspec_schema(decimal_amounts: bool) -> type[msgspec.Struct]:
    """The envelope of an order create, amounts as msgspec Decimals or as texts."""
    Money = Decimal if decimal_amounts else str | int | float
    Rate = Decimal if decimal_amounts else str | int | float

    class Address(msgspec.Struct, frozen=True, kw_only=True):
        reference: Id
        first_name: OptText = ""
        last_name: OptText = ""
        company_name: OptText = ""
        address1: OptText = ""
        address2: OptText = ""
        city: OptText = ""
        state: OptText = ""
        zip: OptText = ""
        country_code: OptText = ""
        phone: OptText = ""
        email: OptText = ""

        def __post_init__(self) -> None:
            _defaults(self, _ADDRESS_DEFAULTS)
            if self.reference.__class__ is int:
                _force(self, "reference", str(self.reference))

    class Customer(msgspec.Struct, frozen=True, kw_only=True):
        id: Id
        type: CustomerType | None = "guest"
        first_name: OptText = ""
        last_name: OptText = ""
        email: NonEmpty
        phone: OptText = ""

        def __post_init__(self) -> None:
            _defaults(self, _CUSTOMER_DEFAULTS)
            if self.id.__class__ is int:
                _force(self, "id", str(self.id))

    class Payment(msgspec.Struct, frozen=True, kw_only=True):
        reference: OptId = ""
        method: NonEmpty
        payment_id: OptId = ""
        requested_amount: Money
        captured_amount: Money | None = ZERO if decimal_amounts else None

        def __post_init__(self) -> None:
            _ids(self, "reference", "payment_id")
            _defaults(self, _PAYMENT_DEFAULTS)
            if decimal_amounts and self.captured_amount is None:
                _force(self, "captured_amount", ZERO)

    class Tax(msgspec.Struct, frozen=True, kw_only=True):
        type: str | None = None
        amount: Money
        rate: Rate | None = None

        def __post_init__(self) -> None:
            if decimal_amounts and self.rate is not None:
                problem = rate_problem(self.rate)
                if problem:
                    raise Check("rate", problem)

    class Amount(msgspec.Struct, frozen=True, kw_only=True):
        original_price: Money | None = None
        discount: Money | None = None
        net_amount: Money
        gross_amount: Money
        tax_amount: Money
        tax_rate: Rate | None = None
        taxes: list[Tax] | None = None

        def __post_init__(self) -> None:
            if not decimal_amounts:
                return  # texts: read at the order, which knows the currency
            problem = gross_problem(self.net_amount, self.tax_amount, self.gross_amount)
            if problem:
                raise Check("gross_amount", problem)
            if self.discount is None:
                _force(self, "discount", ZERO)
            if self.original_price is None:  # a store that omits the list price implies it
                _force(self, "original_price", self.net_amount + self.discount)
            if self.tax_rate is None:
                _force(self, "tax_rate", ZERO)
            else:
                problem = rate_problem(self.tax_rate)
                if problem:
                    raise Check("tax_rate", problem)

    class Line(msgspec.Struct, frozen=True, kw_only=True):
        line_number: LineNumber
        product_type: ProductType | None = "PHYSICAL"
        sku: Id
        parent_sku: OptId = None
        product_name: NonEmpty
        image_url: OptText = ""
        parent_line_number: LineNumber | None = None
        shipping_address_reference: OptId = None
        quantity: Quantity | None = 1
        amount: Amount
        promotions: list[dict[str, Any]] | None = None

        def __post_init__(self) -> None:
            _defaults(self, _LINE_DEFAULTS)
            if self.sku.__class__ is int:
                _force(self, "sku", str(self.sku))
            _ids(self, "parent_sku", "shipping_address_reference")
            if self.image_url:
                problem = link_problem(self.image_url)
                if problem:
                    raise Check("image_url", problem)

    class Order(msgspec.Struct, frozen=True, kw_only=True):
        id: OrderId
        client_order_reference: OptId = None
        sales_channel_id: Id
        language: OptText = "en_US"
        vat_country: OptText = ""
        currency: Currency
        origin: OptText = "WEB"
        origin_date: Aware
        customer: Customer
        billing_address_reference: Id
        shipping_method: OptText = ""
        addresses: list[Address]
        payments: list[Payment] | None = None
        order_lines: Annotated[list[Line], msgspec.Meta(min_length=1)]

        def __post_init__(self) -> None:
            _defaults(self, _ORDER_DEFAULTS)
            _ids(self, "id", "client_order_reference", "sales_channel_id")
            if self.billing_address_reference.__class__ is int:
                _force(self, "billing_address_reference", str(self.billing_address_reference))
            problem = time_problem(self.origin_date)
            if problem:
                raise Check("origin_date", problem)
            reference_checks(self)
            if decimal_amounts:
                decimal_checks(self)
            else:
                convert_amounts(self)

    class Payload(msgspec.Struct, frozen=True):
        order: Order

    class Envelope(msgspec.Struct, frozen=True, kw_only=True):
        id: EnvelopeId
        type: NonEmpty
        created_at: Aware
        payload: Payload

        def __post_init__(self) -> None:
            if self.id.__class__ is int:
                _force(self, "id", str(self.id))
            problem = time_problem(self.created_at)
            if problem:
                raise Check("created_at", problem)

    return Envelope


_ADDRESS_DEFAULTS = tuple((name, "") for name in ADDRESS_FIELDS)
_CUSTOMER_DEFAULTS = (("type", "guest"), ("first_name", ""), ("last_name", ""), ("phone", ""))
_PAYMENT_DEFAULTS = (("reference", ""), ("payment_id", ""))
_LINE_DEFAULTS = (("product_type", "PHYSICAL"), ("image_url", ""), ("quantity", 1))
_ORDER_DEFAULTS = (
    ("language", "en_US"),
    ("vat_country", ""),
    ("origin", "WEB"),
    ("shipping_method", ""),
)

_AT = re.compile(r"(?s)(.*) - at `\$\.?(.*)`")
_MISSING = re.compile(r"Object missing required field `(.*)`")


def msgspec_wording(exc: msgspec.ValidationError) -> str:
    """msgspec's message in today's form (`path: problem`): what a dead letter would say."""
    found = _AT.fullmatch(str(exc))
    problem, path = (found.group(1), found.group(2)) if found else (str(exc), "")
    missing = _MISSING.fullmatch(problem)
    if missing:
        path, problem = ".".join(p for p in (path, missing.group(1)) if p), "missing required field"
    elif isinstance(exc.__cause__, Check) and ": " in problem:  # our own check, own sub-path
        sub, problem = problem.split(": ", 1)
        path = f"{path}.{sub}" if path else sub
    return f"{path}: {problem}" if path else problem


# -- 4. cattrs -----------------------------------------------------------------------------------


def _text(default: str | None) -> Any:
    """An optional text field (read.opt_str): null is absent."""
    return attrs.field(default=default, converter=lambda v: default if v is None else v)


def _opt_id(default: str | None = None) -> Any:
    """read.opt_id: an integer becomes its text, "" and null are absent."""
    return attrs.field(
        default=default,
        converter=lambda v: str(v) if v.__class__ is int else default if v in (None, "") else v,
    )


def _as_text(value: str | int) -> str:
    return str(value) if value.__class__ is int else value  # type: ignore[return-value]


def _non_empty(_record: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value:
        raise Check(attribute.name, "must not be empty")


def _between(low: int, high: int) -> Callable[[Any, attrs.Attribute, int | None], None]:
    def check(_record: Any, attribute: attrs.Attribute, value: int | None) -> None:
        if value is not None and not low <= value <= high:
            side = f"at least {low}" if value < low else f"at most {high}"
            raise Check(attribute.name, f"must be {side}, got {value}")

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, attrs.Attribute, str], None]:
    def check(_record: Any, attribute: attrs.Attribute, value: str) -> None:
        if value not in choices:
            raise Check(attribute.name, f"expected one of {', '.join(choices)}, got {value!r}")

    return check


def _link(_record: Any, attribute: attrs.Attribute, value: str) -> None:
    problem = link_problem(value) if value else None
    if problem:
        raise Check(attribute.name, problem)


def _req_id() -> Any:
    return attrs.field(converter=_as_text, validator=_non_empty)


@attrs.frozen(slots=False)  # as today's records: frozen slots classes set fields slower
class CAddress:
    reference: str | int = _req_id()
    first_name: str | None = _text("")
    last_name: str | None = _text("")
    company_name: str | None = _text("")
    address1: str | None = _text("")
    address2: str | None = _text("")
    city: str | None = _text("")
    state: str | None = _text("")
    zip: str | None = _text("")
    country_code: str | None = _text("")
    phone: str | None = _text("")
    email: str | None = _text("")


@attrs.frozen(slots=False, kw_only=True)
class CCustomer:
    id: str | int = _req_id()
    type: str | None = attrs.field(
        default="guest",
        converter=lambda v: "guest" if v is None else v,
        validator=_one_of(CUSTOMER_TYPES),
    )
    first_name: str | None = _text("")
    last_name: str | None = _text("")
    email: str = attrs.field(validator=_non_empty)
    phone: str | None = _text("")


@attrs.frozen(slots=False, kw_only=True)
class CPayment:
    reference: str | int | None = _opt_id("")
    method: str = attrs.field(validator=_non_empty)
    payment_id: str | int | None = _opt_id("")
    requested_amount: Decimal
    captured_amount: Decimal | None = attrs.field(
        default=ZERO, converter=lambda v: ZERO if v is None else v
    )


@attrs.frozen(slots=False, kw_only=True)
class CTax:
    type: str | None = None
    amount: Decimal
    rate: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        problem = None if self.rate is None else rate_problem(self.rate)
        if problem:
            raise Check("rate", problem)


@attrs.frozen(slots=False, kw_only=True)
class CAmount:
    original_price: Decimal | None = None
    discount: Decimal | None = attrs.field(
        default=ZERO, converter=lambda v: ZERO if v is None else v
    )
    net_amount: Decimal
    gross_amount: Decimal
    tax_amount: Decimal
    tax_rate: Decimal | None = attrs.field(
        default=ZERO, converter=lambda v: ZERO if v is None else v
    )
    taxes: list[CTax] | None = None

    def __attrs_post_init__(self) -> None:
        problem = gross_problem(self.net_amount, self.tax_amount, self.gross_amount)
        if problem:
            raise Check("gross_amount", problem)
        if self.original_price is None:  # a store that omits the list price implies it
            object.__setattr__(self, "original_price", self.net_amount + self.discount)
        problem = rate_problem(self.tax_rate)  # type: ignore[arg-type]
        if problem:
            raise Check("tax_rate", problem)


@attrs.frozen(slots=False, kw_only=True)
class CLine:
    line_number: int = attrs.field(validator=_between(1, MAX_INT))
    product_type: str | None = attrs.field(
        default="PHYSICAL",
        converter=lambda v: "PHYSICAL" if v is None else v,
        validator=_one_of(PRODUCT_TYPES),
    )
    sku: str | int = _req_id()
    parent_sku: str | int | None = _opt_id()
    product_name: str = attrs.field(validator=_non_empty)
    image_url: str | None = attrs.field(
        default="", converter=lambda v: "" if v is None else v, validator=_link
    )
    parent_line_number: int | None = attrs.field(default=None, validator=_between(1, MAX_INT))
    shipping_address_reference: str | int | None = _opt_id()
    quantity: int | None = attrs.field(
        default=1, converter=lambda v: 1 if v is None else v, validator=_between(1, MAX_LIST)
    )
    amount: CAmount
    promotions: list[dict[str, Any]] | None = None


@attrs.frozen(slots=False, kw_only=True)
class COrder:
    id: str | int = attrs.field(converter=_as_text)
    client_order_reference: str | int | None = _opt_id()
    sales_channel_id: str | int = _req_id()
    language: str | None = _text("en_US")
    vat_country: str | None = _text("")
    currency: str
    origin: str | None = _text("WEB")
    origin_date: datetime
    customer: CCustomer
    billing_address_reference: str | int = _req_id()
    shipping_method: str | None = _text("")
    addresses: list[CAddress]
    payments: list[CPayment] | None = None
    order_lines: list[CLine]

    def __attrs_post_init__(self) -> None:
        if not self.id or len(self.id) > ORDER_ID_MAX or not _ORDER_ID.fullmatch(self.id):  # type: ignore[arg-type]
            raise Check(
                "id",
                f"expected at most {ORDER_ID_MAX} characters of A-Z a-z 0-9 . _ -, "
                f"got {show(self.id)}",
            )
        if not _CURRENCY.fullmatch(self.currency):
            raise Check(
                "currency", f"expected a 3-letter upper-case currency code, got {self.currency!r}"
            )
        if not self.order_lines:
            raise Check("order_lines", "expected at least one order line, got none")
        problem = time_problem(self.origin_date)
        if problem:
            raise Check("origin_date", problem)
        reference_checks(self)
        decimal_checks(self)


@attrs.frozen(slots=False)
class CPayload:
    order: COrder


@attrs.frozen(slots=False, kw_only=True)
class CEnvelope:
    id: str | int = _req_id()
    type: str = attrs.field(validator=_non_empty)
    created_at: datetime
    payload: CPayload

    def __attrs_post_init__(self) -> None:
        if len(self.id) > ENVELOPE_ID_MAX:  # type: ignore[arg-type]  # text once converted
            raise Check("id", f"expected at most {ENVELOPE_ID_MAX} characters, got {len(self.id)}")  # type: ignore[arg-type]
        problem = time_problem(self.created_at)
        if problem:
            raise Check("created_at", problem)


_ORDER_ID = re.compile(r"[A-Za-z0-9._-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DECIMALS: dict[object, Decimal] = {}


def _strict(kind: type, what: str) -> Callable[[object, type], object]:
    def structure(value: object, _type: type) -> object:
        if value.__class__ is not kind:
            raise Check("", f"expected {what}, got {show(value)}")
        return value

    return structure


def _decimal(value: object, _type: type) -> Decimal:
    """An amount or a rate (str, int, or the decoder's Decimal) as Decimal, memoised by text as
    `read.Amounts` is; the currency's decimals are checked at the order."""
    cls = value.__class__
    if cls is Decimal:
        return value  # type: ignore[return-value]
    if cls is str or cls is int:
        known = _DECIMALS.get(value)
        if known is not None:
            return known
        try:
            number = Decimal(value)  # type: ignore[arg-type]
        except (InvalidOperation, ValueError):
            number = None
        if number is not None:
            if len(_DECIMALS) >= 4096:
                _DECIMALS.clear()
            _DECIMALS[value] = number
            return number
    raise Check("", f"expected an amount, got {show(value)}")


def _time(value: object, _type: type) -> datetime:
    if value.__class__ is str:
        try:
            parsed = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is not None:
            return parsed
    raise Check("", f"expected an ISO-8601 time with offset, got {show(value)}")


def cattrs_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True)
    configure_union_passthrough(str | int | None, converter)  # `str | int` ids, strictly
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(Decimal, _decimal)
    converter.register_structure_hook(datetime, _time)
    return converter


def _cattrs_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, Check):
        return str(exc)
    return format_exception(exc, type_)


def cattrs_wording(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, format_exception=_cattrs_exception))
    return f"{exc.__class__.__name__}: {exc}"


# -- inputs ---------------------------------------------------------------------------------------


def ten_lines(example: dict[str, Any]) -> dict[str, Any]:
    """The example with 10 lines: its 5, then 5 more like them at other prices (8 % tax),
    parents renumbered, the payment for the new total."""
    doc = json.loads(json.dumps(example))
    order = doc["payload"]["order"]
    doc["id"] = "msg-2026-000110"
    order["id"] = "000000110"
    lines = order["order_lines"]
    for k in range(5, 10):
        line = json.loads(json.dumps(lines[k - 5]))
        line["id"] = str(k + 1)
        line["line_number"] = k + 1
        line["sku"] = f"{line['sku']}-{k}"
        if "parent_line_number" in line:
            line["parent_line_number"] += 5
        a = line["amount"]
        rate = Decimal(a["tax_rate"])
        net = Decimal(a["net_amount"]) + k
        tax = (net * rate / 100).quantize(Decimal("0.01"))
        a.update(
            original_price=str(net + Decimal(a["discount"])),
            net_amount=str(net),
            tax_amount=str(tax),
            gross_amount=str(net + tax),
        )
        a["taxes"][0]["amount"] = str(tax)
        lines.append(line)
    total = str(sum(Decimal(line["amount"]["gross_amount"]) for line in lines))
    order["payments"][0].update(requested_amount=total, captured_amount=total)
    return doc


def repriced(doc: dict[str, Any], n: int, rng: random.Random) -> dict[str, Any]:
    """`doc` as order n, every line at a price of its own (5.00 to 90.00, tax at its rate),
    the payment for the new total: amount texts that the memoising readers have not seen."""
    doc = json.loads(json.dumps(doc))
    order = doc["payload"]["order"]
    doc["id"], order["id"] = f"msg-2026-{n:06d}", f"{n:09d}"
    for line in order["order_lines"]:
        a = line["amount"]
        net = Decimal(rng.randint(500, 9000)) / 100
        tax = (net * Decimal(a["tax_rate"]) / 100).quantize(Decimal("0.01"))
        a.update(
            original_price=str(net + Decimal(a["discount"])),
            net_amount=str(net),
            tax_amount=str(tax),
            gross_amount=str(net + tax),
        )
        a["taxes"][0]["amount"] = str(tax)
    total = str(sum(Decimal(line["amount"]["gross_amount"]) for line in order["order_lines"]))
    order["payments"][0].update(requested_amount=total, captured_amount=total)
    return doc


def bad_inputs(example: dict[str, Any]) -> list[tuple[str, str]]:
    def changed(change: Callable[[dict[str, Any]], None]) -> str:
        doc = json.loads(json.dumps(example))
        change(doc["payload"]["order"])
        return json.dumps(doc)

    def gross(o: dict[str, Any]) -> None:
        o["order_lines"][0]["amount"]["gross_amount"] = "48.61"

    def decimals(o: dict[str, Any]) -> None:  # net + tax = gross still: only the decimals fail
        o["order_lines"][0]["amount"].update(tax_amount="3.605", gross_amount="48.605")

    def no_email(o: dict[str, Any]) -> None:
        del o["customer"]["email"]

    def two(o: dict[str, Any]) -> None:
        o["order_lines"][1]["quantity"] = "two"

    def duplicate(o: dict[str, Any]) -> None:
        o["order_lines"][1]["line_number"] = 1

    return [
        ("line 1 gross 48.61 != net 45.00 + tax 3.60", changed(gross)),
        ("line 1 tax 3.605, gross 48.605 (3 decimals in USD)", changed(decimals)),
        ("customer without email", changed(no_email)),
        ('line 2 quantity "two"', changed(two)),
        ("line 2 line_number 1 (duplicate)", changed(duplicate)),
    ]


# -- the paths --------------------------------------------------------------------------------


Parse = Callable[[Any], object]


def paths(app: Any) -> list[tuple[str, Parse, bool]]:
    """(label, parse, takes bytes) per path; each parse returns its result or raises."""
    builder = OrderRowsBuilder(app)
    decode = JSON_DECODER.decode
    ms_decimal = msgspec.json.Decoder(msgspec_schema(True), float_hook=Decimal)
    ms_text = msgspec.json.Decoder(msgspec_schema(False), float_hook=Decimal)
    converter = cattrs_converter()
    structure = converter.structure

    def from_text(text: str) -> object:
        return read_message(text)[1]

    def from_decoded(text: str) -> object:
        return parse_message(decode(text))[1]

    def rows(text: str) -> object:
        return builder.build(*read_message(text))  # type: ignore[arg-type]

    def rows_by_objects(text: str) -> object:
        return object_path_rows(app, *read_message(text))  # type: ignore[arg-type]

    def with_cattrs(text: str) -> object:
        return structure(decode(text), CEnvelope)

    return [
        ("1 product: read_message", from_text, False),
        ("1b product: parse_message(dict)", from_decoded, False),
        ("2 rows: OrderRowsBuilder.build", rows, False),
        ("  (ref) object_path_rows", rows_by_objects, False),
        ("3a msgspec, Decimal amounts", ms_decimal.decode, True),
        ("3b msgspec, text amounts", ms_text.decode, True),
        ("4 cattrs, detailed_validation", with_cattrs, False),
    ]


def same_records(today: OrderCreate, decoded: Any) -> None:
    """The library's records hold what today's do (amounts, lines, payments, customer)."""
    order = decoded.payload.order
    assert order.customer.email == today.customer.email and order.currency == today.currency
    assert [(p.requested_amount, p.captured_amount) for p in order.payments or ()] == [
        (p.requested_amount, p.captured_amount) for p in today.payments or ()
    ]
    keys = ("net_amount", "tax_amount", "gross_amount", "discount", "original_price", "tax_rate")
    mine = [
        (ln.line_number, ln.sku, ln.parent_line_number, *(getattr(ln.amount, k) for k in keys))
        for ln in order.order_lines
    ]
    theirs = [
        (ln.line_number, ln.sku, ln.parent_line_number, *(getattr(ln.amount, k) for k in keys))
        for ln in today.lines
    ]
    assert mine == theirs, (mine, theirs)


def batch_us(parse: Parse, values: list[Any], number: int) -> float:
    """µs per order of `number` orders, taken in turn from `values` (the same one if one)."""
    batch = list(itertools.islice(itertools.cycle(values), number))
    start = time.perf_counter_ns()
    for value in batch:
        parse(value)
    return (time.perf_counter_ns() - start) / number / 1000


def measure(
    cases: list[tuple[str, str, Parse, Any]], repeats: int, number: int, warmup: int
) -> dict[tuple[str, str], list[float]]:
    for _label, _input, parse, values in cases:
        batch_us(parse, values, warmup)
    samples: dict[tuple[str, str], list[float]] = {(c[0], c[1]): [] for c in cases}
    for r in range(repeats):
        turn = r % len(cases)
        for label, name, parse, values in cases[turn:] + cases[:turn]:
            gc.collect()  # each batch starts from the same heap; the collector stays on
            samples[label, name].append(batch_us(parse, values, number))
    return samples


def error_text(parse: Parse, value: Any, words: Callable[[BaseException], str]) -> str:
    try:
        result = parse(value)
    except Exception as exc:
        return words(exc)
    if result is None:
        return "None (refused without a word: the object path then words it)"
    return f"ACCEPTED ({result.__class__.__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=41, help="timed batches per path")
    parser.add_argument("--number", type=int, default=200, help="orders per batch")
    parser.add_argument("--warmup", type=int, default=500, help="untimed orders per path")
    parser.add_argument("--pool", type=int, default=500, help="repriced orders taken in turn")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--errors-only", action="store_true")
    args = parser.parse_args()

    print(f"code: {Path(postsales.core.__file__).parent}  python {sys.version.split()[0]}")
    print(
        f"msgspec {msgspec.__version__}, cattrs {_version('cattrs')}, attrs {attrs.__version__}"
        f"; {os.cpu_count()} CPUs"
    )
    app = bootstrap(None, fresh_database(None, "parsers"))
    app.clock = lambda: datetime.fromisoformat("2026-11-23T12:00:00+00:00")
    example = json.loads(EXAMPLE.read_text())
    ten = ten_lines(example)
    rng = random.Random(args.seed)
    texts = {
        "example, 5 lines": [json.dumps(example)],
        "10 lines": [json.dumps(ten)],
        f"10 lines, repriced: {args.pool} orders in turn": [
            json.dumps(repriced(ten, 1000 + n, rng)) for n in range(args.pool)
        ],
    }
    labelled = paths(app)

    for pool in texts.values():  # every path takes every input, and agrees with today's records
        for text in pool[:50]:
            today = parse_message(JSON_DECODER.decode(text))[1]
            assert isinstance(today, OrderCreate)
            for label, parse, takes_bytes in labelled:
                result = parse(text.encode() if takes_bytes else text)
                assert result is not None, label
                if label.startswith(("3", "4")):
                    same_records(today, result)

    if not args.errors_only:
        cases = [
            (label, name, parse, [t.encode() for t in pool] if takes_bytes else pool)
            for name, pool in texts.items()
            for label, parse, takes_bytes in labelled
        ]
        load_before = os.getloadavg()
        samples = measure(cases, args.repeats, args.number, args.warmup)
        load_after = os.getloadavg()
        print(
            f"\nµs per order: median of {args.repeats} batches of {args.number} orders, after "
            f"{args.warmup} untimed; min, max, interquartile range; x = median / read_message's"
        )
        print(f"load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)}")
        for name in texts:
            print(f"\n{name} ({len(texts[name][0].encode())} bytes of JSON)")
            print(f"  {'path':<38} {'median':>8} {'min':>8} {'max':>8} {'IQR':>7} {'x':>6}")
            base = statistics.median(samples[labelled[0][0], name])
            for label, _parse, _bytes in labelled:
                values = samples[label, name]
                q1, _q2, q3 = statistics.quantiles(values, n=4)
                median = statistics.median(values)
                print(
                    f"  {label:<38} {median:8.1f} {min(values):8.1f} {max(values):8.1f} "
                    f"{q3 - q1:7.1f} {median / base:6.2f}"
                )

    ms_decoder = msgspec.json.Decoder(msgspec_schema(True), float_hook=Decimal)
    ms_text_decoder = msgspec.json.Decoder(msgspec_schema(False), float_hook=Decimal)
    by_path = {label: (parse, takes_bytes) for label, parse, takes_bytes in labelled}

    def today_words(exc: BaseException) -> str:
        return exc.message if isinstance(exc, BadInput) else f"{exc.__class__.__name__}: {exc}"

    def ms_raw(exc: BaseException) -> str:
        return str(exc) if isinstance(exc, msgspec.ValidationError) else repr(exc)

    def ms_today(exc: BaseException) -> str:
        return msgspec_wording(exc) if isinstance(exc, msgspec.ValidationError) else repr(exc)

    rows: list[tuple[str, Parse, bool, Callable[[BaseException], str]]] = [
        ("product (text)", *by_path["1 product: read_message"], today_words),
        ("product (dict)", *by_path["1b product: parse_message(dict)"], today_words),
        ("msgspec (Decimal)", ms_decoder.decode, True, ms_raw),
        ("msgspec (text)", ms_text_decoder.decode, True, ms_raw),
        ("msgspec, reworded", ms_decoder.decode, True, ms_today),
        ("cattrs", *by_path["4 cattrs, detailed_validation"], cattrs_wording),
    ]
    print("\nerror texts")
    for title, text in bad_inputs(example):
        print(f"\n{title}")
        for label, parse, takes_bytes, words in rows:
            print(
                f"  {label:<18} {error_text(parse, text.encode() if takes_bytes else text, words)}"
            )
    app.engine.dispose()


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
