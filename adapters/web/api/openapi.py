"""The OpenAPI 3.0 document at `/api/v1/openapi.json`, generated on request from the same
declarations the API runs on: one operation per registered action (so a plugin's action appears
with its parameter schema and no change here), the SPEC §11 documents from `schemas.py`, the
bearer scheme, and a problem+json response for every error status an operation can answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from werkzeug.wrappers import Response

from postsales.adapters import __version__
from postsales.core.actions import ActionSpec, params_schema
from postsales.core.bootstrap import Postsales

from .auth import services
from .idempotency import HEADER, REPLAYED
from .payload import json_response
from .problems import PROBLEM_JSON
from .schemas import COMPONENTS, IDEMPOTENCY_KEY, Schema, ref

bp = Blueprint("openapi", __name__)

PREFIX = "/api/v1"

# S-1 filter names and page sizes (SPEC §8), should the search service not load.
FILTERS = (
    "order_id", "client_order_reference", "first_name", "last_name", "name", "email",
    "telephone", "zip", "shipping_address", "billing_address", "from_date", "to_date",
    "purchased_from", "purchased_to",
    "sales_channel", "market", "status", "appeasement_status", "return_status", "order_type",
    "requested_to", "customer_type", "sku", "tracking_number", "payment_reference", "return_id",
    "q",
)  # fmt: skip
PAGE_SIZES = (10, 20, 50, 100)


def _search_vocabulary() -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """Filter names, page sizes and sort keys, from the search service itself when it loads."""
    try:
        from postsales.core.services import search
    except ImportError:
        return FILTERS, PAGE_SIZES, ()
    return tuple(search.FILTERS), tuple(search.PAGE_SIZES), tuple(search.SORTS)


ERRORS = {
    400: "Malformed request: the body is not JSON, or a query parameter is invalid.",
    401: "No bearer token, or not a valid one.",
    403: "The user lacks the permission.",
    404: "No such order, or one outside the user's stores (the two read the same).",
    409: "Refused by a rule, or by the order's state or lock.",
    422: "Invalid parameters (the problem's `field` names the one at fault), or an "
    "Idempotency-Key reused with a different request.",
}


def _json(schema: Schema, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _responses(ok: dict[int, Any], errors: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {str(status): body for status, body in ok.items()}
    for status in errors:
        out[str(status)] = {"$ref": f"#/components/responses/{status}"}
    return out


ORDER_ID = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    "example": "000000101",
}
IDEMPOTENCY = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": IDEMPOTENCY_KEY,
    "description": "Makes a retry safe: the same key and body replay the first response "
    "(kept 24 hours); the same key with another body is a 422.",
}
REPLAY_HEADERS = {
    REPLAYED: {
        "description": "`true` when this is the stored response of an earlier request.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _action_operation(spec: ActionSpec, plugin: str) -> dict[str, Any]:
    schema = params_schema(spec)
    properties = dict(schema.get("properties", {}))
    properties["dry_run"] = {
        "type": "boolean",
        "description": "Run it and roll it back: the answer shows what would happen.",
    }
    body_schema = {**schema, "properties": properties}
    description = spec.description or spec.label
    if spec.confirm:
        description += f"\n\nThe web app asks first: {spec.confirm}"
    return {
        "operationId": f"run_{spec.name}",
        "tags": ["actions"],
        "summary": f"{spec.label} (needs {spec.permission})",
        "description": f"{description}\n\nFrom plugin `{plugin}`.",
        "parameters": [ORDER_ID, IDEMPOTENCY],
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": body_schema}},
        },
        "responses": _responses(
            {
                200: _json(
                    ref("ActionOutcome"),
                    "Done (or, with dry_run, previewed).",
                    headers=REPLAY_HEADERS,
                )
            },
            (400, 401, 403, 404, 409, 422),
        ),
    }


def _query(name: str, schema: Schema, description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _paths(app: Postsales) -> dict[str, Any]:
    filter_names, page_sizes, sorts = _search_vocabulary()
    sort_schema: Schema = {"type": "string"}
    if sorts:
        sort_schema["enum"] = [*sorts, *(f"-{key}" for key in sorts)]
    paging = [
        _query("page", {"type": "integer", "minimum": 1}),
        _query("per_page", {"type": "integer", "enum": list(page_sizes)}),
        _query("sort", sort_schema, "A sort key; `-key` for descending."),
        _query("after", {"type": "string"}, "`next_cursor` of the previous page."),
    ]
    filters = [
        _query(name, {"type": "string"}, "S-1 filter; several values comma-separated.")
        for name in filter_names
    ]
    paths: dict[str, Any] = {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
        f"{PREFIX}/orders": {
            "get": {
                "operationId": "search_orders",
                "tags": ["orders"],
                "summary": "Search orders with S-1 filters (within the user's stores)",
                "parameters": filters + paging,
                "responses": _responses(
                    {200: _json(ref("SearchResult"), "One page of results.")}, (400, 401, 403)
                ),
            },
            "post": {
                "operationId": "create_order",
                "tags": ["orders"],
                "summary": "Create a DRAFT order for a customer (A-12)",
                "parameters": [IDEMPOTENCY],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("DraftOrder")}},
                },
                "responses": _responses(
                    {
                        201: _json(
                            ref("Order"),
                            "Created.",
                            headers={
                                "Location": {"schema": {"type": "string"}},
                                **REPLAY_HEADERS,
                            },
                        ),
                        200: _json(
                            ref("Order"),
                            "dry_run: the draft as it would be.",
                            headers=REPLAY_HEADERS,
                        ),
                    },
                    (400, 401, 403, 404, 409, 422),
                ),
            },
        },
        f"{PREFIX}/orders/search": {
            "post": {
                "operationId": "search_orders_expression",
                "tags": ["orders"],
                "summary": "Search orders with an S-2 expression",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"anyOf": [ref("SearchRequest"), ref("Expression")]}
                        }
                    },
                },
                "responses": _responses(
                    {200: _json(ref("SearchResult"), "One page of results.")},
                    (400, 401, 403, 422),
                ),
            }
        },
        f"{PREFIX}/orders/{{order_id}}": {
            "get": {
                "operationId": "show_order",
                "tags": ["orders"],
                "summary": "One order (the SPEC §11 order document)",
                "parameters": [ORDER_ID],
                "responses": _responses({200: _json(ref("Order"), "The order.")}, (401, 403, 404)),
            }
        },
        f"{PREFIX}/orders/{{order_id}}/actions": {
            "get": {
                "operationId": "list_actions",
                "tags": ["actions"],
                "summary": "Every action, whether it is available now and why not",
                "parameters": [ORDER_ID],
                "responses": _responses(
                    {200: _json({"type": "array", "items": ref("Action")}, "The actions.")},
                    (401, 403, 404),
                ),
            }
        },
    }
    for name in sorted(app.registry.actions):
        spec = app.registry.actions[name]
        paths[f"{PREFIX}/orders/{{order_id}}/actions/{name}"] = {
            "post": _action_operation(spec, app.registry.action_plugins[name])
        }
    paths[f"{PREFIX}/messages"] = {
        "post": {
            "operationId": "receive_message",
            "tags": ["messages"],
            "summary": "Apply one inbound message (SPEC §9); redelivery is harmless",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("Message")}},
            },
            "responses": _responses(
                {202: _json(ref("Ingested"), "Applied now, or a duplicate of one applied.")},
                (400, 401, 403, 404, 409, 422),
            ),
        }
    }
    paths[f"{PREFIX}/outbox"] = {
        "get": {
            "operationId": "list_outbox",
            "tags": ["messages"],
            "summary": "Outbound messages about orders the user may see, oldest first",
            "parameters": [
                _query("pending", {"type": "boolean"}, "Only messages not relayed yet."),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("after", {"type": "integer", "minimum": 0}, "A `seq` to continue after."),
            ],
            "responses": _responses(
                {200: _json({"type": "array", "items": ref("OutboxMessage")}, "Messages.")},
                (400, 401, 403),
            ),
        }
    }
    return paths


def _version() -> str:
    return __version__


def document(app: Postsales) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document for this installation's actions."""
    problem = {PROBLEM_JSON: {"schema": ref("Problem")}}
    responses = {
        str(status): {"description": text, "content": problem} for status, text in ERRORS.items()
    }
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer …`"}
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Postsales API",
            "version": _version(),
            "description": "Customer-service order management: find an order and act on it. "
            "Authenticate with `Authorization: Bearer <token>` (`postsales users token NAME`). "
            'Errors are application/problem+json. Money is text ("45.00"); JSON numbers sent '
            "are read as decimals, never floats.",
        },
        "security": [{"bearer": []}],
        "tags": [{"name": t} for t in ("orders", "actions", "messages", "meta")],
        "paths": _paths(app),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": COMPONENTS,
            "responses": responses,
        },
    }


@bp.get("/openapi.json", endpoint="document")
def openapi_document() -> Response:
    return json_response(document(services()))
