"""Order-create records straight to table rows (issue 2 item 13).

`OrderRowsBuilder.build(envelope, order)` turns a validated `messages_schema.OrderCreate` into
the order's rows as a `NewOrder`, without the order aggregate: amounts straight to integer
minor units, rows straight to lists in column order. The record was checked by the one
definition of the payload (`messages_schema/order_create.py`); what is left to check here is
the sales channel, which only the configuration knows (`sales_channel`, shared with the
aggregate's path). The aggregate's path (`inbound.object_path_rows`: the aggregate and
`rows.py`) gives the same rows; tests/integration/test_ingest_equivalence.py checks both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from sqlalchemy import String

from ...bootstrap import Postsales
from ...crypto import BillingCipher
from ...domain.customers import fold_text, folded_names, normalise_email, phone_digits
from ...domain.history import order_received
from ...domain.orders import normalise_sku
from ...errors import BadInput
from ...messages_schema import Envelope, OrderCreate
from ...messages_schema.read import ADDRESS_FIELDS
from ...money import exponent, format_amount
from ...persistence import tables as T
from ...persistence.ingest_rows import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PAYMENT_COLUMNS,
    NewOrder,
)
from ...persistence.keys import cipher_for
from ...persistence.rows import person_name
from ...persistence.times import stored_time
from ...phones import national_number
from ...settings import SalesChannel

# The fixed-shape JSON documents are written from templates, their strings quoted by the
# encoder's own function: the same text as json.dumps at a fraction of the cost.
_ADDRESS_KEYS = tuple(f"{json.dumps(name)}:" for name in ADDRESS_FIELDS)
_UPDATED = (
    '{"order":{"id":%s,"sales_channel_id":%s,"status":"NEW","status_reason":null,'
    '"order_type":"NORMAL","parent_order_id":null,"lines":[%s]}}'
)
_UPDATED_LINE = '{"line_number":%d,"sku":%s,"status":"NEW","status_reason":null}'
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode  # what bulk.py's json.dumps gives


def _address_json(parts: list[str]) -> str:
    """`Address.to_dict()` as bulk.py stores it."""
    return "{" + ",".join([k + _quote(v) for k, v in zip(_ADDRESS_KEYS, parts, strict=True)]) + "}"


def sales_channel(channels: dict[str, SalesChannel], order: OrderCreate) -> SalesChannel:
    """The order's configured sales channel, in the order's currency."""
    channel = channels.get(order.sales_channel_id)  # type: ignore[arg-type]  # text once checked
    if channel is None:
        known = ", ".join(sorted(channels))
        raise BadInput(
            f"payload.order.sales_channel_id: unknown sales channel {order.sales_channel_id!r}; "
            f"configured: {known}",
            field="payload.order.sales_channel_id",
        )
    if channel.currency != order.currency:
        raise BadInput(
            f"payload.order.currency: {order.currency} does not match sales channel "
            f"{order.sales_channel_id} ({channel.currency})",
            field="payload.order.currency",
        )
    return channel


class OrderRowsBuilder:
    """Builds `NewOrder`s for one importer: the app's channels, clock and dialect, read once."""

    def __init__(self, app: Postsales) -> None:
        settings = app.settings
        self.channels = settings.sales_channels
        self.outbox_type = settings.messages.type_prefix + "sales.order_management.updated"
        self.now: Callable[[], datetime] = app.now
        self.time = stored_time(app.engine.dialect.name)
        self.engine = app.engine
        self._cipher: BillingCipher | None = None
        self._scales: dict[str, Decimal] = {}

    def _billing(self) -> BillingCipher:
        """The database's billing cipher, found once per import (`keys.cipher_for`)."""
        self._cipher = cipher_for(self.engine)
        return self._cipher

    def build(self, env: Envelope, order: OrderCreate) -> NewOrder | None:
        """The order's rows; raises `BadInput` for a channel the configuration does not have,
        None for a text longer than its column (the aggregate's path names the field)."""
        channel = sales_channel(self.channels, order)
        currency = order.currency
        scale = self._scales.get(currency)
        if scale is None:
            scale = self._scales[currency] = Decimal(10) ** exponent(currency)
        time = self.time
        origin_value = time(order.origin_date)
        order_id: str = order.id  # type: ignore[assignment]  # text once checked

        payments = []
        operations = []
        captured_total = 0
        for p in order.payments or ():
            requested = int(p.requested_amount * scale)
            captured = int(p.captured_amount * scale)  # type: ignore[operator]
            payments.append([None, p.reference, p.method, p.payment_id, requested, captured])
            if captured > 0:
                operations.append(
                    [None, p.reference, "capture", captured, "imported", origin_value]
                )
            captured_total += captured

        line_rows: list[list[Any]] = []
        grand_total = 0
        # Units beyond the first of a quantity take numbers after the highest one sent.
        extra = max(line.line_number for line in order.lines) + 1
        for line in order.lines:
            a = line.amount
            gross = int(a.gross_amount * scale)
            row: list[Any] = [
                None,
                line.line_number,
                line.sku,
                line.parent_sku,
                line.name,
                line.image_url,
                line.product_type,
                line.parent_line_number,
                int(a.original_price * scale),  # type: ignore[operator]
                int(a.discount * scale),  # type: ignore[operator]
                int(a.net_amount * scale),
                int(a.tax_amount * scale),
                gross,
                str(a.tax_rate),
                _DUMPS(a.taxes) if a.taxes else "[]",
                _DUMPS(line.promotions) if line.promotions else "[]",
                "NEW",
                None,
                None,
                0,
                0,
                normalise_sku(line.sku),  # type: ignore[arg-type]
            ]
            line_rows.append(row)
            quantity: int = line.quantity  # type: ignore[assignment]
            for _ in range(quantity - 1):
                unit = row.copy()
                unit[1] = extra
                extra += 1
                line_rows.append(unit)
            grand_total += gross * quantity

        c = order.customer
        first, last, email, phone = c.first_name, c.last_name, c.email, c.phone
        billing_source = order.address(order.billing_address_reference)  # type: ignore[arg-type]
        billing_parts = [getattr(billing_source, name) for name in ADDRESS_FIELDS]
        billing = billing_source.to_address()
        ship_ref = order.shipping_address_reference
        if ship_ref == order.billing_address_reference:
            ship, ship_parts = billing, billing_parts
        else:
            ship_source = order.address(ship_ref)
            ship_parts = [getattr(ship_source, name) for name in ADDRESS_FIELDS]
            ship = ship_source.to_address()
        full_name = f"{first} {last}".strip()
        name_norm, first_norm, last_norm = folded_names(first, last)  # type: ignore[arg-type]
        billing_dict = billing.to_dict()
        cipher = self._cipher or self._billing()
        now = time(self.now())
        order_row = [
            None,
            order_id,
            order.sales_channel_id,
            channel.market,
            "NEW",
            None,
            None,
            "NORMAL",
            None,
            "[]",
            order.client_order_reference,
            order.origin,
            origin_value,
            now,
            now,
            order.language,
            order.vat_country,
            currency,
            c.id,
            c.type,
            first,
            last,
            email,
            phone,
            normalise_email(email),
            phone_digits(phone),  # type: ignore[arg-type]
            name_norm,
            ship.zip.strip().upper(),
            fold_text(ship.one_line()),
            None,
            cipher.encrypt(order_id, billing_dict),
            f"[{','.join(map(str, cipher.address_tokens(billing_dict)))}]",
            person_name(billing, full_name),
            person_name(ship, full_name),
            _address_json(ship_parts),
            order.shipping_method,
            grand_total,
            captured_total,
            0,
            None,
            None,
            1,
            national_number(phone, channel.market),  # type: ignore[arg-type]
            first_norm,
            last_norm,
        ]
        captures = [
            (p.method, p.payment_id, f"{format_amount(p.captured_amount, currency)} {currency}")
            for p in order.payments or ()
            if p.captured_amount
        ]
        history = [
            None,
            now,
            "system",
            "order.created",
            order_received(order.origin, captures),  # type: ignore[arg-type]
            f'{{"message_id":{_quote(env.id)}}}',
        ]
        updated = _UPDATED % (
            _quote(order_id),
            _quote(order.sales_channel_id),  # type: ignore[arg-type]
            ",".join([_UPDATED_LINE % (r[1], _quote(r[2])) for r in line_rows]),
        )
        outbox = [f"out-{uuid.uuid4().hex}", self.outbox_type, order_id, updated, now]
        if _too_long(order_row, _ORDER_TEXT) or any(_too_long(r, _LINE_TEXT) for r in line_rows):
            return None  # the aggregate's path refuses it, naming the field and its limit
        if any(_too_long(r, _PAYMENT_TEXT) for r in payments):
            return None
        return NewOrder(
            env.id, order_id, order_row, line_rows, payments, operations, history, outbox
        )


def _text_limits(table: Any, columns: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(position, length) of each bounded text column among `columns`."""
    return tuple(
        (i, table.c[name].type.length)
        for i, name in enumerate(columns)
        if isinstance(table.c[name].type, String) and table.c[name].type.length
    )


# SQLite keeps text longer than its column and PostgreSQL refuses it: the fast reader sends
# an order with any such value to the full one, which refuses it on both (issue 12 item 2).
_ORDER_TEXT = _text_limits(T.orders, ORDER_COLUMNS)
_LINE_TEXT = _text_limits(T.order_lines, LINE_COLUMNS)
_PAYMENT_TEXT = _text_limits(T.payments, PAYMENT_COLUMNS)


def _too_long(row: list[Any], limits: tuple[tuple[int, int], ...]) -> bool:
    for i, length in limits:
        value = row[i]
        if value.__class__ is str and len(value) > length:
            return True
    return False
