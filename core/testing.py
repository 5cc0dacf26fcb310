"""A test kit for plugin authors: run actions and ask rules in memory, without a database.

In the manner of cosmicpython's ``FakeUnitOfWork``: :class:`InMemoryUnitOfWork` keeps orders,
outbox messages and stock in dicts and has the unit of work's contract (load a copy, change it,
commit or lose it), and :func:`in_memory_app` is a ``Postsales`` whose ``uow()`` is that store.
The core's own services then run unchanged, so a test goes through the same
``run_action`` / ``list_actions`` a door calls::

    from postsales.core.testing import a_line, an_order, in_memory_app, run, unavailable

    app = in_memory_app()  # built-in plugins and the packaged configuration
    app.store.add(an_order("000000101", lines=[a_line(1, price="20.00")]))
    assert unavailable(app, "000000101", "return") == "order is NEW; return is allowed in ..."
    outcome = run(app, "000000101", "cancel", {"reason": "Customer request"})
    assert app.store.saved("000000101").status == "CANCELLED"

``in_memory_app(plugins=[("store_credit", module)], builtins=False)`` loads only your module;
:func:`context` gives an ``ActionContext`` for asking a rule directly
(``ctx.ask(RETURN_ELIGIBILITY, order, line)``). What the kit does not imitate: SQL guards
(D-1…D-4 are checked by the domain before they reach SQL), PostgreSQL locks, and the draft
services that number carts with a query (``drafts``); those stay integration tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import attrs

from .bootstrap import Postsales, load_plugins
from .context import ActionContext
from .domain.customers import Address, Customer
from .domain.orders import Order, OrderLine, Payment
from .domain.users import User
from .errors import NotFound, Refused
from .settings import Settings, load_settings

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # the kit's clock, unless told otherwise


# -- order builders -------------------------------------------------------------------------------


def a_line(
    number: int,
    sku: str | None = None,
    *,
    price: str | Decimal = "10.00",
    tax: str | Decimal = "0.00",
    status: str = "NEW",
    product_type: str = "PHYSICAL",
    source_id: str | None = None,
    **fields: Any,
) -> OrderLine:
    """An order line of one unit: ``price`` is the net amount, ``tax`` added to make the gross."""
    net, tax_amount = Decimal(price), Decimal(tax)
    return OrderLine(
        line_number=number,
        sku=sku or f"SKU-{number}",
        name=fields.pop("name", f"Product {number}"),
        product_type=product_type,
        original_price=net + tax_amount,
        net_amount=net,
        tax_amount=tax_amount,
        gross_amount=net + tax_amount,
        status=status,
        source_id=source_id,
        **fields,
    )


def a_customer(customer_id: str = "C-1", **fields: Any) -> Customer:
    values = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", **fields}
    return Customer(id=customer_id, **values)


def an_order(
    order_id: str = "000000101",
    *,
    lines: Iterable[OrderLine] = (),
    status: str = "NEW",
    channel: str = "ST1",
    currency: str = "USD",
    customer: Customer | None = None,
    payments: list[Payment] | None = None,
    created_at: datetime = NOW,
    **fields: Any,
) -> Order:
    """An order of the given lines (one line of 10.00 if none), paid in full by card unless
    ``payments`` says otherwise; any other ``Order`` field can be given by name."""
    order_lines = list(lines) or [a_line(1)]
    if payments is None:
        total = sum((ln.gross_amount for ln in order_lines), Decimal(0))
        payments = [Payment("1", "card", f"PAY-{order_id}", total, total)]
    address = Address(first_name="Ada", last_name="Lovelace", city="London", country_code="GB")
    return Order(
        id=order_id,
        sales_channel=channel,
        currency=currency,
        customer=customer or a_customer(),
        created_at=created_at,
        origin_date=created_at,
        status=status,
        lines=order_lines,
        payments=payments,
        billing_address=fields.pop("billing_address", address),
        shipping_address=fields.pop("shipping_address", address),
        **fields,
    )


@attrs.frozen
class Product:
    """A catalog product, with the attributes the catalog's rows have."""

    sku: str
    name: str
    parent_sku: str | None = None
    image_url: str = ""
    product_type: str = "PHYSICAL"
    prices: dict[str, str] = attrs.field(factory=dict)  # {channel: "amount"}
    updated_at: datetime = NOW


@attrs.frozen
class StockRow:
    source_id: str
    sku: str
    quantity: int
    reserved: int


# -- the in-memory unit of work ----------------------------------------------------------------


class InMemoryCatalog:
    def __init__(self, store: InMemoryUnitOfWork) -> None:
        self._store = store
        self.products: dict[str, Product] = {}

    def product(self, sku: str) -> Product | None:
        return self.products.get(sku)

    def siblings(self, parent_sku: str) -> list[Product]:
        return sorted(
            (p for p in self.products.values() if p.parent_sku == parent_sku),
            key=lambda p: p.sku,
        )

    def stock(self, sku: str, sources: tuple[str, ...]) -> dict[str, int]:
        return {
            source: max(quantity - reserved, 0)
            for (source, s), (quantity, reserved) in self._store.stock_levels.items()
            if s == sku and source in sources
        }

    def search(self, text: str, limit: int = 20) -> list[Product]:
        found = [p for p in self.products.values() if text.lower() in f"{p.sku} {p.name}".lower()]
        return sorted(found, key=lambda p: p.sku)[:limit]


class InMemoryStock:
    """The stock ledger's moves over ``InMemoryUnitOfWork.stock_levels``."""

    def __init__(self, store: InMemoryUnitOfWork) -> None:
        self._store = store

    def _row(self, source_id: str, sku: str) -> list[int]:
        return self._store.stock_levels.setdefault((source_id, sku), [0, 0])

    def reserve(self, source_id: str, sku: str, n: int, now: datetime) -> bool:
        row = self._row(source_id, sku)
        if row[0] - row[1] < n:
            return False
        row[1] += n
        return True

    def release(self, source_id: str, sku: str, n: int) -> None:
        row = self._row(source_id, sku)
        row[1] = max(row[1] - n, 0)

    def take(self, source_id: str, sku: str, n: int, held: int) -> None:
        row = self._row(source_id, sku)
        row[0], row[1] = max(row[0] - n, 0), max(row[1] - held, 0)

    def levels(self, skus: Collection[str], sources: Collection[str] | None = None) -> list[Any]:
        rows = [
            StockRow(source, sku, quantity, reserved)
            for (source, sku), (quantity, reserved) in self._store.stock_levels.items()
            if sku in skus and (sources is None or source in sources)
        ]
        return sorted(rows, key=lambda r: (r.sku, r.source_id))

    def waiting(self, source_id: str, sku: str) -> list[tuple[str, str]]:
        return [
            (order.id, shipment.id)
            for order in self._store.orders.values()
            for shipment in order.shipments
            if shipment.status == "AWAITING_INVENTORY"
            and shipment.source_id == source_id
            and any(
                ln.sku == sku and ln.status == "ALLOCATED" and ln.reserved_source_id is None
                for ln in order.lines
                if ln.line_number in shipment.lines
            )
        ]

    def waiting_pairs(self) -> list[tuple[str, str]]:
        return sorted(
            {
                (shipment.source_id, ln.sku)
                for order in self._store.orders.values()
                for shipment in order.shipments
                if shipment.status == "AWAITING_INVENTORY"
                for ln in order.lines
                if ln.line_number in shipment.lines
                and ln.status == "ALLOCATED"
                and ln.product_type == "PHYSICAL"
                and ln.reserved_source_id is None
            }
        )


class InMemoryUnitOfWork:
    """Orders, outbox messages and stock in memory, with the unit of work's contract.

    ``get_order`` hands out a copy; ``commit`` keeps the copies and the messages emitted, then
    runs the ``after_commit`` work; leaving the ``with`` block without committing loses them,
    as a rolled-back transaction does (a preview, a refusal)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}  # committed state
        self.messages: list[dict[str, Any]] = []  # committed outbox, in order
        self.stock_levels: dict[tuple[str, str], list[int]] = {}  # (source, sku): [on hand, held]
        self.address_books: dict[str, list[dict[str, str]]] = {}  # committed, by customer id
        self.catalog = InMemoryCatalog(self)
        self.stock = InMemoryStock(self)
        self.commits = 0
        self._begin()

    # -- arranging a test --
    def add(self, *orders: Order) -> None:
        """Put orders in the store as if they had been committed."""
        for order in orders:
            self.orders[order.id] = copy.deepcopy(order)

    def saved(self, order_id: str) -> Order:
        """The committed state of an order (what the next unit of work would load)."""
        return self.orders[order_id]

    def add_product(self, product: Product, stock: Mapping[str, int] | None = None) -> None:
        self.catalog.products[product.sku] = product
        for source, quantity in (stock or {}).items():
            self.stock_levels[(source, product.sku)] = [quantity, 0]

    # -- the unit of work's contract --
    def _begin(self) -> None:
        self._working: dict[str, Order] = {}
        self._deleted: set[str] = set()
        self._outbox: list[dict[str, Any]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._stock_before = copy.deepcopy(self.stock_levels)
        self._books: dict[str, list[dict[str, str]]] = {}

    def __enter__(self) -> InMemoryUnitOfWork:
        self._begin()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.rollback()

    def get_order(
        self,
        order_id: str,
        *,
        history: bool = False,
        lock: bool = True,
        channels: Collection[str] | None = None,
    ) -> Order:
        if order_id not in self._working:
            if order_id not in self.orders or order_id in self._deleted:
                raise NotFound(f"order {order_id} not found")
            self._working[order_id] = copy.deepcopy(self.orders[order_id])
        order = self._working[order_id]
        if channels is not None and order.sales_channel not in channels:
            raise NotFound(f"order {order_id} not found")
        return order

    def add_order(self, order: Order) -> None:
        self._working[order.id] = order

    def delete_order(self, order: Order) -> None:
        if order.status != "DRAFT":
            raise Refused(f"order is {order.status}; only DRAFT orders can be deleted")
        self._working.pop(order.id, None)
        self._deleted.add(order.id)

    def order_exists(self, order_id: str) -> bool:
        return order_id in self._working or order_id in self.orders

    def save_address(self, customer: Any, address: Any, now: datetime) -> bool:
        book = self._books.setdefault(customer.id, list(self.address_books.get(customer.id, [])))
        entry = address.to_dict()
        if entry in book:
            return False
        book.append(entry)
        return True

    def customer_draft_id(self, customer_id: str, sales_channel: str) -> str | None:
        drafts = [
            o
            for o in {**self.orders, **self._working}.values()
            if o.status == "DRAFT"
            and o.customer.id == customer_id
            and o.sales_channel == sales_channel
            and o.id not in self._deleted
        ]
        return max(drafts, key=lambda o: o.created_at).id if drafts else None

    def emit(
        self, type_: str, payload: dict[str, Any], *, order_id: str | None, at: datetime
    ) -> str:
        message_id = f"out-{len(self.messages) + len(self._outbox) + 1}"
        self._outbox.append(
            {
                "message_id": message_id,
                "type": type_,
                "order_id": order_id,
                "payload": payload,
                "created_at": at,
            }
        )
        return message_id

    @property
    def pending_messages(self) -> list[dict[str, Any]]:
        return list(self._outbox)

    def after_commit(self, work: Callable[[], None]) -> None:
        self._after_commit.append(work)

    def flush(self) -> None:
        """Nothing to send: the domain has checked the caps already."""

    def commit(self) -> None:
        for order_id in self._deleted:
            self.orders.pop(order_id, None)
        self.orders.update(self._working)
        self.messages.extend(self._outbox)
        self.address_books.update(self._books)
        self.commits += 1
        work, self._after_commit = self._after_commit, []
        self._stock_before = copy.deepcopy(self.stock_levels)
        self._working, self._deleted, self._outbox, self._books = {}, set(), [], {}
        for step in work:
            step()

    def rollback(self) -> None:
        self.stock_levels.clear()
        self.stock_levels.update(self._stock_before)
        self._working, self._deleted, self._outbox, self._books = {}, set(), [], {}
        self._after_commit = []


# -- the application ------------------------------------------------------------------------------


@attrs.define
class InMemoryPostsales(Postsales):
    """``Postsales`` whose every unit of work is the one in-memory store (``app.store``)."""

    store: InMemoryUnitOfWork = attrs.field(factory=InMemoryUnitOfWork)

    def uow(self, *, read_only: bool = False, lock_wait: float | None = None) -> Any:
        return self.store


def in_memory_app(
    *,
    plugins: Iterable[tuple[str, Any]] = (),
    builtins: bool = True,
    settings: Settings | None = None,
    config: str | None = None,
    now: datetime = NOW,
) -> InMemoryPostsales:
    """The built-in plugins (unless ``builtins=False``; other installed distributions never)
    plus ``plugins`` as (name, module) pairs, over the packaged configuration (or ``config``, a
    YAML path), with a fixed clock."""
    settings = settings or load_settings(config)
    # Only Postsales's own entry points: a unit test must not depend on what else is installed.
    pm, registry = load_plugins(
        settings, entry_points=builtins, extra=tuple(plugins), only_builtins=True
    )
    return InMemoryPostsales(
        settings,
        cast(Any, None),  # no engine: nothing here reaches a database
        pm,
        registry,
        clock=lambda: now,
    )


def a_user(role: str = "supervisor", settings: Settings | None = None, name: str = "") -> User:
    """A user with one of the configured roles (every sales channel)."""
    settings = settings or load_settings(None)
    permissions = frozenset(settings.roles[role].permissions)
    return User(name or role, (role,), permissions, None)


def context(app: Postsales, user: User | None = None, *, dry_run: bool = False) -> ActionContext:
    """An ``ActionContext`` on the in-memory store, for asking rules or calling services."""
    uow = cast(InMemoryPostsales, app).store
    return ActionContext(
        app=app,
        uow=cast(Any, uow),
        user=user or a_user(settings=app.settings),
        now=app.now(),
        dry_run=dry_run,
    )


def run(
    app: Postsales,
    order_id: str,
    action: str,
    params: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    dry_run: bool = False,
) -> Any:
    """Run an action as the doors do (`services.actions.run_action`): the permission, lock and
    availability checks, its parameters parsed, one unit of work committed (or, for a preview,
    lost). Returns the ``ActionOutcome``; a refusal raises as it would for a door."""
    from .services.actions import run_action

    who = user or a_user(settings=app.settings)
    return run_action(app, order_id, action, params or {}, who, dry_run=dry_run)


def unavailable(app: Postsales, order_id: str, action: str, *, user: User | None = None) -> Any:
    """Why an action is not offered on the order now (None when it is), as the doors show it."""
    from .services.actions import list_actions

    who = user or a_user(settings=app.settings)
    by_name = {a.name: a for a in list_actions(app, order_id, who)}
    return by_name[action].reason
