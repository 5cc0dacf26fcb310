"""JSON schemas (OpenAPI 3.0 dialect) of what the API sends and takes, other than action
parameters, which come from each action's own declaration (`postsales.core.actions`).

They describe the SPEC §11 contracts closely enough to validate responses against them (the
schemathesis test does), while leaving documents open to new keys (`additionalProperties` is
not closed on outputs: SPEC §11 lets contracts grow).
"""

from __future__ import annotations

from typing import Any

from postsales.core.domain.customers import CUSTOMER_TYPES
from postsales.core.services.drafts import ADDRESS_FIELDS, CUSTOMER_FIELDS
from postsales.core.services.idempotency import KEY_MAX_LENGTH

Schema = dict[str, Any]

MONEY: Schema = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d+)?$",
    "description": 'An amount in the currency\'s decimals, as text ("45.00").',
    "example": "45.00",
}
MONEY_IN: Schema = {
    "oneOf": [MONEY, {"type": "number"}],
    "description": "An amount as text or a JSON number (read as a decimal, never a float).",
}
TEXT: Schema = {"type": "string"}
MAYBE_TEXT: Schema = {"type": "string", "nullable": True}
TIME: Schema = {"type": "string", "format": "date-time", "description": "ISO-8601 with offset."}
MAYBE_TIME: Schema = {**TIME, "nullable": True}


def obj(
    properties: dict[str, Schema],
    *,
    required: list[str] | None = None,
    properties_more: dict[str, Schema] | None = None,
    **extra: Any,
) -> Schema:
    """An object schema: every property in `properties` is required unless `required` says
    otherwise; `properties_more` are described but optional."""
    schema: Schema = {"type": "object", "properties": {**properties, **(properties_more or {})}}
    schema["required"] = list(properties) if required is None else required
    if not schema["required"]:
        del schema["required"]
    schema.update(extra)
    return schema


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


ADDRESS: Schema = obj({name: TEXT for name in ADDRESS_FIELDS}, nullable=True)
ADDRESS_IN: Schema = obj(
    {name: TEXT for name in ADDRESS_FIELDS}, required=[], additionalProperties=False
)

ORDER: Schema = obj(
    {
        "id": TEXT,
        "status": TEXT,
        "status_reason": MAYBE_TEXT,
        "order_type": TEXT,
        "parent_order_id": MAYBE_TEXT,
        "related_order_ids": array(TEXT),
        "sales_channel": TEXT,
        "market": MAYBE_TEXT,
        "currency": TEXT,
        "client_order_reference": MAYBE_TEXT,
        "language": MAYBE_TEXT,
        "vat_country": MAYBE_TEXT,
        "customer": obj(
            {
                "id": MAYBE_TEXT,
                "type": MAYBE_TEXT,
                "first_name": MAYBE_TEXT,
                "last_name": MAYBE_TEXT,
                "email": MAYBE_TEXT,
                "phone": MAYBE_TEXT,
            }
        ),
        "billing_address": ref("Address"),
        "shipping_address": ref("Address"),
        "shipping_method": MAYBE_TEXT,
        "created_at": TIME,
        "origin_date": MAYBE_TIME,
        "totals": obj(
            {"grand_total": MONEY, "captured": MONEY, "total_due": MONEY, "refunded": MONEY}
        ),
        "lock": obj({"holder": TEXT, "expires_at": MAYBE_TIME}, nullable=True),
        "lines": array(
            obj(
                {
                    "line_number": {"type": "integer"},
                    "sku": TEXT,
                    "parent_sku": MAYBE_TEXT,
                    "name": MAYBE_TEXT,
                    "image_url": MAYBE_TEXT,
                    "product_type": TEXT,
                    "parent_line_number": {"type": "integer", "nullable": True},
                    "status": TEXT,
                    "status_reason": MAYBE_TEXT,
                    "original_price": MONEY,
                    "discount": MONEY,
                    "net_amount": MONEY,
                    "tax_amount": MONEY,
                    "gross_amount": MONEY,
                    "tax_rate": TEXT,
                    "refunded_amount": MONEY,
                    "appeased_amount": MONEY,
                    "source_id": MAYBE_TEXT,
                },
                properties_more={"reserved_source_id": MAYBE_TEXT},
            )
        ),
        "payments": array(
            obj(
                {
                    "reference": TEXT,
                    "method": MAYBE_TEXT,
                    "payment_id": MAYBE_TEXT,
                    "requested_amount": MONEY,
                    "captured_amount": MONEY,
                    "operations": array(
                        obj(
                            {
                                "event": TEXT,
                                "amount": MONEY,
                                "response": MAYBE_TEXT,
                                "at": MAYBE_TIME,
                            }
                        )
                    ),
                }
            )
        ),
        "shipments": array(
            obj(
                {
                    "id": TEXT,
                    "source_id": MAYBE_TEXT,
                    "status": TEXT,
                    "lines": array({"type": "integer"}),
                    "carrier": MAYBE_TEXT,
                    "tracking_number": MAYBE_TEXT,
                    "tracking_link": MAYBE_TEXT,
                    "box_number": MAYBE_TEXT,
                    "shipped_at": MAYBE_TIME,
                },
                properties_more={"tracking_comment": MAYBE_TEXT},
            )
        ),
        "returns": array(
            obj(
                {
                    "id": TEXT,
                    "status": TEXT,
                    "lines": array({"type": "integer"}),
                    "reason": MAYBE_TEXT,
                    "comment": MAYBE_TEXT,
                    "source_id": MAYBE_TEXT,
                    "refunds": {"type": "boolean"},
                    "needs_approval_reason": MAYBE_TEXT,
                    "related_order_id": MAYBE_TEXT,
                    "created_by": MAYBE_TEXT,
                    "created_at": MAYBE_TIME,
                }
            )
        ),
        "refunds": array(
            obj(
                {
                    "id": TEXT,
                    "kind": TEXT,
                    "status": TEXT,
                    "amount": MONEY,
                    "lines": array(obj({"line_number": {"type": "integer"}, "amount": MONEY})),
                    "return_id": MAYBE_TEXT,
                    "reason": MAYBE_TEXT,
                    "description": MAYBE_TEXT,
                    "credit_note": MAYBE_TEXT,
                    "gateway_mismatch": MAYBE_TEXT,
                    "created_by": MAYBE_TEXT,
                    "created_at": MAYBE_TIME,
                }
            )
        ),
        "comments": array(obj({"at": MAYBE_TIME, "author": MAYBE_TEXT, "text": MAYBE_TEXT})),
        "history": array(
            obj(
                {"at": MAYBE_TIME, "actor": MAYBE_TEXT, "kind": TEXT, "summary": MAYBE_TEXT},
                properties_more={
                    # The entry's facts (carrier, tracking, lines, payment event), in order.
                    "details": array(
                        obj(
                            {"label": TEXT, "value": MAYBE_TEXT},
                            properties_more={
                                "before": MAYBE_TEXT,
                                "status": TEXT,
                                "image_url": MAYBE_TEXT,
                            },
                        )
                    )
                },
            )
        ),
    },
    properties_more={
        "stock": array(
            obj(
                {
                    "sku": TEXT,
                    "source_id": TEXT,
                    "on_hand": {"type": "integer"},
                    "reserved": {"type": "integer"},
                    "available": {"type": "integer"},
                }
            )
        )
    },
    description="The order document of SPEC §11 (as `postsales orders show --json`); `stock`: "
    "on hand, reserved and available of its SKUs per source (not in an action's answer).",
)

ACTION: Schema = obj(
    {
        "name": TEXT,
        "label": TEXT,
        "available": {"type": "boolean"},
        "reason": {**MAYBE_TEXT, "description": "Why it is not available now (null when it is)."},
        "permission": TEXT,
        "params": {
            "type": "object",
            "description": "The JSON schema of its parameters; `x-widget` says what each is and, "
            "for an available action, `x-options`, `x-value`, `x-maximum` what this order offers.",
        },
        "confirm": {**MAYBE_TEXT, "description": "A question to ask before running it."},
        "confirm_label": {
            **MAYBE_TEXT,
            "description": "The confirmation button's words, `{placeholders}` filled from the "
            "preview (null: computed by the action, or its label).",
        },
        "description": TEXT,
        "requirement": TEXT,
        "plugin": TEXT,
    }
)

ACTION_OUTCOME: Schema = obj(
    {
        "dry_run": {"type": "boolean"},
        "result": {"type": "object", "description": "The ids the action created, by kind."},
        "messages": array(obj({"id": TEXT, "type": TEXT, "payload": {"type": "object"}})),
        "order": ref("Order"),
    },
    description="What `postsales act --json` prints: the order as it is (or would be) after.",
)

SEARCH_RESULT: Schema = obj(
    {
        "total": {"type": "integer", "minimum": 0},
        "total_capped": {
            "type": "boolean",
            "description": "Present and true when `total` is a capped lower bound.",
        },
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "orders": array(
            obj(
                {
                    "id": TEXT,
                    "sales_channel": TEXT,
                    "created_at": TIME,
                    "bill_to": MAYBE_TEXT,
                    "ship_to": MAYBE_TEXT,
                    "status": TEXT,
                    "grand_total": MONEY,
                },
                properties_more={
                    "origin_date": MAYBE_TIME,
                    "currency": TEXT,
                    "market": MAYBE_TEXT,
                    "order_type": TEXT,
                    "customer_name": MAYBE_TEXT,
                    "email": MAYBE_TEXT,
                    "customer_type": MAYBE_TEXT,
                    "locked_by": MAYBE_TEXT,
                },
            )
        ),
        "next_cursor": {
            **MAYBE_TEXT,
            "description": "Pass as `after` for the next page (keyset paging); null on the last.",
        },
        "single": {
            "type": "string",
            "description": "The id of the one order found, when exactly one was.",
        },
        "read_from": {
            "type": "string",
            "enum": ["replica"],
            "description": "Present when a read replica answered: figures may be behind.",
        },
        "lag_seconds": {
            "type": "number",
            "nullable": True,
            "description": "With `read_from`: the replica's lag at its last check, in seconds.",
        },
    },
    required=["total", "page", "per_page", "orders"],
    description="Search output of SPEC §11 (as `postsales orders search --json`).",
)

OUTBOX_MESSAGE: Schema = obj(
    {
        "seq": {"type": "integer", "description": "Position in the outbox; use as `after`."},
        "id": TEXT,
        "type": TEXT,
        "order_id": MAYBE_TEXT,
        "created_at": TIME,
        "state": {"type": "string", "enum": ["pending", "sent"]},
        "sent_at": MAYBE_TIME,
        "payload": {"type": "object"},
    }
)

INGESTED: Schema = obj({"status": {"type": "string", "enum": ["applied", "duplicate"]}})

MESSAGE_IN: Schema = obj(
    {
        "id": {"type": "string", "description": "Unique message id: a redelivery changes nothing."},
        "type": {"type": "string", "example": "sales.order_management.create"},
        "created_at": TIME,
        "payload": {"type": "object"},
    },
    description="An inbound message envelope of SPEC §9 (see `examples/messages/`).",
)

DRAFT_IN: Schema = obj(
    {
        "sales_channel": {"type": "string", "example": "ST1"},
        "customer": {
            "oneOf": [
                {"type": "string", "description": "An existing customer's id."},
                obj(
                    {
                        **{name: TEXT for name in CUSTOMER_FIELDS},
                        "type": {"type": "string", "enum": list(CUSTOMER_TYPES)},
                    },
                    required=["first_name", "last_name", "email"],
                    additionalProperties=False,
                ),
            ]
        },
        "shipping_address": ref("AddressInput"),
        "billing_address": ref("AddressInput"),
        "shipping_method": TEXT,
        "lines": array(
            obj(
                {"sku": TEXT, "quantity": {"type": "integer", "minimum": 1}, "price": MONEY_IN},
                required=["sku"],
                additionalProperties=False,
            )
        ),
        "dry_run": {"type": "boolean", "description": "Show the draft without creating it."},
    },
    required=["sales_channel", "customer", "shipping_address", "shipping_method", "lines"],
    additionalProperties=False,
    description="A-12: a DRAFT order for a customer, paid later with `add_payment`.",
)

EXPRESSION: Schema = {
    "type": "object",
    "description": (
        'An S-2 filter expression, e.g. {"exp": "ge", "args": [{"exp": "field", "args": '
        '[{"value": "origin_date"}]}, {"value": "2017-01-01T00:00:00+00:00", "type": '
        '"datetime"}]}; operators eq ne gt ge lt le like in and or not.'
    ),
}

SEARCH_IN: Schema = obj(
    {
        "expression": ref("Expression"),
        "filters": {
            "type": "object",
            "additionalProperties": {
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "description": "S-1 filters by name, as in the query of `GET /orders`; several "
            "values as a list or comma-separated.",
        },
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "enum": [10, 20, 50, 100]},
        "sort": TEXT,
        "after": TEXT,
    },
    required=[],
    additionalProperties=False,
)

PROBLEM: Schema = obj(
    {
        "type": {"type": "string", "example": "urn:postsales:problem:refused"},
        "title": TEXT,
        "status": {"type": "integer"},
        "detail": TEXT,
        "field": {"type": "string", "description": "The input at fault, when known."},
        "instance": {"type": "string"},
    },
    required=["type", "title", "status", "detail"],
    description="RFC 9457 problem details.",
)

IDEMPOTENCY_KEY: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": KEY_MAX_LENGTH,
    "pattern": "^[ -~]+$",
}

COMPONENTS: dict[str, Schema] = {
    "Order": ORDER,
    "Address": ADDRESS,
    "AddressInput": ADDRESS_IN,
    "Action": ACTION,
    "ActionOutcome": ACTION_OUTCOME,
    "SearchResult": SEARCH_RESULT,
    "SearchRequest": SEARCH_IN,
    "Expression": EXPRESSION,
    "OutboxMessage": OUTBOX_MESSAGE,
    "Message": MESSAGE_IN,
    "Ingested": INGESTED,
    "DraftOrder": DRAFT_IN,
    "Problem": PROBLEM,
}
