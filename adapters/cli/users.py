"""`users add`, `users token`."""

from __future__ import annotations

import sys

import click

from .errors import handled
from .lazy import LazyModule
from .main import cli, state
from .output import emit_json

svc = LazyModule("postsales.core.services.users")  # imported when a users command runs


@cli.group()
def users() -> None:
    """Manage users and API tokens."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help="A role from the config (repeatable)."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone for displayed times.")
@click.option("--json", "as_json", is_flag=True)
@handled
def users_add(
    name: str, roles: tuple[str, ...], password_stdin: bool, timezone: str, as_json: bool
) -> None:
    """Create a user with one or more roles."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user = svc.add_user(state().app(), name, list(roles), password, timezone)
    if as_json:
        emit_json({"name": user.name, "roles": list(user.roles), "timezone": user.timezone})
    else:
        click.echo(f"user {user.name} added with roles {', '.join(user.roles)}")


@users.command("token")
@click.argument("name")
@handled
def users_token(name: str) -> None:
    """Print a new API token for the user (only its hash is stored)."""
    click.echo(svc.issue_token(state().app(), name))
