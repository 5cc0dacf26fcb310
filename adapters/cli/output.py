"""Rendering for people (tables) and for scripts (--json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
