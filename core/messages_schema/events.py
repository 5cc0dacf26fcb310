"""Warehouse, gateway and catalog messages: shipped, return received, refund answers, products,
stock. Each payload is one msgspec Struct, read from decoded JSON by `convert_payload`; msgspec
checks each field's type, `__post_init__` the rest, worded as the order create's are."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from ..domain.orders import PRODUCT_TYPES
from ..links import link_problem
from .checks import Id, Text, as_id, count
from .read import CURRENCY_PATTERN, amounts_for, fail, line_numbers, read_price

_set = msgspec.structs.force_setattr
BASE = "payload"


class ShipmentShipped(msgspec.Struct, frozen=True, kw_only=True):
    """`logistics.shipment_request_management.shipped`: a source shipped these lines."""

    order_id: Id
    source_id: Id
    lines: tuple[int, ...]
    carrier: str
    tracking_number: Id
    shipment_request_id: Id | None = None
    tracking_link: Text = None
    tracking_comment: Text = None
    box_number: Id | None = None
    # True: this message corrects the carrier and tracking of lines already shipped (docs/
    # messages.md). Without it a second "shipped" for shipped lines changes nothing.
    correction: bool | None = False

    def __post_init__(self) -> None:
        _ids(self, "order_id", "source_id")
        _lines(self)
        _text(self, "carrier")
        _ids(self, "tracking_number")
        _ids(self, "shipment_request_id", "box_number", required=False)
        _link(self, "tracking_link")
        if self.tracking_link == "":
            _set(self, "tracking_link", None)
        if self.correction is None:
            _set(self, "correction", False)


class ReturnReceived(msgspec.Struct, frozen=True, kw_only=True):
    """`logistics.return.received`: a source received these returned lines."""

    order_id: Id
    source_id: Id
    lines: tuple[int, ...]
    return_id: Id | None = None

    def __post_init__(self) -> None:
        _ids(self, "order_id", "source_id")
        _lines(self)
        _ids(self, "return_id", required=False)


class RefundAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.refund.confirmed` / `payment.refund.failed`: the gateway's word on a refund.

    `amount` is kept as sent: its currency is the order's, known only once the order is loaded;
    `amount_in(currency)` reads it then. `currency`, when sent, is the gateway's word on it
    (a confirmation in another currency than the refund's is refused, issue 17 item 9).
    """

    order_id: Id
    refund_id: Id
    amount: Any  # text or a number: read as an amount of some currency, at most 3 decimals
    payment_id: Id | None = None
    response: Text = None
    currency: Text = None

    def __post_init__(self) -> None:
        _ids(self, "order_id", "refund_id")
        if self.amount is None:
            fail("payload.amount", "missing required field")
        read_price(self.amount, "payload.amount")
        _ids(self, "payment_id", required=False)
        if self.currency is not None and not CURRENCY_PATTERN.fullmatch(self.currency):
            fail(
                "payload.currency",
                f"expected a three-letter currency code, got {self.currency!r}",
            )

    def amount_in(self, currency: str) -> Decimal:
        """The amount quantised to `currency`; `BadInput` on `payload.amount` if it has more
        decimals than the currency allows."""
        return amounts_for(currency).read(self.amount, "payload.amount")


class ProductUpsert(msgspec.Struct, frozen=True, kw_only=True):
    """`catalog.product.upsert`: a product and its price per sales channel."""

    sku: Id
    name: str
    parent_sku: Id | None = None
    image_url: Text = ""
    product_type: Text = "PHYSICAL"
    prices: dict[str, Any] | None = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.product_type is None:
            _set(self, "product_type", "PHYSICAL")
        if self.product_type not in PRODUCT_TYPES:
            fail(
                "payload.product_type",
                f"expected one of {', '.join(PRODUCT_TYPES)}, got {self.product_type!r}",
            )
        prices: dict[str, Decimal] = {}
        for channel, value in (self.prices or {}).items():
            path = f"payload.prices.{channel}"
            if not channel:
                fail(path, "empty sales channel id")
            prices[channel] = read_price(value, path)
        _set(self, "prices", prices)
        _ids(self, "sku")
        _text(self, "name")
        _ids(self, "parent_sku", required=False)
        if self.image_url is None:
            _set(self, "image_url", "")
        _link(self, "image_url")


class SourceItemUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """`inventory.source_item.update`: the stock of one sku at one source."""

    source_id: Id
    sku: Id
    quantity: int

    def __post_init__(self) -> None:
        _ids(self, "source_id", "sku")
        count(self.quantity, "payload.quantity", 0)


def _ids(record: Any, *names: str, required: bool = True) -> None:
    for name in names:
        as_id(record, name, BASE, required=required)


def _text(record: Any, name: str) -> None:
    if not getattr(record, name):
        fail(f"{BASE}.{name}", "must not be empty")


def _lines(record: Any) -> None:
    line_numbers({"lines": list(record.lines)}, BASE)  # at least one, each ≥ 1, no repeats


def _link(record: Any, name: str) -> None:
    value = getattr(record, name)
    if value:
        problem = link_problem(value)
        if problem:
            fail(f"{BASE}.{name}", problem)
