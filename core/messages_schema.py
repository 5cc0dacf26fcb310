"""Inbound message envelopes and payloads (SPEC §9), validated into typed objects.

Every error is a `BadInput` whose message starts with the path of the offending field from the
envelope root (`payload.order.order_lines[1].amount.gross_amount: ...`) and whose `field` carries
that path, so a dead-lettered message says exactly what is wrong with it.

Validation is hand-written rather than done with cattrs: it runs for every imported order, and
cattrs was both slower here (about 1.5 times, per line, without our amount checks) and vaguer
(`unknown error ([<class 'decimal.ConversionSyntax'>]) @ $.amount.gross_amount`; it also takes
`true` for the integer 1). A field's path is only formatted when an error is raised, so the happy
path costs a few dictionary look-ups per field. Unknown keys are ignored everywhere: web stores
send more than we read, and an extra key is not a reason to refuse an order.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import attrs

from .domain.customers import CUSTOMER_TYPES, Address, Customer
from .domain.orders import PRODUCT_TYPES, Order, OrderLine, Payment, PaymentOperation
from .errors import BadInput
from .limits import DATE_RANGE, MAX_INT, MAX_LIST, utc
from .links import check_link
from .money import parse_amount, quantum

INBOUND_TYPES = (
    "sales.order_management.create",
    "logistics.shipment_request_management.shipped",
    "logistics.return.received",
    "payment.refund.confirmed",
    "payment.refund.failed",
    "catalog.product.upsert",
    "inventory.source_item.update",
)

ENVELOPE_ID_MAX = 191  # the longest id a utf8mb4 unique index holds; the dedupe key of §9
ORDER_ID_MAX = 64
_ORDER_ID = re.compile(r"[A-Za-z0-9._-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_ZERO = Decimal(0)
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_PRICE_DECIMALS = 3  # the most any ISO 4217 currency has; the channel's own is checked later
_PRICE_QUANTUM = Decimal(1).scaleb(-_MAX_PRICE_DECIMALS)
_ADDRESS_FIELDS = tuple(attrs.fields_dict(Address))

# For the import's one-pass reader of order creates (services/ingest_orders.py), which must
# accept exactly what this module accepts.
ORDER_ID_PATTERN = _ORDER_ID
CURRENCY_PATTERN = _CURRENCY
ADDRESS_FIELDS = _ADDRESS_FIELDS
JSON_SCALARS = _JSON_SCALARS


# -- envelope ------------------------------------------------------------------------------------


@attrs.frozen
class Envelope:
    """`{"id", "type", "created_at", "payload"}` as SPEC §9 defines it; `id` is the dedupe key."""

    id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


# Numbers are read as Decimal, never float (SPEC §11); NaN and Infinity are refused. One shared
# decoder, as json.loads shares its default one: building it per message costs a few µs.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
# For callers that decode before `parse_envelope` (services/messages/inbox.py).
JSON_DECODER = _DECODER


def parse_envelope(raw: str | bytes | dict[str, Any]) -> Envelope:
    """Read an envelope from JSON text (numbers become `Decimal`, never float) or a decoded dict.

    Extra envelope keys are ignored. Raises `BadInput` naming the field.
    """
    if isinstance(raw, str | bytes | bytearray):
        try:
            if not isinstance(raw, str):  # what json.loads does with bytes
                raw = bytes(raw).decode(json.detect_encoding(raw), "surrogatepass")
            data = _DECODER.decode(raw)
        except json.JSONDecodeError as exc:
            raise BadInput(
                f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except (ValueError, RecursionError) as exc:  # bad UTF-8, NaN, a 5000-digit integer
            raise BadInput(f"not valid JSON: {exc}") from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise BadInput(f"not a message envelope: expected a JSON object, got {_show(data)}")
    message_id = _req_id(data, "id", "")
    if len(message_id) > ENVELOPE_ID_MAX:
        _fail("id", f"expected at most {ENVELOPE_ID_MAX} characters, got {len(message_id)}")
    type_ = _req_str(data, "type", "")
    created_at = _time(data.get("created_at"), "created_at")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        _wrong("payload", payload, "an object")
    return Envelope(id=message_id, type=type_, created_at=created_at, payload=payload)


def strip_prefix(type_: str, prefix: str) -> str:
    """`magento.logistics.return.received` → `logistics.return.received` for prefix `magento.`."""
    if prefix and type_.startswith(prefix):
        return type_[len(prefix) :]
    return type_


def parse_payload(type_: str, payload: dict[str, Any]) -> object:
    """Validate `payload` for the (prefix-stripped) inbound `type_` into its payload class."""
    parser = _PARSERS.get(type_)
    if parser is None:
        _fail("type", f"unknown message type {type_!r}; expected one of {', '.join(INBOUND_TYPES)}")
    if not isinstance(payload, dict):
        _wrong("payload", payload, "an object")
    return parser(payload)


def parse_message(
    raw: str | bytes | dict[str, Any], *, prefix: str = ""
) -> tuple[Envelope, object]:
    """`parse_envelope`, `strip_prefix` and `parse_payload` in one call; the envelope keeps the
    type as sent, the payload object is typed by the stripped one."""
    envelope = parse_envelope(raw)
    return envelope, parse_payload(strip_prefix(envelope.type, prefix), envelope.payload)


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
            if p.captured_amount > _ZERO:
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
    order = _req_dict(payload, "order", "payload")
    base = "payload.order"
    order_id = _req_id(order, "id", base)
    if len(order_id) > ORDER_ID_MAX or not _ORDER_ID.fullmatch(order_id):
        _fail(
            f"{base}.id",
            f"expected at most {ORDER_ID_MAX} characters of A-Z a-z 0-9 . _ -, "
            f"got {_show(order_id)}",
        )
    currency = _req_str(order, "currency", base)
    if not _CURRENCY.fullmatch(currency):
        _fail(f"{base}.currency", f"expected a 3-letter upper-case currency code, got {currency!r}")
    amounts = _amounts(currency)

    customer = _parse_customer(_req_dict(order, "customer", base))
    addresses = _parse_addresses(order, base)
    billing_ref = _req_id(order, "billing_address_reference", base)
    billing = addresses.get(billing_ref)
    if billing is None:
        _fail(f"{base}.billing_address_reference", _unknown_address(billing_ref, addresses))

    payments = []
    for i, raw in enumerate(_opt_list(order, "payments", base)):
        pbase = f"{base}.payments[{i}]"
        if raw.__class__ is not dict:
            _object(raw, pbase)
        payments.append(
            OrderCreatePayment(
                reference=_opt_id(raw, "reference", pbase) or "",
                method=_req_str(raw, "method", pbase),
                payment_id=_opt_id(raw, "payment_id", pbase) or "",
                requested_amount=amounts.required(raw, "requested_amount", pbase),
                captured_amount=amounts.optional(raw, "captured_amount", pbase),
            )
        )

    raw_lines = _req_list(order, "order_lines", base)
    if not raw_lines:
        _fail(f"{base}.order_lines", "expected at least one order line, got none")
    lines = []
    index_of: dict[int, int] = {}  # line number → index in order_lines, for duplicate errors
    for i, raw in enumerate(raw_lines):
        line = _parse_line(raw, f"{base}.order_lines[{i}]", amounts, addresses)
        number = line.line_number
        if number in index_of:
            _fail(
                f"{base}.order_lines[{i}].line_number",
                f"duplicate line number {number} (also at order_lines[{index_of[number]}])",
            )
        index_of[number] = i
        lines.append(line)
    for i, line in enumerate(lines):
        parent = line.parent_line_number
        if parent is not None and (parent == line.line_number or parent not in index_of):
            _fail(
                f"{base}.order_lines[{i}].parent_line_number",
                f"{parent} is not another line of this order (lines: "
                f"{', '.join(map(str, index_of))})",
            )

    ship_ref = lines[0].shipping_address_reference
    return OrderCreate(
        id=order_id,
        client_order_reference=_opt_id(order, "client_order_reference", base),
        sales_channel_id=_req_id(order, "sales_channel_id", base),
        language=_opt_str(order, "language", base, "en_US"),
        vat_country=_opt_str(order, "vat_country", base, ""),
        currency=currency,
        origin=_opt_str(order, "origin", base, "WEB"),
        origin_date=_time(order.get("origin_date"), f"{base}.origin_date"),
        customer=customer,
        addresses=addresses,
        billing_address=billing,
        shipping_address=billing if ship_ref is None else addresses[ship_ref],
        shipping_method=_opt_str(order, "shipping_method", base, ""),
        payments=tuple(payments),
        lines=tuple(lines),
    )


def _parse_customer(raw: dict[str, Any]) -> OrderCreateCustomer:
    base = "payload.order.customer"
    type_ = _opt_str(raw, "type", base, "guest")
    if type_ not in CUSTOMER_TYPES:
        _fail(f"{base}.type", f"expected one of {', '.join(CUSTOMER_TYPES)}, got {type_!r}")
    return OrderCreateCustomer(
        id=_req_id(raw, "id", base),
        type=type_,
        first_name=_opt_str(raw, "first_name", base, ""),
        last_name=_opt_str(raw, "last_name", base, ""),
        email=_req_str(raw, "email", base),
        phone=_opt_str(raw, "phone", base, ""),
    )


def _parse_addresses(order: dict[str, Any], base: str) -> dict[str, Address]:
    addresses = {}
    for i, raw in enumerate(_req_list(order, "addresses", base)):
        abase = f"{base}.addresses[{i}]"
        if raw.__class__ is not dict:
            _object(raw, abase)
        reference = _req_id(raw, "reference", abase)
        if reference in addresses:
            _fail(f"{abase}.reference", f"duplicate address reference {reference!r}")
        # Kept as sent (A-7 accepts any address), but each part must be text.
        parts = [raw.get(name) for name in _ADDRESS_FIELDS]
        for n, value in enumerate(parts):
            if value.__class__ is not str:
                parts[n] = _opt_str(raw, _ADDRESS_FIELDS[n], abase, "")
        addresses[reference] = Address(*parts)
    return addresses


def _parse_line(
    raw: dict[str, Any], base: str, amounts: _Amounts, addresses: dict[str, Address]
) -> OrderCreateLine:
    # Hot path (every line of every imported order): each field is checked inline for its usual
    # shape, and only anything else goes to the reader that accepts, converts or explains.
    if raw.__class__ is not dict:
        _object(raw, base)
    get = raw.get
    number = get("line_number")
    if number.__class__ is not int or number < 1:
        number = _req_int(raw, "line_number", base, 1)
    sku = get("sku")
    if sku.__class__ is not str or not sku:
        sku = _req_id(raw, "sku", base)
    name = get("product_name")
    if name.__class__ is not str or not name:
        name = _req_str(raw, "product_name", base)
    product_type = get("product_type")
    if product_type not in PRODUCT_TYPES:
        product_type = _opt_str(raw, "product_type", base, "PHYSICAL")
        if product_type not in PRODUCT_TYPES:
            _fail(
                f"{base}.product_type",
                f"expected one of {', '.join(PRODUCT_TYPES)}, got {product_type!r}",
            )
    parent_sku = get("parent_sku")
    if parent_sku is not None and (parent_sku.__class__ is not str or not parent_sku):
        parent_sku = _opt_id(raw, "parent_sku", base)
    image_url = get("image_url")
    if image_url.__class__ is not str:
        image_url = _opt_str(raw, "image_url", base, "")
    check_link(image_url, _path(base, "image_url"))
    ship_ref = get("shipping_address_reference")
    if ship_ref is not None:
        if ship_ref.__class__ is not str or not ship_ref:
            ship_ref = _opt_id(raw, "shipping_address_reference", base)
        if ship_ref is not None and ship_ref not in addresses:
            _fail(f"{base}.shipping_address_reference", _unknown_address(ship_ref, addresses))
    parent = get("parent_line_number")
    if parent is not None:
        parent = _req_int(raw, "parent_line_number", base, 1)
    quantity = get("quantity")
    # Each unit becomes a line of its own (SPEC §2): a bound on the order's size.
    quantity = 1 if quantity is None else _req_int(raw, "quantity", base, 1, MAX_LIST)

    amount = get("amount")
    if amount.__class__ is not dict:
        amount = _req_dict(raw, "amount", base)
    abase = f"{base}.amount"
    net = amounts.required(amount, "net_amount", abase)
    tax = amounts.required(amount, "tax_amount", abase)
    gross = amounts.required(amount, "gross_amount", abase)
    if gross != net + tax:
        _fail(
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
    tax_rate = _ZERO if tax_rate is None else _rate(tax_rate, abase, "tax_rate")
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


def _parse_taxes(
    amount: dict[str, Any], base: str, amounts: _Amounts
) -> tuple[dict[str, Any], ...]:
    # Stored as JSON and kept as sent once checked; a number becomes its text ("3.60", "8").
    taxes = []
    for j, tax in enumerate(_opt_list(amount, "taxes", base)):
        tbase = f"{base}.taxes[{j}]"
        entry = _json_copy(_object(tax, tbase))
        value = amounts.required(tax, "amount", tbase)
        if tax["amount"].__class__ is not str:
            entry["amount"] = str(value)
        rate = tax.get("rate")
        if rate is not None:
            value = _rate(rate, tbase, "rate")
            if rate.__class__ is not str:
                entry["rate"] = str(value)
        kind = tax.get("type")
        if kind is not None and kind.__class__ is not str:
            _req_str(tax, "type", tbase)
        taxes.append(entry)
    return tuple(taxes)


def _objects(obj: dict[str, Any], key: str, base: str) -> list[dict[str, Any]]:
    """A list of JSON objects, each copied JSON-safe."""
    return [
        _json_copy(_object(item, f"{base}.{key}[{j}]"))
        for j, item in enumerate(_opt_list(obj, key, base))
    ]


def _json_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy that json.dumps accepts: numbers read as Decimal become strings."""
    for value in obj.values():
        if value.__class__ not in _JSON_SCALARS:
            return _plain(obj)
    return dict(obj)


def _unknown_address(reference: str, addresses: dict[str, Address]) -> str:
    known = ", ".join(map(repr, addresses)) or "none"
    return f"no address with reference {reference!r} in payload.order.addresses (known: {known})"


# -- warehouse, gateway and catalog messages -----------------------------------------------------


@attrs.frozen
class ShipmentShipped:
    """`logistics.shipment_request_management.shipped`: a source shipped these lines."""

    order_id: str
    source_id: str
    lines: tuple[int, ...]
    carrier: str
    tracking_number: str
    shipment_request_id: str | None = None
    tracking_link: str | None = None
    tracking_comment: str | None = None
    box_number: str | None = None
    # True: this message corrects the carrier and tracking of lines already shipped (docs/
    # messages.md). Without it a second "shipped" for shipped lines changes nothing.
    correction: bool = False

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ShipmentShipped:
        p = "payload"
        return cls(
            order_id=_req_id(payload, "order_id", p),
            source_id=_req_id(payload, "source_id", p),
            lines=_line_numbers(payload, p),
            carrier=_req_str(payload, "carrier", p),
            tracking_number=_req_id(payload, "tracking_number", p),
            shipment_request_id=_opt_id(payload, "shipment_request_id", p),
            tracking_link=_link(payload, "tracking_link", p) or None,
            tracking_comment=_opt_str(payload, "tracking_comment", p, None),
            box_number=_opt_id(payload, "box_number", p),
            correction=_opt_bool(payload, "correction", p),
        )


@attrs.frozen
class ReturnReceived:
    """`logistics.return.received`: a source received these returned lines."""

    order_id: str
    source_id: str
    lines: tuple[int, ...]
    return_id: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ReturnReceived:
        p = "payload"
        return cls(
            order_id=_req_id(payload, "order_id", p),
            source_id=_req_id(payload, "source_id", p),
            lines=_line_numbers(payload, p),
            return_id=_opt_id(payload, "return_id", p),
        )


@attrs.frozen
class RefundAnswer:
    """`payment.refund.confirmed` / `payment.refund.failed`: the gateway's word on a refund.

    `amount` is kept as sent: its currency is the order's, known only once the order is loaded;
    `amount_in(currency)` reads it then. `currency`, when sent, is the gateway's word on it
    (a confirmation in another currency than the refund's is refused, issue 17 item 9).
    """

    order_id: str
    refund_id: str
    amount: str | int | Decimal
    payment_id: str | None = None
    response: str | None = None
    currency: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RefundAnswer:
        p = "payload"
        amount = payload.get("amount")
        if amount is None:
            _fail("payload.amount", "missing required field")
        _price(amount, "payload.amount")  # an amount in some currency: at most 3 decimals
        return cls(
            order_id=_req_id(payload, "order_id", p),
            refund_id=_req_id(payload, "refund_id", p),
            amount=amount,
            payment_id=_opt_id(payload, "payment_id", p),
            response=_opt_str(payload, "response", p, None),
            currency=_currency(payload, p),
        )

    def amount_in(self, currency: str) -> Decimal:
        """The amount quantised to `currency`; `BadInput` on `payload.amount` if it has more
        decimals than the currency allows."""
        return _amounts(currency).read(self.amount, "payload.amount")


@attrs.frozen
class ProductUpsert:
    """`catalog.product.upsert`: a product and its price per sales channel."""

    sku: str
    name: str
    parent_sku: str | None = None
    image_url: str = ""
    product_type: str = "PHYSICAL"
    prices: dict[str, Decimal] = attrs.field(factory=dict)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ProductUpsert:
        p = "payload"
        product_type = _opt_str(payload, "product_type", p, "PHYSICAL")
        if product_type not in PRODUCT_TYPES:
            _fail(
                "payload.product_type",
                f"expected one of {', '.join(PRODUCT_TYPES)}, got {product_type!r}",
            )
        raw_prices = payload.get("prices")
        if raw_prices is None:
            raw_prices = {}
        elif not isinstance(raw_prices, dict):
            _wrong("payload.prices", raw_prices, "an object")
        prices = {}
        for channel, value in raw_prices.items():
            path = f"payload.prices.{channel}"
            if not channel:
                _fail(path, "empty sales channel id")
            prices[channel] = _price(value, path)
        return cls(
            sku=_req_id(payload, "sku", p),
            name=_req_str(payload, "name", p),
            parent_sku=_opt_id(payload, "parent_sku", p),
            image_url=_link(payload, "image_url", p),
            product_type=product_type,
            prices=prices,
        )


@attrs.frozen
class SourceItemUpdate:
    """`inventory.source_item.update`: the stock of one sku at one source."""

    source_id: str
    sku: str
    quantity: int

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SourceItemUpdate:
        p = "payload"
        return cls(
            source_id=_req_id(payload, "source_id", p),
            sku=_req_id(payload, "sku", p),
            quantity=_req_int(payload, "quantity", p, 0),
        )


_PARSERS = {
    "sales.order_management.create": OrderCreate.from_payload,
    "logistics.shipment_request_management.shipped": ShipmentShipped.from_payload,
    "logistics.return.received": ReturnReceived.from_payload,
    "payment.refund.confirmed": RefundAnswer.from_payload,
    "payment.refund.failed": RefundAnswer.from_payload,
    "catalog.product.upsert": ProductUpsert.from_payload,
    "inventory.source_item.update": SourceItemUpdate.from_payload,
}
assert tuple(_PARSERS) == INBOUND_TYPES


# -- field readers -------------------------------------------------------------------------------
# Each takes the containing object, the key and the container's path; the field's path is only
# built when there is an error to report.


def _path(base: str, key: str) -> str:
    if not key:
        return base
    return f"{base}.{key}" if base else key


def _fail(path: str, problem: str) -> NoReturn:
    raise BadInput(f"{path}: {problem}", field=path)


def _show(value: object) -> str:
    # A JSON number arrives as Decimal; show it as it was written, not as Decimal('2.0').
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _wrong(path: str, value: object, expected: str) -> NoReturn:
    if value is None:
        _fail(path, "missing required field")
    _fail(path, f"expected {expected}, got {_show(value)}")


def _req_str(obj: dict[str, Any], key: str, base: str) -> str:
    value = obj.get(key)
    if isinstance(value, str) and value:
        return value
    if value == "":
        _fail(_path(base, key), "must not be empty")
    _wrong(_path(base, key), value, "a string")


def _opt_str(obj: dict[str, Any], key: str, base: str, default: Any) -> Any:
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value
    _wrong(_path(base, key), value, "a string")


def _opt_bool(obj: dict[str, Any], key: str, base: str) -> bool:
    """An optional JSON `true` or `false` (absent: false); nothing else reads as one."""
    value = obj.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    _wrong(_path(base, key), value, "true or false")


def _currency(obj: dict[str, Any], base: str) -> str | None:
    """An optional ISO 4217 code, as in `"currency": "USD"`."""
    value = _opt_str(obj, "currency", base, None)
    if value is not None and not CURRENCY_PATTERN.fullmatch(value):
        _fail(_path(base, "currency"), f"expected a three-letter currency code, got {value!r}")
    return value


def _link(obj: dict[str, Any], key: str, base: str) -> str:
    """An optional http(s) URL ("" when absent), refused at the door otherwise (core/links.py)."""
    return check_link(_opt_str(obj, key, base, ""), _path(base, key))


def _opt_id(obj: dict[str, Any], key: str, base: str) -> str | None:
    """An identifier: a string, or an integer some stores send (`"box_number": 1`)."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    _wrong(_path(base, key), value, "a string")


def _req_id(obj: dict[str, Any], key: str, base: str) -> str:
    value = _opt_id(obj, key, base)
    if value is None:
        _fail(
            _path(base, key),
            "must not be empty" if key in obj and obj[key] == "" else "missing required field",
        )
    return value


def _req_int(obj: dict[str, Any], key: str, base: str, minimum: int, maximum: int = MAX_INT) -> int:
    value = obj.get(key)
    # bool is an int subclass, and `true` is never a count or a line number.
    if not isinstance(value, int) or isinstance(value, bool):
        _wrong(_path(base, key), value, "an integer")
    if value < minimum:
        _fail(_path(base, key), f"must be at least {minimum}, got {value}")
    if value > maximum:  # a database integer has 64 bits
        _fail(_path(base, key), f"must be at most {maximum}, got {value}")
    return value


def _req_dict(obj: dict[str, Any], key: str, base: str) -> dict[str, Any]:
    return _object(obj.get(key), _path(base, key))


def _object(value: object, path: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    _wrong(path, value, "an object")


def _req_list(obj: dict[str, Any], key: str, base: str) -> list[Any]:
    value = obj.get(key)
    if isinstance(value, list):
        return value
    _wrong(_path(base, key), value, "a list")


def _opt_list(obj: dict[str, Any], key: str, base: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    _wrong(_path(base, key), value, "a list")


def _line_numbers(obj: dict[str, Any], base: str) -> tuple[int, ...]:
    values = _req_list(obj, "lines", base)
    if not values:
        _fail(f"{base}.lines", "expected at least one line number, got none")
    seen: set[int] = set()
    for i, value in enumerate(values):
        if not isinstance(value, int) or isinstance(value, bool):
            _wrong(f"{base}.lines[{i}]", value, "an integer")
        if value < 1:
            _fail(f"{base}.lines[{i}]", f"must be at least 1, got {value}")
        if value in seen:
            _fail(f"{base}.lines[{i}]", f"duplicate line number {value}")
        seen.add(value)
    return tuple(values)


def _time(value: object, path: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            _fail(path, f"expected an ISO-8601 time with offset, got {_show(value)}")
    elif isinstance(value, datetime):
        parsed = value
    else:
        _wrong(path, value, "an ISO-8601 time with offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        _fail(path, f"{_show(value)} has no UTC offset (naive times are ambiguous)")
    if utc(parsed) is None:
        _fail(path, f"{_show(value)} is outside {DATE_RANGE}")
    return parsed


class _Amounts:
    """Reads the amounts of one currency, remembering recent readings.

    Reading an amount costs more than all of a line's other fields together, and the same few
    texts ("0.00", "5.00", catalog prices) arrive again and again. Decimals are immutable, so
    sharing them is safe; a full memo is simply dropped. Only str and int values are memoised:
    they are the usual JSON shapes and always hashable.
    """

    __slots__ = ("currency", "known", "quantum")

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.quantum = quantum(currency)
        self.known: dict[str | int, Decimal] = {}

    def required(self, obj: dict[str, Any], key: str, base: str) -> Decimal:
        value = obj.get(key)
        if value.__class__ is str:
            amount = self.known.get(value)
            if amount is not None:
                return amount
        elif value is None:
            _fail(_path(base, key), "missing required field")
        return self.read(value, base, key)

    def optional(self, obj: dict[str, Any], key: str, base: str) -> Decimal:
        value = obj.get(key)
        return self.read(0 if value is None else value, base, key)

    def read(self, value: object, base: str, key: str = "") -> Decimal:
        cls = value.__class__
        if cls is not str and cls is not int:
            return _read_amount(value, self.currency, _path(base, key))
        amount = self.known.get(value)  # type: ignore[call-overload]
        if amount is None:
            amount = self._exact(value)  # type: ignore[arg-type]
            if amount is None:
                amount = _read_amount(value, self.currency, _path(base, key))
            if len(self.known) >= _MEMO_MAX:
                self.known.clear()
            self.known[value] = amount  # type: ignore[index]
        return amount

    def _exact(self, value: str | int) -> Decimal | None:
        """The usual case, a non-negative amount already at the currency's precision, at a
        quarter of parse_amount's cost; None for anything parse_amount must judge."""
        try:
            amount = Decimal(value)
            exact = amount.quantize(self.quantum)
        except (ArithmeticError, ValueError):
            return None
        # NaN never equals itself, so it falls through as well.
        return exact if exact == amount and not exact.is_signed() else None


_MEMO_MAX = 4096
_AMOUNTS: dict[str, _Amounts] = {}
_RATES: dict[str | int, Decimal] = {}


def _amounts(currency: str) -> _Amounts:
    reader = _AMOUNTS.get(currency)
    if reader is None:
        reader = _AMOUNTS.setdefault(currency, _Amounts(currency))
    return reader


def _read_amount(value: object, currency: str, path: str) -> Decimal:
    # `money.parse_amount` is the rule (strings or numbers, never float noise, no more decimals
    # than the currency has); this only adds the path and refuses negative amounts.
    if isinstance(value, Decimal):
        value = str(value)  # same reading, and its messages quote '45.123', not Decimal(...)
    try:
        amount = parse_amount(value, currency, field=path)
    except ValueError as exc:
        if _is_number(value):
            raise BadInput(str(exc), field=path) from None
        _fail(path, f"expected an amount, got {_show(value)}")
    except ArithmeticError:  # more digits than Decimal's precision
        _fail(path, f"{_show(value)} is too large an amount")
    if amount.is_signed():
        if amount:
            _fail(path, f"must not be negative, got {_show(value)}")
        amount = amount.copy_abs()  # "-0.00" is zero
    return amount


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return False
    try:
        return Decimal(str(value).strip()).is_finite()
    except (InvalidOperation, ValueError):
        return False


def _decimal(value: object, path: str, what: str) -> Decimal:
    """A finite, non-negative Decimal from a string or a number (a float by its shortest text)."""
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, ValueError):
            number = None
        if number is not None and number.is_finite() and not number.is_signed():
            return number
    _fail(path, f"expected {what}, got {_show(value)}")


def _rate(value: object, base: str, key: str) -> Decimal:
    """A tax rate in percent ("8", "20", "5.5"): any number of decimals."""
    cls = value.__class__
    if cls is str or cls is int:
        known = _RATES.get(value)  # type: ignore[call-overload]  # str or int, checked above
        if known is not None:
            return known
    rate = _decimal(value, _path(base, key), "a non-negative percentage")
    if cls is str or cls is int:
        if len(_RATES) >= _MEMO_MAX:
            _RATES.clear()
        _RATES[value] = rate  # type: ignore[index]
    return rate


def _price(value: object, path: str) -> Decimal:
    """An amount whose currency is not known yet: at most 3 decimals, as any currency has."""
    number = _decimal(value, path, "a non-negative amount")
    try:
        exact = number == number.quantize(_PRICE_QUANTUM)
    except InvalidOperation:  # more digits than Decimal's precision
        _fail(path, f"{_show(value)} is too large an amount")
    if not exact:
        _fail(path, f"{_show(value)} has more than {_MAX_PRICE_DECIMALS} decimals")
    return number


def _plain(value: Any) -> Any:
    """A JSON-safe deep copy: numbers read as Decimal become strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


rate = _rate  # a tax rate's reading, shared with services/ingest_orders.py
