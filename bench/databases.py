"""A fresh, migrated database for one benchmark run: a new SQLite file, or a new schema in the
PostgreSQL database at `base` (so runs never see each other's rows)."""

from __future__ import annotations

import os
import tempfile
import uuid

from sqlalchemy import text

from postsales.core.crypto import KEY_ENV, KEY_FILE_ENV
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.migrate import upgrade


def bench_billing_key(url: str) -> None:
    """A PostgreSQL database has no folder to keep its billing key beside: unless one is
    configured, benchmarks keep theirs in `var/bench/billing.key`, so a database filled by one
    run is read by the next."""
    if not url.startswith("sqlite") and not os.environ.get(KEY_ENV):
        os.environ.setdefault(KEY_FILE_ENV, os.path.abspath("var/bench/billing.key"))


def fresh_database(base: str | None, prefix: str) -> str:
    if base is not None:
        bench_billing_key(base)
    if base is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix=f'pst-{prefix}-')}/{prefix}.db"
    else:
        schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{base}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url
