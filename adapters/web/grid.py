"""The orders grid of S-3 as the web shows it: request arguments in, core search out.

Every search, count, export and the work queue go through `postsales.core.services.search`
(the same service the CLI and the JSON API call); this module only reads the query string and
arranges what the template shows. It holds no business rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import attrs
from markupsafe import Markup, escape

from postsales.core.services.search import (
    COLUMNS,
    FILTERS,
    PAGE_SIZES,
    SORTS,
    SearchResult,
)

__all__ = ["FILTERS", "PAGE_SIZES", "GridView", "filters_from", "row_renderer", "sort_links"]

# The filters shown first; the others sit under "More filters".
MAIN_FILTERS = (
    "order_id",
    "name",
    "email",
    "telephone",
    "zip",
    "status",
    "sales_channel",
    "purchased_from",
    "purchased_to",
)
# Which date each range filters, said on the label: the grid shows the purchase date.
DATE_FILTERS = ("purchased_from", "purchased_to", "from_date", "to_date")
LABELS = {
    "order_id": "Order ID",
    "client_order_reference": "Client order reference",
    "first_name": "First name",
    "last_name": "Last name",
    "name": "Customer name",
    "email": "Email",
    "telephone": "Telephone",
    "zip": "Zip / postal code",
    "shipping_address": "Shipping address",
    "billing_address": "Billing address (whole words)",
    "purchased_from": "Purchased from",
    "purchased_to": "Purchased to",
    "from_date": "Created from",
    "to_date": "Created to",
    "sales_channel": "Sales channel",
    "market": "Market",
    "status": "Status",
    "appeasement_status": "Appeasement status",
    "return_status": "Return status",
    "order_type": "Order type",
    "requested_to": "Requested to",
    "customer_type": "Customer type",
    "sku": "SKU",
    "tracking_number": "Tracking number",
    "payment_reference": "Payment reference",
    "return_id": "Return ID",
    "q": "Search everything",
}
HINTS = {
    "order_id": "exact or prefix",
    "name": "part of a name, % as wildcard",
    "first_name": "part of it, % as wildcard",
    "last_name": "part of it, % as wildcard",
    "shipping_address": "part of it, % as wildcard",
    "email": "exact address",
    "telephone": "digits are compared",
    "purchased_from": "2026-11-02",
    "purchased_to": "2026-11-02",
    "from_date": "2026-11-02",
    "to_date": "2026-11-02",
    "q": "ids, names, email, phone, SKU, tracking, comments",
}
CHOICES = {
    "appeasement_status": ("requested", "pending_release", "released", "cancelled", "any"),
    "return_status": ("requested", "approved", "cancelled", "any"),
    "order_type": ("normal", "exchange", "reshipment"),
    "customer_type": ("guest", "registered", "b2b"),
}
SORTABLE = {
    "id": "id",
    "sales_channel": "sales_channel",
    "origin_date": "origin_date",
    "created_at": "created_at",
    "status": "status",
    "grand_total": "grand_total",
    "customer_name": "name",
}


def filters_from(args: Mapping[str, str]) -> dict[str, str]:
    """Every S-1 filter from the query string ("" when absent)."""
    return {name: args.get(name, "") for name in FILTERS}


def sort_links(current: str | None) -> dict[str, tuple[str, str]]:
    """For each sortable column: (the sort its header link asks for, the arrow shown now)."""
    key, descending = (current or "-arrival").lstrip("-"), (current or "-arrival").startswith("-")
    out = {}
    for column, sort in SORTABLE.items():
        if sort == key:
            out[column] = (sort if descending else f"-{sort}", "▼" if descending else "▲")
        else:
            out[column] = (f"-{sort}" if sort in ("origin_date", "created_at") else sort, "")
    return out


@attrs.frozen
class GridView:
    """What the template needs besides the result itself."""

    result: SearchResult | None
    columns: list[str]
    filters: dict[str, str]
    sort: str | None

    @property
    def active(self) -> dict[str, str]:
        return {k: v for k, v in self.filters.items() if v.strip()}

    @property
    def total_text(self) -> str:
        if self.result is None:
            return ""
        return f"{self.result.total:,}" + ("+" if self.result.total_capped else "")

    def link_args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments that keep the filters, page size and sort, with `changes`."""
        args: dict[str, Any] = dict(self.active)
        if self.result is not None:
            args["per_page"] = self.result.per_page
        if self.sort:
            args["sort"] = self.sort
        args.update({k: v for k, v in changes.items() if v is not None})
        return args


LABEL_OF = {key: column.label for key, column in COLUMNS.items()}
SORT_NAMES = SORTS


def _badge(status: str | None) -> str:
    """The status badge, as `_macros.html`'s `badge` draws it."""
    if not status:
        return ""
    kind = escape(status.lower().replace("_", "-"))
    return f'<span class="badge badge-{kind}">{escape(status.replace("_", " "))}</span>'


def row_renderer(
    columns: list[str],
    order_href: str,
    store_names: Mapping[str, str],
    localtime: Callable[[Any], str],
) -> Callable[[Mapping[str, Any]], Markup]:
    """The cells of one grid row as HTML, every value escaped.

    Written here rather than in the template: the grid draws up to 100 rows of up to 14
    columns, and Jinja's per-cell branch on the column, macro call and `url_for` were most of
    the page's CPU time (a profile of `/orders`). `order_href` is the order page's address
    without the id, which is appended quoted."""
    dated = {"origin_date", "created_at"}

    def cell(row: Mapping[str, Any], key: str, td: str) -> str:
        if key == "id":
            oid = str(row["id"])
            href = escape(order_href + quote(oid, safe=""))
            return f'{td}><a class="order-id" href="{href}">{escape(oid)}</a></td>'
        if key == "sales_channel":
            channel = row["sales_channel"]
            name = store_names.get(channel, channel)
            return f'{td}>{escape(name)} <span class="muted">{escape(channel)}</span></td>'
        if key in dated:
            return f'{td} class="nowrap">{escape(localtime(row[key]))}</td>'
        if key == "status":
            return f"{td}>{_badge(row['status'])}</td>"
        if key == "grand_total":
            return (
                f'{td} class="num nowrap">{escape(row["grand_total"])} '
                f'<span class="muted">{escape(row["currency"])}</span></td>'
            )
        return f"{td}>{escape(row.get(key) or '')}</td>"

    # Each cell names its column (`data-label`): at phone width a row is drawn as a card of
    # labelled values (style.css), not a table wider than the screen.
    labelled = [(key, f'<td data-label="{escape(LABEL_OF.get(key, key))}"') for key in columns]

    def render(row: Mapping[str, Any]) -> Markup:
        return Markup("".join(cell(row, key, td) for key, td in labelled))

    return render
