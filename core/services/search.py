"""The orders search of S-1…S-5: one service every door calls (CLI, JSON API, web grid).

Results are always limited to the user's stores (`user.channels`), counts and exports included;
`orders.view` is needed to search, `orders.export` to export. Bad filters, values, expressions,
page sizes and sorts raise `BadInput` naming what is wrong. The SQL lives in `core/search/`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from sqlalchemy import delete, insert, select

from ..bootstrap import Postsales
from ..domain.users import User
from ..errors import BadInput, Forbidden
from ..limits import text_problem
from ..persistence import tables as T
from ..persistence.sealing import seal_audit_filters
from ..search import columns as C
from ..search import export as E
from ..search import fields as F
from ..search import plans as P
from ..search import queue as WQ
from ..search.counting import total_of
from ..search.query import page_rows

if typing.TYPE_CHECKING:
    from ..persistence.unit_of_work import UnitOfWork
    from ..search.plans import Page

FILTERS: tuple[str, ...] = F.FILTERS
EXPRESSION_FIELDS: tuple[str, ...] = F.EXPRESSION_FIELDS
PAGE_SIZES = P.PAGE_SIZES
SORTS: tuple[str, ...] = tuple(P.SORTS)
COLUMNS = C.COLUMNS
DEFAULT_COLUMNS = C.DEFAULT_COLUMNS
EXPORT_FORMATS = E.FORMATS
TOTAL_CAP = P.TOTAL_CAP

Filters = Mapping[str, "str | list[str]"]


@attrs.frozen
class SearchResult:
    """One page of a search. `total` is exact unless `total_capped` (then a lower bound)."""

    total: int
    total_capped: bool
    page: int
    per_page: int
    orders: list[dict[str, Any]]
    next_cursor: str | None
    # Which database answered (issue 15 item 3): "replica" figures may be up to the configured
    # lag behind the primary, `lag_seconds` at the last check.
    read_from: str = "primary"
    lag_seconds: float | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def single(self) -> str | None:
        """The id of the one order found, when exactly one was (S-3: the door opens it)."""
        if self.total == 1 and not self.total_capped and len(self.orders) == 1:
            return str(self.orders[0]["id"])
        return None

    def to_dict(self) -> dict[str, Any]:
        """SPEC §11 search output; `total_capped` only when capped, `single` when one."""
        out: dict[str, Any] = {
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "orders": self.orders,
            "next_cursor": self.next_cursor,
        }
        if self.total_capped:
            out["total_capped"] = True
        if self.single:
            out["single"] = self.single
        if self.read_from == "replica":  # the API and `--json` say so, as the orders view does
            out["read_from"] = "replica"
            out["lag_seconds"] = self.lag_seconds
        return out


def _require(user: User, permission: str) -> None:
    if not user.can(permission):
        raise Forbidden(f"{user.name} may not do this (needs {permission})")


def search_orders(
    app: Postsales,
    user: User,
    filters: Filters | None = None,
    *,
    expression: dict[str, Any] | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: str | None = None,
    after: str | None = None,
) -> SearchResult:
    """A page of the orders `user` may see that match the filters (S-1) and expression (S-2),
    newest first unless `sort` says otherwise (`-created_at`, `grand_total`, …). `after` is
    the `next_cursor` of the previous page (keyset: as fast on page 5,000 as on page 1)."""
    _require(user, "orders.view")
    P.check_paging(page, per_page)
    plan = P.make_plan(app, user, filters, expression, sort)
    columns = C.needed(C.RESULT_KEYS)

    def read(uow: UnitOfWork) -> tuple[Page, tuple[int, bool]]:
        found = page_rows(uow.conn, plan, columns, page=page, per_page=per_page, after=after)
        return found, total_of(uow.conn, plan, found)

    (found, (total, capped)), uow = app.read(read)
    rows = found.rows
    read_from, lag = _read_from(app, uow)
    return SearchResult(
        read_from=read_from,
        lag_seconds=lag,
        total=total,
        total_capped=capped,
        page=page,
        per_page=per_page,
        orders=[C.result_dict(r) for r in rows],
        next_cursor=P.make_cursor(plan, rows[-1]) if found.more and rows else None,
    )


def export_orders(
    app: Postsales,
    user: User,
    filters: Filters | None = None,
    *,
    expression: dict[str, Any] | None = None,
    fmt: str = "csv",
    columns: list[str] | None = None,
    out: typing.IO[bytes],
    sort: str | None = None,
) -> int:
    """S-4: stream every matching order the user may see to `out` as CSV or SpreadsheetML
    2003 (`xml`), with the chosen columns; recorded in the audit log. Returns rows written."""
    export = export_stream(
        app, user, filters, expression=expression, fmt=fmt, columns=columns, sort=sort
    )
    try:
        for data in export:
            out.write(data)
    finally:
        export.close()  # a writer that failed (a client gone): the export is recorded now
    return export.rows


class ExportStream:
    """The bytes of one export, chunk by chunk (see `export_stream`); `rows` counts the order
    rows sent so far. Iterate it once; closing it early (a client gone) ends the read and
    records the export as aborted."""

    def __init__(
        self,
        app: Postsales,
        user: User,
        plan: P.Plan,
        keys: list[str],
        fmt: str,
        detail: dict[str, Any],
    ) -> None:
        self.media_type = E.MEDIA_TYPES[fmt]
        self.filename = f"orders.{fmt}"
        self.rows = 0
        self._app, self._user, self._plan, self._keys = app, user, plan, keys
        self._fmt, self._detail = fmt, detail
        self._chunks: typing.Generator[bytes, None, None] = self._generate()

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()

    def _generate(self) -> typing.Generator[bytes, None, None]:
        counter = [0]
        cells = C.export_cells(self._keys, _zone(self._user))
        finished = False
        try:
            with self._app.read_uow() as uow:
                chunks = E.stream_chunks(uow.conn, self._plan, self._keys)
                for data in E.encoded_chunks(chunks, self._keys, cells, self._fmt, counter):
                    self.rows = counter[0]
                    yield data
            finished = True
        finally:
            self.rows = counter[0]
            _audit_export(self._app, self._user, {**self._detail, "rows": self.rows}, finished)


def export_stream(
    app: Postsales,
    user: User,
    filters: Filters | None = None,
    *,
    expression: dict[str, Any] | None = None,
    fmt: str = "csv",
    columns: list[str] | None = None,
    sort: str | None = None,
) -> ExportStream:
    """S-4 for doors that stream a response: checks everything now (Forbidden, BadInput are
    raised here, before any byte), then returns an iterator of UTF-8 byte chunks (header, one
    chunk per 2,000 rows, footer) with `media_type`, `filename` and `rows`. Reading happens as
    it is iterated, in one read-only transaction; the audit record is written when it ends."""
    _require(user, "orders.view")
    _require(user, "orders.export")
    if fmt not in E.FORMATS:
        raise BadInput(
            f"format: must be one of {', '.join(E.FORMATS)}, got {fmt!r}", field="format"
        )
    keys = C.check_columns(columns)
    plan = P.make_plan(app, user, filters, expression, sort)
    detail = {
        "format": fmt,
        "columns": keys,
        "filters": {k: v for k, v in (filters or {}).items() if v},
        "expression": expression,
        "channels": None if user.channels is None else sorted(user.channels),
    }
    return ExportStream(app, user, plan, keys, fmt, detail)


def _audit_export(app: Postsales, user: User, detail: dict[str, Any], finished: bool) -> None:
    if not finished:
        detail["aborted"] = True
    with app.uow() as uow:
        detail = seal_audit_filters(uow.billing, detail)  # S-6: no billing words in clear
        uow.conn.execute(
            insert(T.audit_log).values(
                at=app.now(), actor=user.name, kind="orders.export", detail=detail
            )
        )
        uow.commit()


def work_queue(app: Postsales, user: User, *, page: int = 1, per_page: int = 20) -> SearchResult:
    """S-5: orders that need an agent (returns and refunds awaiting approval, refunds the
    gateway rejected, orders on hold, locked orders), newest first; each carries `reasons`."""
    _require(user, "orders.view")
    P.check_paging(page, per_page)
    plan = P.make_plan(app, user, None, None, extra=(WQ.in_queue(app.now()),))
    columns = C.needed(C.RESULT_KEYS)

    def read(uow: UnitOfWork) -> tuple[Page, tuple[int, bool], dict[int, list[str]]]:
        found = page_rows(uow.conn, plan, columns, page=page, per_page=per_page, after=None)
        return found, total_of(uow.conn, plan, found), WQ.reasons(uow.conn, found.rows)

    (found, (total, capped), why), uow = app.read(read)
    rows, more = found.rows, found.more
    read_from, lag = _read_from(app, uow)
    orders = []
    for row in rows:
        item = C.result_dict(row)
        item["reasons"] = why.get(row.seq, [])
        orders.append(item)
    return SearchResult(
        read_from=read_from,
        lag_seconds=lag,
        total=total,
        total_capped=capped,
        page=page,
        per_page=per_page,
        orders=orders,
        next_cursor=P.make_cursor(plan, rows[-1]) if more and rows else None,
    )


def exact_order_id(app: Postsales, user: User, text: str) -> str | None:
    """The id of the order whose id is exactly `text`, when `user` may see it; else None.

    The doors' "Search orders" box opens that order straight away, even when child orders
    (`-E1`, `-R1`) share its id as a prefix and a search would list them all. An order of
    another store is None, as an unknown id is (SPEC §4)."""
    _require(user, "orders.view")
    wanted = text.strip()
    if not wanted or text_problem(wanted, 64) is not None:
        return None  # no order has such an id (NUL, a lone surrogate, too long): search says why
    o = T.orders.c
    query = select(o.id).where(o.id == wanted)
    if user.channels is not None:
        query = query.where(o.sales_channel.in_(sorted(user.channels)))
    with app.uow(read_only=True) as uow:
        found = uow.conn.execute(query).scalar()
    return str(found) if found is not None else None


def _read_from(app: Postsales, uow: Any) -> tuple[str, float | None]:
    """Which database served `uow` (the replica's lag as last checked)."""
    replica = app.replica
    if replica is not None and uow.engine is replica.engine:
        return "replica", replica.state().lag_seconds
    return "primary", None


# -- per-user column choice (S-3) -------------------------------------------------------------

_COLUMNS_KEY = "grid.columns"


def grid_columns(app: Postsales, user: User) -> list[str]:
    """The grid columns this user chose, or the default ones."""
    p = T.user_preferences.c
    with app.uow(read_only=True) as uow:
        value = uow.conn.execute(
            select(p.value).where(p.user_name == user.name, p.key == _COLUMNS_KEY)
        ).scalar()
    if isinstance(value, list):
        kept = [k for k in value if k in C.COLUMNS]  # a column removed since is dropped
        if kept:
            return kept
    return list(C.DEFAULT_COLUMNS)


def set_grid_columns(app: Postsales, user: User, columns: list[str] | None) -> list[str]:
    """Remember this user's grid columns (None or empty: back to the default ones)."""
    keys = C.check_columns(columns)
    p = T.user_preferences.c
    with app.uow() as uow:
        uow.conn.execute(
            delete(T.user_preferences).where(p.user_name == user.name, p.key == _COLUMNS_KEY)
        )
        if columns:
            uow.conn.execute(
                insert(T.user_preferences).values(user_name=user.name, key=_COLUMNS_KEY, value=keys)
            )
        uow.commit()
    return keys


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "EXPORT_FORMATS",
    "EXPRESSION_FIELDS",
    "FILTERS",
    "PAGE_SIZES",
    "SORTS",
    "ExportStream",
    "SearchResult",
    "exact_order_id",
    "export_orders",
    "export_stream",
    "grid_columns",
    "search_orders",
    "set_grid_columns",
    "work_queue",
]
