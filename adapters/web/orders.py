"""The orders grid (S-3), the order page (the four sections of 000) and its Actions menu."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput, Forbidden, PostsalesError
from postsales.core.machines import ORDER
from postsales.core.services.actions import (
    ActionAvailability,
    ActionOutcome,
    list_actions,
    order_with_actions,
    run_action,
    said,
)
from postsales.core.services.search import (
    COLUMNS,
    FILTERS,
    exact_order_id,
    export_stream,
    grid_columns,
    search_orders,
    set_grid_columns,
    work_queue,
)

from . import once
from . import preview as previews
from .audit import audit_refusal
from .context import localtime, require, services, user
from .errors import error_page, shown_inline, status_for
from .forms import field_of, form_fields, input_of, passthrough, read_params, shown
from .grid import (
    CHOICES,
    DATE_FILTERS,
    HINTS,
    LABELS,
    MAIN_FILTERS,
    PAGE_SIZES,
    GridView,
    filters_from,
    row_renderer,
    sort_links,
)

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


_COLUMNS = "grid_columns"


def _columns() -> list[str]:
    """The user's grid columns, kept in the session after the first read.

    The grid is the page agents load most, and the choice only changes on the columns page,
    which writes the new choice here too. The session is cleared and rotated at sign-in and
    sign-out, and the user's name is kept beside it: one user never sees another's columns.
    A change made in another browser shows at the next sign-in."""
    who = user()
    cached = session.get(_COLUMNS)
    if isinstance(cached, list) and len(cached) == 2 and cached[0] == who.name:
        kept = [k for k in cached[1] if k in COLUMNS]  # a column removed since is dropped
        if kept:
            return kept
    columns = grid_columns(services(), who)
    session[_COLUMNS] = [who.name, columns]
    return columns


def _grid_context(view: GridView, per_page: int) -> dict[str, Any]:
    store_names = dict(_channels())
    # The order page's address with a placeholder id, cut before it: built once per page.
    href = url_for("orders.show", order_id="0")[:-1]
    return {
        "row_html": row_renderer(view.columns, href, store_names, localtime),
        "view": view,
        "result": view.result,
        "filters": view.filters,
        "active": view.active,
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        "statuses": ORDER.states,
        "channels": list(store_names.items()),
        "store_names": store_names,
        "labels": LABELS,
        "hints": HINTS,
        "choices": CHOICES,
        "main_filters": MAIN_FILTERS,
        "date_filters": DATE_FILTERS,
        "error_field": None,
        "all_columns": COLUMNS,
        "sorts": sort_links(view.sort),
    }


def _exact_id(filters: dict[str, str]) -> str | None:
    """The order a search for one id opens: the header's "Search orders" box (`q`) or the
    Order ID filter holding exactly an order's id, even when child orders share it as a
    prefix (`000000101-E1`)."""
    active = {k: v.strip() for k, v in filters.items() if v.strip()}
    if len(active) != 1 or not active.keys() <= {"q", "order_id"}:
        return None
    return exact_order_id(services(), user(), next(iter(active.values())))


@bp.route("/orders")
def grid() -> Page:
    """S-3: the user's orders, newest first; a filtered search with one result opens it."""
    require("orders.view")
    filters = filters_from(request.args)
    opened = _exact_id(filters)
    if opened is not None:
        return redirect(url_for("orders.show", order_id=opened))
    sort = request.args.get("sort", "").strip() or None
    columns = _columns()
    per_page = 20
    try:
        per_page = _int_arg("per_page", 20)
        result = search_orders(
            services(),
            user(),
            filters,
            page=_int_arg("page", 1),
            per_page=per_page,
            sort=sort,
            after=request.args.get("after") or None,
        )
    except BadInput as exc:
        view = GridView(None, columns, filters, sort)
        context = _grid_context(view, per_page if per_page in PAGE_SIZES else 20)
        # The field in error is marked and takes the focus (WCAG 3.3.1); the message names it
        # by its label, as the agent sees it ("Purchased from: 'soon' is not a date…").
        field = exc.field if exc.field in FILTERS else None
        context["error_field"] = field
        message = exc.message
        if field in LABELS and message.startswith(f"{field}:"):
            message = LABELS[field] + message[len(field) :]
        return render_template("orders.html", error=message, **context), status_for(exc, query=True)
    view = GridView(result, columns, filters, sort)
    if result.single and view.active:
        return redirect(url_for("orders.show", order_id=result.single))
    return render_template("orders.html", **_grid_context(view, per_page))


@bp.route("/orders/columns", methods=["GET", "POST"])
def choose_columns() -> Page:
    """S-3: the grid's columns, remembered per user (none chosen, or Default: the default ones).

    A page of its own rather than a panel on the grid: the column names ("Email", "Zip") are
    also the grid's filter labels, and one page must not label two controls the same."""
    require("orders.view")
    back = request.values.get("back", "")
    back = back if back.startswith("/orders") else url_for("orders.grid")
    if request.method == "POST":
        chosen = [] if request.form.get("reset") else request.form.getlist("columns")
        session[_COLUMNS] = [user().name, set_grid_columns(services(), user(), chosen)]
        return redirect(back)
    return render_template(
        "columns.html",
        all_columns=COLUMNS,
        chosen=_columns(),
        back=back,
    )


@bp.route("/orders/export")
def export() -> Page:
    """S-4: every matching order as CSV or Excel XML, with the user's columns.

    The core's stream is the response body: it reads a chunk of rows each time the server
    asks for the next piece, so memory stays bounded and a slow client slows the read. It
    checks everything before the first byte: a refused export (bad filter, no permission) is
    an error page, never a download that breaks. The server closes the body when the response
    ends, read or not (a client gone, a HEAD request): that ends the read and the export's
    audit record says it was cut short."""
    require("orders.view")
    app, who = services(), user()
    try:
        body = export_stream(
            app,
            who,
            filters_from(request.args),
            fmt=request.args.get("format", "csv"),
            columns=_columns(),
            sort=request.args.get("sort", "").strip() or None,
        )
    except BadInput as exc:  # a query string: 400, as on the grid
        return error_page(status_for(exc, query=True), exc.message)
    # No stream_with_context: the core needs nothing from the request, and Werkzeug then
    # calls `body.close()` itself however the response ends.
    response = Response(body, content_type=body.media_type)
    response.headers["Content-Disposition"] = f"attachment; filename={body.filename}"
    return response


@bp.route("/queue")
def queue() -> Page:
    """S-5: the work queue, orders that need an agent, with the reasons."""
    require("orders.view")
    per_page = _int_arg("per_page", 20)
    result = work_queue(services(), user(), page=_int_arg("page", 1), per_page=per_page)
    return render_template(
        "queue.html",
        result=result,
        per_page=per_page,
        page_sizes=PAGE_SIZES,
        store_names=dict(_channels()),
    )


def _order_page(
    order_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    open_action: str | None = None,
    values: MultiDict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    order, actions = order_with_actions(services(), order_id, user())
    # Only an available action shows a form; the others are a label and a reason.
    menu = [
        (a, [f for f in form_fields(a.params, order) if shown(f)] if a.available else [])
        for a in actions
    ]
    channel = services().settings.sales_channels.get(order["sales_channel"])
    page = render_template(
        "order.html",
        order=order,
        store_name=channel.name if channel else order["sales_channel"],
        menu=menu,
        error=error,
        open_action=open_action,
        values=values or MultiDict(),
        field_errors=field_errors or {},
    )
    return page, status


@bp.route("/orders/<order_id>")
def show(order_id: str) -> Page:
    """The order; `?open=<action>` opens that action's form, its fields prefilled from the
    other query arguments (a new draft opens "Add payment" with the amount due)."""
    require("orders.view")
    opened = request.args.get("open", "").strip() or None
    values = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "open"])
    return _order_page(order_id, open_action=opened, values=values if opened else None)


def _action(order_id: str, name: str) -> ActionAvailability:
    for action in list_actions(services(), order_id, user()):
        if action.name == name:
            return action
    abort(404, f"There is no action {name!r}.")


def _describe(result: dict[str, Any]) -> str:
    """ "returns: RET-1; refunds: RF-1, RF-2" — the ids an action created, for the flash."""
    parts = []
    for key, value in sorted(result.items()):
        if key == "notes":  # sentences, shown on their own
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if shown:
            parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


@bp.route("/orders/<order_id>/actions/<name>", methods=["POST"])
def act(order_id: str, name: str) -> Page:
    """Run an action, or with `preview=1` show what it would do and ask for confirmation.

    A form is run once however often it is sent (its one-time key, `once.py`)."""
    require("orders.view")
    action = _action(order_id, name)
    preview = request.form.get("preview") == "1"
    sent = None if preview else once.sent_form()
    if sent is not None and (replay := once.answered(sent)) is not None:
        return replay
    fields = form_fields(action.params, {})
    params: dict[str, Any] = {}
    try:
        params = read_params(fields, request.form)
        keyed = once.with_answer(sent, lambda outcome: _done(action, order_id, outcome))
        outcome = run_action(
            services(), order_id, name, params, user(), dry_run=preview, keyed=keyed
        )
    except Exception as exc:
        # A second send of the form may have lost the race to the first: show the first's.
        if sent is not None and (replay := once.answered(sent)) is not None:
            return replay
        if isinstance(exc, Forbidden):
            audit_refusal(services(), user(), exc, door="web")
            return error_page(403, said(services(), name, exc.message, Forbidden))
        if not isinstance(exc, PostsalesError) or not shown_inline(exc):
            raise
        # Bad input naming a field is shown next to it too (and the field marked invalid),
        # with the field's label rather than its name; reasons in the agent's words.
        field = field_of(exc.field, fields)
        message = said(services(), name, exc.message, type(exc))
        errors = {}
        if field:
            form_field = next(f for f in fields if f.name == field)
            message = re.sub(rf"^{re.escape(field)}(\[\d+\])?(\.\w+)?: ",
                             f"{form_field.label}: ", message)  # fmt: skip
            errors[field] = message
            if row_input := input_of(exc.field, form_field, params, request.form):
                errors[row_input] = message
        return _order_page(
            order_id,
            error=f"{action.label}: {message}",
            status=status_for(exc),
            open_action=name,
            values=request.form,
            field_errors=errors,
        )
    if preview:
        return render_template(
            "preview.html",
            order_id=order_id,
            action=action,
            preview=previews.build(action, outcome, params, order_id),
            currency=outcome.order["currency"],
            hidden=passthrough(request.form),
        )
    location, message = _done(action, order_id, outcome)
    flash(message, "success")
    return redirect(location)


def _done(action: ActionAvailability, order_id: str, outcome: ActionOutcome) -> tuple[str, str]:
    """Where the agent goes after the action, and what they are told."""
    if order_id in outcome.result.get("deleted", ()):
        # The order is gone: its page would only say "not found".
        return url_for("orders.grid"), f"{action.label}: done. Order {order_id} was deleted."
    done = _describe(outcome.result)
    message = f"{action.label}: done." + (f" Created {done}." if done else "")
    message += "".join(f" Note: {note}." for note in outcome.result.get("notes", ()))
    return url_for("orders.show", order_id=order_id), message
