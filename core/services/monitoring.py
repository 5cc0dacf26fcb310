"""What load balancers and Prometheus ask the service (issue 15 item 4): is the database ready,
and the figures read from it at scrape time (refunds by status, the outbox backlog and the
relay's lag, the connection pool). Shared state lives in the database, so every host answers
the same figures; the door decides how to expose them.
"""

from __future__ import annotations

from datetime import datetime

import attrs
from sqlalchemy import func, select

from ..bootstrap import Postsales
from ..persistence import tables as T
from .messages.outbox import backlog
from .schema import ensure_current


@attrs.frozen
class Check:
    name: str
    ok: bool
    message: str


def database_ready(app: Postsales) -> Check:
    """The database answers and is at this version's schema revision (`postsales init`)."""
    try:
        ensure_current(app)
    except Exception as exc:  # any failure is "not ready", said in one line
        text = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
        return Check("database", False, str(text).splitlines()[0])
    return Check("database", True, "ready")


@attrs.frozen
class Figures:
    refunds_by_status: dict[str, int]
    outbox_pending: int
    oldest_pending_at: datetime | None
    now: datetime

    @property
    def relay_lag_seconds(self) -> float:
        """Age of the oldest unsent outbox message (0 when none is waiting)."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_pending_at).total_seconds())


def figures(app: Postsales) -> Figures:
    """The database's own figures, read in one short read-only transaction each."""
    r = T.refunds.c
    with app.uow(read_only=True) as uow:
        rows = uow.conn.execute(select(r.status, func.count()).group_by(r.status)).all()
    pending, oldest = backlog(app)
    return Figures({status: int(n) for status, n in rows}, pending, oldest, app.now())


@attrs.frozen
class PoolUse:
    size: int  # connections the pool keeps
    checked_out: int  # in use by a request or job right now
    overflow: int  # opened beyond `size` for a burst


def pool_use(app: Postsales) -> PoolUse | None:
    """This process's connection pool, or None for a pool that does not count (SQLite's)."""
    pool = app.engine.pool
    try:
        return PoolUse(int(pool.size()), int(pool.checkedout()), max(0, int(pool.overflow())))  # type: ignore[attr-defined]
    except AttributeError:
        return None
