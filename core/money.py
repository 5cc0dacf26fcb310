"""Money as Decimal in the currency's minor units (never float).

Amounts are held as `Decimal` quantised to the currency's exponent and stored as integer minor
units. `to_minor`/`from_minor` are the only crossings between the two.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 exponents that differ from 2; everything else uses 2.
_EXPONENTS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}

ZERO = Decimal(0)


_EXPONENT_CACHE: dict[str, int] = {}
_QUANTUM_CACHE: dict[str, Decimal] = {}


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    # Cached: the import path asks this for every amount of every line.
    try:
        return _EXPONENT_CACHE[currency]
    except KeyError:
        value = _EXPONENT_CACHE[currency] = _EXPONENTS.get(currency.upper(), 2)
        return value


def quantum(currency: str) -> Decimal:
    try:
        return _QUANTUM_CACHE[currency]
    except KeyError:
        value = _QUANTUM_CACHE[currency] = Decimal(1).scaleb(-exponent(currency))
        return value


AMOUNT_DIGITS_MAX = 12  # whole-number digits an amount may have (below a trillion)


def parse_amount(value: object, currency: str, *, field: str = "amount") -> Decimal:
    """Read a user's or a message's amount: a string or a number, never a float's binary noise.

    Raises ValueError naming the field when the value is not a finite amount or has more decimals
    than the currency allows.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field}: expected an amount, got {value!r}")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that round-trips, not the binary expansion
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{field}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not an amount")
    if amount and amount.adjusted() >= AMOUNT_DIGITS_MAX:
        # Beyond this, quantize overflows the decimal context and minor units overflow BIGINT.
        raise ValueError(f"{field}: {value!r} is too large an amount")
    q = quantum(currency)
    if amount != amount.quantize(q, rounding=ROUND_HALF_EVEN):
        raise ValueError(
            f"{field}: {value!r} has more than {exponent(currency)} decimals for {currency}"
        )
    return amount.quantize(q)


def to_minor(amount: Decimal, currency: str) -> int:
    minor = amount.scaleb(exponent(currency))
    # Amounts are quantised on the way in; round only what is not already whole.
    return (
        int(minor)
        if minor == minor.to_integral_value()
        else int(minor.to_integral_value(rounding=ROUND_HALF_EVEN))
    )


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency)).quantize(quantum(currency))


def format_amount(amount: Decimal, currency: str) -> str:
    """JSON money: a string with the currency's decimals ("45.00")."""
    return str(amount.quantize(quantum(currency)))
