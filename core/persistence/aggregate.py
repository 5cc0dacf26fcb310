"""Table rows -> the order aggregate: the reverse of `rows.py` (also importable from there).

Every action and inbound message loads its order anew, so this runs twice per post-sales flow:
converted amounts and decrypted billing addresses are kept in small bounded caches.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from ..crypto import BillingCipher
from ..domain.customers import Address, Customer
from ..domain.history import Lock
from ..domain.orders import Order, PaymentOperation
from . import mapping as M


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
        ops_by_ref.setdefault(op.payment_reference, []).append(M.OPERATIONS.load(op, cur))
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
        lines=[M.LINES.load(r, cur) for r in sorted(lines, key=attrgetter("line_number"))],
        payments=[
            M.PAYMENTS.load(p, cur, operations=ops_by_ref.get(p.reference, [])) for p in pays
        ],
        shipments=[M.SHIPMENTS.load(s, cur) for s in sorted(ships, key=attrgetter("id"))],
        returns=[M.RETURNS.load(r, cur) for r in sorted(rets, key=_made)],
        refunds=[M.REFUNDS.load(r, cur) for r in sorted(refs, key=_made)],
        history=[M.HISTORY.load(h, cur) for h in hist],
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


def _made(row: Any) -> tuple[Any, int]:
    """Returns and refunds in the order they were made (ids end in a running number)."""
    tail = row.id.rsplit("-", 1)[-1]
    return row.created_at, int(tail) if tail.isdigit() else 0
