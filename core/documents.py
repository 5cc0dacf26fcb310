"""The order document of SPEC §11: what `orders show --json` and `GET /orders/{id}` return.

Money is a string with the currency's decimals, statuses are codes, times ISO-8601 with offset
(in UTC here; doors that show times to people convert them to the user's zone).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .domain.orders import Order
from .money import format_amount


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# What a history entry's payload says, beyond its summary, for the kinds seed 000 lists in
# "History and comments": carrier, tracking number, tracking link, tracking comment, box number,
# the lines (number, item, status) and payment events. (label, payload key) in display order.
_DETAIL_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "shipment.shipped": (
        ("Carrier", "carrier"),
        ("Tracking number", "tracking_number"),
        ("Tracking link", "tracking_link"),
        ("Tracking comment", "tracking_comment"),
        ("Box number", "box_number"),
    ),
    "refund.confirmed": (
        ("Payment event", "event"),
        ("Amount", "amount"),
        ("Payment method", "method"),
        ("Payment ID", "payment_id"),
        ("Response", "response"),
        ("Credit note", "credit_note"),
    ),
}
_DETAIL_KEYS["shipment.corrected"] = _DETAIL_KEYS["shipment.shipped"]
_DETAIL_KEYS["shipment.shipped_again"] = _DETAIL_KEYS["shipment.shipped"]


def history_details(order: Order, kind: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The facts of one history entry as `{"label", "value"}` rows (empty for most kinds); a
    correction's rows carry `"before"`, and shipments list their lines with item and status."""
    rows: list[dict[str, Any]] = []
    before = payload.get("before") if kind == "shipment.corrected" else None
    for label, key in _DETAIL_KEYS.get(kind, ()):
        value = payload.get(key)
        was = before.get(key) if isinstance(before, dict) else None
        if value in (None, "") and was in (None, ""):
            continue
        row: dict[str, Any] = {"label": label, "value": value}
        if isinstance(before, dict) and was != value:
            row["before"] = was
        rows.append(row)
    if kind.startswith("shipment.") and isinstance(payload.get("lines"), list):
        for n in payload["lines"]:
            if isinstance(n, int) and order.has_line(n):
                line = order.line(n)
                item = f"{line.name} ({line.sku})"
                rows.append({"label": f"Line {n}", "value": item, "status": line.status,
                             "image_url": line.image_url or None})  # fmt: skip
    return rows


def order_document(order: Order) -> dict[str, Any]:
    cur = order.currency

    def m(amount: Decimal) -> str:
        return format_amount(amount, cur)

    return {
        "id": order.id,
        "status": order.status,
        "status_reason": order.status_reason,
        "order_type": order.order_type,
        "parent_order_id": order.parent_order_id,
        "related_order_ids": list(order.related_order_ids),
        "sales_channel": order.sales_channel,
        "market": order.market,
        "currency": cur,
        "client_order_reference": order.client_order_reference,
        "language": order.language,
        "vat_country": order.vat_country,
        "customer": {
            "id": order.customer.id,
            "type": order.customer.type,
            "first_name": order.customer.first_name,
            "last_name": order.customer.last_name,
            "email": order.customer.email,
            "phone": order.customer.phone,
        },
        "billing_address": order.billing_address.to_dict() if order.billing_address else None,
        "shipping_address": order.shipping_address.to_dict() if order.shipping_address else None,
        "shipping_method": order.shipping_method,
        "created_at": iso(order.created_at),
        "origin_date": iso(order.origin_date),
        "totals": {
            "grand_total": m(order.grand_total),
            "captured": m(order.captured),
            "total_due": m(order.total_due),
            "refunded": m(order.refunded),
        },
        "lock": (
            {"holder": order.lock.holder, "expires_at": iso(order.lock.expires_at)}
            if order.lock
            else None
        ),
        "lines": [
            {
                "line_number": ln.line_number,
                "sku": ln.sku,
                "parent_sku": ln.parent_sku,
                "name": ln.name,
                "image_url": ln.image_url,
                "product_type": ln.product_type,
                "parent_line_number": ln.parent_line_number,
                "status": ln.status,
                "status_reason": ln.status_reason,
                "original_price": m(ln.original_price),
                "discount": m(ln.discount),
                "net_amount": m(ln.net_amount),
                "tax_amount": m(ln.tax_amount),
                "gross_amount": m(ln.gross_amount),
                "tax_rate": str(ln.tax_rate),
                "refunded_amount": m(ln.refunded_amount),
                "appeased_amount": m(ln.appeased_amount),
                "source_id": ln.source_id,
                "reserved_source_id": ln.reserved_source_id,
            }
            for ln in order.lines
        ],
        "payments": [
            {
                "reference": p.reference,
                "method": p.method,
                "payment_id": p.payment_id,
                "requested_amount": m(p.requested_amount),
                "captured_amount": m(p.captured_amount),
                "operations": [
                    {
                        "event": op.event,
                        "amount": m(op.amount),
                        "response": op.response,
                        "at": iso(op.at),
                    }
                    for op in p.operations
                ],
            }
            for p in order.payments
        ],
        "shipments": [
            {
                "id": s.id,
                "source_id": s.source_id,
                "status": s.status,
                "lines": list(s.lines),
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "tracking_link": s.tracking_link,
                "tracking_comment": s.tracking_comment,
                "box_number": s.box_number,
                "shipped_at": iso(s.shipped_at),
            }
            for s in order.shipments
        ],
        "returns": [
            {
                "id": r.id,
                "status": r.status,
                "lines": list(r.lines),
                "reason": r.reason,
                "comment": r.comment,
                "source_id": r.source_id,
                "refunds": r.refunds,
                "needs_approval_reason": r.needs_approval_reason,
                "related_order_id": r.related_order_id,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
            }
            for r in order.returns
        ],
        "refunds": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "amount": m(r.amount),
                "lines": [
                    {"line_number": rl.line_number, "amount": m(rl.amount)} for rl in r.lines
                ],
                "return_id": r.return_id,
                "reason": r.reason,
                "description": r.description,
                "credit_note": r.credit_note,
                "gateway_mismatch": r.gateway_mismatch,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
            }
            for r in order.refunds
        ],
        "comments": [
            {"at": iso(c.at), "author": c.actor, "text": c.payload.get("text", c.summary)}
            for c in order.comments
        ],
        "history": [
            {
                "at": iso(h.at),
                "actor": h.actor,
                "kind": h.kind,
                "summary": h.summary,
                "details": history_details(order, h.kind, h.payload),
            }
            for h in order.history
        ],
    }
