"""An order's children mapped to their tables once, from the attrs class and the table.

Each attribute is stored in the column of its own name; a money attribute (`Decimal`) in the
column of its name with `_amount` dropped and `_minor` added (`net_amount` -> `net_minor`,
`discount` -> `discount_minor`), as integer minor units of the order's currency. A `Decimal`
kept in a text column (`tax_rate`) is stored as its text, and a list is copied both ways. What
does not follow those rules is said in `special`, and an attribute with no column (or a column
with no attribute, but for `order_seq`, what `extra` computes and what the caller fills in)
stops the import of this module: adding a field to a child touches its class, its table and
migration, and nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from operator import attrgetter
from typing import Any

import attrs
from sqlalchemy import Column, String, Table

from ..domain.history import HistoryEvent
from ..domain.orders import (
    OrderLine,
    Payment,
    PaymentOperation,
    Refund,
    RefundLine,
    Return,
    Shipment,
    normalise_sku,
)
from ..money import from_minor, to_minor
from . import tables as T

# (value, currency) -> stored, and (stored, currency) -> value
Store = Callable[[Any, str], Any]
Load = Callable[[Any, str], Any]

# Loading an order converts the same few amounts again and again (every action loads it anew);
# Decimals are immutable, so converted amounts are shared, from a bounded cache.
_MONEY: dict[tuple[int, str], Decimal] = {}


def load_money(minor: int, cur: str) -> Decimal:
    key = (minor, cur)
    amount = _MONEY.get(key)
    if amount is None:
        if len(_MONEY) >= 50_000:
            _MONEY.clear()
        amount = _MONEY[key] = from_minor(minor, cur)
    return amount


def _text(value: Any, _cur: str) -> str:
    return str(value)


def _decimal(value: Any, _cur: str) -> Decimal:
    return Decimal(value)


def _copy(value: Any, _cur: str) -> list[Any]:
    return list(value)


def _copy_or_empty(value: Any, _cur: str) -> list[Any]:
    return list(value or [])


def _same(value: Any, _cur: str) -> Any:
    return value


def _dict_or_empty(value: Any, _cur: str) -> dict[str, Any]:
    return dict(value or {})


class Child:
    """One child entity of the order aggregate (`cls`) and the table holding its rows.

    `collection` names the order's attribute holding them (the table's name by default);
    `special` maps an attribute to (column, store, load) where the rules do not fit; `extra`
    computes stored columns that no attribute holds; `outside` names the columns the caller
    fills in (a database key, the parent payment's reference); `ledger` names the attributes
    that move by guarded UPDATEs only (D-1…D-4), never by the generic diff."""

    def __init__(
        self,
        cls: type,
        table: Table,
        *,
        collection: str = "",
        keys: tuple[str, ...] = (),
        skip: Iterable[str] = (),
        special: Mapping[str, tuple[str, Store, Load]] | None = None,
        extra: Mapping[str, Store] | None = None,
        outside: Iterable[str] = (),
        ledger: Iterable[str] = (),
    ) -> None:
        self.cls, self.table, self.name, self.keys = cls, table, table.name, keys
        self.items: Callable[[Any], list[Any]] = attrgetter(collection or table.name)
        self.key: Callable[[Any], Any] = attrgetter(*keys) if keys else id
        self.extra = dict(extra or {})
        special = dict(special or {})
        plain: list[tuple[str, str]] = []  # (attribute, column)
        converted: list[tuple[str, str, Store, Load]] = []
        for field in attrs.fields(cls):
            if field.name in skip:
                continue
            how = special.pop(field.name, None) or _by_rule(cls, table, field)
            if isinstance(how, str):
                plain.append((field.name, how))
            else:
                converted.append((field.name, *how))
        assert not special, f"{cls.__name__} has no attribute {sorted(special)}"
        stored = {c for _, c in plain} | {c for _, c, _, _ in converted} | set(self.extra)
        unmapped = {c.name for c in table.columns} - stored - {"order_seq", *outside}
        assert not unmapped, f"{table.name}: no attribute of {cls.__name__} for {sorted(unmapped)}"
        self.converted = converted
        self._plain_attrs = tuple(a for a, _ in plain)
        self._plain_columns = tuple(c for _, c in plain)
        self._get_plain = attrgetter(*self._plain_attrs)
        self._read_plain = attrgetter(*self._plain_columns)
        self.ledger_columns = frozenset(c for a, c, _, _ in converted if a in ledger)
        lists = {f.name for f in attrs.fields(cls) if str(f.type).startswith("list")}
        self.watched = [
            a for a in (*self._plain_attrs, *(a for a, *_ in converted)) if a not in ledger
        ]
        self._lists = [a for a in self.watched if a in lists]
        self._watched = attrgetter(*(a for a in self.watched if a not in lists))
        self.watched = [a for a in self.watched if a not in lists] + self._lists

    def row(self, seq: int, item: Any, cur: str) -> dict[str, Any]:
        """The table row of `item`, a child of the order whose `seq` and currency are given."""
        row = dict(zip(self._plain_columns, self._get_plain(item), strict=True))
        row["order_seq"] = seq
        for attr, column, store, _ in self.converted:
            row[column] = store(getattr(item, attr), cur)
        for column, compute in self.extra.items():
            row[column] = compute(item, cur)
        return row

    def load(self, row: Any, cur: str, **more: Any) -> Any:
        """The child held by a row as `fastread.Reader` returns it (column names as attributes),
        with `more` attributes that are not stored in its row."""
        values = dict(zip(self._plain_attrs, self._read_plain(row), strict=True), **more)
        for attr, column, _, load in self.converted:
            values[attr] = load(getattr(row, column), cur)
        return self.cls(**values)

    def state(self, item: Any) -> tuple[Any, ...]:
        """What the unit of work compares to see whether `item` changed since it was loaded:
        its stored attributes but the ledgers (named in `watched`, in order), lists copied so
        that changes in place show."""
        return (*self._watched(item), *(tuple(getattr(item, a)) for a in self._lists))


def _by_rule(cls: type, table: Table, field: attrs.Attribute) -> str | tuple[str, Store, Load]:
    """The column of `field` by the rules of this module's docstring: its name when stored as
    it is, else (column, store, load)."""
    type_ = str(field.type)
    column: Column[Any] | None = table.c.get(field.name)
    if type_ == "Decimal":
        if column is not None and isinstance(column.type, String):
            return field.name, _text, _decimal
        minor = f"{field.name.removesuffix('_amount')}_minor"
        assert minor in table.c, f"{cls.__name__}.{field.name}: no column {minor} in {table.name}"
        return minor, to_minor, load_money
    assert column is not None, f"{cls.__name__}.{field.name}: no column in {table.name}"
    if type_.startswith("list"):
        return field.name, _copy, _copy_or_empty
    if type_.startswith("dict"):
        return field.name, _same, _dict_or_empty
    return field.name


def _store_refund_lines(lines: list[RefundLine], cur: str) -> list[list[Any]]:
    return [[rl.line_number, to_minor(rl.amount, cur)] for rl in lines]


def _load_refund_lines(stored: list[list[Any]], cur: str) -> list[RefundLine]:
    return [RefundLine(n, load_money(m, cur)) for n, m in stored]


LINES = Child(
    OrderLine,
    T.order_lines,
    collection="lines",
    keys=("line_number",),
    extra={"sku_norm": lambda line, _cur: normalise_sku(line.sku)},
    ledger=("refunded_amount", "appeased_amount"),
)
PAYMENTS = Child(Payment, T.payments, keys=("reference",), skip=("operations",))
OPERATIONS = Child(PaymentOperation, T.payment_operations, outside=("id", "payment_reference"))
SHIPMENTS = Child(Shipment, T.shipments, keys=("id",))
RETURNS = Child(Return, T.returns, keys=("id",))
REFUNDS = Child(
    Refund,
    T.refunds,
    keys=("id",),
    special={"lines": ("lines", _store_refund_lines, _load_refund_lines)},
    extra={"amount_minor": lambda refund, cur: to_minor(refund.amount, cur)},
)
HISTORY = Child(HistoryEvent, T.history, outside=("id", "request_id"))

# The children the unit of work diffs, lines first: their ledger moves go before any insert.
CHILDREN = (LINES, PAYMENTS, SHIPMENTS, RETURNS, REFUNDS)
