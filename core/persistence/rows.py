"""Translation between the order aggregate and table rows, in both directions.

One function per direction is shared by every writer (the action unit of work and the bulk
import), so an order imported in bulk and an order saved after an action look the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..crypto import BillingCipher
from ..domain.customers import Address, fold_text, folded_names, normalise_email, phone_digits
from ..domain.orders import (
    Order,
    PaymentOperation,
)
from ..money import to_minor
from ..phones import national_number

# The reverse direction (rows -> aggregate) lives in aggregate.py; importable from here too.
from . import mapping as M
from .aggregate import billing_plaintext, order_from_rows  # noqa: F401


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


def operation_row(seq: int, ref: str, op: PaymentOperation, cur: str) -> dict[str, Any]:
    return {**M.OPERATIONS.row(seq, op, cur), "payment_reference": ref}


def new_order_rows(
    orders: Iterable[Order], billing: Callable[[], BillingCipher]
) -> dict[str, list[dict[str, Any]]]:
    """Every row of new order aggregates (their `seq` set), per table name, parents first."""
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        seq = order.seq
        assert seq is not None
        cur = order.currency
        row = order_row(order, billing)
        row.update(seq=seq, updated_at=order.created_at, version=1)
        tables["orders"].append(row)
        for child in M.CHILDREN:
            tables[child.name] += [child.row(seq, item, cur) for item in child.items(order)]
        tables["payment_operations"] += [
            operation_row(seq, p.reference, op, cur) for p in order.payments for op in p.operations
        ]
        tables["history"] += [M.HISTORY.row(seq, e, cur) for e in order.history]
    return tables


def person_name(address: Address | None, fallback: str) -> str:
    """The name an address is for (the grid's Bill to / Ship to): person, else company."""
    if address is None:
        return fallback
    name = f"{address.first_name} {address.last_name}".strip()
    return (name or address.company_name or fallback)[:256]
