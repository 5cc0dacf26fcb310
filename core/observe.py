"""What the core reports for monitoring, through a small neutral interface (issue 15 item 4).

The core never imports a metrics library: it calls the `Metrics` held by `Postsales.metrics`
(a no-op by default). A door that serves metrics (the web app's `/metrics`, `postsales consume
--metrics-port`) puts a Prometheus-backed one there (`postsales.adapters.observability`).

The request id is a context variable: a door binds one per request (or per consumed message),
and the unit of work writes it into the history and outbox rows of that request's action.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

_request_id: ContextVar[str | None] = ContextVar("postsales_request_id", default=None)


class Metrics(Protocol):
    """Collection points the core calls; every method must be cheap and must never raise."""

    def action_run(self, name: str, outcome: str) -> None:
        """An action finished: `outcome` is ok, preview or an error kind (refused, invalid,
        forbidden, not_found, unavailable, error)."""

    def message_consumed(self, outcome: str) -> None:
        """An inbound message was handled: applied, duplicate, dead_letter or retry."""


class NoMetrics:
    """The default: nothing is collected."""

    def action_run(self, name: str, outcome: str) -> None:
        return None

    def message_consumed(self, outcome: str) -> None:
        return None


def current_request_id() -> str | None:
    """The id bound by the door for the work in hand, if any."""
    return _request_id.get()


@contextmanager
def request_id(value: str | None) -> Iterator[None]:
    """Bind `value` as the request id for the `with` block (this thread or task only)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def bind_request_id(value: str | None) -> object:
    """Bind without a block (a web request's before/after hooks); pass the result to
    `unbind_request_id`."""
    return _request_id.set(value)


def unbind_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
