"""A-7 New reshipment: shipped lines sent again, free of charge, in a new order `<id>-R<n>`.

Seed 002: the new order is a child of the original; a `postsales.reshipment.management.create`
message is sent (its `user` the agent's e-mail address), then a
`logistics.shipment_request_management.requested` for the new order (its items the reshipped
lines and the shipping line, all at 0.00) and a `sales.order_management.updated`. The original
lines get a return without refund (R-4, asked at the `child_order_return` rule point). The new
shipping address is not validated (seed 000).
Building, linking and releasing the child order is shared with exchanges in
`postsales.core.services.child_orders` (its shipment request is the one `release` sends); what is
particular to a reshipment (which lines, the new address) stays here. The customer is e-mailed
what is sent again, where, and how to send back the originals (`reshipment_created`).
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    Address,
    BadInput,
    Order,
    OrderLine,
    Refused,
    Widget,
    add_child_order,
    free_line,
    hookimpl,
    new_child_order,
    notify_reshipment,
    order_updated,
    param,
    release_child,
    reserve_id,
    return_originals,
)

REQUIREMENT = "A-7"
ORDER_TYPE = "RESHIPMENT"
# The keys of `new_shipping_address` in seed 002 and examples/messages/out-reshipment-create.json.
MESSAGE_ADDRESS_KEYS = (
    *("first_name", "last_name", "company_name", "address1", "address2", "city", "zip", "state"),
    "country_code",
)
ADDRESS_KEYS = tuple(attrs.fields_dict(Address))


@attrs.frozen
class ReshipmentParams:
    """The shipped lines to send again, why, and optionally a new address and method."""

    lines: list[int] = param(
        Widget.LINES, label="Lines", help="Shipped lines to send again",
        eligible=lambda o, ln, ctx: not_reshippable(ln),
    )  # fmt: skip
    reason: str = param(Widget.TEXT, label="Reason", help="e.g. Warehouse mistake")
    reason_description: str = param(Widget.LONG_TEXT, label="Description", default="")
    shipping_method: str | None = param(
        Widget.CHOICE, label="Shipping method", default=None, choices_from="shipping_methods",
        help="Default: the order's",
    )  # fmt: skip
    # Typed as edit's is: parse_params checks its keys and types, and the core completes a
    # partial address from the order's before the action runs (widgets.filled).
    shipping_address: Address | None = param(
        Widget.ADDRESS, label="Shipping address", default=None, prefill="shipping_address",
        help="Not validated; fields left alone keep the order's",
    )  # fmt: skip


def not_reshippable(line: OrderLine) -> str | None:
    if line.product_type == "SHIPPING":
        return "the shipping charge"
    if line.status != "SHIPPED":
        return f"{line.status.lower().replace('_', ' ')}: only shipped lines are sent again"
    return None


def why_unavailable(order: Order, ctx: ActionContext) -> str | None:
    if not any(ln.status == "SHIPPED" and ln.product_type != "SHIPPING" for ln in order.lines):
        return "no line is SHIPPED; a reshipment needs a shipped line"
    return None


def check_lines(order: Order, numbers: list[int]) -> list[OrderLine]:
    if not numbers:
        raise BadInput("lines: choose at least one line to reship", field="lines")
    if len(set(numbers)) != len(numbers):
        raise BadInput("lines: a line is listed twice", field="lines")
    for n in numbers:
        if not order.has_line(n):
            raise BadInput(f"lines: order {order.id} has no line {n}", field="lines")
        if order.line(n).product_type == "SHIPPING":
            raise BadInput(
                f"lines: line {n} is the shipping charge; choose product lines", field="lines"
            )
    for n in numbers:
        if order.line(n).status != "SHIPPED":
            raise Refused(f"line {n} is {order.line(n).status}; a reshipment needs a SHIPPED line")
    return [order.line(n) for n in numbers]


# Seed 002's shipment request of a reshipment carries this item, at 0.00, after the products.
SEED_SHIPPING_LINE = OrderLine(line_number=0, sku="STANDARD", name="SHIPPING",
                               product_type="SHIPPING")  # fmt: skip


def free_lines(order: Order, numbers: list[int]) -> list[OrderLine]:
    """Clones of the shipped lines at no charge, numbered 1… in the order given, then the
    shipping line at 0.00 (seed 002: the reshipment's shipment request lists a `SHIPPING` item
    of net, tax and gross 0). A service line (gift wrap) reshipped with its product keeps
    pointing at it. The shipping line is the original's (its SKU and name; the first, if it had
    several), else seed 002's `STANDARD`; it ships from the first reshipped line's source."""
    renumber = {n: i for i, n in enumerate(numbers, start=1)}
    lines = []
    for n in numbers:
        old = order.line(n)
        parent = renumber.get(old.parent_line_number or 0)
        lines.append(free_line(renumber[n], old, order.currency,
                                            parent_line_number=parent))  # fmt: skip
    shipping = next((ln for ln in order.lines if ln.product_type == "SHIPPING"), None)
    lines.append(
        free_line(
            len(lines) + 1, shipping or SEED_SHIPPING_LINE, order.currency,
            source_id=lines[0].source_id if lines else None,
        )
    )  # fmt: skip
    return lines


def reshipment_created(
    order: Order, child: Order, params: ReshipmentParams, user: str
) -> dict[str, Any]:
    """`postsales.reshipment.management.create`, exactly as seed 002 and the example show it;
    `user` is the agent's e-mail address (seed 002: `"user": "you@youremail.com"`), or the user
    name of an agent without one."""
    address = child.shipping_address.to_dict() if child.shipping_address else {}
    return {
        "reshipment": {
            "sales_channel_id": order.sales_channel,
            "order_id": order.id,
            "new_order_id": child.id,
            "new_shipping_method": child.shipping_method,
            "new_shipping_address": {k: address.get(k, "") for k in MESSAGE_ADDRESS_KEYS},
            "lines": [
                {
                    "line_number": n,
                    "reason": params.reason,
                    "reason_description": params.reason_description,
                }
                for n in params.lines
            ],
        },
        "user": user,
    }


def run(order: Order, params: ReshipmentParams, ctx: ActionContext) -> None:
    """Create the free order, request its shipment, return the originals without refund."""
    lines = check_lines(order, list(params.lines))
    if not params.reason.strip():
        raise BadInput("reason: a reason is required", field="reason")
    channel = ctx.channel(order)
    if (
        params.shipping_method is not None
        and params.shipping_method not in channel.shipping_methods
    ):
        methods = ", ".join(channel.shipping_methods)
        raise BadInput(
            f"shipping_method: {params.shipping_method!r} is not a shipping method of "
            f"{order.sales_channel}; choose one of: {methods}",
            field="shipping_method",
        )
    new_id = reserve_id(ctx, order, ORDER_TYPE)
    child = new_child_order(
        ctx, order, new_id, ORDER_TYPE, free_lines(order, list(params.lines)),
        shipping_address=params.shipping_address or order.shipping_address,
        shipping_method=params.shipping_method,
    )  # fmt: skip
    numbers = [ln.line_number for ln in lines]
    what = f"line(s) {', '.join(map(str, numbers))}: {params.reason}" + (
        f" ({params.reason_description})" if params.reason_description else "")  # fmt: skip
    detail = {"lines": numbers, "reason": params.reason,
              "reason_description": params.reason_description}  # fmt: skip
    add_child_order(
        ctx, order, child,
        summary=f"Reshipment of order {order.id} created by {ctx.actor}, {what}",
        payload=detail,
        parent_summary=f"Reshipment {new_id} created by {ctx.actor}, {what}",
        parent_payload={**detail, "shipping_method": child.shipping_method},
    )  # fmt: skip
    # Seed 002's order: the reshipment-create, then the new order's shipment request, then its
    # order-updated; only then what follows on the original order (its return, its update).
    ctx.emit("postsales.reshipment.management.create",
             reshipment_created(order, child, params, ctx.user.message_name),
             order=order)  # fmt: skip
    release_child(ctx, child, channel.sources[0] if channel.sources else None)
    ctx.emit("sales.order_management.updated", order_updated(child), order=child)
    # Lost or damaged items may never come back: the return waits for the warehouse.
    ret = return_originals(ctx, order, child, numbers, reason=params.reason)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
    notify_reshipment(ctx, order, child, ret)


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    """Register A-7 `reshipment`."""
    return [
        ActionSpec(
            name="reshipment",
            label="New reshipment",
            permission="reshipment.create",
            params=ReshipmentParams,
            run=run,
            why_unavailable=why_unavailable,
            description="Ship lines again for free in a new order; the originals are returned.",
            confirm="Send these lines again? The customer is e-mailed.",
            confirm_label="Create reshipment order",
            requirement=REQUIREMENT,
        )
    ]
