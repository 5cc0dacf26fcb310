"""The dashboard and the read-only admin pages: effective config, plugins, state machines.

The dashboard needs `orders.view` and counts only the user's stores; the admin pages need
`config.view`. Nothing here writes: each view reads a core service or declaration and hands
it, with the chart geometry of `charts.py`, to a template.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from postsales.core import machines as M
from postsales.core.errors import BadInput
from postsales.core.services.configuration import plugin_listing
from postsales.core.services.dashboard import PERIODS, dashboard
from postsales.core.settings import effective_channel_settings

from .charts import column_chart, hbar_chart, transition_chart, transition_rows
from .context import require, services, user
from .errors import status_for

bp = Blueprint("admin", __name__)

Page = str | Response | tuple[str, int]


@bp.route("/dashboard")
def dash() -> Page:
    """Post-sales activity in the user's stores, drawn as SVG on the server."""
    require("orders.view")
    raw = request.args.get("days", "30").strip() or "30"
    try:
        if not raw.isdigit():
            raise BadInput(f"days: expected a whole number, got {raw!r}", field="days")
        data = dashboard(services(), user(), days=int(raw))
    except BadInput as exc:
        status = status_for(exc, query=True)
        return render_template("dashboard.html", error=exc.message, periods=PERIODS), status
    channels = services().settings.sales_channels
    charts = {
        "status": hbar_chart(data.orders_by_status, label_width=170),
        "reasons": hbar_chart(data.returns_by_reason, label_width=170),
        "refunds": column_chart(
            [(d.day, d.by_kind) for d in data.refunds_per_day], data.refund_kinds
        ),
    }
    stores = [(cid, ch.name) for cid, ch in sorted(channels.items()) if user().sees(cid)]
    return render_template(
        "dashboard.html", data=data, charts=charts, periods=PERIODS, stores=stores
    )


@bp.route("/admin")
def index() -> Response:
    require("config.view")
    return redirect(url_for("admin.config"))


def _plain(value: Any) -> str:
    """A setting's value as the YAML file would spell it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    return str(value)


def _origin(origin: str) -> tuple[str, str]:
    """(kind, where): "default" (the code's), "packaged" (the shipped YAML) or "file" (yours)."""
    if origin == "default":
        return "default", ""
    try:
        packaged = str(resources.files("postsales.config") / "postsales.yaml")
    except ModuleNotFoundError:  # a checkout that is not installed: every file is the user's
        packaged = ""
    return ("packaged", origin) if origin == packaged else ("file", origin)


@bp.route("/admin/config")
def config() -> str:
    """The effective settings of each of the user's stores, each with where it came from."""
    require("config.view")
    settings = services().settings
    effective = effective_channel_settings(settings)
    channels = [
        {
            "id": cid,
            "channel": ch,
            "settings": [
                (key, _plain(value), _origin(origin)) for key, value, origin in effective[cid]
            ],
            "sources": [(sid, settings.sources.get(sid)) for sid in ch.sources],
        }
        for cid, ch in sorted(settings.sales_channels.items())
        if user().sees(cid)  # a store's config is as much out of scope as its orders
    ]
    return render_template(
        "config.html",
        channels=channels,
        sources=sorted(settings.sources.items()),
        roles=sorted(settings.roles.items()),
        messages=settings.messages,
        plain=_plain,
    )


@bp.route("/admin/plugins")
def plugins() -> str:
    """Installed plugins, on or off, and the actions, rules, gateways and notifiers they give."""
    require("config.view")
    registry = services().registry
    listing = plugin_listing(registry)
    actions = {
        name: spec for name, spec in sorted(registry.actions.items(), key=lambda item: item[0])
    }
    return render_template(
        "plugins.html",
        plugins=listing,
        actions=actions,
        action_plugins=registry.action_plugins,
        rules=sorted(registry.rules, key=lambda r: (r.point, r.name)),
        rule_plugins=registry.rule_plugins,
        gateways=sorted(registry.gateways, key=lambda g: g.name),
    )


@bp.route("/admin/machines")
def machines() -> str:
    """Each lifecycle as a transition chart, a table of its edges and its Mermaid source."""
    require("config.view")
    lifecycles = [
        {
            "name": name,
            "lifecycle": lifecycle,
            "chart": transition_chart(lifecycle),
            "rows": transition_rows(lifecycle),
            "mermaid": M.to_mermaid(lifecycle),
        }
        for name, lifecycle in M.LIFECYCLES.items()
    ]
    return render_template("machines.html", lifecycles=lifecycles)


@bp.route("/admin/audit")
def audit() -> Page:
    """The audit log, newest first, filtered and paged; times in the viewer's zone. Only for
    users with users.manage who see every store (core.services.audit_log.may_read)."""
    from postsales.core.services.audit_log import KINDS, PER_PAGE, may_read, read_audit

    require("users.manage")
    may_read(user())
    args = request.args
    kinds = [k for k in args.getlist("kind") if k.strip()]
    filters = {
        "kind": kinds,
        "actor": args.get("actor", ""),
        "since": args.get("since", ""),
        "until": args.get("until", ""),
    }
    categories = sorted({k.split(".", 1)[0] for k in KINDS})
    context = {"filters": filters, "kinds": KINDS, "categories": categories, "found": None}
    try:
        page, per_page = (
            args.get(k, str(d)).strip() for k, d in (("page", 1), ("per_page", PER_PAGE))
        )
        for name, text in (("page", page), ("per_page", per_page)):
            if not text.isdigit():
                raise BadInput(f"{name}: expected a whole number, got {text!r}", field=name)
        found = read_audit(
            services(), user(), kinds=kinds, actor=filters["actor"], since=filters["since"],
            until=filters["until"], page=int(page), per_page=int(per_page),
        )  # fmt: skip
    except BadInput as exc:
        return render_template("audit.html", error=exc.message, **context), 400
    pages = max(1, -(-found.total // found.per_page))
    context["found"], context["pages"] = found, pages
    return render_template("audit.html", **context)
