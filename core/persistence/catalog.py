"""Catalog and stock look-ups for actions (exchange, reorder, new orders), behind the unit of
work so that plugins reach them through `ActionContext` without seeing SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from . import tables as T


class Catalog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def product(self, sku: str) -> Any:
        return self.conn.execute(select(T.products).where(T.products.c.sku == sku)).first()

    def siblings(self, parent_sku: str) -> list[Any]:
        q = select(T.products).where(T.products.c.parent_sku == parent_sku)
        return list(self.conn.execute(q.order_by(T.products.c.sku)))

    def stock(self, sku: str, sources: tuple[str, ...]) -> dict[str, int]:
        q = select(T.stock.c.source_id, T.stock.c.quantity).where(
            T.stock.c.sku == sku, T.stock.c.source_id.in_(sources)
        )
        return {row.source_id: row.quantity for row in self.conn.execute(q)}

    def search(self, text: str, limit: int = 20) -> list[Any]:
        """Products whose SKU or name contains the text (A-12 asks for 3+ characters)."""
        pattern = f"%{text.lower()}%"
        q = select(T.products).where(
            T.products.c.sku.ilike(pattern) | T.products.c.name.ilike(pattern)
        )
        return list(self.conn.execute(q.order_by(T.products.c.sku).limit(limit)))
