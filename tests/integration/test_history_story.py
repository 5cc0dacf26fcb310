"""A history that tells the whole story (issue 16 item 5, seed 000's "History and comments":
carrier, tracking number, link, comment, box, lines, payment events, notes).

The example order is imported (its capture), shipped (with a tracking comment), partly returned
and refunded (the gateway's confirmation), and then the warehouse reports the same shipment a
second time: only a message that says it is a correction changes the shipment.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from postsales.core.bootstrap import Postsales
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import example, outbox_rows

ORDER = "000000101"
SHIPMENT = "ST1-000000101-01"


def doc(app: Postsales) -> dict[str, Any]:
    return show_order(app, ORDER, get_user(app, None))


def entries(app: Postsales, kind: str) -> list[dict[str, Any]]:
    return [h for h in doc(app)["history"] if h["kind"] == kind]


def details(entry: dict[str, Any]) -> dict[str, Any]:
    return {d["label"]: d["value"] for d in entry["details"]}


def shipped_again(app: Postsales, message_id: str, **changes: Any) -> Any:
    message = example("shipment-shipped.json")
    message["id"] = message_id
    message["payload"].update(changes)
    return import_lines(app, [json.dumps(message)])


def test_the_capture_shipment_and_refund_are_in_history(app: Postsales, shipped_order: str) -> None:
    (created,) = entries(app, "order.created")
    assert created["summary"] == "Order received from WEB; card PAY-7731902: 118.80 USD captured"

    (shipped,) = entries(app, "shipment.shipped")
    assert "tracking 1Z999AA10123456784" in shipped["summary"]
    assert "Left at front door" in shipped["summary"] and "box 1" in shipped["summary"]
    facts = details(shipped)
    assert facts == {
        "Carrier": "UPS",
        "Tracking number": "1Z999AA10123456784",
        "Tracking link": "https://tracking.example.com/1Z999AA10123456784",
        "Tracking comment": "Left at front door",
        "Box number": "1",
        "Line 1": "Beaumont Summit Kit, M, Red (MJ01-M-RED)",
        "Line 2": "Breathe-Easy Tank, S, Black (WT09-S-BLK)",
        "Line 3": "Gift wrap (GIFTWRAP)",
        "Line 4": "ITEM_Delivery (23456)",
        "Line 5": "SHIPPING (STANDARD)",
    }
    assert {d["status"] for d in shipped["details"] if d["label"].startswith("Line")} == {"SHIPPED"}
    (shipment,) = doc(app)["shipments"]
    assert shipment["tracking_comment"] == "Left at front door"

    run_action(app, ORDER, "return", {"lines": [2], "reason": "Damaged", "comment": "torn"},
               get_user(app, None))  # fmt: skip
    report = import_lines(app, [json.dumps(example("refund-confirmed.json"))])
    assert not report.refused, report.refused
    (confirmed,) = entries(app, "refund.confirmed")
    assert confirmed["actor"] == "gateway:payment"
    assert confirmed["summary"] == (
        "Refund RF-000000101-1 of 54.00 USD released to card PAY-7731902 (APPROVED 00), "
        "credit note CN-000000101-1"
    )
    assert details(confirmed) == {
        "Payment event": "refund",
        "Amount": "54.00",
        "Payment method": "card",
        "Payment ID": "PAY-7731902",
        "Response": "APPROVED 00",
        "Credit note": "CN-000000101-1",
    }
    # Time order: the capture first, the refund last among them.
    kinds = [h["kind"] for h in doc(app)["history"]]
    assert kinds.index("order.created") < kinds.index("shipment.shipped")
    assert kinds.index("shipment.shipped") < kinds.index("refund.confirmed")


@pytest.mark.parametrize("with_id", [True, False], ids=["same request id", "no request id"])
def test_a_second_shipped_message_changes_nothing_without_correction(
    app: Postsales, shipped_order: str, with_id: bool
) -> None:
    before = doc(app)["shipments"]
    mails = len(outbox_rows(app, "notification.email"))
    changes: dict[str, Any] = {"carrier": "DHL", "tracking_number": "JD0001", "box_number": "7"}
    if not with_id:
        changes["shipment_request_id"] = None
    report = shipped_again(app, "msg-wh-again", **changes)
    assert report.applied == 1 and not report.refused
    assert doc(app)["shipments"] == before  # carrier, tracking, box and date as they were
    (again,) = entries(app, "shipment.shipped_again")
    assert "DHL" in again["summary"] and "JD0001" in again["summary"]
    assert "nothing" in again["summary"]
    assert len(outbox_rows(app, "notification.email")) == mails  # no second "shipped" e-mail


def test_a_correction_replaces_the_tracking_and_keeps_the_date(
    app: Postsales, shipped_order: str
) -> None:
    (before,) = doc(app)["shipments"]
    report = shipped_again(app, "msg-wh-fix", tracking_number="1Z999AA10123456799",
                           tracking_link="https://tracking.example.com/1Z999AA10123456799",
                           tracking_comment=None, correction=True)  # fmt: skip
    assert report.applied == 1 and not report.refused
    (after,) = doc(app)["shipments"]
    assert after["tracking_number"] == "1Z999AA10123456799"
    assert after["tracking_link"] == "https://tracking.example.com/1Z999AA10123456799"
    assert after["tracking_comment"] is None
    assert (after["carrier"], after["box_number"]) == ("UPS", "1")
    assert after["shipped_at"] == before["shipped_at"]
    (fixed,) = entries(app, "shipment.corrected")
    assert fixed["summary"] == (
        f"Shipment {SHIPMENT} corrected by SOU1: tracking number 1Z999AA10123456784 -> "
        "1Z999AA10123456799; tracking link https://tracking.example.com/1Z999AA10123456784 -> "
        "https://tracking.example.com/1Z999AA10123456799; tracking comment Left at front door -> —"
    )
    changed = {d["label"]: (d.get("before"), d["value"]) for d in fixed["details"] if "before" in d}
    assert changed["Tracking number"] == ("1Z999AA10123456784", "1Z999AA10123456799")
    assert changed["Tracking comment"] == ("Left at front door", None)
    assert "Carrier" not in changed


def test_correction_must_be_true_or_false(app: Postsales, shipped_order: str) -> None:
    report = shipped_again(app, "msg-wh-bad", correction="yes")
    (refused,) = report.refused
    assert "payload.correction: expected true or false, got 'yes'" in str(refused)
    assert entries(app, "shipment.corrected") == []


def test_a_first_shipped_message_may_say_correction(app: Postsales) -> None:
    """`correction` on lines not yet shipped is just a shipment: nothing to correct."""
    order = example("order-create.json")
    import_lines(app, [json.dumps(order)])
    report = shipped_again(app, "msg-wh-first", correction=True)
    assert report.applied == 1
    assert doc(app)["status"] == "SHIPPED"
    assert entries(app, "shipment.corrected") == []
    assert len(entries(app, "shipment.shipped")) == 1


def test_the_order_page_shows_the_tracking_comment_and_the_facts(sqlite_app: Postsales) -> None:
    from postsales.core.services.users import add_user
    from tests.adapters.test_web import PASSWORD, make_web, sign_in
    from tests.conftest import import_examples

    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    client = make_web(sqlite_app).test_client()
    sign_in(client)
    html = client.get(f"/orders/{ORDER}").text
    shipments = html.split("<h3>Shipments</h3>", 1)[1].split("</table>", 1)[0]
    assert "<th>Tracking comment</th>" in shipments and "Left at front door" in shipments
    history = html.split("<h2>History and comments</h2>", 1)[1]
    assert "card PAY-7731902: 118.80 USD captured" in history
    facts = history.split('class="kv history-details"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Tracking comment</dt>" in facts and "Left at front door" in facts
    assert "<dt>Box number</dt>" in facts
    assert (
        '<a href="https://tracking.example.com/1Z999AA10123456784" rel="noopener noreferrer">'
        in facts
    )
    assert "<dt>Line 1</dt>" in facts and "Beaumont Summit Kit, M, Red (MJ01-M-RED)" in facts


def test_orders_show_prints_the_tracking_and_the_capture(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.adapters.test_cli import run
    from tests.conftest import example_path

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", db, "init").exit_code == 0
    for name in ("order-create.json", "shipment-shipped.json"):
        assert run("--db", db, "import", str(example_path(name))).exit_code == 0
    shown = run("--db", db, "orders", "show", ORDER).output
    shipments = shown.split("Shipments:", 1)[1].split("\n\n", 1)[0]
    assert "UPS  1Z999AA10123456784" in shipments and "Left at front door" in shipments
    history = shown.split("History (UTC):", 1)[1]
    assert "card PAY-7731902: 118.80 USD captured" in history
