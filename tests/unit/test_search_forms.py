"""What search compares (issue 12 item 5): folded names and addresses, telephone numbers by
national significant number, SKUs in any case. No database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postsales.core.crypto import words
from postsales.core.domain.customers import fold_text, folded_names
from postsales.core.domain.orders import normalise_sku
from postsales.core.errors import BadInput
from postsales.core.phones import national_candidates, national_number
from postsales.core.search import text as X


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("  Zoë   Núñez ", "zoe nunez"),
        ("Hauptstraße 5", "hauptstrasse 5"),
        ("O'Brien", "o brien"),
        ("Tayler_x", "tayler x"),
        (
            "6146 Honey Bluff Parkway, 49628-7978 Calder, US",
            "6146 honey bluff parkway 49628 7978 calder us",
        ),
        ("Łódź", "łodz"),  # no decomposition for ł
        ("", ""),
    ],
)
def test_fold_text(text: str, folded: str) -> None:
    assert fold_text(text) == folded


@given(st.text())
def test_fold_text_gives_the_billing_indexs_words(text: str) -> None:
    """The same words as the S-6 blind index, so every text search folds alike."""
    assert fold_text(text) == " ".join(words(text))


@given(st.text(), st.text())
def test_the_full_name_holds_the_first_and_last_names(first: str, last: str) -> None:
    name, f, la = folded_names(first, last)
    assert name == fold_text(f"{first} {last}") and name.startswith(f) and name.endswith(la)


@pytest.mark.parametrize(
    ("phone", "market", "national"),
    [
        ("+1 555.837.9269", "US", "5558379269"),
        ("555-837-9269", "US", "5558379269"),
        ("(555) 837-9269 ext. 12", "US", "5558379269"),
        ("+49 30 1234567", "DE", "301234567"),
        ("030 1234567", "DE", "301234567"),
        ("0049 30 1234567", "DE", "301234567"),
        ("+49 30 1234567", "US", "301234567"),  # its own country code, whatever the market
        ("020 7946 0958", "UK", "2079460958"),  # UK is read as GB
        ("5558379269", "EU", ""),  # no region, no country code: no national number
        ("7", "US", ""),
        ("call me", "US", ""),
        ("1" * 400, "US", ""),
    ],
)
def test_national_number(phone: str, market: str, national: str) -> None:
    assert national_number(phone, market) == national


def test_a_typed_number_is_read_in_each_market() -> None:
    assert national_candidates("030 1234567", ["US", "DE"]) == ["0301234567", "301234567"]
    assert national_candidates("+49 30 1234567", []) == ["301234567"]
    assert national_candidates("123", ["EU"]) == []


@given(st.text(max_size=80), st.sampled_from(["US", "DE", "GB", "EU", "", "zz"]))
def test_national_number_never_fails(phone: str, market: str) -> None:
    assert national_number(phone, market).isdigit() or national_number(phone, market) == ""


def test_skus_compare_in_upper_case() -> None:
    assert normalise_sku(" wj06-l-blk ") == "WJ06-L-BLK" == normalise_sku("WJ06-L-BLK")


@pytest.mark.parametrize(
    ("value", "word", "glob", "like"),
    [
        ("%tay", False, "*tay*", "%tay%"),
        ("Mer%LOR", False, "*mer*lor*", "%mer%lor%"),
        ("Ng", True, "* ng *", ""),
        ("Ö", True, "* o *", ""),
        ("Müller", False, "*muller*", "%muller%"),
        ("r_x", False, "*r x*", "%r x%"),  # `_` is no LIKE wildcard: it parts words
    ],
)
def test_patterns(value: str, word: bool, glob: str, like: str) -> None:
    pat = X.pattern("name", value)
    assert (pat.word, pat.glob, pat.like) == (word, glob, like)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("%ng", "a partial search (with %) needs at least 3 characters in a row"),
        ("ab%cd", "at least 3 characters"),
        ("--", "give some text to look for"),
        ("%", "give some text to look for"),
    ],
)
def test_bad_patterns(value: str, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        X.pattern("name", value)
