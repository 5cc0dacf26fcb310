"""Health, readiness and metrics for load balancers and Prometheus, and the request id and JSON
request log line of every request (issue 15 item 4; docs/deploy.md "Health and metrics").

A WSGI middleware outermost in the app: `/healthz`, `/readyz` and `/metrics` are answered here,
before sessions, CSRF and sign-in (a load balancer has no session); every other request gets a
request id (the caller's `X-Request-Id` when it is a sane token, else a new one), bound for the
core (history and outbox rows of the action it runs) and sent back in `X-Request-Id`.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.wsgi import ClosingIterator

from postsales.adapters.observability import (
    REQUEST_SECONDS,
    PrometheusMetrics,
    broker_reachable,
    configure_json_logging,
    exposition,
    record_pool,
)
from postsales.core.bootstrap import Postsales
from postsales.core.observe import bind_request_id
from postsales.core.services.monitoring import database_ready

log = logging.getLogger("postsales.request")

ROUTE = "postsales.route"  # environ key: the URL rule the request matched
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def install(app: Flask, services: Postsales) -> None:
    """Wrap `app` (and its mounted API) with the middleware; metrics go to Prometheus."""
    services.metrics = PrometheusMetrics()
    for flask_app in (app, app.extensions.get("postsales_api")):
        if flask_app is not None:
            flask_app.before_request(_note_route)
    if os.environ.get("POSTSALES_LOG_FORMAT", "").lower() == "json":
        configure_json_logging()
    token = app.config.get("METRICS_TOKEN") or os.environ.get("POSTSALES_METRICS_TOKEN")
    broker = app.config.get("BROKER_URL") or os.environ.get("POSTSALES_BROKER_URL")
    app.wsgi_app = Ops(app.wsgi_app, services, token=token, broker=broker)  # type: ignore[method-assign]


def _note_route() -> None:
    rule = request.url_rule
    request.environ[ROUTE] = rule.rule if rule is not None else "unmatched"


class Ops:
    def __init__(
        self, inner: WSGIApp, services: Postsales, *, token: str | None, broker: str | None
    ) -> None:
        self.inner = inner
        self.services = services
        self.token = token
        self.broker = broker

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _answer(start_response, 200, {"status": "alive"})
        if path == "/readyz":
            return self._ready(start_response)
        if path == "/metrics":
            return self._metrics(environ, start_response)
        return self._timed(environ, start_response)

    def _ready(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        db = database_ready(self.services)
        checks: dict[str, dict[str, Any]] = {"database": {"ok": db.ok, "message": db.message}}
        if self.broker:
            ok, message = broker_reachable(self.broker)
            checks["broker"] = {"ok": ok, "message": message}
        ready = all(c["ok"] for c in checks.values())
        replica = self.services.replica
        if replica is not None:  # informational: reads fall back to the primary, still ready
            state = replica.state()
            checks["read_replica"] = {"in_use": state.use_replica, "message": state.reason}
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return _answer(start_response, 200 if ready else 503, body)

    def _metrics(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not self.token:  # off unless a token is configured (docs/deploy.md)
            return _answer(start_response, 404, {"status": "metrics are off"})
        given = environ.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            headers = [("WWW-Authenticate", 'Bearer realm="metrics"')]
            return _answer(start_response, 401, {"status": "a bearer token is required"}, headers)
        body, content_type = exposition(self.services)
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _timed(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        bind_request_id(rid)  # this thread's request from here on (reset at the next one)
        started = time.perf_counter()
        status = ["500"]

        def replying(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, [*headers, ("X-Request-Id", rid)], exc_info)

        def finished() -> None:
            seconds = time.perf_counter() - started
            route = environ.get(ROUTE, "unmatched")
            method = environ.get("REQUEST_METHOD", "GET")
            REQUEST_SECONDS.labels(method, route, status[0]).observe(seconds)
            record_pool(self.services)
            log.info(
                "%s %s %s",
                method,
                route,
                status[0],
                extra={
                    "request_id": rid,
                    "fields": {
                        "method": method,
                        "path": environ.get("PATH_INFO", ""),  # never the query (S-6)
                        "route": route,
                        "status": int(status[0]),
                        "duration_ms": round(seconds * 1000, 2),
                    },
                },
            )
            bind_request_id(None)

        return ClosingIterator(self.inner(environ, replying), [finished])


def _answer(
    start_response: Callable[..., Any],
    code: int,
    body: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable"}[code]
    start_response(
        f"{code} {reason}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [data]
