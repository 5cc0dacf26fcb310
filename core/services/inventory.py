"""Stock that is really reserved (issue 16 item 1; seeds 004, 002).

Per source and SKU the OMS keeps what the source has on hand (`inventory.source_item.update`)
and what released lines hold of it; available = on hand - reserved. Every action and message
that moves stock goes through the functions here, which move the stock row (by the guarded
statements of `persistence/stock.py`) and the line's `reserved_source_id` together:

- **release** (A-16, and the new orders of exchanges and reshipments, released at once):
  a shipment's product lines are reserved all together or not at all. All of them: the shipment
  is INVENTORY_ASSIGNED. Not all: it holds nothing and is AWAITING_INVENTORY, so no unit sits
  idle under a shipment that cannot leave.
- **cancel** (A-1): a cancelled line gives its unit back.
- **ship** (the `ship` action, the warehouse's `…shipped` message): a line that leaves consumes
  its reservation (on hand and reserved both go down). A source may ship what the OMS never
  reserved (an order handled upstream, a line still waiting): then only on hand goes down, never
  below zero; a line reserved at one source but shipped by another gives the first one back.
- **stock freed or arriving** assigns waiting shipments, oldest first, as far as the stock goes:
  each in a transaction of its own, run once the one that freed the stock has committed (its
  order row locked before any stock row, as in every other transaction, so none can deadlock).

This module is imported by action plugins, so it reaches the database only through the unit of
work it is given (`uow.stock`), never by importing SQL.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..context import ActionContext
from ..domain.orders import Order, OrderLine, Shipment
from ..domain.users import User, system_user
from ..errors import BadInput, Forbidden, NotFound, PostsalesError
from ..machines import SHIPMENT, fire
from .messages.outbound import shipment_request

if TYPE_CHECKING:
    from ..bootstrap import Postsales
    from ..persistence.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

WAITING = "AWAITING_INVENTORY"
ASSIGNED = "INVENTORY_ASSIGNED"
HOLDING_LINES = ("ALLOCATED", "PICKING")  # released and not yet shipped or cancelled
Pair = tuple[str, str]  # (source_id, sku)
Candidates = list[tuple[str, str]]  # (order id, shipment id), oldest first
SKU_MAX = 64  # the catalog's column


def _product_lines(lines: Iterable[OrderLine]) -> list[OrderLine]:
    return [ln for ln in lines if ln.product_type == "PHYSICAL"]


# -- release --------------------------------------------------------------------------------------


def reserve(ctx: ActionContext, plan: dict[str, list[OrderLine]]) -> dict[str, bool]:
    """Reserve, per source, every product line the source is to ship, or none of them.

    Returns per source whether its lines now hold their stock (a source with only services or
    shipping needs none). Rows are locked in (source, sku) order whatever the plan's order.
    """
    need = {
        source: Counter(ln.sku for ln in _product_lines(lines) if ln.reserved_source_id is None)
        for source, lines in plan.items()
    }
    got = dict.fromkeys(plan, True)
    held: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for source, sku in sorted((src, sku) for src, skus in need.items() for sku in skus):
        if not source:  # a channel without sources: nothing can be reserved, nothing is made
            got[source] = False
        if not got[source]:
            continue
        n = need[source][sku]
        if ctx._uow.stock.reserve(source, sku, n, ctx.now):
            held[source].append((sku, n))
        else:
            got[source] = False
    for source, lines in plan.items():
        if got[source]:
            for line in _product_lines(lines):
                line.reserved_source_id = line.reserved_source_id or source
        else:  # undo what this source's other SKUs took: rows this transaction holds already
            for sku, n in held[source]:
                ctx._uow.stock.release(source, sku, n)
    return got


def status_for(reserved: bool) -> str:
    return ASSIGNED if reserved else WAITING


# -- cancel and ship ------------------------------------------------------------------------------


def give_back(ctx: ActionContext, order: Order, lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    """Cancelled lines give back what they hold; returns what went back (line, sku, source).

    Once the cancel has committed, the stock freed assigns the shipments waiting for it, and
    this order's own waiting shipments that lost a line are tried again (the line they waited
    for may be the one cancelled)."""
    back: Counter[Pair] = Counter()
    released = []
    for line in lines:
        if line.reserved_source_id is not None:
            back[(line.reserved_source_id, line.sku)] += 1
            released.append(
                {"line_number": line.line_number, "sku": line.sku,
                 "source_id": line.reserved_source_id}
            )  # fmt: skip
            line.reserved_source_id = None
    for (source, sku), n in sorted(back.items()):
        ctx._uow.stock.release(source, sku, n)
    numbers = {line.line_number for line in lines}
    own = [(order.id, s.id) for s in order.shipments
           if s.status == WAITING and numbers & set(s.lines)]  # fmt: skip
    assign_after_commit(ctx._app, ctx._uow, back, f"given back by order {order.id}", own)
    return released


def ship(ctx: ActionContext, lines: Sequence[OrderLine], source_id: str) -> None:
    """Lines that left `source_id`: on hand goes down there, and what they held is consumed
    (or, reserved at another source, given back to it)."""
    taken: Counter[Pair] = Counter()
    held: Counter[Pair] = Counter()
    back: Counter[Pair] = Counter()
    for line in _product_lines(lines):
        taken[(source_id, line.sku)] += 1
        if line.reserved_source_id == source_id:
            held[(source_id, line.sku)] += 1
        elif line.reserved_source_id is not None:
            back[(line.reserved_source_id, line.sku)] += 1
        line.reserved_source_id = None
    for pair in sorted(set(taken) | set(back)):
        if taken[pair]:
            ctx._uow.stock.take(*pair, taken[pair], held[pair])
        if back[pair]:
            ctx._uow.stock.release(*pair, back[pair])
    assign_after_commit(ctx._app, ctx._uow, back, f"given back by order shipped from {source_id}")


# -- waiting shipments ----------------------------------------------------------------------------


def stock_reported(app: Postsales, uow: UnitOfWork, source_id: str, sku: str) -> None:
    """A source reported its stock of a SKU: the shipments waiting for it are tried, oldest
    first, once the report has committed."""
    assign_after_commit(app, uow, [(source_id, sku)], f"stock update from {source_id}")


def assign_after_commit(
    app: Postsales,
    uow: Any,
    pairs: Iterable[Pair],
    cause: str,
    shipments: Sequence[tuple[str, str]] = (),
) -> None:
    """After `uow` commits, assign the shipments waiting for these (source, sku) pairs.

    Who waits is read here, in the freeing transaction, after its stock row moved: a release
    racing with it either waited for that row and saw the stock, or locked it first and is seen
    here waiting (see `StockLedger.reserve`)."""
    work: list[tuple[Pair | None, Candidates]] = [
        (pair, uow.stock.waiting(*pair)) for pair in sorted(pairs)
    ]
    work = [(pair, found) for pair, found in work if found]
    if shipments:
        work.append((None, list(shipments)))
    if work:
        uow.after_commit(lambda: assign_waiting(app, work, cause))


def assign_waiting(
    app: Postsales, work: Sequence[tuple[Pair | None, Candidates]], cause: str
) -> list[str]:
    """Try each waiting shipment in turn, each in its own transaction; per (source, sku), stop
    when none is left. Returns the shipments assigned. Runs after a commit, so a failure is
    logged, never raised: the change that freed the stock stands, and the next stock event for
    that SKU (or `postsales stock assign`) tries again."""
    assigned: list[str] = []
    tried: set[str] = set()
    try:
        for pair, candidates in work:
            for order_id, shipment_id in candidates:
                if shipment_id in tried:
                    continue
                tried.add(shipment_id)
                try:
                    outcome = _try(app, order_id, shipment_id, pair, cause)
                except PostsalesError as exc:  # this shipment only: the next may still fit
                    log.warning("shipment %s keeps waiting: %s", shipment_id, exc)
                    continue
                if outcome == "none left":
                    break
                if outcome == ASSIGNED:
                    assigned.append(shipment_id)
    except Exception:  # the freeing change committed; it must not be reported as failed
        log.exception("assigning stock to waiting shipments stopped (%s)", cause)
    return assigned


def _try(app: Postsales, order_id: str, shipment_id: str, pair: Pair | None, cause: str) -> str:
    with app.uow() as uow:
        if pair is not None:
            rows = uow.stock.levels([pair[1]], [pair[0]])
            if not rows or rows[0].quantity - rows[0].reserved <= 0:
                return "none left"
        try:
            order = uow.get_order(order_id)
            shipment = order.shipment(shipment_id)
        except (PostsalesError, KeyError):
            return "gone"
        if shipment.status != WAITING:
            return shipment.status
        ctx = ActionContext(app=app, uow=uow, user=system_user(), now=app.now())
        if not assign(ctx, order, shipment, cause):
            return WAITING
        uow.commit()
        return ASSIGNED


def assign(ctx: ActionContext, order: Order, shipment: Shipment, cause: str) -> bool:
    """Reserve a waiting shipment's open lines; if all are held it becomes INVENTORY_ASSIGNED,
    in history and in a new shipment request to its source (`inventory_status` says so)."""
    lines = [order.line(n) for n in shipment.lines if order.line(n).status in HOLDING_LINES]
    if not reserve(ctx, {shipment.source_id: lines})[shipment.source_id]:
        return False
    fire(SHIPMENT, shipment, "assign_inventory", label=f"shipment {shipment.id}")
    numbers = [ln.line_number for ln in lines]
    ctx.record(
        order,
        "shipment.inventory_assigned",
        f"Shipment {shipment.id} is {ASSIGNED}: stock at {shipment.source_id} for lines "
        f"{', '.join(map(str, numbers))} ({cause})",
        {"shipment_id": shipment.id, "source_id": shipment.source_id, "lines": numbers,
         "status": shipment.status, "cause": cause},
    )  # fmt: skip
    ctx.emit(
        "logistics.shipment_request_management.requested",
        shipment_request(order, shipment, ctx.now),
        order=order,
    )
    return True


def assign_all(app: Postsales, user: User) -> list[str]:
    """Every waiting shipment that the stock now covers, oldest first per (source, sku): what a
    crash between a stock event and its assignments left waiting. Returns those assigned."""
    if not user.can("shipment.manage"):
        raise Forbidden("you lack the permission shipment.manage")
    with app.uow(read_only=True) as uow:
        work = [(pair, uow.stock.waiting(*pair)) for pair in uow.stock.waiting_pairs()]
    return assign_waiting(app, [(p, found) for p, found in work if found], "stock assign")


# -- what is shown --------------------------------------------------------------------------------


def levels(
    uow: Any, skus: Sequence[str], sources: Sequence[str], *, others: bool = True
) -> list[dict[str, Any]]:
    """On hand, reserved and available per SKU and source: every one of `sources` (zeros where
    the source reported nothing) and, with `others`, any other source that holds the SKU."""
    found = {(r.sku, r.source_id): r for r in uow.stock.levels(skus)}
    out = []
    for sku in dict.fromkeys(skus):
        more = sorted(src for s, src in found if s == sku and src not in sources) if others else []
        for source in [*dict.fromkeys(sources), *more]:
            row = found.get((sku, source))
            on_hand, reserved = (row.quantity, row.reserved) if row else (0, 0)
            out.append({"sku": sku, "source_id": source, "on_hand": on_hand,
                        "reserved": reserved, "available": on_hand - reserved})  # fmt: skip
    return out


def show_stock(app: Postsales, skus: Sequence[str], user: User) -> list[dict[str, Any]]:
    """`postsales stock SKU…`: each SKU at every source the user's stores ship from (for a user
    of every store: every configured source, and any other that holds it)."""
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    if not skus:
        raise BadInput("sku: give at least one SKU", field="sku")
    for sku in skus:
        if not sku.strip() or len(sku) > SKU_MAX:
            raise BadInput(f"sku: expected a SKU of 1 to {SKU_MAX} characters, got {sku!r}",
                           field="sku")  # fmt: skip
    settings = app.settings
    if user.channels is None:
        sources = list(settings.sources)
    else:
        sources = [src for channel_id, channel in settings.sales_channels.items()
                   if channel_id in user.channels for src in channel.sources]  # fmt: skip
    with app.uow(read_only=True) as uow:
        held = {row.sku for row in uow.stock.levels(skus)}
        for sku in skus:
            if sku not in held and uow.catalog.product(sku) is None:
                raise NotFound(f"sku: {sku} is neither in the catalog nor in stock")
        return levels(uow, skus, sources, others=user.channels is None)


def order_stock(uow: Any, order: Order, sources: Sequence[str]) -> list[dict[str, Any]]:
    """The stock of the order's product SKUs at the channel's `sources` and any source one of
    its lines ships from."""
    lines = _product_lines(order.lines)
    used = [ln.source_id for ln in lines if ln.source_id]
    return levels(uow, [ln.sku for ln in lines], [*sources, *used])


def shortages(order: Order, stock: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The product SKUs of a new order with fewer units available (across the `stock` rows of
    `order_stock`) than it has open lines of: released now, they would wait."""
    wanted = Counter(ln.sku for ln in _product_lines(order.lines) if ln.status != "CANCELLED")
    free: Counter[str] = Counter()
    for row in stock:
        free[row["sku"]] += max(row["available"], 0)
    return [{"sku": sku, "ordered": n, "available": free[sku]}
            for sku, n in wanted.items() if n > free[sku]]  # fmt: skip
