"""Line pricing shared by new orders, edits and reorders (`core.domain.pricing`): no database."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from postsales.core.domain.orders import OrderLine
from postsales.core.domain.pricing import (
    catalog_lines,
    catalog_price,
    line_amounts,
    listed_price,
    reprice,
)

D = Decimal


def product(prices: Any = None, **changes: Any) -> Any:
    """A stand-in for a `products` row: pricing reads attributes only."""
    fields = {
        "sku": "MJ01-M-RED",
        "name": "Beaumont Summit Kit",
        "product_type": "PHYSICAL",
        "parent_sku": "MJ01",
        "image_url": None,
        "prices": prices,
    }
    return SimpleNamespace(**{**fields, **changes})


def test_each_tax_is_quantised_and_summed_into_gross() -> None:
    taxes = [{"type": "STATE", "rate": "6.25"}, {"type": "CITY", "rate": "2"}]
    amounts = line_amounts(D("50.00"), D("5.00"), D("8.25"), taxes, "USD")
    assert (amounts.net, amounts.tax, amounts.gross) == (D("45.00"), D("3.71"), D("48.71"))
    assert [t["amount"] for t in amounts.taxes] == ["2.81", "0.90"]  # each rounded, then summed
    assert [t["type"] for t in amounts.taxes] == ["STATE", "CITY"]  # other keys kept
    assert "amount" not in taxes[0]  # the caller's entries are not changed


def test_a_tax_without_rate_uses_the_line_rate_and_no_entry_means_one_tax() -> None:
    amounts = line_amounts(D("45.00"), D("0.00"), D("8"), [{"type": "SALES"}], "USD")
    assert (amounts.tax, amounts.taxes[0]["amount"]) == (D("3.60"), "3.60")
    bare = line_amounts(D("45.00"), D("0.00"), D("8"), [], "USD")
    assert (bare.tax, bare.gross, bare.taxes) == (D("3.60"), D("48.60"), [])


def test_currency_without_decimals() -> None:
    amounts = line_amounts(D("1000"), D("0"), D("10"), [{"rate": "8.5"}], "JPY")
    assert (amounts.tax, amounts.gross, amounts.taxes[0]["amount"]) == (D("85"), D("1085"), "85")


def test_reprice_sets_price_discount_and_follows_with_amounts() -> None:
    line = OrderLine(1, "MJ01-M-RED", "Kit", tax_rate=D("8"), taxes=[{"rate": "8", "amount": "4"}])
    reprice(line, D("60.00"), D("5.00"), "USD")
    assert (line.original_price, line.discount, line.net_amount) == (D("60.00"), D("5.00"), D(55))
    assert (line.tax_amount, line.gross_amount) == (D("4.40"), D("59.40"))
    assert line.taxes == [{"rate": "8", "amount": "4.40"}]
    reprice(line, line.original_price, line.original_price, "USD")  # fully discounted
    assert (line.net_amount, line.tax_amount, line.gross_amount) == (D(0), D("0.00"), D("0.00"))


def test_catalog_price_of_a_channel() -> None:
    assert catalog_price(product({"ST1": "50.00"}), "ST1", "USD") == D("50.00")
    assert catalog_price(product({"ST1": D("7")}), "ST1", "USD") == D("7.00")
    assert catalog_price(product({"ST1": "50.00"}), "ST2", "USD") is None
    assert catalog_price(product(None), "ST1", "USD") is None
    assert catalog_price(None, "ST1", "USD") is None
    # A listed price the currency cannot hold is no price; listed_price still shows it.
    assert catalog_price(product({"ST1": "10.005"}), "ST1", "USD") is None
    assert listed_price(product({"ST1": "10.005"}), "ST1") == "10.005"
    assert listed_price(None, "ST1") is None


@pytest.mark.parametrize("quantity", [1, 3])
def test_catalog_lines_are_unit_lines_taxed_at_the_channel_rate(quantity: int) -> None:
    lines = catalog_lines(product(), quantity, D("50.00"), first_number=4, currency="USD")
    assert [ln.line_number for ln in lines] == list(range(4, 4 + quantity))
    first = lines[0]
    assert (first.sku, first.name, first.parent_sku, first.image_url) == (
        "MJ01-M-RED",
        "Beaumont Summit Kit",
        "MJ01",
        "",
    )
    # A channel without a tax rate: untaxed, net = gross = price.
    assert (first.original_price, first.net_amount, first.gross_amount) == (D("50.00"),) * 3
    assert (first.tax_amount, first.taxes, first.status) == (D(0), [], "NEW")
    # At 8 % (ST1's rate), as the imported lines of seed 004: gross = net + tax.
    taxed = catalog_lines(product(), quantity, D("50.00"), 1, currency="USD", tax_rate=D("8"))
    assert all(
        (ln.net_amount, ln.tax_amount, ln.gross_amount, ln.tax_rate)
        == (D("50.00"), D("4.00"), D("54.00"), D("8"))
        for ln in taxed
    )
    assert taxed[0].taxes == [{"type": "SALES", "amount": "4.00", "rate": "8"}]
    vat = catalog_lines(product(), 1, D("9.99"), 1, currency="EUR", tax_rate=D("19"),
                        tax_type="VAT")  # fmt: skip
    assert (vat[0].tax_amount, vat[0].gross_amount) == (D("1.90"), D("11.89"))
    assert vat[0].taxes[0]["type"] == "VAT"


def test_taxes_are_rounded_one_by_one() -> None:
    # 0.5 % of 1.00 is 0.005 each, rounded half-even to 0.00; the sum is not 1 % rounded (0.01).
    amounts = line_amounts(D("1.00"), D("0.00"), D("1"), [{"rate": "0.5"}, {"rate": "0.5"}], "USD")
    assert (amounts.tax, amounts.gross) == (D("0.00"), D("1.00"))
