"""Orders: search (`GET /orders`, `POST /orders/search`), one order, and creating a draft."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput
from postsales.core.services.drafts import create_order
from postsales.core.services.orders import show_order

from .arguments import PAGING, paging
from .auth import api_user, services
from .idempotency import idempotent, keyed
from .payload import json_object, json_response, pop_flag

bp = Blueprint("orders", __name__)


def _search_service() -> Any:
    # Imported when used: the search service is its own module, and the rest of the API must
    # not depend on it being importable.
    from postsales.core.services.search import search_orders

    return search_orders


@bp.get("/orders")
def search() -> Response:
    """S-1 filters as query parameters; a filter given twice is read as `a,b` (several)."""
    filters = {
        name: ",".join(request.args.getlist(name)) for name in request.args if name not in PAGING
    }
    result = _search_service()(services(), api_user(), filters, **paging(request.args))
    return json_response(result.to_dict())


@bp.post("/orders/search")
def search_expression() -> Response:
    """An S-2 expression (`{"expression": …}` or the bare expression), filters and paging."""
    body = json_object()
    if "exp" in body:  # the bare expression of S-2
        body = {"expression": body}
    unknown = sorted(set(body) - {"expression", "filters", *PAGING})
    if unknown:
        raise BadInput(
            f"{unknown[0]}: unknown field; expected expression, filters, page, per_page, sort, "
            "after",
            field=unknown[0],
        )
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise BadInput("filters: expected an object of S-1 filters", field="filters")
    for name, value in filters.items():
        several = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not (isinstance(value, str) or several):
            where = f"filters.{name}"
            raise BadInput(f"{where}: expected text or a list of texts, got {value!r}", field=where)
    result = _search_service()(
        services(), api_user(), filters, expression=body.get("expression"), **paging(body)
    )
    return json_response(result.to_dict())


@bp.get("/orders/<order_id>")
def show(order_id: str) -> Response:
    return json_response(show_order(services(), order_id, api_user()))


@bp.post("/orders")
@idempotent
def create() -> Response:
    """A-12: a DRAFT order for a customer; `"dry_run": true` shows it without creating it."""
    params = json_object(empty_ok=False)
    dry_run = pop_flag(params, "dry_run")
    if dry_run:
        return json_response(create_order(services(), params, api_user(), dry_run=True))
    return _created(create_order(services(), params, api_user(), keyed=keyed(_created)))


def _created(document: dict[str, Any]) -> Response:
    location = url_for("api.orders.show", order_id=document["id"])
    return json_response(document, 201, {"Location": location})
