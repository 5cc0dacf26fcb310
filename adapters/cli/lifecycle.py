"""`lifecycle`: the periodic pass over orders (automatic review, closing finished orders)."""

from __future__ import annotations

import click

from .errors import handled
from .main import cli, state
from .output import emit_json


@cli.command()
@click.option(
    "--limit",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Orders looked at per kind in one run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the ids as JSON.")
@handled
def lifecycle(limit: int, as_json: bool) -> None:
    """Pass order review where a channel reviews automatically (`auto_review`), and close
    every SHIPPED order nothing more can happen to (SPEC §3). Run it every few minutes, from
    cron or a systemd timer; it needs a user who sees every store (the default system user)."""
    from postsales.core.services.sweep import run_lifecycle

    st = state()
    report = run_lifecycle(st.app(), st.user(), limit=limit)
    if as_json:
        emit_json({"reviewed": report.reviewed, "closed": report.closed})
        return
    click.echo(f"{len(report.reviewed)} orders passed review, {len(report.closed)} closed")
    for order_id in report.closed:
        click.echo(f"  closed {order_id}")
