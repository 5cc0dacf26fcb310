"""A-12 Create an order for a customer: a DRAFT built by an agent, paid later (A-13).

Creating an order is not an action on an existing order, so it is a service of its own, with the
same unit of work, history and permission checks as the action runner. Plugins must not import
this module (it reads tables, and plugins never reach SQL): how a line is priced lives in
`core.domain.pricing`, which this service, the edit action (A-14) and reorder (A-11) share.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Postsales
from ..context import ActionContext
from ..documents import order_document
from ..domain.customers import CUSTOMER_TYPES, Address, Customer
from ..domain.orders import Order, OrderLine
from ..domain.pricing import catalog_lines, catalog_price
from ..domain.users import User
from ..errors import BadInput, Forbidden
from ..limits import check_text
from ..money import ZERO, format_amount, parse_amount
from ..persistence import tables as T
from . import inventory
from .idempotency import KeyedRequest, keep_with

PARAMS = ("sales_channel", "customer", "shipping_address", "billing_address", "shipping_method",
          "lines")  # fmt: skip
CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone", "type")
ADDRESS_FIELDS = tuple(Address().to_dict())
QUANTITY_MAX = 100  # each unit is a line (SPEC §2); a phone order of more is a B2B import
ID_PREFIX = "P"
ID_DIGITS = 9


def _bad(path: str, message: str) -> BadInput:
    return BadInput(f"{path}: {message}", field=path)


def _text(value: Any, path: str, *, required: bool = False, limit: int = 256) -> str:
    value = "" if value is None else value
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        raise _bad(path, f"expected text, got {value!r}")
    text = str(value).strip()
    if required and not text:
        raise _bad(path, "a value is required")
    if len(text) > limit:
        raise _bad(path, f"at most {limit} characters")
    return text


def address_param(raw: Any, path: str) -> Address:
    """An address object from a parameter: known fields only, text values (never validated
    further: A-7 allows any address)."""
    if not isinstance(raw, Mapping):
        raise _bad(path, f"expected an object with {', '.join(ADDRESS_FIELDS)}")
    unknown = sorted(set(raw) - set(ADDRESS_FIELDS))
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", f"unknown field; expected {', '.join(ADDRESS_FIELDS)}")
    values = {k: _text(v, f"{path}.{k}") for k, v in raw.items()}
    if not any(values.values()):
        raise _bad(path, "the address is empty")
    return Address(**values)


def line_params(ctx: ActionContext, raw: Any, path: str, channel_id: str, currency: str,
                first_number: int) -> list[OrderLine]:  # fmt: skip
    """`{"sku", "quantity", "price"?}` -> unit lines; the price defaults to the channel price."""
    if not isinstance(raw, Mapping):
        raise _bad(path, 'expected an object like {"sku": "MJ01-M-RED", "quantity": 1}')
    unknown = sorted(set(raw) - {"sku", "quantity", "price"})
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", "unknown field; expected sku, quantity, price")
    sku = _text(raw.get("sku"), f"{path}.sku", required=True, limit=64)
    product = ctx.product(sku)
    if product is None:
        raise _bad(f"{path}.sku", f"unknown SKU {sku!r}")
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, Decimal) and quantity == quantity.to_integral_value():
        quantity = int(quantity)  # JSON numbers arrive as Decimal (SPEC §11)
    if isinstance(quantity, str) and quantity.strip().isdigit():
        quantity = int(quantity)
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise _bad(f"{path}.quantity", f"expected a whole number, got {quantity!r}")
    if not 1 <= quantity <= QUANTITY_MAX:
        raise _bad(f"{path}.quantity", f"must be between 1 and {QUANTITY_MAX}, got {quantity}")
    if raw.get("price") is None:
        price = catalog_price(product, channel_id, currency)
        if price is None:
            raise _bad(f"{path}.price", f"SKU {sku} has no price in {channel_id}; give a price")
    else:
        try:
            price = parse_amount(raw["price"], currency, field=f"{path}.price")
        except ValueError as exc:
            raise BadInput(str(exc), field=f"{path}.price") from None
        if price < ZERO:
            raise _bad(f"{path}.price", "must not be negative")
    channel = ctx.settings.sales_channels[channel_id]
    return catalog_lines(product, quantity, price, first_number, currency=currency,
                         tax_rate=channel.tax_rate, tax_type=channel.tax_type)  # fmt: skip


# -- finding products (the line editor of a new order and of `edit`) --------------------------

FIND_MIN = 3  # characters of a SKU or name before the finder searches
FIND_MAX = 256  # a product name's length (SQLite refuses far longer LIKE patterns)


@attrs.frozen
class ProductOffer:
    """A catalog product as a line editor shows it: the channel's price and what its sources
    have available (on hand less reserved)."""

    sku: str
    name: str
    product_type: str
    price: Decimal | None  # None: the channel has no price for it; the agent gives one
    currency: str
    available: int
    by_source: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "product_type": self.product_type,
            "price": None if self.price is None else format_amount(self.price, self.currency),
            "currency": self.currency,
            "available": self.available,
            "by_source": self.by_source,
        }


def find_products(app: Postsales, user: User, sales_channel: Any, text: str) -> list[ProductOffer]:
    """Products whose SKU or name holds `text` (3 characters or more), with their price and
    stock in `sales_channel`; for agents who may create or edit orders."""
    if not (user.can("orders.create") or user.can("order.edit")):
        raise Forbidden("you lack the permission orders.create")
    channel_id = _channel(app, sales_channel, user)
    channel = app.settings.sales_channels[channel_id]
    wanted = check_text("product_q", text.strip(), FIND_MAX)
    if len(wanted) < FIND_MIN:
        raise _bad("product_q", f"type at least {FIND_MIN} characters of a SKU or product name")
    # The primary, not a replica: stock an agent is about to sell must be current.
    with app.uow(read_only=True) as uow:
        products = uow.catalog.search(wanted)
        stock = uow.catalog.stock_of([p.sku for p in products], channel.sources)
    return [
        ProductOffer(
            sku=p.sku,
            name=p.name,
            product_type=p.product_type,
            price=catalog_price(p, channel_id, channel.currency),
            currency=channel.currency,
            available=sum(stock[p.sku].values()),
            by_source=stock[p.sku],
        )
        for p in products
    ]


@attrs.frozen
class Quote:
    """Lines as a new order would hold them (taxed at the channel's rate), with totals."""

    currency: str
    lines: list[OrderLine]
    rows: list[tuple[int, int]]  # per line given: (first unit line number, units)
    stock: dict[str, int]  # per SKU, what the channel's sources have available

    def _sum(self, attr: str) -> Decimal:
        return sum((getattr(ln, attr) for ln in self.lines), ZERO)

    @property
    def net(self) -> Decimal:
        return self._sum("net_amount")

    @property
    def tax(self) -> Decimal:
        return self._sum("tax_amount")

    @property
    def gross(self) -> Decimal:
        return self._sum("gross_amount")


def quote_lines(app: Postsales, user: User, sales_channel: Any, raw_lines: Any) -> Quote:
    """Price `[{"sku", "quantity", "price"?}]` in a channel as `create_order` would, without
    creating anything: what a line editor shows before the agent places the order."""
    if not (user.can("orders.create") or user.can("order.edit")):
        raise Forbidden("you lack the permission orders.create")
    channel_id = _channel(app, sales_channel, user)
    channel = app.settings.sales_channels[channel_id]
    if not isinstance(raw_lines, list | tuple) or len(raw_lines) > QUANTITY_MAX:
        raise _bad("lines", f'expected a list of at most {QUANTITY_MAX} {{"sku", "quantity"}}')
    with app.uow(read_only=True) as uow:
        ctx = ActionContext(app=app, uow=uow, user=user, now=app.now(), dry_run=True)
        lines: list[OrderLine] = []
        rows = []
        for i, raw in enumerate(raw_lines):
            added = line_params(ctx, raw, f"lines[{i}]", channel_id, channel.currency,
                                len(lines) + 1)  # fmt: skip
            rows.append((len(lines) + 1, len(added)))
            lines += added
        skus = sorted({ln.sku for ln in lines})
        stock = {
            sku: sum(v.values()) for sku, v in uow.catalog.stock_of(skus, channel.sources).items()
        }
    return Quote(channel.currency, lines, rows, stock)


# -- the service ------------------------------------------------------------------------------


def _channel(app: Postsales, raw: Any, user: User) -> str:
    visible = [c for c in app.settings.sales_channels if user.sees(c)]
    if not isinstance(raw, str) or raw not in visible:
        # A channel outside the user's stores is as unknown as a misspelt one (SPEC §4).
        raise _bad("sales_channel", f"unknown sales channel {raw!r}; known: {', '.join(visible)}")
    return raw


def _customer(ctx: ActionContext, raw: Any, user: User) -> Customer:
    if isinstance(raw, str):
        return _existing_customer(ctx, raw.strip(), user)
    if not isinstance(raw, Mapping):
        raise _bad("customer", "expected a customer id or {first_name, last_name, email…}")
    unknown = sorted(set(raw) - set(CUSTOMER_FIELDS))
    if unknown:
        raise _bad(f"customer.{unknown[0]}", f"unknown; expected {', '.join(CUSTOMER_FIELDS)}")
    first = _text(raw.get("first_name"), "customer.first_name", required=True, limit=128)
    last = _text(raw.get("last_name"), "customer.last_name", required=True, limit=128)
    email = _text(raw.get("email"), "customer.email", required=True)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise _bad("customer.email", f"expected an e-mail address, got {email!r}")
    kind = _text(raw.get("type") or "guest", "customer.type")
    if kind not in CUSTOMER_TYPES:
        raise _bad("customer.type", f"expected one of {', '.join(CUSTOMER_TYPES)}, got {kind!r}")
    phone = _text(raw.get("phone"), "customer.phone", limit=64)
    return Customer(f"C-{uuid.uuid4().hex[:12].upper()}", kind, first, last, email, phone)


def _existing_customer(ctx: ActionContext, customer_id: str, user: User) -> Customer:
    """The customer as their latest order (in the user's stores) knows them."""
    o = T.orders.c
    columns = (o.customer_id, o.customer_type, o.customer_first_name, o.customer_last_name,
               o.customer_email, o.customer_phone)  # fmt: skip
    query = select(*columns).where(o.customer_id == customer_id)
    if user.channels is not None:
        query = query.where(o.sales_channel.in_(sorted(user.channels)))
    row = ctx._uow.conn.execute(query.order_by(o.seq.desc()).limit(1)).first()
    if row is None:
        raise _bad("customer", f"no customer with id {customer_id!r}")
    return Customer(row.customer_id, row.customer_type, row.customer_first_name,
                    row.customer_last_name, row.customer_email, row.customer_phone)  # fmt: skip


def next_order_id(ctx: ActionContext) -> str:
    """`P` + 9 digits, one more than the highest such id (fixed width, so strings sort)."""
    o = T.orders.c
    low, high = ID_PREFIX + "0" * ID_DIGITS, ID_PREFIX + "9" * ID_DIGITS
    query = (
        select(o.id)
        .where(o.id >= low, o.id <= high, func.length(o.id) == len(low))
        .order_by(o.id.desc())
        .limit(20)
    )
    taken = [oid for (oid,) in ctx._uow.conn.execute(query) if oid[1:].isdigit()]
    number = int(taken[0][1:]) + 1 if taken else 1
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def _build(ctx: ActionContext, params: Mapping[str, Any], user: User) -> Order:
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise _bad(unknown[0], f"unknown parameter; expected one of: {', '.join(PARAMS)}")
    for name in ("sales_channel", "customer", "shipping_address", "shipping_method", "lines"):
        if params.get(name) in (None, "", [], {}):
            raise _bad(name, "missing required parameter")
    channel_id = _channel(ctx._app, params["sales_channel"], user)
    channel = ctx._app.settings.sales_channels[channel_id]
    customer = _customer(ctx, params["customer"], user)
    shipping = address_param(params["shipping_address"], "shipping_address")
    raw_billing = params.get("billing_address")
    billing = shipping if raw_billing is None else address_param(raw_billing, "billing_address")
    method = params["shipping_method"]
    if method not in channel.shipping_methods:
        allowed = ", ".join(channel.shipping_methods)
        raise _bad("shipping_method", f"{method!r} is not offered in {channel_id}: {allowed}")
    raw_lines = params["lines"]
    if not isinstance(raw_lines, list | tuple) or len(raw_lines) > QUANTITY_MAX:
        raise _bad("lines", f'expected a list of at most {QUANTITY_MAX} {{"sku", "quantity"}}')
    lines: list[OrderLine] = []
    for i, raw in enumerate(raw_lines):
        lines += line_params(ctx, raw, f"lines[{i}]", channel_id, channel.currency, len(lines) + 1)
    return Order(
        id=next_order_id(ctx),
        sales_channel=channel_id,
        currency=channel.currency,
        customer=customer,
        created_at=ctx.now,
        origin_date=ctx.now,
        status="DRAFT",
        origin="CSR",
        language=channel.language,
        vat_country=shipping.country_code or channel.market,
        market=channel.market,
        billing_address=billing,
        shipping_address=shipping,
        shipping_method=method,
        lines=lines,
    )


def create_order(
    app: Postsales,
    params: Mapping[str, Any],
    user: User,
    *,
    dry_run: bool = False,
    keyed: KeyedRequest | None = None,
) -> dict[str, Any]:
    """Create a DRAFT order for a customer (A-12); returns its order document (with `keyed`,
    the key's answer commits with the draft).

    `params`: `sales_channel`, `customer` (an existing customer's id, or an object for a new
    one), `shipping_address`, `billing_address` (optional, defaults to the shipping address),
    `shipping_method`, `lines` (`[{"sku", "quantity", "price"?}]`). The draft must be paid
    (`add_payment`) before it is placed.
    """
    if not user.can("orders.create"):
        raise Forbidden("you lack the permission orders.create")
    if not isinstance(params, Mapping):
        raise BadInput("parameters: expected an object")
    retries = 2
    while True:
        with app.uow() as uow:
            ctx = ActionContext(app=app, uow=uow, user=user, now=app.now(), dry_run=dry_run)
            order = _build(ctx, params, user)
            c = order.customer
            # What is really available (on hand less reserved) at the channel's sources.
            sources = app.settings.sales_channels[order.sales_channel].sources
            stock = inventory.order_stock(uow, order, sources)
            short = inventory.shortages(order, stock)
            ctx.record(order, "order.created",
                       f"Created by {user.name} for {c.full_name} ({c.email})"
                       + "".join(f"; {s['sku']}: {s['ordered']} ordered, {s['available']} "
                                 "available" for s in short),
                       {"customer_id": c.id, "lines": len(order.lines),
                        **({"short_of_stock": short} if short else {})})  # fmt: skip
            ctx.add_order(order)
            try:
                uow.flush()
            except IntegrityError:
                # Another agent took the same P-number at the same moment (PostgreSQL): retry.
                if not retries:
                    raise
                retries -= 1
                continue
            document = order_document(order)
            document["stock"] = stock
            if not dry_run:
                if keyed is not None:
                    keep_with(uow, keyed, document, ctx.now)
                uow.commit()
            return document
