"""One unit of work per command: the change, its history and its outbox messages commit
together, or nothing does (SPEC §12).

Orders are loaded as aggregates and saved by diffing against the rows they were loaded from
(`changes.py`, which also moves the refund ledgers by guarded UPDATEs, D-1…D-4). A flush sends
its statements as one batch (`writes.py`): one round trip on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update

from ..crypto import BillingCipher
from ..domain.customers import Address, Customer, normalise_email
from ..domain.orders import Order
from ..errors import NotFound, Refused
from ..observe import current_request_id
from . import rows as R
from . import tables as T
from .catalog import Catalog
from .changes import Snapshot, snapshot_of, write_changes
from .database import LOCK_WAIT, READ_ONLY, insert_or_update
from .fastread import Reader, fetch_together
from .keys import cipher_for
from .sealing import holds_billing, seal_outbox_payload
from .stock import StockLedger
from .writes import Batch, allocate_seqs, raw_connection

__all__ = ["UnitOfWork", "snapshot_of"]

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

    def __init__(self, order: Order, snapshot: Snapshot | None):
        self.order = order
        self.snapshot = snapshot  # None: a new order, inserted whole
        self.history_loaded = len(order.history)
        self.ops_loaded = {p.reference: len(p.operations) for p in order.payments}


class UnitOfWork:
    """A transaction on one connection. Use as a context manager; call `commit()` to keep."""

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        type_prefix: str = "",
        lock_wait: float | None = None,
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        self.lock_wait = lock_wait  # SQLite: seconds to wait for the write lock; None: default
        self.type_prefix = type_prefix
        self._tracked: dict[str, _Tracked] = {}
        self._outbox: list[dict[str, Any]] = []
        self._rows: list[tuple[Table, list[dict[str, Any]]]] = []
        self._cipher: BillingCipher | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        options: dict[str, Any] = {READ_ONLY: self.read_only}
        if self.lock_wait is not None:
            options[LOCK_WAIT] = self.lock_wait
        self.conn = self.engine.connect().execution_options(**options)
        self._tx = self.conn.begin()
        self.catalog = Catalog(self.conn)
        self.stock = StockLedger(self.conn)
        return self

    def billing(self) -> BillingCipher:
        """This database's billing cipher (S-6), found on first use (`keys.cipher_for`)."""
        cipher = self._cipher
        if cipher is None:
            cipher = self._cipher = cipher_for(self.conn)
        return cipher

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    # -- orders ------------------------------------------------------------------------------
    def get_order(
        self,
        order_id: str,
        *,
        history: bool = False,
        lock: bool = True,
        channels: Collection[str] | None = None,
    ) -> Order:
        """Load an order aggregate (raises NotFound). With `lock`, the order row is locked first
        on PostgreSQL; SQLite writers already hold the database lock (BEGIN IMMEDIATE).

        With `channels` (a user's stores), an order of any other sales channel is "not found"
        (SPEC §4) at the cost of an unknown one: on PostgreSQL the same round trip, nothing
        locked or read beyond it; on SQLite the order row alone."""
        tracked = self._tracked.get(order_id)
        if tracked is not None:
            if channels is not None and (tracked.order.sales_channel or "") not in channels:
                raise NotFound(f"order {order_id} not found")
            return tracked.order
        lock = lock and not self.read_only
        if self.conn.dialect.name == "postgresql":
            readers = [*_READ_CHILDREN, *([_READ_HISTORY] if history else [])]
            found, *children = fetch_together(
                self.conn, order_id, _READ_ORDER, readers, lock=lock, channels=channels
            )
            if not found:
                raise NotFound(f"order {order_id} not found")
            if not history:
                children.append([])
            order = R.order_from_rows(found[0], *children, billing=self.billing)
        else:
            found = _READ_ORDER.fetch(self.conn, order_id, lock=lock)
            if not found or (
                channels is not None and (found[0].sales_channel or "") not in channels
            ):
                raise NotFound(f"order {order_id} not found")
            order = self._load_children(found[0], history=history)
        self._tracked[order_id] = _Tracked(order, None if self.read_only else snapshot_of(order))
        return order

    def customer_draft_id(self, customer_id: str, sales_channel: str) -> str | None:
        """The customer's newest DRAFT order (their cart) in the channel, if any."""
        o = T.orders.c
        query = (
            select(o.id)
            .where(o.status == "DRAFT", o.customer_id == customer_id)
            .where(o.sales_channel == sales_channel)
            .order_by(o.seq.desc())
            .limit(1)
        )
        return self.conn.execute(query).scalar()

    def save_address(self, customer: Customer, address: Address, now: datetime) -> bool:
        """Add `address` to the customer's address book (the `customers` row, made on first
        use, locked while it changes); False when the book already holds it."""
        c = T.customers.c
        insert_new = insert_or_update(self.conn, T.customers)
        self.conn.execute(
            insert_new.on_conflict_do_nothing(index_elements=["id"]),
            {"id": customer.id, "type": customer.type, "first_name": customer.first_name,
             "last_name": customer.last_name, "email": customer.email,
             "email_norm": normalise_email(customer.email), "phone": customer.phone,
             "addresses": [], "updated_at": now},
        )  # fmt: skip
        book = self.conn.execute(
            select(c.addresses).where(c.id == customer.id).with_for_update()
        ).scalar_one()
        entry = address.to_dict()
        if entry in book:
            return False
        self.conn.execute(
            update(T.customers)
            .where(c.id == customer.id)
            .values(addresses=[*book, entry], updated_at=now)
        )
        return True

    def order_exists(self, order_id: str) -> bool:
        return (
            self.conn.execute(select(T.orders.c.seq).where(T.orders.c.id == order_id)).first()
            is not None
        )

    def _load_children(self, o: Any, *, history: bool) -> Order:
        seq, c = o.seq, self.conn
        cursor = raw_connection(c).cursor()
        try:
            lines, pays, ops, ships, rets, refs = (
                reader.fetch(c, seq, cursor=cursor) for reader in _READ_CHILDREN
            )
            past = _READ_HISTORY.fetch(c, seq, cursor=cursor) if history else []
        finally:
            cursor.close()
        return R.order_from_rows(o, lines, pays, ops, ships, rets, refs, past, billing=self.billing)

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
                "request_id": current_request_id(),
            }
        )
        return message_id

    def _at_rest(self, message: dict[str, Any]) -> dict[str, Any]:
        """An outbox row as stored: a payload carrying a billing address is sealed (S-6)."""
        payload = message["payload"]
        if not holds_billing(payload):
            return message
        sealed = seal_outbox_payload(self.billing(), message["message_id"], payload)
        return {**message, "payload": sealed}

    def add_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """INSERT plain rows (all with the same keys, values as SQLAlchemy would take them)
        with the next flush: on PostgreSQL in its pipeline, no round trip of their own (for
        instance an inbound message's idempotency record, written with what it changed)."""
        if rows:
            self._rows.append((table, rows))

    @property
    def pending_messages(self) -> list[dict[str, Any]]:
        return list(self._outbox)

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run `work` once this unit of work has committed (never if it rolls back), for what
        must not share its transaction: stock freed here assigns other orders' waiting
        shipments, each in a transaction of its own (their order row locked first)."""
        self._after_commit.append(work)

    # -- commit ------------------------------------------------------------------------------
    def flush(self) -> None:
        self._flush(commit=False)

    def commit(self) -> None:
        """Write what changed and commit; raises `Refused`, keeping nothing, if a guarded cap
        (D-1…D-4) would break, exactly as `flush` does, so callers need not flush first."""
        # On PostgreSQL the COMMIT goes out with the writes (guards checked on the server,
        # writes.py): the driver is then idle and SQLAlchemy's own commit sends nothing.
        self._flush(commit=True)
        self._tx.commit()
        work, self._after_commit = self._after_commit, []
        for item in work:
            item()

    def _flush(self, *, commit: bool) -> None:
        batch = Batch(self.conn)
        saved: list[tuple[_Tracked, Snapshot]] = []
        new = [t.order for t in self._tracked.values() if t.snapshot is None]
        for order, seq in zip(new, allocate_seqs(self.conn, T.orders, len(new)), strict=True):
            order.seq = seq
        for name, rows in R.new_order_rows(new, self.billing).items():
            batch.insert(T.metadata.tables[name], rows)
        for tracked in self._tracked.values():
            if tracked.snapshot is None:
                saved.append((tracked, snapshot_of(tracked.order)))
            else:
                args = (tracked.order, tracked.snapshot, tracked.history_loaded, tracked.ops_loaded)
                saved.append((tracked, write_changes(batch, *args, billing=self.billing)))
        batch.insert(T.outbox, [self._at_rest(message) for message in self._outbox])
        for table, rows in self._rows:
            batch.insert(table, rows)
        batch.run(commit=commit)  # raises Refused (nothing marked saved) if a cap would break
        self._outbox, self._rows = [], []
        for tracked, snapshot in saved:
            tracked.snapshot = snapshot
            tracked.history_loaded = len(tracked.order.history)
            tracked.ops_loaded = {p.reference: len(p.operations) for p in tracked.order.payments}
