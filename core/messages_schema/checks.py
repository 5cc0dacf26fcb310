"""Field checks of the msgspec payload records (order_create.py), each worded as the
hand-written readers of read.py word theirs: `path: problem`. They run after msgspec has
checked each field's type, and set a field's final value in place (a frozen Struct's
`force_setattr`): an id as text, a default for a null, an amount quantised to its currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from ..limits import DATE_RANGE, MAX_INT, utc
from ..money import AMOUNT_DIGITS_MAX, quantum
from .read import ZERO, fail, plain_json, read_amount, show

_set = msgspec.structs.force_setattr

# An identifier: text, or an integer some stores send (`"sku": 12345`), kept as its text.
Id = str | int
# Optional text: null is absent, and reads as the field's default.
Text = str | None


def tax_entry(sent: dict[str, Any], base: str, currency: str) -> dict[str, Any]:
    """A tax entry as stored: kept as sent, an amount or a rate sent as a number as its text."""
    value = sent.get("amount")
    sent_rate = sent.get("rate")
    kind = sent.get("type")
    if (
        value.__class__ is str
        and (sent_rate is None or sent_rate.__class__ is str)
        and (kind is None or kind.__class__ is str)
        and len(sent) <= 3
    ):
        # The usual entry, {"type": "SALES", "amount": "3.60", "rate": "8"}: texts kept as
        # sent, each checked once per import (most orders repeat a few of them).
        key = (currency, value, sent_rate)
        if key not in _PLAIN_TAXES:
            _tax_texts(value, sent_rate, base, currency)
            if len(_PLAIN_TAXES) >= _MEMO_MAX:
                _PLAIN_TAXES.clear()
            _PLAIN_TAXES.add(key)
        return dict(sent)
    entry = plain_json(sent)
    if value is None:
        fail(f"{base}.amount", "missing required field")
    amount = read_amount(value, currency, f"{base}.amount")
    if value.__class__ is not str:
        entry["amount"] = str(amount)
    if sent_rate is not None:
        checked = rate(sent_rate, f"{base}.rate")
        if sent_rate.__class__ is not str:
            entry["rate"] = str(checked)
    if kind is not None and kind.__class__ is not str:
        fail(f"{base}.type", f"expected a string, got {show(kind)}")
    return entry


def _tax_texts(amount: str, sent_rate: str | None, base: str, currency: str) -> None:
    read_amount(amount, currency, f"{base}.amount")
    if sent_rate is not None:
        rate(sent_rate, f"{base}.rate")


_MEMO_MAX = 4096
_PLAIN_TAXES: set[tuple[str, str, str | None]] = set()


def as_id(record: Any, name: str, base: str, *, required: bool = True, absent: Any = None) -> Any:
    """An identifier field as text: an integer becomes its text, "" is absent (`absent`)."""
    value = getattr(record, name)
    if value.__class__ is str:
        if value:
            return value
        if required:
            fail(f"{base}.{name}", "must not be empty")
        _set(record, name, absent)
        return absent
    if value is None:
        if absent is not None:
            _set(record, name, absent)
        return absent
    text = str(value)  # an integer: msgspec took nothing else
    _set(record, name, text)
    return text


def defaults(record: Any, defaults: tuple[tuple[str, object], ...]) -> None:
    for name, default in defaults:
        if getattr(record, name) is None:
            _set(record, name, default)


def count(value: int, path: str, minimum: int, maximum: int = MAX_INT) -> None:
    if value < minimum:
        fail(path, f"must be at least {minimum}, got {value}")
    if value > maximum:  # a database integer has 64 bits
        fail(path, f"must be at most {maximum}, got {value}")


class Money:
    """The amounts of one currency, checked and quantised in place: not negative, no more
    decimals than the currency has, below a trillion; anything else is worded by
    `read.read_amount`. Nothing is remembered: hashing a new Decimal costs more than the
    check (about 1.1 µs against 0.2)."""

    __slots__ = ("currency", "quantum")

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.quantum = quantum(currency)

    def set(self, record: Any, name: str, base: str) -> Decimal:
        """The amount `record.name` quantised (null: zero), set in place."""
        value = getattr(record, name)
        if value is None:
            amount = ZERO
        else:
            try:
                amount = value.quantize(self.quantum)
                ok = amount == value and not amount.is_signed()
                ok = ok and amount.adjusted() < AMOUNT_DIGITS_MAX
            except InvalidOperation:  # infinite, or more digits than Decimal's precision
                ok = False
            if not ok:  # NaN never equals itself, so it is worded here too
                amount = read_amount(value, self.currency, f"{base}.{name}")
        _set(record, name, amount)
        return amount


_MONEY: dict[str, Money] = {}


def money_for(currency: str) -> Money:
    found = _MONEY.get(currency)
    if found is None:
        found = _MONEY.setdefault(currency, Money(currency))
    return found


def rate(value: object, path: str) -> Decimal:
    """A tax rate in percent ("8", "20", "5.5"): any number of decimals, not negative."""
    if isinstance(value, Decimal) and value.is_finite() and not value.is_signed():
        return value
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        number = None
    if value.__class__ is bool or number is None or not number.is_finite() or number.is_signed():
        fail(path, f"expected a non-negative percentage, got {show(value)}")
    return number


def aware(value: datetime, path: str) -> None:
    if value.utcoffset() is None:
        fail(path, f"{show(value.isoformat())} has no UTC offset (naive times are ambiguous)")
    if utc(value) is None:
        fail(path, f"{show(value.isoformat())} is outside {DATE_RANGE}")
