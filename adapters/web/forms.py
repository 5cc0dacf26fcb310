"""Action forms rendered from an action's JSON schema, and posted forms read back into params.

Nothing here knows an action: any plugin's action gets a form from its declaration (SPEC §10).
Values are handed to the core as text; `parse_params` in the core converts and validates them,
so a bad number gets the same message through the web as through the CLI and the API. Only JSON
text is parsed here, because a form field cannot carry an object any other way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
from werkzeug.datastructures import MultiDict

from postsales.core.errors import BadInput
from postsales.core.limits import read_json

# Fields the web app itself puts in action forms; never passed to an action.
CONTROL_FIELDS = frozenset({"csrf_token", "preview"})


@attrs.frozen
class Choice:
    value: str
    label: str


@attrs.frozen
class FormField:
    """One input of an action form. `widget` is the template's switch."""

    name: str
    label: str
    widget: str  # text | textarea | select | number | checkbox | checkboxes | list | json
    required: bool = False
    help: str = ""
    choices: tuple[Choice, ...] = ()


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _line_choices(order: dict[str, Any]) -> tuple[Choice, ...]:
    return tuple(
        Choice(str(ln["line_number"]), f"{ln['line_number']} · {ln['name']} ({ln['status']})")
        for ln in order.get("lines", [])
    )


def _id_choices(order: dict[str, Any], key: str) -> tuple[Choice, ...]:
    return tuple(Choice(x["id"], f"{x['id']} ({x['status']})") for x in order.get(key, []))


def _widget(name: str, prop: dict[str, Any], order: dict[str, Any]) -> tuple[str, tuple]:
    kind = prop.get("type")
    if "enum" in prop:
        return "select", tuple(Choice(str(v), str(v)) for v in prop["enum"])
    if kind == "string":
        # Ids the order already lists are offered, not typed (a typo would only be refused).
        key = {"return_id": "returns", "refund_id": "refunds"}.get(name)
        if key and order.get(key):
            return "select", _id_choices(order, key)
        return ("textarea" if name in ("text", "comment", "description") else "text"), ()
    if kind == "integer":
        if name == "line" and order.get("lines"):
            return "select", _line_choices(order)
        return "number", ()
    if kind == "boolean":
        return "checkbox", ()
    if kind == "array":
        item = prop.get("items", {}).get("type")
        if item == "integer" and name == "lines" and order.get("lines"):
            return "checkboxes", _line_choices(order)
        if item in ("integer", "string"):
            return "list", ()
        return "json", ()
    if kind == "object":
        return "json", ()
    return "text", ()


def form_fields(schema: dict[str, Any], order: dict[str, Any]) -> list[FormField]:
    """The inputs for an action's parameter schema, in declaration order."""
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        widget, choices = _widget(name, prop, order)
        fields.append(
            FormField(
                name=name,
                label=_label(name),
                widget=widget,
                required=name in required,
                help=str(prop.get("description", "")),
                choices=choices,
            )
        )
    return fields


def _json(name: str, text: str) -> Any:
    try:
        return read_json(name, text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            field=name,
        ) from None


def read_params(fields: list[FormField], form: MultiDict[str, str]) -> dict[str, Any]:
    """Raw parameters from a posted form; an empty field is left out so defaults apply and a
    missing required one is named by the core."""
    params: dict[str, Any] = {}
    for field in fields:
        if field.widget == "checkbox":
            params[field.name] = field.name in form
            continue
        if field.widget in ("checkboxes", "list"):
            # Ticked boxes and comma-separated text read alike, so parsing a post does not
            # depend on which of the two the page showed.
            picked = [p.strip() for v in form.getlist(field.name) for p in v.split(",")]
            if any(picked):
                params[field.name] = [p for p in picked if p]
            continue
        raw = form.get(field.name, "")
        # Only an untouched field is "not given"; blank text goes to the core, whose
        # validators say what is wrong with it ("the comment must not be blank").
        if raw == "" or (not raw.strip() and field.widget in ("json", "number", "select")):
            continue
        if field.widget == "json":
            params[field.name] = _json(field.name, raw)
        elif field.widget == "number":
            params[field.name] = raw.strip()
        else:
            params[field.name] = raw
    return params


def passthrough(form: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The posted fields to carry, as hidden inputs, from a preview to its confirmation."""
    return [(k, v) for k, v in form.items(multi=True) if k not in CONTROL_FIELDS]
