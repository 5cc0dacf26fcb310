"""Partial text matching (S-1 names and addresses): `%` patterns, whole words, and the indexes
that serve them.

Names and addresses are compared as folded words (`domain.customers.fold_text`: lower case,
accents folded, anything but letters and digits a single space), on both sides. A partial
search looks for the typed text anywhere in the folded value; `%` inside it matches any run of
characters, so `%tay` finds "Mercy Taylor" and "Taylor Hayes", and `mer%lor` finds "Mercy
Taylor". A `%` pattern must hold at least three characters in a row: trigram indexes (SQLite
FTS5, PostgreSQL pg_trgm) need one whole trigram, and anything shorter would read every order.
A value of one or two characters without `%` (`Ng`) matches whole words instead.

SQLite: the FTS5 table `orders_fts` (trigram tokenizer) indexes the folded values with a space
before and after (its content is the view `orders_fts_content`, migration 0006), so a whole word
is the GLOB `* ng *`, three characters in a row with its spaces, served by the index wherever
the word stands. It is joined on `rowid` = `orders.seq` and matched with GLOB (FTS5 passes GLOB
and LIKE to the index, but not LIKE with an ESCAPE clause, and the values are already lower
case). PostgreSQL: `LIKE` on the column, or for a whole word `= 'ng' OR LIKE 'ng %' OR LIKE
'% ng' OR LIKE '% ng %'`, all served by its GIN trigram index (pg_trgm pads words with spaces
itself).
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import Column, ColumnElement, Integer, MetaData, Table, Text, literal, or_

from ..domain.customers import fold_text, normalise_text
from ..errors import BadInput

MIN_RUN = 3

# The FTS5 tables, declared on their own metadata: Alembic and `metadata.create_all` never see
# them (migration 0003 creates them by hand).
_fts_metadata = MetaData()
orders_fts = Table(
    "orders_fts",
    _fts_metadata,
    Column("rowid", Integer, primary_key=True),
    Column("name_norm", Text),
    Column("ship_address_norm", Text),
)
comments_fts = Table(
    "comments_fts",
    _fts_metadata,
    Column("rowid", Integer, primary_key=True),
    Column("summary", Text),
)


@attrs.frozen
class Pattern:
    """One text search: a LIKE pattern (escape `\\`) and a GLOB pattern for partial text, or
    a whole word (`word`: the GLOB is for the space-padded FTS5 content, see `matches`)."""

    text: str
    like: str
    glob: str
    has_wildcard: bool
    word: bool = False

    @property
    def word_likes(self) -> tuple[str, str, str]:
        """PostgreSQL: the whole word first, last and inside (LIKE; `=` for the word alone).
        pg_trgm serves each from its own padded trigrams; the regular expression
        `(^| )ng( |$)` extracted weaker ones (3,700 rows rechecked at 100,000 orders, for
        none found)."""
        word = _like_escape(self.text)
        return f"{word} %", f"% {word}", f"% {word} %"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_")


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def longest_run(text: str) -> int:
    return max((len(part) for part in text.split("%")), default=0)


def _fold_pattern(value: str) -> str:
    """`value` folded as names and addresses are (`fold_text`), each side of a `%` alike."""
    return "%".join(fold_text(part) for part in value.split("%"))


def pattern(field: str, value: str, *, fold: bool = True) -> Pattern:
    """The search for `value` in a name or address (`fold=False`: lower-cased only, as
    comments are compared); BadInput naming `field` when there is nothing to look for or a
    `%` pattern is too short."""
    text = _fold_pattern(value) if fold else normalise_text(value)
    if not text.replace("%", "").strip():
        raise BadInput(f"{field}: give some text to look for", field=field)
    if "%" not in text and len(text) < MIN_RUN and fold:
        return Pattern(text=text, like="", glob=f"* {text} *", has_wildcard=False, word=True)
    if longest_run(text) < MIN_RUN:
        raise BadInput(
            f"{field}: a partial search (with %) needs at least {MIN_RUN} characters in a row "
            f"(got {value!r}); without % a word of any length matches whole words",
            field=field,
        )
    parts = [p for p in text.split("%") if p]
    like = "%" + "%".join(_like_escape(p) for p in parts) + "%"
    glob = "*" + "*".join(_glob_escape(p) for p in parts) + "*"
    return Pattern(text=text, like=like, glob=glob, has_wildcard="%" in text)


def matches(column: Any, pat: Pattern, sqlite: bool) -> ColumnElement[bool]:
    """`pat` on a folded column of `orders` itself (not the padded FTS5 content)."""
    if pat.word:
        if sqlite:
            padded = literal(" ").concat(column).concat(" ")
            return glob(padded, pat.glob)
        likes = (column.like(like, escape="\\") for like in pat.word_likes)
        return or_(column == pat.text, *likes)
    if sqlite:
        return glob(column, pat.glob)
    return column.like(pat.like, escape="\\")


def glob(column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    """SQLite's GLOB, typed as a comparison so `not` (S-2) negates it as a condition."""
    return column.op("GLOB", is_comparison=True)(pattern)


def prefix_glob(value: str) -> str:
    """A GLOB pattern matching values that start with `value` (index-assisted on SQLite)."""
    return _glob_escape(value) + "*"


def prefix_like(value: str) -> str:
    return _like_escape(value).replace("%", "\\%") + "%"
