"""The money rules D-1…D-4 as plain functions over the order aggregate (SPEC §2).

These say how much *may* be refunded. The persistence layer enforces the same caps again with
guarded UPDATEs inside the transaction, so that two agents at once cannot exceed them (D-4).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..errors import Refused
from ..money import ZERO, format_amount
from .orders import Order, OrderLine, RefundLine


def refundable_remainder(line: OrderLine) -> Decimal:
    """D-1: the line's gross amount minus its non-cancelled refunds."""
    return max(line.gross_amount - line.refunded_amount, ZERO)


def appeasable_amount(line: OrderLine) -> Decimal:
    """D-2: appeasements are over the net amount and never exceed the refundable remainder."""
    return max(min(line.net_amount - line.appeased_amount, refundable_remainder(line)), ZERO)


def return_refund_lines(order: Order, line_numbers: Iterable[int]) -> list[RefundLine]:
    """D-3: an approved return refunds each returned line's refundable remainder.

    Lines with nothing left (fully appeased, free) are left out rather than refunded at zero.
    """
    lines = [RefundLine(n, refundable_remainder(order.line(n))) for n in line_numbers]
    return [rl for rl in lines if rl.amount > ZERO]


def order_refundable(order: Order) -> Decimal:
    """D-4: what is still refundable across the order: captured minus non-cancelled refunds."""
    return max(order.captured - order.refunded, ZERO)


def within_capture(order: Order, lines: list[RefundLine]) -> tuple[list[RefundLine], Decimal]:
    """D-4 applied to money the order owes back (a return's, a cancellation's refund): each line
    keeps its amount, in the order given, while captured money is left. Returns the lines to
    refund and what could not be refunded because it was never captured."""
    left = order_refundable(order)
    kept, short = [], ZERO
    for rl in lines:
        amount = min(rl.amount, left)
        short += rl.amount - amount
        if amount > ZERO:
            kept.append(RefundLine(rl.line_number, amount))
            left -= amount
    return kept, short


def check_refund(order: Order, lines: list[RefundLine], *, appeasement: bool = False) -> None:
    """Refuse a refund that would break D-1, D-2 or D-4, naming the cap it would exceed."""
    cur = order.currency
    for rl in lines:
        if rl.amount <= ZERO:
            raise Refused(f"line {rl.line_number}: a refund must be more than 0")
        line = order.line(rl.line_number)
        cap = appeasable_amount(line) if appeasement else refundable_remainder(line)
        if rl.amount > cap:
            what = (
                "appeasable (net amount less earlier appeasements)"
                if appeasement
                else ("refundable remainder")
            )
            raise Refused(
                f"line {rl.line_number}: {format_amount(rl.amount, cur)} exceeds the {what} "
                f"of {format_amount(cap, cur)}"
            )
    total = sum((rl.amount for rl in lines), ZERO)
    if total > order_refundable(order):
        raise Refused(
            f"refund of {format_amount(total, cur)} exceeds what is left of the captured amount "
            f"({format_amount(order_refundable(order), cur)})"
        )


def apply_refund(order: Order, lines: list[RefundLine], *, appeasement: bool, sign: int) -> None:
    """Move the in-memory ledger of the lines by a refund being created (+1) or cancelled (-1)."""
    for rl in lines:
        line = order.line(rl.line_number)
        line.refunded_amount += sign * rl.amount
        if appeasement:
            line.appeased_amount += sign * rl.amount
