"""Telephone numbers as search compares them (S-1): by national significant number.

A number is read with the order's market as its region (`+1 555.837.9269` and `555-837-9269`
in the US market are both 5558379269; `+49 30 1234567` and `030 1234567` in the DE market are
both 301234567), by Google's libphonenumber rules (the `phonenumbers` package). A number that
cannot be read that way (no region, too short, letters) has no national number: search still
compares its raw digits.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

# Markets that are not ISO 3166 region codes but name one.
_REGION_ALIASES = {"UK": "GB", "EL": "GR"}
_MAX_INPUT = 64  # longer text is no telephone number (phonenumbers reads up to 250)


def _phonenumbers() -> ModuleType:
    # Imported on first use: its metadata costs a command that reads no telephone 40 ms at
    # start-up (issue 18 item 1); after that this is a dictionary lookup.
    import phonenumbers

    return phonenumbers


def region_of(market: str) -> str | None:
    """The phonenumbers region of a market code, or None when it names none."""
    code = market.strip().upper()
    code = _REGION_ALIASES.get(code, code)
    return code if code in _phonenumbers().SUPPORTED_REGIONS else None


def national_number(phone: str, market: str) -> str:
    """The national significant number of `phone` read in `market`; "" when it has none."""
    if not phone or len(phone) > _MAX_INPUT or not any(ch.isdigit() for ch in phone):
        return ""
    phonenumbers = _phonenumbers()
    try:
        parsed = phonenumbers.parse(phone, region_of(market))
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.national_significant_number(parsed)


def national_candidates(phone: str, markets: Iterable[str]) -> list[str]:
    """What a typed number may stand for: its national number read in each market (a number
    typed without its country code means a different number in each)."""
    if phone.lstrip().startswith("+"):  # the country code is typed: no market needed
        found = {national_number(phone, "")}
    else:
        found = {national_number(phone, market) for market in markets}
    found.discard("")
    return sorted(found)
