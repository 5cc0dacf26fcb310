"""Errors -> exit codes and one line on stderr, in one place (SPEC §10; docs/cli.md).

2 bad input (usage, validation, config, a bad --db URL), 3 refused by a rule or state, or what
the command needs is unavailable (database down, locked or not initialised, broker down),
4 not found, 5 permission denied (by a role, the file system or the database server).
1 is a bug: one line saying so, where to report it, and how to see the traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from postsales.core.errors import ConfigError, PostsalesError, Unavailable

F = TypeVar("F", bound=Callable[..., Any])

KINDS = {2: "bad_input", 3: "refused", 4: "not_found", 5: "forbidden", 1: "bug"}
DEBUG_ENV = "POSTSALES_DEBUG"
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
BROKEN_PIPE = 141  # 128 + SIGPIPE


def report(exc: PostsalesError, *, as_json: bool) -> None:
    if as_json:
        kind = "unavailable" if isinstance(exc, Unavailable) else KINDS.get(exc.exit_code, "bug")
        body = {"error": kind, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        click.echo(json.dumps(body), err=True)
    elif isinstance(exc, ConfigError):
        for line in exc.lines:
            click.echo(f"error: {line}", err=True)
    else:
        click.echo(f"error: {exc.message}", err=True)


def issue_tracker() -> str:
    """The tracker URL of pyproject's [project.urls] (read only when there is a bug)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("postsales").get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("issues", "bug tracker", "tracker"):
            return url.strip()
    return "the project's issue tracker"


def report_bug(exc: BaseException, *, as_json: bool) -> None:
    from postsales.core.faults import first_line

    what = f"{exc.__class__.__name__}: {first_line(exc)}"
    where = issue_tracker()
    if as_json:
        body = {"error": "bug", "message": what, "report": where, "debug": f"{DEBUG_ENV}=1"}
        click.echo(json.dumps(body), err=True)
    else:
        click.echo(
            f"error: a bug in Postsales ({what}); please report it at {where} — rerun with "
            f"{DEBUG_ENV}=1 to see the traceback",
            err=True,
        )


def fail(exc: Exception, ctx: click.Context) -> int:
    """Report any exception a command raised; returns the exit code."""
    st = ctx.find_root().obj or {}
    as_json = bool(st.get("json"))
    from postsales.core.faults import explain

    error = exc if isinstance(exc, PostsalesError) else explain(exc, database=st.get("db"))
    if error is None:
        if os.environ.get(DEBUG_ENV) == "1":
            raise exc
        report_bug(exc, as_json=as_json)
        return 1
    report(error, as_json=as_json)
    return error.exit_code


class Door(click.Group):
    """The root group: every error out of a command becomes an exit code and one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if exc.exit_code == 1:  # e.g. FileError: a file the user named; 1 is for bugs
                exc.exit_code = 2
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # `postsales … | head`: the reader left; nothing to report
            sys.stdout = click.utils.PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
            raise click.exceptions.Exit(BROKEN_PIPE) from None
        except KeyboardInterrupt:
            click.echo("aborted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except Exception as exc:
            raise click.exceptions.Exit(fail(exc, ctx)) from None


def handled(func: F) -> F:
    """Marks a command whose `--json` makes its errors JSON too (on stderr); `Door` reports."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        root = click.get_current_context().find_root().obj
        if kwargs.get("as_json") and root is not None:
            root["json"] = True
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
