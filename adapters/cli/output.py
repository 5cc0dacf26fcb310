"""Rendering for people (tables) and for scripts (--json).

Tables show times in the `--user`'s time zone (the `system` user's is UTC), as the web app and
the exports do; `--json` keeps ISO-8601 with its UTC offset, untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def stock_table(rows: Sequence[dict[str, Any]]) -> None:
    """Stock levels per SKU and source, as `inventory.levels` gives them."""
    table(
        [(r["sku"], r["source_id"], r["on_hand"], r["reserved"], r["available"]) for r in rows],
        ["sku", "source", "on hand", "reserved", "available"],
    )


class Clock:
    """Times for a table, in one user's zone: `clock.show(value)`, `clock.label`."""

    def __init__(self, zone_name: str | None) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            self.zone = ZoneInfo(zone_name or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")
        self.label = self.zone.key

    def show(self, value: str | datetime | None) -> str:
        """`2026-11-02 10:30` in the zone; "" for none; text that is not a time as it is."""
        if value in (None, ""):
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if value.tzinfo is None:  # stored times are UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def header(self, name: str) -> str:
        return f"{name} ({self.label})"
