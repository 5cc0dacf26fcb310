"""A search compiled (S-1, S-2, S-3): its plan, the statement skeletons it reuses, its cursors
and paging rules, and the two SQL building blocks the ways of reading a page share (a column
no index may serve on SQLite, the child rows of `seq IN (…)`)."""

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
    ColumnElement,
    Connection,
    Select,
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
from sqlalchemy.sql.visitors import InternalTraversal, replacement_traverse

from ..bootstrap import Postsales
from ..domain.users import User
from ..errors import BadInput
from ..limits import MAX_PAGE, check_depth
from ..persistence import tables as T
from ..persistence.keys import cipher_for
from . import fields as F
from . import selectivity as S
from . import text as X
from .compiler import NO_OPTS, Compiler, plain_column, several
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


ONE: ColumnElement[Any] = literal_column("1")


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


class Unindexed(ColumnElement[Any]):
    """A column of `orders` that SQLite must not take as an index for the query it is in:
    `+column` there (a unary plus is the same value, and no index serves it), the column
    itself elsewhere. The window of the newest orders (`newest_window`) walks the primary key
    backwards and checks its conditions on each row; without this, SQLite (no statistics)
    reads the whole time range off `(created_at, …)` and sorts it, the cost being avoided."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(Unindexed)
def _compile_unindexed(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(Unindexed, "sqlite")
def _compile_unindexed_sqlite(element: Unindexed, compiler: Any, **kw: Any) -> str:
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
    # The `created_at` bounds every hit lies within (compiler.Compiler.created_from/_to).
    created: tuple[datetime | None, datetime | None] = (None, None)

    @property
    def sort_column(self) -> Any:
        return SORTS[self.sort_key]

    def select(self, *columns: Any) -> Select[Any]:
        return base(columns, bool(self.fts)).where(*self.fts, *self.where)

    def order_by(self, query: Select[Any]) -> Select[Any]:
        return query.order_by(*ordering(self.sort_key, self.descending, bool(self.fts)))


# The statement skeletons a search reuses (column lists, FROM, ORDER BY) are built once: a
# cheap lookup spends as long building a 20-column SELECT as SQLite spends running it.
@functools.lru_cache(maxsize=256)
def base(columns: tuple[Any, ...], fts: bool) -> Select[Any]:
    query = select(*columns)
    if fts:
        return query.select_from(
            _CrossJoin(X.orders_fts, T.orders, T.orders.c.seq == X.orders_fts.c.rowid)
        )
    return query.select_from(T.orders)  # `SELECT 1` alone would have no FROM


@functools.lru_cache(maxsize=64)
def ordering(sort_key: str, descending: bool, fts: bool) -> tuple[Any, ...]:
    seq = X.orders_fts.c.rowid if fts else o.seq
    keys = [SORTS[sort_key]] if sort_key != "arrival" else []
    keys.append(seq)
    return tuple(k.desc() if descending else k.asc() for k in keys)


@functools.lru_cache(maxsize=64)
def labelled(key: str, fts: bool, two_steps: bool, columns: tuple[Any, ...]) -> tuple[Any, ...]:
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
        out += several(text) if field.several else ([text] if text.strip() else [])
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
    comp = Compiler(
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


def _store_caps(plan: Plan, comp: Compiler, caps: dict[str, int]) -> Plan:
    """The plan with each capped store limited to its first `cap` orders in the search's order:
    `store NOT IN (capped) OR seq IN (first cap of store A) OR seq IN (… of store B)`."""
    terms: list[ColumnElement[bool]] = [comp.col(o.sales_channel).not_in(sorted(caps))]
    checks = []
    for store, cap in sorted(caps.items()):
        # correlate(None): the subquery reads `orders` (and `orders_fts`) afresh, rather than
        # the enclosing query's row.
        own = plan.select(o.seq).where(o.sales_channel == store).correlate(None)
        terms.append(o.seq.in_(plan.order_by(own).limit(cap)))
        checks.append((cap, own.with_only_columns(ONE).limit(cap + 1)))
    return attrs.evolve(plan, where=(*plan.where, or_(*terms)), store_caps=tuple(checks))


def cut_by_store_cap(conn: Connection, plan: Plan) -> bool:
    """Whether a capped store held more orders than its `search_max_results` (reported as
    `total_capped`)."""
    for cap, query in plan.store_caps:
        if conn.execute(select(func.count()).select_from(query.subquery())).scalar_one() > cap:
            return True
    return False


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


def read_cursor(plan: Plan, cursor: str) -> tuple[Any, int]:
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
    value, seq = read_cursor(plan, cursor)
    key, descending = plan.sort_key, plan.descending
    seq_col = X.orders_fts.c.rowid if plan.fts else o.seq
    if key == "arrival":
        return seq_col < seq if descending else seq_col > seq
    pair, last = tuple_(plan.sort_column, seq_col), tuple_(literal(value), literal(seq))
    return pair < last if descending else pair > last


def child_list(where: ColumnElement[bool]) -> Select[Any] | None:
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


def _plain(element: Any, **_: Any) -> Any:
    """For replacement_traverse: a column of `orders` (the store's `|| ''` included) as a
    plain value, that no index serves on SQLite (`Unindexed`)."""
    column = plain_column(element)
    if column is None:
        column = element
    if getattr(column, "table", None) is T.orders:
        return Unindexed(column)
    return None


def unindexed(where: ColumnElement[bool]) -> Any:
    return replacement_traverse(where, NO_OPTS, _plain)


class Page(typing.NamedTuple):
    """One page of rows; `known_total` is the exact total when the page showed the end of
    the result (then no count is needed: a lookup by id or email is one statement)."""

    rows: Sequence[Any]
    more: bool
    known_total: int | None
    counted: tuple[int, bool] | None = None  # (total, capped), when counted before the page


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
