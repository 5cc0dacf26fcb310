"""Actions as data: what a plugin declares, and the context it runs in (SPEC §6).

An action is a declaration (:class:`ActionSpec`) plus two functions: ``why_unavailable`` and
``run``. Its parameters are an attrs class; from that one class the CLI options, the API's JSON
schema and the web form are all derived (:func:`params_schema`), and raw input from any door is
structured into it by :func:`parse_params` with errors that name the parameter.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import attrs

from .errors import BadInput
from .limits import MAX_INT, bounded_int, check_count, check_depth, check_strings, check_text
from .widgets import static_schema

if TYPE_CHECKING:
    from .domain.orders import Order


@attrs.frozen
class NoParams:
    """For actions without parameters (hold's reason aside: lock, unlock, release…)."""


@attrs.frozen
class ActionSpec:
    """A post-sales action contributed by a plugin.

    - ``name``: the stable name of SPEC §11 (``cancel``, ``return``…), used by every door.
    - ``permission``: what the user needs (``order.cancel``).
    - ``applies_to``: order statuses in which it may be offered; empty means any. Narrower,
      channel-dependent conditions belong in ``why_unavailable``.
    - ``params``: an attrs class; field metadata (``postsales.core.widgets.param``: what a value
      is, its label, help, choices, eligibility, maximum…) feeds every door's form and schema.
    - ``why_unavailable(order, ctx) -> str | None``: the reason it cannot run now, or None.
    - ``run(order, params, ctx) -> dict | None``: performs it through ``ctx``; returns the ids it
      created (merged into the result with anything ``ctx`` recorded).
    - ``confirm``: a question the web app asks before running (A-5's confirmation step), shown
      with the dry run's effects. Every action that moves money, cancels or deletes has one.
    - ``confirm_label``: the confirmation button's words, filled from the preview
      (``{order_id}``, ``{refund_total}``, ``{lines}``, any parameter); default "Refund
      {refund_total}" when the preview refunds, else the label.
    - ``locks``: False for actions that must work on a locked order (unlock, takeover).
    - ``on_closed``: True for the few actions that still make sense on a CLOSED order (a
      comment); every other action is unavailable there, whatever its other conditions.
    """

    name: str
    label: str
    permission: str
    run: Callable[..., Any]
    params: type = NoParams
    applies_to: tuple[str, ...] = ()
    why_unavailable: Callable[..., str | None] | None = None
    description: str = ""
    confirm: str | None = None
    confirm_label: str | Callable[[dict, dict, dict], str] | None = None
    respects_lock: bool = True
    requirement: str = ""  # SPEC id, e.g. "A-1"
    on_closed: bool = False

    def unavailable_reason(self, order: Order, ctx: Any) -> str | None:
        if order.status == "CLOSED" and not self.on_closed:
            return "order is CLOSED: nothing more can be done to it"
        if self.applies_to and order.status not in self.applies_to:
            allowed = ", ".join(self.applies_to)
            return f"order is {order.status}; {self.name} is allowed in {allowed}"
        if self.why_unavailable is not None:
            return self.why_unavailable(order, ctx)
        return None


# -- parameter schemas ------------------------------------------------------------------------


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _json_type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is Decimal:
        return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return {"type": "array", "items": _json_type(item)}
    if origin is dict or tp is dict:
        return {"type": "object"}
    if attrs.has(tp):
        return _object_schema(tp)
    return {}


@functools.lru_cache(maxsize=256)
def _hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of a params class, read-only. Cached per class: resolving the
    string annotations (`from __future__ import annotations`) costs an `eval` per field, and
    every action run and form parse asks again for the same few classes."""
    return typing.get_type_hints(cls)


def _object_schema(cls: type) -> dict[str, Any]:
    hints = _hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        tp, optional = _unwrap_optional(hints[field.name])
        schema = _json_type(tp)
        if optional:
            schema = {**schema, "nullable": True}
        if "help" in field.metadata:
            schema["description"] = field.metadata["help"]
        if "choices" in field.metadata:
            schema["enum"] = list(field.metadata["choices"])
        if "choices_from" in field.metadata:
            # A sales-channel setting (e.g. return_reasons): resolved per order by
            # `channel_schema`, since one static schema cannot know the order's channel.
            schema["x-choices-from"] = field.metadata["choices_from"]
        schema.update(static_schema(field))
        props[field.name] = schema
        if field.default is attrs.NOTHING:
            required.append(field.name)
    schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


@functools.cache
def _params_schema(params: type) -> dict[str, Any]:
    return _object_schema(params)


def params_schema(spec: ActionSpec) -> dict[str, Any]:
    """The JSON schema of an action's parameters, derived from its attrs class.

    Built once per params class (resolving type hints is most of a page's cost otherwise);
    the dict is shared, so callers must copy it before changing it."""
    return _params_schema(spec.params)


@functools.cache
def _choice_sources(params: type) -> tuple[tuple[str, str], ...]:
    props = _params_schema(params).get("properties", {})
    return tuple((name, p["x-choices-from"]) for name, p in props.items() if "x-choices-from" in p)


@functools.lru_cache(maxsize=1024)
def _resolved_schema(params: type, choices: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    schema = _params_schema(params)
    props = dict(schema["properties"])
    for name, values in choices:
        if values:
            props[name] = {**props[name], "enum": list(values)}
    return {**schema, "properties": props}


def action_schema(spec: ActionSpec, channel: Any) -> dict[str, Any]:
    """`params_schema` with its `x-choices-from` settings resolved for a sales channel, as
    :func:`channel_schema` does, cached per params class and the channel's values (a changed
    config gives other values, hence another entry). Shared like `params_schema`'s."""
    sources = _choice_sources(spec.params)
    if not sources:
        return _params_schema(spec.params)
    choices = tuple((name, getattr(channel, source, None)) for name, source in sources)
    try:
        return _resolved_schema(spec.params, choices)
    except TypeError:  # a setting that is not hashable (a list): resolve it every time
        return channel_schema(_params_schema(spec.params), channel)


def channel_schema(schema: dict[str, Any], channel: Any) -> dict[str, Any]:
    """The params schema with `x-choices-from` settings turned into the channel's values."""
    props = dict(schema.get("properties", {}))
    for name, prop in props.items():
        source = prop.get("x-choices-from")
        values = getattr(channel, source, None) if source else None
        if values:
            props[name] = {**prop, "enum": list(values)}
    return {**schema, "properties": props}


MAX_AMOUNT_DIGITS = 15  # 10^15 in minor units of a 3-decimal currency fits 64 bits


def _coerce(value: Any, tp: Any, path: str) -> Any:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise BadInput(f"{path}: a value is required", field=path)
    origin = typing.get_origin(tp)
    if tp is Any:
        check_strings(path, value)
        return value
    if tp is str:
        if isinstance(value, str):
            return check_text(path, value)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return check_text(path, str(value))  # a CLI `--param reason=42` parses as JSON 42
        raise BadInput(f"{path}: expected text, got {value!r}", field=path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise BadInput(f"{path}: expected true or false, got {value!r}", field=path)
    if tp is int:
        if isinstance(value, bool):
            raise BadInput(f"{path}: expected a whole number, got {value!r}", field=path)
        if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 19:
            if value == value.to_integral_value():
                value = int(value)
        elif isinstance(value, str) and len(value) < 25 and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int):  # a database integer has 64 bits
            return bounded_int(path, value, -MAX_INT, MAX_INT)
        raise BadInput(f"{path}: expected a whole number, got {value!r}", field=path)
    if tp is Decimal:
        if isinstance(value, float):
            value = repr(value)  # the shortest text that round-trips, not the binary expansion
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise BadInput(f"{path}: expected an amount, got {value!r}", field=path) from None
        if not amount.is_finite():
            raise BadInput(f"{path}: expected an amount, got {value!r}", field=path)
        if amount and amount.adjusted() >= MAX_AMOUNT_DIGITS:  # stored in minor units, 64 bits
            raise BadInput(
                f"{path}: at most {MAX_AMOUNT_DIGITS} digits before the decimal point",
                field=path,
            )
        return amount
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        if not isinstance(value, list | tuple):
            value = [value]  # `--param lines=2` given once
        check_count(path, value)
        items = [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise BadInput(f"{path}: expected an object, got {value!r}", field=path)
        check_strings(path, value)
        return dict(value)
    if attrs.has(tp):
        return _structure(tp, value, path)
    return value


def _structure(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise BadInput(f"{prefix or 'parameters'}: expected an object, got {raw!r}", field=prefix)
    hints = _hints(cls)
    names = {f.name for f in attrs.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        where = f"{prefix}." if prefix else ""
        allowed = ", ".join(sorted(names)) or "none"
        raise BadInput(
            f"{where}{unknown[0]}: unknown parameter; expected one of: {allowed}",
            field=f"{where}{unknown[0]}",
        )
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):
        path = f"{prefix}.{field.name}" if prefix else field.name
        if field.name in raw:
            values[field.name] = _coerce(raw[field.name], hints[field.name], path)
        elif field.default is attrs.NOTHING:
            raise BadInput(f"{path}: missing required parameter", field=path)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:  # attrs validators
        raise BadInput(f"{prefix or 'parameters'}: {exc}") from None


def parse_params(spec: ActionSpec, raw: Mapping[str, Any]) -> Any:
    """Structure raw parameters (JSON from the API, parsed CLI values, form fields) into the
    action's params class. Errors are BadInput naming the parameter."""
    check_depth("parameters", raw)  # before anything below recurses into it
    return _structure(spec.params, raw, "")
