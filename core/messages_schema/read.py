"""Field readers of inbound payloads: each takes the containing object, the key and the
container's path, and raises `BadInput` naming the field's path from the envelope root
(`payload.order.order_lines[1].amount.gross_amount: ...`); the path is only built when there is
an error to report. The order create's msgspec definition (order_create.py) shares the patterns,
the amount reading and the wording, and `reworded` words msgspec's own errors alike."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

import attrs
import msgspec

from ..domain.customers import Address
from ..errors import BadInput
from ..limits import DATE_RANGE, utc
from ..money import parse_amount, quantum

ENVELOPE_ID_MAX = 191  # the longest id a utf8mb4 unique index holds; the dedupe key of §9
ORDER_ID_MAX = 64
ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]+")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
ZERO = Decimal(0)
MAX_PRICE_DECIMALS = 3  # the most any ISO 4217 currency has; the channel's own is checked later
PRICE_QUANTUM = Decimal(1).scaleb(-MAX_PRICE_DECIMALS)
ADDRESS_FIELDS = tuple(attrs.fields_dict(Address))


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


# Numbers are read as Decimal, never float (SPEC §11); NaN and Infinity are refused. One shared
# decoder, as json.loads shares its default one: building it per message costs a few µs.
JSON_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


# -- field readers -------------------------------------------------------------------------------
# Each takes the containing object, the key and the container's path; the field's path is only
# built when there is an error to report.


def join_path(base: str, key: str) -> str:
    if not key:
        return base
    return f"{base}.{key}" if base else key


def fail(path: str, problem: str) -> NoReturn:
    raise BadInput(f"{path}: {problem}", field=path)


def show(value: object) -> str:
    # A JSON number arrives as Decimal; show it as it was written, not as Decimal('2.0').
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def wrong(path: str, value: object, expected: str) -> NoReturn:
    if value is None:
        fail(path, "missing required field")
    fail(path, f"expected {expected}, got {show(value)}")


def req_str(obj: dict[str, Any], key: str, base: str) -> str:
    value = obj.get(key)
    if isinstance(value, str) and value:
        return value
    if value == "":
        fail(join_path(base, key), "must not be empty")
    wrong(join_path(base, key), value, "a string")


def opt_id(obj: dict[str, Any], key: str, base: str) -> str | None:
    """An identifier: a string, or an integer some stores send (`"box_number": 1`)."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    wrong(join_path(base, key), value, "a string")


def req_id(obj: dict[str, Any], key: str, base: str) -> str:
    value = opt_id(obj, key, base)
    if value is None:
        fail(
            join_path(base, key),
            "must not be empty" if key in obj and obj[key] == "" else "missing required field",
        )
    return value


def req_list(obj: dict[str, Any], key: str, base: str) -> list[Any]:
    value = obj.get(key)
    if isinstance(value, list):
        return value
    wrong(join_path(base, key), value, "a list")


def line_numbers(obj: dict[str, Any], base: str) -> tuple[int, ...]:
    values = req_list(obj, "lines", base)
    if not values:
        fail(f"{base}.lines", "expected at least one line number, got none")
    seen: set[int] = set()
    for i, value in enumerate(values):
        if not isinstance(value, int) or isinstance(value, bool):
            wrong(f"{base}.lines[{i}]", value, "an integer")
        if value < 1:
            fail(f"{base}.lines[{i}]", f"must be at least 1, got {value}")
        if value in seen:
            fail(f"{base}.lines[{i}]", f"duplicate line number {value}")
        seen.add(value)
    return tuple(values)


def read_time(value: object, path: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            fail(path, f"expected an ISO-8601 time with offset, got {show(value)}")
    elif isinstance(value, datetime):
        parsed = value
    else:
        wrong(path, value, "an ISO-8601 time with offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        fail(path, f"{show(value)} has no UTC offset (naive times are ambiguous)")
    if utc(parsed) is None:
        fail(path, f"{show(value)} is outside {DATE_RANGE}")
    return parsed


class Amounts:
    """Reads the amounts of one currency, remembering recent readings.

    Reading an amount costs more than all of a line's other fields together, and the same few
    texts ("0.00", "5.00", catalog prices) arrive again and again. Decimals are immutable, so
    sharing them is safe; a full memo is simply dropped. Only str and int values are memoised:
    they are the usual JSON shapes and always hashable.
    """

    __slots__ = ("currency", "known", "quantum")

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.quantum = quantum(currency)
        self.known: dict[str | int, Decimal] = {}

    def read(self, value: object, base: str, key: str = "") -> Decimal:
        cls = value.__class__
        if cls is not str and cls is not int:
            return read_amount(value, self.currency, join_path(base, key))
        amount = self.known.get(value)  # type: ignore[call-overload]
        if amount is None:
            amount = self._exact(value)  # type: ignore[arg-type]
            if amount is None:
                amount = read_amount(value, self.currency, join_path(base, key))
            if len(self.known) >= _MEMO_MAX:
                self.known.clear()
            self.known[value] = amount  # type: ignore[index]
        return amount

    def _exact(self, value: str | int) -> Decimal | None:
        """The usual case, a non-negative amount already at the currency's precision, at a
        quarter of parse_amount's cost; None for anything parse_amount must judge."""
        try:
            amount = Decimal(value)
            exact = amount.quantize(self.quantum)
        except (ArithmeticError, ValueError):
            return None
        # NaN never equals itself, so it falls through as well.
        return exact if exact == amount and not exact.is_signed() else None


_MEMO_MAX = 4096
_AMOUNTS: dict[str, Amounts] = {}


def amounts_for(currency: str) -> Amounts:
    reader = _AMOUNTS.get(currency)
    if reader is None:
        reader = _AMOUNTS.setdefault(currency, Amounts(currency))
    return reader


def read_amount(value: object, currency: str, path: str) -> Decimal:
    # `money.parse_amount` is the rule (strings or numbers, never float noise, no more decimals
    # than the currency has); this only adds the path and refuses negative amounts.
    if isinstance(value, Decimal):
        value = str(value)  # same reading, and its messages quote '45.123', not Decimal(...)
    try:
        amount = parse_amount(value, currency, field=path)
    except ValueError as exc:
        if is_number(value):
            raise BadInput(str(exc), field=path) from None
        fail(path, f"expected an amount, got {show(value)}")
    except ArithmeticError:  # more digits than Decimal's precision
        fail(path, f"{show(value)} is too large an amount")
    if amount.is_signed():
        if amount:
            fail(path, f"must not be negative, got {show(value)}")
        amount = amount.copy_abs()  # "-0.00" is zero
    return amount


def is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return False
    try:
        return Decimal(str(value).strip()).is_finite()
    except (InvalidOperation, ValueError):
        return False


def read_decimal(value: object, path: str, what: str) -> Decimal:
    """A finite, non-negative Decimal from a string or a number (a float by its shortest text)."""
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, ValueError):
            number = None
        if number is not None and number.is_finite() and not number.is_signed():
            return number
    fail(path, f"expected {what}, got {show(value)}")


def read_price(value: object, path: str) -> Decimal:
    """An amount whose currency is not known yet: at most 3 decimals, as any currency has."""
    number = read_decimal(value, path, "a non-negative amount")
    try:
        exact = number == number.quantize(PRICE_QUANTUM)
    except InvalidOperation:  # more digits than Decimal's precision
        fail(path, f"{show(value)} is too large an amount")
    if not exact:
        fail(path, f"{show(value)} has more than {MAX_PRICE_DECIMALS} decimals")
    return number


def plain_json(value: Any) -> Any:
    """A JSON-safe deep copy: numbers read as Decimal become strings."""
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


# -- msgspec's errors in these words ---------------------------------------------------------------

_AT = re.compile(r"(?s)(.*) - at `\$(.*)`")
_MISSING = re.compile(r"Object missing required field `(.*)`")
_EXPECTED = re.compile(r"Expected `([^`]*)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_WORDS = {
    "str": "a string",
    "int": "an integer",
    "decimal": "an amount",
    "datetime": "an ISO-8601 time with offset",
    "object": "an object",
    "array": "a list",
    "bool": "true or false",
}
_INVALID = {
    "Invalid decimal string": "an amount",
    "Invalid RFC3339 encoded datetime": "an ISO-8601 time with offset",
}


def reworded(exc: msgspec.ValidationError, root: str, source: Callable[[], Any]) -> BadInput:
    """A msgspec type error as the hand-written readers word theirs: `root.path: expected a
    string, got 12`. `source()` gives the decoded JSON, read only here, to quote the value."""
    text = str(exc)
    found = _AT.fullmatch(text)
    problem, where = (found.group(1), found.group(2)) if found else (text, "")
    path = root + where
    missing = _MISSING.fullmatch(problem)
    if missing:
        return _bad(join_path(path, missing.group(1)), "missing required field")
    value = _at(source(), where)
    expected = _EXPECTED.match(problem)
    if expected:
        names = [n for n in expected.group(1).split(" | ") if n != "null"]
        what = "a string" if "str" in names else _WORDS.get(names[0], f"`{names[0]}`")
        if value is None:
            return _bad(path, "missing required field")
        return _bad(path, f"expected {what}, got {show(value)}")
    if problem in _INVALID:
        return _bad(path, f"expected {_INVALID[problem]}, got {show(value)}")
    return _bad(path, problem[:1].lower() + problem[1:])


def convert_payload(payload: dict[str, Any], cls: type[_S]) -> _S:
    """A payload's decoded JSON (numbers as Decimal) as its msgspec Struct `cls`; every error
    a `BadInput` naming the field from the envelope root."""
    try:
        return msgspec.convert(payload, cls)
    except msgspec.ValidationError as exc:
        raise reworded(exc, "payload", lambda: payload) from None
    except RecursionError:
        raise BadInput(TOO_DEEP, field="payload") from None
    except UnicodeEncodeError:
        # msgspec cannot quote text with a lone surrogate in its error: find the field with
        # such text made valid, and quote the value as sent.
        try:
            msgspec.convert(_valid_text(payload), cls)
        except msgspec.ValidationError as exc:
            raise reworded(exc, "payload", lambda: payload) from None
        raise BadInput("payload: text that is not valid Unicode", field="payload") from None


TOO_DEEP = "payload: nested too deeply to read"
_S = TypeVar("_S", bound=msgspec.Struct)


def _valid_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode()
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_text(v) for v in value]
    return value


def _at(value: Any, where: str) -> Any:
    for key, index in _STEP.findall(where):
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _bad(path: str, problem: str) -> BadInput:
    return BadInput(f"{path}: {problem}", field=path)
