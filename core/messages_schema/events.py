"""Warehouse, gateway and catalog messages: shipped, return received, refund answers, products,
stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from ..domain.orders import PRODUCT_TYPES
from .read import (
    amounts_for,
    fail,
    line_numbers,
    opt_bool,
    opt_id,
    opt_str,
    read_currency,
    read_link,
    read_price,
    req_id,
    req_int,
    req_str,
    wrong,
)

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
            order_id=req_id(payload, "order_id", p),
            source_id=req_id(payload, "source_id", p),
            lines=line_numbers(payload, p),
            carrier=req_str(payload, "carrier", p),
            tracking_number=req_id(payload, "tracking_number", p),
            shipment_request_id=opt_id(payload, "shipment_request_id", p),
            tracking_link=read_link(payload, "tracking_link", p) or None,
            tracking_comment=opt_str(payload, "tracking_comment", p, None),
            box_number=opt_id(payload, "box_number", p),
            correction=opt_bool(payload, "correction", p),
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
            order_id=req_id(payload, "order_id", p),
            source_id=req_id(payload, "source_id", p),
            lines=line_numbers(payload, p),
            return_id=opt_id(payload, "return_id", p),
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
            fail("payload.amount", "missing required field")
        read_price(amount, "payload.amount")  # an amount in some currency: at most 3 decimals
        return cls(
            order_id=req_id(payload, "order_id", p),
            refund_id=req_id(payload, "refund_id", p),
            amount=amount,
            payment_id=opt_id(payload, "payment_id", p),
            response=opt_str(payload, "response", p, None),
            currency=read_currency(payload, p),
        )

    def amount_in(self, currency: str) -> Decimal:
        """The amount quantised to `currency`; `BadInput` on `payload.amount` if it has more
        decimals than the currency allows."""
        return amounts_for(currency).read(self.amount, "payload.amount")


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
        product_type = opt_str(payload, "product_type", p, "PHYSICAL")
        if product_type not in PRODUCT_TYPES:
            fail(
                "payload.product_type",
                f"expected one of {', '.join(PRODUCT_TYPES)}, got {product_type!r}",
            )
        raw_prices = payload.get("prices")
        if raw_prices is None:
            raw_prices = {}
        elif not isinstance(raw_prices, dict):
            wrong("payload.prices", raw_prices, "an object")
        prices = {}
        for channel, value in raw_prices.items():
            path = f"payload.prices.{channel}"
            if not channel:
                fail(path, "empty sales channel id")
            prices[channel] = read_price(value, path)
        return cls(
            sku=req_id(payload, "sku", p),
            name=req_str(payload, "name", p),
            parent_sku=opt_id(payload, "parent_sku", p),
            image_url=read_link(payload, "image_url", p),
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
            source_id=req_id(payload, "source_id", p),
            sku=req_id(payload, "sku", p),
            quantity=req_int(payload, "quantity", p, 0),
        )
