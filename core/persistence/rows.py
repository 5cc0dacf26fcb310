"""Translation between the order aggregate and table rows, in both directions.

One function per direction is shared by every writer (the action unit of work and the bulk
import), so an order imported in bulk and an order saved after an action look the same.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..crypto import billing_cipher
from ..domain.customers import Address, Customer, normalise_email, normalise_text, phone_digits
from ..domain.history import HistoryEvent, Lock
from ..domain.orders import (
    Order,
    OrderLine,
    Payment,
    PaymentOperation,
    Refund,
    RefundLine,
    Return,
    Shipment,
)
from ..money import from_minor, to_minor

# Ledger columns are moved by guarded UPDATEs only (D-1…D-4), never by the generic diff.
LEDGER_COLUMNS = frozenset({"refunded_minor", "appeased_minor"})


def order_row(order: Order) -> dict[str, Any]:
    cur = order.currency
    c = order.customer
    ship = order.shipping_address
    billing = order.billing_address.to_dict() if order.billing_address else None
    cipher = billing_cipher() if billing else None
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
        "email_norm": normalise_email(c.email),
        "phone_digits": phone_digits(c.phone),
        "name_norm": normalise_text(c.full_name),
        "ship_zip": (ship.zip if ship else "").strip().upper(),
        "ship_address_norm": normalise_text(ship.one_line()) if ship else "",
        # S-6: encrypted at rest, searchable only through keyed hashes of its words.
        "billing_address": None,
        "billing_address_enc": cipher.encrypt(order.id, billing) if cipher and billing else None,
        "billing_index": cipher.address_tokens(billing) if cipher else [],
        "bill_to_name": person_name(order.billing_address, c.full_name),
        "ship_to_name": person_name(ship, c.full_name),
        "shipping_address": ship.to_dict() if ship else None,
        "shipping_method": order.shipping_method,
        "grand_total_minor": to_minor(order.grand_total, cur),
        "captured_minor": to_minor(order.captured, cur),
        "refunded_minor": to_minor(order.refunded, cur),
        "lock_holder": order.lock.holder if order.lock else None,
        "lock_expires_at": order.lock.expires_at if order.lock else None,
    }


def line_row(seq: int, line: OrderLine, cur: str) -> dict[str, Any]:
    return {
        "order_seq": seq,
        "line_number": line.line_number,
        "sku": line.sku,
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


# -- rows -> aggregate ---------------------------------------------------------------------------


def _money(minor: int, cur: str) -> Decimal:
    return from_minor(minor, cur)


def order_from_rows(
    o: Any,
    lines: list[Any],
    pays: list[Any],
    ops: list[Any],
    ships: list[Any],
    rets: list[Any],
    refs: list[Any],
    hist: list[Any],
) -> Order:
    cur = o.currency
    ops_by_ref: dict[str, list[PaymentOperation]] = {}
    for op in ops:
        ops_by_ref.setdefault(op.payment_reference, []).append(
            PaymentOperation(op.event, _money(op.amount_minor, cur), op.response, op.at)
        )
    return Order(
        seq=o.seq,
        id=o.id,
        sales_channel=o.sales_channel,
        market=o.market,
        currency=cur,
        status=o.status,
        status_reason=o.status_reason,
        held_from=o.held_from,
        order_type=o.order_type,
        parent_order_id=o.parent_order_id,
        related_order_ids=list(o.related_order_ids or []),
        client_order_reference=o.client_order_reference,
        origin=o.origin,
        origin_date=o.origin_date,
        created_at=o.created_at,
        language=o.language,
        vat_country=o.vat_country,
        customer=Customer(
            id=o.customer_id,
            type=o.customer_type,
            first_name=o.customer_first_name,
            last_name=o.customer_last_name,
            email=o.customer_email,
            phone=o.customer_phone,
        ),
        billing_address=Address.from_dict(
            billing_plaintext(o.id, o.billing_address_enc, o.billing_address)
        ),
        shipping_address=Address.from_dict(o.shipping_address),
        shipping_method=o.shipping_method,
        lock=Lock(o.lock_holder, o.lock_expires_at) if o.lock_holder else None,
        lines=[
            OrderLine(
                line_number=r.line_number,
                sku=r.sku,
                parent_sku=r.parent_sku,
                name=r.name,
                image_url=r.image_url,
                product_type=r.product_type,
                parent_line_number=r.parent_line_number,
                original_price=_money(r.original_price_minor, cur),
                discount=_money(r.discount_minor, cur),
                net_amount=_money(r.net_minor, cur),
                tax_amount=_money(r.tax_minor, cur),
                gross_amount=_money(r.gross_minor, cur),
                tax_rate=Decimal(r.tax_rate),
                taxes=list(r.taxes or []),
                promotions=list(r.promotions or []),
                status=r.status,
                status_reason=r.status_reason,
                source_id=r.source_id,
                refunded_amount=_money(r.refunded_minor, cur),
                appeased_amount=_money(r.appeased_minor, cur),
            )
            for r in sorted(lines, key=lambda r: r.line_number)
        ],
        payments=[
            Payment(
                reference=p.reference,
                method=p.method,
                payment_id=p.payment_id,
                requested_amount=_money(p.requested_minor, cur),
                captured_amount=_money(p.captured_minor, cur),
                operations=ops_by_ref.get(p.reference, []),
            )
            for p in pays
        ],
        shipments=[
            Shipment(
                id=s.id,
                source_id=s.source_id,
                lines=list(s.lines),
                status=s.status,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                tracking_link=s.tracking_link,
                tracking_comment=s.tracking_comment,
                box_number=s.box_number,
                created_at=s.created_at,
                shipped_at=s.shipped_at,
            )
            for s in sorted(ships, key=lambda s: s.id)
        ],
        returns=[
            Return(
                id=r.id,
                lines=list(r.lines),
                reason=r.reason,
                comment=r.comment,
                source_id=r.source_id,
                created_by=r.created_by,
                created_at=r.created_at,
                status=r.status,
                refunds=r.refunds,
                needs_approval_reason=r.needs_approval_reason,
                related_order_id=r.related_order_id,
            )
            for r in sorted(rets, key=lambda r: (r.created_at, _id_number(r.id)))
        ],
        refunds=[
            Refund(
                id=r.id,
                kind=r.kind,
                lines=[RefundLine(n, _money(m, cur)) for n, m in r.lines],
                created_by=r.created_by,
                created_at=r.created_at,
                status=r.status,
                reason=r.reason,
                description=r.description,
                return_id=r.return_id,
                payment_reference=r.payment_reference,
                credit_note=r.credit_note,
                gateway_response=r.gateway_response,
                updated_at=r.updated_at,
            )
            for r in sorted(refs, key=lambda r: (r.created_at, _id_number(r.id)))
        ],
        history=[
            HistoryEvent(h.at, h.actor, h.kind, h.summary, dict(h.payload or {})) for h in hist
        ],
    )


def person_name(address: Address | None, fallback: str) -> str:
    """The name an address is for (the grid's Bill to / Ship to): person, else company."""
    if address is None:
        return fallback
    name = f"{address.first_name} {address.last_name}".strip()
    return (name or address.company_name or fallback)[:256]


def billing_plaintext(order_id: str, encrypted: str | None, legacy: Any) -> dict[str, Any] | None:
    """The billing address: decrypted, or the plaintext of a row written before S-6."""
    if encrypted:
        return billing_cipher().decrypt(order_id, encrypted)
    return legacy if isinstance(legacy, dict) else None


def _id_number(child_id: str) -> int:
    tail = child_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0
