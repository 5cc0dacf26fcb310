"""The customer page (003: the customer's account and order history): one customer as the
user's stores know them.

A customer is known through their orders: each order keeps a snapshot of the customer (id,
type, name, email, phone) and its addresses. The page gathers every order of the customer id
in the user's stores; a guest has a new id per order in many web stores, so a guest's orders
are also gathered by email (every guest order with the same address, case-insensitive).
A customer seen only through another store's orders is not found, as an unknown id is
(SPEC §4): the answer never tells the two apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import ColumnElement, and_, func, or_, select

from ..bootstrap import Postsales
from ..domain.customers import normalise_email
from ..domain.users import User
from ..errors import BadInput, Forbidden, NotFound
from ..limits import check_text
from ..money import format_amount, from_minor
from ..persistence import tables as T
from ..persistence.aggregate import billing_plaintext
from ..persistence.keys import cipher_for
from ..search import text as X
from ..search.plans import make_plan

if TYPE_CHECKING:
    from ..persistence.unit_of_work import UnitOfWork

# The newest orders shown (an account with more says how many there are), and how many of
# them give the addresses.
MAX_ORDERS = 200
ADDRESS_ORDERS = 50
OPEN_RETURNS = ("REQUESTED", "APPROVED")
OPEN_REFUNDS = ("REQUESTED", "PENDING_RELEASE")


@attrs.frozen
class CustomerOrder:
    id: str
    sales_channel: str
    status: str
    order_type: str
    origin_date: Any
    grand_total: str
    currency: str
    customer_id: str
    open_returns: list[str]
    open_refunds: list[tuple[str, str]]  # (refund id, amount)


@attrs.frozen
class CustomerAddress:
    address: dict[str, str]
    kinds: tuple[str, ...]  # "shipping", "billing", "address book"
    last_order_id: str | None


@attrs.frozen
class Customer:
    """What the customer page shows; `orders` newest first, at most MAX_ORDERS of `total`."""

    id: str
    type: str
    first_name: str
    last_name: str
    email: str
    phone: str
    grouped_by_email: bool
    customer_ids: list[str]
    addresses: list[CustomerAddress]
    orders: list[CustomerOrder]
    total: int

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _address_key(address: dict[str, Any]) -> tuple[str, ...]:
    fields = ("first_name", "last_name", "company_name", "address1", "address2", "zip", "city")
    return tuple(str(address.get(k) or "").strip().lower() for k in (*fields, "country_code"))


def show_customer(app: Postsales, user: User, customer_id: str) -> Customer:
    """The customer `customer_id` as the user's stores know them; NotFound otherwise."""
    if not user.can("orders.view"):
        raise Forbidden(f"{user.name} may not do this (needs orders.view)")
    wanted = customer_id.strip()
    missing = NotFound(f"customer {customer_id} not found")
    if not wanted or len(wanted) > 64:
        raise missing
    o = T.orders.c
    scope = [o.sales_channel.in_(sorted(user.channels))] if user.channels is not None else []
    with app.uow(read_only=True) as uow:
        conn = uow.conn
        newest = conn.execute(
            select(o.customer_type, o.email_norm)
            .where(o.customer_id == wanted, *scope)
            .order_by(o.seq.desc())
            .limit(1)
        ).first()
        if newest is None:
            raise missing
        guest = newest.customer_type == "guest" and bool(newest.email_norm)
        who = o.customer_id == wanted
        if guest:
            who = or_(who, and_(o.customer_type == "guest", o.email_norm == newest.email_norm))
        counted = select(func.count()).select_from(T.orders).where(who, *scope)
        total = int(conn.execute(counted).scalar_one())
        rows = conn.execute(
            select(
                o.seq,
                o.id,
                o.sales_channel,
                o.status,
                o.order_type,
                o.origin_date,
                o.grand_total_minor,
                o.currency,
                o.customer_id,
                o.customer_type,
                o.customer_first_name,
                o.customer_last_name,
                o.customer_email,
                o.customer_phone,
                o.shipping_address,
                o.billing_address_enc,
                o.billing_address,
            )
            .where(who, *scope)
            .order_by(o.origin_date.desc(), o.seq.desc())
            .limit(MAX_ORDERS)
        ).all()
        seqs = [r.seq for r in rows]
        returns, refunds, waiting = _open_post_sales(conn, seqs)
        book = conn.execute(
            select(T.customers.c.addresses).where(T.customers.c.id == wanted)
        ).scalar()
        addresses = _addresses(app, rows[:ADDRESS_ORDERS], book)
    first = max(rows, key=lambda r: r.seq)  # the latest snapshot of the customer
    orders = []
    for r in rows:
        open_returns = [
            rid
            for rid, status, lines in returns.get(r.seq, [])
            if status == "REQUESTED" or any((r.seq, n) in waiting for n in lines)
        ]
        orders.append(
            CustomerOrder(
                id=r.id,
                sales_channel=r.sales_channel,
                status=r.status,
                order_type=r.order_type,
                origin_date=r.origin_date,
                grand_total=format_amount(from_minor(r.grand_total_minor, r.currency), r.currency),
                currency=r.currency,
                customer_id=r.customer_id,
                open_returns=open_returns,
                open_refunds=[
                    (fid, format_amount(from_minor(minor, r.currency), r.currency))
                    for fid, minor in refunds.get(r.seq, [])
                ],
            )
        )
    return Customer(
        id=wanted,
        type=first.customer_type,
        first_name=first.customer_first_name,
        last_name=first.customer_last_name,
        email=first.customer_email,
        phone=first.customer_phone,
        grouped_by_email=guest,
        customer_ids=sorted({r.customer_id for r in rows}),
        addresses=addresses,
        orders=orders,
        total=total,
    )


_Returns = dict[int, list[tuple[str, str, list[int]]]]
_Refunds = dict[int, list[tuple[str, int]]]


def _open_post_sales(conn: Any, seqs: list[int]) -> tuple[_Returns, _Refunds, set[Any]]:
    """Per order: its open returns, its open refunds, and the lines still awaited back.

    A return is open while it waits for approval (REQUESTED), or while approved lines have not
    come back (the line still RETURN_REQUESTED). A refund is open until released or
    cancelled."""
    if not seqs:
        return {}, {}, set()
    rt, rf, ln = T.returns.c, T.refunds.c, T.order_lines.c
    returns: _Returns = {}
    for r in conn.execute(
        select(rt.order_seq, rt.id, rt.status, rt.lines)
        .where(rt.order_seq.in_(seqs), rt.status.in_(OPEN_RETURNS))
        .order_by(rt.created_at)
    ):
        lines = [int(n) for n in (r.lines or []) if isinstance(n, int | str) and str(n).isdigit()]
        returns.setdefault(r.order_seq, []).append((r.id, r.status, lines))
    refunds: _Refunds = {}
    for r in conn.execute(
        select(rf.order_seq, rf.id, rf.amount_minor)
        .where(rf.order_seq.in_(seqs), rf.status.in_(OPEN_REFUNDS))
        .order_by(rf.created_at)
    ):
        refunds.setdefault(r.order_seq, []).append((r.id, r.amount_minor))
    waiting = set()
    if returns:
        waiting = {
            (r.order_seq, r.line_number)
            for r in conn.execute(
                select(ln.order_seq, ln.line_number).where(
                    ln.order_seq.in_(list(returns)), ln.status == "RETURN_REQUESTED"
                )
            )
        }
    return returns, refunds, waiting


def _addresses(app: Postsales, rows: Sequence[Any], book: Any) -> list[CustomerAddress]:
    """The addresses of the newest orders and of the address book, each once, newest first."""
    found: dict[tuple[str, ...], tuple[dict[str, str], list[str], str | None]] = {}

    def add(address: Any, kind: str, order_id: str | None) -> None:
        if not isinstance(address, dict) or not any(address.values()):
            return
        shown = {k: str(v or "") for k, v in address.items() if k != "reference"}
        entry = found.setdefault(_address_key(shown), (shown, [], order_id))
        if kind not in entry[1]:
            entry[1].append(kind)

    cipher = None

    def billing() -> Any:
        nonlocal cipher
        if cipher is None:
            cipher = cipher_for(app.engine)
        return cipher

    for r in rows:
        add(r.shipping_address, "shipping", r.id)
        add(
            billing_plaintext(r.id, r.billing_address_enc, r.billing_address, billing),
            "billing",
            r.id,
        )
    for address in book if isinstance(book, list) else []:
        add(address, "address book", None)
    return [CustomerAddress(a, tuple(kinds), oid) for a, kinds, oid in found.values()]


# -- finding a customer for a new order (A-12) -------------------------------------------------

FIND_MIN = 3  # characters typed before the finder searches
FIND_MAX = 256  # an e-mail's length
FIND_SHOWN = 10
_FIND_ROWS = 200  # newest matching orders read to gather that many customers


@attrs.frozen
class CustomerMatch:
    """A customer the finder offers: their latest snapshot and shipping address."""

    id: str
    type: str
    first_name: str
    last_name: str
    email: str
    phone: str
    address: dict[str, str]
    last_order_id: str
    sales_channel: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _starts_with(app: Postsales, column: Any, prefix: str) -> Any:
    """A prefix match the column's index serves: GLOB on SQLite (LIKE there ignores a binary
    index), LIKE 'x%' on PostgreSQL."""
    if app.engine.dialect.name == "sqlite":
        return X.glob(column, X.prefix_glob(prefix))
    return column.startswith(prefix, autoescape=True)


def find_customers(
    app: Postsales, user: User, text: str, *, sales_channel: str | None = None
) -> list[CustomerMatch]:
    """Customers whose name holds `text`, or whose e-mail starts with it (or is it), or with
    that phone or order id, newest first, in the user's stores (or `sales_channel`).

    Names, e-mails, phones and ids go through the orders search (`q`, S-1), which every part
    of is indexed; the e-mail prefix is a range on the e-mail index."""
    if not user.can("orders.view"):
        raise Forbidden(f"{user.name} may not do this (needs orders.view)")
    wanted = check_text("customer_q", text.strip(), FIND_MAX)
    if len(wanted) < FIND_MIN:
        message = f"customer_q: type at least {FIND_MIN} characters of a name or e-mail"
        raise BadInput(message, field="customer_q")
    filters: dict[str, str] = {"q": wanted}
    if sales_channel:
        filters["sales_channel"] = sales_channel
    plan = make_plan(app, user, filters, None)
    o = T.orders.c
    columns = (o.seq, o.id, o.sales_channel, o.customer_id, o.customer_type,
               o.customer_first_name, o.customer_last_name, o.customer_email,
               o.customer_phone, o.shipping_address)  # fmt: skip
    email = normalise_email(wanted)
    scope: list[ColumnElement[bool]] = []
    if user.channels is not None:
        scope.append(o.sales_channel.in_(sorted(user.channels)))
    if sales_channel:
        scope.append(o.sales_channel == sales_channel)

    def read(uow: UnitOfWork) -> list[Any]:
        rows = list(uow.conn.execute(plan.order_by(plan.select(*columns)).limit(_FIND_ROWS)))
        if " " not in email:
            by_email = (
                select(*columns)
                .where(_starts_with(app, o.email_norm, email), *scope)
                .order_by(o.seq.desc())
                .limit(_FIND_ROWS)
            )
            rows += list(uow.conn.execute(by_email))
        return rows

    rows, _ = app.read(read)
    found: dict[str, CustomerMatch] = {}
    for r in sorted(rows, key=lambda r: r.seq, reverse=True):
        if r.customer_id in found or not r.customer_id:
            continue
        address = {k: str(v or "") for k, v in (r.shipping_address or {}).items()
                   if k != "reference"}  # fmt: skip
        found[r.customer_id] = CustomerMatch(
            r.customer_id, r.customer_type, r.customer_first_name, r.customer_last_name,
            r.customer_email, r.customer_phone, address, r.id, r.sales_channel,
        )  # fmt: skip
        if len(found) == FIND_SHOWN:
            break
    return list(found.values())


__all__ = [
    "Customer",
    "CustomerAddress",
    "CustomerMatch",
    "CustomerOrder",
    "find_customers",
    "show_customer",
]
