"""Pages and totals read by walking one index in arrival order instead of gathering every hit:
a child table's list (return status, SKU…) and a common partial text on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    func,
    select,
)
from sqlalchemy.sql.visitors import iterate

from ..persistence import tables as T
from . import plans
from .compiler import undemoted
from .plans import Page, Plan, base, child_list, labelled, ordering, unindexed

o = T.orders.c


def child_walk(plan: Plan, descending: bool, *, led: bool = False) -> Select[Any] | None:
    """The `seq`s of a child-led search in `seq` order, each once (see `child_led_page`).
    `led`: the child's list must lead even beside a selective condition on `orders` (a time
    range): the other conditions are checked on each order's row, no index of theirs used."""
    child: Select[Any] | None = None
    rest: list[ColumnElement[bool]] = []
    for where in plan.where:
        found = child_list(where) if child is None else None
        if found is not None:
            child = found
        else:
            rest.append(unindexed(where) if led else undemoted(where))
    if child is None:
        return None
    hits = child.subquery("hits")
    key = hits.c[0]
    return (
        select(key)
        .select_from(hits.join(T.orders, o.seq == key))
        .where(*rest)
        .distinct()
        .order_by(key.desc() if descending else key.asc())
    )


def child_led_page(
    conn: Connection, plan: Plan, columns: Sequence[Any], page: int, per_page: int
) -> Page | None:
    """A search selective only by a child table (channel + return status…): one statement
    walks the child's index in `seq` order and checks each order on `(sales_channel, seq)`,
    stopping at the count's cap; the total and the page's `seq`s both come from it, and the
    page's rows are then read by primary key. `seq IN (…)` instead builds the child's whole
    list (15,000 requested returns at a million orders) once for the page and once for the
    count, and PostgreSQL counts it with a merge join down the store's index (65,000 entries).
    None when the page lies past the cap (then the usual way)."""
    limit = plans.TEXT_TOTAL_CAP if plan.partial else plans.TOTAL_CAP
    offset = (page - 1) * per_page
    walk = child_walk(plan, plan.descending)
    if walk is None or offset + per_page + 1 > limit:
        return None
    seqs = conn.execute(walk.limit(limit + 1)).scalars().all()
    counted = (limit, True) if len(seqs) > limit else (len(seqs), False)
    rows = rows_by_seq(conn, columns, seqs[offset : offset + per_page + 1], plan.descending)
    return Page(rows[:per_page], len(rows) > per_page, None, counted)


def rows_by_seq(
    conn: Connection, columns: Sequence[Any], seqs: Sequence[int], descending: bool
) -> list[Any]:
    """A page's rows read by primary key, in arrival order."""
    if not seqs:
        return []
    query = base(labelled("arrival", False, False, tuple(columns)), False)
    ordered = query.where(o.seq.in_(seqs)).order_by(*ordering("arrival", descending, False))
    return list(conn.execute(ordered).all())


# A common partial text on PostgreSQL is counted (to its cap) and paged by walking the newest
# orders in `ix_orders_seq_text` (migration 0005) alone, 0.15 µs an order: 1,001 hits of
# `%main s` among 33,000 orders in 5 ms, where the trigram index took 22 ms to collect its
# 49,000 hits first. The walk is tried when the newest WALK_SAMPLE orders say the newest
# WALK_ROWS will hold the cap (rare patterns keep the trigram index), and stops at WALK_ROWS.
WALK_SAMPLE = 2_000
WALK_ROWS = 80_000
_WALK_COLUMNS = frozenset({"seq", "sales_channel", "name_norm", "ship_address_norm"})


def _common(hits_in_sample: int) -> bool:
    """Whether the sample's hits promise the cap within WALK_ROWS orders, with a margin."""
    return hits_in_sample * WALK_ROWS >= 1.2 * (plans.TEXT_TOTAL_CAP + 1) * WALK_SAMPLE


def _walkable(plan: Plan) -> bool:
    """Every condition is one the index holds (store, names, addresses)."""
    return all(
        column.key in _WALK_COLUMNS
        for condition in plan.where
        for column in iterate(condition)
        if isinstance(column, Column) and column.table is T.orders
    )


def text_walk(conn: Connection, plan: Plan) -> tuple[list[int], bool] | None:
    """The newest hits' `seq`s (at most the cap + 1) of a common partial text and whether they
    are all of them; None when the pattern is not common enough for the walk."""
    if plan.cap is not None or plan.store_caps:  # search_max_results: the plain way
        return None
    if not (plan.trigram and conn.dialect.name == "postgresql"):
        return None
    if not _walkable(plan):
        return None
    cap = plans.TEXT_TOTAL_CAP
    newest = select(func.max(o.seq)).scalar_subquery()
    where = [undemoted(w) for w in plan.where]

    def walk(rows: int) -> list[int]:
        query = (
            select(o.seq).where(o.seq > newest - rows, *where).order_by(o.seq.desc()).limit(cap + 1)
        )
        return list(conn.execute(query).scalars())

    if not _common(len(walk(WALK_SAMPLE))):
        return None
    seqs = walk(WALK_ROWS)
    if len(seqs) > cap:
        return seqs, False
    # Short of the cap: the whole result only if the walk reached the first order.
    low, high = conn.execute(select(func.min(o.seq), func.max(o.seq))).one()
    if low is None or high - WALK_ROWS >= low:
        return None
    return seqs, True


def walked_total(walked: tuple[list[int], bool]) -> tuple[int, bool]:
    seqs, whole = walked
    return (len(seqs), False) if whole else (plans.TEXT_TOTAL_CAP, True)


def walked_page(
    conn: Connection,
    columns: Sequence[Any],
    walked: tuple[list[int], bool],
    page: int,
    per_page: int,
) -> Page | None:
    """A page among the walk's hits, newest first; None past them."""
    seqs, whole = walked
    offset = (page - 1) * per_page
    if offset + per_page > len(seqs) and not whole:
        return None
    rows = rows_by_seq(conn, columns, seqs[offset : offset + per_page], True)
    return Page(rows, len(seqs) > offset + per_page, len(seqs) if whole else None)
