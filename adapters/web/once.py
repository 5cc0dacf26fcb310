"""One effect per form (issue 13 item 3, issue 17 item 3): every rendered action form carries a
one-time key, kept like the API's Idempotency-Key (`postsales.core.services.idempotency`).

A form sent twice — a double click, back and resend, a reload of the confirmation — runs once:
the key's answer (where to go and what to say) commits with the action's effect, and any later
send of that form is answered with it instead of running again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request
from werkzeug.wrappers import Response

from postsales.core.faults import database_errors
from postsales.core.services import idempotency as keys

from .context import services, user
from .forms import CONTROL_FIELDS

FIELD = "form_key"
ALREADY = "This form had already been sent: it was not done again."


def form_key() -> str:
    """A fresh key for a form being rendered (a Jinja global)."""
    return uuid.uuid4().hex


def _fingerprint() -> str:
    fields = sorted(
        (k, v) for k, v in request.form.items(multi=True) if k not in CONTROL_FIELDS | {FIELD}
    )
    return keys.request_fingerprint(request.method, request.path, [list(f) for f in fields])


def sent_form() -> keys.KeyedRequest | None:
    """The key of the form being sent, or None for a form without one (answer set later)."""
    key = request.form.get(FIELD, "").strip()
    if not key:
        return None
    return keys.KeyedRequest(user().name, f"form:{key}", _fingerprint(), answer=_as_stored)


def _as_stored(done: tuple[str, str]) -> keys.StoredResponse:
    location, message = done
    return keys.StoredResponse(303, {"location": location, "flash": message})


def answered(sent: keys.KeyedRequest) -> Response | None:
    """The first send's answer (its message flashed again), if this form was sent before.

    A form sent again with other values (back, edit, resend) is not run either: it says so."""
    try:
        stored = keys.lookup(services(), sent.user_name, sent.key, sent.request_hash)
    except keys.KeyReused:
        flash(f"{ALREADY} Open the order again to do it once more.", "error")
        return redirect(request.path.rsplit("/actions/", 1)[0])
    except database_errors():
        return None  # the database is out of reach: the request's own error will say so
    if stored is None:
        return None
    flash(stored.response["flash"], "success")
    flash(ALREADY, "info")
    return redirect(stored.response["location"], 303)


def with_answer(
    sent: keys.KeyedRequest | None, render: Callable[[Any], tuple[str, str]]
) -> keys.KeyedRequest | None:
    """`sent` with its answer — (where to go, what to say) rendered from the outcome — for the
    service to commit with the effect."""
    if sent is None:
        return None
    return keys.KeyedRequest(
        sent.user_name, sent.key, sent.request_hash, answer=lambda o: _as_stored(render(o))
    )
