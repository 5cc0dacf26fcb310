"""The outbox relay's logic, independent of any broker (SPEC §9).

Outbound messages are rows of the `outbox` table, written in the transaction of the change that
caused them (`UnitOfWork.emit`), so a message exists if and only if its change committed. A
relay reads the pending rows in `seq` order, hands each batch over — to the broker through a
`publish` function, or to the notifier plugin that delivers its type (SMTP e-mail) — and marks
the batch sent only once the hand-over is confirmed. A relay that dies in between sends those
messages again at its next start (at least once); it never loses one. Consumers dedupe by `id`.

Several relays may run at once (each message is then possibly sent twice, never lost), but one
per database is the intended set-up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import select, update

from ..bootstrap import Postsales
from ..crypto import is_sealed
from ..documents import iso
from ..messages_schema import strip_prefix
from ..persistence import tables as T
from ..persistence.sealing import open_outbox_payload

log = logging.getLogger(__name__)

BATCH_SIZE = 500


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
    failed: list[tuple[str, str]] = attrs.field(factory=list)  # (message id, reason)

    def add(self, other: RelayReport) -> None:
        self.published += other.published
        self.delivered += other.delivered
        self.left += other.left
        self.failed += other.failed

    @property
    def sent(self) -> int:
        return self.published + self.delivered


def pending(app: Postsales, *, limit: int = BATCH_SIZE, after_seq: int = 0) -> list[OutboxMessage]:
    """Unsent messages with `seq > after_seq`, oldest first (served by the (sent_at, seq)
    index)."""
    o = T.outbox.c
    query = (
        select(o.seq, o.message_id, o.type, o.order_id, o.created_at, o.payload)
        .where(o.sent_at.is_(None), o.seq > after_seq)
        .order_by(o.seq)
        .limit(limit)
    )
    with app.uow(read_only=True) as uow:
        rows = uow.conn.execute(query).all()
        cipher = uow.billing() if any(is_sealed(row.payload) for row in rows) else None
        return [
            OutboxMessage(*row[:5], open_outbox_payload(cipher, row.message_id, row.payload))
            for row in rows
        ]


def mark_sent(app: Postsales, seqs: Iterable[int], *, at: datetime | None = None) -> int:
    """Mark messages sent, in one short transaction; returns how many were still pending."""
    seqs = list(seqs)
    if not seqs:
        return 0
    o = T.outbox.c
    count = 0
    with app.uow() as uow:
        for start in range(0, len(seqs), 1000):
            chunk = seqs[start : start + 1000]
            result = uow.conn.execute(
                update(T.outbox)
                .where(o.seq.in_(chunk), o.sent_at.is_(None))
                .values(sent_at=at or app.now())
            )
            count += result.rowcount
        uow.commit()
    return count


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
    relay there).
    """
    report = RelayReport()
    prefix = app.settings.messages.type_prefix
    after = 0
    while not should_stop():
        batch = pending(app, limit=batch_size, after_seq=after)
        if not batch:
            break
        after = batch[-1].seq
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
            mark_sent(app, delivered)
            report.delivered += len(delivered)
        mark_sent(app, published)
        report.published += len(published)
        if len(batch) < batch_size:
            break
    return report
