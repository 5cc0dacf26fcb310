"""The grid's columns (S-3) and the values a search returns for each order.

The default columns are those of 001: ID, purchase point (store), purchase date, bill to, ship
to, status, grand total; the others are there to choose (remembered per user) and to export.
Times in search results are UTC ISO-8601 (as in the order document); exports write them in the
user's zone, with the offset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import ColumnElement, DateTime, String, type_coerce

from ..money import exponent
from ..persistence import tables as T
from ..persistence.tables import UTCDateTime

o = T.orders.c


def _customer(r: Any) -> str:
    return f"{r.customer_first_name} {r.customer_last_name}".strip()


def _amount(r: Any) -> str:
    """Minor units as JSON money ("45.00"), without a Decimal round trip (hot in exports)."""
    digits = exponent(r.currency)
    minor = r.grand_total_minor
    if not digits:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


@attrs.frozen
class GridColumn:
    key: str
    label: str
    needs: tuple[ColumnElement[Any], ...]
    value: Callable[[Any], Any]
    is_time: bool = False


COLUMNS: dict[str, GridColumn] = {
    c.key: c
    for c in (
        GridColumn("id", "ID", (o.id,), lambda r: r.id),
        GridColumn(
            "sales_channel", "Purchase point", (o.sales_channel,), lambda r: r.sales_channel
        ),
        GridColumn("origin_date", "Purchase date", (o.origin_date,), lambda r: r.origin_date, True),
        GridColumn("bill_to", "Bill to", (o.bill_to_name,), lambda r: r.bill_to_name),
        GridColumn("ship_to", "Ship to", (o.ship_to_name,), lambda r: r.ship_to_name),
        GridColumn("status", "Status", (o.status,), lambda r: r.status),
        GridColumn("grand_total", "Grand total", (o.grand_total_minor, o.currency), _amount),
        GridColumn("created_at", "Created at", (o.created_at,), lambda r: r.created_at, True),
        GridColumn("currency", "Currency", (o.currency,), lambda r: r.currency),
        GridColumn("market", "Market", (o.market,), lambda r: r.market),
        GridColumn("order_type", "Order type", (o.order_type,), lambda r: r.order_type),
        GridColumn(
            "customer_name",
            "Customer",
            (o.customer_first_name, o.customer_last_name),
            _customer,
        ),
        GridColumn("email", "Email", (o.customer_email,), lambda r: r.customer_email),
        GridColumn("telephone", "Telephone", (o.customer_phone,), lambda r: r.customer_phone),
        GridColumn("customer_type", "Customer type", (o.customer_type,), lambda r: r.customer_type),
        GridColumn(
            "client_order_reference",
            "Client order reference",
            (o.client_order_reference,),
            lambda r: r.client_order_reference,
        ),
        GridColumn("zip", "Zip", (o.ship_zip,), lambda r: r.ship_zip),
        GridColumn("locked_by", "Locked by", (o.lock_holder,), lambda r: r.lock_holder),
    )
}

DEFAULT_COLUMNS: tuple[str, ...] = (
    "id",
    "sales_channel",
    "origin_date",
    "bill_to",
    "ship_to",
    "status",
    "grand_total",
)
# Every search result carries these (SPEC §11 names them; the rest are extensions).
RESULT_KEYS: tuple[str, ...] = (
    "id",
    "sales_channel",
    "created_at",
    "origin_date",
    "bill_to",
    "ship_to",
    "status",
    "grand_total",
    "currency",
    "market",
    "order_type",
    "customer_name",
    "email",
    "customer_type",
    "telephone",
    "client_order_reference",
    "zip",
    "locked_by",
)


def check_columns(keys: Sequence[str] | None) -> list[str]:
    from ..errors import BadInput

    if not keys:
        return list(DEFAULT_COLUMNS)
    unknown = [k for k in keys if k not in COLUMNS]
    if unknown:
        raise BadInput(
            f"columns: unknown column {unknown[0]!r}; known columns: {', '.join(COLUMNS)}",
            field="columns",
        )
    return list(dict.fromkeys(keys))


def needed(keys: Sequence[str]) -> list[ColumnElement[Any]]:
    """The `orders` columns to select for these grid columns (and `seq`, always)."""
    out: dict[str, ColumnElement[Any]] = {"seq": o.seq}
    for key in keys:
        for column in COLUMNS[key].needs:
            out.setdefault(str(column.key), column)
    return list(out.values())


def _result_function() -> Callable[[Any], dict[str, Any]]:
    """`result_dict`, generated like `export_cells`: one dict display per row, no loop over
    column kinds (a page of 20 rows is built in a fraction of the query's time). The source
    holds only column names from `COLUMNS`, never a value from a user."""
    parts = []
    for key in RESULT_KEYS:
        column = COLUMNS[key]
        if key == "grand_total":
            value = "amount(r)"
        elif key == "customer_name":
            value = "customer(r)"
        elif column.is_time:
            value = f"iso(r.{column.needs[0].key})"
        else:
            value = f"r.{column.needs[0].key}"
        parts.append(f"{key!r}: {value}")
    source = f"lambda r: {{{', '.join(parts)}}}"

    def iso(value: Any) -> Any:
        return None if value is None else value.isoformat()

    namespace = {"amount": _amount, "customer": _customer, "iso": iso}
    return eval(source, namespace)


result_dict: Callable[[Any], dict[str, Any]] = _result_function()
result_dict.__doc__ = "One order of a search result (SPEC §11): JSON-ready, times in UTC."


def export_columns(keys: Sequence[str], dialect: str) -> list[Any]:
    """The columns an export selects, in order, read raw (no per-value type processing:
    times come as the driver gives them and are converted in `export_cells`)."""
    out: list[Any] = []
    for key in keys:
        for column in COLUMNS[key].needs:
            if isinstance(column.type, UTCDateTime):
                raw = type_coerce(column, String() if dialect == "sqlite" else DateTime())
                column = raw.label(column.key)
            out.append(column)
    return out


# OWASP's CSV injection guidance: a cell starting with one of these is read by spreadsheets as
# a formula (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`, `@SUM(…)`); a single quote before it makes
# it text. Only text from orders and customers is neutralised: amounts and times are written by
# `export_cells` itself, so a negative grand total stays a number.
FORMULA_STARTS = frozenset("=+-@\t\r")


def export_cells(keys: Sequence[str], zone: ZoneInfo) -> Callable[[Any], list[str]]:
    """A row -> cells function for `export_columns` rows: times in the user's zone with the
    offset, money with the currency's decimals, names joined, and text that a spreadsheet would
    take for a formula neutralised (`FORMULA_STARTS`), in CSV and SpreadsheetML alike.

    Exports stream up to millions of rows, so the function is generated for the chosen
    columns: one list display, no loop over column kinds per row (3x faster than a loop, see
    bench/search.py). The generated source holds only column positions and the names of the
    two helpers below, never a value from a user."""
    parts = []
    index = 0
    for key in keys:
        column = COLUMNS[key]
        if key == "grand_total":
            parts.append(f"money(r[{index}], r[{index + 1}])")
        elif column.is_time:
            parts.append(f"when(r[{index}])")
        else:
            text = (
                f"(r[{index}] + ' ' + r[{index + 1}]).strip()"
                if key == "customer_name"
                else f"(r[{index}] or '')"
            )
            parts.append(f'("\'" + v if (v := {text})[:1] in formula else v)')
        index += len(column.needs)
    when = _time_cells(zone)
    formats: dict[str, tuple[str, int]] = {}

    def money(minor: int, currency: str) -> str:
        fmt = formats.get(currency)
        if fmt is None:
            digits = exponent(currency)
            fmt = formats[currency] = (f"%d.%0{digits}d" if digits else "%d%.0s", 10**digits)
        if minor < 0:
            return "-" + fmt[0] % divmod(-minor, fmt[1])
        return fmt[0] % divmod(minor, fmt[1])

    source = f"lambda r: [{', '.join(parts)}]"
    namespace = {"when": when, "money": money, "formula": FORMULA_STARTS}
    return eval(source, namespace)


_MISSING: Any = object()
# Hours cached by the time formatter; times of an export mostly follow each other, so a small
# cache serves nearly every row, and it is emptied when full to keep memory bounded.
_HOURS_KEPT = 4096


def _time_cells(zone: ZoneInfo) -> Callable[[Any], str]:
    """A function: stored UTC time -> ISO-8601 in `zone` with its offset, as
    `datetime.isoformat` writes it. SQLite hands times as text ("2026-11-02 09:30:55.000000");
    within an hour whose offset is constant and a whole number of hours, only the date and
    hour change, so the text is rebuilt from a per-hour prefix with no datetime per row."""
    hours: dict[str, tuple[str, str] | None] = {}

    def hour_of(key: str) -> tuple[str, str] | None:
        start = datetime.fromisoformat(key + ":00:00").replace(tzinfo=UTC)
        offset = start.astimezone(zone).utcoffset()
        last = start + timedelta(minutes=59, seconds=59, microseconds=999_999)
        if offset is None or offset != last.astimezone(zone).utcoffset() or offset % _HOUR:
            return None
        local = (start + offset).replace(tzinfo=timezone(offset)).isoformat()
        return local[:13], local[-6:]  # "2026-11-02T10", "+01:00"

    def slow(value: Any) -> str:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.astimezone(zone).isoformat()

    def when(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str) and len(value) == 26 and value[10] == " ":
            key = value[:13]
            hour = hours.get(key, _MISSING)
            if hour is _MISSING:
                if len(hours) >= _HOURS_KEPT:
                    hours.clear()
                hour = hours[key] = hour_of(key)
            if hour is not None:
                fraction = value[19:]
                if fraction == ".000000":
                    fraction = ""
                return hour[0] + value[13:19] + fraction + hour[1]
        return slow(value)

    return when


_HOUR = timedelta(hours=1)
