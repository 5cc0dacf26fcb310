"""Every API error as `application/problem+json` (RFC 9457), in one place.

Core errors map as everywhere in Postsales (STYLE: one map per door): `BadInput` 422 (400 when
it came from a query string), `Refused` 409, `NotFound` 404, `Forbidden` 403, `Unavailable` 503
(a database locked past the busy timeout, read-only or down, `Retry-After`). Malformed JSON is
a 400, a missing or invalid bearer token a 401 with `WWW-Authenticate: Bearer`, an unknown
address a 404 and a wrong method a 405 with `Allow`. Anything else is a bug: it is logged with
an id that the 500 problem repeats, so nothing a client sends ends in a traceback.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from postsales.core.errors import (
    BadInput,
    Forbidden,
    NotFound,
    PostsalesError,
    Refused,
    Unavailable,
)
from postsales.core.faults import explain
from postsales.core.services.idempotency import KeyReused

from ..audit import audit_refusal

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:postsales:problem:"

# (status, type suffix, title) per core error, most specific first.
CORE_ERRORS: tuple[tuple[type[PostsalesError], int, str, str], ...] = (
    (KeyReused, 422, "idempotency-key-reused", "Idempotency-Key reused with a different request"),
    (BadInput, 422, "bad-input", "Invalid input"),
    (Refused, 409, "refused", "Refused"),
    (NotFound, 404, "not-found", "Not found"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (Unavailable, 503, "unavailable", "Service unavailable"),
)
RETRY_AFTER_SECONDS = "5"

HTTP_TYPES = {
    400: ("malformed-request", "Malformed request"),
    401: ("unauthorized", "Unauthorized"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    500: ("internal", "Internal server error"),
}


class Unauthenticated(Exception):
    """No usable bearer token; `error` is RFC 6750's code (`invalid_token`, …) when one was sent."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response; `kind` and `title` default to those of the status."""
    default_kind, default_title = HTTP_TYPES.get(status, ("http-error", "Error"))
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (kind or default_kind),
        "title": title or default_title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _core(exc: PostsalesError) -> Response:
    audit_refusal(current_app.extensions["postsales"], g.get("api_user"), exc, door="api")
    for cls, status, kind, title in CORE_ERRORS:
        if isinstance(exc, cls):
            if cls is BadInput and request.method == "GET":
                status = 400  # a query-string parameter, not a body
            field = getattr(exc, "field", None)
            headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
            return problem(status, exc.message, kind=kind, title=title, field=field,
                           headers=headers)  # fmt: skip
    return _bug(exc)


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _bug(exc)
    headers: dict[str, str] = {}
    detail = exc.description or ""
    kind, title = getattr(exc, "problem_kind", (None, None))
    if status == 404 and request.endpoint is None:
        detail = f"There is no API endpoint at {request.path}."
    if status == 405:
        allowed = getattr(exc, "valid_methods", None) or []
        headers["Allow"] = ", ".join(sorted(allowed))
        detail = f"{request.method} is not allowed here; allowed: {', '.join(sorted(allowed))}."
    return problem(status, detail, kind=kind, title=title, headers=headers)


def _unauthenticated(exc: Unauthenticated) -> Response:
    challenge = 'Bearer realm="postsales"'
    if exc.error:
        challenge += f', error="{exc.error}"'
    return problem(401, exc.detail, headers={"WWW-Authenticate": challenge})


def _bug(exc: BaseException) -> Response:
    incident = uuid.uuid4().hex
    log.error("unhandled error %s on %s %s", incident, request.method, request.path, exc_info=exc)
    return problem(
        500,
        f"The request could not be completed; the error was logged as {incident}.",
        instance=f"urn:uuid:{uuid.UUID(incident)}",
    )


def response_for(exc: BaseException) -> Response:
    """The problem response for any exception raised while handling an API request."""
    if isinstance(exc, PostsalesError):
        return _core(exc)
    if isinstance(exc, Unauthenticated):
        return _unauthenticated(exc)
    if isinstance(exc, HTTPException):
        return _http(exc)
    fault = explain(exc, database="")  # a locked, read-only or unreachable database (503)
    if fault is not None:
        log.warning("503 on %s %s: %s", request.method, request.path, fault.message)
        return _core(Unavailable(fault.message))
    return _bug(exc)


def _handler(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException) and (exc.code is None or exc.code < 400):
        return exc  # redirects raised by routing (a missing trailing slash)
    return response_for(exc)


def register(app: Flask) -> None:
    app.register_error_handler(Exception, _handler)
