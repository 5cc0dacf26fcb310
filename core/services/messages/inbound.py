"""Inbound messages (SPEC §9): idempotent by id, malformed ones dead-lettered, never
half-applied.

Order-create messages, the bulk of any import, are applied in batches: one transaction per
batch with each table's rows in a few statements (`ingest_rows.write_orders`), and read by
worker processes when there are `workers` (`parallel_import`), while each message keeps its own
idempotency record, history entry and outbox message. Their rows are read straight from the
payload's one record (`messages_schema.OrderCreate`, decoded straight from the text by
`read_message`, then `ingest_orders`), or — for unusual text, and to word a value too long for
its column — through the order aggregate (`object_path_rows`); both store the same rows. Every
other type runs one message per transaction through a handler.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import select

from ...bootstrap import Postsales
from ...documents import iso
from ...domain.history import HistoryEvent, order_received
from ...domain.orders import Order
from ...domain.users import User
from ...errors import BadInput, Forbidden, PostsalesError, Refused
from ...faults import refused_value
from ...message_stream import iter_units, read_unit
from ...messages_schema import (
    Envelope,
    OrderCreate,
    open_message,
    parse_envelope,
    parse_payload,
    read_message,
    strip_prefix,
)
from ...money import format_amount
from ...persistence import tables as T
from ...persistence.ingest_rows import (
    NewOrder,
    from_order,
    known,
    record_inbound,
    write_orders,
)
from ...persistence.keys import cipher_for
from ...persistence.times import stored_time
from . import dead_letters, handlers, parallel_import
from .ingest_orders import OrderRowsBuilder, sales_channel
from .outbound import order_updated

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
    rows: NewOrder


def _dead_letter(
    conn: Any, app: Postsales, raw: str, reason: str, envelope: Envelope | None
) -> None:
    dead_letters.keep(
        conn,
        raw,
        reason,
        app.now(),
        message_id=envelope.id if envelope else None,
        type_=envelope.type if envelope else None,
    )


def _keep_dead_letter(app: Postsales, raw: str, reason: str, envelope: Envelope | None) -> None:
    with app.uow() as uow:
        _dead_letter(uow.conn, app, raw, reason, envelope)
        uow.commit()


def _build_order(app: Postsales, envelope: Envelope, payload: OrderCreate) -> Order:
    channel = sales_channel(app.settings.sales_channels, payload)
    now = app.now()
    order = payload.to_order(now)
    order.market = channel.market
    cur = order.currency
    captures = [
        (p.method, p.payment_id, f"{format_amount(p.captured_amount, cur)} {cur}")
        for p in order.payments
        if p.captured_amount > 0
    ]
    order.record(
        HistoryEvent(
            now,
            "system",
            "order.created",
            order_received(order.origin, captures),
            {"message_id": envelope.id},
        )
    )
    return order


def object_path_rows(app: Postsales, envelope: Envelope, payload: OrderCreate) -> NewOrder:
    """An order create's rows through the order aggregate and `rows.py`, which check each
    column's value (the reference the one-pass builder is tested against)."""
    order = _build_order(app, envelope, payload)
    outbox = {
        "message_id": f"out-{uuid.uuid4().hex}",
        "type": app.settings.messages.type_prefix + "sales.order_management.updated",
        "order_id": order.id,
        "payload": order_updated(order),
        "created_at": order.created_at,
    }
    return from_order(
        order, envelope.id, outbox, app.engine.dialect.name, lambda: cipher_for(app.engine)
    )


class Importer:
    """Feeds a stream of JSON-lines messages through validation, idempotency and the engine."""

    def __init__(
        self,
        app: Postsales,
        *,
        batch_size: int = 1000,
        serialise: bool = False,
        workers: int = 0,
    ) -> None:
        """`serialise`: on PostgreSQL, lock each message id (transaction-level advisory lock)
        before looking for it, so concurrent deliveries of one message apply it once.
        `workers`: processes that read order creates of a long JSON-lines stream in parallel
        (`parallel_import`); 0 reads everything in this process."""
        self.app = app
        self.batch_size = batch_size
        self.serialise = serialise
        self.workers = workers
        self.report = ImportReport()
        self._batch: list[_Pending] = []
        self._rows = OrderRowsBuilder(app)
        self._dialect = app.engine.dialect.name
        # The billing key now, before any message: a missing or wrong key stops the import
        # (exit 2) instead of refusing every message, and forked readers inherit it.
        cipher_for(app.engine)

    def run(
        self, lines: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        stream = _counted(lines, progress)
        if self.workers > 0:
            parallel_import.run(
                stream, self.workers, self, self._read_order, self._forked, self.batch_size
            )
        else:
            self.take_serially(stream, 1)
        self.flush()
        return self.report

    # -- parallel_import.Sink: results in stream order --------------------------------------

    def take_serially(self, lines: Iterable[str], start: int) -> None:
        for number, text in iter_units(lines, start):
            self.take_other(number, text)

    def take_order(
        self, number: int, raw: str, head: tuple[str, str, datetime], rows: NewOrder
    ) -> None:
        envelope = Envelope(*head, payload={})
        self._batch.append(_Pending(number, raw, envelope, rows))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def take_other(self, number: int, raw: str) -> None:
        for line, text, value in read_unit(number, raw):
            self.feed(line, text, value)

    # -- in worker processes ------------------------------------------------------------------

    def _read_order(self, text: str) -> tuple[tuple[str, str, datetime], NewOrder] | None:
        """An order create's envelope (id, type and time: the rows hold its payload) and
        rows; None for other types and for anything refused, which `feed` words."""
        if _UNUSUAL.search(text) is not None:
            return None
        try:
            envelope, payload = read_message(text, prefix=self.app.settings.messages.type_prefix)
            if not isinstance(payload, OrderCreate):
                return None
            rows = self._rows.build(envelope, payload)
        except PostsalesError:
            return None
        if rows is None:
            return None
        return (envelope.id, envelope.type, envelope.created_at), rows

    def _forked(self) -> None:
        # The pool's connections were copied by the fork: forget them without closing them,
        # which would end the importing process's sessions (SQLAlchemy's advice for forks).
        self.app.engine.dispose(close=False)

    def feed(self, number: int, raw: str, value: object | None = None) -> None:
        """One message; `value` is its already-decoded JSON when the reader has it."""
        envelope = None
        prefix = self.app.settings.messages.type_prefix
        try:
            if isinstance(value, dict):
                envelope = parse_envelope(value)
                type_ = strip_prefix(envelope.type, prefix)
                payload = parse_payload(type_, envelope.payload)
            else:
                envelope, read_payload = open_message(raw, prefix=prefix)
                type_ = strip_prefix(envelope.type, prefix)
                payload = read_payload()
            if isinstance(payload, OrderCreate):
                rows = self._order_rows(envelope, payload, unusual=_UNUSUAL.search(raw) is not None)
                self._batch.append(_Pending(number, raw, envelope, rows))
                if len(self._batch) >= self.batch_size:
                    self.flush()
                return
        except PostsalesError as exc:
            self._refuse(number, raw, exc, envelope)
            return
        self.flush()  # keep the stream's order: pending orders first
        self._apply_one(number, raw, envelope, type_, payload)

    def _order_rows(
        self, envelope: Envelope, payload: OrderCreate, *, unusual: bool = False
    ) -> NewOrder:
        """The new order's rows, straight from the record; `unusual` text (a NUL, a
        surrogate), or a value too long for its column, goes through the aggregate, whose rows
        are checked column by column and whose refusal names the field."""
        rows = None if unusual else self._rows.build(envelope, payload)
        if rows is None:
            rows = object_path_rows(self.app, envelope, payload)
        return rows

    def _refuse(self, number: int, raw: str, exc: PostsalesError, env: Envelope | None) -> None:
        self.report.refused.append(Refusal(number, env.id if env else None, exc))
        _keep_dead_letter(self.app, raw, exc.message, env)

    def _apply_one(self, number: int, raw: str, env: Envelope, type_: str, payload: Any) -> None:
        try:
            with self.app.uow() as uow:
                seen, _taken, _seqs = known(uow.conn, [env.id], [], lock=self.serialise)
                if seen:
                    self.report.duplicates += 1
                    return
                refusal = None
                try:
                    order_id = handlers.HANDLERS[type_](self.app, uow, env, payload)
                except handlers.RecordedRefusal as exc:  # its record on the order is kept
                    order_id, refusal = exc.order_id, exc
                received_at = stored_time(self._dialect)(self.app.now())
                record_inbound(uow.conn, env.id, type_, order_id, received_at)
                uow.commit()
            if refusal is not None:
                self._refuse(number, raw, refusal, env)
                return
            self.report.applied += 1
        except PostsalesError as exc:
            self._refuse(number, raw, exc, env)
        except Exception as exc:  # a value the database refuses: this message's fault alone
            refused = refused_value(exc)
            if refused is None:
                raise
            self._refuse(number, raw, refused, env)

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            self._write(batch)
        except Exception as exc:
            refusal = refused_value(exc)
            if refusal is None:
                raise
            if len(batch) == 1:  # this message is the one the database refuses
                p = batch[0]
                self._refuse(p.line, p.raw, refusal, p.envelope)
                return
            for p in batch:  # find it: each alone, the good ones imported all the same
                self.flush_one(p)

    def flush_one(self, pending: _Pending) -> None:
        self._batch.append(pending)
        self.flush()

    def _write(self, batch: list[_Pending]) -> None:
        """Every new order of `batch` in one transaction; the report is told once it commits."""
        app = self.app
        duplicates = 0
        refused: list[Refusal] = []
        with app.uow() as uow:
            conn = uow.conn
            seen, taken, seqs = known(
                conn,
                [p.envelope.id for p in batch],
                [p.rows.order_id for p in batch],
                lock=self.serialise,
                draw=len(batch),
            )
            fresh: list[NewOrder] = []
            for p in batch:
                if p.envelope.id in seen:
                    duplicates += 1
                    continue
                order_id = p.rows.order_id
                if order_id in taken:
                    reason = f"payload.order.id: order {order_id} already exists"
                    refused.append(Refusal(p.line, p.envelope.id, Refused(reason)))
                    _dead_letter(conn, app, p.raw, reason, p.envelope)
                    continue
                seen.add(p.envelope.id)
                taken.add(order_id)
                fresh.append(p.rows)
            write_orders(conn, fresh, stored_time(self._dialect)(app.now()), seqs)
            uow.commit()
        self.report.duplicates += duplicates
        self.report.refused += refused
        self.report.applied += len(fresh)


# A NUL or a UTF-16 surrogate escaped in the JSON text (a raw NUL is never valid JSON).
_UNUSUAL = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _counted(lines: Iterable[str], progress: Callable[[int], None] | None) -> Iterator[str]:
    for line in lines:
        yield line
        if progress:
            progress(1)


def import_lines(app: Postsales, lines: Iterable[str], **kw: Any) -> ImportReport:
    return Importer(app).run(lines, **kw)


def ingest(
    app: Postsales,
    raw: str | bytes | dict[str, Any],
    *,
    value: dict[str, Any] | None = None,
    serialise: bool = False,
) -> str:
    """One message from the API or a broker: "applied" or "duplicate"; raises on refusal
    (after keeping the dead letter). `value` is the text's JSON when the caller decoded it
    already (numbers as Decimal); `serialise` as for `Importer`."""
    text = (
        raw if isinstance(raw, str) else raw.decode() if isinstance(raw, bytes) else json.dumps(raw)
    )
    importer = Importer(app, serialise=serialise)
    importer.feed(1, text, value)
    importer.flush()
    report = importer.report
    if report.refused:
        raise report.refused[0].error
    return "duplicate" if report.duplicates else "applied"


DEAD_LETTERS_MAX = 10_000


def list_dead_letters(app: Postsales, user: User, limit: int = 100) -> list[dict[str, Any]]:
    """Refused inbound messages, newest first, with the reason and the raw text.

    A dead letter is a message that could not be read or applied, so the store it concerns is
    not known reliably (a malformed one names none): only users who see every sales channel
    may read them (SPEC §4); anyone else is refused, and told nothing about what is kept.
    """
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    if user.channels is not None:
        raise Forbidden(
            "dead letters may hold any store's messages: only users who see every sales "
            "channel may read them"
        )
    if not 1 <= limit <= DEAD_LETTERS_MAX:
        raise BadInput(f"limit: expected 1 to {DEAD_LETTERS_MAX}, got {limit}", field="limit")
    d = T.dead_letters
    with app.uow(read_only=True) as uow:
        rows = list(uow.conn.execute(select(d).order_by(d.c.id.desc()).limit(limit)))
    return [
        {
            "message_id": r.message_id,
            "type": r.type,
            "reason": r.reason,
            "received_at": iso(r.received_at),
            "raw": r.raw,
        }
        for r in rows
    ]
