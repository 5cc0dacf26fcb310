"""`Idempotency-Key` on requests that change things, in Stripe's manner (SPEC §10).

The rules live in `postsales.core.services.idempotency`; this module is the HTTP side: the
request's fingerprint (method, path, canonical JSON body), the response to keep (status, content
type, exact body text, `Location`), and the replay, marked `Idempotent-Replayed: true`.

A view under :func:`idempotent` hands its service `keyed(render)`: the service keeps the
rendered answer in the transaction of its effect. Client errors (4xx) and dry runs change
nothing, so they are kept afterwards and replayed like successes; a 5xx is not kept, so a retry
runs again — and finds the first answer if that request committed after all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, make_response, request
from werkzeug.wrappers import Response

from postsales.core.faults import database_errors
from postsales.core.services import idempotency as keys

from .auth import api_user, services
from .payload import body_or_raw
from .problems import response_for

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)
_PENDING = "postsales_idempotency"  # the request's (user, key, fingerprint), on flask.g
_KEPT = "postsales_idempotency_kept"  # set once a service rendered the answer it commits


def _stored(response: Response) -> keys.StoredResponse:
    return keys.StoredResponse(
        response.status_code,
        {
            "content_type": response.headers.get("Content-Type", ""),
            "body": response.get_data(as_text=True),
            "headers": {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers},
        },
    )


def _replay(stored: keys.StoredResponse) -> Response:
    kept = stored.response
    response = Response(kept["body"], status=stored.status_code, content_type=kept["content_type"])
    for name, value in kept.get("headers", {}).items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def keyed(render: Callable[[Any], Response]) -> keys.KeyedRequest | None:
    """The current request's key for a core service (None without one): `render` turns the
    service's outcome into the answer that commits with the effect."""
    pending: keys.KeyedRequest | None = g.get(_PENDING)
    if pending is None:
        return None

    def answer(outcome: Any) -> keys.StoredResponse:
        setattr(g, _KEPT, True)
        return _stored(render(outcome))

    return keys.KeyedRequest(pending.user_name, pending.key, pending.request_hash, answer)


def _lookup_after_failure(app: Any, pending: keys.KeyedRequest) -> keys.StoredResponse | None:
    """The key's answer, or None — also when the database is still out of reach, so the
    request's own error is the one answered."""
    try:
        return keys.lookup(app, pending.user_name, pending.key, pending.request_hash)
    except database_errors():
        return None


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a POST view safe to retry when the client sends an `Idempotency-Key`."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(**kwargs)
        app, who = services(), api_user().name
        fingerprint = keys.request_fingerprint(request.method, request.path, body_or_raw())
        stored = keys.lookup(app, who, key, fingerprint)
        if stored is not None:
            return _replay(stored)
        pending = keys.KeyedRequest(who, key, fingerprint, answer=_stored)
        setattr(g, _PENDING, pending)
        setattr(g, _KEPT, False)
        failure: Exception | None = None
        try:
            response = make_response(view(**kwargs))
        except Exception as exc:  # whatever was rendered rolled back with the effect
            failure = exc
        if failure is None and getattr(g, _KEPT):
            return response  # committed with its effect
        # Nothing committed under this key by this request; a duplicate may have won the race
        # (then this request's commit failed on the key, and its effect rolled back).
        stored = _lookup_after_failure(app, pending)
        if stored is not None:
            return _replay(stored)
        if failure is not None:
            response = response_for(failure)
        if response.status_code >= 500:
            return response
        kept = keys.remember(app, pending, _stored(response))
        return response if kept.response == _stored(response).response else _replay(kept)

    return wrapper
