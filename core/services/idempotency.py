"""Idempotency keys for requests that change things, in the manner of Stripe's (SPEC §10).

A client that sends the same request twice with the same key (a retry after a timeout, a double
click, a reload, ten workers racing) gets one effect and the same answer each time. The key's
answer is written **in the transaction of the effect** (:func:`keep_with`), so the two commit
together or not at all: a connection that drops while the commit's answer is on its way leaves
either nothing (the retry runs) or the effect with its answer (the retry replays), never an
effect without its key, and never a key "in progress" that no one will finish.

1. The door looks the key up (:func:`lookup`): a stored answer is replayed; the same key with
   another request is refused (:class:`KeyReused`).
2. Otherwise it runs the request, handing the service a :class:`KeyedRequest`; the service adds
   the key's row, with the answer the door renders from the outcome, to its unit of work just
   before it commits. The primary key `(user_name, key)` lets one such transaction commit: a
   concurrent duplicate fails on it (PostgreSQL makes it wait for the first one's outcome) and
   rolls back its whole effect.
3. A request that failed or changed nothing (a client error, a dry run) has no effect to tie
   its answer to: the door keeps the answer afterwards in a short transaction of its own
   (:func:`remember`), and after any failure it looks again, so a duplicate that lost the race
   replays the winner's answer. A 5xx is never kept: the client may retry and run it again.

Keys are per user and kept :data:`KEEP` (24 hours); older ones are purged now and then by
:func:`lookup`, and count as unused if they are still there.

The stored response is opaque to the core: whatever the door serialised (its status code and
a JSON object holding, for the API, the exact body text and content type), so a replay is
byte-identical to the first answer. It is sealed at rest with the billing keys (S-6): an order
document in it carries the decrypted billing address.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Postsales
from ..errors import BadInput
from ..persistence import tables as T
from ..persistence.keys import cipher_for
from ..persistence.sealing import idempotency_context
from ..persistence.unit_of_work import UnitOfWork

KEEP = timedelta(hours=24)
PURGE_CHANCE = 0.01  # one look-up in a hundred also deletes expired keys
KEY_MAX_LENGTH = 255  # the column's size


class KeyReused(BadInput):
    """The same Idempotency-Key was sent with a different request."""

    def __init__(self) -> None:
        super().__init__(
            "Idempotency-Key reused with a different request: a key may be used for one "
            "request only (same method, path and body); use a new key for a new request",
            field="Idempotency-Key",
        )


@attrs.frozen
class StoredResponse:
    """A response kept for replay: its status code and what the door stored with it."""

    status_code: int
    response: dict[str, Any]


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}  # 1.50 and "1.50" are different requests
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the method, the path and the body in canonical form (keys sorted), so the
    same JSON sent with other spacing or key order is the same request. `body` is parsed JSON
    or, when it could not be parsed, the raw bytes."""
    if isinstance(body, bytes):
        canonical = body
    else:
        canonical = json.dumps(
            _canonical(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    digest = hashlib.sha256()
    digest.update(method.upper().encode() + b"\n" + path.encode() + b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """A key is 1-255 printable ASCII characters (a UUID is the usual choice)."""
    if not key or len(key) > KEY_MAX_LENGTH or not all(" " <= c <= "~" for c in key):
        raise BadInput(
            f"Idempotency-Key: expected 1 to {KEY_MAX_LENGTH} printable ASCII characters",
            field="Idempotency-Key",
        )
    return key


def _row(app: Postsales, user_name: str, key: str) -> Any:
    t = T.idempotency_keys
    with app.uow(read_only=True) as uow:
        return uow.conn.execute(
            select(t.c.request_hash, t.c.status_code, t.c.response, t.c.created_at).where(
                and_(t.c.user_name == user_name, t.c.key == key)
            )
        ).first()


@attrs.frozen
class KeyedRequest:
    """A request under a key, handed to the service whose effect it asks for: `answer` renders
    what the door will reply from the service's outcome, to be kept with the effect."""

    user_name: str
    key: str
    request_hash: str
    answer: Callable[[Any], StoredResponse]


def lookup(app: Postsales, user_name: str, key: str, request_hash: str) -> StoredResponse | None:
    """The answer kept for `key`, or None when the request must run.

    Raises :class:`KeyReused` when the key was used for another request."""
    check_key(key)
    # The key that seals the answer: missing, the request fails here, before any effect.
    cipher = cipher_for(app.engine)
    if random.random() < PURGE_CHANCE:
        purge_expired(app)
    row = _row(app, user_name, key)
    if row is None:
        return None
    # A row without an answer was left by a version that claimed keys before running them.
    if row.status_code is None or row.created_at < app.now() - KEEP:
        _forget(app, user_name, key)
        return None
    if row.request_hash != request_hash:
        raise KeyReused()
    response = cipher.unseal_json(idempotency_context(user_name, key), row.response)
    return StoredResponse(row.status_code, response)


def _key_row(
    engine: Any, keyed: KeyedRequest, answer: StoredResponse, now: datetime
) -> dict[str, Any]:
    context = idempotency_context(keyed.user_name, keyed.key)
    return {
        "user_name": keyed.user_name,
        "key": keyed.key,
        "request_hash": keyed.request_hash,
        "status_code": answer.status_code,
        "response": cipher_for(engine).seal_json(context, answer.response),
        "created_at": now,
    }


def keep_with(uow: UnitOfWork, keyed: KeyedRequest, outcome: Any, now: datetime) -> None:
    """Add the key and its answer to `uow`'s commit, beside the effect (called by services
    just before they commit)."""
    uow.add_rows(T.idempotency_keys, [_key_row(uow.engine, keyed, keyed.answer(outcome), now)])


def remember(app: Postsales, keyed: KeyedRequest, answer: StoredResponse) -> StoredResponse:
    """Keep the answer of a request that changed nothing; returns the answer now kept for the
    key (another request's, if one kept its own first)."""
    try:
        with app.uow() as uow:
            row = _key_row(app.engine, keyed, answer, app.now())
            uow.conn.execute(insert(T.idempotency_keys).values(row))
            uow.commit()
    except IntegrityError:
        return lookup(app, keyed.user_name, keyed.key, keyed.request_hash) or answer
    return answer


def _forget(app: Postsales, user_name: str, key: str) -> None:
    t = T.idempotency_keys
    with app.uow() as uow:
        uow.conn.execute(delete(t).where(and_(t.c.user_name == user_name, t.c.key == key)))
        uow.commit()


def purge_expired(app: Postsales) -> int:
    """Delete keys older than :data:`KEEP`; returns how many."""
    t = T.idempotency_keys
    with app.uow() as uow:
        count = uow.conn.execute(delete(t).where(t.c.created_at < app.now() - KEEP)).rowcount
        uow.commit()
    return int(count or 0)
