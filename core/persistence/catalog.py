"""Catalog and stock look-ups for actions (exchange, reorder, new orders), behind the unit of
work so that plugins reach them through `ActionContext` without seeing SQL. Stock here is what
is available (on hand less reserved); the moves are in `stock.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from . import tables as T
from .stock import available


class Catalog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def product(self, sku: str) -> Any:
        return self.conn.execute(select(T.products).where(T.products.c.sku == sku)).first()

    def siblings(self, parent_sku: str) -> list[Any]:
        q = select(T.products).where(T.products.c.parent_sku == parent_sku)
        return list(self.conn.execute(q.order_by(T.products.c.sku)))

    def stock(self, sku: str, sources: tuple[str, ...]) -> dict[str, int]:
        """Per source, the units of `sku` available: on hand less what released lines hold
        (issue 16 item 1), never below zero."""
        s = T.stock.c
        q = select(s.source_id, s.quantity, s.reserved).where(
            s.sku == sku, s.source_id.in_(sources)
        )
        return available(self.conn.execute(q))

    def stock_of(self, skus: list[str], sources: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """`stock` for several SKUs in one query: per SKU, per source, what is available."""
        s = T.stock.c
        q = select(s.sku, s.source_id, s.quantity, s.reserved).where(
            s.sku.in_(skus), s.source_id.in_(sources)
        )
        found: dict[str, list[Any]] = {sku: [] for sku in skus}
        for row in self.conn.execute(q):
            found[row.sku].append(row)
        return {sku: available(rows) for sku, rows in found.items()}

    def search(self, text: str, limit: int = 20) -> list[Any]:
        """Products whose SKU or name holds the text, case-insensitively, SKU order (A-12 asks
        for 3+ characters; `%` and `_` are the characters they are)."""
        p = T.products.c
        wanted = text.lower()
        found = func.lower(p.sku).contains(wanted, autoescape=True) | func.lower(p.name).contains(
            wanted, autoescape=True
        )
        return list(self.conn.execute(select(T.products).where(found).order_by(p.sku).limit(limit)))
