"""A-11 Reorder: a new DRAFT order repeating an earlier one (003, 004).

The draft has the same customer, addresses, shipping method, channel and lines. Product lines
are priced at today's channel price when the catalog has one; lines whose SKU is no longer sold,
or has no stock in the channel's sources, are kept (the agent decides) but flagged, in the new
order's history and in the result. Promotions carry over unless they have expired. The draft is
an ordinary one: edit it, pay it (``add_payment``) and it is placed.

When the customer already has an open cart — a DRAFT in the same channel (seed 003: "reorder
into the customer's cart") — the lines are added to it instead of starting a second draft,
unless another agent holds its lock (then the reorder is refused, naming the holder).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from postsales.core import (
    ZERO,
    ActionContext,
    ActionSpec,
    NoParams,
    Order,
    OrderLine,
    Refused,
    catalog_price,
    hookimpl,
    local_time,
    parse_amount,
    reprice,
)

ID_INFIX = "-RO"  # not "-R": `<original>-R<n>` is a reshipment
ORDER_ID_MAX = 64  # the width of orders.id


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if order.status == "DRAFT":
        return "order is DRAFT; a draft is edited, not reordered"
    return None


def _expired(promotion: dict[str, Any], now: datetime) -> bool:
    raw = promotion.get("expires_at")
    if not raw:
        return False
    try:
        expires = datetime.fromisoformat(str(raw))
    except ValueError:
        return False  # an unreadable date is kept: dropping a customer's promotion is worse
    if expires.tzinfo is None:
        return False
    return expires < now


def _amount(value: Any, currency: str) -> Decimal | None:
    try:
        return parse_amount(value, currency)
    except ValueError:
        return None


def repriced(line: OrderLine, price: Decimal, currency: str, now: datetime) -> OrderLine:
    """A fresh NEW line at `price`, keeping the discount of promotions that are still valid."""
    kept = [p for p in line.promotions if not _expired(p, now)]
    expired = sum((_amount(p.get("amount"), currency) or ZERO
                   for p in line.promotions if p not in kept), ZERO)  # fmt: skip
    fresh = line.copied(
        line.line_number, parent_line_number=line.parent_line_number, promotions=kept
    )
    reprice(fresh, price, min(max(line.discount - expired, ZERO), price), currency)
    return fresh


def _price_and_flag(
    line: OrderLine, order: Order, ctx: ActionContext
) -> tuple[Decimal, str | None]:
    """Today's price of a product line and, if it cannot simply be sold again, why."""
    if line.product_type != "PHYSICAL":
        return line.original_price, None
    product = ctx.product(line.sku)
    if product is None:
        return line.original_price, "no longer sold"
    price = catalog_price(product, order.sales_channel, order.currency)
    if price is None:
        price = line.original_price  # sold, but not priced in this channel: keep what was paid
    stock = ctx.stock(line.sku, ctx.channel(order).sources)
    if sum(stock.values()) <= 0:
        return price, "out of stock"
    return price, None


def _new_id(order: Order, ctx: ActionContext) -> str:
    n = 1
    while ctx.order_exists(f"{order.id}{ID_INFIX}{n}"):
        n += 1
    if len(new_id := f"{order.id}{ID_INFIX}{n}") > ORDER_ID_MAX:
        raise Refused(f"order id {order.id} is too long to number a reorder after it")
    return new_id


def _flags(flagged: list[dict[str, Any]]) -> str:
    return "; check " + ", ".join(f"line {f['line']} ({f['sku']}: {f['reason']})" for f in flagged)


def _into_cart(cart: Order, lines: list[OrderLine], ctx: ActionContext) -> dict[int, int]:
    """Append `lines` to the cart, numbered after its own; returns old -> new line numbers."""
    lock = cart.lock
    if lock and lock.active(ctx.now) and lock.holder != ctx.actor:
        until = local_time(lock.expires_at, ctx.user.timezone)
        raise Refused(f"the customer's cart {cart.id} is locked by {lock.holder} until {until}")
    start = max((ln.line_number for ln in cart.lines), default=0)
    numbers = {ln.line_number: start + i for i, ln in enumerate(lines, 1)}
    for line in lines:
        line.line_number = numbers[line.line_number]
        if line.parent_line_number is not None:
            line.parent_line_number = numbers.get(line.parent_line_number)
        cart.lines.append(line)
    return numbers


def run(order: Order, params: NoParams, ctx: ActionContext) -> dict[str, Any]:
    lines: list[OrderLine] = []
    flagged: list[dict[str, Any]] = []
    for line in order.lines:
        price, flag = _price_and_flag(line, order, ctx)
        lines.append(repriced(line, price, order.currency, ctx.now))
        if flag:
            flagged.append({"line": line.line_number, "sku": line.sku, "reason": flag})
    cart = ctx.customer_draft(order)
    if cart is not None:
        numbers = _into_cart(cart, lines, ctx)
        for f in flagged:
            f["line"] = numbers[f["line"]]
        summary = f"{ctx.actor} added the lines of {order.id} (reorder)"
        ctx.record(cart, "order.edited", summary + (_flags(flagged) if flagged else ""),
                   {"reorder_of": order.id, "lines": sorted(numbers.values()),
                    "flagged": flagged})  # fmt: skip
        ctx.record(order, "order.reordered", f"Reordered into the customer's cart {cart.id}",
                   {"order_id": cart.id})  # fmt: skip
        ctx.created("orders", cart.id)
        return {"flagged": flagged, "into_cart": True}
    draft = order.copied(_new_id(order, ctx), ctx.now, lines, status="DRAFT", origin="CSR")
    summary = f"Created by {ctx.actor} as a reorder of {order.id}"
    if flagged:
        summary += _flags(flagged)
    ctx.record(draft, "order.created", summary, {"reorder_of": order.id, "flagged": flagged})
    ctx.add_order(draft)
    ctx.record(order, "order.reordered", f"Reordered as draft {draft.id}", {"order_id": draft.id})
    ctx.created("orders", draft.id)
    return {"flagged": flagged}


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    return [
        ActionSpec(
            name="reorder",
            label="Reorder",
            permission="order.reorder",
            run=run,
            why_unavailable=why_unavailable,
            description="Start a new draft order with this order's customer, addresses and lines.",
            requirement="A-11",
        )
    ]
