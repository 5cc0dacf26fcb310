"""The bounds of what a user can type, checked once where values enter the core (SPEC §12).

Every door hands the core text, numbers, JSON and dates it did not make; the databases refuse
some of them with an error that is no user's fault to read (PostgreSQL text cannot hold NUL,
UTF-8 cannot hold a lone surrogate, a column has a length, an integer has 64 bits, a statement
65,535 parameters, Python's JSON reader a recursion limit). These readers refuse them first, as a
`BadInput` naming the field and the limit, before anything is changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import BadInput

MAX_DEPTH = 32  # JSON nesting: a parameter, a body, an expression (S-2 itself allows 16)
MAX_LIST = 1000  # values in one `in` list or comma list (PostgreSQL takes 65,535 parameters)
MAX_PAGE = 1_000_000  # page numbers (OFFSET stays a 64-bit integer; keyset cursors go deeper)
MAX_SEARCH_TEXT = 1000  # one search value: longer than any searchable column
MAX_TEXT = 10_000  # free text without a column length (comments, descriptions)
MAX_INT = 2**63 - 1  # a BIGINT: quantities, amounts in minor units
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)  # a day inside the calendar in every time zone
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
DATE_RANGE = "0001-01-02 to 9999-12-30 UTC"

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str, limit: int | None = MAX_TEXT) -> str | None:
    """Why `value` cannot be stored as text (None: it can)."""
    if limit is not None and len(value) > limit:
        return f"at most {limit} characters, got {len(value)}"
    if "\x00" in value:
        return "must not contain a NUL character (\\u0000)"
    if not value.isascii() and _SURROGATE.search(value):
        return "must not contain a lone surrogate (not valid Unicode text)"
    return None


def check_text(field: str, value: Any, limit: int | None = MAX_TEXT) -> Any:
    """`value` unchanged when it is storable text (or not text at all), else `BadInput`."""
    if value.__class__ is str:
        problem = text_problem(value, limit)
        if problem is not None:
            raise BadInput(f"{field}: {problem}", field=field)
    return value


def check_strings(field: str, value: Any, limit: int | None = MAX_TEXT) -> None:
    """Every string inside a JSON-like value (keys too) is storable text; `field` names the
    whole value, the path where it is wrong is added (`line[2].reason`)."""
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            check_text(path, item, limit)
        elif isinstance(item, dict):
            for key, inner in item.items():
                check_text(path, key, limit)
                stack.append((f"{path}.{key}", inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", inner) for i, inner in enumerate(item))


def check_depth(field: str, value: Any, limit: int = MAX_DEPTH) -> Any:
    """`value` unchanged when its lists and objects nest at most `limit` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list | tuple):
            continue
        if depth > limit:
            raise BadInput(f"{field}: nested deeper than {limit} levels", field=field)
        stack.extend((inner, depth + 1) for inner in item)
    return value


def read_json(
    field: str,
    text: str | bytes,
    *,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """JSON text as a value nested at most `MAX_DEPTH` deep; ValueError when it is not JSON
    (callers word that themselves), `BadInput` when it nests too deep for anyone to mean it."""
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=parse_constant)
    except RecursionError:
        raise BadInput(f"{field}: nested deeper than {MAX_DEPTH} levels", field=field) from None
    return check_depth(field, value)


def bounded_int(field: str, value: int, low: int = 1, high: int = MAX_INT) -> int:
    if not low <= value <= high:
        raise BadInput(f"{field}: must be from {low} to {high}, got {value}", field=field)
    return value


def check_count(field: str, values: Any, limit: int = MAX_LIST) -> Any:
    """A list of at most `limit` values (an `in` list, a comma list)."""
    if len(values) > limit:
        raise BadInput(f"{field}: at most {limit} values, got {len(values)}", field=field)
    return values


def utc(value: datetime) -> datetime | None:
    """`value` in UTC, None when it lies outside `EARLIEST`…`LATEST` (no database keeps it)."""
    try:
        at = value.astimezone(UTC)
    except OverflowError:
        return None
    return at if EARLIEST <= at <= LATEST else None


def check_time(field: str, value: datetime) -> datetime:
    """`value` when it lies within the calendar every database and time zone can show."""
    if utc(value) is None:
        raise BadInput(f"{field}: {value.isoformat()} is outside {DATE_RANGE}", field=field)
    return value
