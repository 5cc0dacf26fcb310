"""Scalar arguments from a query string or a body (paging, flags), refused with the name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postsales.core.errors import BadInput

PAGING = ("page", "per_page", "sort", "after")


def whole_number(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text.lstrip("-").isdigit() and len(text) <= 9:
        return int(text)
    raise BadInput(f"{name}: expected a whole number, got {value!r}", field=name)


def text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise BadInput(f"{name}: expected text, got {value!r}", field=name)


def flag(name: str, value: Any) -> bool:
    if value is None or value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise BadInput(f"{name}: expected true or false, got {value!r}", field=name)


def paging(source: Mapping[str, Any]) -> dict[str, Any]:
    """`page`, `per_page` (whole numbers), `sort` and `after` (text), those that were given."""
    out: dict[str, Any] = {}
    for name in ("page", "per_page"):
        number = whole_number(name, source.get(name))
        if number is not None:
            out[name] = number
    for name in ("sort", "after"):
        value = text(name, source.get(name))
        if value is not None:
            out[name] = value
    return out
