"""Catalog and stock look-ups for actions (exchange, reorder, new orders), behind the unit of
work so that plugins reach them through `ActionContext` without seeing SQL. Stock here is what
is available (on hand less reserved); the moves are in `stock.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

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

    def search(self, text: str, limit: int = 20) -> list[Any]:
        """Products whose SKU or name contains the text (A-12 asks for 3+ characters)."""
        pattern = f"%{text.lower()}%"
        q = select(T.products).where(
            T.products.c.sku.ilike(pattern) | T.products.c.name.ilike(pattern)
        )
        return list(self.conn.execute(q.order_by(T.products.c.sku).limit(limit)))
