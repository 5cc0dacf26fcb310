"""A-6 New exchange: shipped lines swapped for sibling SKUs in a new, free order `<id>-E<n>`.

Seed 000: the new SKU must be "a fellow child SKU of the same parent SKU" with "inventory
available in the relevant sales channel"; no payment is taken; the original items come back
through a return that does not refund (R-5, asked at the `child_order_return` rule point), shown
as "return pending" on the original order until the warehouse receives them. The new order has
nothing to pay, so it is released to shipping at once, from the source holding the stock: its
shipment request goes out in the same transaction, as a reshipment's does. Building, linking and
releasing the child order is shared with reshipments in `postsales.core.services.child_orders`;
what is particular to an exchange (siblings, stock, the message) stays here. The customer is
e-mailed what is coming and what to send back (`exchange_created`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    BadInput,
    Order,
    OrderLine,
    Refused,
    Widget,
    add_child_order,
    free_line,
    hookimpl,
    new_child_order,
    notify_exchange,
    order_updated,
    param,
    release_child,
    reserve_id,
    return_originals,
)

REQUIREMENT = "A-6"
ORDER_TYPE = "EXCHANGE"


@attrs.frozen
class ExchangeItem:
    """One line to exchange and the sibling SKU the customer gets instead."""

    line: int = param(Widget.LINE, label="Line", help="Line number to exchange")
    sku: str = param(Widget.SKU, label="New SKU", help="Another SKU of the same product, in stock")


@attrs.frozen
class ExchangeParams:
    """The lines to exchange, each with its new SKU, and why."""

    items: list[ExchangeItem] = param(
        Widget.LINE_ITEMS, label="Lines to exchange",
        eligible=lambda o, ln, ctx: not_exchangeable(ln),
        help="For each line to exchange, the SKU the customer gets instead",
    )  # fmt: skip
    reason: str = param(Widget.TEXT, label="Reason", default="", help="Reason for the exchange")


def not_exchangeable(line: OrderLine) -> str | None:
    if line.product_type != "PHYSICAL":
        return f"a {line.product_type.lower()} line"
    if line.status != "SHIPPED":
        return f"{line.status.lower().replace('_', ' ')}: only shipped lines are exchanged"
    return None


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(ln.status == "SHIPPED" and ln.product_type == "PHYSICAL" for ln in order.lines):
        return "no product line is SHIPPED; an exchange needs a shipped line"
    return None


def _parent_sku(line: OrderLine, ctx: ActionContext) -> str:
    parent = line.parent_sku
    if parent is None:
        product = ctx.product(line.sku)
        parent = product.parent_sku if product is not None else None
    if not parent:
        raise Refused(f"line {line.line_number} ({line.sku}) has no parent SKU, so no sibling")
    return parent


def check_items(
    order: Order, params: ExchangeParams, ctx: ActionContext
) -> list[tuple[OrderLine, Any, str]]:
    """Each item's original line, new product and the source to ship it from.

    BadInput for what the agent typed wrong (unknown line, not a sibling); Refused for what the
    order or the stock does not allow (line not shipped, no stock).
    """
    if not params.items:
        raise BadInput("items: choose at least one line to exchange", field="items")
    numbers = [item.line for item in params.items]
    if len(set(numbers)) != len(numbers):
        raise BadInput("items: a line is listed twice", field="items")
    channel = ctx.channel(order)
    demand = Counter(item.sku for item in params.items)
    out = []
    for i, item in enumerate(params.items):
        where = f"items[{i}]"
        if not order.has_line(item.line):
            raise BadInput(
                f"{where}.line: order {order.id} has no line {item.line}", field=f"{where}.line"
            )
        line = order.line(item.line)
        if line.product_type != "PHYSICAL":
            raise BadInput(f"{where}.line: line {line.line_number} is a {line.product_type} line; "
                           "only product lines are exchanged", field=f"{where}.line")  # fmt: skip
        if line.status != "SHIPPED":
            raise Refused(
                f"line {line.line_number} is {line.status}; an exchange needs a SHIPPED line"
            )
        parent = _parent_sku(line, ctx)
        product = ctx.product(item.sku)
        if item.sku == line.sku or product is None or product.parent_sku != parent:
            siblings = [p.sku for p in ctx.siblings(parent) if p.sku != line.sku]
            what = "is the SKU of that line" if item.sku == line.sku else (
                "is not a sibling" if product is not None else "is not in the catalog")  # fmt: skip
            raise BadInput(
                f"{where}.sku: {item.sku} {what}; line {line.line_number} ({line.sku}) can be "
                f"exchanged for another SKU of parent {parent}: {', '.join(siblings) or 'none'}",
                field=f"{where}.sku",
            )
        stock = ctx.stock(item.sku, channel.sources)
        # Prefer the channel's own order of sources, as the warehouse routing would.
        source = next((s for s in channel.sources if stock.get(s, 0) >= demand[item.sku]), None)
        if source is None:
            raise Refused(
                f"{item.sku} has no stock in sources {', '.join(channel.sources)} of "
                f"{order.sales_channel}"
                + (f" ({demand[item.sku]} needed)" if demand[item.sku] > 1 else ""),
                field=f"{where}.sku",
            )
        out.append((line, product, source))
    return out


def run(order: Order, params: ExchangeParams, ctx: ActionContext) -> None:
    """Create the exchange order, link it both ways, request the return of the originals."""
    checked = check_items(order, params, ctx)
    new_id = reserve_id(ctx, order, ORDER_TYPE)
    # The new SKU at no charge; the original price stays for display, fully discounted.
    lines = [
        free_line(
            number, old, order.currency, sku=product.sku, name=product.name,
            product_type="PHYSICAL", parent_sku=product.parent_sku,
            image_url=product.image_url or "", source_id=source,
        )
        for number, (old, product, source) in enumerate(checked, start=1)
    ]  # fmt: skip
    child = new_child_order(ctx, order, new_id, ORDER_TYPE, lines)
    swaps = [
        {"line_number": old.line_number, "sku": old.sku, "new_line_number": n,
         "new_sku": product.sku, "source_id": source}
        for n, (old, product, source) in enumerate(checked, start=1)
    ]  # fmt: skip
    text = ", ".join(f"line {s['line_number']} {s['sku']} -> {s['new_sku']}" for s in swaps)
    add_child_order(
        ctx, order, child,
        summary=f"Exchange of order {order.id} created by {ctx.actor}: {text}",
        payload={"items": swaps, "reason": params.reason},
        parent_summary=f"Exchange {new_id} created by {ctx.actor}: {text}"
        + (f" ({params.reason})" if params.reason else ""),
        parent_payload={"items": swaps, "reason": params.reason},
    )  # fmt: skip
    lines_back = [old.line_number for old, _, _ in checked]
    ret = return_originals(ctx, order, child, lines_back,
                                        reason=params.reason or "Exchange")  # fmt: skip
    ctx.emit(
        "postsales.exchange.management.create",
        {"exchange": {"sales_channel_id": order.sales_channel, "order_id": order.id,
                      "new_order_id": new_id, "reason": params.reason,
                      "lines": [{"line_number": s["line_number"], "sku": s["sku"],
                                 "new_sku": s["new_sku"], "new_line_number": s["new_line_number"]}
                                for s in swaps]},
         "user": ctx.user.message_name},
        order=order,
    )  # fmt: skip
    # Nothing to pay and the stock checked: the new order goes to its warehouse at once, like a
    # reshipment's (seed 002), instead of waiting for someone to release it.
    channel = ctx.channel(order)
    release_child(ctx, child, channel.sources[0] if channel.sources else None)
    ctx.emit("sales.order_management.updated", order_updated(child), order=child)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
    notify_exchange(ctx, order, child, swaps, ret)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register A-6 `exchange`."""
    return [
        ActionSpec(
            name="exchange",
            label="New exchange",
            permission="exchange.create",
            params=ExchangeParams,
            run=run,
            why_unavailable=why_unavailable,
            description="Send sibling SKUs in a new free order; the originals return unrefunded.",
            confirm="Create this exchange? The customer is e-mailed what is coming.",
            confirm_label="Create exchange order",
            requirement=REQUIREMENT,
        )
    ]
