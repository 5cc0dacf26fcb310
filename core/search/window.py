"""A page looked for among the newest orders first: a time range's among the newest
WINDOW_ROWS of all, a common trigram search's among the store's newest PROBE_ROWS. Agents
search recent weeks; a whole page found there is the right one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    select,
)
from sqlalchemy.sql.visitors import replacement_traverse

from ..persistence import tables as T
from .compiler import NO_OPTS, undemoted
from .plans import (
    PAGE_SIZES,
    Page,
    Plan,
    after_condition,
    base,
    child_list,
    labelled,
    read_cursor,
    unindexed,
)

o = T.orders.c


# Orders of the store read newest first, at most, to find a trigram search's page (1.3 us
# each on PostgreSQL): enough when one order in 240 matches, and a search is only tried this
# way when its capped count says it has 1,000 hits or more.
PROBE_ROWS = 5_000


def probe(
    conn: Connection,
    plan: Plan,
    columns: Sequence[Any],
    page: int,
    per_page: int,
    after: str | None,
) -> Page | None:
    """The page among the store's newest `PROBE_ROWS` orders (by every condition but the
    trigram ones), or None when they do not hold a whole page: then the page may lie further
    down and the caller reads it through the index. A whole page found there is the right
    one: no order outside the window comes before it in arrival order."""
    offset = 0 if after else (page - 1) * per_page
    if offset + per_page + 1 > 2 * PAGE_SIZES[-1] + 1:
        return None
    skip = {id(c) for c in plan.trigram}
    # The store's own index again (`(sales_channel, seq)`): a small store's newest orders
    # are not among the newest of all.
    where = [undemoted(w) for w in plan.where if id(w) not in skip]
    if after:
        where.append(after_condition(plan, after))
    window = (
        select(T.orders)
        .where(*where)
        .order_by(o.seq.desc() if plan.descending else o.seq.asc())
        .limit(PROBE_ROWS)
        .subquery("window")
    )
    w = window.c

    def adapt(cond: ColumnElement[bool]) -> Any:
        # A plain column map: ClauseAdapter looked each column up among the window's 42
        # (2 ms of CPU a search).
        return replacement_traverse(
            cond,
            NO_OPTS,
            lambda element, **_: (
                w[element.key] if getattr(element, "table", None) is T.orders else None
            ),
        )

    query = (
        select(w.seq.label("seq"), *(w[c.key] for c in columns if c.key != "seq"))
        .where(*(adapt(c) for c in plan.trigram))
        .order_by(w.seq.desc() if plan.descending else w.seq.asc())
        .limit(per_page + 1)
        .offset(offset or None)
    )
    return _whole_page(conn, query, per_page)


# A time range's page is first looked for among the newest WINDOW_ROWS orders (by `seq`,
# below the cursor on later pages): agents search recent weeks, and there the page is the
# first few dozen orders of the window. Read through the time index, a wide range is every
# one of its orders sorted by arrival to keep 21 (261 ms for 180 days at a million orders).
WINDOW_ROWS = 5_000


def newest_window(
    conn: Connection,
    plan: Plan,
    columns: Sequence[Any],
    page: int,
    per_page: int,
    after: str | None,
) -> Page | None:
    """The page of a time range (newest first) among the WINDOW_ROWS orders below the cursor
    (or the newest of all), walked along the primary key with every condition checked on the
    row; None when the window does not hold a whole page and one more row, so that the page
    may lie further down (then the time index, as before). A whole page found there is the
    right one: every order outside the window comes after it in arrival order.

    The window is not tried when the range cannot reach it: the `created_at` of its two end
    orders is read first (two primary-key lookups), and a range ending before the older or
    starting after the newer is left to the time index at once. Times follow arrival closely
    enough for this to be a good guess; it is never needed for the answer to be right."""
    offset = 0 if after else (page - 1) * per_page
    if offset + per_page + 1 > WINDOW_ROWS:
        return None
    below = read_cursor(plan, after)[1] if after else None
    ends = window_ends(conn, below)
    if ends is None:  # nothing below the cursor: the usual way says so
        return None
    top, newest, oldest = ends
    since, until = plan.created
    if (since is not None and since > newest) or (until is not None and until < oldest):
        return None
    # The window: low < seq (< below). With no cursor it has no top: an order that arrived
    # since `top` was read belongs on the first page too.
    low = top - WINDOW_ROWS
    bounds = [o.seq > low] if below is None else [o.seq > low, o.seq < below]
    # Only the window's own bounds on `seq` may choose the index (the primary key).
    where = [in_window(w, low, below) for w in plan.where]
    query = (
        base(labelled("arrival", False, False, tuple(columns)), False)
        .where(*bounds, *where)
        .order_by(o.seq.desc())
        .limit(per_page + 1)
        .offset(offset or None)
    )
    return _whole_page(conn, query, per_page)


# The window's ends, built once (building them cost as much as running them: 0.1 ms).
_NEWEST = select(o.seq, o.created_at).order_by(o.seq.desc()).limit(1)
_NEWEST_BELOW = _NEWEST.where(o.seq < bindparam("below"))
_OLDEST = select(o.created_at).where(o.seq > bindparam("low")).order_by(o.seq.asc()).limit(1)


def window_ends(conn: Connection, below: int | None) -> tuple[int, datetime, datetime] | None:
    """(top seq, its created_at, the created_at of the oldest order) of the WINDOW_ROWS
    orders below `below` (or the newest of all): two primary-key lookups."""
    if below is None:
        top = conn.execute(_NEWEST).first()
    else:
        top = conn.execute(_NEWEST_BELOW, {"below": below}).first()
    if top is None:
        return None
    oldest = conn.execute(_OLDEST, {"low": top.seq - WINDOW_ROWS}).scalar_one()
    return top.seq, top.created_at, oldest


def in_window(where: ColumnElement[bool], low: int, below: int | None) -> Any:
    """One condition of `newest_window`, its columns plain values. A child-table list
    (`seq IN (SELECT order_seq FROM returns …)`) is read within the window's `seq`s only, off
    the child's `(status, order_seq)` index: the whole list (15,000 requested returns at a
    million orders) cost 4 to 8 ms to gather for a page of 21."""
    child = child_list(where)
    if child is not None and child._limit_clause is None:
        key = child.selected_columns[0]
        within = child.where(key > low) if below is None else child.where(key > low, key < below)
        return o.seq.in_(within)
    return unindexed(where)


def _whole_page(conn: Connection, query: Select[Any], per_page: int) -> Page | None:
    """The page of `query` (which asks for one row more), or None when the window held less
    than a whole page and that row: the page may then lie beyond it."""
    found = conn.execute(query).all()
    if len(found) <= per_page:
        return None
    return Page(found[:per_page], True, None)
