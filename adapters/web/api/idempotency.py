"""`Idempotency-Key` on requests that change things, in Stripe's manner (SPEC §10).

The rules live in `postsales.core.services.idempotency`; this decorator is the HTTP side:
the request's fingerprint (method, path, canonical JSON body), the response to keep (status,
content type, exact body text, `Location`), and the replay, marked `Idempotent-Replayed: true`.
Client errors (4xx) are kept and replayed like successes; a 5xx is not kept, so a retry runs
again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import make_response, request
from werkzeug.wrappers import Response

from postsales.core.services import idempotency as keys

from .auth import api_user, services
from .payload import body_or_raw
from .problems import response_for

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)


def _stored(response: Response) -> dict[str, Any]:
    return {
        "content_type": response.headers.get("Content-Type", ""),
        "body": response.get_data(as_text=True),
        "headers": {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers},
    }


def _replay(stored: keys.StoredResponse) -> Response:
    kept = stored.response
    response = Response(kept["body"], status=stored.status_code, content_type=kept["content_type"])
    for name, value in kept.get("headers", {}).items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a POST view safe to retry when the client sends an `Idempotency-Key`."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(**kwargs)
        app, who = services(), api_user().name
        fingerprint = keys.request_fingerprint(request.method, request.path, body_or_raw())
        stored = keys.claim(app, who, key, fingerprint)
        if stored is not None:
            return _replay(stored)
        try:
            response = make_response(view(**kwargs))
        except Exception as exc:  # mapped exactly as the error handlers would, then kept
            response = response_for(exc)
        if response.status_code >= 500:
            keys.release(app, who, key)
        else:
            keys.complete(app, who, key, response.status_code, _stored(response))
        return response

    return wrapper
