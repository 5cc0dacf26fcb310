"""The demo data looks like a store's month (issue 13 item 8): orders and what happens to them
spread over the days, ordinary orders on the grid's first page, a team in several zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from postsales.adapters.cli.main import cli
from postsales.adapters.demo import DAYS, build_demo
from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.search import search_orders
from postsales.core.services.users import get_user

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_a_month_of_orders_and_events_after_them(sqlite_app: Postsales) -> None:
    sqlite_app.clock = lambda: NOW
    report = build_demo(sqlite_app, 300)
    assert report.orders == 300
    assert sqlite_app.now() == NOW  # the clock is given back
    with sqlite_app.uow(read_only=True) as uow:
        c = uow.conn
        created = {
            r.seq: r.created_at.replace(tzinfo=UTC)
            for r in c.execute(select(T.orders.c.seq, T.orders.c.created_at))
        }
        events = list(c.execute(select(T.history.c.order_seq, T.history.c.kind, T.history.c.at)))
        placed = list(c.execute(select(T.orders.c.origin_date, T.orders.c.created_at)))
    # Stored after the customer placed it, as a store's import is (never a minute before).
    assert all(
        p.created_at.replace(tzinfo=UTC) >= p.origin_date.replace(tzinfo=UTC) for p in placed
    )
    days = {at.date() for at in created.values()}
    assert len(days) >= DAYS - 3
    assert min(created.values()) >= NOW - timedelta(days=DAYS)
    assert max(created.values()) <= NOW
    after = [e for e in events if e.kind != "order.created"]
    assert after and all(e.at.replace(tzinfo=UTC) >= created[e.order_seq] for e in after)
    assert all(e.at.replace(tzinfo=UTC) <= NOW for e in events)
    returns = {e.at.date() for e in events if e.kind.startswith("return")}
    assert len(returns) >= 10  # the dashboard has bars across the month, not one
    assert len({e.at.date() for e in after}) >= DAYS - 5  # not all at build time


def test_the_first_page_shows_ordinary_orders(sqlite_app: Postsales) -> None:
    build_demo(sqlite_app, 300)
    page = search_orders(sqlite_app, get_user(sqlite_app, None), per_page=20)
    ordinary = [r for r in page.orders if "-" not in r["id"]]
    assert len(ordinary) >= 17, [r["id"] for r in page.orders]


def test_demo_users_work_in_several_time_zones(sqlite_app: Postsales) -> None:
    build_demo(sqlite_app, 5)
    zones = {get_user(sqlite_app, name).timezone for name in ("agent", "supervisor", "admin")}
    assert len(zones) == 3


def test_the_cli_counts_orders_not_messages(tmp_path: Path) -> None:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init"]).exit_code == 0
    done = runner.invoke(cli, ["--db", db, "demo", "--orders", "40"])
    assert done.exit_code == 0, done.output
    assert f"40 orders imported over {DAYS} days" in done.output
