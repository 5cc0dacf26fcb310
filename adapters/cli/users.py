"""`users add`, `list`, `set`, `password`, `disable`, `enable`, `token`, `tokens`,
`revoke-token`: managing users and their API tokens (SPEC §10, issue 16 item 4)."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from postsales.core.errors import BadInput

from .errors import handled
from .lazy import LazyModule
from .main import cli, state
from .output import emit_json, table

# Imported when a users command runs: `--help` loads no database layer.
svc = LazyModule("postsales.core.services.users")
tokens = LazyModule("postsales.core.services.tokens")
user_admin = LazyModule("postsales.core.services.user_admin")


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
@click.option("--email", help="E-mail address: how outbound messages name the user.")
@click.option("--json", "as_json", is_flag=True)
@handled
def users_add(
    name: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    timezone: str,
    email: str | None,
    as_json: bool,
) -> None:
    """Create a user with one or more roles."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user = svc.add_user(
        state().app(), name, list(roles), password, timezone, actor=state().user(), email=email
    )
    if as_json:
        emit_json(
            {
                "name": user.name,
                "roles": list(user.roles),
                "timezone": user.timezone,
                "email": user.email,
            }
        )
    else:
        click.echo(f"user {user.name} added with roles {', '.join(user.roles)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@handled
def users_list(as_json: bool) -> None:
    """Every user: roles, stores, time zone, last sign-in, disabled or not."""
    listed = user_admin.list_users(state().app(), actor=state().user())
    if as_json:
        emit_json(
            [
                {k: _plain(v) for k, v in row.items() if k not in ("permissions", "created_at")}
                for row in listed
            ]
        )
        return
    table(
        [
            (
                row["name"],
                ", ".join(row["roles"]),
                "all" if row["stores"] is None else ", ".join(row["stores"]),
                row["timezone"],
                row["email"] or "",
                _plain(row["last_sign_in_at"]) or "never",
                "disabled" if row["disabled"] else "active",
            )
            for row in listed
        ],
        ["name", "roles", "stores", "time zone", "e-mail", "last sign-in", "status"],
    )


@users.command("set")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="Replace the roles (repeatable).")
@click.option("--timezone", help="IANA zone for displayed times.")
@click.option("--email", help='E-mail address ("" removes it).')
@click.option("--json", "as_json", is_flag=True)
@handled
def users_set(
    name: str, roles: tuple[str, ...], timezone: str | None, email: str | None, as_json: bool
) -> None:
    """Change a user's roles, time zone and/or e-mail address."""
    if not roles and timezone is None and email is None:
        raise BadInput("give --role (repeatable), --timezone and/or --email")
    changes = user_admin.change_user(
        state().app(),
        name,
        actor=state().user(),
        roles=list(roles) if roles else None,
        timezone=timezone,
        email=email,
    )
    if as_json:
        emit_json({"user": name, "changed": changes})
    elif not changes:
        click.echo(f"user {name} unchanged")
    else:
        for field, change in changes.items():
            before, after = (_listed(change[k]) for k in ("from", "to"))
            click.echo(f"{name}: {field} {before} -> {after}")


@users.command("disable")
@click.argument("name")
@handled
def users_disable(name: str) -> None:
    """Disable a user: their sessions end and their tokens stop working at once."""
    ended = user_admin.disable_user(state().app(), name, actor=state().user())
    click.echo(f"user {name} disabled; {ended} session{'s' if ended != 1 else ''} ended")


@users.command("enable")
@click.argument("name")
@handled
def users_enable(name: str) -> None:
    """Let a disabled user sign in again (tokens not revoked work again)."""
    user_admin.enable_user(state().app(), name, actor=state().user())
    click.echo(f"user {name} enabled")


def _listed(value: object) -> str:
    if value is None:
        return "none"
    return ", ".join(value) if isinstance(value, list) else str(value)


@users.command("token")
@click.argument("name")
@click.option("--name", "label", default="token", show_default=True, help="What the token is for.")
@click.option("--expires", help="90d, 12h, 30m, a date (valid through it) or an ISO-8601 time.")
@click.option(
    "--scope",
    "scope",
    multiple=True,
    help="`read` (view and export only) or permissions it may use (repeatable).",
)
@click.option("--json", "as_json", is_flag=True)
@handled
def users_token(
    name: str, label: str, expires: str | None, scope: tuple[str, ...], as_json: bool
) -> None:
    """Print a new API token for the user (only its hash is stored)."""
    app, actor = state().app(), state().user()
    made = tokens.create_token(
        app,
        name,
        actor=actor,
        label=label,
        expires_at=tokens.parse_expiry(expires, app.now(), actor.timezone),
        scope=scope,
    )
    if as_json:
        emit_json(
            {
                "id": made.id,
                "name": made.name,
                "token": made.token,
                "expires_at": made.expires_at.isoformat() if made.expires_at else None,
                "scope": tokens.shown_scope(made.scope),
            }
        )
    else:
        click.echo(made.token)


@users.command("tokens")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@handled
def users_tokens(name: str, as_json: bool) -> None:
    """List the user's API tokens (never the tokens themselves), revoked ones included."""
    listed = tokens.list_tokens(state().app(), name, actor=state().user())
    if as_json:
        emit_json([{k: _plain(v) for k, v in row.items()} for row in listed])
        return
    table(
        [
            (
                row["id"],
                row["name"],
                row["status"],
                _scope_text(row["scope"]),
                _plain(row["expires_at"]) or "never",
                _plain(row["last_used_at"]) or "never",
            )
            for row in listed
        ],
        ["id", "name", "status", "scope", "expires", "last used"],
    )


@users.command("revoke-token")
@click.argument("name")
@click.argument("token_id", type=int)
@handled
def users_revoke_token(name: str, token_id: int) -> None:
    """Revoke one of the user's tokens (its id from `users tokens NAME`)."""
    tokens.revoke_token(state().app(), name, token_id, actor=state().user())
    click.echo(f"token {token_id} of {name} revoked")


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _scope_text(scope: object) -> str:
    if scope is None:
        return "all"
    return scope if isinstance(scope, str) else ", ".join(scope)  # type: ignore[arg-type]


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read it from standard input.")
@handled
def users_password(name: str, password_stdin: bool) -> None:
    """Set a new password; every web session of the user ends at once."""
    password = sys.stdin.readline().rstrip("\n")
    svc.set_password(state().app(), name, password, actor=state().user())
    click.echo(f"password of {name} changed; their sessions have ended")
