"""The planner settings every PostgreSQL connection of the app runs with (issue 18 item 4):
no JIT and no parallel workers, kept through the pool's rollback on return, so a search
handed a connection that an earlier unit of work rolled back is planned the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from postsales.core.persistence.database import make_engine

pytestmark = pytest.mark.postgres


def test_every_pooled_connection_runs_serial_plans_without_jit(pg_schema_url: str) -> None:
    engine = make_engine(pg_schema_url)
    try:
        for _ in range(3):  # a new connection, then the same one back from the pool
            with engine.connect() as conn:
                jit = conn.execute(text("SHOW jit")).scalar_one()
                workers = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
                assert (jit, workers) == ("off", "0")
                conn.rollback()  # as the pool does on return: the settings must outlive it
        with engine.connect() as a, engine.connect() as b:  # two connections, each set
            for conn in (a, b):
                shown = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
                assert shown == "0"
    finally:
        engine.dispose()
