"""Example outside plugin: an action and a rule, written only against `postsales.core`.

- Action `store_credit`: give the customer store credit on a line instead of money back. It is
  an appeasement-kind refund (so D-2 caps it), confirmed at once because no payment gateway is
  involved, and it emits `postsales.store_credit.issued` for the loyalty system.
- Rule `restocking_fee`: keeps a percentage of the refund of returned physical lines. Off unless
  configured: ``plugins: {store_credit: {restocking_fee_percent: "10"}}``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import attrs

from postsales.core import (
    ActionSpec,
    BadInput,
    RefundLine,
    Rule,
    Widget,
    appeasable_amount,
    create_refund,
    format_amount,
    hookimpl,
    param,
    parse_amount,
    quantum,
    settle_refund,
)

PLUGIN = "store_credit"


def _not_creditable(order, line, ctx) -> str | None:
    return None if appeasable_amount(line) > 0 else "nothing left to credit"


# What each parameter is (postsales.core.widgets): the web shows the lines with the ones that
# cannot be credited disabled, and the amount with its currency and maximum; the API's schema
# and `postsales act ID store_credit --help` say the same, and every door refuses a credit
# above the maximum next to the field before `run` is called.
@attrs.frozen
class StoreCreditParams:
    line: int = param(Widget.LINE, label="Line", help="Line to credit", eligible=_not_creditable)
    amount: Decimal = param(
        Widget.MONEY,
        label="Amount",
        help="Store credit amount",
        line_field="line",
        maximum=lambda order, ctx, line: appeasable_amount(line),
        maximum_text="left to credit",
    )
    reason: str = param(Widget.TEXT, label="Reason", default="Store credit")


def why_unavailable(order, ctx) -> str | None:
    if not any(appeasable_amount(line) > 0 for line in order.lines):
        return "no line has anything left to credit"
    return None


def run(order, params: StoreCreditParams, ctx) -> dict:
    if not order.has_line(params.line):
        raise BadInput(f"line: order {order.id} has no line {params.line}", field="line")
    try:
        amount = parse_amount(params.amount, order.currency, field="amount")
    except ValueError as exc:
        raise BadInput(str(exc), field="amount") from None
    if amount <= 0:
        raise BadInput("amount: must be more than 0", field="amount")
    refund = create_refund(
        ctx,
        order,
        "APPEASEMENT",
        [RefundLine(params.line, amount)],
        reason=params.reason,
        description="store credit",
        auto_release=False,
    )
    settle_refund(ctx, order, refund, "store credit issued")  # no gateway: issued right here
    ctx.emit(
        "postsales.store_credit.issued",
        {
            "order_id": order.id,
            "customer_id": order.customer.id,
            "refund_id": refund.id,
            "amount": format_amount(amount, order.currency),
            "currency": order.currency,
        },
        order=order,
    )
    return {"store_credit": [refund.id]}


def restocking_fee(order, ret, lines: list[RefundLine], ctx) -> list[RefundLine] | None:
    percent = Decimal(str(ctx.settings.plugin_options(PLUGIN).get("restocking_fee_percent", "0")))
    if percent <= 0:
        return None
    q = quantum(order.currency)
    adjusted = []
    for rl in lines:
        if order.line(rl.line_number).product_type == "PHYSICAL":
            fee = (rl.amount * percent / 100).quantize(q, rounding=ROUND_HALF_UP)
            rl = RefundLine(rl.line_number, rl.amount - fee)
        if rl.amount > 0:
            adjusted.append(rl)
    return adjusted


@hookimpl
def postsales_register_actions(settings):
    return [
        ActionSpec(
            name="store_credit",
            label="Store credit",
            permission="appeasement.create",
            params=StoreCreditParams,
            run=run,
            why_unavailable=why_unavailable,
            applies_to=("SHIPPED", "PARTIALLY_SHIPPED", "CLOSED", "LOGISTICS"),
            confirm="Issue store credit?",
            confirm_label="Issue {amount} store credit",
            description="Credit the customer's store account instead of refunding the payment.",
        )
    ]


@hookimpl
def postsales_register_rules(settings):
    return [
        Rule(
            name="restocking_fee",
            point="refund_lines",
            decide=restocking_fee,
            description="Keeps a percentage of the refund of returned physical lines.",
        )
    ]
