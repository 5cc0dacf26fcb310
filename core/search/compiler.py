"""What a search needs to turn typed values into SQL (S-1, S-2): the `Compiler` (the database,
the user's zone and stores, what the terms found so far ask of the query), broad columns kept
off their indexes on SQLite, and reading the values a user types (lists, dates and times)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from sqlalchemy import ColumnElement, and_, not_, or_
from sqlalchemy.sql.visitors import replacement_traverse

from ..crypto import BillingCipher
from ..errors import BadInput
from ..limits import MAX_SEARCH_TEXT, check_text
from ..persistence import tables as T

o = T.orders.c


@attrs.define
class Compiler:
    """What a search needs to turn values into SQL: the database, the user's zone, and the
    FTS5 terms collected for a join (SQLite, top level only)."""

    dialect: str
    timezone: str = "UTC"
    channels: Sequence[str] = ()  # configured channel ids, to read values case-insensitively
    markets: Sequence[str] = ()  # configured markets (upper case)
    # The user's stores and their markets, named in error messages (None: every store); the
    # markets are also the regions a typed telephone number is read in.
    visible: Sequence[str] | None = None
    regions: Sequence[str] = ()
    # A selective term (email, id, name…) is present: on SQLite, keep the planner off the broad
    # `(column, seq)` indexes, which it prefers without statistics (see `col`).
    demote: bool = False
    # Only a time range is selective: the status and the order type keep their indexes
    # (status, created_at, …) and (order_type, created_at, …).
    by_time: bool = False
    fts: list[ColumnElement[bool]] = attrs.field(factory=list)
    # A term whose every hit costs an order-row read to count (partial text, child tables,
    # billing words): its total is capped lower (plans.TEXT_TOTAL_CAP).
    partial: bool = False
    dated: bool = False  # a time range is present (pages are read in two steps)
    # The bounds of `created_at` that every result lies within (filters, or expression terms
    # ANDed at the top): query.page_rows skips its window of the newest orders when the range
    # cannot reach them. None: unbounded on that side.
    created_from: datetime | None = None
    created_to: datetime | None = None
    # PostgreSQL, a partial name/address filter: the store and other broad columns are read
    # from the row, not from their own index. Otherwise the planner ANDs the trigram bitmap
    # with the store's bitmap (600,000 entries at a million orders: 18 ms of a 24 ms count).
    text_pg: bool = False
    # The top-level trigram conditions (PostgreSQL), also in WHERE: pages read newest first
    # through a bounded window of the store's orders (query.page_rows).
    trigram: list[ColumnElement[bool]] = attrs.field(factory=list)
    # The database's billing cipher, for the keyed hashes of billing words (S-6).
    billing: Callable[[], BillingCipher] | None = None

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def col(self, column: Any) -> Any:
        """A broad column (store, market, status, type) as the WHERE clause should use it.

        SQLite without ANALYZE statistics picks the `(sales_channel, seq)` index, which also
        gives the order, over `email_norm` (measured: 20 ms instead of 0.3 at 20,000 orders).
        `column || ''` is the same value with no index, so the selective one is used.
        PostgreSQL keeps statistics and needs no help, except beside a trigram search
        (`text_pg`)."""
        if self.text_pg:
            return _demoted(column)
        if not (self.demote and self.sqlite) or (self.by_time and any(column is c for c in _TIMED)):
            return column
        return _demoted(column)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


# Broad columns with an index of their own within a time range: (column, created_at, …).
_TIMED = (o.status, o.order_type)


@functools.lru_cache(maxsize=32)
def _demoted(column: Any) -> Any:
    demoted = column.concat("")
    _PLAIN[id(demoted)] = column
    return demoted


_PLAIN: dict[int, Any] = {}  # id of a demoted column -> the column


NO_OPTS: dict[str, Any] = {}  # replacement_traverse options: none


def plain_column(element: Any) -> Any:
    """The column a demoted one (`column || ''`) stands for; None for anything else."""
    return _PLAIN.get(id(element))


def undemoted(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` with its broad columns indexable again (see `Compiler.col`)."""
    return replacement_traverse(condition, NO_OPTS, lambda element, **_: _PLAIN.get(id(element)))


# -- values ---------------------------------------------------------------------------------------


def several(value: str) -> list[str]:
    """Filters that take several values accept them comma-separated (S-1)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def read_when(field: str, value: str, comp: Compiler) -> tuple[datetime, datetime | None]:
    """An ISO-8601 time with offset (an instant), or a plain date (a day in the user's zone).

    Returns (start, end): end is the start of the next day for a date, None for an instant.
    Days and times at the calendar's edges (9999-12-31, "until further notice") reach as far as
    the calendar does instead of overflowing.
    """
    text = check_text(field, str(value), MAX_SEARCH_TEXT).strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            zone = comp.zone()
            start = _edge(lambda: datetime.combine(day, time(), zone), day.year < 5000)
            end = _edge(
                lambda: datetime.combine(day + timedelta(days=1), time(), zone), day.year < 5000
            )
            return start, end
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{field}: {value!r} is not a date (2026-11-02) or an ISO-8601 time "
            "(2026-11-02T09:30:00+01:00)",
            field=field,
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=comp.zone())
    return _edge(lambda: at, at.year < 5000), None


def _edge(make: Callable[[], datetime], low: bool) -> datetime:
    """`make()` in UTC, or the calendar's first or last instant when it lies beyond it."""
    try:
        return make().astimezone(UTC)
    except OverflowError:
        return (datetime.min if low else datetime.max).replace(tzinfo=UTC)


# -- the time fields ------------------------------------------------------------------------------

# How a field turns (compiler, comparison, values, at the top level?) into a condition.
Build = Callable[["Compiler", str, list[Any], bool], ColumnElement[bool] | None]


def when_field(column: Any, field: str, fixed_op: str | None = None) -> Build:
    def build(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
        comp.dated = True
        op = fixed_op or op
        if op == "in":  # a union of times bounds nothing by itself: not `top`
            return or_(*(build(comp, "eq", [v], False) for v in values))
        start, end = read_when(field, values[0], comp)
        if top and column is o.created_at:
            _bound(comp, op, start, end)
        if end is None:  # an instant
            return {
                "eq": column == start,
                "ne": column != start,
                "gt": column > start,
                "ge": column >= start,
                "lt": column < start,
                "le": column <= start,
            }[op]
        day = and_(column >= start, column < end)
        return {
            "eq": day,
            "ne": not_(day),
            "gt": column >= end,
            "ge": column >= start,
            "lt": column < start,
            "le": column < end,
        }[op]

    return build


def _bound(comp: Compiler, op: str, start: datetime, end: datetime | None) -> None:
    """Narrow the known `created_at` bounds by one ANDed comparison (an instant or a day)."""
    low = {"eq": start, "gt": end or start, "ge": start}.get(op)
    high = {"eq": end or start, "lt": start, "le": end or start}.get(op)
    if low is not None and (comp.created_from is None or low > comp.created_from):
        comp.created_from = low
    if high is not None and (comp.created_to is None or high < comp.created_to):
        comp.created_to = high
