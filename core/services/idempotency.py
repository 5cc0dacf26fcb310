"""Idempotency keys for requests that change things, in the manner of Stripe's (SPEC §10).

A client that sends the same request twice with the same key (a retry after a timeout, a double
click, ten workers racing) gets one effect and the same answer each time:

1. :func:`claim` inserts `(user, key, request_hash)` with no status, in its own short
   transaction. The primary key `(user_name, key)` makes exactly one request the owner; the
   others fail the insert and then wait (polling) until the owner has stored its response.
2. The owner runs the request and calls :func:`complete` with the response to keep, or
   :func:`release` when it failed with an unexpected error (a 5xx is not an answer to replay:
   the client may retry and run it again).
3. A later request with the same key and the same fingerprint gets the stored response back;
   with a different fingerprint it is refused (:class:`KeyReused`).

Keys are per user and kept :data:`KEEP` (24 hours); older ones are purged now and then by
:func:`claim`, and count as unused if they are still there.

The stored response is opaque to the core: whatever the door serialised (its status code and
a JSON object holding, for the API, the exact body text and content type), so a replay is
byte-identical to the first answer. It is sealed at rest with the billing keys (S-6): an order
document in it carries the decrypted billing address.

Limitation: the owner's effect and its stored response are two transactions. If the process
dies between the two, the key stays "in progress" (a retry gets :class:`Refused` after the
wait) until it expires: the client must look at the order before trying with a new key. That
errs on the side of no second refund.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Postsales
from ..errors import BadInput, Refused
from ..persistence import tables as T
from ..persistence.keys import cipher_for
from ..persistence.sealing import idempotency_context

KEEP = timedelta(hours=24)
WAIT_SECONDS = 10.0  # how long a concurrent duplicate waits for the first request to finish
POLL_SECONDS = 0.05
PURGE_CHANCE = 0.01  # one claim in a hundred also deletes expired keys
KEY_MAX_LENGTH = 255  # the column's size


class KeyReused(BadInput):
    """The same Idempotency-Key was sent with a different request."""

    def __init__(self) -> None:
        super().__init__(
            "Idempotency-Key reused with a different request: a key may be used for one "
            "request only (same method, path and body); use a new key for a new request",
            field="Idempotency-Key",
        )


class StillInProgress(Refused):
    """The first request with this key has not finished within the wait."""

    def __init__(self) -> None:
        super().__init__(
            "a request with this Idempotency-Key is still in progress; retry later "
            "to get its response"
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


def _insert(app: Postsales, user_name: str, key: str, request_hash: str) -> bool:
    """Take the key; False if someone else holds it (the primary key refused the insert)."""
    t = T.idempotency_keys
    try:
        with app.uow() as uow:
            uow.conn.execute(
                insert(t).values(
                    user_name=user_name,
                    key=key,
                    request_hash=request_hash,
                    status_code=None,
                    response=None,
                    created_at=app.now(),
                )
            )
            uow.commit()
    except IntegrityError:
        return False
    return True


def _forget_expired(app: Postsales, user_name: str, key: str) -> None:
    t = T.idempotency_keys
    with app.uow() as uow:
        uow.conn.execute(
            delete(t).where(
                and_(t.c.user_name == user_name, t.c.key == key, t.c.created_at < app.now() - KEEP)
            )
        )
        uow.commit()


def claim(
    app: Postsales,
    user_name: str,
    key: str,
    request_hash: str,
    *,
    wait: float | None = None,
    poll: float = POLL_SECONDS,
) -> StoredResponse | None:
    """Claim `key` for this request: None if the caller now owns it and must run the request
    (then :func:`complete` or :func:`release`), or the stored response to replay.

    Raises :class:`KeyReused` when the key was used for another request, and
    :class:`StillInProgress` when the first request has not finished within `wait` seconds
    (default :data:`WAIT_SECONDS`).
    """
    check_key(key)
    cipher_for(app.engine)  # the key that seals the response: missing, it fails before any effect
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    while True:
        if _insert(app, user_name, key, request_hash):
            if random.random() < PURGE_CHANCE:
                purge_expired(app)
            return None
        # Someone holds the key: read (never write, so the owner's transaction is not slowed)
        # until its response is there, or the key is free again.
        while True:
            row = _row(app, user_name, key)
            if row is None:
                break  # the owner failed and released it: try to take it
            if row.created_at < app.now() - KEEP:
                _forget_expired(app, user_name, key)
                break
            if row.request_hash != request_hash:
                raise KeyReused()
            if row.status_code is not None:
                context = idempotency_context(user_name, key)
                response = cipher_for(app.engine).unseal_json(context, row.response)
                return StoredResponse(row.status_code, response)
            if time.monotonic() >= deadline:
                raise StillInProgress()
            time.sleep(poll)


def complete(
    app: Postsales, user_name: str, key: str, status_code: int, response: dict[str, Any]
) -> None:
    """Keep the owner's response for replay (sealed: it may hold a billing address)."""
    t = T.idempotency_keys
    sealed = cipher_for(app.engine).seal_json(idempotency_context(user_name, key), response)
    with app.uow() as uow:
        uow.conn.execute(
            update(t)
            .where(and_(t.c.user_name == user_name, t.c.key == key, t.c.status_code.is_(None)))
            .values(status_code=status_code, response=sealed)
        )
        uow.commit()


def release(app: Postsales, user_name: str, key: str) -> None:
    """Give the key up without an answer (the request failed unexpectedly): a retry runs anew."""
    t = T.idempotency_keys
    with app.uow() as uow:
        uow.conn.execute(
            delete(t).where(
                and_(t.c.user_name == user_name, t.c.key == key, t.c.status_code.is_(None))
            )
        )
        uow.commit()


def purge_expired(app: Postsales) -> int:
    """Delete keys older than :data:`KEEP`; returns how many."""
    t = T.idempotency_keys
    with app.uow() as uow:
        count = uow.conn.execute(delete(t).where(t.c.created_at < app.now() - KEEP)).rowcount
        uow.commit()
    return int(count or 0)
