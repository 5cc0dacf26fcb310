"""Line prices: net, tax and gross from a price and a discount, and lines from the catalog.

Agents price lines in three places — a new order (A-12), an edit (A-14) and a reorder (A-11) —
and all three must compute a line the same way, or the same basket would cost differently
depending on the screen it was typed in. No storage and no settings here (only `reprice`
changes its line), so all of it is tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

import attrs

from ..money import ZERO, parse_amount, quantum
from .orders import OrderLine


class CatalogProduct(Protocol):
    """What pricing reads of a catalog product (a `products` row has these attributes)."""

    sku: str
    name: str
    product_type: str
    parent_sku: str | None
    image_url: str | None
    prices: Mapping[str, Any] | None


@attrs.frozen
class LineAmounts:
    """A line's amounts for a price and a discount; `taxes` are the line's tax entries with
    their `amount` recomputed (JSON strings, as stored)."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    taxes: list[dict[str, Any]]


def line_amounts(
    price: Decimal,
    discount: Decimal,
    tax_rate: Decimal,
    taxes: list[dict[str, Any]],
    currency: str,
) -> LineAmounts:
    """Net is price less discount; each tax (its `rate` a percentage, defaulting to the line's
    `tax_rate`) is quantised to the currency; gross is net plus their sum.

    A line without tax entries is taxed once at `tax_rate`. Price and discount are expected to be
    already quantised to the currency, so net needs no rounding.
    """
    net = price - discount

    def share(rate: Any) -> Decimal:
        return (net * Decimal(str(rate)) / 100).quantize(quantum(currency))

    new_taxes = [{**t, "amount": str(share(t.get("rate", tax_rate)))} for t in taxes]
    amounts = [Decimal(t["amount"]) for t in new_taxes]
    tax = sum(amounts, ZERO) if amounts else share(tax_rate)
    return LineAmounts(net=net, tax=tax, gross=net + tax, taxes=new_taxes)


def reprice(line: OrderLine, price: Decimal, discount: Decimal, currency: str) -> None:
    """Set a line's price and discount; its net, taxes, tax and gross follow."""
    amounts = line_amounts(price, discount, line.tax_rate, line.taxes, currency)
    line.taxes = amounts.taxes
    line.original_price, line.discount = price, discount
    line.net_amount, line.tax_amount, line.gross_amount = amounts.net, amounts.tax, amounts.gross


def listed_price(product: CatalogProduct | None, channel_id: str) -> Any:
    """The catalog's price of the product in the channel as stored, or None if it has none."""
    if product is None:
        return None
    return (product.prices or {}).get(channel_id)


def catalog_price(product: CatalogProduct | None, channel_id: str, currency: str) -> Decimal | None:
    """The product's price in the channel, in the channel's currency, if the catalog has one.

    A listed price the currency cannot hold (more decimals than it has) counts as no price:
    callers then ask the agent for one or keep the price already paid.
    """
    raw = listed_price(product, channel_id)
    if raw is None:
        return None
    try:
        return parse_amount(raw, currency)
    except ValueError:
        return None


def catalog_lines(
    product: CatalogProduct,
    quantity: int,
    price: Decimal,
    first_number: int,
    *,
    currency: str,
    tax_rate: Decimal = ZERO,
    tax_type: str = "SALES",
) -> list[OrderLine]:
    """`quantity` unit lines of a catalog product at `price`, numbered from `first_number`,
    taxed at the channel's `tax_rate` (a percentage) as its imported lines are: net is the
    price, gross = net + tax, one tax entry of `tax_type`."""
    taxes = [{"type": tax_type, "amount": "0", "rate": str(tax_rate)}] if tax_rate else []
    amounts = line_amounts(price, ZERO, tax_rate, taxes, currency)
    return [
        OrderLine(
            line_number=first_number + i,
            sku=product.sku,
            name=product.name,
            product_type=product.product_type,
            parent_sku=product.parent_sku,
            image_url=product.image_url or "",
            original_price=price,
            net_amount=amounts.net,
            tax_amount=amounts.tax,
            gross_amount=amounts.gross,
            tax_rate=tax_rate,
            taxes=[dict(t) for t in amounts.taxes],
        )
        for i in range(quantity)
    ]
