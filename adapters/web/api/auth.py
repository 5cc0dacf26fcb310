"""Bearer tokens (SPEC §10): `Authorization: Bearer <token>`, tokens from `postsales users token`.

A token acts as its user with the token's scope (read-only, or some permissions); revoked and
expired tokens, and tokens of a user since removed, are refused alike (`core/services/tokens.py`).

The API keeps no session and reads no cookie, so a browser signed in to the web app cannot be
made to call it (no CSRF to defend against), and the web app's session never grants API access.
"""

from __future__ import annotations

from flask import current_app, g, request

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.services.tokens import TokenUse, user_for_token

from .problems import Unauthenticated

PUBLIC_ENDPOINTS = frozenset({"api.openapi.document"})


def services() -> Postsales:
    return current_app.extensions["postsales"]  # type: ignore[no-any-return]


def api_user() -> User:
    """The token's user; every non-public view runs after `authenticate`."""
    return g.api_user  # type: ignore[no-any-return]


def authenticate() -> None:
    """Before each API request: find the bearer token's user or answer 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise Unauthenticated(
            "Send Authorization: Bearer <token>; `postsales users token NAME` makes a token."
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "The Authorization header must be `Bearer <token>`.", error="invalid_request"
        )
    use = TokenUse("api", request.method, request.path, request.remote_addr)
    found = user_for_token(services(), token, use)
    if found is None or found.is_system:
        # The CLI's built-in `system` user has no network door, whatever token names it.
        raise Unauthenticated("The bearer token is not valid.", error="invalid_token")
    g.api_user = found
