"""The agents' web app (SPEC §10, W): server-rendered Flask, no front-end build, no JavaScript.

Every view parses the request, calls one core service and renders the result; core errors are
mapped to pages in `errors.py`. Production runs it under gunicorn::

    gunicorn 'postsales.adapters.web:create_app()'

with `POSTSALES_CONFIG`, `POSTSALES_DATABASE_URL` and `POSTSALES_SECRET_KEY` in the environment.
"""

from __future__ import annotations

import os

import attrs
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import ConfigError
from postsales.core.links import is_web_link
from postsales.core.services.keys import check_billing_key
from postsales.core.services.schema import ensure_current
from postsales.core.services.sign_in import ThrottlePolicy

from . import admin, api, auth, customers, errors, new_order, ops, orders, users
from .context import grouped, load_user, localtime
from .forms import editor_row_numbers
from .once import form_key
from .security import (
    SessionInterface,
    add_security_headers,
    check_csrf,
    csrf_token,
    load_secret_key,
)


def create_app(
    app_services: Postsales | None = None,
    *,
    config: str | None = None,
    db: str | None = None,
    secret_key: str | None = None,
    sign_in_policy: ThrottlePolicy | None = None,
) -> Flask:
    """Build the web app around a services object (bootstrapped from `config`/`db` if None).

    Flask settings may also come from `POSTSALES_WEB_*` environment variables, e.g.
    `POSTSALES_WEB_PREFERRED_URL_SCHEME=https` behind a TLS-terminating proxy, which also makes
    the session cookie `Secure`, and `POSTSALES_WEB_TRUSTED_PROXIES=1` behind one reverse
    proxy, so that the client's address (for sign-in throttling, the audit log) and scheme are
    taken from the proxy's `X-Forwarded-For` and `X-Forwarded-Proto` (docs/deploy.md).
    """
    if app_services is None:
        app_services = bootstrap(config, db)
        ensure_current(app_services)  # refuse to serve a database `init` never made
        check_billing_key(app_services)  # and one whose billing key is missing or wrong
    # A server lives long: a template that does not compile stops it now, not an agent's action.
    app_services.registry.check()
    # An explicit instance path: Flask cannot find one for a package mapped into the implicit
    # `postsales` namespace (its search raises StopIteration). `var/` is where the default
    # database and the secret key live too; Flask never writes there itself.
    app = Flask(__name__, instance_path=os.path.abspath("var"))
    app.config.update(
        SECRET_KEY=secret_key or load_secret_key(app_services.engine),
        SESSION_COOKIE_NAME="postsales_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PREFERRED_URL_SCHEME="http",
        MAX_CONTENT_LENGTH=1024 * 1024,  # forms are small; refuse megabytes of "comment"
        TRUSTED_PROXIES=0,
    )
    app.config.from_prefixed_env("POSTSALES_WEB")
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = SessionInterface()
    app.extensions["postsales"] = app_services
    policy = sign_in_policy or ThrottlePolicy()
    if app.config.get("SIGN_IN_ADDRESS_LIMIT") is not None:  # a large office behind one NAT
        limit = _whole_number("SIGN_IN_ADDRESS_LIMIT", app.config["SIGN_IN_ADDRESS_LIMIT"], 1)
        policy = attrs.evolve(policy, address_limit=limit)
    app.extensions["postsales_sign_in_policy"] = policy

    # CSRF first, so a forged POST is refused before anything (even sign-out) looks at it.
    app.before_request(check_csrf)
    app.before_request(load_user)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["form_key"] = form_key
    app.jinja_env.globals["editor_row_numbers"] = editor_row_numbers
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["grouped"] = grouped
    app.jinja_env.tests["web_link"] = is_web_link  # only http(s) URLs become links

    app.register_blueprint(auth.bp)
    app.register_blueprint(new_order.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(customers.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(users.bp)
    errors.register(app)
    api.mount(app)  # /api/v1: the JSON API, an app of its own (see api/__init__.py)
    ops.install(app, app_services)  # /healthz, /readyz, /metrics, request ids (ops.py)
    proxies = _whole_number("TRUSTED_PROXIES", app.config["TRUSTED_PROXIES"], 0)
    if proxies:  # outermost, so the API sees the client's address too
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app


def _whole_number(name: str, value: object, minimum: int) -> int:
    """A `POSTSALES_WEB_<name>` setting that must be a whole number; start-up stops otherwise.

    TRUSTED_PROXIES is how many reverse proxies' forwarded headers to believe: 0 (none) by
    default, so a client cannot pick its own address by sending `X-Forwarded-For`."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            [f"POSTSALES_WEB_{name}: expected a whole number of at least {minimum}, got {value!r}"]
        )
    return value


__all__ = ["create_app"]
