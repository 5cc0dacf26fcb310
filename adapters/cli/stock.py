"""`stock SKU…`, `stock-assign`: what sources hold, what released orders reserve of it."""

from __future__ import annotations

import click

from .errors import handled
from .main import cli, state
from .output import emit_json, stock_table


@cli.command()
@click.argument("skus", nargs=-1, required=True, metavar="SKU...")
@click.option("--json", "as_json", is_flag=True)
@handled
def stock(skus: tuple[str, ...], as_json: bool) -> None:
    """On hand, reserved and available per source (available = on hand - reserved)."""
    from postsales.core.services import inventory  # on use: `--help` loads no domain

    st = state()
    rows = inventory.show_stock(st.app(), list(skus), st.user())
    if as_json:
        emit_json(rows)
        return
    stock_table(rows)


@cli.command("stock-assign")
@click.option("--json", "as_json", is_flag=True)
@handled
def stock_assign(as_json: bool) -> None:
    """Assign stock to waiting shipments it now covers, oldest first (after a crash)."""
    from postsales.core.services import inventory

    st = state()
    assigned = inventory.assign_all(st.app(), st.user())
    if as_json:
        emit_json({"assigned": assigned})
        return
    click.echo(f"{len(assigned)} shipment(s) assigned {' '.join(assigned)}".rstrip())
