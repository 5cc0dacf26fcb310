"""One unit of work per command: the change, its history and its outbox messages commit
together, or nothing does (SPEC §12).

Orders are loaded as aggregates and saved by diffing against the rows they were loaded from.
Refund ledgers are never diffed: they move by guarded UPDATEs (`… WHERE refunded + x <= cap`,
row count checked), so a cap holds even if two writers both believed there was room (D-4).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from ..domain.orders import Order
from ..errors import NotFound, Refused
from ..money import to_minor
from . import rows as R
from . import tables as T
from .bulk import bulk_insert, execute, update_row
from .catalog import Catalog
from .database import READ_ONLY
from .fastread import Reader

# The aggregate's reads, in the order `rows.order_from_rows` takes them (see fastread.py).
_READ_ORDER = Reader(T.orders, "id")
_READ_CHILDREN = (
    Reader(T.order_lines, "order_seq"),
    Reader(T.payments, "order_seq"),
    Reader(T.payment_operations, "order_seq", order_by="id"),
    Reader(T.shipments, "order_seq"),
    Reader(T.returns, "order_seq"),
    Reader(T.refunds, "order_seq"),
)
_READ_HISTORY = Reader(T.history, "order_seq", order_by="id")

_CHILD_TABLES = (
    (T.order_lines, ("line_number",)),
    (T.payments, ("reference",)),
    (T.shipments, ("id",)),
    (T.returns, ("id",)),
    (T.refunds, ("id",)),
)

# Every table holding rows of one order (by `order_seq`), in a safe order to delete them.
_ORDER_ROW_TABLES = (
    T.payment_operations,
    T.payments,
    T.order_lines,
    T.shipments,
    T.returns,
    T.refunds,
    T.history,
)


class _Tracked:
    __slots__ = ("history_loaded", "ops_loaded", "order", "snapshot")

    def __init__(self, order: Order, snapshot: dict[str, dict[Any, dict[str, Any]]] | None):
        self.order = order
        self.snapshot = snapshot  # None: a new order, inserted whole
        self.history_loaded = len(order.history)
        self.ops_loaded = {p.reference: len(p.operations) for p in order.payments}


def snapshot_of(order: Order) -> dict[str, dict[Any, dict[str, Any]]]:
    seq = order.seq
    assert seq is not None
    cur = order.currency
    return {
        "orders": {seq: R.order_row(order)},
        "order_lines": {ln.line_number: R.line_row(seq, ln, cur) for ln in order.lines},
        "payments": {p.reference: R.payment_row(seq, p, cur) for p in order.payments},
        "shipments": {s.id: R.shipment_row(seq, s) for s in order.shipments},
        "returns": {r.id: R.return_row(seq, r) for r in order.returns},
        "refunds": {r.id: R.refund_row(seq, r, cur) for r in order.refunds},
    }


class UnitOfWork:
    """A transaction on one connection. Use as a context manager; call `commit()` to keep."""

    def __init__(self, engine: Engine, *, read_only: bool = False, type_prefix: str = "") -> None:
        self.engine = engine
        self.read_only = read_only
        self.type_prefix = type_prefix
        self._tracked: dict[str, _Tracked] = {}
        self._outbox: list[dict[str, Any]] = []
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect().execution_options(**{READ_ONLY: self.read_only})
        self._tx = self.conn.begin()
        self.catalog = Catalog(self.conn)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    # -- orders ------------------------------------------------------------------------------
    def get_order(self, order_id: str, *, history: bool = False, lock: bool = True) -> Order:
        """Load an order aggregate (raises NotFound). With `lock`, the order row is locked first
        on PostgreSQL; SQLite writers already hold the database lock (BEGIN IMMEDIATE)."""
        if order_id in self._tracked:
            return self._tracked[order_id].order
        found = _READ_ORDER.fetch(self.conn, order_id, lock=lock and not self.read_only)
        if not found:
            raise NotFound(f"order {order_id} not found")
        o = found[0]
        order = self._load_children(o, history=history)
        self._tracked[order_id] = _Tracked(order, None if self.read_only else snapshot_of(order))
        return order

    def order_exists(self, order_id: str) -> bool:
        return (
            self.conn.execute(select(T.orders.c.seq).where(T.orders.c.id == order_id)).first()
            is not None
        )

    def _load_children(self, o: Any, *, history: bool) -> Order:
        seq, c = o.seq, self.conn
        return R.order_from_rows(
            o,
            *(reader.fetch(c, seq) for reader in _READ_CHILDREN),
            _READ_HISTORY.fetch(c, seq) if history else [],
        )

    def add_order(self, order: Order) -> None:
        """Insert a new order aggregate (its seq is assigned by the database)."""
        self._tracked[order.id] = _Tracked(order, None)
        self._tracked[order.id].history_loaded = 0
        self._tracked[order.id].ops_loaded = {}

    def delete_order(self, order: Order) -> None:
        """Delete a DRAFT order with every row that belongs to it (A-15).

        Refused for any other status: a placed order has a history, payments and messages that
        other systems rely on; it is cancelled instead. The order was loaded (and locked) in
        this unit of work, so its status is current. It is untracked: `flush` neither saves nor
        re-inserts it.
        """
        if order.status != "DRAFT":
            raise Refused(f"order is {order.status}; only DRAFT orders can be deleted")
        self._tracked.pop(order.id, None)
        seq = order.seq
        if seq is None:  # added in this unit of work and never flushed: no row to delete
            return
        # Children first: each of these tables has a foreign key to orders.seq.
        for table in _ORDER_ROW_TABLES:
            self.conn.execute(delete(table).where(table.c.order_seq == seq))
        self.conn.execute(delete(T.orders).where(T.orders.c.seq == seq))

    # -- outbox ------------------------------------------------------------------------------
    def emit(
        self, type_: str, payload: dict[str, Any], *, order_id: str | None, at: datetime
    ) -> str:
        """Queue an outbound message; it is written in this transaction (SPEC §9)."""
        message_id = f"out-{uuid.uuid4().hex}"
        self._outbox.append(
            {
                "message_id": message_id,
                "type": self.type_prefix + type_,
                "order_id": order_id,
                "payload": payload,
                "created_at": at,
            }
        )
        return message_id

    @property
    def pending_messages(self) -> list[dict[str, Any]]:
        return list(self._outbox)

    # -- commit ------------------------------------------------------------------------------
    def flush(self) -> None:
        for tracked in self._tracked.values():
            if tracked.snapshot is None:
                self._insert_order(tracked)
                tracked.snapshot = snapshot_of(tracked.order)
            else:
                tracked.snapshot = self._save_order(tracked)
            tracked.history_loaded = len(tracked.order.history)
            tracked.ops_loaded = {p.reference: len(p.operations) for p in tracked.order.payments}
        if self._outbox:
            bulk_insert(self.conn, T.outbox, self._outbox)
            self._outbox = []

    def commit(self) -> None:
        self.flush()
        self._tx.commit()

    def _insert_order(self, tracked: _Tracked) -> None:
        order = tracked.order
        row = R.order_row(order)
        row["updated_at"] = order.created_at
        order.seq = self.conn.execute(insert(T.orders).returning(T.orders.c.seq), row).scalar_one()
        insert_children(self.conn, [order])

    def _save_order(self, tracked: _Tracked) -> dict[str, dict[Any, dict[str, Any]]]:
        """Write what changed since the snapshot; returns the new snapshot."""
        order = tracked.order
        seq = order.seq
        cur = order.currency
        old = tracked.snapshot
        assert old is not None and seq is not None
        self._move_ledgers(order, old["refunds"])
        new = snapshot_of(order)
        changed = False
        for table, keys in _CHILD_TABLES:
            before, after = old[table.name], new[table.name]
            added = [row for key, row in after.items() if key not in before]
            bulk_insert(self.conn, table, added)
            changed = changed or bool(added)
            for key, row in after.items():
                if key in before and (diff := _diff(before[key], row)) is not None:
                    where = {"order_seq": seq, **{k: row[k] for k in keys}}
                    update_row(self.conn, table, where, diff)
                    changed = True
        new_ops = [
            R.operation_row(seq, p.reference, op, cur)
            for p in order.payments
            for op in p.operations[tracked.ops_loaded.get(p.reference, 0) :]
        ]
        bulk_insert(self.conn, T.payment_operations, new_ops)
        new_history = order.history[tracked.history_loaded :]
        bulk_insert(self.conn, T.history, [R.history_row(seq, e) for e in new_history])
        order_diff = _diff(old["orders"][seq], new["orders"][seq]) or {}
        if order_diff or changed or new_ops or new_history:
            if new_history:
                order_diff["updated_at"] = new_history[-1].at
            update_row(self.conn, T.orders, {"seq": seq}, order_diff, bump_version=True)
        return new

    def _move_ledgers(self, order: Order, old_refunds: dict[str, dict[str, Any]]) -> None:
        """Apply refund deltas with guarded UPDATEs; refuse if a cap would be exceeded."""
        cur = order.currency
        line_delta: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for refund in order.refunds:
            before = old_refunds.get(refund.id)
            was_active = before is not None and before["status"] != "CANCELLED"
            sign = (1 if refund.active else 0) - (1 if was_active else 0)
            if not sign:
                continue
            for rl in refund.lines:
                minor = sign * to_minor(rl.amount, cur)
                line_delta[rl.line_number][0] += minor
                if refund.kind == "APPEASEMENT":
                    line_delta[rl.line_number][1] += minor
        if not line_delta:
            return
        seq = order.seq
        mark = "?" if self.conn.dialect.name == "sqlite" else "%s"
        for number, (refunded, appeased) in sorted(line_delta.items()):
            count = execute(
                self.conn,
                _LINE_LEDGER.format(m=mark),
                (refunded, appeased, seq, number, refunded, appeased, refunded),
            )
            if count != 1:
                raise Refused(f"line {number}: the refund would exceed what is left to refund")
        total = sum(d[0] for d in line_delta.values())
        if execute(self.conn, _ORDER_LEDGER.format(m=mark), (total, seq, total)) != 1:
            raise Refused("the refund would exceed what is left of the captured amount (D-4)")


# The guarded ledger moves (D-1, D-2, D-4): the cap is checked by the database, in the UPDATE.
_LINE_LEDGER = (
    "UPDATE order_lines SET refunded_minor = refunded_minor + {m}, "
    "appeased_minor = appeased_minor + {m} "
    "WHERE order_seq = {m} AND line_number = {m} AND refunded_minor + {m} <= gross_minor "
    "AND appeased_minor + {m} <= net_minor AND refunded_minor + {m} >= 0"
)
_ORDER_LEDGER = (
    "UPDATE orders SET refunded_minor = refunded_minor + {m} "
    "WHERE seq = {m} AND refunded_minor + {m} <= captured_minor"
)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    changed = {k: v for k, v in after.items() if k not in R.LEDGER_COLUMNS and before.get(k) != v}
    return changed or None


def insert_children(conn: Connection, orders: Iterable[Order]) -> None:
    """Insert every child row of freshly inserted orders (their `seq` set), batched per table."""
    batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        seq = order.seq
        assert seq is not None
        cur = order.currency
        batches["order_lines"] += [R.line_row(seq, ln, cur) for ln in order.lines]
        batches["payments"] += [R.payment_row(seq, p, cur) for p in order.payments]
        batches["payment_operations"] += [
            R.operation_row(seq, p.reference, op, cur)
            for p in order.payments
            for op in p.operations
        ]
        batches["shipments"] += [R.shipment_row(seq, s) for s in order.shipments]
        batches["returns"] += [R.return_row(seq, r) for r in order.returns]
        batches["refunds"] += [R.refund_row(seq, r, cur) for r in order.refunds]
        batches["history"] += [R.history_row(seq, e) for e in order.history]
    for name, rows in batches.items():
        bulk_insert(conn, T.metadata.tables[name], rows)
