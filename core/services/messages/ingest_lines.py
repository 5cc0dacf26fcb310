"""The order lines and payments of an order-create payload, read straight into rows.

Part of the one-pass reader of `ingest_orders.py`: each function returns None for anything but
the usual shape, and the caller then leaves the whole message to the object path. Amounts are
read to integer minor units by `Minor`, which takes only plain digit texts (and integers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...domain.orders import PRODUCT_TYPES, normalise_sku
from ...errors import BadInput
from ...links import is_web_link
from ...messages_schema.read import JSON_SCALARS, read_rate
from ...money import exponent

_DUMPS = json.JSONEncoder(separators=(",", ":")).encode  # what bulk.py's json.dumps gives
_MEMO_MAX = 65536  # amounts: a line's net, tax and gross, an order's total… repeat less than 4096


class Minor:
    """Plain amount texts ("45.00", "5", "0.5") of one currency to integer minor units; None
    for anything else (signs, spaces, exponents, more decimals than the currency has…)."""

    __slots__ = ("known", "match", "scale")

    def __init__(self, digits: int) -> None:
        self.scale = 10**digits
        frac = rf"(?:\.([0-9]{{1,{digits}}}))?" if digits else ""
        self.match = re.compile(rf"([0-9]{{1,12}}){frac}").fullmatch
        self.known: dict[str, int] = {}

    def read(self, value: object) -> int | None:
        cls = value.__class__
        if cls is str:
            minor = self.known.get(value)  # type: ignore[call-overload]
            if minor is not None:
                return minor
            found = self.match(value)  # type: ignore[call-overload]  # a str, checked above
            if found is None:
                return None
            whole, frac = found.group(1, 2) if self.scale > 1 else (found.group(0), None)
            minor = int(whole) * self.scale
            if frac:
                minor += int(frac) * self.scale // 10 ** len(frac)
            if len(self.known) >= _MEMO_MAX:
                self.known.clear()
            self.known[value] = minor  # type: ignore[index]
            return minor
        if cls is int and 0 <= value < 10**12:  # type: ignore[operator]
            return value * self.scale
        return None


_READERS: dict[str, Minor] = {}
_RATE_TEXT: dict[str, str] = {}


def reader_for(currency: str) -> Minor:
    reader = _READERS.get(currency)
    if reader is None:
        reader = _READERS.setdefault(currency, Minor(exponent(currency)))
    return reader


def _rate_text(value: object) -> str | None:
    """The stored text of a tax rate sent as a string ("8" → "8"); None otherwise."""
    if value.__class__ is not str:
        return None
    text = _RATE_TEXT.get(value)
    if text is None:
        try:
            text = str(read_rate(value, "", ""))
        except BadInput:
            return None
        if len(_RATE_TEXT) >= _MEMO_MAX:
            _RATE_TEXT.clear()
        _RATE_TEXT[value] = text
    return text


def _plain_objects(value: object) -> bool:
    """A list of JSON objects with scalar values only (stored as sent)."""
    if value.__class__ is not list:
        return False
    for item in value:
        if item.__class__ is not dict:
            return False
        for v in item.values():
            if v.__class__ not in JSON_SCALARS:
                return False
    return True


def _taxes_ok(taxes: list[dict[str, Any]], reader: Minor) -> bool:
    for tax in taxes:
        if reader.read(tax.get("amount")) is None or tax["amount"].__class__ is not str:
            return False
        value = tax.get("rate")
        if value is not None and _rate_text(value) is None:
            return False
        kind = tax.get("type")
        if kind is not None and kind.__class__ is not str:
            return False
    return True


def opt_text(value: object, default: str) -> str | None:
    """An optional text field: the string, the default when absent, None when malformed."""
    if value.__class__ is str:
        return value
    return default if value is None else None


def req_text(value: object) -> str | None:
    """A required, non-empty string; None otherwise."""
    return value if value.__class__ is str and value else None


def read_payments(
    raw_payments: object, read: Callable[[object], int | None], origin_value: Any
) -> tuple[list[list[Any]], list[list[Any]], int] | None:
    """(payment rows, operation rows, captured total) of `payload.order.payments`; a payment
    captured when sent gets its capture logged at the order's origin date, as `to_order` does."""
    payments = []
    operations = []
    captured_total = 0
    if raw_payments is None:
        raw_payments = []
    elif raw_payments.__class__ is not list:
        return None
    for raw in raw_payments:
        if raw.__class__ is not dict:
            return None
        pget = raw.get
        reference = opt_text(pget("reference"), "")
        method = req_text(pget("method"))
        payment_id = opt_text(pget("payment_id"), "")
        requested = read(pget("requested_amount"))
        captured = pget("captured_amount")
        captured = 0 if captured is None else read(captured)
        if reference is None or method is None or payment_id is None:
            return None
        if requested is None or captured is None:
            return None
        payments.append([None, reference, method, payment_id, requested, captured])
        if captured > 0:
            operations.append([None, reference, "capture", captured, "imported", origin_value])
        captured_total += captured
    return payments, operations, captured_total


def read_lines(
    raw_lines: object, addresses: dict[str, Any], reader: Minor
) -> tuple[list[list[Any]], int, str | None] | None:
    """(line rows, grand total, first line's shipping address reference) of
    `payload.order.order_lines`, a quantity N giving N unit lines."""
    read = reader.read
    if raw_lines.__class__ is not list or not raw_lines:
        return None
    lines: list[tuple[list[Any], int]] = []  # (row, quantity)
    numbers: set[int] = set()
    parents = []
    ship_ref = None
    for i, raw in enumerate(raw_lines):
        if raw.__class__ is not dict:
            return None
        lget = raw.get
        number = lget("line_number")
        if number.__class__ is not int or number < 1 or number in numbers:
            return None
        numbers.add(number)
        sku = req_text(lget("sku"))
        name = req_text(lget("product_name"))
        product_type = lget("product_type")
        if product_type is None:
            product_type = "PHYSICAL"
        elif product_type.__class__ is not str or product_type not in PRODUCT_TYPES:
            return None
        parent_sku = lget("parent_sku")
        if parent_sku is not None and (parent_sku.__class__ is not str or not parent_sku):
            return None
        image_url = opt_text(lget("image_url"), "")
        if image_url and not is_web_link(image_url):
            return None  # the payload-record path words the refusal
        line_ship = lget("shipping_address_reference")
        if line_ship is not None and (line_ship.__class__ is not str or line_ship not in addresses):
            return None
        if i == 0:
            ship_ref = line_ship
        parent = lget("parent_line_number")
        if parent is not None:
            if parent.__class__ is not int or parent < 1:
                return None
            parents.append((number, parent))
        quantity = lget("quantity")
        if quantity is None:
            quantity = 1
        elif quantity.__class__ is not int or quantity < 1:
            return None
        if sku is None or name is None or image_url is None:
            return None
        amount = lget("amount")
        if amount.__class__ is not dict:
            return None
        aget = amount.get
        net = read(aget("net_amount"))
        tax = read(aget("tax_amount"))
        gross = read(aget("gross_amount"))
        if net is None or tax is None or gross is None or gross != net + tax:
            return None
        discount = aget("discount")
        discount = 0 if discount is None else read(discount)
        if discount is None:
            return None
        original = aget("original_price")
        original = net + discount if original is None else read(original)
        tax_rate = aget("tax_rate")
        tax_rate = "0" if tax_rate is None else _rate_text(tax_rate)
        if original is None or tax_rate is None:
            return None
        taxes = aget("taxes")
        if taxes is None or taxes == []:
            taxes_json = "[]"
        elif _plain_objects(taxes) and _taxes_ok(taxes, reader):
            taxes_json = _DUMPS(taxes)
        else:
            return None
        promotions = lget("promotions")
        if promotions is None or promotions == []:
            promotions_json = "[]"
        elif _plain_objects(promotions):
            promotions_json = _DUMPS(promotions)
        else:
            return None
        row: list[Any] = [
            None,
            number,
            sku,
            parent_sku,
            name,
            image_url,
            product_type,
            parent,
            original,
            discount,
            net,
            tax,
            gross,
            tax_rate,
            taxes_json,
            promotions_json,
            "NEW",
            None,
            None,
            0,
            0,
            normalise_sku(sku),
        ]
        lines.append((row, quantity))
    for number, parent in parents:
        if parent == number or parent not in numbers:
            return None

    # Units beyond the first of a quantity take numbers after the highest one sent.
    extra = max(numbers) + 1
    line_rows: list[list[Any]] = []
    grand_total = 0
    for row, quantity in lines:
        line_rows.append(row)
        for _ in range(quantity - 1):
            unit = row.copy()
            unit[1] = extra
            extra += 1
            line_rows.append(unit)
        grand_total += row[12] * quantity
    return line_rows, grand_total, ship_ref
