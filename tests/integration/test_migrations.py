"""`postsales init` builds exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.persistence.migrate import current_revision, upgrade


def test_migrations_match_the_declared_tables(app: Postsales) -> None:
    with app.engine.connect() as conn:
        # The hand-made search objects of 0003 (FTS5 tables, pg_trgm indexes) are skipped.
        context = MigrationContext.configure(conn, opts={"include_name": T.include_name})
        diff = compare_metadata(context, T.metadata)
    assert diff == []


def test_upgrade_is_idempotent(app: Postsales) -> None:
    before = current_revision(app.engine)
    assert upgrade(app.engine) == (before, before)
