"""S-2 filter expressions: the JSON form of 000, parsed through a whitelist into SQLAlchemy.

    {"exp": "ge", "args": [{"exp": "field", "args": [{"value": "origin_date"}]},
                           {"value": "2017-01-01T00:00:00+00:00", "type": "datetime"}]}

Operators: `eq ne gt ge lt le like in` (a field, then values), `and or` (one or more
expressions), `not` (one expression), `field` (a field name from `fields.EXPRESSION_FIELDS`).
Values are `{"value": …, "type": …}` with type `string`, `datetime`, `date`, `number` or
`integer` (omitted: taken from the JSON value). Anything else — an unknown operator, field, type
or key — is a `BadInput` naming it and where it is (`$.args[1].exp`). Nothing here builds SQL
text: every comparison goes through the field's own builder.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_, true

from ..errors import BadInput
from . import fields as F
from .compiler import Compiler

LOGIC = ("and", "or", "not")
OPERATORS = (*F.COMPARISONS, *LOGIC, "field")
TYPES = ("string", "datetime", "date", "number", "integer")
WHEN_FIELDS = frozenset({"origin_date", "created_at", "from_date", "to_date"})
MAX_DEPTH = 16
MAX_NODES = 256


class _Walker:
    def __init__(self, comp: Compiler) -> None:
        self.comp = comp
        self.nodes = 0

    def fail(self, path: str, message: str) -> BadInput:
        return BadInput(f"expression {path}: {message}", field="expression")

    def node(self, node: Any, path: str, depth: int, top: bool) -> ColumnElement[bool] | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(path, f"more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise self.fail(path, f"nested deeper than {MAX_DEPTH}")
        if not isinstance(node, dict):
            raise self.fail(path, 'expected an object such as {"exp": "eq", "args": [...]}')
        extra = sorted(set(node) - {"exp", "args"})
        if extra:
            raise self.fail(path, f"unknown key {extra[0]!r}; an expression has exp and args")
        op = node.get("exp")
        if not isinstance(op, str):
            raise self.fail(f"{path}.exp", "missing operator")
        if op not in OPERATORS:
            raise self.fail(
                f"{path}.exp", f"unknown operator {op!r}; known operators: {', '.join(OPERATORS)}"
            )
        args = node.get("args")
        if not isinstance(args, list) or not args:
            raise self.fail(f"{path}.args", f"{op} needs a list of arguments")
        if op in ("and", "or"):
            parts = [
                self.node(a, f"{path}.args[{i}]", depth + 1, top and op == "and")
                for i, a in enumerate(args)
            ]
            kept = [p for p in parts if p is not None]
            if op == "and":
                return and_(*kept) if kept else None
            return or_(*kept)
        if op == "not":
            if len(args) != 1:
                raise self.fail(f"{path}.args", "not takes exactly one expression")
            inner = self.node(args[0], f"{path}.args[0]", depth + 1, False)
            return not_(inner if inner is not None else true())
        if op == "field":
            raise self.fail(path, "a field is compared, not used alone: put it in eq, like, …")
        return self.comparison(op, args, path, top)

    def field_name(self, node: Any, path: str) -> str:
        if not (isinstance(node, dict) and node.get("exp") == "field"):
            raise self.fail(path, 'the first argument must be {"exp": "field", "args": [...]}')
        extra = sorted(set(node) - {"exp", "args"})
        if extra:
            raise self.fail(path, f"unknown key {extra[0]!r}")
        args = node.get("args")
        if not (isinstance(args, list) and len(args) == 1):
            raise self.fail(f"{path}.args", 'field takes one argument: [{"value": "<name>"}]')
        name = args[0].get("value") if isinstance(args[0], dict) else args[0]
        if not isinstance(name, str):
            raise self.fail(f"{path}.args[0]", "the field name must be a string")
        if name not in F.FIELDS:
            known = ", ".join(F.EXPRESSION_FIELDS)
            raise self.fail(f"{path}.args[0]", f"unknown field {name!r}; known fields: {known}")
        return name

    def value(self, node: Any, field: str, path: str) -> list[Any]:
        if not isinstance(node, dict) or "value" not in node:
            raise self.fail(path, 'expected a value such as {"value": "...", "type": "string"}')
        extra = sorted(set(node) - {"value", "type"})
        if extra:
            raise self.fail(path, f"unknown key {extra[0]!r}; a value has value and type")
        raw = node["value"]
        type_ = node.get("type")
        items = raw if isinstance(raw, list) else [raw]
        if type_ is None:
            type_ = "number" if all(isinstance(v, int | float) for v in items) else "string"
        if type_ not in TYPES:
            raise self.fail(
                f"{path}.type", f"unknown type {type_!r}; known types: {', '.join(TYPES)}"
            )
        when = field in WHEN_FIELDS
        if when and type_ not in ("datetime", "date", "string"):
            raise self.fail(f"{path}.type", f"{field} compares times; {type_} does not apply")
        if not when and type_ in ("datetime", "date"):
            raise self.fail(f"{path}.type", f"{field} is not a time; {type_} does not apply")
        out = []
        for item in items:
            if isinstance(item, bool) or item is None or isinstance(item, dict | list):
                raise self.fail(f"{path}.value", f"{item!r} is not a {type_}")
            if type_ in ("number", "integer") and not isinstance(item, int | float):
                try:
                    float(str(item))
                except ValueError:
                    raise self.fail(f"{path}.value", f"{item!r} is not a {type_}") from None
            if type_ == "date" and len(str(item).strip()) != 10:
                raise self.fail(f"{path}.value", f"{item!r} is not a date (YYYY-MM-DD)")
            out.append(str(item))
        return out

    def comparison(self, op: str, args: list[Any], path: str, top: bool) -> Any:
        name = self.field_name(args[0], f"{path}.args[0]")
        if op == "in":
            if len(args) < 2:
                raise self.fail(f"{path}.args", "in takes a field and one or more values")
            values = [
                v
                for i, a in enumerate(args[1:], 1)
                for v in self.value(a, name, f"{path}.args[{i}]")
            ]
        else:
            if len(args) != 2:
                raise self.fail(f"{path}.args", f"{op} takes a field and one value")
            values = self.value(args[1], name, f"{path}.args[1]")
            if len(values) != 1:
                raise self.fail(f"{path}.args[1]", f"{op} takes one value; use in for several")
        try:
            return F.condition(self.comp, name, op, values, top=top)
        except BadInput as exc:
            raise self.fail(path, exc.message) from None


def compile_expression(expression: Any, comp: Compiler) -> ColumnElement[bool] | None:
    """The expression as one SQLAlchemy condition (None: every part went to `comp.fts`)."""
    return _Walker(comp).node(expression, "$", 0, True)
