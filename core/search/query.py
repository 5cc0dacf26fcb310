"""One search as SQL: store scope, filters, expression, order, pages, capped totals.

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

import base64
import functools
import json
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import Join, ScalarSelect
from sqlalchemy.sql.visitors import InternalTraversal, iterate, replacement_traverse

from ..bootstrap import Postsales
from ..domain.users import User
from ..errors import BadInput
from ..limits import MAX_PAGE, check_depth
from ..persistence import tables as T
from ..persistence.keys import cipher_for
from . import fields as F
from . import selectivity as S
from . import text as X
from .expressions import compile_expression

o = T.orders.c

PAGE_SIZES = (10, 20, 50, 100)
TOTAL_CAP = 10_000
# Totals stop sooner when each hit costs an order-row read to count: partial text (FTS5
# reads the order row, pg_trgm rechecks the heap), child-table filters (return status, SKU…)
# and billing words, where the store is checked on the order row. 10,000 such reads cost
# 70 to 170 ms at a million orders; 1,000 cost under 20 ms (bench/search.py).
TEXT_TOTAL_CAP = 1_000
SORTS: dict[str, Any] = {
    "arrival": o.seq,
    "id": o.id,
    "created_at": o.created_at,
    "origin_date": o.origin_date,
    "sales_channel": o.sales_channel,
    "status": o.status,
    "grand_total": o.grand_total_minor,
    "name": o.name_norm,
}
DEFAULT_SORT = "-arrival"


_ONE: ColumnElement[Any] = literal_column("1")
_APART_DESC = (T.orders.c.seq + literal_column("0")).desc()
_APART_ASC = (T.orders.c.seq + literal_column("0")).asc()


class _CrossJoin(Join):
    """`orders_fts CROSS JOIN orders` on SQLite: the FTS5 table is always the outer loop, so a
    partial-name search reads hits in rowid order and stops after one page (a plain JOIN lets
    the planner run the FTS query once per order of the store: 400 ms at 20,000 orders)."""

    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _cross_join(element: _CrossJoin, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(element.left, **kw)
    right = compiler.process(element.right, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


class _Unindexed(ColumnElement[Any]):
    """A column of `orders` that SQLite must not take as an index for the query it is in:
    `+column` there (a unary plus is the same value, and no index serves it), the column
    itself elsewhere. The window of the newest orders (`_newest_window`) walks the primary key
    backwards and checks its conditions on each row; without this, SQLite (no statistics)
    reads the whole time range off `(created_at, …)` and sorts it, the cost being avoided."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(_Unindexed)
def _compile_unindexed(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_Unindexed, "sqlite")
def _compile_unindexed_sqlite(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))


@attrs.frozen
class Plan:
    """A compiled search: WHERE terms on `orders`, FTS5 terms to join (SQLite), the cap."""

    where: tuple[ColumnElement[bool], ...]
    fts: tuple[ColumnElement[bool], ...]
    cap: int | None
    sort_key: str
    descending: bool
    partial: bool = False
    dated: bool = False
    plain_count: bool = False  # count with the store indexable (fields.by_seq)
    trigram: tuple[ColumnElement[bool], ...] = ()  # PostgreSQL partial text (fields._text)
    child_led: bool = False  # only `seq IN (child rows)` lists are selective (fields.by_seq)
    # `search_max_results` of stores searched beside others (`_store_caps`): per capped store,
    # its cap and the statement that reads up to one more of its orders than the cap, to tell
    # whether the cap cut the result.
    store_caps: tuple[tuple[int, Select[Any]], ...] = ()
    # The `created_at` bounds every hit lies within (fields.Compiler.created_from/_to).
    created: tuple[datetime | None, datetime | None] = (None, None)

    @property
    def sort_column(self) -> Any:
        return SORTS[self.sort_key]

    def select(self, *columns: Any) -> Select[Any]:
        return _base(columns, bool(self.fts)).where(*self.fts, *self.where)

    def order_by(self, query: Select[Any]) -> Select[Any]:
        return query.order_by(*_ordering(self.sort_key, self.descending, bool(self.fts)))


# The statement skeletons a search reuses (column lists, FROM, ORDER BY) are built once: a
# cheap lookup spends as long building a 20-column SELECT as SQLite spends running it.
@functools.lru_cache(maxsize=256)
def _base(columns: tuple[Any, ...], fts: bool) -> Select[Any]:
    query = select(*columns)
    if fts:
        return query.select_from(
            _CrossJoin(X.orders_fts, T.orders, T.orders.c.seq == X.orders_fts.c.rowid)
        )
    return query.select_from(T.orders)  # `SELECT 1` alone would have no FROM


@functools.lru_cache(maxsize=64)
def _ordering(sort_key: str, descending: bool, fts: bool) -> tuple[Any, ...]:
    seq = X.orders_fts.c.rowid if fts else o.seq
    keys = [SORTS[sort_key]] if sort_key != "arrival" else []
    keys.append(seq)
    return tuple(k.desc() if descending else k.asc() for k in keys)


@functools.lru_cache(maxsize=64)
def _labelled(key: str, fts: bool, two_steps: bool, columns: tuple[Any, ...]) -> tuple[Any, ...]:
    """The columns of a page query: `seq` first, then the order's columns (none when the page
    is read in two steps), then the sort value its cursor needs."""
    seq_col = X.orders_fts.c.rowid if fts else o.seq
    keys = [seq_col.label("seq")]
    if not two_steps:
        keys += [c for c in columns if c.key != "seq"]
    if key != "arrival":
        keys.append(SORTS[key].label("sort_value"))
    return tuple(keys)


def _values(name: str, raw: str | list[str]) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    field = F.FIELDS[name]
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        text = str(item)
        out += F.several(text) if field.several else ([text] if text.strip() else [])
    if len(out) > 1 and not field.several:
        raise BadInput(f"{name}: takes one value, got {len(out)}", field=name)
    return out


def sort_of(sort: str | None) -> tuple[str, bool]:
    text = (sort or DEFAULT_SORT).strip()
    descending = text.startswith("-")
    key = text.lstrip("-+")
    if key == "seq":
        key = "arrival"
    if key not in SORTS:
        raise BadInput(
            f"sort: unknown sort {key!r}; one of {', '.join(SORTS)} (prefix - for descending)",
            field="sort",
        )
    return key, descending


def make_plan(
    app: Postsales,
    user: User,
    filters: Mapping[str, str | list[str]] | None,
    expression: dict[str, Any] | None,
    sort: str | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> Plan:
    """Compile filters (S-1) and an expression (S-2) for `user`, always within their stores;
    `extra` conditions are ANDed in (the work queue's) before `search_max_results` applies."""
    check_depth("expression", expression)  # before anything below recurses into it
    configured = app.settings.sales_channels
    visible = None if user.channels is None else sorted(user.channels)
    comp = F.Compiler(
        dialect=app.engine.dialect.name,
        timezone=user.timezone,
        channels=list(configured),
        markets=sorted({ch.market.upper() for ch in configured.values() if ch.market}),
        visible=visible,
        regions=sorted(
            {
                ch.market.upper()
                for cid, ch in configured.items()
                if ch.market and (visible is None or cid in visible)
            }
        ),
        demote=S.is_selective(filters, expression),
        by_time=S.by_time(filters, expression),
        text_pg=app.engine.dialect.name == "postgresql" and S.text_search(filters),
        billing=lambda: cipher_for(app.engine),
    )
    where: list[ColumnElement[bool]] = []
    chosen = (filters or {}).get("sales_channel")
    stores = set(F.channel_values(comp, _values("sales_channel", chosen))) if chosen else set()
    narrower = bool(stores) and user.channels is not None and stores <= set(user.channels)
    if user.channels is not None and not narrower:  # a store filter within scope is the scope
        visible = sorted(user.channels)
        column = comp.col(o.sales_channel)
        if len(visible) == 1:  # `=` needs no per-call expansion of an IN list
            where.append(column == visible[0])
        else:
            where.append(column.in_(visible) if visible else false())
    for name, raw in (filters or {}).items():
        if name not in F.FIELDS or name not in F.FILTERS:
            raise BadInput(
                f"unknown filter {name!r}; known filters: {', '.join(F.FILTERS)}", field=name
            )
        values = _values(name, raw)
        if not values:
            continue
        field = F.FIELDS[name]
        op = field.filter_op if len(values) == 1 or field.filter_op != "eq" else "in"
        if op == "eq" and len(values) > 1:
            op = "in"
        cond = F.condition(comp, name, op, values, top=True)
        if cond is not None:
            where.append(cond)
    if expression is not None:
        if not isinstance(expression, dict):
            raise BadInput("expression: expected a JSON object", field="expression")
        cond = compile_expression(expression, comp)
        if cond is not None:
            where.append(cond)
    where += extra
    key, descending = sort_of(sort)
    cap, capped_stores = _caps(app, user, stores or None)
    child_led = S.by_seq(filters, expression)
    plain_count = comp.sqlite and comp.demote and child_led
    plan = Plan(
        tuple(where),
        tuple(comp.fts),
        cap,
        key,
        descending,
        comp.partial,
        comp.dated,
        plain_count,
        tuple(comp.trigram),
        child_led,
        created=(comp.created_from, comp.created_to),
    )
    return _store_caps(plan, comp, capped_stores) if capped_stores else plan


def _caps(app: Postsales, user: User, chosen: set[str] | None) -> tuple[int | None, dict[str, int]]:
    """`search_max_results` (S-3) caps the orders of its own store only. A search of one
    store takes its cap as the plan's (pages and exports stop there); a search of several
    gets the capped stores to cap one by one (`_store_caps`)."""
    channels = app.settings.sales_channels
    scope: set[str] | None = None if user.channels is None else set(user.channels)
    if chosen is not None:
        scope = chosen if scope is None else scope & chosen
    wanted = set(channels) if scope is None else scope & set(channels)
    caps = {c: cap for c in wanted if (cap := channels[c].postsales.search_max_results) is not None}
    if scope is not None and len(scope) == 1 and caps:
        return next(iter(caps.values())), {}
    return None, caps


def _store_caps(plan: Plan, comp: F.Compiler, caps: dict[str, int]) -> Plan:
    """The plan with each capped store limited to its first `cap` orders in the search's order:
    `store NOT IN (capped) OR seq IN (first cap of store A) OR seq IN (… of store B)`."""
    terms: list[ColumnElement[bool]] = [comp.col(o.sales_channel).not_in(sorted(caps))]
    checks = []
    for store, cap in sorted(caps.items()):
        # correlate(None): the subquery reads `orders` (and `orders_fts`) afresh, rather than
        # the enclosing query's row.
        own = plan.select(o.seq).where(o.sales_channel == store).correlate(None)
        terms.append(o.seq.in_(plan.order_by(own).limit(cap)))
        checks.append((cap, own.with_only_columns(_ONE).limit(cap + 1)))
    return attrs.evolve(plan, where=(*plan.where, or_(*terms)), store_caps=tuple(checks))


def cut_by_store_cap(conn: Connection, plan: Plan) -> bool:
    """Whether a capped store held more orders than its `search_max_results` (reported as
    `total_capped`)."""
    for cap, query in plan.store_caps:
        if conn.execute(select(func.count()).select_from(query.subquery())).scalar_one() > cap:
            return True
    return False


# -- totals ---------------------------------------------------------------------------------------


def count(
    conn: Connection, plan: Plan, limit: int | None = None, *, walk: bool = True
) -> tuple[int, bool]:
    """(total, capped): counts at most `limit` + 1 rows, whatever the size of the result.
    `walk=False`: the caller found the text walk (`_walk_seqs`) does not apply."""
    if limit is None:
        limit = TEXT_TOTAL_CAP if plan.partial else TOTAL_CAP
    if plan.cap is not None and plan.cap <= limit:
        limit = plan.cap  # search_max_results of the one store searched
    if walk and limit == TEXT_TOTAL_CAP and (walked := _walk_seqs(conn, plan)):
        return _walked_total(walked)
    if plan.dated and plan.cap is None and not plan.store_caps and not plan.fts:
        listed = _dated_list_count(conn, plan, limit)
        if listed is not None:
            return listed
    found, capped = _count(conn, plan, limit)
    return found, capped or cut_by_store_cap(conn, plan)


# A time range with a child-table list (return status…) is counted one of two ways on SQLite:
# a range of up to LIST_RANGE_ROWS orders by the list's rows above a `seq` the range is shown
# to lie above (`_range_above`), or else off the time index, each order's `seq` looked up in
# the list (0.3 us an order); a wider one by the list, newest first, each order's row
# checked (3 us a child row), stopping at the cap, which a wide range reaches early. SQLite
# (no statistics) always took the list, oldest first: 15,000 requested returns at a million
# orders, 47 ms to count the 139 of the last 7 days (6.2 above the shown `seq`), 80 ms for
# the 726 of 30 days (15), 72 ms for the 1,000+ of 90 days (3.0 by the list newest first).
LIST_RANGE_ROWS = 150_000


def _dated_list_count(conn: Connection, plan: Plan, limit: int) -> tuple[int, bool] | None:
    walk = _walk(plan, True, led=True)
    if walk is None:
        return None
    # PostgreSQL hashes the list and reads the range's rows for `seq` (its time indexes do not
    # hold it): at a million orders (load 3.3) as cheap as the list newest first for 7 days
    # (18.9 against 19.3 ms), far dearer for 30 (129 against 77) and 90 (92 against 9).
    orders, top = _range_orders(conn, plan) if conn.dialect.name == "sqlite" else (0.0, 0)
    if conn.dialect.name == "sqlite" and orders <= LIST_RANGE_ROWS:
        split = _range_above(conn, plan, top, orders)
        if split is not None:  # the list's rows of those orders only, each looked up by key
            where = [_in_window(w, split, None) for w in plan.where]
            walk = _base((_ONE,), False).where(o.seq > split, *where)
        else:
            where = [
                _Unindexed(o.seq).in_(child) if (child := _child_list(w)) is not None else w
                for w in plan.where
            ]
            walk = _base((_ONE,), False).where(*where)
    inner = walk.limit(limit + 1).subquery()
    found = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    return (limit, True) if found > limit else (int(found), False)


def _range_orders(conn: Connection, plan: Plan) -> tuple[float, int]:
    """About how many orders the plan's `created_at` range holds, at the rate of the newest
    orders (a guess, to choose how to count; never needed for the count to be right), and
    the newest `seq`."""
    since, until = plan.created
    ends = _window(conn, None)
    if ends is None:
        return 0.0, 0
    top, newest, oldest = ends
    if since is None:
        return float("inf"), top
    span = (newest - oldest).total_seconds()
    end = newest if until is None or until > newest else until
    seconds = (end - since).total_seconds()
    return (max(0.0, seconds) * WINDOW_ROWS / span if span > 0 else float("inf")), top


def _range_above(conn: Connection, plan: Plan, top: int, orders: float) -> int | None:
    """A `seq` that every order of the plan's time range lies above, or None: guessed from the
    range's size below the newest order (with a margin), then checked off the time index (no
    order of the range at or below it; a range that holds none scans its own entries only).
    Then the child list is read above it only: the 330 requested returns of 7 days instead of
    all 15,000."""
    since, until = plan.created
    if since is None or until is None:
        return None
    split = top - int(orders * 1.25) - WINDOW_ROWS
    if split <= 0:
        return None
    # The plan's bounds hold every order it finds (fields._bound); `seq` must not choose the
    # index (the primary key would walk every older order). SQLite only: its time index holds
    # the `seq` (the rowid).
    older = select(_ONE).where(
        o.created_at >= since, o.created_at <= until, _Unindexed(o.seq) <= split
    )
    return None if conn.execute(older.limit(1)).first() else split


def _count(conn: Connection, plan: Plan, limit: int) -> tuple[int, bool]:
    query = plan.select(_ONE)
    walk = _walk(plan, True) if plan.child_led else None
    if walk is not None:  # one walk of the child's index, stopping at the cap
        query = walk
    elif plan.plain_count:
        where = (F.undemoted(w) for w in plan.where)
        query = _base((_ONE,), bool(plan.fts)).where(*plan.fts, *where)
    inner = query.limit(limit + 1).subquery()
    found = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    if found > limit:  # past the count's threshold, or past the store's search_max_results
        return limit, True
    return int(found), False


# -- cursors --------------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    return value


def make_cursor(plan: Plan, row: Any) -> str:
    data = [plan.sort_key, plan.descending, row.seq]
    if plan.sort_key != "arrival":
        data.append(_encode(getattr(row, "sort_value", None)))
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(plan: Plan, cursor: str) -> tuple[Any, int]:
    """(sort value, seq) of the last row of the page before, from a cursor of this search."""
    bad = BadInput("after: not a cursor from this search (take next_cursor as is)", field="after")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, descending, seq = data[0], data[1], int(data[2])
        value = _decode(data[3]) if len(data) > 3 else None
    except (ValueError, TypeError, IndexError, KeyError):
        raise bad from None
    if key != plan.sort_key or descending != plan.descending:
        raise bad
    return value, seq


def after_condition(plan: Plan, cursor: str) -> ColumnElement[bool]:
    value, seq = _read_cursor(plan, cursor)
    key, descending = plan.sort_key, plan.descending
    seq_col = X.orders_fts.c.rowid if plan.fts else o.seq
    if key == "arrival":
        return seq_col < seq if descending else seq_col > seq
    pair, last = tuple_(plan.sort_column, seq_col), tuple_(literal(value), literal(seq))
    return pair < last if descending else pair > last


# Orders of the store read newest first, at most, to find a trigram search's page (1.3 us
# each on PostgreSQL): enough when one order in 240 matches, and a search is only tried this
# way when its capped count says it has 1,000 hits or more.
PROBE_ROWS = 5_000


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
    page from the newest orders of the store, filtered (`_probe`): the bitmap would fetch and
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
        walked = _walk_seqs(conn, plan)
        if walked is None:
            counted = count(conn, plan, walk=False)
        else:
            counted = _walked_total(walked)
            if not after and plan.descending:
                found = _walked_page(conn, columns, walked, page, per_page)
                if found is not None:
                    return found._replace(counted=counted)
        found = _probe(conn, plan, columns, page, per_page, after) if counted[1] else None
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
        found = _child_led(conn, plan, columns, page, per_page)
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
        found = _newest_window(conn, plan, columns, page, per_page, after)
        if found is not None:
            return found
    return _page_rows(conn, plan, columns, page=page, per_page=per_page, after=after)


def _child_list(where: ColumnElement[bool]) -> Select[Any] | None:
    """The child rows' SELECT of `orders.seq IN (SELECT order_seq FROM child …)`."""
    if (
        isinstance(where, BinaryExpression)
        and where.left is o.seq
        and where.operator is operators.in_op
        and isinstance(where.right, ScalarSelect)
        and isinstance(where.right.element, Select)
    ):
        return where.right.element
    return None


def _walk(plan: Plan, descending: bool, *, led: bool = False) -> Select[Any] | None:
    """The `seq`s of a child-led search in `seq` order, each once (see `_child_led`).
    `led`: the child's list must lead even beside a selective condition on `orders` (a time
    range): the other conditions are checked on each order's row, no index of theirs used."""
    child: Select[Any] | None = None
    rest: list[ColumnElement[bool]] = []
    for where in plan.where:
        found = _child_list(where) if child is None else None
        if found is not None:
            child = found
        else:
            rest.append(_unindexed(where) if led else F.undemoted(where))
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


def _child_led(
    conn: Connection, plan: Plan, columns: Sequence[Any], page: int, per_page: int
) -> Page | None:
    """A search selective only by a child table (channel + return status…): one statement
    walks the child's index in `seq` order and checks each order on `(sales_channel, seq)`,
    stopping at the count's cap; the total and the page's `seq`s both come from it, and the
    page's rows are then read by primary key. `seq IN (…)` instead builds the child's whole
    list (15,000 requested returns at a million orders) once for the page and once for the
    count, and PostgreSQL counts it with a merge join down the store's index (65,000 entries).
    None when the page lies past the cap (then the usual way)."""
    limit = TEXT_TOTAL_CAP if plan.partial else TOTAL_CAP
    offset = (page - 1) * per_page
    walk = _walk(plan, plan.descending)
    if walk is None or offset + per_page + 1 > limit:
        return None
    seqs = conn.execute(walk.limit(limit + 1)).scalars().all()
    counted = (limit, True) if len(seqs) > limit else (len(seqs), False)
    rows = _rows_by_seq(conn, columns, seqs[offset : offset + per_page + 1], plan.descending)
    return Page(rows[:per_page], len(rows) > per_page, None, counted)


def _rows_by_seq(
    conn: Connection, columns: Sequence[Any], seqs: Sequence[int], descending: bool
) -> list[Any]:
    """A page's rows read by primary key, in arrival order."""
    if not seqs:
        return []
    query = _base(_labelled("arrival", False, False, tuple(columns)), False)
    ordered = query.where(o.seq.in_(seqs)).order_by(*_ordering("arrival", descending, False))
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
    return hits_in_sample * WALK_ROWS >= 1.2 * (TEXT_TOTAL_CAP + 1) * WALK_SAMPLE


def _walkable(plan: Plan) -> bool:
    """Every condition is one the index holds (store, names, addresses)."""
    return all(
        column.key in _WALK_COLUMNS
        for condition in plan.where
        for column in iterate(condition)
        if isinstance(column, Column) and column.table is T.orders
    )


def _walk_seqs(conn: Connection, plan: Plan) -> tuple[list[int], bool] | None:
    """The newest hits' `seq`s (at most the cap + 1) of a common partial text and whether they
    are all of them; None when the pattern is not common enough for the walk."""
    if plan.cap is not None or plan.store_caps:  # search_max_results: the plain way
        return None
    if not (plan.trigram and conn.dialect.name == "postgresql"):
        return None
    if not _walkable(plan):
        return None
    cap = TEXT_TOTAL_CAP
    newest = select(func.max(o.seq)).scalar_subquery()
    where = [F.undemoted(w) for w in plan.where]

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


def _walked_total(walked: tuple[list[int], bool]) -> tuple[int, bool]:
    seqs, whole = walked
    return (len(seqs), False) if whole else (TEXT_TOTAL_CAP, True)


def _walked_page(
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
    rows = _rows_by_seq(conn, columns, seqs[offset : offset + per_page], True)
    return Page(rows, len(seqs) > offset + per_page, len(seqs) if whole else None)


def _probe(
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
    limit = per_page + 1
    if offset + limit > 2 * PAGE_SIZES[-1] + 1:
        return None
    skip = {id(c) for c in plan.trigram}
    # The store's own index again (`(sales_channel, seq)`): a small store's newest orders
    # are not among the newest of all.
    where = [F.undemoted(w) for w in plan.where if id(w) not in skip]
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
            F.NO_OPTS,
            lambda element, **_: (
                w[element.key] if getattr(element, "table", None) is T.orders else None
            ),
        )

    query = (
        select(w.seq.label("seq"), *(w[c.key] for c in columns if c.key != "seq"))
        .where(*(adapt(c) for c in plan.trigram))
        .order_by(w.seq.desc() if plan.descending else w.seq.asc())
        .limit(limit)
        .offset(offset or None)
    )
    found = conn.execute(query).all()
    if len(found) < limit:
        return None
    return Page(found[:per_page], True, None)


# A time range's page is first looked for among the newest WINDOW_ROWS orders (by `seq`,
# below the cursor on later pages): agents search recent weeks, and there the page is the
# first few dozen orders of the window. Read through the time index, a wide range is every
# one of its orders sorted by arrival to keep 21 (261 ms for 180 days at a million orders).
WINDOW_ROWS = 5_000


def _newest_window(
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
    limit = per_page + 1
    if offset + limit > WINDOW_ROWS:
        return None
    below = _read_cursor(plan, after)[1] if after else None
    ends = _window(conn, below)
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
    where = [_in_window(w, low, below) for w in plan.where]
    query = (
        _base(_labelled("arrival", False, False, tuple(columns)), False)
        .where(*bounds, *where)
        .order_by(o.seq.desc())
        .limit(limit)
        .offset(offset or None)
    )
    found = conn.execute(query).all()
    if len(found) < limit:
        return None
    return Page(found[:per_page], True, None)


# The window's ends, built once (building them cost as much as running them: 0.1 ms).
_NEWEST = select(o.seq, o.created_at).order_by(o.seq.desc()).limit(1)
_NEWEST_BELOW = _NEWEST.where(o.seq < bindparam("below"))
_OLDEST = select(o.created_at).where(o.seq > bindparam("low")).order_by(o.seq.asc()).limit(1)


def _window(conn: Connection, below: int | None) -> tuple[int, datetime, datetime] | None:
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


def _plain(element: Any, **_: Any) -> Any:
    """For replacement_traverse: a column of `orders` (the store's `|| ''` included) as a
    plain value, that no index serves on SQLite (`_Unindexed`)."""
    column = F.plain_column(element)
    if column is None:
        column = element
    if getattr(column, "table", None) is T.orders:
        return _Unindexed(column)
    return None


def _unindexed(where: ColumnElement[bool]) -> Any:
    return replacement_traverse(where, F.NO_OPTS, _plain)


def _in_window(where: ColumnElement[bool], low: int, below: int | None) -> Any:
    """One condition of `_newest_window`, its columns plain values. A child-table list
    (`seq IN (SELECT order_seq FROM returns …)`) is read within the window's `seq`s only, off
    the child's `(status, order_seq)` index: the whole list (15,000 requested returns at a
    million orders) cost 4 to 8 ms to gather for a page of 21."""
    child = _child_list(where)
    if child is not None and child._limit_clause is None:
        key = child.selected_columns[0]
        within = child.where(key > low) if below is None else child.where(key > low, key < below)
        return o.seq.in_(within)
    return _unindexed(where)


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
    query = plan.select(*_labelled(plan.sort_key, bool(plan.fts), two_steps, tuple(columns)))
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
            _base(_labelled(plan.sort_key, False, False, tuple(columns)), False)
            .where(o.seq.in_(select(chosen.c.seq)))
            .order_by(*_ordering(plan.sort_key, plan.descending, False))
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


class Page(typing.NamedTuple):
    """One page of rows; `known_total` is the exact total when the page showed the end of
    the result (then no count is needed: a lookup by id or email is one statement)."""

    rows: Sequence[Any]
    more: bool
    known_total: int | None
    counted: tuple[int, bool] | None = None  # (total, capped), when counted before the page


def total_of(conn: Connection, plan: Plan, page: Page) -> tuple[int, bool]:
    """(total, capped) for a search whose page is `page`: from the page when it shows the end
    of the result, else counted (capped)."""
    if page.known_total is not None:
        return page.known_total, cut_by_store_cap(conn, plan)
    if page.counted is not None:
        return page.counted
    return count(conn, plan)


def plan_capped(plan: Plan, query: Select[Any]) -> Select[Any]:
    """Keyset pages within `search_max_results`: only rows among the first `cap` of the order."""
    first = plan.order_by(plan.select(o.seq)).limit(plan.cap).subquery()
    return query.where(o.seq.in_(select(first.c.seq)))


def check_paging(page: int, per_page: int) -> None:
    if per_page not in PAGE_SIZES:
        sizes = ", ".join(map(str, PAGE_SIZES))
        raise BadInput(f"per_page: must be one of {sizes}, got {per_page}", field="per_page")
    if page < 1:
        raise BadInput(f"page: must be 1 or more, got {page}", field="page")
    if page > MAX_PAGE:  # OFFSET is a 64-bit integer; deeper pages go by cursor (`after`)
        raise BadInput(
            f"page: at most {MAX_PAGE}, got {page}; use next_cursor (after) to go deeper",
            field="page",
        )
