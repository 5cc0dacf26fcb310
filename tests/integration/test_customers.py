"""The customer service behind `/customers/<id>` (issue 13 item 5) on SQLite and PostgreSQL:
a customer's orders in the user's stores, guests gathered by email, open returns and refunds,
and "not found" for a customer seen only through another store."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal

import attrs
import pytest

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import BadInput, Forbidden, NotFound
from postsales.core.services.actions import run_action
from postsales.core.services.customers import find_customers, show_customer
from postsales.core.services.drafts import find_products
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.search import search_orders
from postsales.core.services.users import add_user, get_user
from tests.adapters.forms_data import _product, _stock
from tests.conftest import example, import_examples

ORDER = "000000101"


def _order(order_id: str, channel: str = "ST1", bought: str = "", **customer: str) -> str:
    data = example("order-create.json")
    data["id"] = f"msg-{order_id}"
    order = data["payload"]["order"]
    order.update(id=order_id, client_order_reference=f"REF-{order_id}", sales_channel_id=channel)
    if bought:
        order["origin_date"] = bought
    if channel == "ST2":
        order.update(currency="EUR", vat_country="DE", language="de_DE")
    order["customer"].update(customer)
    return json.dumps(data)


@pytest.fixture
def world(app: Postsales) -> Postsales:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    lines = [
        # Veronica again, bought after 101 (2026-11-02), and before it in the other store.
        _order("000000102", bought="2026-11-05T10:00:00+00:00", id="C-1001"),
        _order("000000201", "ST2", bought="2026-10-30T10:00:00+00:00", id="C-1001"),
        _order("000000202", "ST2", id="C-2002", first_name="Dieter", email="d@example.de"),
        _order("000000301", id="G-1", type="guest", email="gil@example.com"),
        _order("000000302", "ST2", id="G-2", type="guest", email="Gil@Example.com"),
        _order("000000303", id="G-3", type="guest", email="GIL@example.com"),
        _order("000000304", id="R-4", type="registered", email="gil@example.com"),
    ]
    report = import_lines(app, lines)
    assert not report.refused, report.refused
    add_user(app, "root", ["supervisor"], None)
    return app


def _st2_user(app: Postsales) -> User:
    """The supervisor "root", limited to store ST2."""
    return attrs.evolve(get_user(app, "root"), channels=frozenset({"ST2"}))


def test_a_customer_with_every_order_of_the_users_stores(world: Postsales) -> None:
    root = get_user(world, "root")
    run_action(world, ORDER, "return", {"lines": [2], "reason": "Too small", "comment": "x"}, root)
    customer = show_customer(world, root, "C-1001")
    assert (customer.first_name, customer.last_name) == ("Veronica", "Costello")
    assert customer.email == "veronica.costello@example.com" and customer.phone
    # Newest purchase first, whatever the store.
    assert [o.id for o in customer.orders] == ["000000102", ORDER, "000000201"]
    assert customer.total == 3 and not customer.grouped_by_email
    first = next(o for o in customer.orders if o.id == ORDER)
    assert first.grand_total == "118.80" and first.currency == "USD" and first.status
    assert [r for r, _ in first.open_refunds] == ["RF-000000101-1"]
    assert customer.addresses and "6146 Honey Bluff Parkway" in {
        a.address["address1"] for a in customer.addresses
    }
    assert {"shipping", "billing"} <= set(customer.addresses[0].kinds)


def test_guests_are_gathered_by_email_registered_customers_are_not(world: Postsales) -> None:
    root = get_user(world, "root")
    guest = show_customer(world, root, "G-1")
    assert guest.grouped_by_email
    assert {o.id for o in guest.orders} == {"000000301", "000000302", "000000303"}
    assert guest.customer_ids == ["G-1", "G-2", "G-3"]
    registered = show_customer(world, root, "R-4")
    assert [o.id for o in registered.orders] == ["000000304"]


def test_another_stores_customer_is_not_found(world: Postsales) -> None:
    st2 = _st2_user(world)
    seen = show_customer(world, st2, "C-1001")  # also bought in ST2: only that order shows
    assert [o.id for o in seen.orders] == ["000000201"] and seen.total == 1
    # G-2 bought in ST2: the guest's ST1 orders (G-1, G-3, same email) stay hidden.
    assert [o.id for o in show_customer(world, st2, "G-2").orders] == ["000000302"]
    for hidden in ("G-1", "G-3", "R-4", "nobody"):  # ST1 only, or unknown: told alike
        with pytest.raises(NotFound) as refused:
            show_customer(world, st2, hidden)
        assert refused.value.message == f"customer {hidden} not found"


def test_viewing_customers_needs_orders_view(world: Postsales) -> None:
    nobody = attrs.evolve(get_user(world, "root"), permissions=frozenset())
    with pytest.raises(Forbidden):
        show_customer(world, nobody, "C-1001")


def test_the_search_service_has_both_date_filters(world: Postsales) -> None:
    root = get_user(world, "root")
    day = {"purchased_from": "2026-11-02", "purchased_to": "2026-11-02"}
    assert search_orders(world, root, day).total == 6  # 101 and the four without a date
    assert search_orders(world, root, {"purchased_to": "2026-11-01"}).single == "000000201"
    today = world.now().astimezone(UTC).date().isoformat()
    assert search_orders(world, root, {"from_date": today, "to_date": today}).total == 8
    assert search_orders(world, root, {"purchased_from": "2026-11-03"}).total == 1  # 102


def test_a_long_history_shows_the_newest_with_the_count(
    world: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postsales.core.services import customers

    monkeypatch.setattr(customers, "MAX_ORDERS", 2)
    shown = show_customer(world, get_user(world, "root"), "C-1001")
    assert [o.id for o in shown.orders] == ["000000102", ORDER] and shown.total == 3


def test_an_edit_saves_its_address_to_the_customer_s_address_book(world: Postsales) -> None:
    """004's "save to the customer's address book" (issue 13 item 6): the address lands on the
    customer page, a preview saves nothing, and the same address is kept once."""
    root = get_user(world, "root")
    params = {"shipping_address": {"address1": "9 Book Lane"}, "save_to_address_book": True}

    def book() -> list[dict[str, str]]:
        return [
            a.address for a in show_customer(world, root, "C-1001").addresses
            if "address book" in a.kinds
        ]  # fmt: skip

    run_action(world, "000000102", "edit", params, root, dry_run=True)
    assert book() == []
    done = run_action(world, "000000102", "edit", params, root)
    assert done.order["history"][-1]["summary"].endswith("saved to the customer's address book")
    (saved,) = book()
    assert saved["address1"] == "9 Book Lane" and saved["first_name"] == "Veronica"
    again = run_action(world, "000000102", "edit", params, root)
    assert "in the customer's address book already" in again.order["history"][-1]["summary"]
    assert len(book()) == 1


# -- the new order's finders (issue 13 item 6, A-12) -------------------------------------------


def test_a_customer_is_found_by_part_of_a_name_or_the_start_of_an_e_mail(world: Postsales) -> None:
    root = get_user(world, "root")
    # Every customer is a Costello here: each once, the newest order's first.
    found = find_customers(world, root, "costel")
    assert [c.id for c in found] == ["R-4", "G-3", "G-2", "G-1", "C-2002", "C-1001"]
    veronica = found[-1]
    assert veronica.email == "veronica.costello@example.com"
    # Her newest order here is 000000201 (ST2, stored last); in ST1 it is 000000102.
    assert veronica.address["city"] == "Calder" and veronica.last_order_id == "000000201"
    assert [c.id for c in find_customers(world, root, "GIL@")] == ["R-4", "G-3", "G-2", "G-1"]
    assert [c.id for c in find_customers(world, root, "d@exam")] == ["C-2002"]
    assert [c.id for c in find_customers(world, root, "d@example.de")] == ["C-2002"]
    assert find_customers(world, root, "nobody_here%") == []
    in_st1 = find_customers(world, root, "costel", sales_channel="ST1")
    assert [c.id for c in in_st1] == ["R-4", "G-3", "G-1", "C-1001"]
    assert in_st1[-1].last_order_id == "000000102"
    with pytest.raises(BadInput) as short:
        find_customers(world, root, " co ")
    assert short.value.field == "customer_q" and "at least 3 characters" in short.value.message


def test_the_customer_finder_keeps_to_the_user_s_stores(world: Postsales) -> None:
    st2 = _st2_user(world)
    found = find_customers(world, st2, "costel")
    assert [c.id for c in found] == ["G-2", "C-2002", "C-1001"]
    assert {c.sales_channel for c in found} == {"ST2"}
    assert find_customers(world, st2, "gil@example.com")[0].last_order_id == "000000302"
    assert find_customers(world, st2, "costel", sales_channel="ST1") == []


def test_products_are_found_with_the_store_s_price_and_stock(world: Postsales) -> None:
    report = import_lines(world, [_product("MJ01-L-RED", "Beaumont Summit Kit, L, Red"),
                                  _product("MJ01-S-RED", "Beaumont 50%_off Kit"),
                                  _stock("MJ01-L-RED", 4)])  # fmt: skip
    assert not report.refused, report.refused
    root = get_user(world, "root")
    found = {p.sku: p for p in find_products(world, root, "ST1", "summit")}
    assert set(found) == {"MJ01-L-RED"}
    assert (found["MJ01-L-RED"].price, found["MJ01-L-RED"].available) == (Decimal("45.00"), 4)
    # % and _ are the characters they are, not wildcards.
    assert [p.sku for p in find_products(world, root, "ST1", "50%_o")] == ["MJ01-S-RED"]
    assert find_products(world, root, "ST1", "0%_x") == []
    # ST2 has no price for them; it ships from SOU1 too.
    st2 = {p.sku: p for p in find_products(world, root, "ST2", "kit")}
    assert st2["MJ01-L-RED"].price is None and st2["MJ01-L-RED"].by_source == {"SOU1": 4}
    with pytest.raises(BadInput) as elsewhere:
        find_products(world, _st2_user(world), "ST1", "summit")
    assert elsewhere.value.field == "sales_channel"
    with pytest.raises(BadInput) as short:
        find_products(world, root, "ST1", "ki")
    assert short.value.field == "product_q"
