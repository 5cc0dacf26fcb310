"""Alembic environment: run with the connection `postsales init` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from postsales.core.persistence.tables import include_name, metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
        compare_type=True,
        include_name=include_name,  # hand-made search objects of 0003 (FTS5, pg_trgm)
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
