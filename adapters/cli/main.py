"""The `postsales` Click group.

Start-up is lazy (issue 18 item 1): `--help` and `--version` import Click and the command
modules only (`tests/adapters/test_cli_startup.py` fails if they import SQLAlchemy). A command
imports the core services it calls when it runs, and the services object — config, plugins,
database — is built on its first use.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import click

from postsales.adapters import __version__

from .errors import Door, handled

if TYPE_CHECKING:
    from postsales.core.bootstrap import Postsales
    from postsales.core.domain.users import User


_gc_paused = False


def _pause_gc() -> None:
    """Start-up makes some 300,000 objects that live as long as the process, and the cyclic
    GC's passes over them (about 140 at start-up, one of them full) free nothing: a sixth of a
    read command's CPU. Paused while the command starts; `_resume_gc` moves what start-up made
    out of the collector's sight (`gc.freeze`) and turns it back on for the command's work."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def _resume_gc() -> None:
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()


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
        _resume_gc()  # started: what the command does from here is collected as usual
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
@click.version_option(version=__version__, prog_name="postsales")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config: str | None, user: str | None) -> None:
    """Postsales: find a customer's order and act on it after the sale."""
    ctx.obj = State(db=db, config=config, user=user)


def main() -> Any:
    """The `postsales` console script."""
    _pause_gc()
    from . import commands  # noqa: F401  (registers the subcommands)

    return cli(prog_name="postsales")


__all__ = ["State", "cli", "handled", "main", "state"]
