"""The JSON API of SPEC §10 under `/api/v1` (see docs/api.md).

It is a Flask app of its own, mounted in front of the agents' web app by :func:`mount`: every
request whose path starts with `/api/` goes to it, everything else to the web app. The API has
its own rules — bearer tokens instead of a session cookie, no CSRF (no ambient credential to
forge), no sign-in redirects, and problem+json for every error, including unknown addresses and
wrong methods, which a blueprint's error handlers cannot catch inside one app — so keeping it
apart means neither side needs an `if request.path.startswith("/api")` in its hooks.

Views translate only: parse the request, call one core service, map the result or the error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask
from werkzeug.wrappers import Response

from postsales.core.bootstrap import Postsales

from . import actions, messages, openapi, orders, problems
from .auth import authenticate

API_PREFIX = "/api/"
MAX_BODY = 4 * 1024 * 1024  # an order-create message with many lines fits with room to spare

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")  # orders hold personal data
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def create_api(app_services: Postsales) -> Flask:
    """The API as a WSGI app of its own around a services object."""
    # An explicit instance path, as in the web app: Flask cannot find one inside the implicit
    # `postsales` namespace. The API never writes there.
    api = Flask(__name__, static_folder=None, instance_path=os.path.abspath("var"))
    api.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    api.extensions["postsales"] = app_services
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(authenticate)
    for child in (openapi.bp, orders.bp, actions.bp, messages.bp):
        bp.register_blueprint(child)
    api.register_blueprint(bp)
    api.after_request(_headers)
    problems.register(api)
    return api


class ApiDispatcher:
    """WSGI middleware: `/api/…` to the API app, everything else to the web app."""

    def __init__(self, web: WSGIApp, api: Flask) -> None:
        self.web = web
        self.api = api

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
            return self.api(environ, start_response)
        return self.web(environ, start_response)


def mount(app: Flask) -> Flask:
    """Put the API in front of the web app `app` (same services object); returns the API app."""
    api = create_api(app.extensions["postsales"])
    app.wsgi_app = ApiDispatcher(app.wsgi_app, api)  # type: ignore[method-assign]
    app.extensions["postsales_api"] = api
    return api


__all__ = ["ApiDispatcher", "create_api", "mount"]
