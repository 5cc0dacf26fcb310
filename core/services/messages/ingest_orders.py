"""Order-create payloads straight to table rows, in one pass (issue 2 item 13).

`OrderRowsBuilder.build(envelope)` reads `payload.order` of a `sales.order_management.create` as
`messages_schema.OrderCreate` does, and returns the order's rows as a `NewOrder` without the
intermediate payload records and order aggregate: amounts go straight to integer minor units,
rows straight to lists in column order.

It returns None for anything but the usual shape: a number where a string is usual, an amount
that is not plain digits, a quantity of 0, an unknown channel — valid or not. The caller then
takes the object path (`parse_payload`, the aggregate, `rows.py`), which accepts what is unusual
but valid and raises the exact error for what is not. So this module never words an error: it
only has to refuse whatever the object path refuses, and give the same rows for the rest
(tests/integration/test_ingest_equivalence.py checks both, with generated payloads too).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from sqlalchemy import String

from ...bootstrap import Postsales
from ...crypto import BillingCipher
from ...domain.customers import (
    CUSTOMER_TYPES,
    Address,
    fold_text,
    folded_names,
    normalise_email,
    phone_digits,
)
from ...domain.history import order_received
from ...limits import utc
from ...messages_schema import Envelope
from ...messages_schema.read import (
    ADDRESS_FIELDS,
    CURRENCY_PATTERN,
    ORDER_ID_MAX,
    ORDER_ID_PATTERN,
)
from ...money import format_amount, from_minor
from ...persistence import tables as T
from ...persistence.ingest_rows import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PAYMENT_COLUMNS,
    NewOrder,
    time_converter,
)
from ...persistence.keys import cipher_for
from ...persistence.rows import person_name
from ...phones import national_number
from .ingest_lines import opt_text, read_lines, read_payments, reader_for, req_text

# The fixed-shape JSON documents are written from templates, their strings quoted by the
# encoder's own function: the same text as json.dumps at a fraction of the cost.
_ADDRESS_KEYS = tuple(f"{json.dumps(name)}:" for name in ADDRESS_FIELDS)
_UPDATED = (
    '{"order":{"id":%s,"sales_channel_id":%s,"status":"NEW","status_reason":null,'
    '"order_type":"NORMAL","parent_order_id":null,"lines":[%s]}}'
)
_UPDATED_LINE = '{"line_number":%d,"sku":%s,"status":"NEW","status_reason":null}'


def _address_json(parts: list[str]) -> str:
    """`Address.to_dict()` as bulk.py stores it."""
    return "{" + ",".join([k + _quote(v) for k, v in zip(_ADDRESS_KEYS, parts, strict=True)]) + "}"


class OrderRowsBuilder:
    """Builds `NewOrder`s for one importer: the app's channels, clock and dialect, read once."""

    def __init__(self, app: Postsales) -> None:
        settings = app.settings
        self.channels = {
            cid: (ch.currency, ch.market) for cid, ch in settings.sales_channels.items()
        }
        self.outbox_type = settings.messages.type_prefix + "sales.order_management.updated"
        self.now: Callable[[], datetime] = app.now
        self.time = time_converter(app.engine.dialect.name)
        self.engine = app.engine
        self._cipher: BillingCipher | None = None

    def _billing(self) -> BillingCipher:
        """The database's billing cipher, found once per import (`keys.cipher_for`)."""
        self._cipher = cipher_for(self.engine)
        return self._cipher

    def build(self, env: Envelope) -> NewOrder | None:
        order = env.payload.get("order")
        if order.__class__ is not dict:
            return None
        get = order.get
        order_id = get("id")
        if (
            order_id.__class__ is not str
            or not order_id
            or len(order_id) > ORDER_ID_MAX
            or not ORDER_ID_PATTERN.fullmatch(order_id)
        ):
            return None
        currency = get("currency")
        if currency.__class__ is not str or not CURRENCY_PATTERN.fullmatch(currency):
            return None
        channel_id = req_text(get("sales_channel_id"))
        channel = self.channels.get(channel_id) if channel_id else None
        if channel is None or channel[0] != currency:
            return None
        reader = reader_for(currency)
        read = reader.read

        customer = get("customer")
        if customer.__class__ is not dict:
            return None
        cget = customer.get
        ctype = cget("type")
        if ctype is None:
            ctype = "guest"
        elif ctype.__class__ is not str or ctype not in CUSTOMER_TYPES:
            return None
        cid = req_text(cget("id"))
        first = opt_text(cget("first_name"), "")
        last = opt_text(cget("last_name"), "")
        email = req_text(cget("email"))
        phone = opt_text(cget("phone"), "")
        if cid is None or first is None or last is None or email is None or phone is None:
            return None

        raw_addresses = get("addresses")
        if raw_addresses.__class__ is not list:
            return None
        addresses: dict[str, Any] = {}
        for raw in raw_addresses:
            if raw.__class__ is not dict:
                return None
            reference = req_text(raw.get("reference"))
            if reference is None or reference in addresses:
                return None
            parts = [raw.get(name) for name in ADDRESS_FIELDS]
            for n, value in enumerate(parts):
                if value.__class__ is not str:
                    if value is not None:
                        return None
                    parts[n] = ""
            addresses[reference] = parts
        billing_ref = req_text(get("billing_address_reference"))
        if billing_ref is None or billing_ref not in addresses:
            return None

        client_ref = get("client_order_reference")
        if client_ref == "":
            client_ref = None
        elif client_ref is not None and client_ref.__class__ is not str:
            return None
        language = opt_text(get("language"), "en_US")
        vat_country = opt_text(get("vat_country"), "")
        origin = opt_text(get("origin"), "WEB")
        shipping_method = opt_text(get("shipping_method"), "")
        if language is None or vat_country is None or origin is None or shipping_method is None:
            return None
        origin_text = get("origin_date")
        if origin_text.__class__ is not str:
            return None
        try:
            origin_date = datetime.fromisoformat(origin_text)
        except ValueError:
            return None
        if origin_date.tzinfo is None or origin_date.utcoffset() is None:
            return None
        if utc(origin_date) is None:  # the schema's path words the range
            return None
        time = self.time
        origin_value = time(origin_date)

        paid = read_payments(get("payments"), read, origin_value)
        if paid is None:
            return None
        payments, operations, captured_total = paid
        read_in = read_lines(get("order_lines"), addresses, reader)
        if read_in is None:
            return None
        line_rows, grand_total, ship_ref = read_in

        billing_parts = addresses[billing_ref]
        billing = Address(*billing_parts)
        if ship_ref is None or ship_ref == billing_ref:
            ship, ship_parts = billing, billing_parts
        else:
            ship_parts = addresses[ship_ref]
            ship = Address(*ship_parts)
        full_name = f"{first} {last}".strip()
        name_norm, first_norm, last_norm = folded_names(first, last)
        billing_dict = billing.to_dict()
        cipher = self._cipher or self._billing()
        now = self.time(self.now())
        order_row = [
            None,
            order_id,
            channel_id,
            channel[1],
            "NEW",
            None,
            None,
            "NORMAL",
            None,
            "[]",
            client_ref,
            origin,
            origin_value,
            now,
            now,
            language,
            vat_country,
            currency,
            cid,
            ctype,
            first,
            last,
            email,
            phone,
            normalise_email(email),
            phone_digits(phone),
            name_norm,
            ship.zip.strip().upper(),
            fold_text(ship.one_line()),
            None,
            cipher.encrypt(order_id, billing_dict),
            f"[{','.join(map(str, cipher.address_tokens(billing_dict)))}]",
            person_name(billing, full_name),
            person_name(ship, full_name),
            _address_json(ship_parts),
            shipping_method,
            grand_total,
            captured_total,
            0,
            None,
            None,
            1,
            national_number(phone, channel[1]),
            first_norm,
            last_norm,
        ]
        # (method, payment id, amount) of each payment row that captured something
        captures = [
            (row[2], row[3], f"{format_amount(from_minor(row[5], currency), currency)} {currency}")
            for row in payments
            if row[5] > 0
        ]
        history = [
            None,
            now,
            "system",
            "order.created",
            order_received(origin, captures),
            f'{{"message_id":{_quote(env.id)}}}',
        ]
        updated = _UPDATED % (
            _quote(order_id),
            _quote(channel_id),  # type: ignore[arg-type]
            ",".join([_UPDATED_LINE % (r[1], _quote(r[2])) for r in line_rows]),
        )
        outbox = [f"out-{uuid.uuid4().hex}", self.outbox_type, order_id, updated, now]
        if _too_long(order_row, _ORDER_TEXT) or any(_too_long(r, _LINE_TEXT) for r in line_rows):
            return None  # the full reader refuses it, naming the field and its limit
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
