"""`postsales act ID ACTION --help`: the action's own parameters, from the same declaration the
web form and the API schema are built from (issue 13 item 1).

Plugins and config are loaded, the database is not: help works before `migrate`.
"""

from __future__ import annotations

from typing import Any

import click

_KINDS = {
    "line": "a line number of the order",
    "lines": "line numbers; repeat --param for several",
    "line_items": 'a JSON list, one object per line, e.g. [{"line": 1, "sku": "…"}]',
    "sku": "a SKU",
    "address": 'a JSON object of the fields to change, e.g. {"city": "Austin"}',
    "money": "an amount in the order's currency",
    "return": "a return id of the order",
    "refund": "a refund id of the order",
    "shipment": "a shipment id of the order",
    "source": "a source id",
    "choice": "one of the values below",  # per sales channel
    "long_text": "text",
    "text": "text",
}


def _kind(prop: dict[str, Any]) -> str:
    widget = prop.get("x-widget")
    if widget in _KINDS:
        return _KINDS[widget]
    kind = prop.get("type")
    if kind == "array":
        return "a list; repeat --param, or give JSON"
    if kind == "object":
        return "a JSON object"
    return {"integer": "a whole number", "boolean": "true or false"}.get(kind, "text")


def describe(spec: Any, schema: dict[str, Any], settings: Any = None) -> list[str]:
    """Lines of help text for one action's parameters."""
    head = f"{spec.name}: {spec.label}" + (f". {spec.description}" if spec.description else "")
    lines = [head, ""]
    props = schema.get("properties", {})
    if not props:
        return [*lines, "This action takes no parameters."]
    required = set(schema.get("required", ()))
    lines.append("Parameters (--param KEY=VALUE):")
    for name, prop in props.items():
        need = "required" if name in required else "optional"
        title = prop.get("title", "")
        lines.append(f"  {name}  ({need}; {_kind(prop)})" + (f"  {title}" if title else ""))
        if prop.get("description"):
            lines.append(f"      {prop['description']}")
        if "enum" in prop:
            lines.append(f"      one of: {', '.join(map(str, prop['enum']))}")
        elif "x-choices-from" in prop:
            source = prop["x-choices-from"]
            channels = getattr(settings, "sales_channels", {}) or {}
            for cid, channel in sorted(channels.items()):
                values = getattr(channel, source, None) or ()
                lines.append(f"      in {cid}: {', '.join(map(str, values)) or 'none'}")
            if not channels:
                lines.append(f"      one of the sales channel's {source}")
        if prop.get("x-maximum-text"):
            lines.append(f"      at most what is {prop['x-maximum-text']}")
        if prop.get("x-widget") == "address":
            keys = ", ".join(f["name"] for f in prop.get("x-address-fields", []))
            lines.append(f"      fields: {keys}")
        items = prop.get("items", {}).get("properties")
        if items:
            lines.append(f"      each with: {', '.join(items)}")
    if spec.confirm:
        lines += ["", "Preview it first with --dry-run: nothing changes."]
    return lines


class ActCommand(click.Command):
    """`act` whose --help, given an ACTION, ends with that action's parameters."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a in ("--help", "-h") for a in args):
            positional = [a for a in args if not a.startswith("-") and "=" not in a]
            ctx.meta["act_action"] = positional[1] if len(positional) > 1 else None
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        name = ctx.meta.get("act_action")
        if not name:
            formatter.write_paragraph()
            formatter.write_text("Give an ACTION (act ID ACTION --help) to list its parameters.")
            return
        text = action_help(ctx, name)
        formatter.write_paragraph()
        for line in text:
            formatter.write(f"{line}\n" if line else "\n")


def action_help(ctx: click.Context, name: str) -> list[str]:
    from postsales.core.actions import params_schema
    from postsales.core.bootstrap import load_plugins
    from postsales.core.errors import PostsalesError
    from postsales.core.settings import load_settings

    root = ctx.find_root().obj or {}
    try:
        import os

        settings = load_settings(root.get("config") or os.environ.get("POSTSALES_CONFIG"))
        _pm, registry = load_plugins(settings)
    except PostsalesError as exc:
        return [f"(the parameters of {name} cannot be listed: {exc.message})"]
    spec = registry.actions.get(name)
    if spec is None:
        known = ", ".join(sorted(registry.actions))
        return [f"There is no action {name!r}; actions: {known}"]
    return describe(spec, params_schema(spec), settings)
