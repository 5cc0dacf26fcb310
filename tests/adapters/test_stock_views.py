"""Stock as agents see it (issue 16 item 1): on hand, reserved and available per source on the
order page, in `orders show`, in `postsales stock SKU…` and in the API's order document; and
`postsales stock-assign` for shipments left waiting beside stock."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import Forbidden
from postsales.core.persistence import tables as T
from postsales.core.services import inventory
from postsales.core.services.actions import run_action
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_api import make_api
from tests.adapters.test_cli import run
from tests.adapters.test_web import PASSWORD, make_web, sign_in
from tests.integration.stock_orders import SKU, feed, order_message, stock_message

A, B = "000000201", "000000202"


@pytest.fixture
def released(sqlite_app: Postsales) -> Postsales:
    """One unit of SKU at SOU1 and two released orders for it: A holds it, B waits."""
    feed(sqlite_app, stock_message("SOU1", SKU, 1), order_message(A), order_message(B))
    for order_id in (A, B):
        run_action(sqlite_app, order_id, "release", {}, get_user(sqlite_app, None))
    return sqlite_app


def test_the_order_page_shows_stock_per_source(released: Postsales) -> None:
    add_user(released, "anna", ["agent"], PASSWORD)
    client = make_web(released).test_client()
    sign_in(client)
    html = client.get(f"/orders/{B}").text
    table = html[html.index('<h3 id="stock">Stock</h3>') :]
    table = table[: table.index("</table>")]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", table)]
    assert cells == [SKU, "SOU1", "1", "1", "0", SKU, "SOU2", "0", "0", "0"]
    assert "On hand" in table and "Reserved" in table and "Available" in table
    assert "stock reserved at SOU1" in client.get(f"/orders/{A}").text
    assert "stock reserved at" not in html  # B's line holds nothing


def test_the_api_order_document_carries_stock(released: Postsales) -> None:
    api = make_api(released)
    doc = api.client.get(f"/api/v1/orders/{A}", headers=api.auth()).get_json()
    assert doc["stock"][0] == {"sku": SKU, "source_id": "SOU1", "on_hand": 1, "reserved": 1,
                               "available": 0}  # fmt: skip
    assert doc["lines"][0]["reserved_source_id"] == "SOU1"


def test_cli_stock_and_orders_show(released: Postsales, tmp_path: Path) -> None:
    db = str(released.engine.url)
    out = run("--db", db, "stock", SKU)
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.output.splitlines()[2:]]
    assert rows == [[SKU, "SOU1", "1", "1", "0"], [SKU, "SOU2", "0", "0", "0"],
                    [SKU, "SOU3", "0", "0", "0"]]  # fmt: skip
    as_json = json.loads(run("--db", db, "stock", SKU, "--json").output)
    assert as_json[0] == {"sku": SKU, "source_id": "SOU1", "on_hand": 1, "reserved": 1,
                          "available": 0}  # fmt: skip
    shown = run("--db", db, "orders", "show", B).output
    section = shown[shown.index("Stock (available = on hand - reserved):") :]
    assert [SKU, "SOU1", "1", "1", "0"] in [line.split() for line in section.splitlines()]

    unknown = run("--db", db, "stock", "NOPE-1")
    assert unknown.exit_code == 4 and "NOPE-1 is neither in the catalog nor in stock" in (
        unknown.output
    )
    too_long = run("--db", db, "stock", "X" * 65)
    assert too_long.exit_code == 2 and "sku: expected a SKU of 1 to 64 characters" in (
        too_long.output
    )


def test_stock_assign_picks_up_what_a_crash_left_waiting(released: Postsales) -> None:
    """Stock written without its follow-up (a crash between the two): B waits beside a unit
    until `stock-assign`; an agent without shipment.manage may not run it."""
    engine = create_engine(str(released.engine.url))
    with engine.begin() as conn:
        conn.execute(T.stock.update().values(quantity=2))
    engine.dispose()
    db = str(released.engine.url)
    add_user(released, "anna", ["agent"], PASSWORD)
    assert run("--db", db, "--user", "anna", "stock-assign").exit_code == 5
    out = run("--db", db, "stock-assign")
    assert out.exit_code == 0 and out.output.strip() == f"1 shipment(s) assigned ST1-{B}-01"
    assert json.loads(run("--db", db, "stock-assign", "--json").output) == {"assigned": []}
    doc = json.loads(run("--db", db, "orders", "show", B, "--json").output)
    assert [s["status"] for s in doc["shipments"]] == ["INVENTORY_ASSIGNED"]


def test_a_user_of_some_stores_sees_the_sources_they_ship_from(released: Postsales) -> None:
    berlin = User("berta", ("agent",), frozenset({"orders.view"}), frozenset({"ST2"}))
    rows = inventory.show_stock(released, [SKU], berlin)
    assert [(r["source_id"], r["available"]) for r in rows] == [("SOU3", 0), ("SOU1", 0)]
    with pytest.raises(Forbidden):
        inventory.show_stock(released, [SKU], User("nobody", (), frozenset(), None))
