"""Inbound messages (SPEC §9): idempotent by id, malformed ones dead-lettered, never
half-applied.

Order-create messages, the bulk of any import, are applied in batches: one transaction per
batch with every row inserted through executemany, while each message keeps its own
idempotency record, history entry and outbox message. Every other type runs one message per
transaction through a handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from sqlalchemy import insert, select

from ..bootstrap import Postsales
from ..domain.history import HistoryEvent
from ..domain.orders import Order
from ..errors import BadInput, PostsalesError, Refused
from ..message_stream import iter_documents
from ..messages_schema import Envelope, parse_envelope, parse_payload, strip_prefix
from ..persistence import rows as R
from ..persistence import tables as T
from ..persistence.bulk import allocate_seqs, bulk_insert
from ..persistence.unit_of_work import UnitOfWork, insert_children
from . import handlers
from .messages_out import order_updated

ORDER_CREATE = "sales.order_management.create"


@attrs.define
class Refusal:
    line: int
    message_id: str | None
    error: PostsalesError

    @property
    def reason(self) -> str:
        return self.error.message

    @property
    def exit_code(self) -> int:
        return self.error.exit_code


@attrs.define
class ImportReport:
    applied: int = 0
    duplicates: int = 0
    refused: list[Refusal] = attrs.field(factory=list)

    @property
    def exit_code(self) -> int:
        return max((r.exit_code for r in self.refused), default=0)


@attrs.define
class _Pending:
    line: int
    raw: str
    envelope: Envelope
    order: Order


def _dead_letter(
    conn: Any, app: Postsales, raw: str, reason: str, envelope: Envelope | None
) -> None:
    conn.execute(
        insert(T.dead_letters).values(
            message_id=envelope.id if envelope else None,
            type=envelope.type if envelope else None,
            # PostgreSQL text cannot hold NUL: keep the bytes visible, escaped, for inspection.
            reason=reason.replace("\x00", "\\u0000"),
            raw=raw[:1_000_000].replace("\x00", "\\u0000"),
            received_at=app.now(),
        )
    )


def _keep_dead_letter(app: Postsales, raw: str, reason: str, envelope: Envelope | None) -> None:
    with app.uow() as uow:
        _dead_letter(uow.conn, app, raw, reason, envelope)
        uow.commit()


def _build_order(app: Postsales, envelope: Envelope, payload: Any) -> Order:
    now = app.now()
    order = payload.to_order(now)
    channel = app.settings.sales_channels.get(order.sales_channel)
    if channel is None:
        known = ", ".join(sorted(app.settings.sales_channels))
        raise BadInput(
            f"payload.order.sales_channel_id: unknown sales channel {order.sales_channel!r}; "
            f"configured: {known}",
            field="payload.order.sales_channel_id",
        )
    if channel.currency != order.currency:
        raise BadInput(
            f"payload.order.currency: {order.currency} does not match sales channel "
            f"{order.sales_channel} ({channel.currency})",
            field="payload.order.currency",
        )
    order.market = channel.market
    order.record(
        HistoryEvent(
            now,
            "system",
            "order.created",
            f"Order received from {order.origin}",
            {"message_id": envelope.id},
        )
    )
    return order


class Importer:
    """Feeds a stream of JSON-lines messages through validation, idempotency and the engine."""

    def __init__(self, app: Postsales, *, batch_size: int = 500) -> None:
        self.app = app
        self.batch_size = batch_size
        self.report = ImportReport()
        self._batch: list[_Pending] = []

    def run(
        self, lines: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        for number, raw, value in iter_documents(_counted(lines, progress)):
            self.feed(number, raw, value)
        self.flush()
        return self.report

    def feed(self, number: int, raw: str, value: object | None = None) -> None:
        """One message; `value` is its already-decoded JSON when the reader has it."""
        envelope = None
        try:
            envelope = parse_envelope(value if isinstance(value, dict) else raw)
            type_ = strip_prefix(envelope.type, self.app.settings.messages.type_prefix)
            payload = parse_payload(type_, envelope.payload)
            if type_ == ORDER_CREATE:
                order = _build_order(self.app, envelope, payload)
                self._batch.append(_Pending(number, raw, envelope, order))
                if len(self._batch) >= self.batch_size:
                    self.flush()
                return
        except PostsalesError as exc:
            self._refuse(number, raw, exc, envelope)
            return
        self.flush()  # keep the stream's order: pending orders first
        self._apply_one(number, raw, envelope, type_, payload)

    def _refuse(self, number: int, raw: str, exc: PostsalesError, env: Envelope | None) -> None:
        self.report.refused.append(Refusal(number, env.id if env else None, exc))
        _keep_dead_letter(self.app, raw, exc.message, env)

    def _apply_one(self, number: int, raw: str, env: Envelope, type_: str, payload: Any) -> None:
        try:
            with self.app.uow() as uow:
                if _seen(uow, [env.id]):
                    self.report.duplicates += 1
                    return
                order_id = handlers.HANDLERS[type_](self.app, uow, env, payload)
                uow.conn.execute(
                    insert(T.inbound_messages).values(
                        message_id=env.id, type=type_, order_id=order_id, received_at=self.app.now()
                    )
                )
                uow.commit()
                self.report.applied += 1
        except PostsalesError as exc:
            self._refuse(number, raw, exc, env)

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        app = self.app
        with app.uow() as uow:
            conn = uow.conn
            seen = _seen(uow, [p.envelope.id for p in batch])
            taken = set(
                conn.execute(
                    select(T.orders.c.id).where(T.orders.c.id.in_([p.order.id for p in batch]))
                ).scalars()
            )
            fresh: list[_Pending] = []
            for p in batch:
                if p.envelope.id in seen:
                    self.report.duplicates += 1
                    continue
                if p.order.id in taken:
                    reason = f"payload.order.id: order {p.order.id} already exists"
                    self.report.refused.append(Refusal(p.line, p.envelope.id, Refused(reason)))
                    _dead_letter(conn, app, p.raw, reason, p.envelope)
                    continue
                seen.add(p.envelope.id)
                taken.add(p.order.id)
                fresh.append(p)
            if fresh:
                _insert_orders(uow, [p.order for p in fresh])
                now = app.now()
                bulk_insert(
                    conn,
                    T.inbound_messages,
                    [
                        {
                            "message_id": p.envelope.id,
                            "type": ORDER_CREATE,
                            "order_id": p.order.id,
                            "received_at": now,
                        }
                        for p in fresh
                    ],
                )
                for p in fresh:
                    uow.emit(
                        "sales.order_management.updated",
                        order_updated(p.order),
                        order_id=p.order.id,
                        at=now,
                    )
                uow.flush()
            uow.commit()
        self.report.applied += len(fresh)


def _counted(lines: Iterable[str], progress: Callable[[int], None] | None) -> Iterator[str]:
    for line in lines:
        yield line
        if progress:
            progress(1)


def _seen(uow: UnitOfWork, ids: list[str]) -> set[str]:
    col = T.inbound_messages.c.message_id
    return set(uow.conn.execute(select(col).where(col.in_(ids))).scalars())


def _insert_orders(uow: UnitOfWork, orders: list[Order]) -> None:
    seqs = allocate_seqs(uow.conn, T.orders, len(orders))
    rows = []
    for order, seq in zip(orders, seqs, strict=True):
        order.seq = seq
        row = R.order_row(order)
        row["seq"] = seq
        row["updated_at"] = order.created_at
        row["version"] = 1
        rows.append(row)
    bulk_insert(uow.conn, T.orders, rows)
    insert_children(uow.conn, orders)


def import_lines(app: Postsales, lines: Iterable[str], **kw: Any) -> ImportReport:
    return Importer(app).run(lines, **kw)


def ingest(app: Postsales, raw: str | bytes | dict[str, Any]) -> str:
    """One message from the API or a broker: "applied" or "duplicate"; raises on refusal
    (after keeping the dead letter)."""
    text = (
        raw if isinstance(raw, str) else raw.decode() if isinstance(raw, bytes) else json.dumps(raw)
    )
    importer = Importer(app)
    importer.feed(1, text)
    importer.flush()
    report = importer.report
    if report.refused:
        raise report.refused[0].error
    return "duplicate" if report.duplicates else "applied"


def iter_dead_letters(app: Postsales, limit: int = 100) -> Iterator[Any]:
    with app.uow(read_only=True) as uow:
        yield from uow.conn.execute(
            select(T.dead_letters).order_by(T.dead_letters.c.id.desc()).limit(limit)
        )
