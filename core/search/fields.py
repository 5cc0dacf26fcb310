"""The searchable fields of S-1/S-2: one whitelist shared by filters and expressions.

Each field turns a comparison (`eq`, `ne`, `gt`, `ge`, `lt`, `le`, `like`, `in`) and typed values
into a SQLAlchemy expression on `orders` — never string-built SQL. Fields that live in child
tables (SKU, tracking number, payment reference, return id, return and appeasement status) become
`orders.seq IN (SELECT order_seq …)`; partial text on SQLite goes through the FTS5 table, which
the query joins when the term sits at the top level of the search (see `Compiler.fts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    not_,
    or_,
    select,
    true,
    union,
)

from ..domain.customers import (
    CUSTOMER_TYPES,
    fold_text,
    normalise_email,
    normalise_text,
    phone_digits,
)
from ..domain.orders import normalise_sku
from ..errors import BadInput
from ..limits import MAX_LIST, MAX_SEARCH_TEXT, check_count, check_text
from ..machines import ORDER
from ..persistence import tables as T
from ..phones import national_candidates
from . import text as X
from .compiler import Build, Compiler, when_field

o = T.orders.c

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le", "like", "in")

APPEASEMENT_STATUSES = {
    "requested": "REQUESTED",
    "pending_release": "PENDING_RELEASE",
    "pending release": "PENDING_RELEASE",
    "release": "RELEASED",
    "released": "RELEASED",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
}
RETURN_STATUSES = {
    "requested": "REQUESTED",
    "approved": "APPROVED",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
}
ORDER_TYPES = {"normal": "NORMAL", "exchange": "EXCHANGE", "reshipment": "RESHIPMENT"}
ANY = ("any", "all")


def _choice(field: str, value: str, choices: dict[str, str]) -> str:
    key = value.strip().lower().replace("-", "_")
    if key in choices:
        return choices[key]
    if value.strip().upper() in choices.values():
        return value.strip().upper()
    known = ", ".join(sorted({k for k in choices if " " not in k}))
    raise BadInput(f"{field}: unknown value {value!r}; one of {known}, any", field=field)


# -- fields ---------------------------------------------------------------------------------------


@attrs.frozen
class Field:
    """A whitelisted search field: its name, the operators it takes, and how to build SQL."""

    name: str
    ops: frozenset[str]
    build: Build
    several: bool = False  # S-1 filter value may be comma-separated
    filter_op: str = "eq"  # the comparison an S-1 filter makes
    doc: str = ""


def _in_child(table: Any, where: ColumnElement[bool]) -> ColumnElement[bool]:
    return o.seq.in_(select(table.c.order_seq).where(where))


def _eq_in(column: Any, values: list[Any]) -> ColumnElement[bool]:
    return column == values[0] if len(values) == 1 else column.in_(values)


def _negate(op: str, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return not_(cond) if op == "ne" else cond


def _exact(column: Any, norm: Callable[[str], str] = str.strip, child: Any = None) -> Build:
    def build(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
        wanted = [norm(str(v)) for v in values]
        comp.partial = comp.partial or child is not None
        cond = _eq_in(column, wanted)
        return _negate(op, _in_child(child, cond) if child is not None else cond)

    return build


def _choices(column: Any, choices: dict[str, str], field: str, child: Any = None) -> Build:
    """Status-like fields; `any` means "has one" for child tables, no condition otherwise."""

    def build(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
        if any(str(v).strip().lower() in ANY for v in values):
            cond: ColumnElement[bool] = true()
            if child is not None:
                comp.partial = True
                cond = _in_child(child, child_scope(child))
            return _negate(op, cond)
        codes = sorted({_choice(field, str(v), choices) for v in values})
        comp.partial = comp.partial or child is not None
        cond = _eq_in(column if child is not None else comp.col(column), codes)
        if child is not None:
            cond = _in_child(child, and_(child_scope(child), cond))
        return _negate(op, cond)

    return build


def child_scope(child: Any) -> ColumnElement[bool]:
    if child is T.refunds:
        return T.refunds.c.kind == "APPEASEMENT"
    return true()


def channel_values(comp: Compiler, values: list[Any]) -> list[str]:
    """Store ids as configured, whatever the case typed."""
    known = {c.lower(): c for c in comp.channels}
    return [known.get(str(v).strip().lower(), str(v).strip()) for v in values]


def _unknown(field: str, what: str, value: str, yours: Sequence[str]) -> BadInput:
    # Only the user's own stores are listed: the others are not theirs to learn of.
    return BadInput(
        f"{field}: unknown {what} {value!r}; yours: {', '.join(yours) or 'none'}", field=field
    )


def _channel(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    """Stores by id, any case; an id no channel is configured with is bad input (a typo would
    otherwise read as "no orders")."""
    wanted = channel_values(comp, values)
    for value in wanted:
        if value not in comp.channels:
            yours = comp.channels if comp.visible is None else comp.visible
            raise _unknown("sales_channel", "store", value, sorted(yours))
    return _negate(op, _eq_in(comp.col(o.sales_channel), wanted))


def _market(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    """Markets as configured on the stores, any case; an unknown one is bad input."""
    wanted = [str(v).strip().upper() for v in values]
    for value in wanted:
        if value not in comp.markets:
            yours = comp.markets if comp.visible is None else comp.regions
            raise _unknown("market", "market", value, sorted(yours))
    return _negate(op, _eq_in(comp.col(o.market), wanted))


def _order_id(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    """Exact or prefix (S-1): `like` and the filter read the value as a prefix."""
    wanted = [str(v).strip() for v in values]
    if op in ("eq", "ne", "in"):
        return _negate(op, _eq_in(o.id, wanted))
    value = wanted[0].rstrip("%")
    if "%" in value:
        return o.id.like(X.pattern("order_id", value).like, escape="\\")
    if comp.sqlite:  # GLOB keeps SQLite on the unique index; LIKE would read every order
        return X.glob(o.id, X.prefix_glob(value))
    return o.id.like(X.prefix_like(value), escape="\\")  # varchar_pattern_ops index


def _text(column_name: str, field: str) -> Build:
    """Full name and shipping address: partial (`like`) or whole words, through the trigram
    indexes (see text.py)."""
    column = o[column_name]
    fts_column = X.orders_fts.c[column_name]

    def build(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool] | None:
        if op in ("eq", "ne", "in"):
            wanted = [fold_text(str(v)) for v in values]
            return _negate(op, _eq_in(column, wanted))
        pat = X.pattern(field, str(values[0]))
        comp.partial = True
        if not comp.sqlite:
            cond = X.matches(column, pat, sqlite=False)
            if top:
                comp.trigram.append(cond)
            return cond
        cond = X.glob(fts_column, pat.glob)  # the padded FTS5 content: words too
        if top:
            comp.fts.append(cond)
            return None
        return o.seq.in_(select(X.orders_fts.c.rowid).where(cond))

    return build


def _name_part(which: str) -> Build:
    """First or last name: partial or whole words, compared on the folded first or last name
    after the trigram index has narrowed the search on the full name (which holds both)."""
    part = o.first_name_norm if which == "first" else o.last_name_norm
    field = f"{which}_name"
    whole = _text("name_norm", field)

    def build(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool] | None:
        if op in ("eq", "ne", "in"):
            wanted = [w for w in (fold_text(str(v)) for v in values) if w]
            if not wanted:
                raise BadInput(f"{field}: give some text to look for", field=field)
            return _negate(op, part.in_(wanted))
        pat = X.pattern(field, str(values[0]))
        narrow = whole(comp, "like", [pat.text], top)
        exact = X.matches(part, pat, comp.sqlite)
        return exact if narrow is None else and_(narrow, exact)

    return build


def _billing(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    """S-6: every word typed must be a whole word of the billing address (keyed hashes)."""
    text = str(values[0])
    if "%" in text:
        raise BadInput(
            "billing_address: billing addresses are encrypted; only whole words match, "
            "so % cannot be used",
            field="billing_address",
        )
    if comp.billing is None:
        raise BadInput("billing_address: no billing key to search with", field="billing_address")
    hashes = comp.billing().query_tokens(text)
    comp.partial = True
    if not hashes:
        raise BadInput("billing_address: give at least one word", field="billing_address")
    bt = T.billing_tokens
    # The first word's orders, each checked for the other words on the primary key (token,
    # order): read in `seq` order, a common street stops after a page (walks.child_led_page).
    # An INTERSECT of one list per word reads both whole lists first: 200,000 entries each
    # for a street found in one order in five at a million orders (70-110 ms).
    words = select(bt.c.order_seq).where(bt.c.token_hash == hashes[0])
    for h in hashes[1:]:
        other = bt.alias()
        words = words.where(
            exists().where(other.c.token_hash == h, other.c.order_seq == bt.c.order_seq)
        )
    return _negate(op, o.seq.in_(words))


def _phone(comp: Compiler, raw: str) -> ColumnElement[bool] | None:
    """A typed number: its national number read in each of the user's markets, or the same
    raw digits (a number that does not read as one still finds its digits)."""
    digits = phone_digits(raw)
    if not digits:
        return None
    nationals = national_candidates(raw, comp.regions)
    if not nationals:
        return o.phone_digits == digits
    return or_(_eq_in(o.phone_national, nationals), o.phone_digits == digits)


def _telephone(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    conds = []
    for value in values:
        cond = _phone(comp, str(value))
        if cond is None:
            raise BadInput(f"telephone: {value!r} has no digits", field="telephone")
        conds.append(cond)
    return _negate(op, conds[0] if len(conds) == 1 else or_(*conds))


def _free_text(comp: Compiler, op: str, values: list[Any], top: bool) -> ColumnElement[bool]:
    """`q`: ids, client reference, email, phone, names, SKUs, tracking numbers, payment
    references, return ids and comments at once. Each part is indexed; the union is read in
    arrival order like any other search."""
    raw = str(values[0]).strip()
    if not raw:
        raise BadInput("q: give some text to look for", field="q")
    parts: list[Any] = [
        select(o.seq).where(o.id == raw),
        select(o.seq).where(o.client_order_reference == raw),
        select(T.order_lines.c.order_seq).where(T.order_lines.c.sku_norm == normalise_sku(raw)),
        select(T.shipments.c.order_seq).where(T.shipments.c.tracking_number == raw),
        select(T.payments.c.order_seq).where(T.payments.c.payment_id == raw),
        select(T.returns.c.order_seq).where(T.returns.c.id == raw),
    ]
    if "@" in raw:
        parts.append(select(o.seq).where(o.email_norm == normalise_email(raw)))
    digits = phone_digits(raw)
    if len(digits) >= 6 and len(digits) >= len(raw.replace(" ", "")) // 2:
        phone = _phone(comp, raw)
        if phone is not None:
            parts.append(select(o.seq).where(phone))
    text = raw.replace("%", " ")
    folded = fold_text(text)
    # Names and comments are searched for words, not for ids or numbers: a trigram search of a
    # tracking number costs 10 ms on PostgreSQL and finds nothing the exact parts missed.
    if len(folded) >= X.MIN_RUN and not any(ch.isdigit() for ch in folded):
        name = X.pattern("q", folded)
        lowered = normalise_text(text)  # comments are compared lower-cased, not folded
        comment = X.pattern("q", lowered, fold=False) if len(lowered) >= X.MIN_RUN else None
        comp.partial = True
        h = T.history.c
        if comp.sqlite:
            parts.append(
                select(X.orders_fts.c.rowid).where(X.glob(X.orders_fts.c.name_norm, name.glob))
            )
            if comment is not None:
                hits = select(X.comments_fts.c.rowid).where(
                    X.glob(X.comments_fts.c.summary, comment.glob)
                )
                parts.append(select(h.order_seq).where(h.id.in_(hits)))
        else:
            parts.append(select(o.seq).where(o.name_norm.like(name.like, escape="\\")))
            if comment is not None:
                # The partial trigram index is on `summary` itself, and serves ILIKE.
                comments = h.summary.ilike(comment.like, escape="\\")
                parts.append(select(h.order_seq).where(h.kind == "comment", comments))
    return o.seq.in_(union(*parts))


_ALL = frozenset(COMPARISONS)
_EQ = frozenset({"eq", "ne", "in"})
_TEXT = frozenset({"eq", "ne", "in", "like"})
_WHEN = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "in"})

FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("order_id", _TEXT, _order_id, filter_op="like", doc="exact or prefix"),
        Field(
            "client_order_reference",
            _EQ,
            _exact(o.client_order_reference),
            several=True,
        ),
        Field("first_name", _TEXT, _name_part("first"), filter_op="like"),
        Field("last_name", _TEXT, _name_part("last"), filter_op="like"),
        Field("name", _TEXT, _text("name_norm", "name"), filter_op="like"),
        Field(
            "email",
            _EQ,
            _exact(o.email_norm, normalise_email),
            doc="exact, case-insensitive",
        ),
        Field("telephone", _EQ, _telephone, doc="national number or digits compared"),
        Field("zip", _EQ, _exact(o.ship_zip, lambda v: v.strip().upper()), several=True),
        Field(
            "shipping_address",
            _TEXT,
            _text("ship_address_norm", "shipping_address"),
            filter_op="like",
        ),
        Field("billing_address", frozenset({"eq", "ne"}), _billing, doc="whole words"),
        Field(
            "from_date",
            frozenset({"ge"}),
            when_field(o.created_at, "from_date", "ge"),
            filter_op="ge",
        ),
        Field(
            "to_date", frozenset({"le"}), when_field(o.created_at, "to_date", "le"), filter_op="le"
        ),
        # The purchase date (`origin_date`, when the customer ordered: the grid's "Purchase
        # date"), beside the creation time above (when the order reached Postsales).
        Field(
            "purchased_from",
            frozenset({"ge"}),
            when_field(o.origin_date, "purchased_from", "ge"),
            filter_op="ge",
        ),
        Field(
            "purchased_to",
            frozenset({"le"}),
            when_field(o.origin_date, "purchased_to", "le"),
            filter_op="le",
        ),
        Field("sales_channel", _EQ, _channel, several=True),
        Field("market", _EQ, _market, several=True),
        Field(
            "status",
            _EQ,
            _choices(o.status, {s.lower(): s for s in ORDER.states}, "status"),
            several=True,
        ),
        Field(
            "appeasement_status",
            _EQ,
            _choices(T.refunds.c.status, APPEASEMENT_STATUSES, "appeasement_status", T.refunds),
            several=True,
        ),
        Field(
            "return_status",
            _EQ,
            _choices(T.returns.c.status, RETURN_STATUSES, "return_status", T.returns),
            several=True,
        ),
        Field(
            "order_type",
            _EQ,
            _choices(o.order_type, ORDER_TYPES, "order_type"),
            several=True,
        ),
        Field(
            "requested_to",
            _EQ,
            _exact(T.shipments.c.source_id, child=T.shipments),
            several=True,
        ),
        Field(
            "customer_type",
            _EQ,
            _choices(o.customer_type, {t: t for t in CUSTOMER_TYPES}, "customer_type"),
            several=True,
        ),
        Field(
            "sku",
            _EQ,
            _exact(T.order_lines.c.sku_norm, normalise_sku, child=T.order_lines),
            several=True,
        ),
        Field(
            "tracking_number",
            _EQ,
            _exact(T.shipments.c.tracking_number, child=T.shipments),
            several=True,
        ),
        Field(
            "payment_reference",
            _EQ,
            _exact(T.payments.c.payment_id, child=T.payments),
            several=True,
        ),
        Field("return_id", _EQ, _exact(T.returns.c.id, child=T.returns), several=True),
        Field("q", frozenset({"eq", "like"}), _free_text, filter_op="eq"),
        # Expression-only fields (S-2).
        Field("origin_date", _WHEN, when_field(o.origin_date, "origin_date")),
        Field("created_at", _WHEN, when_field(o.created_at, "created_at")),
    )
}

FILTERS: tuple[str, ...] = tuple(
    name for name in FIELDS if name not in ("origin_date", "created_at")
)
EXPRESSION_FIELDS: tuple[str, ...] = tuple(FIELDS)


def condition(
    comp: Compiler, name: str, op: str, values: list[Any], *, top: bool = False
) -> ColumnElement[bool] | None:
    """One comparison on a whitelisted field. None: it went into the FTS join (`comp.fts`)."""
    field = FIELDS.get(name)
    if field is None:
        raise BadInput(
            f"unknown field {name!r}; known fields: {', '.join(EXPRESSION_FIELDS)}", field=name
        )
    if op not in field.ops:
        raise BadInput(
            f"{name}: operator {op!r} is not supported; use one of {', '.join(sorted(field.ops))}",
            field=name,
        )
    if not values:
        raise BadInput(f"{name}: no value given", field=name)
    # One bound for filters and expressions: storable text, and no more values than one
    # statement can carry (PostgreSQL's 65,535 parameters, SQLite's variables).
    check_count(name, values, MAX_LIST)
    for value in values:
        check_text(name, value, MAX_SEARCH_TEXT)
    return field.build(comp, op, values, top)
