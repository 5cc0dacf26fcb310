"""Sign-in with throttling that slows the attacker, not the agent (issue 17 item 8, issue 15
item 1).

Failures are rows of `sign_in_failures` (time, user name, address), shared by every worker and
host. Two limits apply, and neither can be used to keep an agent out:

- **Per address**: an address with `address_limit` failures in `address_window` (whatever
  names it tried) waits until the oldest of them leaves the window. Behind a reverse proxy
  the address is the client's only when the proxy is trusted
  (`POSTSALES_WEB_TRUSTED_PROXIES`, docs/deploy.md); otherwise every agent shares the proxy's.
- **Per user, growing**: after `free_failures` failures for a user name in `user_window`, each
  further attempt *from an address that has failed for that name* waits `first_delay`, doubled
  with each failure, up to `max_delay`, after the latest failure. An address with no failure
  for that name is not delayed, so the agent at their own desk signs in with the right
  password while someone elsewhere guesses at their name; the guesser's addresses are slowed.

A sign-in that succeeds clears that name's failures from that address. Waiting attempts are
refused before the password is checked (and recorded in the audit log as "throttled"); they
do not count as failures, so waiting out a delay is always enough.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
from sqlalchemy import Connection, delete, func, insert, select

from ..bootstrap import Postsales
from ..domain.users import User
from ..persistence import tables as T
from .audit import record_sign_in_failure
from .users import authenticate

_NAME_MAX = 64  # the width of sign_in_failures.username
_ADDRESS_MAX = 64


@attrs.frozen
class ThrottlePolicy:
    """How failures slow further attempts (the defaults are documented in docs/deploy.md)."""

    address_window: timedelta = timedelta(minutes=15)
    address_limit: int = 20
    user_window: timedelta = timedelta(hours=1)  # well past `max_delay`, so delays can grow
    free_failures: int = 3
    first_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)

    def user_delay(self, failures: int) -> timedelta:
        """The wait after the latest of `failures` failures for one user name."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 32)
        return min(self.max_delay, self.first_delay * 2**doublings)


@attrs.frozen
class SignIn:
    """The outcome: a user, or a wait in seconds (throttled), or neither (refused)."""

    user: User | None
    wait: float = 0.0


def _key(username: str) -> str:
    return username.strip().lower()[:_NAME_MAX]


def _address(address: str | None) -> str:
    return (address or "unknown")[:_ADDRESS_MAX]


def wait_for(
    conn: Connection, policy: ThrottlePolicy, username: str, address: str, now: datetime
) -> timedelta:
    """How long this name from this address must wait before its password is checked."""
    f = T.sign_in_failures.c
    waits = [timedelta(0)]
    recent = (
        conn.execute(
            select(f.at)
            .where(f.address == address, f.at > now - policy.address_window)
            .order_by(f.at.desc())
            .limit(policy.address_limit)
        )
        .scalars()
        .all()
    )
    if len(recent) >= policy.address_limit:
        waits.append(recent[-1] + policy.address_window - now)
    since = now - policy.user_window
    tried_here = conn.execute(
        select(f.id).where(f.username == username, f.address == address, f.at > since).limit(1)
    ).first()
    if tried_here is not None:
        count, latest = conn.execute(
            select(func.count(), func.max(f.at)).where(f.username == username, f.at > since)
        ).one()
        if latest is not None:
            waits.append(latest + policy.user_delay(count) - now)
    return max(waits)


def _failed(
    conn: Connection, policy: ThrottlePolicy, username: str, address: str, now: datetime
) -> None:
    # Rows past both windows count for nothing: drop them here (indexed on `at`, so cheap).
    oldest = now - max(policy.address_window, policy.user_window)
    conn.execute(delete(T.sign_in_failures).where(T.sign_in_failures.c.at <= oldest))
    conn.execute(insert(T.sign_in_failures).values(at=now, username=username, address=address))


def sign_in(
    app: Postsales,
    username: str,
    password: str,
    *,
    address: str | None,
    door: str = "web",
    policy: ThrottlePolicy = ThrottlePolicy(),
) -> SignIn:
    """Check a name and password from a client address, under the throttle of this module."""
    key, where = _key(username), _address(address)
    now = app.now()
    with app.uow(read_only=True) as uow:
        wait = wait_for(uow.conn, policy, key, where, now)
    if wait > timedelta(0):
        record_sign_in_failure(app, username, door=door, source=where, reason="throttled")
        return SignIn(None, wait.total_seconds())
    user, why = (
        authenticate(app, username, password) if username and password else (None, "invalid")
    )
    with app.uow() as uow:
        if user is None:
            _failed(uow.conn, policy, key, where, now)
        else:
            f = T.sign_in_failures.c
            uow.conn.execute(
                delete(T.sign_in_failures).where(f.username == key, f.address == where)
            )
        uow.commit()
    if user is None:
        record_sign_in_failure(app, username, door=door, source=where, reason=why)
    return SignIn(user)


__all__ = ["SignIn", "ThrottlePolicy", "sign_in", "wait_for"]
