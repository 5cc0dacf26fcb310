"""Messages: one inbound message in (`POST /messages`), the outbox out (`GET /outbox`)."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from postsales.core.services.messages.intake import ingest_as
from postsales.core.services.messages.outbox_read import list_outbox

from .arguments import flag, whole_number
from .auth import api_user, services
from .payload import json_object, json_response

bp = Blueprint("messages", __name__)


@bp.post("/messages")
def receive() -> Response:
    """One message envelope of SPEC §9; redelivery (same id) changes nothing."""
    json_object(empty_ok=False)  # refuse non-JSON with a 400 before the core reads it
    # The text, not the parsed object: the core reads it with its own (Decimal) decoder.
    status = ingest_as(services(), api_user(), request.get_data().decode("utf-8-sig"))
    return json_response({"status": status}, 202)


@bp.get("/outbox")
def outbox() -> Response:
    """Outbound messages, oldest first: the most recent `limit`, or those after `after`."""
    pending = flag("pending", request.args.get("pending"))
    limit = whole_number("limit", request.args.get("limit"))
    after = whole_number("after", request.args.get("after"))
    return json_response(
        list_outbox(
            services(),
            api_user(),
            pending=pending,
            limit=100 if limit is None else limit,
            after=after,
        )
    )
