"""`orders show`, `actions`, `act`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from postsales.core.errors import BadInput
from postsales.core.limits import read_json

from .act_help import ActCommand
from .errors import handled
from .main import cli, state
from .output import Clock, emit_json, stock_table, table


@cli.group()
def orders() -> None:
    """Find and read orders."""


@orders.command("show")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True)
@handled
def orders_show(order_id: str, as_json: bool) -> None:
    """Print an order (SPEC §11 order document with --json)."""
    from postsales.core.services.orders import show_order

    st = state()
    user = st.user()
    doc = show_order(st.app(), order_id, user)
    if as_json:
        emit_json(doc)
        return
    t = doc["totals"]
    click.echo(f"Order {doc['id']}  {doc['status']}  ({doc['order_type']}, {doc['sales_channel']})")
    c = doc["customer"]
    click.echo(f"Customer {c['first_name']} {c['last_name']} <{c['email']}> {c['phone']}")
    click.echo(
        f"Total {t['grand_total']} {doc['currency']}  captured {t['captured']}  "
        f"due {t['total_due']}  refunded {t['refunded']}"
    )
    table(
        [
            (
                ln["line_number"],
                ln["sku"],
                ln["name"],
                ln["product_type"],
                ln["status"],
                ln["gross_amount"],
                ln["refunded_amount"],
            )
            for ln in doc["lines"]
        ],
        ["#", "sku", "name", "type", "status", "gross", "refunded"],
    )
    for label, key in (("Returns", "returns"), ("Refunds", "refunds"), ("Shipments", "shipments")):
        if doc[key]:
            click.echo(f"\n{label}:")
            for item in doc[key]:
                lines = item["lines"]
                if lines and isinstance(lines[0], dict):  # refunds: amounts per line
                    lines = [f"{x['line_number']}: {x['amount']}" for x in lines]
                shown = ", ".join(map(str, lines))
                extra = item.get("amount") or item.get("tracking_number") or ""
                if key == "shipments" and item.get("tracking_number"):  # seed 000's tracking
                    parts = (item.get("carrier"), item["tracking_number"],
                             item.get("tracking_link"), item.get("tracking_comment"))  # fmt: skip
                    extra = "  ".join(p for p in parts if p)
                kind = f"{item['kind']}  " if "kind" in item else ""
                click.echo(f"  {item['id']}  {kind}{item['status']}  lines {shown}  {extra}")
    if doc["stock"]:
        click.echo("\nStock (available = on hand - reserved):")
        stock_table(doc["stock"])
    clock = Clock(user.timezone)
    click.echo(f"\nHistory ({clock.label}):")
    for h in doc["history"]:
        click.echo(f"  {clock.show(h['at'])}  {h['actor']}: {h['summary']}")


@orders.command("create")
@click.option("--param", "pairs", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--dry-run", is_flag=True, help="Preview: show the draft, change nothing.")
@click.option("--json", "as_json", is_flag=True)
@handled
def orders_create(pairs: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Create a DRAFT order for a customer (A-12); pay it with `act ID add_payment`.

    Parameters: sales_channel, customer (an id, or a JSON object for a new customer),
    shipping_address (JSON object), shipping_method, lines (JSON list of
    {"sku", "quantity", "price"?}).
    """
    from postsales.core.services.drafts import create_order

    st = state()
    doc = create_order(st.app(), parse_param_pairs(pairs), st.user(), dry_run=dry_run)
    if as_json:
        emit_json({"dry_run": dry_run, "order": doc})
        return
    verb = "would create" if dry_run else "created"
    total = doc["totals"]["grand_total"]
    click.echo(f"{verb} draft order {doc['id']} ({total} {doc['currency']} due)")
    if doc["stock"]:
        stock_table(doc["stock"])


@cli.command()
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True)
@handled
def actions(order_id: str, as_json: bool) -> None:
    """List every action on an order, whether it is available, and why not."""
    from postsales.core.services.actions import list_actions

    st = state()
    items = list_actions(st.app(), order_id, st.user())
    if as_json:
        emit_json([a.to_dict() for a in items])
        return
    table(
        [(a.name, "yes" if a.available else "no", a.reason or "") for a in items],
        ["action", "available", "why not"],
    )


def _param_value(key: str, text: str) -> Any:
    """A --param value that parses as JSON is JSON (numbers as Decimal), else a string."""
    try:
        return read_json(key, text, parse_float=Decimal)
    except ValueError:
        return text


def parse_param_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise BadInput(f"--param {pair!r}: expected KEY=VALUE", field="param")
        key, _, raw = pair.partition("=")
        key = key.strip()
        if not key:
            raise BadInput(f"--param {pair!r}: the key is empty", field="param")
        value = _param_value(key, raw)
        if key in params:  # a repeated key builds a list: --param lines=1 --param lines=2
            prev = params[key]
            params[key] = (
                [*prev, value] if isinstance(prev, list) and prev is not None else [prev, value]
            )
        else:
            params[key] = value
    return params


@cli.command(cls=ActCommand)
@click.argument("order_id")
@click.argument("action")
@click.option("--param", "pairs", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--dry-run", is_flag=True, help="Preview: show what would happen, change nothing.")
@click.option("--json", "as_json", is_flag=True)
@handled
def act(order_id: str, action: str, pairs: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Run one action on an order (or preview it with --dry-run).

    `postsales act ID ACTION --help` lists that action's parameters."""
    from postsales.core.services.actions import run_action

    st = state()
    outcome = run_action(
        st.app(), order_id, action, parse_param_pairs(pairs), st.user(), dry_run=dry_run
    )
    if as_json:
        emit_json(outcome.to_document())
        return
    verb = "would" if dry_run else "did"
    click.echo(
        f"{action} on {order_id}: {verb} succeed" + (" (nothing changed)" if dry_run else "")
    )
    for key, ids in outcome.result.items():
        click.echo(f"  {key}: {', '.join(map(str, ids)) if isinstance(ids, list) else ids}")
    for refund in outcome.order["refunds"]:
        if refund["id"] in outcome.result.get("refunds", []):
            lines = ", ".join(f"{x['line_number']}: {x['amount']}" for x in refund["lines"])
            click.echo(
                f"  refund {refund['id']}: {refund['amount']} {outcome.order['currency']} "
                f"({refund['status']}) lines {lines}"
            )
    for m in outcome.messages:
        click.echo(f"  message: {m['type']}")
