"""What an action's parameter *is*, declared once, for every door (issue 13 item 1).

A plugin declares a parameter with :func:`param` (or plain ``attrs.field(metadata=…)`` with the
same keys): an order line or lines (with per-line eligibility), a sibling SKU per line, an
address prefilled from the order, money with its currency and maximum, a return / refund /
shipment / source of the order (only those the action accepts now), a choice from the sales
channel's config, long text. From that declaration:

- the static JSON schema carries ``x-widget`` (and ``title``, ``maxLength``…): the API's
  OpenAPI document and ``postsales act ID ACTION --help`` read it;
- :func:`resolve` turns it into what one order offers (``x-options`` with a reason on each
  disabled one, ``x-value`` for a prefilled address, ``x-maximum`` for money…), merged into the
  per-order schema that ``GET /orders/<id>/actions`` and the web form use;
- :func:`check` refuses, before the action runs, money that is not more than 0 or above the
  maximum, naming the field, so every door gives the same error next to the same field.

Nothing here knows an action: the callables in the metadata are the plugin's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .errors import BadInput
from .money import ZERO, format_amount, parse_amount
from .wording import status_words

LINE = "line"
LINES = "lines"
LINE_ITEMS = "line_items"  # a list of objects, one per line: e.g. {line, sku} for an exchange
SKU = "sku"
ADDRESS = "address"
MONEY = "money"
RETURN = "return"
REFUND = "refund"
SHIPMENT = "shipment"
SOURCE = "source"
CHOICE = "choice"
LONG_TEXT = "long_text"
TEXT = "text"
# Rows that remove order lines or add catalog products: {line, remove} or {sku, quantity,
# price}, as an order's edit takes them. Forms show the line editor of a new order.
LINE_EDITOR = "line_editor"
WIDGETS = (LINE, LINES, LINE_ITEMS, SKU, ADDRESS, MONEY, RETURN, REFUND, SHIPMENT, SOURCE,
           CHOICE, LONG_TEXT, TEXT, LINE_EDITOR)  # fmt: skip

# The labels agents read for an address's fields, in the order a form shows them.
ADDRESS_LABELS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company_name", "Company"),
    ("address1", "Address"),
    ("address2", "Address line 2"),
    ("city", "City"),
    ("zip", "Zip / postal code"),
    ("state", "State"),
    ("country_code", "Country"),
    ("phone", "Phone"),
)

# Metadata keys whose values are callables (never put into a schema).
_CALLABLES = ("eligible", "accepts", "maximum", "prefill")


def param(
    widget: str | None = None,
    *,
    label: str = "",
    help: str = "",
    default: Any = attrs.NOTHING,
    validator: Any = None,
    eligible: Callable[[Any, Any, Any], str | None] | None = None,
    accepts: Callable[[Any, Any, Any], str | None] | None = None,
    maximum: Callable[..., Decimal] | None = None,
    maximum_text: str = "",
    line_field: str | None = None,
    prefill: str | Callable[[Any], Any] | None = None,
    choices_from: str | None = None,
    choices: tuple[str, ...] | list[str] | None = None,
    required_in_forms: bool = False,
    max_length: int | None = None,
) -> Any:
    """An attrs field with the metadata every door reads.

    - ``widget``: one of :data:`WIDGETS`.
    - ``eligible(order, line, ctx) -> reason | None`` (line, lines, line_items): why a line may
      not be chosen; such lines are shown disabled with the reason.
    - ``accepts(order, item, ctx) -> reason | None`` (return, refund, shipment, source): only
      the items it accepts are offered (a source is its ``(id, Source)`` pair).
    - ``maximum(order, ctx)`` or, with ``line_field``, ``maximum(order, ctx, line)`` (money):
      the most that may be given, said as "at most 32.80 USD {maximum_text}".
    - ``prefill``: an attribute of the order (``"shipping_address"``) or ``f(order)`` (address):
      the form starts from it, and an address given in part (API, CLI) keeps its other fields
      from it (:func:`filled`); an empty string clears a field.
    - ``required_in_forms``: the web form asks for it even though the API and CLI may leave it
      out (cancel's reason).
    """
    metadata: dict[str, Any] = {}
    for key, value in (
        ("widget", widget), ("label", label), ("help", help), ("eligible", eligible),
        ("accepts", accepts), ("maximum", maximum), ("maximum_text", maximum_text),
        ("line_field", line_field), ("prefill", prefill), ("choices_from", choices_from),
        ("choices", tuple(choices) if choices is not None else None),
        ("required_in_forms", required_in_forms or None), ("max_length", max_length),
    ):  # fmt: skip
        if value:
            metadata[key] = value
    if widget is not None and widget not in WIDGETS:
        raise ValueError(f"widget {widget!r}: expected one of {', '.join(WIDGETS)}")
    return attrs.field(default=default, validator=validator, metadata=metadata)


def static_schema(field: Any) -> dict[str, Any]:
    """The schema keys a field's metadata adds to its JSON schema (no callables)."""
    meta = field.metadata
    out: dict[str, Any] = {}
    if "widget" in meta:
        out["x-widget"] = meta["widget"]
    if "label" in meta:
        out["title"] = meta["label"]
    if "max_length" in meta:
        out["maxLength"] = meta["max_length"]
    if meta.get("required_in_forms"):
        out["x-required-in-forms"] = True
    if meta.get("widget") == MONEY:
        out["x-currency"] = "the order's currency"
        if "maximum_text" in meta:
            out["x-maximum-text"] = meta["maximum_text"]
        if "line_field" in meta:
            out["x-line-field"] = meta["line_field"]
    if meta.get("widget") == ADDRESS:
        out["x-address-fields"] = [{"name": k, "label": v} for k, v in ADDRESS_LABELS]
    return out


def _money(order: Any, amount: Decimal) -> str:
    return f"{format_amount(amount, order.currency)} {order.currency}"


def _line_option(order: Any, line: Any, reason: str | None) -> dict[str, Any]:
    from .domain.refunds import refundable_remainder

    return {
        "value": line.line_number,
        "label": line.name or line.sku,
        "sku": line.sku,
        "status": line.status,
        "refundable": format_amount(refundable_remainder(line), order.currency),
        "currency": order.currency,
        "disabled": reason,
    }


def _lines(order: Any, meta: dict[str, Any], ctx: Any) -> list[dict[str, Any]]:
    eligible = meta.get("eligible")
    return [
        _line_option(order, line, eligible(order, line, ctx) if eligible else None)
        for line in order.lines
    ]


def _siblings(order: Any, line: Any, ctx: Any) -> list[dict[str, Any]]:
    """The other SKUs of the line's parent, with their stock in the channel's sources."""
    parent = line.parent_sku
    if parent is None:
        product = ctx.product(line.sku)
        parent = product.parent_sku if product is not None else None
    if not parent:
        return []
    sources = tuple(ctx.channel(order).sources)
    out = []
    for product in ctx.siblings(parent):
        if product.sku == line.sku:
            continue
        stock = sum(ctx.stock(product.sku, sources).values()) if sources else 0
        out.append(
            {
                "value": product.sku,
                "label": product.name or product.sku,
                "stock": stock,
                "disabled": None if stock > 0 else "out of stock",
            }
        )
    return out


def _item_fields(cls: type) -> tuple[str | None, str | None]:
    """The names of the line field and the SKU field of a line item class."""
    line = sku = None
    for f in attrs.fields(cls):
        widget = f.metadata.get("widget")
        if widget == LINE or (widget is None and f.name == "line"):
            line = f.name
        elif widget == SKU:
            sku = f.name
    return line, sku


def _refs(order: Any, kind: str, ctx: Any) -> list[tuple[str, str, Any]]:
    if kind == RETURN:
        return [(r.id, f"{r.id} · lines {', '.join(map(str, r.lines))} · "
                 f"{status_words(r.status)}", r) for r in order.returns]  # fmt: skip
    if kind == REFUND:
        return [
            (
                r.id,
                f"{r.id} · {r.kind.lower()} {_money(order, r.amount)} · {status_words(r.status)}",
                r,
            )
            for r in order.refunds
        ]
    if kind == SHIPMENT:
        return [(s.id, f"{s.id} · {s.source_id} · lines {', '.join(map(str, s.lines))} · "
                 f"{status_words(s.status)}", s) for s in order.shipments]  # fmt: skip
    sources = ctx.settings.sources
    return [(sid, f"{sid} · {getattr(src, 'name', '') or sid}", (sid, src))
            for sid, src in sorted(sources.items())]  # fmt: skip


def _prefill(order: Any, meta: dict[str, Any]) -> dict[str, str]:
    source = meta.get("prefill", "shipping_address")
    value = source(order) if callable(source) else getattr(order, source, None)
    if value is None:
        return {}
    return dict(value.to_dict()) if hasattr(value, "to_dict") else dict(value)


def maximum_of(order: Any, meta: dict[str, Any], ctx: Any, line: Any = None) -> Decimal | None:
    fn = meta.get("maximum")
    if fn is None:
        return None
    if meta.get("line_field"):
        return fn(order, ctx, line) if line is not None else None
    return fn(order, ctx)


def _money_options(order: Any, meta: dict[str, Any], ctx: Any, params: type) -> dict[str, Any]:
    out: dict[str, Any] = {"x-currency": order.currency}
    text = meta.get("maximum_text", "")
    line_field = meta.get("line_field")
    if line_field:
        eligible = attrs.fields_dict(params)[line_field].metadata.get("eligible")
        per_line = {}
        for line in order.lines:
            if eligible is None or eligible(order, line, ctx) is None:
                per_line[str(line.line_number)] = format_amount(
                    maximum_of(order, meta, ctx, line) or ZERO, order.currency
                )
        out["x-maximum-per-line"] = per_line
        if len(per_line) == 1:
            ((number, top),) = per_line.items()
            out["x-maximum"] = top
            out["x-hint"] = f"at most {top} {order.currency} {text} on line {number}".strip()
        elif per_line:
            shown = ", ".join(f"line {n} {v}" for n, v in per_line.items())
            out["x-hint"] = f"at most what is {text} on the line chosen: {shown} ({order.currency})"
        return out
    most = maximum_of(order, meta, ctx)
    if most is not None:
        out["x-maximum"] = format_amount(most, order.currency)
        out["x-hint"] = f"at most {_money(order, most)} {text}".strip()
    return out


def resolve(params: type, order: Any, ctx: Any) -> dict[str, dict[str, Any]]:
    """What each declared parameter offers on this order, as extra schema keys per field."""
    if not attrs.has(params):
        return {}
    out: dict[str, dict[str, Any]] = {}
    limits = _line_limits(params, order, ctx)
    for f in attrs.fields(params):
        meta = dict(f.metadata)
        widget = meta.get("widget")
        if widget in (LINE, LINES):
            options = _lines(order, meta, ctx)
            for option in options:  # "45.00 USD left to appease", from the money field
                if f.name in limits and option["disabled"] is None:
                    option["limit"] = limits[f.name](order.line(option["value"]))
            out[f.name] = {"x-options": options}
        elif widget == LINE_ITEMS:
            options = _lines(order, meta, ctx)
            item = _item_type(params, f.name)
            line_name, sku_name = _item_fields(item) if item is not None else (None, None)
            if sku_name:
                for option in options:
                    if option["disabled"] is None:
                        option["skus"] = _siblings(order, order.line(option["value"]), ctx)
                        if not option["skus"]:
                            option["disabled"] = "no other SKU of the same product"
            out[f.name] = {"x-options": options, "x-item-line": line_name, "x-item-sku": sku_name}
        elif widget in (RETURN, REFUND, SHIPMENT, SOURCE):
            accepts = meta.get("accepts")
            out[f.name] = {
                "x-options": [
                    {"value": value, "label": label, "disabled": None}
                    for value, label, obj in _refs(order, widget, ctx)
                    if accepts is None or accepts(order, obj, ctx) is None
                ]
            }
        elif widget in (None, LINE_EDITOR) and (item := _item_type(params, f.name)) is not None:
            # Rows of a list (edit's lines) that name a line: the order's lines, each with its
            # reason when not eligible, so a form offers them rather than a number to type.
            rows = {
                sub.name: _lines(order, dict(sub.metadata), ctx)
                for sub in attrs.fields(item)
                if sub.metadata.get("widget") in (LINE, LINES)
            }
            if rows:
                out[f.name] = {"x-item-options": rows}
        elif widget == ADDRESS:
            out[f.name] = {"x-value": _prefill(order, meta)}
        elif widget == MONEY:
            out[f.name] = _money_options(order, meta, ctx, params)
    return out


def _line_limits(params: type, order: Any, ctx: Any) -> dict[str, Callable[..., str]]:
    """For each line field that a money field's maximum depends on, the limit of a line."""
    out: dict[str, Callable[..., str]] = {}
    for f in attrs.fields(params):
        meta = dict(f.metadata)
        if meta.get("widget") == MONEY and meta.get("line_field") and meta.get("maximum"):
            text = meta.get("maximum_text", "at most")

            def limit(line: Any, meta: dict[str, Any] = meta, text: str = text) -> str:
                top = maximum_of(order, meta, ctx, line) or ZERO
                return f"{_money(order, top)} {text}"

            out[meta["line_field"]] = limit
    return out


def _item_type(params: type, name: str) -> type | None:
    import typing

    from .actions import _hints, _unwrap_optional

    tp, _ = _unwrap_optional(_hints(params)[name])
    args = typing.get_args(tp)
    return args[0] if args and attrs.has(args[0]) else None


def filled(params_cls: type, raw: Mapping[str, Any], order: Any) -> Mapping[str, Any]:
    """`raw` with each prefilled address completed from the order: the fields given replace
    the order's, the others keep their value (an API call that sends only the city changes
    only the city), and a null one is emptied. Whatever is not an object is left for
    `parse_params` to refuse."""
    if not attrs.has(params_cls):
        return raw
    out: dict[str, Any] | None = None
    for f in attrs.fields(params_cls):
        meta = f.metadata
        given = raw.get(f.name)
        if meta.get("widget") != ADDRESS or "prefill" not in meta or not isinstance(given, dict):
            continue
        out = dict(raw) if out is None else out
        # null clears a field, as an empty value does (an API caller's way to drop address2).
        cleared = {k: "" if v is None else v for k, v in given.items()}
        out[f.name] = {**_prefill(order, meta), **cleared}
    return raw if out is None else out


def check(params_cls: type, params: Any, order: Any, ctx: Any) -> None:
    """Refuse money not more than 0, or above its maximum, naming the field (any door)."""
    if not attrs.has(params_cls):
        return
    for f in attrs.fields(params_cls):
        meta = f.metadata
        if meta.get("widget") != MONEY:
            continue
        value = getattr(params, f.name)
        if value is None:
            continue
        try:  # the currency's decimals, and no 1e999999 reaching a comparison or a format
            value = parse_amount(str(value), order.currency, field=f.name)
        except ValueError as exc:
            raise BadInput(str(exc), field=f.name) from None
        if value <= ZERO:
            raise BadInput(f"{f.name}: must be more than 0, got {value}", field=f.name)
        line = None
        if meta.get("line_field"):
            number = getattr(params, meta["line_field"])
            if number is None or not order.has_line(number):
                continue  # the plugin names the unknown line
            line = order.line(number)
        top = maximum_of(order, meta, ctx, line)
        if top is not None and value > top:
            text = meta.get("maximum_text", "allowed")
            where = f" on line {line.line_number}" if line is not None else ""
            raise BadInput(
                f"{f.name}: {_money(order, value)} is more than {_money(order, top)} {text}{where}",
                field=f.name,
            )


class Widget:
    """The kinds of parameter, as plugins name them: `param(Widget.LINES, …)` (exported by
    `postsales.core`; a namespace because `LINE`, `RETURN`, `REFUND` and `SHIPMENT` there are
    the lifecycles of core/machines.py)."""

    LINE = LINE
    LINES = LINES
    LINE_ITEMS = LINE_ITEMS
    SKU = SKU
    ADDRESS = ADDRESS
    MONEY = MONEY
    RETURN = RETURN
    REFUND = REFUND
    SHIPMENT = SHIPMENT
    SOURCE = SOURCE
    CHOICE = CHOICE
    LONG_TEXT = LONG_TEXT
    TEXT = TEXT
    LINE_EDITOR = LINE_EDITOR
