"""Working on orders (A-8…A-16): comment, hold, lock, reorder, drafts and fulfilment, through
the services every door uses (`run_action`, `list_actions`, `create_order`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import BadInput, Forbidden, Refused
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.drafts import create_order
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.conftest import import_examples

ORDER = "000000101"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(app: Postsales) -> list[datetime]:
    """A settable clock: tests move `clock[0]` to make locks expire or promotions lapse."""
    now = [NOW]
    app.clock = lambda: now[0]
    return now


@pytest.fixture
def placed(app: Postsales, clock: list[datetime]) -> str:
    import_examples(app, "order-create.json")
    return ORDER


@contextmanager
def raises(kind: type[Exception], prefix: str) -> Iterator[None]:
    """The error of `kind` whose message starts with `prefix` (messages are the contract)."""
    with pytest.raises(kind) as info:
        yield
    assert str(info.value).startswith(prefix), str(info.value)


def _system(app: Postsales) -> Any:
    return get_user(app, None)


def _act(app: Postsales, order_id: str, name: str, user: Any = None, **params: Any) -> Any:
    return run_action(app, order_id, name, params, user or _system(app))


def _reason(app: Postsales, order_id: str, name: str, user: Any = None) -> str | None:
    actions = {a.name: a for a in list_actions(app, order_id, user or _system(app))}
    return actions[name].reason


def _catalog(app: Postsales, sku: str, price: str, stock: dict[str, int]) -> None:
    at = NOW.isoformat()
    lines = [
        json.dumps(
            {
                "id": f"p-{sku}",
                "type": "catalog.product.upsert",
                "created_at": at,
                "payload": {
                    "sku": sku,
                    "parent_sku": sku.split("-")[0],
                    "name": f"Item {sku}",
                    "image_url": "",
                    "prices": {"ST1": price},
                },
            }
        )
    ]
    lines += [
        json.dumps(
            {
                "id": f"s-{src}-{sku}",
                "type": "inventory.source_item.update",
                "created_at": at,
                "payload": {"source_id": src, "sku": sku, "quantity": qty},
            }
        )
        for src, qty in stock.items()
    ]
    report = import_lines(app, lines)
    assert not report.refused, [r.reason for r in report.refused]


def _outbox_types(outcome: Any) -> list[str]:
    return [m["type"] for m in outcome.messages]


# -- A-8 comment ------------------------------------------------------------------------------


def test_comment_appears_in_comments_and_history(app: Postsales, placed: str) -> None:
    out = _act(app, placed, "comment", text="Customer called about the tracking link")
    doc = show_order(app, placed, _system(app))
    assert doc["comments"][-1]["text"] == "Customer called about the tracking link"
    assert doc["comments"][-1]["author"] == "system"
    assert doc["history"][-1]["kind"] == "comment"
    assert out.order["comments"] == doc["comments"]
    with raises(BadInput, "text: the comment must not be blank"):
        _act(app, placed, "comment", text="   ")
    with raises(BadInput, "text: at most 4000"):
        _act(app, placed, "comment", text="x" * 4001)


# -- A-9 hold -------------------------------------------------------------------------------


def test_hold_and_release_hold_round_trip(app: Postsales, placed: str) -> None:
    out = _act(app, placed, "hold", reason="Verify the address")
    assert out.order["status"] == "ONHOLD"
    assert "sales.order_management.updated" in _outbox_types(out)
    assert "Verify the address" in out.order["history"][-1]["summary"]
    assert _reason(app, placed, "release") == "a held order cannot be released to shipping"
    with raises(Refused, "a held order cannot be released to shipping"):
        _act(app, placed, "release")
    assert _reason(app, placed, "hold") == "order is ONHOLD; hold is allowed in NEW, RECEIVED"
    out = _act(app, placed, "release_hold")
    assert out.order["status"] == "NEW"  # back to where it was held from
    assert _reason(app, placed, "release_hold") == (
        "order is NEW; release_hold is allowed in ONHOLD"
    )


# -- A-10 lock, unlock, takeover ----------------------------------------------------------------


def test_lock_blocks_others_until_taken_over(
    app: Postsales, placed: str, clock: list[datetime]
) -> None:
    for name, role in (("anna", "agent"), ("ben", "agent"), ("sue", "supervisor")):
        add_user(app, name, [role], "password123")
    anna, ben, sue = (get_user(app, n) for n in ("anna", "ben", "sue"))
    out = _act(app, placed, "lock", anna)
    assert out.order["lock"]["holder"] == "anna"
    assert _reason(app, placed, "lock", anna).startswith("order is locked by you already")
    with raises(Refused, "order is locked by anna until "):
        _act(app, placed, "comment", ben, text="Can I help?")
    _act(app, placed, "comment", anna, text="Working on it")  # the holder may act
    assert _reason(app, placed, "unlock", ben).startswith("order is locked by anna; only anna")
    with raises(Forbidden, "you lack the permission order.takeover"):
        _act(app, placed, "takeover", ben)
    out = _act(app, placed, "takeover", sue)
    assert out.order["lock"]["holder"] == "sue"
    assert out.order["history"][-1]["summary"] == "sue took over the order from anna"
    out = _act(app, placed, "unlock", sue)
    assert out.order["lock"] is None
    assert _reason(app, placed, "unlock", sue) == "order is not locked"
    # A lock lapses on its own after the channel's lock_minutes (30 by default).
    _act(app, placed, "lock", anna)
    clock[0] = NOW + timedelta(minutes=31)
    _act(app, placed, "comment", ben, text="Lock expired, taking this one")


# -- A-11 reorder -------------------------------------------------------------------------------


def test_reorder_makes_a_draft_with_the_same_lines(app: Postsales, placed: str) -> None:
    _catalog(app, "MJ01-M-RED", "60.00", {"SOU1": 3})
    out = _act(app, placed, "reorder")
    (draft_id,) = out.result["orders"]
    assert draft_id == f"{placed}-RO1"
    draft = show_order(app, draft_id, _system(app))
    original = show_order(app, placed, _system(app))
    assert draft["status"] == "DRAFT"
    assert draft["customer"] == original["customer"]
    assert draft["shipping_address"] == original["shipping_address"]
    assert draft["shipping_method"] == original["shipping_method"]
    assert [ln["sku"] for ln in draft["lines"]] == [ln["sku"] for ln in original["lines"]]
    assert draft["payments"] == [] and draft["totals"]["captured"] == "0.00"
    # Today's channel price, with the still-valid AUTUMN10 discount: 60 - 5, plus 8 % tax.
    assert draft["lines"][0]["gross_amount"] == "59.40"
    # WT09-S-BLK is not in the catalog: kept, but flagged.
    assert out.result["flagged"] == [{"line": 2, "sku": "WT09-S-BLK", "reason": "no longer sold"}]
    assert "WT09-S-BLK: no longer sold" in draft["history"][0]["summary"]


def test_reorder_adds_to_the_customers_open_cart(app: Postsales, placed: str) -> None:
    """Issue 16 item 6 (seed 003): the customer's open draft in the channel is their cart; a
    reorder fills it instead of starting a second one."""
    _catalog(app, "MJ01-M-RED", "60.00", {"SOU1": 3})
    (cart,) = _act(app, placed, "reorder").result["orders"]
    before = show_order(app, cart, _system(app))
    again = _act(app, placed, "reorder")
    assert again.result["orders"] == [cart] and again.result["into_cart"] is True
    assert again.result["flagged"] == [{"line": 7, "sku": "WT09-S-BLK", "reason": "no longer sold"}]
    after = show_order(app, cart, _system(app))
    assert len(after["lines"]) == 2 * len(before["lines"])
    assert [ln["line_number"] for ln in after["lines"]] == list(range(1, 11))
    # The gift wrap of line 1 (line 3) belongs to the copy of line 1 (line 6) in the cart.
    parents = {ln["line_number"]: ln["parent_line_number"] for ln in after["lines"]}
    assert parents[3] == 1 and parents[8] == 6
    assert after["totals"]["grand_total"] != before["totals"]["grand_total"]
    assert after["history"][-1]["kind"] == "order.edited"
    assert f"added the lines of {placed}" in after["history"][-1]["summary"]
    assert show_order(app, placed, _system(app))["history"][-1]["summary"] == (
        f"Reordered into the customer's cart {cart}"
    )
    with app.uow(read_only=True) as uow:
        assert uow.customer_draft_id("C-1001", "ST1") == cart


def test_reorder_refuses_a_cart_another_agent_holds(app: Postsales, placed: str) -> None:
    (cart,) = _act(app, placed, "reorder").result["orders"]
    add_user(app, "sam", ["supervisor"], None)
    _act(app, cart, "lock", get_user(app, "sam"))
    before = show_order(app, cart, _system(app))
    with raises(Refused, f"the customer's cart {cart} is locked by sam until"):
        _act(app, placed, "reorder")  # as the system user, who does not hold the lock
    assert show_order(app, cart, _system(app)) == before


def test_reorder_drops_expired_promotions(app: Postsales, placed: str, clock: list) -> None:
    clock[0] = datetime(2027, 1, 5, tzinfo=UTC)  # AUTUMN10 ended on 2026-12-31
    (draft_id,) = _act(app, placed, "reorder").result["orders"]
    line = show_order(app, draft_id, _system(app))["lines"][0]
    assert (line["discount"], line["gross_amount"]) == ("0.00", "54.00")


# -- A-12…A-16 a phone order from draft to shipped --------------------------------------------


def _phone_order(app: Postsales, user: Any, **changes: Any) -> dict[str, Any]:
    params = {
        "sales_channel": "ST1",
        "customer": {"first_name": "Mercy", "last_name": "Taylor", "email": "mercy@example.com"},
        "shipping_address": {
            "first_name": "Mercy",
            "last_name": "Taylor",
            "address1": "1 Main St",
            "city": "Austin",
            "zip": "73301",
            "country_code": "US",
        },
        "shipping_method": "express",
        "lines": [{"sku": "MJ01-M-RED", "quantity": 2}],
    }
    return create_order(app, {**params, **changes}, user)


def test_create_pay_release_pick_ship(app: Postsales, clock: list[datetime]) -> None:
    _catalog(app, "MJ01-M-RED", "50.00", {"SOU1": 1, "SOU2": 5})
    add_user(app, "sue", ["supervisor"], "password123")
    sue = get_user(app, "sue")
    doc = _phone_order(app, sue)
    order_id = doc["id"]
    assert order_id == "P000000001"
    # Two lines at 50.00, taxed at ST1's 8 % as its imported orders are (A-12).
    assert (doc["status"], doc["totals"]["grand_total"]) == ("DRAFT", "108.00")
    assert [(ln["tax_amount"], ln["gross_amount"]) for ln in doc["lines"]] == [
        ("4.00", "54.00")
    ] * 2
    assert [ln["line_number"] for ln in doc["lines"]] == [1, 2]
    assert doc["history"][0]["summary"] == "Created by sue for Mercy Taylor (mercy@example.com)"
    assert _phone_order(app, sue)["id"] == "P000000002"
    assert (
        _reason(app, order_id, "release", sue)
        == "order is DRAFT; release is allowed in NEW, RECEIVED"
    )

    with raises(BadInput, "method: 'bitcoin' is not a payment method of ST1"):
        _act(app, order_id, "add_payment", sue, method="bitcoin", amount="10")
    # The declared maximum (issue 13 item 1) refuses it before the action runs, naming the field.
    with raises(BadInput, "amount: 120.00 USD is more than 108.00 USD due"):
        _act(app, order_id, "add_payment", sue, method="card", amount="120")
    out = _act(app, order_id, "add_payment", sue, method="card", amount="40.00")
    assert out.order["status"] == "DRAFT" and out.order["totals"]["total_due"] == "68.00"
    out = _act(app, order_id, "add_payment", sue, method="cash", amount="68.00")
    assert out.order["status"] == "NEW"
    assert "sales.order_management.updated" in _outbox_types(out)

    out = _act(app, order_id, "release", sue)
    assert out.order["status"] == "LOGISTICS"
    # SOU1 has one unit, SOU2 five: the first source with stock wins for each unit.
    ships = {s["source_id"]: s for s in out.order["shipments"]}
    assert ships["SOU1"]["lines"] == [1] and ships["SOU2"]["lines"] == [2]
    assert {s["status"] for s in ships.values()} == {"INVENTORY_ASSIGNED"}
    assert [ln["status_reason"] for ln in out.order["lines"]] == ["ITEM_PENDING_PICKING"] * 2
    requests = [
        m for m in out.messages if m["type"].endswith("shipment_request_management.requested")
    ]
    assert len(requests) == 2
    request = requests[0]["payload"]["shipment_request"]
    assert request["order_id"] == order_id and request["status"] == "NEW"
    assert request["items"][0]["sku"] == "MJ01-M-RED"
    assert request["shipping_address"]["city"] == "Austin"
    assert out.result["shipments"] == [s["id"] for s in out.order["shipments"]]

    first = ships["SOU1"]["id"]
    with raises(BadInput, "shipment_id: order P000000001 has no shipment 'nope'"):
        _act(app, order_id, "pick", sue, shipment_id="nope")
    out = _act(app, order_id, "pick", sue, shipment_id=first)
    assert out.order["shipments"][0]["status"] == "PACKING"
    assert out.order["lines"][0]["status"] == "PICKING"
    out = _act(
        app,
        order_id,
        "ship",
        sue,
        shipment_id=first,
        carrier="UPS",
        tracking_number="1Z999",
        tracking_link="https://t.example.com/1Z999",
    )
    assert out.order["status"] == "PARTIALLY_SHIPPED"
    assert "notification.email" in _outbox_types(out)
    out = _act(
        app,
        order_id,
        "ship",
        sue,
        shipment_id=ships["SOU2"]["id"],
        carrier="DHL",
        tracking_number="JD0001",
    )
    assert out.order["status"] == "SHIPPED"
    assert [ln["status"] for ln in out.order["lines"]] == ["SHIPPED", "SHIPPED"]
    assert out.order["shipments"][1]["tracking_number"] == "JD0001"


def test_release_waits_for_inventory_and_needs_payment(app: Postsales, clock: list) -> None:
    _catalog(app, "MJ01-M-RED", "50.00", {"SOU1": 0})
    doc = _phone_order(
        app, _system(app), lines=[{"sku": "MJ01-M-RED", "quantity": 1, "price": "20.00"}]
    )
    with raises(Refused, "order is DRAFT; release is allowed in NEW, RECEIVED"):
        _act(app, doc["id"], "release")
    assert (
        _act(app, doc["id"], "add_payment", method="card", amount="21.60").order["status"] == "NEW"
    )
    # A placed order can still be edited before release; what it adds must be paid first.
    _act(app, doc["id"], "edit", lines=[{"sku": "MJ01-M-RED", "quantity": 1, "price": "5.00"}])
    with raises(Refused, "order is not fully paid: 5.40 USD due"):  # 5.00 and its 8 % tax
        _act(app, doc["id"], "release")
    _act(app, doc["id"], "add_payment", method="card", amount="5.40")
    out = _act(app, doc["id"], "release")
    assert [(s["source_id"], s["status"]) for s in out.order["shipments"]] == [
        ("SOU1", "AWAITING_INVENTORY")
    ]  # no stock anywhere: the channel's first source, waiting
    with raises(Refused, "no shipment is ready to pick (it must be INVENTORY_"):
        _act(app, doc["id"], "pick", shipment_id=out.order["shipments"][0]["id"])


def test_create_order_validates_its_input(app: Postsales, placed: str) -> None:
    _catalog(app, "MJ01-M-RED", "50.00", {"SOU1": 5})
    user = _system(app)
    with raises(BadInput, "lines[1].sku: unknown SKU 'NOPE'"):
        _phone_order(app, user, lines=[{"sku": "MJ01-M-RED", "quantity": 1}, {"sku": "NOPE"}])
    with raises(BadInput, "sales_channel: unknown sales channel 'XX'"):
        _phone_order(app, user, sales_channel="XX")
    with raises(BadInput, "shipping_method: 'teleport' is not offered in ST1"):
        _phone_order(app, user, shipping_method="teleport")
    with raises(BadInput, "customer: no customer with id 'C-0'"):
        _phone_order(app, user, customer="C-0")
    add_user(app, "viewer", ["agent"], "password123")
    doc = _phone_order(app, get_user(app, "viewer"), customer="C-1001")  # the example's customer
    assert doc["customer"]["last_name"] == "Costello"


def test_create_order_needs_the_permission(app: Postsales) -> None:
    clerk = User("clerk", ("viewer",), frozenset({"orders.view"}), None)
    with raises(Forbidden, "you lack the permission orders.create"):
        _phone_order(app, clerk)


# -- A-14 edit, A-15 delete ---------------------------------------------------------------------


def test_edit_a_draft_recomputes_totals(app: Postsales, clock: list) -> None:
    _catalog(app, "MJ01-M-RED", "50.00", {"SOU1": 5})
    order_id = _phone_order(app, _system(app))["id"]
    out = _act(
        app,
        order_id,
        "edit",
        lines=[{"line": 2, "remove": True}, {"sku": "MJ01-M-RED", "quantity": 1, "price": "30"}],
        discounts=[{"line": 1, "amount": "10.00"}],
        shipping_method="flatrate Fixed",
        shipping_address={"address1": "2 Side St", "city": "Calder"},
        save_to_address_book=True,
    )
    doc = out.order
    # (50 - 10) + 30, each taxed at 8 %; line 2 removed.
    assert doc["totals"]["grand_total"] == "75.60"
    assert doc["lines"][2]["tax_amount"] == "2.40"  # the added line is taxed too
    assert [(ln["line_number"], ln["status"]) for ln in doc["lines"]] == [
        (1, "NEW"),
        (2, "CANCELLED"),
        (3, "NEW"),
    ]
    assert doc["shipping_address"]["city"] == "Calder"
    assert doc["shipping_method"] == "flatrate Fixed"
    assert "address saved to the customer's address book" in doc["history"][-1]["summary"]
    with raises(BadInput, "shipping_method: 'teleport' is not offered"):
        _act(app, order_id, "edit", shipping_method="teleport")
    with raises(Refused, "line 2 is CANCELLED"):
        _act(app, order_id, "edit", discounts=[{"line": 2, "amount": "1"}])
    with raises(BadInput, "lines[0].qty: unknown parameter"):
        _act(app, order_id, "edit", lines=[{"sku": "MJ01-M-RED", "qty": 2}])
    with raises(BadInput, "discounts[0].amount: at most the line's price 50.00"):
        _act(app, order_id, "edit", discounts=[{"line": 1, "amount": "60"}])


def test_an_address_given_in_part_keeps_the_order_s_other_fields(app: Postsales) -> None:
    """A-14 over the API and CLI: `{"city": "Calder"}` changes the city, not the names,
    country and zip (they were wiped); an empty string clears a field. (A reshipment's
    address already did: test_actions_orders.py::test_reshipment_to_a_new_address.)"""
    _catalog(app, "MJ01-M-RED", "50.00", {"SOU1": 5})
    order_id = _phone_order(app, _system(app))["id"]
    before = show_order(app, order_id, _system(app))["shipping_address"]
    doc = _act(app, order_id, "edit", shipping_address={"city": "Calder", "zip": ""}).order
    assert doc["shipping_address"] == {**before, "city": "Calder", "zip": ""}
    assert doc["shipping_address"]["first_name"] == "Mercy"
    assert doc["shipping_address"]["country_code"] == "US"
    with raises(BadInput, "shipping_address.city"):  # still typed: a list is no city
        _act(app, order_id, "edit", shipping_address={"city": ["x"]})


def test_delete_is_only_for_drafts(app: Postsales, placed: str) -> None:
    with raises(Refused, "order is NEW; delete is allowed in DRAFT"):
        _act(app, placed, "delete")
