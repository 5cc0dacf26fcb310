"""The `postsales` Click group. Bootstrap is lazy: `--help` loads no plugin and no database."""

from __future__ import annotations

from typing import Any

import click

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.domain.users import User
from postsales.core.persistence.migrate import ensure_current
from postsales.core.services.users import get_user

from .errors import handled


class State(dict):  # type: ignore[type-arg]
    """Per-invocation state: options of the group and the services object, built on demand."""

    def app(self, *, migrated: bool = True) -> Postsales:
        if "app" not in self:
            self["app"] = bootstrap(self.get("config"), self.get("db"))
            if migrated:
                ensure_current(self["app"].engine)
        return self["app"]  # type: ignore[no-any-return]

    def user(self) -> User:
        return get_user(self.app(), self.get("user"))


def state() -> State:
    return click.get_current_context().find_root().obj  # type: ignore[no-any-return]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
