"""`demo`: a realistic data set made by the engine's own flows."""

from __future__ import annotations

import sys

import click

from .errors import handled
from .main import cli, state


@cli.command()
@click.option("--orders", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has orders.")
@handled
def demo(orders: int, seed: int, if_empty: bool) -> None:
    """Build demo orders, returns, refunds, appeasements, exchanges and reshipments."""
    from postsales.adapters.demo import DAYS, build_demo
    from postsales.core.services.schema import has_orders, upgrade_database

    app = state().app(migrated=False)
    upgrade_database(app)
    if if_empty and has_orders(app):
        click.echo("demo data already present; nothing to do")
        return
    if sys.stderr.isatty():
        with click.progressbar(length=orders, label="demo orders", file=sys.stderr) as bar:
            report = build_demo(app, orders, seed=seed, progress=bar.update)
    else:
        report = build_demo(app, orders, seed=seed)
    click.echo(f"{report.orders} orders imported over {DAYS} days")
    for action, count in sorted(report.actions.items()):
        click.echo(f"  {action}: {count}")
    for name, password in report.users:
        click.echo(f"user {name} / password {password}")
