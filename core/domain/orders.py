"""The order aggregate: lines, payments, shipments, returns, refunds, history (SPEC §2).

Amounts are `Decimal` already quantised to the order's currency. Statuses are the codes of
SPEC §3 and change only through `postsales.core.machines.fire` (called by services), never by
assignment in an adapter.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from ..money import ZERO
from .customers import Address, Customer
from .history import HistoryEvent, Lock

ORDER_TYPES = ("NORMAL", "EXCHANGE", "RESHIPMENT")
PRODUCT_TYPES = ("PHYSICAL", "SERVICE", "SHIPPING")
REFUND_KINDS = ("RETURN", "APPEASEMENT", "CANCELLATION")


def normalise_sku(sku: str) -> str:
    """SKUs compare case-insensitively (S-1: `wj06-l-blk` finds `WJ06-L-BLK`)."""
    return sku.strip().upper()


@attrs.define
class OrderLine:
    """One unit of one product, service or shipping charge (an input quantity N is N lines)."""

    line_number: int
    sku: str
    name: str
    product_type: str = "PHYSICAL"
    parent_sku: str | None = None
    parent_line_number: int | None = None
    image_url: str = ""
    original_price: Decimal = ZERO
    discount: Decimal = ZERO
    net_amount: Decimal = ZERO
    tax_amount: Decimal = ZERO
    gross_amount: Decimal = ZERO
    tax_rate: Decimal = ZERO
    taxes: list[dict[str, Any]] = attrs.field(factory=list)
    promotions: list[dict[str, Any]] = attrs.field(factory=list)
    status: str = "NEW"
    status_reason: str | None = None
    source_id: str | None = None
    # The source whose stock this line holds (released, not yet shipped or cancelled); set and
    # cleared only by `postsales.core.services.inventory`, with the stock row's guarded move.
    reserved_source_id: str | None = None
    # Sums of this line's non-cancelled refunds; kept by the refund ledger, never set by hand.
    refunded_amount: Decimal = ZERO
    appeased_amount: Decimal = ZERO

    def copied(self, line_number: int, **changes: Any) -> OrderLine:
        """A new NEW line of the same product (SKU, name, type, image, tax rate and tax
        entries) for another order, at no price until `changes` give one; nothing of this
        line's life (status, stock held, refunds) comes along."""
        line = OrderLine(
            line_number=line_number,
            sku=self.sku,
            name=self.name,
            product_type=self.product_type,
            parent_sku=self.parent_sku,
            image_url=self.image_url,
            tax_rate=self.tax_rate,
            taxes=[dict(tax) for tax in self.taxes],
        )
        return attrs.evolve(line, **changes) if changes else line


@attrs.define
class PaymentOperation:
    event: str  # authorise | capture | refund | void
    amount: Decimal
    response: str
    at: datetime


@attrs.define
class Payment:
    reference: str
    method: str
    payment_id: str
    requested_amount: Decimal
    captured_amount: Decimal
    operations: list[PaymentOperation] = attrs.field(factory=list)


@attrs.define
class Shipment:
    """A shipment request to one source (id `<channel>-<order>-NN`)."""

    id: str
    source_id: str
    lines: list[int]
    status: str = "INVENTORY_ASSIGNED"
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_link: str | None = None
    tracking_comment: str | None = None
    box_number: str | None = None
    created_at: datetime | None = None
    shipped_at: datetime | None = None


@attrs.define
class Return:
    """A return of some lines; `refunds` is False for exchange and reshipment returns."""

    id: str
    lines: list[int]
    reason: str
    comment: str
    source_id: str | None
    created_by: str
    created_at: datetime
    status: str = "REQUESTED"
    refunds: bool = True
    needs_approval_reason: str | None = None
    related_order_id: str | None = None


@attrs.frozen
class RefundLine:
    line_number: int
    amount: Decimal


@attrs.define
class Refund:
    """Money going back to the customer: for a return, an appeasement or a cancellation."""

    id: str
    kind: str
    lines: list[RefundLine]
    created_by: str
    created_at: datetime
    status: str = "REQUESTED"
    reason: str = ""
    description: str = ""
    return_id: str | None = None
    payment_reference: str | None = None
    credit_note: str | None = None
    gateway_response: str | None = None
    updated_at: datetime | None = None
    # A confirmation the gateway sent that does not match (amount, currency): the refund stays
    # PENDING_RELEASE, in the work queue, until a matching answer or a cancellation (S-5).
    gateway_mismatch: str | None = None

    @property
    def amount(self) -> Decimal:
        return sum((rl.amount for rl in self.lines), ZERO)

    @property
    def active(self) -> bool:
        """Counts against the caps of D-1…D-4 (everything but a cancelled refund)."""
        return self.status != "CANCELLED"


@attrs.define
class Order:
    """The order aggregate. `seq` is the monotonic internal id (arrival order, S-3)."""

    id: str
    sales_channel: str
    currency: str
    customer: Customer
    created_at: datetime
    origin_date: datetime
    status: str = "NEW"
    status_reason: str | None = None
    held_from: str | None = None
    order_type: str = "NORMAL"
    parent_order_id: str | None = None
    related_order_ids: list[str] = attrs.field(factory=list)
    client_order_reference: str | None = None
    origin: str = "WEB"
    language: str = "en_US"
    vat_country: str = ""
    market: str = ""
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_method: str = ""
    lines: list[OrderLine] = attrs.field(factory=list)
    payments: list[Payment] = attrs.field(factory=list)
    shipments: list[Shipment] = attrs.field(factory=list)
    returns: list[Return] = attrs.field(factory=list)
    refunds: list[Refund] = attrs.field(factory=list)
    history: list[HistoryEvent] = attrs.field(factory=list)
    lock: Lock | None = None
    seq: int | None = None

    # -- look-ups ------------------------------------------------------------------------------
    def line(self, number: int) -> OrderLine:
        for line in self.lines:
            if line.line_number == number:
                return line
        raise KeyError(number)

    def has_line(self, number: int) -> bool:
        return any(line.line_number == number for line in self.lines)

    def shipment(self, shipment_id: str) -> Shipment:
        for shipment in self.shipments:
            if shipment.id == shipment_id:
                return shipment
        raise KeyError(shipment_id)

    def return_(self, return_id: str) -> Return:
        for ret in self.returns:
            if ret.id == return_id:
                return ret
        raise KeyError(return_id)

    def refund(self, refund_id: str) -> Refund:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise KeyError(refund_id)

    # -- totals --------------------------------------------------------------------------------
    @property
    def grand_total(self) -> Decimal:
        return sum((line.gross_amount for line in self.lines), ZERO)

    @property
    def captured(self) -> Decimal:
        return sum((p.captured_amount for p in self.payments), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds if r.active), ZERO)

    @property
    def total_due(self) -> Decimal:
        return max(self.grand_total - self.captured, ZERO)

    @property
    def comments(self) -> list[HistoryEvent]:
        return [event for event in self.history if event.kind == "comment"]

    # -- ids for children ------------------------------------------------------------------------
    def next_return_id(self) -> str:
        return f"RET-{self.id}-{len(self.returns) + 1}"

    def next_refund_id(self) -> str:
        return f"RF-{self.id}-{len(self.refunds) + 1}"

    def next_shipment_id(self) -> str:
        return f"{self.sales_channel}-{self.id}-{len(self.shipments) + 1:02d}"

    def next_child_order_id(self, order_type: str) -> str:
        """`<original>-E<n>` for exchanges, `<original>-R<n>` for reshipments (A-6, A-7)."""
        letter = {"EXCHANGE": "E", "RESHIPMENT": "R"}[order_type]
        prefix = f"{self.id}-{letter}"
        taken = sum(1 for oid in self.related_order_ids if oid.startswith(prefix))
        return f"{prefix}{taken + 1}"

    def copied(self, new_id: str, now: datetime, lines: list[OrderLine], **changes: Any) -> Order:
        """A new order for the same customer in the same store: their copy, the addresses,
        shipping method, language and tax country of this one, created `now` with `lines`;
        `changes` set the rest (status, type, origin, parent) or replace any of those. What
        copies an order — a reorder's draft, an exchange, a reshipment — starts here."""
        order = Order(
            id=new_id,
            sales_channel=self.sales_channel,
            currency=self.currency,
            customer=attrs.evolve(self.customer),
            created_at=now,
            origin_date=now,
            language=self.language,
            vat_country=self.vat_country,
            market=self.market,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            shipping_method=self.shipping_method,
            lines=list(lines),
        )
        return attrs.evolve(order, **changes) if changes else order

    def record(self, event: HistoryEvent) -> None:
        """Append to history (append-only: nothing is ever edited or removed)."""
        self.history.append(event)
