"""Inbound messages from a broker: one delivery in, one outcome out (SPEC §9).

A transport (the RabbitMQ consumer) hands each delivery's body to `Inbox.receive()` and acts on
the answer: acknowledge it (`applied`, `duplicate`, `dead_letter`) or give it back to the broker to
try again later (`retry`). Every message goes through `ingest`, the path of `postsales import`:
validated, applied in one transaction, idempotent by id. The acknowledgement comes after that
transaction committed, so a consumer dying in between gets the message again and sees a
duplicate.

What is retried and what is dead-lettered:
- a malformed or refused message is kept in `dead_letters` with the reason, and acknowledged:
  delivering it again would give the same answer (poison messages must not loop);
- the database being unreachable, a deadlock or a lock timeout is transient: retried;
- any other error (a bug, data the database refuses) gives the same result every time: the
  message is dead-lettered with the error as its reason, so it can be replayed after a fix.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import attrs
from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..bootstrap import Postsales
from ..errors import PostsalesError
from ..messages_schema import INBOUND_TYPES
from ..persistence import tables as T
from ..persistence.database import is_sqlite
from .messages import ingest

APPLIED, DUPLICATE, DEAD_LETTER, RETRY = "applied", "duplicate", "dead_letter", "retry"
CONFLICT_RETRIES = 5  # integrity conflicts retried before the message counts as poison


@attrs.frozen
class Received:
    outcome: str
    reason: str | None = None

    @property
    def ack(self) -> bool:
        """Acknowledge (done with it) — everything but `retry`."""
        return self.outcome != RETRY


def binding_keys(prefix: str = "") -> list[str]:
    """The routing keys of every inbound type of SPEC §9, with the configured prefix."""
    return [prefix + t for t in INBOUND_TYPES]


class Inbox:
    """Receives the deliveries of one consumer (one thread): `receive(body)` per delivery.

    On PostgreSQL it keeps one connection of its own for the advisory locks that serialise
    copies of one message (see `_one_at_a_time`); `close()` returns it.
    """

    def __init__(self, app: Postsales) -> None:
        self.app = app
        self._locks: Connection | None = None

    def receive(self, body: bytes | str, *, attempt: int = 1) -> Received:
        """Apply one delivered message; `attempt` counts the deliveries of it seen so far."""
        app = self.app
        if isinstance(body, bytes):
            try:
                raw = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not valid UTF-8 at byte {exc.start}"
                return _dead_letter(app, body.decode("utf-8", "backslashreplace"), reason)
        else:
            raw = body
        if "\x00" in raw:  # never valid JSON, and PostgreSQL text cannot hold it
            return _dead_letter(app, raw, "not valid JSON: a NUL character")
        try:
            with self._one_at_a_time(_message_id(raw)):
                return Received(ingest(app, raw))
        except PostsalesError as exc:  # malformed or refused: `ingest` kept the dead letter
            return Received(DEAD_LETTER, exc.message)
        except IntegrityError as exc:
            # A concurrent delivery of the same message committed first; the next attempt sees
            # a duplicate. Anything else that keeps conflicting is poison.
            if attempt < CONFLICT_RETRIES:
                return Received(RETRY, f"conflict: {_first_line(exc)}")
            return _dead_letter(app, raw, f"database refused it: {_first_line(exc)}")
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            self._drop_locks()
            return Received(RETRY, f"database unavailable: {_first_line(exc)}")
        except DBAPIError as exc:
            if exc.connection_invalidated:
                self._drop_locks()
                return Received(RETRY, f"database connection lost: {_first_line(exc)}")
            return _dead_letter(app, raw, f"database refused it: {_first_line(exc)}")
        except Exception as exc:  # a bug: the same result every time, so not retried
            return _dead_letter(app, raw, f"internal error: {exc.__class__.__name__}: {exc}")

    @contextmanager
    def _one_at_a_time(self, message_id: str | None) -> Iterator[None]:
        """Serialise concurrent deliveries of one message id on PostgreSQL.

        Without it two consumers could both pass the "seen?" check: the loser's transaction
        then fails on the unique id (harmless), or — worse — a handler refuses the second copy
        ("refund is CONFIRMED") and it would be dead-lettered. SQLite writers are already
        serialised (BEGIN IMMEDIATE). The session-level advisory lock is taken on this inbox's
        own autocommit connection, so `ingest`'s transaction commits before it is released; a
        crash releases it with the connection.
        """
        if message_id is None or is_sqlite(self.app.engine):
            yield
            return
        key = zlib.crc32(message_id.encode()) - 2**31  # a signed 32-bit lock key
        if self._locks is None:
            conn = self.app.engine.connect()
            self._locks = conn.execution_options(isolation_level="AUTOCOMMIT")
        locks = self._locks
        locks.exec_driver_sql("SELECT pg_advisory_lock(%(k)s)", {"k": key})
        try:
            yield
        finally:
            locks.exec_driver_sql("SELECT pg_advisory_unlock(%(k)s)", {"k": key})

    def _drop_locks(self) -> None:
        if self._locks is not None:
            with suppress(Exception):  # the connection may be gone with the database
                self._locks.invalidate()
                self._locks.close()
            self._locks = None

    def close(self) -> None:
        if self._locks is not None:
            self._locks.close()
            self._locks = None


def receive(app: Postsales, body: bytes | str, *, attempt: int = 1) -> Received:
    """`Inbox(app).receive(body)` for one delivery (a consumer keeps its `Inbox`)."""
    one = Inbox(app)
    try:
        return one.receive(body, attempt=attempt)
    finally:
        one.close()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{orig.__class__.__name__}: {str(orig).splitlines()[0] if str(orig) else ''}"


def _message_id(raw: str) -> str | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _dead_letter(app: Postsales, raw: str, reason: str) -> Received:
    """Keep a message `ingest` could not judge (not UTF-8, or it crashed) with the reason."""
    message_id = _message_id(raw)
    try:
        data: Any = json.loads(raw)
        type_ = data.get("type") if isinstance(data, dict) else None
    except (ValueError, RecursionError):
        type_ = None
    try:
        with app.uow() as uow:
            uow.conn.execute(
                insert(T.dead_letters).values(
                    message_id=message_id[:191] if message_id else None,
                    type=type_[:128] if isinstance(type_, str) else None,
                    reason=reason,
                    raw=raw[:1_000_000].replace("\x00", "\\x00"),
                    received_at=app.now(),
                )
            )
            uow.commit()
    except (OperationalError, InterfaceError, PoolTimeout) as exc:
        return Received(RETRY, f"database unavailable: {_first_line(exc)}")
    return Received(DEAD_LETTER, reason)
