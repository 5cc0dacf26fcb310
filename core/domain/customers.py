"""Customers and their addresses (SPEC §2)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import attrs


@attrs.frozen
class Address:
    """A postal address as the web store sent it; never validated (A-7 allows any address)."""

    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country_code: str = ""
    phone: str = ""
    email: str = ""

    def to_dict(self) -> dict[str, str]:
        # Written out: attrs.asdict is a measurable share of the import path.
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company_name": self.company_name,
            "address1": self.address1,
            "address2": self.address2,
            "city": self.city,
            "state": self.state,
            "zip": self.zip,
            "country_code": self.country_code,
            "phone": self.phone,
            "email": self.email,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Address | None:
        if data is None:
            return None
        return cls(**{k: str(v or "") for k, v in data.items() if k in _ADDRESS_FIELDS})

    def one_line(self) -> str:
        parts = [
            f"{self.first_name} {self.last_name}".strip(),
            self.address1,
            self.address2,
            f"{self.zip} {self.city}".strip(),
            self.state,
            self.country_code,
        ]
        return ", ".join(p for p in parts if p)


_ADDRESS_FIELDS = frozenset(attrs.fields_dict(Address))


@attrs.define
class Customer:
    """The customer snapshot an order carries (and the customer record of A-12)."""

    id: str
    type: str = "guest"  # guest | registered | b2b
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


CUSTOMER_TYPES = ("guest", "registered", "b2b")

_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def normalise_email(email: str) -> str:
    """Emails compare exactly but case-insensitively (S-1)."""
    return email.strip().lower()


def phone_digits(phone: str) -> str:
    """Telephones compare by digits; punctuation and spaces are ignored (S-1)."""
    return _NON_DIGITS.sub("", phone)


def normalise_text(text: str) -> str:
    """Lower-cased, single-spaced text (comment search compares summaries this way)."""
    return _SPACES.sub(" ", text.strip().lower())


_WORD = re.compile(r"[^\W_]+")


def fold_text(text: str) -> str:
    """Names and addresses as search compares them (S-1): their words — runs of letters and
    digits — in lower case with accents folded, one space apart. `Müller`, `MÜLLER` and
    `muller` are all `muller`; `O'Brien` is `o brien`; `Hauptstraße` is `hauptstrasse`. The
    same words as the billing index (`crypto.words`), so every text search folds alike."""
    if text.isascii():
        return " ".join(_WORD.findall(text.lower()))
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(plain))


def folded_names(first: str, last: str) -> tuple[str, str, str]:
    """(full name, first name, last name) folded for search; the full name is the other two
    one space apart, so that a first or last name is also found within it."""
    f, la = fold_text(first), fold_text(last)
    return (f"{f} {la}" if f and la else f or la), f, la
