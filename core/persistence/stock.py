"""The stock rows: on hand as the sources report it, and what released lines hold of it.

`reserved` moves only by the statements here, each on one `(source_id, sku)` row. Reserving is
a guarded UPDATE, `… SET reserved = reserved + n WHERE quantity - reserved >= n`, as the refund
ledgers are (`changes.py`): the database checks the cap in the statement, so two releases of the
last unit cannot both get it. On PostgreSQL the second waits on the first's row lock and then
finds the unit gone; on SQLite writers are serialised by BEGIN IMMEDIATE.

Locks are taken in `(source_id, sku)` order by every caller (the inventory service sorts its
moves), each transaction after its own order row and never before another order's: no cycle,
so no deadlock between releases, cancellations, shipments and arriving stock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, select, update

from . import tables as T
from .database import insert_or_update

_s = T.stock.c


def _at(source_id: str, sku: str) -> Any:
    return and_(_s.source_id == source_id, _s.sku == sku)


def _less(column: Any, n: int) -> Any:
    """`column - n`, never below zero: a source may ship or report what was never booked."""
    return case((column >= n, column - n), else_=0)


class StockLedger:
    """Stock reads and moves on the unit of work's connection, inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def reserve(self, source_id: str, sku: str, n: int, now: datetime) -> bool:
        """Hold `n` units of `sku` at `source_id` if that many are available; False if not.

        A refusal still locks the row, creating it at zero if the source has none, and then
        asks again: stock committed meanwhile is seen, and stock arriving after waits for this
        transaction, so it finds this line waiting (never a line waiting beside free stock)."""
        guarded = (
            update(T.stock)
            .where(_at(source_id, sku), _s.quantity - _s.reserved >= n)
            .values(reserved=_s.reserved + n)
        )
        if self.conn.execute(guarded).rowcount == 1:
            return True
        lock = insert_or_update(self.conn, T.stock).values(
            source_id=source_id, sku=sku, quantity=0, reserved=0, updated_at=now
        )
        lock = lock.on_conflict_do_update(
            index_elements=["source_id", "sku"], set_={"reserved": _s.reserved}
        )
        self.conn.execute(lock)
        return self.conn.execute(guarded).rowcount == 1

    def release(self, source_id: str, sku: str, n: int) -> None:
        """Give back `n` held units (a cancelled line, a reservation undone)."""
        self.conn.execute(
            update(T.stock).where(_at(source_id, sku)).values(reserved=_less(_s.reserved, n))
        )

    def take(self, source_id: str, sku: str, n: int, held: int) -> None:
        """`n` units left the source, `held` of them reserved: on hand and reserved go down."""
        values: dict[str, Any] = {"quantity": _less(_s.quantity, n)}
        if held:
            values["reserved"] = _less(_s.reserved, held)
        self.conn.execute(update(T.stock).where(_at(source_id, sku)).values(**values))

    def levels(self, skus: Collection[str], sources: Collection[str] | None = None) -> list[Any]:
        """Rows (source_id, sku, quantity, reserved) for these SKUs, by SKU then source."""
        if not skus:
            return []
        q = select(_s.source_id, _s.sku, _s.quantity, _s.reserved).where(_s.sku.in_(sorted(skus)))
        if sources is not None:
            q = q.where(_s.source_id.in_(sorted(sources)))
        return list(self.conn.execute(q.order_by(_s.sku, _s.source_id)))

    def waiting(self, source_id: str, sku: str) -> list[tuple[str, str]]:
        """(order id, shipment id) of the shipments at `source_id` that wait for stock and hold
        an unreserved line of `sku`, oldest first."""
        s, o, ln = T.shipments.c, T.orders.c, T.order_lines.c
        line_waits = exists().where(
            ln.order_seq == s.order_seq,
            ln.sku == sku,
            ln.source_id == source_id,
            ln.status == "ALLOCATED",
            ln.reserved_source_id.is_(None),
        )
        q = (
            select(o.id, s.id)
            .join_from(T.shipments, T.orders, o.seq == s.order_seq)
            .where(s.status == "AWAITING_INVENTORY", s.source_id == source_id, line_waits)
            .order_by(s.created_at, o.seq, s.id)
        )
        return [(order_id, shipment_id) for order_id, shipment_id in self.conn.execute(q)]

    def waiting_pairs(self) -> list[tuple[str, str]]:
        """Every (source, sku) some shipment waits for."""
        s, ln = T.shipments.c, T.order_lines.c
        q = (
            select(ln.source_id, ln.sku)
            .join_from(T.order_lines, T.shipments, s.order_seq == ln.order_seq)
            .where(
                s.status == "AWAITING_INVENTORY",
                s.source_id == ln.source_id,
                ln.status == "ALLOCATED",
                ln.product_type == "PHYSICAL",
                ln.reserved_source_id.is_(None),
            )
            .distinct()
        )
        return sorted((src, sku) for src, sku in self.conn.execute(q))


def available(rows: Iterable[Any]) -> dict[str, int]:
    """Per source, what can still be reserved (never below zero)."""
    return {r.source_id: max(r.quantity - r.reserved, 0) for r in rows}
