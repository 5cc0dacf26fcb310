"""The orders grid of S-3: one page of the user's visible orders, newest first.

A stop-gap: a core search service (S-1/S-2, shared by the CLI, the API and export) will replace
this module, and the web view will then call it instead. Until then this is read-only SQL on the
core's tables, always scoped to the user's stores (SPEC §4), and holds no business rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import ColumnElement, func, select

from postsales.core.bootstrap import Postsales
from postsales.core.domain.customers import normalise_email, normalise_text
from postsales.core.domain.users import User
from postsales.core.errors import BadInput
from postsales.core.money import format_amount, from_minor
from postsales.core.persistence import tables as T

PAGE_SIZES = (10, 20, 50, 100)
FILTERS = ("order_id", "email", "name", "status", "sales_channel")


@attrs.frozen
class GridRow:
    id: str
    sales_channel: str
    purchase_date: datetime
    bill_to: str
    ship_to: str
    status: str
    grand_total: str
    currency: str


@attrs.frozen
class GridPage:
    rows: list[GridRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _several(value: str) -> list[str]:
    """Filters that take several values accept them comma-separated (S-1)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_")


def conditions(filters: Mapping[str, str], user: User) -> list[ColumnElement[bool]]:
    """WHERE clauses for the given filters, always including the user's store scope."""
    o = T.orders
    where: list[ColumnElement[bool]] = []
    if user.channels is not None:
        where.append(o.c.sales_channel.in_(sorted(user.channels)))
    if value := filters.get("order_id", "").strip():
        where.append(o.c.id.startswith(value, autoescape=True))  # exact or prefix
    if value := filters.get("email", "").strip():
        where.append(o.c.email_norm == normalise_email(value))
    if value := normalise_text(filters.get("name", "")):
        if "%" in value:
            # `%` matches any run of characters and the end is open: `%tay` finds "Mercy Taylor".
            where.append(o.c.name_norm.like(_like_escape(value) + "%", escape="\\"))
        else:
            where.append(o.c.name_norm.contains(value, autoescape=True))
    if statuses := _several(filters.get("status", "").upper()):
        where.append(o.c.status.in_(statuses))
    if channels := _several(filters.get("sales_channel", "")):
        where.append(o.c.sales_channel.in_(channels))
    return where


def _person(address: Any, fallback: str) -> str:
    if isinstance(address, dict):
        name = f"{address.get('first_name', '')} {address.get('last_name', '')}".strip()
        return name or str(address.get("company_name") or "") or fallback
    return fallback


def search_grid(
    app: Postsales, user: User, filters: Mapping[str, str], *, page: int = 1, per_page: int = 20
) -> GridPage:
    """One page of orders matching `filters` among those `user` may see, newest first."""
    if per_page not in PAGE_SIZES:
        sizes = ", ".join(map(str, PAGE_SIZES))
        raise BadInput(f"per_page: must be one of {sizes}, got {per_page}", field="per_page")
    if page < 1:
        raise BadInput(f"page: must be 1 or more, got {page}", field="page")
    o = T.orders
    where = conditions(filters, user)
    columns = (
        o.c.id,
        o.c.sales_channel,
        o.c.origin_date,
        o.c.customer_first_name,
        o.c.customer_last_name,
        o.c.billing_address,
        o.c.shipping_address,
        o.c.status,
        o.c.grand_total_minor,
        o.c.currency,
    )
    query = select(*columns).where(*where).order_by(o.c.seq.desc())
    query = query.limit(per_page).offset((page - 1) * per_page)
    with app.uow(read_only=True) as uow:
        total = uow.conn.execute(select(func.count()).select_from(o).where(*where)).scalar_one()
        found = list(uow.conn.execute(query))
    rows = []
    for r in found:
        customer = f"{r.customer_first_name} {r.customer_last_name}".strip()
        amount = format_amount(from_minor(r.grand_total_minor, r.currency), r.currency)
        rows.append(
            GridRow(
                id=r.id,
                sales_channel=r.sales_channel,
                purchase_date=r.origin_date,
                bill_to=_person(r.billing_address, customer),
                ship_to=_person(r.shipping_address, customer),
                status=r.status,
                grand_total=amount,
                currency=r.currency,
            )
        )
    return GridPage(rows=rows, total=int(total), page=page, per_page=per_page)
