"""The built-in actions, run in memory with `postsales.core.testing` (issue 14 item 5).

No database: `in_memory_app()` loads the real plugins and configuration, and every unit of work is
an in-memory store, so these check what an agent sees — why an action is not offered, what running
it changes, which messages it leaves — in milliseconds. The same flows against PostgreSQL and
SQLite are in tests/integration.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from postsales.core import BadInput, Order, Refused, Return, Shipment
from postsales.core.testing import (
    NOW,
    InMemoryPostsales,
    Product,
    a_line,
    a_user,
    an_order,
    in_memory_app,
    run,
    unavailable,
)

ID = "000000101"


@pytest.fixture
def app() -> InMemoryPostsales:
    return in_memory_app()


def shipped_order(*lines_prices: str) -> Order:
    prices = lines_prices or ("20.00", "10.00")
    lines = [
        a_line(n, price=p, status="SHIPPED", source_id="SOU1") for n, p in enumerate(prices, 1)
    ]
    shipment = Shipment("SH-1", "SOU1", [ln.line_number for ln in lines], status="SHIPPED")
    return an_order(ID, status="SHIPPED", lines=lines, shipments=[shipment])


def types(app: InMemoryPostsales) -> list[str]:
    return [m["type"] for m in app.store.messages]


# -- cancel (A-1) ---------------------------------------------------------------------------------


def test_cancel_cancels_every_line_and_refunds_what_was_paid(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID, lines=[a_line(1, price="20.00"), a_line(2)]))
    outcome = run(app, ID, "cancel", {"reason": "Customer request"})
    order = app.store.saved(ID)
    assert order.status == "CANCELLED"
    assert [ln.status for ln in order.lines] == ["CANCELLED", "CANCELLED"]
    assert [r.amount for r in order.refunds] == [Decimal("30.00")]
    assert outcome.result["cancelled_lines"] == [1, 2]
    assert "sales.order_management.updated" in types(app)


def test_cancel_is_not_offered_once_shipped(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    assert unavailable(app, ID, "cancel") is not None
    with pytest.raises(Refused):
        run(app, ID, "cancel", {"reason": "too late"})
    assert app.store.saved(ID).status == "SHIPPED"  # nothing kept
    assert app.store.messages == []


def test_a_preview_changes_nothing(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    outcome = run(app, ID, "cancel", {"reason": "Customer request"}, dry_run=True)
    assert outcome.dry_run and outcome.order["status"] == "CANCELLED"
    assert app.store.saved(ID).status == "NEW"
    assert app.store.messages == []


# -- return (A-2) ---------------------------------------------------------------------------------


def test_return_needs_a_shipped_line(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    assert unavailable(app, ID, "return") == "no line is SHIPPED; a return needs a shipped line"


def test_return_of_a_shipped_line_is_approved_and_refunded_in_st1(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    run(app, ID, "return", {"lines": [1], "reason": "Damaged", "comment": "broken"})
    order = app.store.saved(ID)
    (ret,) = order.returns
    assert ret.lines == [1] and ret.status == "APPROVED"  # ST1 approves returns at once
    assert [(r.kind, r.amount) for r in order.refunds] == [("RETURN", Decimal("20.00"))]


def test_return_refuses_a_reason_the_channel_does_not_list(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    with pytest.raises(BadInput, match="reason"):
        run(app, ID, "return", {"lines": [1], "reason": "Bored", "comment": "no reason"})
    assert app.store.saved(ID).returns == []


def test_cancel_return_gives_the_lines_back(app: InMemoryPostsales) -> None:
    order = shipped_order()
    order.line(1).status = "RETURN_REQUESTED"
    order.returns.append(Return("RT-1", [1], "Damaged", "", "SOU1", "agent", NOW))
    app.store.add(order)
    run(app, ID, "cancel_return", {"return_id": "RT-1"})
    order = app.store.saved(ID)
    assert order.returns[0].status == "CANCELLED"
    assert order.line(1).status == "SHIPPED"


# -- appeasement (A-3, D-2) -----------------------------------------------------------------------


def test_appeasement_refunds_part_of_a_line(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    run(app, ID, "appeasement", {"line": 1, "amount": "5.00", "reason": "Late delivery"})
    order = app.store.saved(ID)
    assert [(r.kind, r.amount) for r in order.refunds] == [("APPEASEMENT", Decimal("5.00"))]
    assert order.line(1).appeased_amount == Decimal("5.00")


def test_appeasement_above_the_line_is_refused(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    # Money above its maximum is refused before the action runs, naming the field (issue 13).
    with pytest.raises(BadInput, match=r"amount: 10\.01 USD is more than 10\.00 USD left"):
        run(app, ID, "appeasement", {"line": 2, "amount": "10.01", "reason": "Late delivery"})
    assert app.store.saved(ID).refunds == []


# -- comment, hold, lock (A-6, A-7, A-9) ----------------------------------------------------------


def test_comment_is_kept_in_the_history(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    run(app, ID, "comment", {"text": "Called the customer"})
    assert [e.summary for e in app.store.saved(ID).history][-1].endswith("Called the customer")


def test_hold_and_release(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    assert unavailable(app, ID, "release_hold") is not None
    run(app, ID, "hold", {"reason": "Fraud check"})
    assert app.store.saved(ID).status == "ONHOLD"
    assert unavailable(app, ID, "hold") is not None
    run(app, ID, "release_hold")
    assert app.store.saved(ID).status == "NEW"


def test_a_lock_keeps_other_agents_out(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    alice = a_user("agent", name="alice")
    run(app, ID, "lock", user=alice)
    assert app.store.saved(ID).lock.holder == "alice"
    assert "locked by alice" in unavailable(app, ID, "comment", user=a_user("agent", name="bob"))
    run(app, ID, "unlock", user=alice)
    assert app.store.saved(ID).lock is None


# -- refunds (A-4) --------------------------------------------------------------------------------


def test_an_appeasement_above_the_agents_limit_waits_and_can_be_cancelled(
    app: InMemoryPostsales,
) -> None:
    app.store.add(shipped_order("80.00"))
    agent = a_user("agent", name="alice")
    run(
        app,
        ID,
        "appeasement",
        {"line": 1, "amount": "60.00", "reason": "Late delivery"},
        user=agent,
    )
    (refund,) = app.store.saved(ID).refunds
    assert refund.status == "REQUESTED"  # D-2: above the agent's 50.00, a supervisor decides
    run(app, ID, "cancel_refund", {"refund_id": refund.id})
    order = app.store.saved(ID)
    assert order.refunds[0].status == "CANCELLED"
    assert order.line(1).appeased_amount == 0


# -- review (A-16) --------------------------------------------------------------------------------


def test_review_is_only_for_new_orders(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    assert unavailable(app, ID, "review") == "order is SHIPPED; review is allowed in NEW"


# -- review, fulfilment (A-16, issue 16) ----------------------------------------------------------


def test_review_passes_a_new_order_on(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    run(app, ID, "review", {"reason": "Fraud check passed"})
    assert app.store.saved(ID).status == "RECEIVED"


def test_release_pick_and_ship_move_the_stock(app: InMemoryPostsales) -> None:
    app.store.add_product(Product("SKU-1", "Shirt", prices={"ST1": "10.00"}), stock={"SOU1": 5})
    app.store.add(an_order(ID))
    outcome = run(app, ID, "release")
    (shipment_id,) = outcome.result["shipments"]
    assert app.store.saved(ID).status == "LOGISTICS"
    assert app.store.stock_levels[("SOU1", "SKU-1")] == [5, 1]  # one unit held for the line
    run(app, ID, "pick", {"shipment_id": shipment_id})
    run(app, ID, "ship", {"shipment_id": shipment_id, "carrier": "UPS", "tracking_number": "1Z9"})
    order = app.store.saved(ID)
    assert order.status == "SHIPPED" and order.line(1).status == "SHIPPED"
    assert app.store.stock_levels[("SOU1", "SKU-1")] == [4, 0]  # it left the warehouse


def test_ship_is_refused_for_an_unknown_shipment(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    run(app, ID, "release")
    with pytest.raises((BadInput, Refused), match="SH-9"):
        run(app, ID, "ship", {"shipment_id": "SH-9", "carrier": "UPS", "tracking_number": "1"})


# -- child orders: reshipment, exchange, reorder (A-10, A-11, A-13) -------------------------------


def test_reshipment_creates_a_free_child_order(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    outcome = run(app, ID, "reshipment", {"lines": [1], "reason": "Lost"})
    (child_id,) = outcome.result["orders"]
    child = app.store.saved(child_id)
    assert child.order_type == "RESHIPMENT" and child.parent_order_id == ID
    # The line again, free, and the seed's 0.00 shipping line (002; issue 16 item 7).
    assert [(ln.sku, ln.gross_amount) for ln in child.lines] == [
        ("SKU-1", Decimal("0.00")),
        ("STANDARD", Decimal("0.00")),
    ]
    assert outcome.result["returns"]  # the original line goes back


def test_exchange_sends_a_sibling_sku(app: InMemoryPostsales) -> None:
    for size in "ML":
        product = Product(f"SHIRT-{size}", f"Shirt {size}", parent_sku="SHIRT")
        app.store.add_product(product, stock={"SOU1": 5})
    line = a_line(1, "SHIRT-M", parent_sku="SHIRT", status="SHIPPED", source_id="SOU1")
    shipment = Shipment("SH-1", "SOU1", [1], status="SHIPPED")
    app.store.add(an_order(ID, status="SHIPPED", lines=[line], shipments=[shipment]))
    outcome = run(app, ID, "exchange", {"items": [{"line": 1, "sku": "SHIRT-L"}], "reason": "Fit"})
    (child_id,) = outcome.result["orders"]
    assert [ln.sku for ln in app.store.saved(child_id).lines] == ["SHIRT-L"]


def test_exchange_needs_a_shipped_line(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    assert unavailable(app, ID, "exchange") == (
        "no product line is SHIPPED; an exchange needs a shipped line"
    )


def test_reorder_copies_the_order_into_a_draft(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order())
    outcome = run(app, ID, "reorder")
    (draft_id,) = outcome.result["orders"]
    draft = app.store.saved(draft_id)
    assert draft.status == "DRAFT"
    assert [ln.sku for ln in draft.lines] == ["SKU-1", "SKU-2"]


# -- drafts (A-12, A-15) --------------------------------------------------------------------------


def test_a_payment_is_added_to_a_draft_with_something_due(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID, status="DRAFT", payments=[]))
    run(app, ID, "add_payment", {"method": "card", "amount": "1.00"})
    assert [p.requested_amount for p in app.store.saved(ID).payments] == [Decimal("1.00")]


def test_add_payment_refuses_when_nothing_is_due(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID, status="DRAFT"))  # paid in full
    with pytest.raises(Refused, match="nothing is due"):
        run(app, ID, "add_payment", {"method": "card", "amount": "1.00"})


def test_a_draft_without_payments_is_deleted(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID, status="DRAFT", payments=[]))
    run(app, ID, "delete")
    assert ID not in app.store.orders


def test_delete_is_only_for_drafts(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    assert unavailable(app, ID, "delete") == "order is NEW; delete is allowed in DRAFT"


def test_edit_changes_a_drafts_shipping_method(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID, status="DRAFT"))
    run(app, ID, "edit", {"shipping_method": "express"})
    assert app.store.saved(ID).shipping_method == "express"


def test_takeover_moves_the_lock_to_the_supervisor(app: InMemoryPostsales) -> None:
    app.store.add(an_order(ID))
    run(app, ID, "lock", user=a_user("agent", name="alice"))
    run(app, ID, "takeover")
    assert app.store.saved(ID).lock.holder == "supervisor"


def test_approve_return_refunds_its_lines(app: InMemoryPostsales) -> None:
    order = shipped_order()
    order.line(1).status = "RETURN_REQUESTED"
    order.returns.append(Return("RT-1", [1], "Damaged", "", "SOU1", "agent", NOW))
    app.store.add(order)
    run(app, ID, "approve_return", {"return_id": "RT-1"})
    order = app.store.saved(ID)
    assert order.returns[0].status == "APPROVED"
    assert [(r.kind, r.amount) for r in order.refunds] == [("RETURN", Decimal("20.00"))]


def test_approve_refund_sends_a_waiting_refund(app: InMemoryPostsales) -> None:
    app.store.add(shipped_order("80.00"))
    agent = a_user("agent", name="alice")
    run(app, ID, "appeasement", {"line": 1, "amount": "60.00", "reason": "Late"}, user=agent)
    (refund,) = app.store.saved(ID).refunds
    run(app, ID, "approve_refund", {"refund_id": refund.id})
    assert app.store.saved(ID).refunds[0].status == "PENDING_RELEASE"  # sent to the gateway
    assert "payment.refund.requested" in types(app)
