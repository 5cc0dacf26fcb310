"""The orders grid (S-3), the order page (the four sections of 000) and its Actions menu."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput, PostsalesError
from postsales.core.machines import ORDER
from postsales.core.services.actions import ActionAvailability, list_actions, run_action
from postsales.core.services.orders import show_order

from .context import require, services, user
from .errors import shown_inline, status_for
from .forms import form_fields, passthrough, read_params
from .grid import FILTERS, PAGE_SIZES, search_grid

bp = Blueprint("orders", __name__)

Page = str | Response | tuple[str, int]


@bp.route("/")
def home() -> Response:
    return redirect(url_for("orders.grid"))


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise BadInput(f"{name}: expected a whole number, got {raw!r}", field=name)
    return int(raw)


def _channels() -> list[tuple[str, str]]:
    """The stores this user may see, for the sales-channel filter."""
    channels = services().settings.sales_channels
    return [(cid, ch.name) for cid, ch in sorted(channels.items()) if user().sees(cid)]


@bp.route("/orders")
def grid() -> Page:
    """S-3: the user's orders, newest first; a filtered search with one result opens it."""
    require("orders.view")
    filters = {name: request.args.get(name, "") for name in FILTERS}
    context: dict[str, Any] = {
        "filters": filters,
        "page_sizes": PAGE_SIZES,
        "statuses": ORDER.states,
        "channels": _channels(),
        "store_names": dict(_channels()),
        "result": None,
        "active": {},
    }
    try:
        per_page = _int_arg("per_page", 20)
        context["per_page"] = per_page
        result = search_grid(
            services(), user(), filters, page=_int_arg("page", 1), per_page=per_page
        )
    except BadInput as exc:
        context.setdefault("per_page", 20)
        status = status_for(exc, query=True)
        return render_template("orders.html", error=exc.message, **context), status
    if result.total == 1 and any(v.strip() for v in filters.values()):
        return redirect(url_for("orders.show", order_id=result.rows[0].id))
    context["result"] = result
    context["active"] = {k: v for k, v in filters.items() if v.strip()}
    return render_template("orders.html", **context)


def _order_page(
    order_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    open_action: str | None = None,
    values: MultiDict[str, str] | None = None,
) -> tuple[str, int]:
    order = show_order(services(), order_id, user())
    menu = [(a, form_fields(a.params, order)) for a in list_actions(services(), order_id, user())]
    channel = services().settings.sales_channels.get(order["sales_channel"])
    page = render_template(
        "order.html",
        order=order,
        store_name=channel.name if channel else order["sales_channel"],
        menu=menu,
        error=error,
        open_action=open_action,
        values=values or MultiDict(),
    )
    return page, status


@bp.route("/orders/<order_id>")
def show(order_id: str) -> Page:
    require("orders.view")
    return _order_page(order_id)


def _action(order_id: str, name: str) -> ActionAvailability:
    for action in list_actions(services(), order_id, user()):
        if action.name == name:
            return action
    abort(404, f"There is no action {name!r}.")


def _describe(result: dict[str, Any]) -> str:
    """ "returns: RET-1; refunds: RF-1, RF-2" — the ids an action created, for the flash."""
    parts = []
    for key, value in sorted(result.items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if shown:
            parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


class _KeepMissing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _question(template: str, params: dict[str, Any]) -> str:
    """The action's confirmation question with the agent's values filled in
    ("Refund {amount} on line {line}?" -> "Refund 12.50 on line 2?")."""
    shown = {k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in params.items()}
    try:
        return template.format_map(_KeepMissing(shown))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template  # a plugin's odd braces must not cost the agent the page


@bp.route("/orders/<order_id>/actions/<name>", methods=["POST"])
def act(order_id: str, name: str) -> Page:
    """Run an action, or with `preview=1` show what it would do and ask for confirmation."""
    require("orders.view")
    action = _action(order_id, name)
    preview = request.form.get("preview") == "1"
    try:
        params = read_params(form_fields(action.params, {}), request.form)
        outcome = run_action(services(), order_id, name, params, user(), dry_run=preview)
    except PostsalesError as exc:
        if not shown_inline(exc):
            raise
        return _order_page(
            order_id,
            error=f"{action.label}: {exc.message}",
            status=status_for(exc),
            open_action=name,
            values=request.form,
        )
    if preview:
        created_refunds = set(outcome.result.get("refunds", []))
        return render_template(
            "preview.html",
            order_id=order_id,
            action=action,
            question=_question(action.confirm or "", params),
            outcome=outcome,
            summary=_describe(outcome.result),
            refunds=[r for r in outcome.order["refunds"] if r["id"] in created_refunds],
            currency=outcome.order["currency"],
            hidden=passthrough(request.form),
        )
    done = _describe(outcome.result)
    flash(f"{action.label}: done." + (f" Created {done}." if done else ""), "success")
    return redirect(url_for("orders.show", order_id=order_id))
