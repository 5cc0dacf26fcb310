"""Core errors -> exit codes, in one place (SPEC §10: 2 bad input, 3 refused, 4 not found,
5 permission denied, 1 unexpected)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from postsales.core.errors import ConfigError, PostsalesError

F = TypeVar("F", bound=Callable[..., Any])

KINDS = {2: "bad_input", 3: "refused", 4: "not_found", 5: "forbidden", 1: "error"}


def report(exc: PostsalesError, *, as_json: bool) -> None:
    if as_json:
        body = {"error": KINDS.get(exc.exit_code, "error"), "message": exc.message}
        if getattr(exc, "field", None):
            body["field"] = exc.field  # type: ignore[attr-defined]
        click.echo(json.dumps(body), err=True)
    elif isinstance(exc, ConfigError):
        for line in exc.lines:
            click.echo(f"error: {line}", err=True)
    else:
        click.echo(f"error: {exc.message}", err=True)


def handled(func: F) -> F:
    """Turn core errors into a message on stderr and the SPEC's exit code; no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PostsalesError as exc:
            ctx = click.get_current_context()
            as_json = bool(kwargs.get("as_json") or (ctx.obj and ctx.obj.get("json")))
            report(exc, as_json=as_json)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]
