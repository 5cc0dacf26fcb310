"""Faults of what Postsales runs on — the database, the file system — told as user errors.

A door that meets an exception which is not a `PostsalesError` asks `explain()` whether a user
can cause it (a database that is down, locked or read-only, a file that is missing) and, if so,
gets the error of `core.errors` to report. Everything else is a bug. Messages never carry SQL
statements or their parameters (issue 17 item 11): only the driver's own one-line reason.
"""

from __future__ import annotations

import errno
import re
import sys
from typing import Any

from .errors import BadInput, NotFound, PostsalesError, Unavailable

_USERINFO = re.compile(r"//([^/@:]*):[^/@]*@")


def masked_url(url: str) -> str:
    """A database URL without its password, for messages (works on URLs that do not parse)."""
    return _USERINFO.sub(r"//\1:***@", url)


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a database call raises when the database itself fails (for retries)."""
    from sqlalchemy.exc import DBAPIError

    return (DBAPIError,)


def first_line(exc: BaseException) -> str:
    """The exception's own reason in one line, SQL and parameters left out."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper: the driver's exception inside
    source = orig if isinstance(orig, BaseException) else exc
    text = str(source).strip().splitlines()
    reason = text[0].strip() if text else ""
    return reason[:300] or source.__class__.__name__


def explain(exc: BaseException, *, database: str | None = None) -> PostsalesError | None:
    """The user error `exc` stands for, or None when it is a bug. `database` is the URL as the
    user gave it (None: the configured one)."""
    if isinstance(exc, PostsalesError):
        return exc
    sa_exc = sys.modules.get("sqlalchemy.exc")  # not loaded: no database error can be raised
    if database is None and sa_exc is not None:
        from .persistence.database import database_url

        database = database_url(None)  # POSTSALES_DATABASE_URL, or the embedded default
    where = f"database {masked_url(database)}" if database else "the database"
    if sa_exc is not None:
        if isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError):
            return BadInput(f"{where}: not a usable database URL ({first_line(exc)})", field="db")
        if isinstance(exc, sa_exc.TimeoutError):  # the connection pool stayed empty
            return Unavailable(f"{where} is busy: no connection free ({first_line(exc)})")
        if isinstance(exc, sa_exc.DBAPIError):
            return _driver_fault(exc.orig, where)
    if getattr(exc, "sqlite_errorname", None) or _is_psycopg(exc):  # raised past SQLAlchemy
        return _driver_fault(exc, where)
    if isinstance(exc, OSError):
        return _os_fault(exc)
    return None


def _is_psycopg(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] == "psycopg"


def _driver_fault(orig: Any, where: str) -> PostsalesError | None:
    reason = first_line(orig) if isinstance(orig, BaseException) else "no reason given"
    sqlite_code = getattr(orig, "sqlite_errorname", None)
    if sqlite_code is not None:
        return _sqlite_fault(sqlite_code, reason, where)
    if _is_psycopg(orig):
        return _postgresql_fault(orig, reason, where)
    return None


def _sqlite_fault(code: str, reason: str, where: str) -> PostsalesError | None:
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return Unavailable(
            f"{where} is locked by another process (still busy after the wait); try again"
        )
    if code.startswith("SQLITE_READONLY"):
        return Unavailable(f"{where} is read-only here: {reason}", denied=True)
    if code.startswith("SQLITE_CANTOPEN"):
        return Unavailable(f"{where} cannot be opened: {reason} (check the path and its rights)")
    if code.startswith("SQLITE_NOTADB"):
        return BadInput(f"{where}: the file is not a SQLite database", field="db")
    if code.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        return Unavailable(f"{where}: {reason} (disk full or failing)")
    if code.startswith("SQLITE_PERM") or code.startswith("SQLITE_AUTH"):
        return Unavailable(f"{where}: {reason}", denied=True)
    return None


# SQLSTATE classes and codes (PostgreSQL appendix A) a user's environment can cause.
_PG_DENIED = ("28", "42501")  # invalid authorization; insufficient privilege
_PG_UNAVAILABLE = ("08", "53", "57P", "40001", "40P01", "55P03")  # connection, resources, …


def _postgresql_fault(orig: Any, reason: str, where: str) -> PostsalesError | None:
    state = getattr(orig, "sqlstate", None) or ""
    if state == "3D000" or re.search(r'database ".*" does not exist', reason):
        return NotFound(f"{where}: {reason}")
    if state == "25006":
        return Unavailable(f"{where} is read-only here: {reason}", denied=True)
    denied = re.search(r'authentication failed|role ".*" does not exist|no pg_hba.conf', reason)
    if state.startswith(_PG_DENIED) or denied:
        return Unavailable(f"{where}: access denied: {reason}", denied=True)
    # No SQLSTATE on an OperationalError: the client failed before the server answered
    # (connection refused, unknown host, timeout), as psycopg reports a failed connect.
    unanswered = not state and type(orig).__name__ in ("OperationalError", "InterfaceError")
    if unanswered or state.startswith(_PG_UNAVAILABLE):
        return Unavailable(f"{where} is unreachable or unavailable: {reason}")
    return None


def _os_fault(exc: OSError) -> PostsalesError | None:
    name = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"no such file or folder{name}")
    if isinstance(exc, PermissionError):
        return Unavailable(f"permission denied:{name} ({reason})", denied=True)
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return BadInput(f"{reason}:{name}")
    connection = isinstance(exc, ConnectionError) and not isinstance(exc, BrokenPipeError)
    if connection or isinstance(exc, TimeoutError) or exc.__class__.__name__ == "gaierror":
        return Unavailable(f"cannot connect:{name} {reason}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return Unavailable(f"{reason}:{name}", denied=exc.errno == errno.EROFS)
    return None


def refused_value(exc: BaseException) -> BadInput | None:
    """The BadInput for a value the database (or its driver) would not store — a NUL, a lone
    surrogate, text longer than its column, an integer beyond 64 bits — or None when `exc` is
    anything else (a database that is down is no reason to refuse a message)."""
    if isinstance(exc, BadInput):
        return exc
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, BaseException) else exc
    if isinstance(source, UnicodeEncodeError | OverflowError):
        return BadInput(f"the database cannot store a value: {first_line(source)}")
    state = getattr(source, "sqlstate", None) or ""
    sqlite_code = getattr(source, "sqlite_errorname", None) or ""
    # SQLSTATE 22 data exception, 23 integrity constraint, 54 program limit exceeded.
    driver = _is_psycopg(source) or type(source).__module__ == "sqlite3"
    kind = type(source).__name__ if driver else ""
    refused = kind in ("DataError", "IntegrityError") or state[:2] in ("22", "23", "54")
    refused = refused or sqlite_code.startswith(
        ("SQLITE_CONSTRAINT", "SQLITE_TOOBIG", "SQLITE_MISMATCH", "SQLITE_RANGE")
    )
    if not refused:
        return None
    diag = getattr(source, "diag", None)
    where = getattr(diag, "context", None) or ""
    where = f" ({where.strip().splitlines()[0]})" if where else ""
    return BadInput(f"the database refused a value: {first_line(source)}{where}")
