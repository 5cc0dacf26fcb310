"""`init`, `config check`, `plugins`, `machines`."""

from __future__ import annotations

import click

from postsales.core import machines as M
from postsales.core.persistence.migrate import upgrade
from postsales.core.settings import effective_channel_settings

from .errors import handled
from .main import cli, state
from .output import emit_json, table


@cli.command()
@handled
def init() -> None:
    """Create or upgrade the database (Alembic migrations)."""
    app = state().app(migrated=False)
    before, after = upgrade(app.engine)
    url = app.engine.url.render_as_string(hide_password=True)
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
    """Validate the config and print the effective settings per sales channel."""
    app = state().app()
    settings = app.settings
    effective = effective_channel_settings(settings)
    if as_json:
        emit_json(
            {
                "valid": True,
                "sales_channels": {
                    cid: {
                        "name": ch.name,
                        "market": ch.market,
                        "currency": ch.currency,
                        "sources": list(ch.sources),
                        "postsales": {
                            key: {"value": _plain(value), "origin": origin}
                            for key, value, origin in effective[cid]
                        },
                    }
                    for cid, ch in settings.sales_channels.items()
                },
                "plugins": {p.name: p.enabled for p in app.registry.plugins},
            }
        )
        return
    click.echo("config is valid")
    for cid, ch in settings.sales_channels.items():
        click.echo(
            f"\n{cid} — {ch.name} ({ch.market}, {ch.currency}; sources {', '.join(ch.sources)})"
        )
        table([(k, _plain(v), o) for k, v, o in effective[cid]], ["setting", "value", "from"])


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@handled
def plugins(as_json: bool) -> None:
    """List plugins: where each comes from and whether it is on."""
    app = state().app()
    reg = app.registry
    rows = []
    for info in reg.plugins:
        provides = sorted(
            [f"action:{a}" for a, p in reg.action_plugins.items() if p == info.name]
            + [f"rule:{r}" for r, p in reg.rule_plugins.items() if p == info.name]
        )
        rows.append(
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "module": info.module,
                "enabled": info.enabled,
                "hooks": list(info.hooks),
                "provides": provides,
            }
        )
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
def machines(as_json: bool) -> None:
    """Print the state machines as Mermaid diagrams."""
    if as_json:
        emit_json({name: M.to_mermaid(lc) for name, lc in M.LIFECYCLES.items()})
    else:
        click.echo(M.all_mermaid())
