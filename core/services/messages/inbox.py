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

import weakref
from typing import Any

import attrs
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ...bootstrap import Postsales
from ...errors import PostsalesError
from ...messages_schema import INBOUND_TYPES
from ...persistence.database import is_sqlite
from . import dead_letters
from .inbound import ingest as ingest_message

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

    Concurrent copies of one message are serialised by a transaction-level advisory lock on
    PostgreSQL (`Importer(serialise=True)`): the second waits for the first to commit, then
    sees a duplicate, instead of failing on the unique id or — worse — being refused by a
    handler ("refund is CONFIRMED") and dead-lettered. SQLite writers are already serialised
    (BEGIN IMMEDIATE).
    """

    def __init__(self, app: Postsales) -> None:
        self.app = app
        if is_sqlite(app.engine):
            checkpoint_less_often(app.engine)

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
            return Received(RETRY, f"database unavailable: {_first_line(exc)}")
        except DBAPIError as exc:
            if exc.connection_invalidated:
                return Received(RETRY, f"database connection lost: {_first_line(exc)}")
            return _dead_letter(app, raw, f"database refused it: {_first_line(exc)}")
        except Exception as exc:  # a bug: the same result every time, so not retried
            return _dead_letter(app, raw, f"internal error: {exc.__class__.__name__}: {exc}")

    def close(self) -> None:
        """Nothing to release any more (the locks are per transaction); kept for callers."""


def ingest(app: Postsales, raw: str) -> str:
    """`messages.ingest` for one delivery, serialised with any concurrent copy of it (see
    `Inbox`); an order create's text is decoded once, straight into its record."""
    return ingest_message(app, raw, serialise=True)


_TUNED: weakref.WeakSet[Engine] = weakref.WeakSet()
WAL_CHECKPOINT_PAGES = 10_000  # SQLite's default is 1,000 (4 MB)


def checkpoint_less_often(engine: Engine) -> None:
    """Let the WAL of a consumer's SQLite connections grow to 40 MB before a checkpoint.

    One message per transaction means a commit every couple of milliseconds, each adding the
    pages it touched (indexes, search tables) to the WAL; at the default of 1,000 pages a
    checkpoint — copying them back and syncing the file — ran every few dozen messages and
    took about half the time. Fewer checkpoints copy each often-written page once for many
    commits. Durability is unchanged: commits are in the WAL either way."""
    if engine in _TUNED:
        return
    _TUNED.add(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.close()


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


def _dead_letter(app: Postsales, raw: str, reason: str) -> Received:
    """Keep a message `ingest` could not judge (not UTF-8, or it crashed) with the reason."""
    try:
        with app.uow() as uow:
            dead_letters.keep(uow.conn, raw, reason, app.now())
            uow.commit()
    except (OperationalError, InterfaceError, PoolTimeout) as exc:
        return Received(RETRY, f"database unavailable: {_first_line(exc)}")
    return Received(DEAD_LETTER, reason)
