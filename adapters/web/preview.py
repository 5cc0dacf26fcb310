"""What a confirmation page shows, from the action's dry run (issue 13 item 2).

The dry run is the action itself, rolled back (`services.actions.run_action`): the lines, the
amount per line, the refund total, the orders created and the e-mail are what the confirmed
action will do. The button says it ("Refund 32.80 USD", "Cancel order 000000102") from the
action's `confirm_label`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from postsales.core.services.actions import ActionAvailability, ActionOutcome

EMAIL = "notification.email"
# Parameters repeated on the confirmation as the agent entered them.
_SAID = ("text", "long_text", "choice", "money", "return", "refund", "shipment", "source", "sku")


@attrs.frozen
class Preview:
    question: str
    button: str
    lines: list[dict[str, Any]]  # the order's lines the parameters name
    refunds: list[dict[str, Any]]  # the refunds created, each with its lines named
    refund_total: str  # "32.80 USD", or "" when nothing is refunded
    orders: list[dict[str, Any]]  # the orders created (id, type, lines)
    emails: list[dict[str, str]]  # to, subject
    messages: list[str]  # the other messages' types
    summary: str  # other ids created ("returns: RET-…")
    notes: list[str]
    given: list[tuple[str, str]]  # what the agent entered (Reason: …), by label
    deleted: list[str]  # orders deleted
    danger: bool  # cancels or deletes: the button is red


class _KeepMissing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, Any]) -> str:
    """A template with the agent's values filled in ("Refund {amount} on line {line}?" ->
    "Refund 12.50 on line 2?"); unknown names stay as they are."""
    shown = {k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return template.format_map(_KeepMissing(shown))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template  # a plugin's odd braces must not cost the agent the page


def _numbers(value: Any) -> list[int]:
    """Line numbers named by a parameter: 2, "2", [1, 2], [{"line": 1, …}]."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        raw = item.get("line") if isinstance(item, dict) else item
        try:
            out.append(int(str(raw).strip()))
        except (TypeError, ValueError):
            continue
    return out


def _named_lines(action: ActionAvailability, params: dict[str, Any], doc: dict[str, Any]):
    by_number = {ln["line_number"]: ln for ln in doc.get("lines", [])}
    props = action.params.get("properties", {})
    chosen: list[int] = []
    changes: dict[int, str] = {}  # a line item's other values: "→ MJ01-L-RED", "5.00"
    for name, prop in props.items():
        if prop.get("x-widget") in ("line", "lines", "line_items") and name in params:
            chosen += [n for n in _numbers(params[name]) if n not in chosen]
        if prop.get("x-widget") == "line_items" and isinstance(params.get(name), list):
            for item in params[name]:
                if isinstance(item, dict) and _numbers(item):
                    rest = [str(v) for k, v in item.items() if k != "line"]
                    changes[_numbers(item)[0]] = ", ".join(rest)
    return [{**by_number[n], "change": changes.get(n, "")} for n in chosen if n in by_number]


def _created_refunds(outcome: ActionOutcome) -> list[dict[str, Any]]:
    doc = outcome.order
    names = {ln["line_number"]: ln["name"] for ln in doc.get("lines", [])}
    created = set(outcome.result.get("refunds", []))
    out = []
    for r in doc.get("refunds", []):
        if r["id"] in created:
            lines = [{**rl, "name": names.get(rl["line_number"], "")} for rl in r["lines"]]
            out.append({**r, "lines": lines})
    return out


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def build(
    action: ActionAvailability, outcome: ActionOutcome, params: dict[str, Any], order_id: str
) -> Preview:
    doc = outcome.order
    currency = doc.get("currency", "")
    refunds = _created_refunds(outcome)
    total = sum((Decimal(r["amount"]) for r in refunds), Decimal(0))
    refund_total = f"{total} {currency}" if refunds else ""
    values = {**params, "order_id": order_id, "refund_total": refund_total,
              "lines": ", ".join(str(ln["line_number"]) for ln in
                                 _named_lines(action, params, doc))}  # fmt: skip
    label = action.confirm_label
    if callable(label):
        try:
            button = label(doc, outcome.result, params)
        except Exception:  # a plugin's label must not cost the agent the confirmation
            button = action.label
    elif label:
        button = fill(label, values)
    else:
        button = f"Refund {refund_total}" if refund_total else action.label
    emails = [
        {"to": str(m["payload"].get("to", "")), "subject": str(m["payload"].get("subject", ""))}
        for m in outcome.messages
        if m["type"] == EMAIL and isinstance(m.get("payload"), dict)
    ]
    created_orders = [{"id": oid} for oid in outcome.result.get("orders", [])]
    shown_keys = ("refunds", "orders", "notes", "deleted")
    summary = "; ".join(
        f"{k.replace('_', ' ').capitalize()}: {_shown(v)}"
        for k, v in sorted(outcome.result.items())
        if k not in shown_keys and v
    )
    props = action.params.get("properties", {})
    given = [
        (str(prop.get("title") or name.replace("_", " ").capitalize()), str(params[name]))
        for name, prop in props.items()
        if prop.get("x-widget") in _SAID and str(params.get(name, "")).strip()
    ]
    return Preview(
        question=fill(action.confirm or "", values),
        button=button,
        lines=_named_lines(action, params, doc),
        refunds=refunds,
        refund_total=refund_total,
        orders=created_orders,
        emails=emails,
        messages=sorted({m["type"] for m in outcome.messages if m["type"] != EMAIL}),
        summary=summary,
        notes=list(outcome.result.get("notes", [])),
        given=given,
        deleted=list(outcome.result.get("deleted", [])),
        danger=button.startswith(("Cancel", "Delete")),
    )
