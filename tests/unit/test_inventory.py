"""The stock moves of `core.services.inventory`, without a database: a fake stock ledger with the
guarded semantics (reserve only what is available) records every statement, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from postsales.core.context import ActionContext
from postsales.core.domain.customers import Customer
from postsales.core.domain.orders import Order, OrderLine
from postsales.core.domain.users import system_user
from postsales.core.services import inventory

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


class FakeStock:
    def __init__(self, rows: dict[str, tuple[int, int]] | None = None) -> None:
        # "SOU1:SKU" -> [on hand, reserved]
        self.rows = {key: list(value) for key, value in (rows or {}).items()}
        self.calls: list[tuple[Any, ...]] = []

    def _row(self, source: str, sku: str) -> list[int]:
        return self.rows.setdefault(f"{source}:{sku}", [0, 0])

    def reserve(self, source: str, sku: str, n: int, now: datetime) -> bool:
        self.calls.append(("reserve", source, sku, n))
        row = self._row(source, sku)
        if row[0] - row[1] < n:
            return False
        row[1] += n
        return True

    def release(self, source: str, sku: str, n: int) -> None:
        self.calls.append(("release", source, sku, n))
        row = self._row(source, sku)
        row[1] = max(row[1] - n, 0)

    def take(self, source: str, sku: str, n: int, held: int) -> None:
        self.calls.append(("take", source, sku, n, held))
        row = self._row(source, sku)
        row[0], row[1] = max(row[0] - n, 0), max(row[1] - held, 0)

    def waiting(self, source: str, sku: str) -> list[tuple[str, str]]:
        return []


class FakeUow:
    def __init__(self, stock: FakeStock) -> None:
        self.stock = stock
        self.after: list[Any] = []

    def after_commit(self, work: Any) -> None:
        self.after.append(work)


def ctx_with(stock: FakeStock) -> ActionContext:
    return ActionContext(app=SimpleNamespace(), uow=FakeUow(stock), user=system_user(), now=NOW)


def line(n: int, sku: str, kind: str = "PHYSICAL", **more: Any) -> OrderLine:
    return OrderLine(n, sku, f"Item {sku}", kind, **more)


def make_order(status: str, lines: list[OrderLine]) -> Order:
    return Order(id="1", sales_channel="ST1", currency="USD", customer=Customer("C-1", "guest"),
                 created_at=NOW, origin_date=NOW, status=status, lines=lines)  # fmt: skip


def test_a_source_reserves_all_its_product_lines_or_none_in_sku_order() -> None:
    stock = FakeStock({"SOU1:B": (1, 0), "SOU1:A": (5, 0), "SOU2:A": (1, 0)})
    ctx = ctx_with(stock)
    sou1 = [line(1, "B"), line(2, "A"), line(3, "A"), line(4, "WRAP", "SERVICE")]
    sou2 = [line(5, "A"), line(6, "Z")]
    got = inventory.reserve(ctx, {"SOU2": sou2, "SOU1": sou1})
    assert got == {"SOU2": False, "SOU1": True}
    # Rows in (source, sku) order whatever the plan's order; SOU2's A is given back when its Z
    # is refused, so SOU2's lines hold nothing.
    assert stock.calls == [
        ("reserve", "SOU1", "A", 2),
        ("reserve", "SOU1", "B", 1),
        ("reserve", "SOU2", "A", 1),
        ("reserve", "SOU2", "Z", 1),
        ("release", "SOU2", "A", 1),
    ]
    assert [ln.reserved_source_id for ln in sou1] == ["SOU1", "SOU1", "SOU1", None]
    assert [ln.reserved_source_id for ln in sou2] == [None, None]
    assert stock.rows["SOU2:A"] == [1, 0]


def test_services_alone_need_no_stock_and_no_source_reserves_nothing() -> None:
    stock = FakeStock()
    got = inventory.reserve(
        ctx_with(stock), {"SOU1": [line(1, "WRAP", "SERVICE")], "": [line(2, "A")]}
    )
    assert got == {"SOU1": True, "": False} and stock.calls == []


def test_shipping_consumes_what_lines_hold_and_gives_back_another_sources() -> None:
    stock = FakeStock({"SOU1:A": (2, 2), "SOU2:A": (3, 1)})
    lines = [
        line(1, "A", reserved_source_id="SOU1"),
        line(2, "A", reserved_source_id="SOU2"),
        line(3, "A"),  # never reserved
        line(4, "SHIP", "SHIPPING"),
    ]
    inventory.ship(ctx_with(stock), lines, "SOU1")
    assert stock.calls == [("take", "SOU1", "A", 3, 1), ("release", "SOU2", "A", 1)]
    # 3 left SOU1, 1 of them held there: never below zero. SOU2 gets line 2's unit back.
    assert (stock.rows["SOU1:A"], stock.rows["SOU2:A"]) == ([0, 1], [3, 0])
    assert [ln.reserved_source_id for ln in lines] == [None] * 4


def test_give_back_lists_only_lines_that_held_stock() -> None:
    stock = FakeStock({"SOU1:A": (1, 1)})
    order = make_order("LOGISTICS", [line(1, "A", reserved_source_id="SOU1"), line(2, "A")])
    ctx = ctx_with(stock)
    released = inventory.give_back(ctx, order, order.lines)
    assert released == [{"line_number": 1, "sku": "A", "source_id": "SOU1"}]
    assert stock.rows["SOU1:A"] == [1, 0]
    assert ctx._uow.after == []  # nobody waits (the fake ledger finds no waiting shipment)


def test_shortages_count_what_is_available_across_sources() -> None:
    lines = [line(1, "A"), line(2, "A"), line(3, "B"), line(4, "S", "SHIPPING")]
    order = make_order("DRAFT", lines)
    stock = [
        {"sku": "A", "source_id": "SOU1", "available": 1},
        {"sku": "A", "source_id": "SOU2", "available": -3},
        {"sku": "B", "source_id": "SOU1", "available": 4},
    ]
    assert inventory.shortages(order, stock) == [{"sku": "A", "ordered": 2, "available": 1}]
