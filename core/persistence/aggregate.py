"""Table rows -> the order aggregate: the reverse of `rows.py` (also importable from there).

Every action and inbound message loads its order anew, so this runs twice per post-sales flow:
converted amounts and decrypted billing addresses are kept in small bounded caches.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..crypto import BillingCipher
from ..domain.customers import Address, Customer
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
from ..money import from_minor

# Loading an order converts the same few amounts again and again (every action loads it anew);
# Decimals are immutable, so converted amounts are shared, from a bounded cache.
_MONEY: dict[tuple[int, str], Decimal] = {}


def _money(minor: int, cur: str) -> Decimal:
    key = (minor, cur)
    amount = _MONEY.get(key)
    if amount is None:
        if len(_MONEY) >= 50_000:
            _MONEY.clear()
        amount = _MONEY[key] = from_minor(minor, cur)
    return amount


def order_from_rows(
    o: Any,
    lines: list[Any],
    pays: list[Any],
    ops: list[Any],
    ships: list[Any],
    rets: list[Any],
    refs: list[Any],
    hist: list[Any],
    *,
    billing: Callable[[], BillingCipher],
) -> Order:
    """`billing` gives the database's billing cipher, asked only for an encrypted address."""
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
            billing_plaintext(o.id, o.billing_address_enc, o.billing_address, billing)
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
                gateway_mismatch=r.gateway_mismatch,
            )
            for r in sorted(refs, key=lambda r: (r.created_at, _id_number(r.id)))
        ],
        history=[
            HistoryEvent(h.at, h.actor, h.kind, h.summary, dict(h.payload or {})) for h in hist
        ],
    )


def billing_plaintext(
    order_id: str, encrypted: str | None, legacy: Any, billing: Callable[[], BillingCipher]
) -> dict[str, Any] | None:
    """The billing address: decrypted, or the plaintext of a row written before S-6."""
    if encrypted:
        cipher = billing()
        key = (cipher, order_id, encrypted)  # the cipher: a key dropped since stops decrypting
        plain = _BILLING.get(key)
        if plain is None:
            if len(_BILLING) >= 4096:
                _BILLING.clear()
            plain = _BILLING[key] = cipher.decrypt(order_id, encrypted)
        return dict(plain)
    return legacy if isinstance(legacy, dict) else None


# Every action and message loads its order anew, and AES-GCM with it; an address is decrypted
# once per process (the cipher keeps recent plaintexts for its own use already).
_BILLING: dict[tuple[Any, str, str], dict[str, Any]] = {}


def _id_number(child_id: str) -> int:
    tail = child_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0
