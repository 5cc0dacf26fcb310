"""`init`, `config check`, `plugins`, `machines`."""

from __future__ import annotations

import click

from .errors import handled
from .main import cli, state
from .output import emit_json, table


@cli.command()
@handled
def init() -> None:
    """Create or upgrade the database (Alembic migrations)."""
    from postsales.core.services.schema import database_label, upgrade_database

    app = state().app(migrated=False)
    before, after = upgrade_database(app)
    url = database_label(app)
    if before == after:
        click.echo(f"database {url} is up to date (revision {after})")
    else:
        click.echo(f"database {url} upgraded from {before or 'empty'} to revision {after}")


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handled
def config_check(as_json: bool) -> None:
    """Validate the config file alone, then say where the configured database stands.

    Exit 0 when the config is valid (whatever the database's state, which is reported on its
    own line), 2 with one line per problem (file, key path, what was expected) when it is not.
    """
    from postsales.core.services.configuration import check_config, plain

    st = state()
    checked = check_config(st.get("config"), st.get("db"))
    if as_json:
        emit_json(checked.to_dict())
        return
    db = checked.database
    click.echo(f"config is valid ({checked.source})")
    click.echo(f"database {db.url}: {db.message}")
    effective = checked.effective()
    for cid, ch in checked.settings.sales_channels.items():
        click.echo(
            f"\n{cid} — {ch.name} ({ch.market}, {ch.currency}; sources {', '.join(ch.sources)})"
        )
        table([(k, plain(v), o) for k, v, o in effective[cid]], ["setting", "value", "from"])


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@handled
def plugins(as_json: bool) -> None:
    """List plugins: where each comes from and whether it is on (no database needed)."""
    from postsales.core.services.configuration import plugin_listing

    listing = plugin_listing(state().app(migrated=False).registry)
    rows = [p.to_dict() for p in listing]
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                r["name"],
                "on" if r["enabled"] else "off",
                f"{r['distribution']} {r['version']}",
                ", ".join(r["provides"]),
            )
            for r in rows
        ],
        ["plugin", "state", "from", "provides"],
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@handled
def machines(as_json: bool) -> None:
    """Print the state machines as Mermaid diagrams."""
    from postsales.core import machines as M

    if as_json:
        emit_json({name: M.to_mermaid(lc) for name, lc in M.LIFECYCLES.items()})
    else:
        click.echo(M.all_mermaid())
