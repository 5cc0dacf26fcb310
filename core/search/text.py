"""Partial text matching (S-1 names and addresses): `%` patterns and the indexes that serve them.

A partial search looks for the typed text anywhere in the normalised value (lower case, single
spaces); `%` inside it matches any run of characters, so `%tay` finds "Mercy Taylor" and
"Taylor Hayes", and `mer%lor` finds "Mercy Taylor". The typed text must hold at least three
characters in a row: trigram indexes (SQLite FTS5, PostgreSQL pg_trgm) need one whole trigram,
and anything shorter would read every order.

SQLite: the FTS5 table `orders_fts` (trigram tokenizer, migration 0003) is joined on `rowid` =
`orders.seq` and matched with GLOB (FTS5 passes GLOB and LIKE to the index, but not LIKE with an
ESCAPE clause, and the values are already lower case). PostgreSQL: `LIKE` on the column, served
by its GIN trigram index.
"""

from __future__ import annotations

import attrs
from sqlalchemy import Column, Integer, MetaData, Table, Text

from ..domain.customers import normalise_text
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
    """One partial search, as a LIKE pattern (escape `\\`) and as a GLOB pattern."""

    text: str
    like: str
    glob: str
    has_wildcard: bool

    @property
    def literal(self) -> str:
        """The text itself when it holds no `%` (for exact comparisons of short values)."""
        return self.text


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_")


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def longest_run(text: str) -> int:
    return max((len(part) for part in text.split("%")), default=0)


def pattern(field: str, value: str, *, allow_short: bool = False) -> Pattern:
    """The partial pattern for `value`; BadInput naming `field` when it is too short."""
    text = normalise_text(value)
    if not text.replace("%", ""):
        raise BadInput(f"{field}: give some text to look for", field=field)
    if longest_run(text) < MIN_RUN and not (allow_short and "%" not in text):
        raise BadInput(
            f"{field}: a partial search needs at least {MIN_RUN} characters in a row "
            f"(got {value!r})",
            field=field,
        )
    parts = [p for p in text.split("%") if p]
    like = "%" + "%".join(_like_escape(p) for p in parts) + "%"
    glob = "*" + "*".join(_glob_escape(p) for p in parts) + "*"
    return Pattern(text=text, like=like, glob=glob, has_wildcard="%" in text)


def prefix_glob(value: str) -> str:
    """A GLOB pattern matching values that start with `value` (index-assisted on SQLite)."""
    return _glob_escape(value) + "*"


def prefix_like(value: str) -> str:
    return _like_escape(value).replace("%", "\\%") + "%"
