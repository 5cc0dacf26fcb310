"""The outbox relay's logic, independent of any broker (SPEC §9).

Outbound messages are rows of the `outbox` table, written in the transaction of the change that
caused them (`UnitOfWork.emit`), so a message exists if and only if its change committed. A
relay reads the pending rows in `seq` order, hands each batch over — to the broker through a
`publish` function, or to the notifier plugin that delivers its type (SMTP e-mail) — and marks
the batch sent only once the hand-over is confirmed. A relay that dies in between sends those
messages again at its next start (at least once); it never loses one. Consumers dedupe by `id`.

On PostgreSQL several relays may run on one database: each batch is claimed in its own
transaction under a transaction-scoped advisory lock (`RELAY_LOCK`) with its rows read `FOR
UPDATE SKIP LOCKED`, handed over while the claim is held, and marked sent in that same
transaction. One relay publishes at a time, in `seq` order; the others find the lock taken and
wait for their next poll (a hot standby). A relay killed mid-batch drops its connection, its
claim goes with it, and the next relay sends that batch again: at least once, never lost, and
never twice while both are alive. On SQLite run one relay (docs/deploy.md): claiming there
would hold the database's single write lock while the broker confirms.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from ...bootstrap import Postsales
from ...crypto import is_sealed
from ...documents import iso
from ...messages_schema import strip_prefix
from ...persistence import tables as T
from ...persistence.sealing import open_outbox_payload

log = logging.getLogger(__name__)

BATCH_SIZE = 500
RELAY_LOCK = 0x7073_7265_6C61_79  # pg advisory-lock key of the relay's claim ("psrelay")


@attrs.frozen
class OutboxMessage:
    """One outbound message as stored; `envelope()` is what goes on the wire."""

    seq: int
    id: str
    type: str
    order_id: str | None
    created_at: datetime
    payload: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """`{"id", "type", "created_at", "payload"}` (SPEC §9)."""
        return {
            "id": self.id,
            "type": self.type,
            "created_at": iso(self.created_at),
            "payload": self.payload,
        }

    def body(self) -> bytes:
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":")).encode()


Publish = Callable[[Sequence[OutboxMessage]], None]
"""Hands a batch to the broker and returns only once the broker confirmed every message;
raises if it did not (nothing of the batch is then marked sent)."""


@attrs.define
class RelayReport:
    published: int = 0  # confirmed by the broker
    delivered: int = 0  # handed to a notifier plugin (e.g. sent by SMTP)
    left: int = 0  # no broker given for them: still pending
    standby: bool = False  # another relay held the claim: this one sent nothing (PostgreSQL)
    failed: list[tuple[str, str]] = attrs.field(factory=list)  # (message id, reason)

    def add(self, other: RelayReport) -> None:
        self.published += other.published
        self.delivered += other.delivered
        self.left += other.left
        self.failed += other.failed
        self.standby = other.standby

    @property
    def sent(self) -> int:
        return self.published + self.delivered


def _pending_query(limit: int, after_seq: int) -> Any:
    o = T.outbox.c
    return (
        select(o.seq, o.message_id, o.type, o.order_id, o.created_at, o.payload)
        .where(o.sent_at.is_(None), o.seq > after_seq)
        .order_by(o.seq)
        .limit(limit)
    )


def pending(app: Postsales, *, limit: int = BATCH_SIZE, after_seq: int = 0) -> list[OutboxMessage]:
    """Unsent messages with `seq > after_seq`, oldest first (served by the (sent_at, seq)
    index)."""
    with app.uow(read_only=True) as uow:
        return _opened(uow, uow.conn.execute(_pending_query(limit, after_seq)).all())


def _stored(row: Any) -> tuple[int, str, str, str | None, datetime]:
    """seq, id, type, order id and time: the columns `_pending_query` reads first."""
    return row[0], row[1], row[2], row[3], row[4]


def _opened(uow: Any, rows: Sequence[Any]) -> list[OutboxMessage]:
    cipher = uow.billing() if any(is_sealed(row.payload) for row in rows) else None
    return [
        OutboxMessage(*_stored(row), open_outbox_payload(cipher, row.message_id, row.payload))
        for row in rows
    ]


def _mark(conn: Connection, seqs: Sequence[int], at: datetime) -> int:
    o = T.outbox.c
    count = 0
    for start in range(0, len(seqs), 1000):
        chunk = seqs[start : start + 1000]
        result = conn.execute(
            update(T.outbox).where(o.seq.in_(chunk), o.sent_at.is_(None)).values(sent_at=at)
        )
        count += result.rowcount
    return count


def mark_sent(app: Postsales, seqs: Iterable[int], *, at: datetime | None = None) -> int:
    """Mark messages sent, in one short transaction; returns how many were still pending."""
    seqs = list(seqs)
    if not seqs:
        return 0
    with app.uow() as uow:
        count = _mark(uow.conn, seqs, at or app.now())
        uow.commit()
    return count


def backlog(app: Postsales) -> tuple[int, datetime | None]:
    """(messages not yet sent, creation time of the oldest of them): the relay's lag."""
    o = T.outbox.c
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(
            select(func.count(), func.min(o.created_at)).where(o.sent_at.is_(None))
        ).one()
    return int(row[0]), row[1]


def relay_pass(
    app: Postsales,
    publish: Publish | None,
    *,
    batch_size: int = BATCH_SIZE,
    should_stop: Callable[[], bool] = lambda: False,
    confirmed: Callable[[Sequence[OutboxMessage]], None] | None = None,
) -> RelayReport:
    """Send everything pending once, batch by batch; return what happened.

    Messages of a type some notifier plugin delivers go to it; the others to `publish` (or,
    when it is None, stay pending and are counted in `left`). Each batch is marked sent after
    its hand-over; `should_stop` is checked between batches. `confirmed(batch)` is called
    after the broker confirmed a batch and before it is marked (fault-injection tests kill the
    relay there). On PostgreSQL each batch is claimed first (module docstring); when another
    relay holds the claim the pass ends at once with `standby` set.
    """
    report = RelayReport()
    claims = app.engine.dialect.name == "postgresql"
    after = 0
    while not should_stop():
        if claims:
            with app.uow() as uow:
                if not uow.conn.execute(
                    select(func.pg_try_advisory_xact_lock(RELAY_LOCK))
                ).scalar():
                    report.standby = True  # another relay is sending; this one waits
                    break
                query = _pending_query(batch_size, after).with_for_update(skip_locked=True)
                batch = _opened(uow, uow.conn.execute(query).all())
                if batch:
                    try:
                        _hand_over(app, batch, publish, confirmed, report, uow.conn)
                    finally:
                        uow.commit()  # what was handed over is marked, even if the broker failed
        else:
            # SQLite: read, hand over, then mark in a short write: holding its single write
            # lock while the broker confirms would stall every action.
            batch = pending(app, limit=batch_size, after_seq=after)
            if batch:
                _hand_over(app, batch, publish, confirmed, report, None)
        if not batch:
            break
        after = batch[-1].seq
        if len(batch) < batch_size:
            break
    return report


def _hand_over(
    app: Postsales,
    batch: Sequence[OutboxMessage],
    publish: Publish | None,
    confirmed: Callable[[Sequence[OutboxMessage]], None] | None,
    report: RelayReport,
    conn: Connection | None,
) -> None:
    """Send one batch; mark what went on `conn` (the claim's transaction) or, without one, in a
    transaction of its own."""

    def mark(seqs: list[int]) -> None:
        if conn is None:
            mark_sent(app, seqs)
        elif seqs:
            _mark(conn, seqs, app.now())

    prefix = app.settings.messages.type_prefix
    delivered: list[int] = []
    to_broker: list[OutboxMessage] = []
    for message in batch:
        notifier = app.registry.deliverer_for(strip_prefix(message.type, prefix))
        if notifier is None:
            to_broker.append(message)
            continue
        try:
            assert notifier.deliver is not None
            notifier.deliver(message)
        except Exception as exc:  # a plugin's failure leaves the message for the next pass
            reason = f"{notifier.name}: {exc.__class__.__name__}: {exc}"
            log.warning("message %s not delivered: %s", message.id, reason)
            report.failed.append((message.id, reason))
        else:
            delivered.append(message.seq)
    try:
        if to_broker and publish is not None:
            publish(to_broker)
            if confirmed is not None:
                confirmed(to_broker)
            published = [m.seq for m in to_broker]
        else:
            published = []
            report.left += len(to_broker)
    finally:
        # What a notifier already delivered is marked even if the broker then failed.
        mark(delivered)
        report.delivered += len(delivered)
    mark(published)
    report.published += len(published)
