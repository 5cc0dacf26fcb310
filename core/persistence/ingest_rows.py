"""Rows of freshly imported orders as driver-ready lists, and their batched INSERTs.

The import path (`services.messages.inbound`) turns each order-create message into a `NewOrder`: one
list per row, in the column order below, with every value already in the form the driver takes
(times as the dialect stores them, JSON as text, money as integer minor units). Index 0 of every
row that belongs to an order is its `seq`, filled in when the batch is written. A `NewOrder` is
built either straight from the payload (`services.messages.ingest_orders`, the fast path) or
from the order aggregate through `rows.py` (`from_order`, for anything unusual): both give the
same lists, which `tests/integration/test_ingest_equivalence.py` checks.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table

from ..crypto import BillingCipher
from ..domain.orders import Order
from . import mapping as M
from . import rows as R
from . import tables as T
from .writes import (
    DRAW_SEQS_PG,
    allocate_seqs,
    converters,
    insert_rows,
    insert_statement,
    raw_connection,
)


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Columns in the order the lists hold them; `order_seq`/`seq` first where a row has one.
ORDER_COLUMNS = _columns(
    "seq id sales_channel market status status_reason held_from order_type "
    "parent_order_id related_order_ids client_order_reference origin origin_date "
    "created_at updated_at language vat_country currency customer_id customer_type "
    "customer_first_name customer_last_name customer_email customer_phone email_norm "
    "phone_digits name_norm ship_zip ship_address_norm billing_address "
    "billing_address_enc billing_index bill_to_name ship_to_name shipping_address "
    "shipping_method grand_total_minor captured_minor refunded_minor lock_holder "
    "lock_expires_at version phone_national first_name_norm last_name_norm"
)
LINE_COLUMNS = _columns(
    "order_seq line_number sku parent_sku name image_url product_type parent_line_number "
    "original_price_minor discount_minor net_minor tax_minor gross_minor tax_rate taxes "
    "promotions status status_reason source_id refunded_minor appeased_minor sku_norm"
)
PAYMENT_COLUMNS = _columns("order_seq reference method payment_id requested_minor captured_minor")
OPERATION_COLUMNS = _columns("order_seq payment_reference event amount_minor response at")
HISTORY_COLUMNS = ("order_seq", "at", "actor", "kind", "summary", "payload")
OUTBOX_COLUMNS = ("message_id", "type", "order_id", "payload", "created_at")
INBOUND_COLUMNS = ("message_id", "type", "order_id", "received_at")

_TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (T.orders, ORDER_COLUMNS),
    (T.order_lines, LINE_COLUMNS),
    (T.payments, PAYMENT_COLUMNS),
    (T.payment_operations, OPERATION_COLUMNS),
    (T.history, HISTORY_COLUMNS),
    (T.outbox, OUTBOX_COLUMNS),
    (T.inbound_messages, INBOUND_COLUMNS),
)


class NewOrder:
    """One imported order's rows, ready for the driver; `seq` slots hold None until written."""

    __slots__ = (
        "history",
        "lines",
        "message_id",
        "operations",
        "order",
        "order_id",
        "outbox",
        "payments",
    )

    def __init__(
        self,
        message_id: str,
        order_id: str,
        order: list[Any],
        lines: list[list[Any]],
        payments: list[list[Any]],
        operations: list[list[Any]],
        history: list[Any],
        outbox: list[Any],
    ) -> None:
        self.message_id = message_id
        self.order_id = order_id
        self.order = order
        self.lines = lines
        self.payments = payments
        self.operations = operations
        self.history = history
        self.outbox = outbox

    def __reduce__(self) -> tuple[type[NewOrder], tuple[Any, ...]]:
        # Import workers send these to the importing process: the constructor's arguments
        # pickle and load in three quarters of the time the slots' state takes.
        return NewOrder, (
            self.message_id,
            self.order_id,
            self.order,
            self.lines,
            self.payments,
            self.operations,
            self.history,
            self.outbox,
        )


def _as_list(table: Table, columns: Sequence[str], row: dict[str, Any], dialect: str) -> list[Any]:
    convert = converters(table, columns, dialect)
    values = [fn(row.get(name)) for name, fn in zip(columns, convert, strict=True)]
    if columns[0] in ("seq", "order_seq"):
        values[0] = None  # allocated when the batch is written
    return values


def from_order(
    order: Order,
    message_id: str,
    outbox: dict[str, Any],
    dialect: str,
    billing: Callable[[], BillingCipher],
) -> NewOrder:
    """The rows of a new order aggregate through `rows.py`, the writer every action uses.

    `order.history` holds its creation event; `outbox` is the message `UnitOfWork.emit` would
    queue for it."""
    cur = order.currency
    row = R.order_row(order, billing)
    row.update(seq=None, updated_at=order.created_at, version=1)
    ops = [R.operation_row(0, p.reference, op, cur) for p in order.payments for op in p.operations]
    return NewOrder(
        message_id,
        order.id,
        _as_list(T.orders, ORDER_COLUMNS, row, dialect),
        [
            _as_list(T.order_lines, LINE_COLUMNS, M.LINES.row(0, ln, cur), dialect)
            for ln in order.lines
        ],
        [
            _as_list(T.payments, PAYMENT_COLUMNS, M.PAYMENTS.row(0, p, cur), dialect)
            for p in order.payments
        ],
        [_as_list(T.payment_operations, OPERATION_COLUMNS, r, dialect) for r in ops],
        _as_list(T.history, HISTORY_COLUMNS, M.HISTORY.row(0, order.history[0], cur), dialect),
        _as_list(T.outbox, OUTBOX_COLUMNS, outbox, dialect),
    )


_CHUNK = 5000  # ids per look-up: far below SQLite's limit of 32766 variables


def lock_key(message_id: str) -> int:
    """The advisory-lock key of a message id (a signed 32-bit integer)."""
    return zlib.crc32(message_id.encode()) - 2**31


def known(
    conn: Connection,
    message_ids: Sequence[str],
    order_ids: Sequence[str],
    *,
    lock: bool = False,
    draw: int = 0,
) -> tuple[set[str], set[str], list[int]]:
    """(message ids already received, order ids already taken, seqs), in one query per chunk.

    On PostgreSQL, `draw` order seqs are taken from the sequence in the same round trip, in
    increasing order, for `write_orders` (those a duplicate leaves unused are a gap, as after
    any rollback); on SQLite they are allocated when writing, under the write lock.

    With `lock`, on PostgreSQL, each message id's advisory lock is taken first, for the rest
    of the transaction: a concurrent delivery of the same message waits here until this
    transaction ends, then sees it received (each statement reads what is committed when it
    starts). The locks and the look-up go in one round trip. SQLite writers are serialised
    already (BEGIN IMMEDIATE)."""
    seen: set[str] = set()
    taken: set[str] = set()
    seqs: list[int] = []
    sqlite = conn.dialect.name == "sqlite"
    driver = raw_connection(conn)
    cursor = driver.cursor()
    seq_cursor = None if sqlite or not draw else driver.cursor()
    try:
        for start in range(0, max(len(message_ids), len(order_ids)), _CHUNK):
            messages = list(message_ids[start : start + _CHUNK])
            orders = list(order_ids[start : start + _CHUNK])
            if sqlite:
                sql = (
                    "SELECT 0, message_id FROM inbound_messages WHERE message_id IN "
                    f"({','.join('?' * len(messages))}) UNION ALL SELECT 1, id FROM orders "
                    f"WHERE id IN ({','.join('?' * len(orders))})"
                )
                cursor.execute(sql, messages + orders)
            else:
                with driver.pipeline():
                    if lock:  # sorted: two batches never wait for each other's locks
                        for key in sorted({lock_key(m) for m in messages}):
                            driver.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                    cursor.execute(_KNOWN_PG, (messages, orders))
                    if seq_cursor is not None and start == 0:
                        seq_cursor.execute(DRAW_SEQS_PG.format(table="orders"), (draw,))
            for kind, value in cursor.fetchall():
                (taken if kind else seen).add(value)
        if seq_cursor is not None:
            seqs = sorted(row[0] for row in seq_cursor.fetchall())
    finally:
        cursor.close()
        if seq_cursor is not None:
            seq_cursor.close()
    return seen, taken, seqs


_KNOWN_PG = (
    "SELECT 0, message_id FROM inbound_messages WHERE message_id = ANY(%s) "
    "UNION ALL SELECT 1, id FROM orders WHERE id = ANY(%s)"
)


def record_inbound(
    conn: Connection, message_id: str, type_: str, order_id: str | None, received_at: Any
) -> None:
    """The idempotency record of one applied message (`received_at` in the driver's form)."""
    cursor = raw_connection(conn).cursor()
    try:
        cursor.execute(
            insert_statement(conn, T.inbound_messages, INBOUND_COLUMNS)[0],
            (
                message_id,
                type_,
                order_id,
                received_at,
            ),
        )
    finally:
        cursor.close()


def write_orders(
    conn: Connection,
    orders: Sequence[NewOrder],
    received_at: Any,
    seqs: Sequence[int] = (),
) -> None:
    """INSERT every row of `orders`, and their inbound-message records received at
    `received_at` (already in the driver's form): multi-row INSERTs on SQLite, one COPY per
    table on PostgreSQL. Their seqs are the first of `seqs` (drawn by `known`), else
    allocated here."""
    if not orders:
        return
    cursor = raw_connection(conn).cursor()
    try:
        if len(seqs) >= len(orders):
            seqs = list(seqs[: len(orders)])
        else:
            seqs = allocate_seqs(conn, T.orders, len(orders), cursor)
        tables = _fill(orders, seqs, received_at)
        for (table, columns), rows in zip(_TABLES, tables, strict=True):
            if rows:
                insert_rows(conn, table, insert_statement(conn, table, columns)[0], rows, cursor)
    finally:
        cursor.close()


def _fill(orders: Sequence[NewOrder], seqs: Sequence[int], received_at: Any) -> list[list[Any]]:
    """The parameter lists per table (in `_TABLES` order), each row given its order's seq."""
    order_rows: list[Any] = []
    lines: list[Any] = []
    payments: list[Any] = []
    operations: list[Any] = []
    history: list[Any] = []
    outbox: list[Any] = []
    inbound: list[Any] = []
    for new, seq in zip(orders, seqs, strict=True):
        row = new.order
        row[0] = seq
        order_rows.append(row)
        for child in new.lines:
            child[0] = seq
        lines += new.lines
        for child in new.payments:
            child[0] = seq
        payments += new.payments
        for child in new.operations:
            child[0] = seq
        operations += new.operations
        new.history[0] = seq
        history.append(new.history)
        outbox.append(new.outbox)
        inbound.append((new.message_id, _ORDER_CREATE, new.order_id, received_at))
    return [order_rows, lines, payments, operations, history, outbox, inbound]


_ORDER_CREATE = "sales.order_management.create"
