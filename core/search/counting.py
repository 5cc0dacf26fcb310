"""A search's total, capped: counted through a LIMITed subquery, so past the cap the total is a
lower bound flagged `total_capped` ("10,000+"). Never an uncapped count(*)."""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import (
    Connection,
    Select,
    func,
    select,
)

from ..persistence import tables as T
from . import plans, walks, window
from .compiler import undemoted
from .plans import ONE, Page, Plan, Unindexed, base, child_list, cut_by_store_cap

o = T.orders.c


def count(
    conn: Connection, plan: Plan, limit: int | None = None, *, walk: bool = True
) -> tuple[int, bool]:
    """(total, capped): counts at most `limit` + 1 rows, whatever the size of the result.
    `walk=False`: the caller found the text walk (`text_walk`) does not apply."""
    if limit is None:
        limit = plans.TEXT_TOTAL_CAP if plan.partial else plans.TOTAL_CAP
    if plan.cap is not None and plan.cap <= limit:
        limit = plan.cap  # search_max_results of the one store searched
    if walk and limit == plans.TEXT_TOTAL_CAP and (walked := walks.text_walk(conn, plan)):
        return walks.walked_total(walked)
    if plan.dated and plan.cap is None and not plan.store_caps and not plan.fts:
        listed = _dated_list_count(conn, plan, limit)
        if listed is not None:
            return listed
    found, capped = _count(conn, plan, limit)
    return found, capped or cut_by_store_cap(conn, plan)


# A time range with a child-table list (return status…) of more than LIST_RANGE_ROWS orders
# (a guess from the newest orders' rate) is counted by the list, newest first, each order's
# row checked (3 us a child row), stopping at the cap, which a wide range reaches early. A
# narrower one reaches its end first, having walked the whole list: 15,000 requested returns
# at a million orders. So on SQLite it is counted by the list's rows above a `seq` the range
# is shown to lie above (`_range_above`), or else off the time index, each order's `seq`
# looked up in the list (0.3 us an order): 47 ms to count the 139 of the last 7 days by the
# list, 6.2 above the shown `seq`; 80 ms for the 726 of 30 days, 15. PostgreSQL's time
# indexes do not hold the `seq`, so there the returns are read from the range's start on
# (`_returns_since`): 34 ms to 3.6 for those of 30 days. 90 days, by the list: 7 ms.
LIST_RANGE_ROWS = 150_000


def _dated_list_count(conn: Connection, plan: Plan, limit: int) -> tuple[int, bool] | None:
    walk = walks.child_walk(plan, True, led=True)
    if walk is None:
        return None
    orders, top = _range_orders(conn, plan)
    if orders > LIST_RANGE_ROWS:
        pass
    elif conn.dialect.name != "sqlite":
        bounded = _returns_since(plan)
        walk = walk if bounded is None else bounded
    elif (split := _range_above(conn, plan, top, orders)) is not None:
        # the list's rows of those orders only, each looked up by key
        where = [window.in_window(w, split, None) for w in plan.where]
        walk = base((ONE,), False).where(o.seq > split, *where)
    else:
        where = [
            Unindexed(o.seq).in_(child) if (child := child_list(w)) is not None else w
            for w in plan.where
        ]
        walk = base((ONE,), False).where(*where)
    inner = walk.limit(limit + 1).subquery()
    found = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    return (limit, True) if found > limit else (int(found), False)


def _returns_since(plan: Plan) -> Select[Any] | None:
    """The child-led walk of a plan whose list is of returns, each return also bounded by the
    range's start: a return is never created before its order (services/returns.py), so
    every return of an order of the range was created at or after the range's start."""
    since = plan.created[0]
    if since is None:
        return None
    where = []
    bounded = False
    for w in plan.where:
        child = child_list(w)
        if not bounded and child is not None and child.get_final_froms() == [T.returns]:
            w = o.seq.in_(child.where(T.returns.c.created_at >= since))
            bounded = True
        where.append(w)
    if not bounded:
        return None
    return walks.child_walk(attrs.evolve(plan, where=tuple(where)), True, led=True)


def _range_orders(conn: Connection, plan: Plan) -> tuple[float, int]:
    """About how many orders the plan's `created_at` range holds, at the rate of the newest
    orders (a guess, to choose how to count; never needed for the count to be right), and
    the newest `seq`."""
    since, until = plan.created
    ends = window.window_ends(conn, None)
    if ends is None:
        return 0.0, 0
    top, newest, oldest = ends
    if since is None:
        return float("inf"), top
    span = (newest - oldest).total_seconds()
    end = newest if until is None or until > newest else until
    seconds = (end - since).total_seconds()
    return (max(0.0, seconds) * window.WINDOW_ROWS / span if span > 0 else float("inf")), top


def _range_above(conn: Connection, plan: Plan, top: int, orders: float) -> int | None:
    """A `seq` that every order of the plan's time range lies above, or None: guessed from the
    range's size below the newest order (with a margin), then checked off the time index (no
    order of the range at or below it; a range that holds none scans its own entries only).
    Then the child list is read above it only: the 330 requested returns of 7 days instead of
    all 15,000."""
    since, until = plan.created
    if since is None or until is None:
        return None
    split = top - int(orders * 1.25) - window.WINDOW_ROWS
    if split <= 0:
        return None
    # The plan's bounds hold every order it finds (compiler._bound); `seq` must not choose the
    # index (the primary key would walk every older order). SQLite only: its time index holds
    # the `seq` (the rowid).
    older = select(ONE).where(
        o.created_at >= since, o.created_at <= until, Unindexed(o.seq) <= split
    )
    return None if conn.execute(older.limit(1)).first() else split


def _count(conn: Connection, plan: Plan, limit: int) -> tuple[int, bool]:
    query = plan.select(ONE)
    walk = walks.child_walk(plan, True) if plan.child_led else None
    if walk is not None:  # one walk of the child's index, stopping at the cap
        query = walk
    elif plan.plain_count:
        where = (undemoted(w) for w in plan.where)
        query = base((ONE,), bool(plan.fts)).where(*plan.fts, *where)
    inner = query.limit(limit + 1).subquery()
    found = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    if found > limit:  # past the count's threshold, or past the store's search_max_results
        return limit, True
    return int(found), False


def total_of(conn: Connection, plan: Plan, page: Page) -> tuple[int, bool]:
    """(total, capped) for a search whose page is `page`: from the page when it shows the end
    of the result, else counted (capped)."""
    if page.known_total is not None:
        return page.known_total, cut_by_store_cap(conn, plan)
    if page.counted is not None:
        return page.counted
    return count(conn, plan)
