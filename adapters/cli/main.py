"""The `postsales` Click group.

Start-up is lazy (issue 18 item 1): `--help` and `--version` import Click and the command
modules only (`tests/adapters/test_cli_startup.py` fails if they import SQLAlchemy). A command
imports the core services it calls when it runs, and the services object — config, plugins,
database — is built on its first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .errors import Door, handled

if TYPE_CHECKING:
    from postsales.core.bootstrap import Postsales
    from postsales.core.domain.users import User


class State(dict):  # type: ignore[type-arg]
    """Per-invocation state: options of the group and the services object, built on demand."""

    def app(self, *, migrated: bool = True) -> Postsales:
        if "app" not in self:
            from postsales.core.bootstrap import bootstrap

            # Plugins load when a command first needs them: a read loads none.
            self["app"] = bootstrap(self.get("config"), self.get("db"), lazy_plugins=True)
        if migrated and not self.get("migrated"):
            from postsales.core.services.schema import ensure_current

            ensure_current(self["app"])
            self["migrated"] = True
        return self["app"]  # type: ignore[no-any-return]

    def user(self) -> User:
        if "user_obj" not in self:
            from postsales.core.services.users import get_user

            self["user_obj"] = get_user(self.app(), self.get("user"))
        return self["user_obj"]  # type: ignore[no-any-return]


def state() -> State:
    return click.get_current_context().find_root().obj  # type: ignore[no-any-return]


@click.group(cls=Door, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="POSTSALES_DATABASE_URL",
    help="Database URL (default: SQLite at var/postsales.db).",
)
@click.option(
    "--config", envvar="POSTSALES_CONFIG", type=click.Path(), help="Config file or folder."
)
@click.option("--user", envvar="POSTSALES_USER", help="Act as this user (default: system).")
@click.version_option(package_name="postsales")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config: str | None, user: str | None) -> None:
    """Postsales: find a customer's order and act on it after the sale."""
    ctx.obj = State(db=db, config=config, user=user)


def main() -> Any:
    from . import commands  # noqa: F401  (registers the subcommands)

    return cli(prog_name="postsales")


__all__ = ["State", "cli", "handled", "main", "state"]
