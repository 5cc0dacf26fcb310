"""A-13 Add payment, A-14 Edit order, A-15 Delete order: working on drafts (004).

An agent-created draft (A-12, `postsales.core.services.drafts.create_order`) or a reorder
(A-11) is edited, paid and so placed: a DRAFT whose captured amount covers its total becomes NEW.
Placed orders can still be edited until they are released to shipping; only drafts are deleted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from postsales.core import (
    LINE,
    ORDER,
    ZERO,
    ActionContext,
    ActionSpec,
    Address,
    BadInput,
    NoParams,
    Order,
    OrderLine,
    Payment,
    PaymentOperation,
    Refused,
    Widget,
    catalog_lines,
    fire,
    format_amount,
    hookimpl,
    listed_price,
    order_updated,
    param,
    parse_amount,
    reprice,
)

EDITABLE = ("DRAFT", "NEW", "RECEIVED", "ONHOLD")  # not yet released to shipping
PAYABLE = EDITABLE  # 004: an order must be paid before it is released
QUANTITY_MAX = 100  # each unit is a line (SPEC §2)


def _updated(order: Order, ctx: ActionContext) -> None:
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)


def _money(order: Order, amount: Decimal) -> str:
    return f"{format_amount(amount, order.currency)} {order.currency}"


def _amount(value: Any, order: Order, path: str) -> Decimal:
    """A non-negative amount with the order currency's decimals, or BadInput naming `path`."""
    try:
        amount = parse_amount(value, order.currency, field=path)
    except ValueError as exc:
        raise BadInput(str(exc), field=path) from None
    if amount < ZERO:
        raise BadInput(f"{path}: must not be negative", field=path)
    return amount


# -- A-13 add payment ---------------------------------------------------------------------------


@attrs.frozen
class PaymentParams:
    method: str = param(Widget.CHOICE, label="Payment method", choices_from="payment_methods")
    amount: Decimal = param(
        Widget.MONEY, label="Amount", help="The amount paid", maximum_text="due",
        maximum=lambda order, ctx: order.total_due,
    )  # fmt: skip
    payment_id: str = param(
        Widget.TEXT, label="Payment ID", default="", help="The provider's reference", max_length=128
    )


def why_not_pay(order: Order, ctx: ActionContext) -> str | None:
    if order.total_due <= ZERO:
        return "nothing is due on this order"
    return None


def _next_reference(order: Order) -> str:
    taken = {p.reference for p in order.payments}
    n = len(order.payments) + 1
    while str(n) in taken:
        n += 1
    return str(n)


def add_payment(order: Order, params: PaymentParams, ctx: ActionContext) -> dict[str, Any]:
    methods = ctx.channel(order).payment_methods
    if params.method not in methods:
        raise BadInput(
            f"method: {params.method!r} is not a payment method of {order.sales_channel}; "
            f"allowed: {', '.join(methods)}",
            field="method",
        )
    amount = _amount(params.amount, order, "amount")
    if amount == ZERO:
        raise BadInput("amount: must be more than 0", field="amount")
    if amount > order.total_due:
        raise BadInput(
            f"amount: {_money(order, amount)} is more than the total due "
            f"{_money(order, order.total_due)}",
            field="amount",
        )
    if len(params.payment_id) > 128:  # the column's width
        raise BadInput("payment_id: at most 128 characters", field="payment_id")
    reference = _next_reference(order)
    # Recorded as captured: the agent records money already taken (card on the phone, cash…).
    operation = PaymentOperation("capture", amount, f"recorded by {ctx.actor}", ctx.now)
    order.payments.append(
        Payment(reference, params.method, params.payment_id.strip(), amount, amount, [operation])
    )
    ctx.record(order, "payment.added",
               f"Payment of {_money(order, amount)} by {params.method} added by {ctx.actor}",
               {"reference": reference, "method": params.method, "amount": str(amount),
                "payment_id": params.payment_id})  # fmt: skip
    if order.status == "DRAFT" and order.captured >= order.grand_total:
        fire(ORDER, order, "place")
        ctx.record(order, "order.placed", "Order placed: fully paid")
        _updated(order, ctx)
    return {"payments": [reference]}


# -- A-14 edit ----------------------------------------------------------------------------------


@attrs.frozen
class LineEdit:
    """`{"line": n, "remove": true}` removes a NEW line; `{"sku", "quantity", "price"?}` adds."""

    line: int | None = param(
        Widget.LINE, label="Line", default=None, help="the line to remove",
        eligible=lambda o, ln, ctx: None if ln.status == "NEW" else "only NEW lines are edited",
    )  # fmt: skip
    remove: bool = param(label="Remove", default=False, help="remove this line")
    sku: str | None = param(Widget.SKU, label="Add SKU", default=None, help="the SKU to add")
    quantity: int = param(label="Quantity", default=1, help="units to add (one line each)")
    price: Decimal | None = param(
        Widget.MONEY, label="Price", default=None, help="default: channel price"
    )


@attrs.frozen
class DiscountEdit:
    line: int = param(Widget.LINE, label="Line")
    amount: Decimal = param(Widget.MONEY, label="Discount", help="its new discount, e.g. 5.00")


@attrs.frozen
class EditParams:
    # Typed objects: parse_params checks their keys and types, and the forms and the API schema
    # show their fields. The address is never validated further (A-7 allows any address).
    shipping_address: Address | None = param(
        Widget.ADDRESS, label="Shipping address", default=None, prefill="shipping_address",
        help="The new shipping address (the form starts from the order's)",
    )  # fmt: skip
    shipping_method: str | None = param(
        Widget.CHOICE, label="Shipping method", default=None, choices_from="shipping_methods"
    )
    save_to_address_book: bool = param(
        label="Save to address book", default=False,
        help="also save the new address to the customer's address book",
    )  # fmt: skip
    lines: list[LineEdit] | None = param(
        Widget.LINE_EDITOR, label="Remove or add lines", default=None,
        help='lines to remove ({"line": 2, "remove": true}) and products to add '
        '({"sku": "MJ01-L-RED", "quantity": 2, "price"?}; default price: the store\'s)',
    )  # fmt: skip
    discounts: list[DiscountEdit] | None = param(
        Widget.LINE_ITEMS, label="Discounts", default=None, help="A new discount for NEW lines",
        eligible=lambda o, ln, ctx: None if ln.status == "NEW" else "only NEW lines are edited",
    )  # fmt: skip


def _line(order: Order, number: int, path: str) -> OrderLine:
    if not order.has_line(number):
        raise BadInput(f"{path}.line: order {order.id} has no line {number}", field=f"{path}.line")
    line = order.line(number)
    if line.status != "NEW":
        raise Refused(f"line {number} is {line.status}; only NEW lines can be edited")
    return line


def _remove(order: Order, line: OrderLine) -> list[int]:
    """Removal keeps the row (history is never rewritten): the line is cancelled at no cost,
    with the services (gift wrap) attached to it."""
    removed = []
    for ln in [line, *(x for x in order.lines if x.parent_line_number == line.line_number)]:
        if ln.status == "NEW":
            fire(LINE, ln, "cancel", label=f"line {ln.line_number}")
            ln.status_reason = "REMOVED"
            # Fully discounted rather than zeroed, so price - discount = net still holds.
            reprice(ln, ln.original_price, ln.original_price, order.currency)
            removed.append(ln.line_number)
    return removed


def _add(order: Order, edit: LineEdit, path: str, ctx: ActionContext) -> list[OrderLine]:
    """Unit lines of a catalog product, priced as a new order's lines are (A-12)."""
    product = ctx.product(edit.sku or "")
    if product is None:
        raise BadInput(f"{path}.sku: unknown SKU {edit.sku!r}", field=f"{path}.sku")
    if not 1 <= edit.quantity <= QUANTITY_MAX:
        raise BadInput(f"{path}.quantity: from 1 to {QUANTITY_MAX}", field=f"{path}.quantity")
    price = edit.price
    if price is None:
        # The listed value, not `catalog_price`: one this currency cannot hold is reported to
        # the agent (by `_amount` below) rather than taken for a missing price.
        price = listed_price(product, order.sales_channel)
        if price is None:
            raise BadInput(f"{path}.price: {product.sku} has no price in {order.sales_channel}; "
                           "give one", field=f"{path}.price")  # fmt: skip
    price = _amount(price, order, f"{path}.price")
    first = max((ln.line_number for ln in order.lines), default=0) + 1
    channel = ctx.channel(order)
    return catalog_lines(product, edit.quantity, price, first, currency=order.currency,
                         tax_rate=channel.tax_rate, tax_type=channel.tax_type)  # fmt: skip


def _edit_lines(order: Order, edits: list[LineEdit], ctx: ActionContext, done: list[str]) -> None:
    for i, edit in enumerate(edits):
        path = f"lines[{i}]"
        if edit.line is not None and edit.remove and edit.sku is None:
            removed = _remove(order, _line(order, edit.line, path))
            done.append("removed line " + ", ".join(map(str, removed)))
        elif edit.line is None and not edit.remove and edit.sku:
            added = _add(order, edit, path, ctx)
            order.lines.extend(added)
            numbers = sorted({added[0].line_number, added[-1].line_number})
            done.append(f"added {len(added)} x {edit.sku} (line {'-'.join(map(str, numbers))})")
        else:
            raise BadInput(f'{path}: give {{"line": n, "remove": true}} or {{"sku", "quantity"}}',
                           field=path)  # fmt: skip
    if all(ln.status == "CANCELLED" for ln in order.lines):
        raise Refused("an order cannot lose every line; delete the draft or cancel the order")


def _edit_discounts(order: Order, edits: list[DiscountEdit], done: list[str]) -> None:
    for i, edit in enumerate(edits):
        path = f"discounts[{i}]"
        line = _line(order, edit.line, path)
        amount = _amount(edit.amount, order, f"{path}.amount")
        if amount > line.original_price:
            price = format_amount(line.original_price, order.currency)
            raise BadInput(
                f"{path}.amount: at most the line's price {price}", field=f"{path}.amount"
            )
        reprice(line, line.original_price, amount, order.currency)
        done.append(f"discount on line {line.line_number} set to {_money(order, amount)}")


def edit(order: Order, params: EditParams, ctx: ActionContext) -> None:
    if all(v is None for v in (params.shipping_address, params.shipping_method, params.lines,
                               params.discounts)):  # fmt: skip
        raise BadInput("parameters: nothing to change; give shipping_address, shipping_method, "
                       "lines or discounts")  # fmt: skip
    if params.save_to_address_book and params.shipping_address is None:
        raise BadInput("save_to_address_book: give the shipping_address to save",
                       field="save_to_address_book")  # fmt: skip
    done: list[str] = []
    payload: dict[str, Any] = {}
    if params.shipping_address == Address():
        raise BadInput("shipping_address: the address is empty", field="shipping_address")
    if params.shipping_address is not None:
        # The order's own copy changes; the customer's address book does not (004).
        order.shipping_address = params.shipping_address
        payload["shipping_address"] = order.shipping_address.to_dict()
        done.append(f"shipping address {order.shipping_address.one_line()}")
    if params.shipping_method is not None:
        methods = ctx.channel(order).shipping_methods
        if params.shipping_method not in methods:
            raise BadInput(
                f"shipping_method: {params.shipping_method!r} is not offered in "
                f"{order.sales_channel}; allowed: {', '.join(methods)}",
                field="shipping_method",
            )
        order.shipping_method = params.shipping_method
        done.append(f"shipping method {params.shipping_method}")
    lines_before = len(done)
    if params.lines:
        _edit_lines(order, params.lines, ctx, done)
    if params.discounts:
        _edit_discounts(order, params.discounts, done)
    if order.captured > order.grand_total:
        raise Refused(
            f"the new total {_money(order, order.grand_total)} is below the "
            f"{_money(order, order.captured)} already paid; cancel lines or appease instead, "
            "which refund the difference"
        )
    summary = f"Edited by {ctx.actor}: " + "; ".join(done)
    if params.save_to_address_book and order.shipping_address is not None:
        saved = ctx.save_address(order, order.shipping_address)
        payload["address_book"] = {"customer_id": order.customer.id, "saved": saved}
        summary += ("; address saved to the customer's address book" if saved
                    else "; the address was in the customer's address book already")  # fmt: skip
    payload.update(changes=done, grand_total=str(order.grand_total))
    ctx.record(order, "order.edited", summary, payload)
    if order.status != "DRAFT" and len(done) > lines_before:
        _updated(order, ctx)  # placed lines or totals changed: the web store should know


# -- A-15 delete --------------------------------------------------------------------------------


def delete(order: Order, params: NoParams, ctx: ActionContext) -> dict[str, Any]:
    """Delete the draft with every row of it, its history included.

    A draft is a cart: nothing was shipped or announced to another system (a draft emits no
    messages until it is placed), so there is nothing to keep. `applies_to` offers the action on
    drafts only; the unit of work refuses any other status again, so no door can delete a
    placed order.
    """
    ctx.delete_order(order)
    return {"deleted": [order.id]}


def why_not_delete(order: Order, ctx: ActionContext) -> str | None:
    """Money taken on a partly paid draft must stay on record until refunded or placed."""
    if order.captured > 0:
        amount = format_amount(order.captured, order.currency)
        return f"{amount} {order.currency} was captured on this draft; place it or refund it first"
    return None


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    return [
        ActionSpec(
            name="add_payment",
            label="Add payment",
            permission="payment.add",
            params=PaymentParams,
            run=add_payment,
            applies_to=PAYABLE,
            why_unavailable=why_not_pay,
            description="Record a payment; a fully paid draft is placed.",
            confirm="Record a payment of {amount} by {method}?",
            confirm_label="Record payment",
            requirement="A-13",
        ),
        ActionSpec(
            name="edit",
            label="Edit order",
            permission="order.edit",
            params=EditParams,
            run=edit,
            applies_to=EDITABLE,
            description="Change the shipping address or method, lines and discounts.",
            requirement="A-14",
        ),
        ActionSpec(
            name="delete",
            label="Delete draft",
            permission="order.delete",
            run=delete,
            applies_to=("DRAFT",),
            why_unavailable=why_not_delete,
            confirm="Delete this draft order? This cannot be undone.",
            confirm_label="Delete draft {order_id}",
            requirement="A-15",
        ),
    ]
