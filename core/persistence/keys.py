"""Where a database's keys live, and the rule that no key is made while the database holds data
under another one (issue 12 item 7, S-6).

A key belongs to its database, not to the folder a command happens to run in:

- **Billing keys**: `POSTSALES_BILLING_KEY` (the keys themselves), else the file named by
  `POSTSALES_BILLING_KEY_FILE`, else, for a SQLite database file, `billing.key` beside it
  (`var/postsales.db` -> `var/billing.key`). A PostgreSQL database has no folder: one of the
  two variables must be set, and every process using the database must see the same one.
- A key file that does not exist is made (mode 0600) only while the database holds no billing
  data sealed under some key; otherwise the command is refused (exit 2) naming that key's id and
  where keys are looked up, since a new key could read none of it.
- Keys found are checked, once per process and database, against the newest stored billing
  address: a key set that cannot read it is refused the same way, instead of writing new data
  under a second key.
- Other key files of the database (the web app's session secret) use `key_file_beside`.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, Text, cast, inspect, select

from ..crypto import (
    KEY_ENV,
    KEY_FILE_ENV,
    SEALED,
    BillingCipher,
    BillingKeyError,
    create_key_file,
    keys_from_text,
    sealed_key_id,
)
from . import tables as T
from .database import READ_ONLY

BILLING_KEY_FILE = "billing.key"
LEGACY_KEY_FILE = Path("var") / "billing.key"  # the old default, relative to the working folder

_CIPHERS: weakref.WeakKeyDictionary[Engine, tuple[tuple[str | None, str | None], BillingCipher]]
_CIPHERS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_SEALED_ID = re.compile(r'"\$sealed":\s*"b1\.([0-9a-f]{8})\.')


def database_folder(engine: Engine) -> Path | None:
    """The folder of a SQLite database file (as SQLite opens it); None for anything else."""
    url = engine.url
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(os.path.abspath(db)).parent


def key_file_beside(engine: Engine, name: str) -> Path | None:
    """`name` in the database's folder (SQLite), or None (PostgreSQL: configure it)."""
    folder = database_folder(engine)
    return folder / name if folder else None


def billing_key_file(engine: Engine) -> Path | None:
    """The key file this database's billing keys come from, unless `POSTSALES_BILLING_KEY`
    gives the keys themselves; None when there is none to use (PostgreSQL, unconfigured)."""
    named = os.environ.get(KEY_FILE_ENV)
    if named:
        return Path(os.path.abspath(named))
    return key_file_beside(engine, BILLING_KEY_FILE)


def cipher_for(bind: Engine | Connection) -> BillingCipher:
    """The billing cipher of this database (keys found, checked and cached per process).

    Raises `BillingKeyError` (exit 2) when no key is configured where one is needed, or when
    the keys found cannot read what the database holds."""
    engine = bind if isinstance(bind, Engine) else bind.engine
    env = (os.environ.get(KEY_ENV), os.environ.get(KEY_FILE_ENV))
    found = _CIPHERS.get(engine)
    if found is not None and found[0] == env:
        return found[1]
    with _LOCK:
        found = _CIPHERS.get(engine)
        if found is not None and found[0] == env:
            return found[1]
        cipher = _resolve(bind, engine, env[0])
        _CIPHERS[engine] = (env, cipher)
    return cipher


def forget_keys() -> None:
    """Drop the cached ciphers (after a rotation, or in tests that change the environment)."""
    with _LOCK:
        _CIPHERS.clear()


def _resolve(bind: Engine | Connection, engine: Engine, from_env: str | None) -> BillingCipher:
    if from_env:
        cipher = BillingCipher(keys_from_text(from_env, KEY_ENV), KEY_ENV)
    else:
        path = billing_key_file(engine)
        if path is None:
            raise BillingKeyError(_unconfigured(engine))
        if not path.exists():
            kid = _run(bind, _any_stored_key_id)
            if kid is not None:
                raise BillingKeyError(_missing(path, kid))
            try:
                create_key_file(path)
            except OSError as exc:
                raise BillingKeyError(
                    f"cannot make billing key file {path}: {exc.strerror}"
                ) from None
        try:
            text = path.read_text()
        except OSError as exc:
            raise BillingKeyError(f"billing key file {path}: {exc.strerror}") from None
        cipher = BillingCipher(keys_from_text(text, str(path)), str(path))
    kid = _run(bind, _newest_key_id)
    if kid is not None and kid not in cipher.keys:
        raise BillingKeyError(
            f"the database's billing addresses are encrypted with key {kid}, which is not "
            f"among the billing keys from {cipher.where} ({', '.join(cipher.keys)}); "
            f"{_where_keys_are()}{_legacy_hint(kid, None)}. Nothing was changed."
        )
    return cipher


def _run(bind: Engine | Connection, query: Callable[[Connection], str | None]) -> str | None:
    if isinstance(bind, Connection):
        return query(bind)
    # A reader: on SQLite a deferred BEGIN, so no writer's lock is waited for.
    with bind.connect().execution_options(**{READ_ONLY: True}) as conn:
        return query(conn)


def _initialised(conn: Connection) -> bool:
    return inspect(conn).has_table(T.orders.name)  # a database `init` never made holds none


def _newest_key_id(conn: Connection) -> str | None:
    if not _initialised(conn):
        return None
    o = T.orders.c
    value = conn.execute(
        select(o.billing_address_enc)
        .where(o.billing_address_enc.is_not(None))
        .order_by(o.seq.desc())
        .limit(1)
    ).scalar()
    return sealed_key_id(value) if value else None


def _any_stored_key_id(conn: Connection) -> str | None:
    """The key id of any billing data the database holds: an order's billing address, or a
    sealed value elsewhere (kept responses, dead letters, outbound messages, audit rows).
    Only asked before a key file is made, so a scan of those tables is affordable."""
    if not _initialised(conn):
        return None
    kid = _newest_key_id(conn)
    if kid is not None:
        return kid
    for column in (
        T.dead_letters.c.raw,
        T.outbox.c.payload,
        T.idempotency_keys.c.response,
        T.audit_log.c.detail,
    ):
        text = cast(column, Text)
        value = conn.execute(select(text).where(text.like(f'%"{SEALED}"%')).limit(1)).scalar()
        match = _SEALED_ID.search(value or "")
        if match:
            return match.group(1)
    return None


def _where_keys_are() -> str:
    return (
        f"billing keys are looked up in {KEY_ENV} (the keys), else the file named by "
        f"{KEY_FILE_ENV}, else billing.key beside a SQLite database"
    )


def _unconfigured(engine: Engine) -> str:
    url = engine.url.render_as_string(hide_password=True)
    return (
        f"no billing key for database {url}: it has no folder to keep one beside, so set "
        f"{KEY_ENV} (the key) or {KEY_FILE_ENV} (a file holding it, made on first use) for "
        f"every process that uses it (docs/deploy.md){_legacy_hint(None, None)}"
    )


def _missing(path: Path, kid: str) -> str:
    return (
        f"the database holds billing data encrypted with key {kid}, but there is no key file "
        f"{path}; {_where_keys_are()}. Restore the key there or configure it; no new key is "
        f"made, since it could not read that data{_legacy_hint(kid, path)}"
    )


def _legacy_hint(kid: str | None, target: Path | None) -> str:
    """Name `./var/billing.key`, the default of earlier versions, when it is there."""
    legacy = Path(os.path.abspath(LEGACY_KEY_FILE))
    if legacy == target or not legacy.is_file():
        return ""
    try:
        ids = BillingCipher(keys_from_text(legacy.read_text(), str(legacy))).keys
    except (OSError, BillingKeyError):
        return ""
    if kid is not None and kid not in ids:
        return ""
    where = f"move it to {target}" if target else f"{KEY_FILE_ENV}={legacy} keeps using it"
    return f" ({legacy}, the old default key file, holds key {', '.join(ids)}: {where})"


__all__ = [
    "BILLING_KEY_FILE",
    "billing_key_file",
    "cipher_for",
    "database_folder",
    "forget_keys",
    "key_file_beside",
]
