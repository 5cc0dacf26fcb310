"""One page of a search: which way to read it (`page_rows`), and the plain way.

Speed rules (issue 5 item 8, measured in bench/search.py):
- The default order is newest first by `orders.seq` (arrival, monotonic), so a filter with an
  index ending in `seq` reads its first page straight off the index, and a partial-name search
  on SQLite reads FTS5 hits in rowid order and stops after one page.
- Deep pages go by keyset (`after`, a cursor of the last row's sort value and `seq`); page
  numbers still work (OFFSET) for the grid's pager.
- Totals are counted through a LIMITed subquery: past `TOTAL_CAP` the total is a lower bound,
  flagged `total_capped` ("10,000+"). Never an uncapped count(*).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    literal_column,
    select,
)

from ..persistence import tables as T
from . import counting, walks, window
from .plans import Page, Plan, after_condition, base, labelled, ordering, plan_capped

o = T.orders.c


_APART_DESC = (T.orders.c.seq + literal_column("0")).desc()
_APART_ASC = (T.orders.c.seq + literal_column("0")).asc()


def page_rows(
    conn: Connection,
    plan: Plan,
    columns: Sequence[Any],
    *,
    page: int,
    per_page: int,
    after: str | None,
) -> Page:
    """One page of rows (with `seq` and the sort value), and whether more follow.

    A partial name or address on PostgreSQL is counted first (capped; the bitmap of its
    trigram index, read in table order, stops at the cap). A common pattern then takes its
    page from the newest orders of the store, filtered (`probe`): the bitmap would fetch and
    sort every hit (10,000 at a million orders: 10 to 86 ms, with the cache). A rare one
    keeps the bitmap, which then holds few rows."""
    if (
        plan.trigram
        and conn.dialect.name == "postgresql"
        and plan.sort_key == "arrival"
        and plan.cap is None
        and not plan.store_caps
        and not plan.dated
    ):
        walked = walks.text_walk(conn, plan)
        if walked is None:
            counted = counting.count(conn, plan, walk=False)
        else:
            counted = walks.walked_total(walked)
            if not after and plan.descending:
                found = walks.walked_page(conn, columns, walked, page, per_page)
                if found is not None:
                    return found._replace(counted=counted)
        found = window.probe(conn, plan, columns, page, per_page, after) if counted[1] else None
        if found is None:
            found = _page_rows(conn, plan, columns, page=page, per_page=per_page, after=after)
        return found._replace(counted=counted)
    if (
        plan.child_led
        and plan.sort_key == "arrival"
        and plan.cap is None
        and not plan.store_caps
        and not after
    ):
        found = walks.child_led_page(conn, plan, columns, page, per_page)
        if found is not None:
            return found
    if (
        plan.dated
        and plan.sort_key == "arrival"
        and plan.descending
        and plan.cap is None
        and not plan.store_caps
        and not plan.fts
        and not plan.trigram
    ):
        found = window.newest_window(conn, plan, columns, page, per_page, after)
        if found is not None:
            return found
    return _page_rows(conn, plan, columns, page=page, per_page=per_page, after=after)


def _page_rows(
    conn: Connection,
    plan: Plan,
    columns: Sequence[Any],
    *,
    page: int,
    per_page: int,
    after: str | None,
) -> Page:
    """One page of rows (with `seq` and the sort value), and whether more follow.

    With a time range, two steps in one statement: the page's `seq`s first (from a covering
    index on status, created_at and store, no order row read), then those rows — the range
    leaves thousands of candidates to sort, and only 21 order rows are read instead of all of
    them (measured: 33 ms -> 4 ms at 100,000 orders). Otherwise the rows come off an index in
    order."""
    two_steps = plan.dated
    query = plan.select(*labelled(plan.sort_key, bool(plan.fts), two_steps, tuple(columns)))
    offset = 0
    if after:
        query = query.where(after_condition(plan, after))
    else:
        offset = (page - 1) * per_page
    limit = per_page + 1
    if plan.cap is not None:  # search_max_results: nothing past the cap, on any page
        if after:
            query = plan_capped(plan, query)
        limit = max(0, min(limit, plan.cap - offset))
        if limit == 0:
            return Page([], False, None)
    if two_steps and plan.sort_key == "arrival" and conn.dialect.name == "postgresql":
        # PostgreSQL would walk the primary key backwards for the LIMIT, believing the range's
        # rows spread over every `seq`; they sit together (times follow arrival), so it reads
        # everything newer first (60 ms at 100,000 orders). `seq + 0` sorts the range's few
        # thousand `seq`s off the (status, created_at, …) index instead (1 ms).
        ordered = query.order_by(_APART_DESC if plan.descending else _APART_ASC)
    else:
        ordered = plan.order_by(query)
    page_query = ordered.limit(limit).offset(offset or None)
    if two_steps:  # the page's rows, by the `seq`s the index gave, in one round trip
        chosen = page_query.subquery()
        page_query = (
            base(labelled(plan.sort_key, False, False, tuple(columns)), False)
            .where(o.seq.in_(select(chosen.c.seq)))
            .order_by(*ordering(plan.sort_key, plan.descending, False))
        )
    found = conn.execute(page_query).all()
    more = len(found) > per_page
    if plan.cap is not None and offset + len(found) >= plan.cap:
        more = False
    # A page that came back short, not past the end, is the end: its rows give the total.
    if not after and len(found) < limit and (found or not offset):
        known: int | None = offset + len(found)
    else:
        known = None
    return Page(found[:per_page], more, known)
