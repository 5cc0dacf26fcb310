"""The dashboard's numbers (SPEC §10 W, issue 6 item 5): read-only aggregates of post-sales
activity, always within the user's stores (SPEC §4).

Three figures: orders by status (now), returns by reason and refunds per day (over the last
`days` days, days counted in the user's time zone). Every query is SQLAlchemy Core on the
persistence tables and only reads; nothing here needs the order aggregate.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from sqlalchemy import Select, func, select

from ..bootstrap import Postsales
from ..domain.orders import REFUND_KINDS
from ..domain.users import User
from ..errors import BadInput, Forbidden
from ..machines import ORDER
from ..money import from_minor
from ..persistence import tables as T

if TYPE_CHECKING:
    from ..persistence.unit_of_work import UnitOfWork

PERIODS = (7, 30, 90)  # the day ranges the dashboard offers
NO_REASON = "(no reason given)"


@attrs.frozen
class RefundDay:
    """Refunds requested on one local day: a count per kind and the amounts per currency."""

    day: date
    by_kind: dict[str, int]
    amounts: dict[str, Decimal]

    @property
    def count(self) -> int:
        return sum(self.by_kind.values())


@attrs.frozen
class Dashboard:
    """What the dashboard shows; `channels` None means every sales channel."""

    orders_by_status: list[tuple[str, int]]
    returns_by_reason: list[tuple[str, int]]
    refunds_per_day: list[RefundDay]  # oldest day first, one entry per day of the period
    refund_kinds: tuple[str, ...]
    currencies: tuple[str, ...]
    days: int
    first_day: date
    last_day: date
    timezone: str
    channels: tuple[str, ...] | None

    @property
    def orders_total(self) -> int:
        return sum(n for _, n in self.orders_by_status)

    @property
    def returns_total(self) -> int:
        return sum(n for _, n in self.returns_by_reason)

    @property
    def refunds_total(self) -> int:
        return sum(d.count for d in self.refunds_per_day)

    @property
    def refunds_by_kind(self) -> dict[str, int]:
        """Refunds requested over the whole period, per kind."""
        totals: Counter[str] = Counter()
        for day in self.refunds_per_day:
            totals.update(day.by_kind)
        return dict(totals)

    @property
    def refund_amounts(self) -> dict[str, Decimal]:
        """Amounts requested over the whole period, per currency."""
        totals: dict[str, Decimal] = {}
        for day in self.refunds_per_day:
            for currency, amount in day.amounts.items():
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _scoped(query: Select, user: User, seq_column: object | None = None) -> Select:
    """Only orders of the user's stores: by channel, joining orders when counting children."""
    if user.channels is None:
        return query
    channels = sorted(user.channels)
    if seq_column is None:
        return query.where(T.orders.c.sales_channel.in_(channels))
    return query.join(T.orders, T.orders.c.seq == seq_column).where(
        T.orders.c.sales_channel.in_(channels)
    )


def dashboard(app: Postsales, user: User, *, days: int = 30) -> Dashboard:
    """Post-sales activity in the user's stores; needs `orders.view`.

    Refunds count every kind (returns, appeasements, cancellations) except cancelled ones;
    returns count every return requested in the period, whatever became of it.
    """
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    if days not in PERIODS:
        allowed = ", ".join(str(p) for p in PERIODS)
        raise BadInput(f"days: expected one of {allowed}, got {days}", field="days")
    zone = _zone(user.timezone)
    last_day = app.now().astimezone(zone).date()
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(0), tzinfo=zone)

    o, r, rf = T.orders, T.returns, T.refunds
    status_q = _scoped(select(o.c.status, func.count()).group_by(o.c.status), user)
    reason_q = _scoped(
        select(r.c.reason, func.count()).where(r.c.created_at >= since).group_by(r.c.reason),
        user,
        r.c.order_seq,
    )
    # Grouped by the instant, not the day: a day boundary depends on the user's zone, which
    # SQLite cannot apply; the rows of one period are few enough to bucket here.
    refunds_q = (
        select(rf.c.created_at, rf.c.kind, rf.c.amount_minor, o.c.currency)
        .join(o, o.c.seq == rf.c.order_seq)
        .where(rf.c.created_at >= since, rf.c.status != "CANCELLED")
    )
    if user.channels is not None:
        refunds_q = refunds_q.where(o.c.sales_channel.in_(sorted(user.channels)))

    def read(uow: UnitOfWork) -> tuple[dict[str, int], Counter[str], list[Any]]:
        statuses = {status: count for status, count in uow.conn.execute(status_q)}
        reasons = Counter[str]()
        for reason, count in uow.conn.execute(reason_q):
            reasons[(reason or "").strip() or NO_REASON] += count
        return statuses, reasons, list(uow.conn.execute(refunds_q).all())

    # May be a little behind (POSTSALES_READ_DATABASE_URL).
    (statuses, reasons, refund_rows), _ = app.read(read)

    by_day: dict[date, tuple[Counter[str], dict[str, int]]] = {
        first_day + timedelta(days=n): (Counter(), {}) for n in range(days)
    }
    currencies: set[str] = set()
    kinds: set[str] = set()
    for created_at, kind, amount_minor, currency in refund_rows:
        bucket = by_day.get(created_at.astimezone(zone).date())
        if bucket is None:  # written after `now` (clock skew between writers): not in the period
            continue
        bucket[0][kind] += 1
        bucket[1][currency] = bucket[1].get(currency, 0) + amount_minor
        currencies.add(currency)
        kinds.add(kind)

    ordered_statuses = [s for s in ORDER.states if s in statuses] + sorted(
        s for s in statuses if not ORDER.has_state(s)
    )
    return Dashboard(
        orders_by_status=[(s, statuses[s]) for s in ordered_statuses],
        returns_by_reason=sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
        refunds_per_day=[
            RefundDay(
                day=day,
                by_kind=dict(kind_counts),
                amounts={c: from_minor(m, c) for c, m in sorted(amounts.items())},
            )
            for day, (kind_counts, amounts) in by_day.items()
        ],
        refund_kinds=tuple(k for k in REFUND_KINDS if k in kinds)
        + tuple(sorted(kinds - set(REFUND_KINDS))),
        currencies=tuple(sorted(currencies)),
        days=days,
        first_day=first_day,
        last_day=last_day,
        timezone=zone.key,
        channels=None if user.channels is None else tuple(sorted(user.channels)),
    )
