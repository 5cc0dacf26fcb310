"""Translation between the order aggregate and table rows, in both directions.

One function per direction is shared by every writer (the action unit of work and the bulk
import), so an order imported in bulk and an order saved after an action look the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..crypto import BillingCipher
from ..domain.customers import Address, fold_text, folded_names, normalise_email, phone_digits
from ..domain.history import HistoryEvent
from ..domain.orders import (
    Order,
    OrderLine,
    Payment,
    PaymentOperation,
    Refund,
    Return,
    Shipment,
    normalise_sku,
)
from ..money import to_minor
from ..phones import national_number

# The reverse direction (rows -> aggregate) lives in aggregate.py; importable from here too.
from .aggregate import billing_plaintext, order_from_rows  # noqa: F401

# Ledger columns are moved by guarded UPDATEs only (D-1…D-4), never by the generic diff.
LEDGER_COLUMNS = frozenset({"refunded_minor", "appeased_minor"})


def order_row(order: Order, billing: Callable[[], BillingCipher]) -> dict[str, Any]:
    """`billing` gives the database's billing cipher (`keys.cipher_for`), asked only when
    the order has a billing address."""
    row = order_state_row(order)
    row.update(order_derived_row(order, billing))
    return row


# Columns computed from the customer and the addresses (search keys, S-6 encryption): costly
# (normalisation, AES-GCM), so the unit of work recomputes them only when a source changed.
# The market is the region the telephone is read in.
DERIVED_SOURCES = frozenset(
    {
        "market",
        "customer_first_name",
        "customer_last_name",
        "customer_email",
        "customer_phone",
        "shipping_address",
    }
)


def order_state_row(order: Order) -> dict[str, Any]:
    """Every column of `order_row` except those of `order_derived_row`."""
    cur = order.currency
    c = order.customer
    ship = order.shipping_address
    lock = order.lock
    return {
        "id": order.id,
        "sales_channel": order.sales_channel,
        "market": order.market,
        "status": order.status,
        "status_reason": order.status_reason,
        "held_from": order.held_from,
        "order_type": order.order_type,
        "parent_order_id": order.parent_order_id,
        "related_order_ids": list(order.related_order_ids),
        "client_order_reference": order.client_order_reference,
        "origin": order.origin,
        "origin_date": order.origin_date,
        "created_at": order.created_at,
        "language": order.language,
        "vat_country": order.vat_country,
        "currency": cur,
        "customer_id": c.id,
        "customer_type": c.type,
        "customer_first_name": c.first_name,
        "customer_last_name": c.last_name,
        "customer_email": c.email,
        "customer_phone": c.phone,
        "shipping_address": ship.to_dict() if ship else None,
        "shipping_method": order.shipping_method,
        "grand_total_minor": to_minor(order.grand_total, cur),
        "captured_minor": to_minor(order.captured, cur),
        "refunded_minor": to_minor(order.refunded, cur),
        "lock_holder": lock.holder if lock else None,
        "lock_expires_at": lock.expires_at if lock else None,
    }


def order_derived_row(order: Order, billing: Callable[[], BillingCipher]) -> dict[str, Any]:
    """The columns computed from the customer and the addresses (`DERIVED_SOURCES`, billing)."""
    c = order.customer
    ship = order.shipping_address
    address = order.billing_address.to_dict() if order.billing_address else None
    cipher = billing() if address else None
    name, first, last = folded_names(c.first_name, c.last_name)
    return {
        "email_norm": normalise_email(c.email),
        "phone_digits": phone_digits(c.phone),
        "phone_national": national_number(c.phone, order.market),
        "name_norm": name,
        "first_name_norm": first,
        "last_name_norm": last,
        "ship_zip": (ship.zip if ship else "").strip().upper(),
        "ship_address_norm": fold_text(ship.one_line()) if ship else "",
        # S-6: encrypted at rest, searchable only through keyed hashes of its words.
        "billing_address": None,
        "billing_address_enc": cipher.encrypt(order.id, address) if cipher and address else None,
        "billing_index": cipher.address_tokens(address) if cipher else [],
        "bill_to_name": person_name(order.billing_address, c.full_name),
        "ship_to_name": person_name(ship, c.full_name),
    }


def line_row(seq: int, line: OrderLine, cur: str) -> dict[str, Any]:
    return {
        "order_seq": seq,
        "line_number": line.line_number,
        "sku": line.sku,
        "sku_norm": normalise_sku(line.sku),
        "parent_sku": line.parent_sku,
        "name": line.name,
        "image_url": line.image_url,
        "product_type": line.product_type,
        "parent_line_number": line.parent_line_number,
        "original_price_minor": to_minor(line.original_price, cur),
        "discount_minor": to_minor(line.discount, cur),
        "net_minor": to_minor(line.net_amount, cur),
        "tax_minor": to_minor(line.tax_amount, cur),
        "gross_minor": to_minor(line.gross_amount, cur),
        "tax_rate": str(line.tax_rate),
        "taxes": line.taxes,
        "promotions": line.promotions,
        "status": line.status,
        "status_reason": line.status_reason,
        "source_id": line.source_id,
        "reserved_source_id": line.reserved_source_id,
        "refunded_minor": to_minor(line.refunded_amount, cur),
        "appeased_minor": to_minor(line.appeased_amount, cur),
    }


def payment_row(seq: int, p: Payment, cur: str) -> dict[str, Any]:
    return {
        "order_seq": seq,
        "reference": p.reference,
        "method": p.method,
        "payment_id": p.payment_id,
        "requested_minor": to_minor(p.requested_amount, cur),
        "captured_minor": to_minor(p.captured_amount, cur),
    }


def operation_row(seq: int, ref: str, op: PaymentOperation, cur: str) -> dict[str, Any]:
    return {
        "order_seq": seq,
        "payment_reference": ref,
        "event": op.event,
        "amount_minor": to_minor(op.amount, cur),
        "response": op.response,
        "at": op.at,
    }


def shipment_row(seq: int, s: Shipment) -> dict[str, Any]:
    return {
        "id": s.id,
        "order_seq": seq,
        "source_id": s.source_id,
        "status": s.status,
        "lines": list(s.lines),
        "carrier": s.carrier,
        "tracking_number": s.tracking_number,
        "tracking_link": s.tracking_link,
        "tracking_comment": s.tracking_comment,
        "box_number": s.box_number,
        "created_at": s.created_at,
        "shipped_at": s.shipped_at,
    }


def return_row(seq: int, r: Return) -> dict[str, Any]:
    return {
        "id": r.id,
        "order_seq": seq,
        "status": r.status,
        "lines": list(r.lines),
        "reason": r.reason,
        "comment": r.comment,
        "source_id": r.source_id,
        "refunds": r.refunds,
        "needs_approval_reason": r.needs_approval_reason,
        "related_order_id": r.related_order_id,
        "created_by": r.created_by,
        "created_at": r.created_at,
    }


def refund_row(seq: int, r: Refund, cur: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "order_seq": seq,
        "kind": r.kind,
        "status": r.status,
        "amount_minor": to_minor(r.amount, cur),
        "lines": [[rl.line_number, to_minor(rl.amount, cur)] for rl in r.lines],
        "return_id": r.return_id,
        "payment_reference": r.payment_reference,
        "credit_note": r.credit_note,
        "reason": r.reason,
        "description": r.description,
        "gateway_response": r.gateway_response,
        "gateway_mismatch": r.gateway_mismatch,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def history_row(seq: int, e: HistoryEvent) -> dict[str, Any]:
    return {
        "order_seq": seq,
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind,
        "summary": e.summary,
        "payload": e.payload,
    }


def person_name(address: Address | None, fallback: str) -> str:
    """The name an address is for (the grid's Bill to / Ship to): person, else company."""
    if address is None:
        return fallback
    name = f"{address.first_name} {address.last_name}".strip()
    return (name or address.company_name or fallback)[:256]
