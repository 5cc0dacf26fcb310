"""Action forms rendered from an action's per-order schema, and posted forms read back into params.

Nothing here knows an action: any plugin's action gets a form from what its parameters declare
(`x-widget` and the per-order `x-options`, `x-value`, `x-maximum` of `postsales.core.widgets`,
SPEC §10). Values are handed to the core as text; `parse_params` in the core converts and
validates them, so a bad number gets the same message through the web as through the CLI and
the API. Only an undeclared object parameter of an outside plugin falls back to JSON text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import attrs
from werkzeug.datastructures import MultiDict

from postsales.core.errors import BadInput
from postsales.core.limits import read_json

# Fields the web app itself puts in action forms; never passed to an action.
CONTROL_FIELDS = frozenset({"csrf_token", "preview"})
ROWS = 3  # blank rows offered for a list of objects that is not per line
EDITOR_ROWS = 50  # product rows a line editor may send (the page's script adds rows)
_EDITOR_ROW = re.compile(r"^(?P<field>\w+)-(?P<row>\d{1,4})-(?P<part>\w+)$")


@attrs.frozen
class Choice:
    value: str
    label: str
    disabled: str | None = None  # why it cannot be chosen, shown beside it
    detail: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class FormField:
    """One input of an action form. `widget` is the template's switch:
    text | textarea | select | number | money | checkbox | lines | line | line_items | rows |
    line_editor | address | list | json."""

    name: str
    label: str
    widget: str
    required: bool = False
    asked: bool = False  # required by the form only (cancel's reason), not by the schema
    help: str = ""
    choices: tuple[Choice, ...] = ()
    hint: str = ""  # what is allowed on this order ("at most 32.80 USD left to appease")
    currency: str = ""
    maximum: str = ""
    max_length: int | None = None
    value: dict[str, str] = attrs.field(factory=dict)  # an address's prefilled values
    parts: tuple[FormField, ...] = ()  # the inputs of one row (line_items, rows, address)
    per_line: dict[str, str] = attrs.field(factory=dict)  # money: the maximum per line
    line_field: str = ""  # money: the line field its maximum depends on
    maximum_text: str = ""


def _label(name: str, prop: dict[str, Any]) -> str:
    return str(prop.get("title") or name.replace("_", " ").capitalize())


def _line_choices(prop: dict[str, Any], currency: str) -> tuple[Choice, ...]:
    out = []
    for o in prop.get("x-options", []):
        label = f"{o['value']} · {o['label']}"
        out.append(Choice(str(o["value"]), label, o.get("disabled"), dict(o)))
    return tuple(out)


def _option_choices(prop: dict[str, Any]) -> tuple[Choice, ...]:
    return tuple(
        Choice(str(o["value"]), str(o["label"]), o.get("disabled"))
        for o in prop.get("x-options", [])
    )


def _sub_fields(prop: dict[str, Any]) -> tuple[FormField, ...]:
    item = prop.get("items", {})
    required = set(item.get("required", ()))
    per_order = prop.get("x-item-options", {})  # a row's line, chosen among the order's
    return tuple(
        _field(
            name,
            {**sub, "x-options": per_order[name]} if name in per_order else sub,
            name in required,
            "",
        )
        for name, sub in item.get("properties", {}).items()
    )


def _field(name: str, prop: dict[str, Any], required: bool, currency: str) -> FormField:
    kind = prop.get("type")
    widget = prop.get("x-widget")
    common = {
        "name": name,
        "label": _label(name, prop),
        "required": required or bool(prop.get("x-required-in-forms")),
        "asked": bool(prop.get("x-required-in-forms")) and not required,
        "help": str(prop.get("description", "")),
        "max_length": prop.get("maxLength"),
    }
    if widget in ("line", "lines"):
        shape = "lines" if widget == "lines" or kind == "array" else "line"
        return FormField(widget=shape, choices=_line_choices(prop, currency), **common)
    if widget == "line_items":
        return FormField(
            widget="line_items",
            choices=_line_choices(prop, currency),
            parts=_sub_fields(prop),
            **common,
        )
    if widget == "line_editor":
        parts = _sub_fields(prop)
        line = next((p for p in parts if p.widget == "line"), None)
        return FormField(
            widget="line_editor",
            parts=parts,
            choices=line.choices if line else (),
            currency=currency,
            **common,
        )
    if widget == "address":
        parts = tuple(
            FormField(name=f["name"], label=f["label"], widget="text")
            for f in prop.get("x-address-fields", [])
        )
        value = {k: str(v or "") for k, v in (prop.get("x-value") or {}).items()}
        return FormField(widget="address", parts=parts, value=value, **common)
    if widget == "sku":
        return FormField(widget="sku", **common)
    if widget == "money":
        return FormField(
            widget="money",
            hint=str(prop.get("x-hint", "")),
            currency=str(prop.get("x-currency", currency if currency else "")),
            maximum=str(prop.get("x-maximum", "")),
            per_line=dict(prop.get("x-maximum-per-line", {})),
            line_field=str(prop.get("x-line-field", "")),
            maximum_text=str(prop.get("x-maximum-text", "")),
            **common,
        )
    if widget in ("return", "refund", "shipment", "source"):
        return FormField(widget="select", choices=_option_choices(prop), **common)
    if "enum" in prop:
        return FormField(
            widget="select", choices=tuple(Choice(str(v), str(v)) for v in prop["enum"]), **common
        )
    if widget == "long_text":
        return FormField(widget="textarea", **common)
    if kind == "string":
        return FormField(widget="text", **common)
    if kind == "integer":
        return FormField(widget="number", **common)
    if kind == "boolean":
        return FormField(widget="checkbox", **common)
    if kind == "array":
        item = prop.get("items", {})
        if item.get("type") in ("integer", "string"):
            return FormField(widget="list", **common)
        if item.get("type") == "object" and item.get("properties"):
            return FormField(widget="rows", parts=_sub_fields(prop), **common)
        return FormField(widget="json", **common)
    if kind == "object" and prop.get("properties"):
        # A typed object without a declared widget: its fields, one input each.
        parts = tuple(
            FormField(name=n, label=_label(n, p), widget="text")
            for n, p in prop["properties"].items()
        )
        return FormField(widget="address", parts=parts, **common)
    if kind == "object":
        return FormField(widget="json", **common)
    return FormField(widget="text", **common)


def form_fields(schema: dict[str, Any], order: dict[str, Any]) -> list[FormField]:
    """The inputs for an action's parameter schema, in declaration order."""
    required = set(schema.get("required", ()))
    currency = str(order.get("currency", ""))
    return [
        _field(name, prop, name in required, currency)
        for name, prop in schema.get("properties", {}).items()
    ]


def shown(field: FormField) -> bool:
    """An optional choice with nothing to choose from is left out of the form."""
    return not (field.widget == "select" and not field.choices and not field.required)


def _json(name: str, text: str) -> Any:
    try:
        return read_json(name, text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            field=name,
        ) from None


def _part_value(part: FormField, form: MultiDict[str, str], key: str) -> Any:
    """One input of a row, or None when left empty (defaults apply)."""
    if part.widget == "checkbox":
        return True if key in form else None
    raw = form.get(key, "")
    return raw.strip() if raw.strip() else None


def _row(field: FormField, form: MultiDict[str, str], prefix: str) -> dict[str, Any]:
    return {
        p.name: v
        for p in field.parts
        if (v := _part_value(p, form, f"{prefix}{p.name}")) is not None
    }


def _line_items(field: FormField, form: MultiDict[str, str]) -> list[dict[str, Any]] | None:
    line_part = next((p.name for p in field.parts if p.widget in ("line", "number")), "line")
    items = []
    for choice in field.choices:
        row = _row(field, form, f"{field.name}-{choice.value}-")
        row.pop(line_part, None)
        if row:  # a line is chosen by giving it something (a new SKU, a discount)
            items.append({line_part: choice.value, **row})
    return items or None


def _rows(field: FormField, form: MultiDict[str, str]) -> list[dict[str, Any]] | None:
    items = [row for i in range(ROWS) if (row := _row(field, form, f"{field.name}-{i}-"))]
    return items or None


def editor_parts(field: FormField) -> tuple[str, str, list[FormField]]:
    """A line editor's parts: the line a row removes, the flag that says so, and what a row
    that adds a product gives (SKU, quantity, price)."""
    line = next((p.name for p in field.parts if p.widget == "line"), "line")
    flag = next((p.name for p in field.parts if p.widget == "checkbox"), "remove")
    return line, flag, [p for p in field.parts if p.name not in (line, flag)]


def editor_rows(field: FormField, form: MultiDict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """What a line editor sent, each with the input prefix its errors are shown at: the
    lines ticked for removal first, then each product row that holds something."""
    line, flag, adds = editor_parts(field)
    out: list[tuple[str, dict[str, Any]]] = [
        (f"{field.name}-remove", {line: n.strip(), flag: True})
        for n in form.getlist(f"{field.name}-remove")
        if n.strip()
    ]
    numbers = sorted({
        int(m["row"]) for k in form
        if (m := _EDITOR_ROW.match(k)) and m["field"] == field.name and m["row"].isdigit()
    })  # fmt: skip
    for i in numbers[:EDITOR_ROWS]:
        prefix = f"{field.name}-{i}-"
        row = {p.name: v for p in adds if (v := _part_value(p, form, prefix + p.name)) is not None}
        if row:
            out.append((prefix, row))
    return out


def editor_row_numbers(field: FormField, form: MultiDict[str, str] | None) -> list[int]:
    """The product rows a line editor shows: those sent back (an error keeps them), and
    blank ones up to three."""
    numbers = sorted({
        int(m["row"]) for k in (form or {})
        if (m := _EDITOR_ROW.match(k)) and m["field"] == field.name
    })[:EDITOR_ROWS]  # fmt: skip
    nxt = max(numbers, default=-1) + 1
    return numbers + list(range(nxt, nxt + max(0, ROWS - len(numbers))))


def _line_editor(field: FormField, form: MultiDict[str, str]) -> list[dict[str, Any]] | None:
    return [row for _, row in editor_rows(field, form)] or None


def _address(field: FormField, form: MultiDict[str, str]) -> dict[str, str] | None:
    """The whole address when any field was changed (the untouched keep the order's values,
    the ones not shown too); None when nothing changed."""
    posted = {p.name: form.get(f"{field.name}.{p.name}", "") for p in field.parts}
    if not any(f"{field.name}.{p.name}" in form for p in field.parts):
        return None
    before = {p.name: field.value.get(p.name, "") for p in field.parts}
    if {k: v.strip() for k, v in posted.items()} == {k: v.strip() for k, v in before.items()}:
        return None
    return {**field.value, **{k: v.strip() for k, v in posted.items()}}


def read_params(fields: list[FormField], form: MultiDict[str, str]) -> dict[str, Any]:
    """Raw parameters from a posted form; an empty field is left out so defaults apply and a
    missing required one is named by the core."""
    params: dict[str, Any] = {}
    for field in fields:
        if field.widget == "checkbox":
            params[field.name] = field.name in form
            continue
        if field.widget in ("lines", "list"):
            # Ticked boxes and comma-separated text read alike, so parsing a post does not
            # depend on which of the two the page showed.
            picked = [p.strip() for v in form.getlist(field.name) for p in v.split(",")]
            if any(picked):
                params[field.name] = [p for p in picked if p]
            continue
        if field.widget in ("line_items", "rows", "line_editor", "address"):
            read = {"line_items": _line_items, "rows": _rows, "line_editor": _line_editor,
                    "address": _address}[field.widget]  # fmt: skip
            value = read(field, form)
            if value is not None:
                params[field.name] = value
            continue
        raw = form.get(field.name, "")
        if field.asked and not raw.strip():
            # What the form asks for even where the API may leave it out (cancel's reason).
            raise BadInput(f"{field.name}: {field.label.lower()} is required", field=field.name)
        # Only an untouched field is "not given"; blank text goes to the core, whose
        # validators say what is wrong with it ("the comment must not be blank").
        if raw == "" or (
            not raw.strip() and field.widget in ("json", "number", "select", "money", "line")
        ):
            continue
        if field.widget == "json":
            params[field.name] = _json(field.name, raw)
        elif field.widget in ("number", "money", "line"):
            params[field.name] = raw.strip()
        else:
            params[field.name] = raw
    return params


_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")


def field_of(path: str | None, fields: list[FormField]) -> str | None:
    """The form field an error's path names ("items[0].sku" -> "items"), if the form has it."""
    if not path:
        return None
    match = _PATH.match(path)
    name = match.group(1) if match else None
    return name if any(f.name == name for f in fields) else None


_ITEM = re.compile(r"^\w+\[(\d+)\]\.(\w+)")


def input_of(
    path: str | None, field: FormField, params: dict[str, Any], form: MultiDict[str, str]
) -> str | None:
    """The input of a row that an error's path names ("items[0].sku" -> "items-1-sku", the
    row of the line sent first), so that input is marked invalid too."""
    match = _ITEM.match(path or "")
    if match and field.widget == "line_editor":
        sent_rows = editor_rows(field, form)
        if int(match[1]) >= len(sent_rows):
            return None
        prefix, _ = sent_rows[int(match[1])]
        return prefix if prefix.endswith("-remove") else f"{prefix}{match[2]}"
    sent = params.get(field.name)
    if not match or not isinstance(sent, list) or int(match[1]) >= len(sent):
        return None
    index, part = int(match[1]), match[2]
    if field.widget == "line_items":
        line_part = next((p.name for p in field.parts if p.widget == "line"), "line")
        row = sent[index].get(line_part) if isinstance(sent[index], dict) else None
        return f"{field.name}-{row}-{part}" if row is not None else None
    if field.widget == "rows":
        return f"{field.name}-{index}-{part}"
    return None


def passthrough(form: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The posted fields to carry, as hidden inputs, from a preview to its confirmation."""
    return [(k, v) for k, v in form.items(multi=True) if k not in CONTROL_FIELDS]
