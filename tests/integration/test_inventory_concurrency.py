"""Releases of the last units at once, in separate processes released at one barrier, on
SQLite and PostgreSQL (issue 16 item 1): as many shipments are assigned as there are units,
the others wait, and the stock row's `reserved` says exactly that. Stock arriving in the middle
of the releases never leaves a shipment waiting beside available stock. The same harness
against a naive read-check-write reservation must find the over-reservation.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import PostsalesError
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.users import get_user
from tests.conftest import _db_for
from tests.integration.concurrency import race
from tests.integration.stock_orders import SKU, feed, order_message, stock_message

ROUNDS = int(
    os.environ.get("POSTSALES_STOCK_ROUNDS", "10" if os.environ.get("CI") == "true" else "3")
)


def order_id(worker: int) -> str:
    return f"{300000000 + worker:09d}"


def fresh(
    request: pytest.FixtureRequest, tmp_path: Path, round_: int, orders: int, units: int
) -> str:
    """A new database with `units` of SKU at SOU1 and `orders` paid orders for one each."""
    (tmp_path / f"r{round_}").mkdir()
    url = _db_for(request, tmp_path / f"r{round_}", request.node.callspec.params["app"])
    app = bootstrap(None, url)
    feed(
        app, stock_message("SOU1", SKU, units), *(order_message(order_id(i)) for i in range(orders))
    )
    app.engine.dispose()
    return url


def releaser(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Release this worker's order; 1 if its shipment got the stock."""
    app = bootstrap(None, url)
    user = get_user(app, None)
    barrier.wait()
    try:
        out = run_action(app, order_id(worker), "release", {}, user)
        results.put(int(out.order["shipments"][0]["status"] == "INVENTORY_ASSIGNED"))
    except PostsalesError:
        results.put(0)
    app.engine.dispose()


def releaser_or_delivery(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Worker 0 reports two more units on hand while the others release."""
    if worker != 0:
        releaser(url, worker, barrier, results)
        return
    app = bootstrap(None, url)
    barrier.wait()
    report = import_lines(app, [stock_message("SOU1", SKU, 3, "delivery")])
    results.put(0 if not report.refused else -100)
    app.engine.dispose()


def naive_releaser(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Read what is available, then write the reservation: the bug the harness must catch."""
    engine = make_engine(url)
    s = T.stock.c
    where = (s.source_id == "SOU1") & (s.sku == SKU)
    reader = engine.connect().execution_options(postsales_read_only=True)  # connected already
    barrier.wait()
    row = reader.execute(select(s.quantity, s.reserved).where(where)).one()
    reader.rollback()
    reader.close()
    got = 0
    if row.quantity - row.reserved >= 1:
        time.sleep(0.2)  # the gap every read-check-write has, made wide enough to see
        with engine.begin() as conn:
            conn.execute(T.stock.update().where(where).values(reserved=row.reserved + 1))
        got = 1
    results.put(got)
    engine.dispose()


def verdict(url: str) -> tuple[int, int, int, int]:
    """(on hand, reserved, assigned shipments, lines holding stock) as stored."""
    engine = make_engine(url)
    s, sh, ln = T.stock.c, T.shipments.c, T.order_lines.c
    with engine.connect() as conn:
        on_hand, reserved = conn.execute(
            select(s.quantity, s.reserved).where(s.source_id == "SOU1", s.sku == SKU)
        ).one()
        assigned = conn.execute(
            select(func.count()).where(sh.status == "INVENTORY_ASSIGNED")
        ).scalar_one()
        holding = conn.execute(
            select(func.count()).where(ln.reserved_source_id == "SOU1", ln.sku == SKU)
        ).scalar_one()
    engine.dispose()
    return on_hand, reserved, assigned, holding


@pytest.mark.slow
@pytest.mark.parametrize(("orders", "units"), [(2, 1), (8, 3)])
def test_releases_at_once_get_exactly_the_units_there_are(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path, orders: int, units: int
) -> None:
    app.engine.dispose()
    for round_ in range(ROUNDS):
        url = fresh(request, tmp_path, round_, orders, units)
        got = race(url, releaser, processes=orders)
        assert got == units, f"round {round_}: {got} releases got one of {units} units"
        assert verdict(url) == (units, units, units, units)


@pytest.mark.slow
def test_stock_arriving_during_releases_leaves_nothing_waiting_beside_it(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """1 unit, 5 releases and a delivery that makes it 3: 3 shipments are assigned, whoever
    ran first (a release that lost the race is assigned by the delivery, or saw it)."""
    app.engine.dispose()
    for round_ in range(ROUNDS):
        url = fresh(request, tmp_path, round_, 6, 1)  # order 0 belongs to the delivery worker
        race(url, releaser_or_delivery, processes=6)
        on_hand, reserved, assigned, holding = verdict(url)
        assert (on_hand, reserved, assigned, holding) == (3, 3, 3, 3), f"round {round_}"


@pytest.mark.slow
def test_the_harness_catches_a_naive_read_check_write(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    app.engine.dispose()
    over = 0
    for round_ in range(2):
        url = fresh(request, tmp_path, round_, 8, 1)
        got = race(url, naive_releaser, processes=8)
        over += got > 1
    assert over == 2, "the harness failed to see the naive variant reserve one unit twice"
