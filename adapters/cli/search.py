"""`orders search`, `orders export`, `orders queue` and `orders rekey-billing` (S-1…S-6)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from postsales.core.errors import BadInput, Forbidden
from postsales.core.limits import read_json

from .errors import handled
from .files import replacing
from .main import state
from .options import LazyHelpOption
from .orders import orders
from .output import Clock, emit_json, table

if TYPE_CHECKING:
    from postsales.core.services.search import SearchResult


def parse_filters(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    """`--filter NAME=VALUE`, repeatable; a repeated name adds values (as commas do)."""
    from postsales.core.services.search import FILTERS

    out: dict[str, str | list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"--filter {pair!r}: expected NAME=VALUE", field="filter")
        if name not in FILTERS:
            raise BadInput(
                f"--filter {name!r}: unknown filter; known filters: {', '.join(FILTERS)}",
                field=name,
            )
        if name in out:
            prev = out[name]
            out[name] = [*(prev if isinstance(prev, list) else [prev]), value]
        else:
            out[name] = value
    return out


def parse_expression(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = read_json("expression", raw)
    except ValueError as exc:
        raise BadInput(f"--expr: not valid JSON ({exc})", field="expression") from None
    if not isinstance(value, dict):
        raise BadInput("--expr: expected a JSON object", field="expression")
    return value


def _print_page(result: SearchResult, clock: Clock, *, reasons: bool = False) -> None:
    rows = [
        [
            o["id"],
            o["sales_channel"],
            clock.show(o["origin_date"]),
            o["bill_to"],
            o["ship_to"],
            o["status"],
            f"{o['grand_total']} {o['currency']}",
            *(["; ".join(o.get("reasons", []))] if reasons else []),
        ]
        for o in result.orders
    ]
    headers = ["id", "store", clock.header("purchased"), "bill to", "ship to", "status", "total"]
    table(rows, [*headers, *(["why"] if reasons else [])])
    total = f"{result.total:,}{'+' if result.total_capped else ''}"
    click.echo(f"\n{total} order(s); page {result.page} of {result.pages}")
    if result.next_cursor:
        click.echo(f"next page: --after {result.next_cursor}")


def _filter_help() -> str:
    from postsales.core.services.search import FILTERS

    return f"Repeatable. Names: {', '.join(FILTERS)}."


def _columns_help() -> str:
    from postsales.core.services.search import COLUMNS

    return f"Comma-separated, default the grid's. Known: {', '.join(COLUMNS)}."


# Help texts that list filters and columns are built only when shown: the names come from the
# search service, which `postsales --help` must not import (issue 18 item 1).
_filter_option = click.option(
    "--filter",
    "pairs",
    cls=LazyHelpOption,
    help_text=_filter_help,
    multiple=True,
    metavar="NAME=VALUE",
)
_expr_option = click.option("--expr", "expr", metavar="JSON", help="S-2 filter expression.")


@orders.command("search")
@_filter_option
@_expr_option
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=20, show_default=True, help="10, 20, 50 or 100.")
@click.option(
    "--sort", help="arrival (default, newest first), created_at, grand_total…; - to flip."
)
@click.option("--after", help="The next_cursor of the previous page (keyset paging).")
@click.option("--json", "as_json", is_flag=True)
@handled
def orders_search(
    pairs: tuple[str, ...],
    expr: str | None,
    page: int,
    per_page: int,
    sort: str | None,
    after: str | None,
    as_json: bool,
) -> None:
    """Find orders (S-1 filters, S-2 expression), newest first, within your stores."""
    from postsales.core.services.search import search_orders

    st = state()
    user = st.user()
    result = search_orders(
        st.app(),
        user,
        parse_filters(pairs),
        expression=parse_expression(expr),
        page=page,
        per_page=per_page,
        sort=sort,
        after=after,
    )
    if as_json:
        emit_json(result.to_dict())
        return
    _print_page(result, Clock(user.timezone))
    if result.single:
        click.echo(f"one order: postsales orders show {result.single}")


@orders.command("export")
@_filter_option
@_expr_option
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xml"]), default="csv", show_default=True
)
@click.option("--columns", cls=LazyHelpOption, help_text=_columns_help)
@click.option("--sort", help="As for `orders search`.")
@click.option(
    "--output",
    "-o",
    help="A new file or a regular file to replace, written mode 0600 (default: stdout).",
)
@handled
def orders_export(
    pairs: tuple[str, ...],
    expr: str | None,
    fmt: str,
    columns: str | None,
    sort: str | None,
    output: str | None,
) -> None:
    """Export every matching order (all pages) as CSV or Excel XML (SpreadsheetML 2003)."""
    from postsales.core.services.search import export_orders

    st = state()
    keys = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    args: dict[str, Any] = {
        "expression": parse_expression(expr),
        "fmt": fmt,
        "columns": keys,
        "sort": sort,
    }
    filters = parse_filters(pairs)
    app, user = st.app(), st.user()
    if output:
        with replacing(output) as handle:  # O_EXCL temporary file beside it, then a rename
            written = export_orders(app, user, filters, out=handle, **args)
        click.echo(f"exported {written:,} order(s) to {output}", err=True)
    else:
        export_orders(app, user, filters, out=sys.stdout.buffer, **args)
        sys.stdout.buffer.flush()


@orders.command("queue")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handled
def orders_queue(page: int, per_page: int, as_json: bool) -> None:
    """Orders that need an agent (S-5), with the reasons."""
    from postsales.core.services.search import work_queue

    st = state()
    user = st.user()
    result = work_queue(st.app(), user, page=page, per_page=per_page)
    if as_json:
        emit_json(result.to_dict())
        return
    _print_page(result, Clock(user.timezone), reasons=True)


@orders.command("rekey-billing")
@click.option(
    "--new-key",
    is_flag=True,
    help="First put a new key at the top of the key file (billing.key beside a SQLite "
    "database, or POSTSALES_BILLING_KEY_FILE), keeping the old ones for reading.",
)
@click.option("--json", "as_json", is_flag=True)
@handled
def orders_rekey_billing(new_key: bool, as_json: bool) -> None:
    """Re-encrypt every billing address with the current key and rebuild its blind index (S-6
    key rotation; see docs/search.md)."""
    from postsales.core.crypto import KEY_ENV
    from postsales.core.search.billing import new_billing_key, reencrypt_all

    st = state()
    if not st.user().is_system:
        raise Forbidden("only the system user (no --user) may re-encrypt billing data")
    key = None
    if new_key:
        if os.environ.get(KEY_ENV):
            raise BadInput(
                f"--new-key: the keys come from {KEY_ENV}; put the new key first there instead",
                field="new_key",
            )
        key = new_billing_key(st.app())
    done = reencrypt_all(st.app())
    if as_json:
        emit_json({"orders": done, "new_key_id": key})
    else:
        if key:
            click.echo(f"new billing key {key} is now current")
        click.echo(f"re-encrypted the billing address of {done:,} order(s)")
