"""Actions on one order: what may be done (`GET`), and doing it (`POST`, with a dry run)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from postsales.core.errors import NotFound
from postsales.core.services.actions import ActionOutcome, list_actions, run_action

from .auth import api_user, services
from .idempotency import idempotent, keyed
from .payload import json_object, json_response, pop_flag

bp = Blueprint("actions", __name__)


@bp.get("/orders/<order_id>/actions")
def available(order_id: str) -> Response:
    """Every action with whether it is available now, why not, and its parameters' schema."""
    return json_response([a.to_dict() for a in list_actions(services(), order_id, api_user())])


@bp.post("/orders/<order_id>/actions/<name>")
@idempotent
def run(order_id: str, name: str) -> Response:
    """Run one action; the body holds its parameters and, optionally, `"dry_run": true`."""
    if name not in services().registry.actions:
        raise NotFound(f"there is no action named {name!r}")
    params = json_object()
    dry_run = pop_flag(params, "dry_run")
    outcome = run_action(
        services(), order_id, name, params, api_user(), dry_run=dry_run, keyed=keyed(_answer)
    )
    return _answer(outcome)


def _answer(outcome: ActionOutcome) -> Response:
    return json_response(outcome.to_document())
