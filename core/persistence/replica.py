"""A PostgreSQL streaming replica for reads that may be a little behind (issue 15 item 3).

`POSTSALES_READ_DATABASE_URL` names the replica; searches, totals, exports, the dashboard and
the work queue read there (`Postsales.read_uow`), everything else on the primary. Before a read
the replica's state is checked (at most every `check_every` seconds per process): a replica
that does not answer, or whose replay is more than `max_lag` seconds behind the primary, is
skipped and the primary serves the read. Lag is 0 when the replica has replayed the primary's
current WAL position, else the age of the last transaction it replayed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import attrs
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


@attrs.frozen
class ReadState:
    use_replica: bool
    lag_seconds: float | None  # None: unknown (down)
    reason: str  # why the primary serves reads, or "replica"


class ReadReplica:
    def __init__(
        self, primary: Engine, replica: Engine, *, max_lag: float = 10.0, check_every: float = 2.0
    ) -> None:
        self.primary = primary
        self.engine = replica
        self.max_lag = max_lag
        self.check_every = check_every
        self._lock = threading.Lock()
        self._state: ReadState | None = None
        self._checked = 0.0

    def state(self) -> ReadState:
        """The replica's state, checked again once `check_every` seconds have passed."""
        with self._lock:
            if self._state is not None and time.monotonic() - self._checked < self.check_every:
                return self._state
        state = self._check()
        with self._lock:
            before = self._state.use_replica if self._state is not None else True
            if before != state.use_replica:  # said once per change, not at every check
                log.warning("read replica: %s", state.reason if not state.use_replica else "back")
            self._state, self._checked = state, time.monotonic()
        return state

    def mark_down(self, exc: BaseException) -> None:
        """A read on the replica failed: use the primary until the next check."""
        with self._lock:
            self._state = ReadState(False, None, f"down ({exc.__class__.__name__})")
            self._checked = time.monotonic()

    def _check(self) -> ReadState:
        try:
            with self.primary.connect() as conn:
                primary_lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar()
        except Exception:  # the primary's trouble is not the replica's: judge by age alone
            primary_lsn = None
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT pg_is_in_recovery(),"
                        " CASE WHEN CAST(:p AS text) IS NOT NULL"
                        "  AND pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn) THEN 0"
                        " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
                        " END"
                    ),
                    {"p": primary_lsn},
                ).one()
        except Exception as exc:
            return ReadState(False, None, f"down ({exc.__class__.__name__})")
        if not row[0]:
            return ReadState(
                False, None, "not a replica (not in recovery): reads stay on the primary"
            )
        lag = float(row[1]) if row[1] is not None else None
        if lag is None or lag > self.max_lag:
            shown = "unknown" if lag is None else f"{lag:.1f} s"
            return ReadState(False, lag, f"{shown} behind (more than {self.max_lag:g} s)")
        return ReadState(True, lag, "replica")


def replica_from_env(primary: Engine, environ: Any) -> ReadReplica | None:
    """The replica of POSTSALES_READ_DATABASE_URL (bound: POSTSALES_READ_MAX_LAG seconds)."""
    url = environ.get("POSTSALES_READ_DATABASE_URL")
    if not url:
        return None
    from ..errors import BadInput
    from .database import make_engine

    engine = make_engine(url, ping_always=True)
    if engine.dialect.name != "postgresql" or primary.dialect.name != "postgresql":
        raise BadInput("POSTSALES_READ_DATABASE_URL: a read replica needs PostgreSQL for both")
    raw = environ.get("POSTSALES_READ_MAX_LAG", "10")
    try:
        max_lag = float(raw)
    except ValueError:
        raise BadInput(
            f"POSTSALES_READ_MAX_LAG={raw!r} is not a number of seconds",
            field="POSTSALES_READ_MAX_LAG",
        ) from None
    if not 0 <= max_lag <= 86400:
        raise BadInput(f"POSTSALES_READ_MAX_LAG={raw!r} must be 0 to 86400 seconds")
    return ReadReplica(primary, engine, max_lag=max_lag)
