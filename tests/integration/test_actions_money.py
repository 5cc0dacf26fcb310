"""Actions that move money, through the one door every adapter uses (`run_action`, `list_actions`).

A-1 cancel, A-2/A-3 returns, A-4 refunds, A-5 appeasements, the message and offline gateways, and
the dry run. The example order 000000101 is 118.80 fully captured: line 1 48.60 (net 45.00),
line 2 54.00 (net 50.00), gift wrap 5.40 on line 1, an order-level service 5.00, shipping 5.80.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import BadInput, Forbidden, NotFound, Refused
from postsales.core.persistence import tables as T
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import example, import_examples

ORDER = "000000101"
D = Decimal


def act(app: Postsales, action: str, user: User | None = None, order: str = ORDER, **params: Any):
    return run_action(app, order, action, params, user or get_user(app, None))


def act_dry(app: Postsales, action: str, **params: Any):
    return run_action(app, ORDER, action, params, get_user(app, None), dry_run=True)


def doc(app: Postsales, order: str = ORDER) -> dict[str, Any]:
    return show_order(app, order, get_user(app, None))


def outbox(app: Postsales, type_: str | None = None) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(T.outbox).order_by(T.outbox.c.seq)).all()
    return [
        {"type": r.type, "order_id": r.order_id, "payload": r.payload}
        for r in rows
        if type_ is None or r.type == type_
    ]


def outbox_count(app: Postsales) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(T.outbox)).scalar_one()


def set_channel(app: Postsales, **postsales: Any) -> None:
    """Change ST1's `postsales:` settings; rules and actions read them at run time."""
    settings = app.settings
    st1 = settings.sales_channels["ST1"]
    st1 = attrs.evolve(st1, postsales=attrs.evolve(st1.postsales, **postsales))
    app.settings = attrs.evolve(settings, sales_channels={**settings.sales_channels, "ST1": st1})


def user(name: str, *permissions: str, roles: tuple[str, ...] = ("agent",)) -> User:
    return User(name, roles, frozenset(permissions), None)


AGENT_PERMS = ("orders.view", "return.create", "appeasement.create", "order.cancel")


def reasons(app: Postsales, order: str = ORDER) -> dict[str, str | None]:
    return {a.name: a.reason for a in list_actions(app, order, get_user(app, None))}


def refunds(app: Postsales) -> list[tuple[str, str, str, str]]:
    return [(r["id"], r["kind"], r["status"], r["amount"]) for r in doc(app)["refunds"]]


RETURN_2 = {"lines": [2], "reason": "Changed mind", "comment": "Too tight"}


# -- A-2 return, R-6 defaults, the message gateway ----------------------------------------------


def test_return_refunds_the_line_and_the_gateway_confirms(
    app: Postsales, shipped_order: str
) -> None:
    out = act(app, "return", **RETURN_2)
    assert out.result["returns"] == ["RET-000000101-1"]
    assert out.result["refunds"] == ["RF-000000101-1"]
    order = doc(app)
    assert order["returns"][0]["status"] == "APPROVED"
    assert order["returns"][0]["source_id"] == "SOU1"
    assert [ln["status"] for ln in order["lines"] if ln["line_number"] == 2] == ["RETURNED"]
    assert refunds(app) == [("RF-000000101-1", "RETURN", "PENDING_RELEASE", "54.00")]
    (requested,) = outbox(app, "payment.refund.requested")
    assert requested["payload"]["refund_id"] == "RF-000000101-1"
    assert requested["payload"]["amount"] == "54.00"
    assert requested["payload"]["payment_id"] == "PAY-7731902"
    assert requested["payload"]["lines"] == [{"line_number": 2, "amount": "54.00"}]
    assert outbox(app, "sales.order_management.updated")

    import_examples(app, "refund-confirmed.json")
    order = doc(app)
    assert order["refunds"][0]["status"] == "RELEASED"
    assert order["totals"]["refunded"] == "54.00"
    assert order["refunds"][0]["credit_note"] == "CN-000000101-1"
    assert any(h["kind"] == "refund.confirmed" for h in order["history"])


def test_return_input_is_checked_against_the_channel(app: Postsales, shipped_order: str) -> None:
    with pytest.raises(BadInput, match=r"reason: 'Bored' .*choose one of: Damaged, Wrong item"):
        act(app, "return", lines=[2], reason="Bored", comment="x")
    with pytest.raises(BadInput, match=r"comment: a comment is required"):
        act(app, "return", lines=[2], reason="Damaged", comment="  ")
    with pytest.raises(BadInput, match=r"comment: at most 1000 characters"):
        act(app, "return", lines=[2], reason="Damaged", comment="x" * 1001)
    with pytest.raises(BadInput, match=r"source: sales channel ST1 does not allow choosing"):
        act(app, "return", lines=[2], reason="Damaged", comment="x", source="SOU1")
    with pytest.raises(BadInput, match=r"lines: order 000000101 has no line 9"):
        act(app, "return", lines=[9], reason="Damaged", comment="x")
    with pytest.raises(BadInput, match=r"comment: missing required parameter"):
        act(app, "return", lines=[2], reason="Damaged")
    act(app, "return", lines=[2], reason="damaged", comment="x")  # the channel's spelling is kept
    assert doc(app)["returns"][0]["reason"] == "Damaged"
    with pytest.raises(Refused, match=r"line 2 is RETURNED"):
        act(app, "return", lines=[2], reason="Damaged", comment="again")


def test_manual_source_must_accept_returns(app: Postsales, shipped_order: str) -> None:
    set_channel(app, return_source_manual=True)
    with pytest.raises(BadInput, match=r"source: SOU2 does not accept returns; .*SOU1, SOU3"):
        act(app, "return", lines=[2], reason="Damaged", comment="x", source="SOU2")
    with pytest.raises(BadInput, match=r"source: NOPE is not a known source"):
        act(app, "return", lines=[2], reason="Damaged", comment="x", source="NOPE")
    act(app, "return", lines=[2], reason="Damaged", comment="x", source="SOU3")
    assert doc(app)["returns"][0]["source_id"] == "SOU3"


# -- A-3 approve / cancel return, A-4 approve / cancel refund ----------------------------------


def test_requested_returns_are_approved_or_cancelled(app: Postsales, shipped_order: str) -> None:
    set_channel(app, auto_approve_return=False)
    assert reasons(app)["approve_return"] == "no return is REQUESTED"
    act(app, "return", lines=[1], reason="Damaged", comment="torn")
    act(app, "return", **RETURN_2)
    assert [r["status"] for r in doc(app)["returns"]] == ["REQUESTED", "REQUESTED"]
    assert refunds(app) == []
    assert reasons(app)["approve_return"] is None
    agent = user("agent1", *AGENT_PERMS)
    with pytest.raises(Forbidden, match=r"return.approve"):
        act(app, "approve_return", agent, return_id="RET-000000101-1")
    with pytest.raises(BadInput, match=r"return_id: order 000000101 has no return 'RET-9'"):
        act(app, "approve_return", return_id="RET-9")

    act(app, "approve_return", return_id="RET-000000101-1")
    assert refunds(app) == [("RF-000000101-1", "RETURN", "PENDING_RELEASE", "48.60")]
    with pytest.raises(Refused, match=r"return RET-000000101-1 is APPROVED"):
        act(app, "approve_return", return_id="RET-000000101-1")

    act(app, "cancel_return", return_id="RET-000000101-2")
    order = doc(app)
    assert [r["status"] for r in order["returns"]] == ["APPROVED", "CANCELLED"]
    assert [ln["status"] for ln in order["lines"]][:2] == ["RETURNED", "SHIPPED"]
    assert reasons(app)["cancel_return"] == "no return is REQUESTED"
    with pytest.raises(Refused, match=r"no return is REQUESTED"):
        act(app, "cancel_return", return_id="RET-000000101-2")


def test_requested_refunds_are_approved_or_cancelled(app: Postsales, shipped_order: str) -> None:
    set_channel(app, auto_release_refund=False)
    act(app, "return", **RETURN_2)
    act(app, "return", lines=[1], reason="Damaged", comment="torn")
    assert [r[2] for r in refunds(app)] == ["REQUESTED", "REQUESTED"]
    assert outbox(app, "payment.refund.requested") == []
    with pytest.raises(BadInput, match=r"refund_id: order 000000101 has no refund 'RF-7'"):
        act(app, "approve_refund", refund_id="RF-7")
    with pytest.raises(Forbidden, match=r"refund.approve"):
        act(app, "approve_refund", user("agent1", *AGENT_PERMS), refund_id="RF-000000101-1")

    act(app, "approve_refund", refund_id="RF-000000101-1")
    assert refunds(app)[0] == ("RF-000000101-1", "RETURN", "PENDING_RELEASE", "54.00")
    assert len(outbox(app, "payment.refund.requested")) == 1
    with pytest.raises(Refused, match=r"refund RF-000000101-1 is PENDING_RELEASE"):
        act(app, "approve_refund", refund_id="RF-000000101-1")

    act(app, "cancel_refund", refund_id="RF-000000101-2", reason="customer kept it")
    act(app, "cancel_refund", refund_id="RF-000000101-1")
    assert [r[2] for r in refunds(app)] == ["CANCELLED", "CANCELLED"]
    assert doc(app)["totals"]["refunded"] == "0.00"
    assert reasons(app)["approve_refund"] == "no refund is REQUESTED"
    assert reasons(app)["cancel_refund"] == "no refund is REQUESTED or PENDING_RELEASE"


# -- A-5 appeasement ----------------------------------------------------------------------------


def test_an_appeased_line_returns_only_what_is_left(app: Postsales, shipped_order: str) -> None:
    out = act(app, "appeasement", line=1, amount="10.00", reason="Late delivery", comment="sorry")
    assert out.result["refunds"] == ["RF-000000101-1"]
    act(app, "return", lines=[1], reason="Damaged", comment="torn")
    assert refunds(app) == [
        ("RF-000000101-1", "APPEASEMENT", "PENDING_RELEASE", "10.00"),
        ("RF-000000101-2", "RETURN", "PENDING_RELEASE", "38.60"),  # D-3: 48.60 - 10.00
    ]
    history = doc(app)["history"]
    assert any(h["kind"] == "appeasement.created" and h["actor"] == "system" for h in history)


def test_appeasement_is_capped_by_the_net_amount(app: Postsales, shipped_order: str) -> None:
    # The declared maximum refuses it before the action runs, naming the field (issue 13 item 1).
    with pytest.raises(BadInput, match=r"amount: 45.01 USD is more than 45.00 USD left to appease "
                       "on line 1") as info:  # fmt: skip
        act(app, "appeasement", line=1, amount="45.01", reason="Late")
    assert info.value.field == "amount"
    act(app, "appeasement", line=1, amount=40, reason="Late")
    with pytest.raises(BadInput, match=r"more than 5.00 USD left to appease"):
        act(app, "appeasement", line=1, amount="5.01", reason="Late")
    for amount, message in [
        ("0", "more than 0"),
        ("-3", "more than 0"),
        ("abc", "expected an "),
        ("1.001", "more than 2 decimals"),
    ]:
        with pytest.raises(BadInput, match=f"amount: .*{message}"):
            act(app, "appeasement", line=2, amount=amount, reason="Late")
    with pytest.raises(BadInput, match=r"line: order 000000101 has no line 8"):
        act(app, "appeasement", line=8, amount="1", reason="Late")
    with pytest.raises(BadInput, match=r"reason: a refund reason is required"):
        act(app, "appeasement", line=2, amount="1", reason=" ")
    assert [r[3] for r in refunds(app)] == ["40.00"]


def test_appeasement_above_the_role_limit_waits_for_a_supervisor(
    app: Postsales, shipped_order: str
) -> None:
    set_channel(app, appeasement_limits={"agent": D("20.00")})
    agent = user("agent1", *AGENT_PERMS)
    act(app, "appeasement", agent, line=2, amount="15.00", reason="Late")
    act(app, "appeasement", agent, line=2, amount="30.00", reason="Broken zip")
    assert [r[2] for r in refunds(app)] == ["PENDING_RELEASE", "REQUESTED"]
    (waiting,) = [h for h in doc(app)["history"] if "waits for a supervisor" in h["summary"]]
    assert "exceeds the agent limit of 20.00" in waiting["summary"]
    assert waiting["actor"] == "agent1"
    act(app, "approve_refund", refund_id="RF-000000101-2")
    assert [r[2] for r in refunds(app)] == ["PENDING_RELEASE", "PENDING_RELEASE"]
    assert reasons(app)["appeasement"] is None  # line 1 still has 45.00 to appease


def test_dry_run_changes_nothing_and_shows_the_real_amounts(
    app: Postsales, shipped_order: str
) -> None:
    act(app, "appeasement", line=1, amount="10.00", reason="Late")
    now = app.now()
    app.clock = lambda: now  # so the preview and the real run stamp the same times
    before, messages_before = doc(app), outbox_count(app)
    preview = act_dry(app, "return", lines=[1, 2], reason="Damaged", comment="x")
    assert preview.dry_run
    assert {m["type"] for m in preview.messages} >= {"payment.refund.requested"}
    assert doc(app) == before
    assert outbox_count(app) == messages_before
    real = act(app, "return", lines=[1, 2], reason="Damaged", comment="x")
    assert preview.order["refunds"] == real.order["refunds"]
    assert preview.result == real.result
    assert [(r["amount"], r["lines"]) for r in real.order["refunds"]][1] == (
        "92.60",
        [{"line_number": 1, "amount": "38.60"}, {"line_number": 2, "amount": "54.00"}],
    )


# -- A-1 cancel ---------------------------------------------------------------------------------


def test_cancel_of_a_new_order_refunds_what_was_captured(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    agent = user("agent1", *AGENT_PERMS)
    out = act(app, "cancel", agent, reason="Customer request")
    order = doc(app)
    assert order["status"] == "CANCELLED"
    assert {ln["status"] for ln in order["lines"]} == {"CANCELLED"}
    assert refunds(app) == [("RF-000000101-1", "CANCELLATION", "PENDING_RELEASE", "118.80")]
    assert out.result["refunds"] == ["RF-000000101-1"]
    cancelled = [h for h in order["history"] if h["kind"] == "order.cancelled"]
    assert cancelled and cancelled[0]["actor"] == "agent1"
    (mail,) = outbox(app, "notification.email")
    assert mail["payload"]["template"] == "order_cancelled"
    assert mail["payload"]["to"] == "veronica.costello@example.com"
    assert outbox(app, "sales.order_management.updated")[-1]["payload"]["order"]["status"] == (
        "CANCELLED"
    )
    assert (
        reasons(app)["cancel"] == "order is CANCELLED; cancel is allowed in NEW, RECEIVED, ONHOLD"
    )


def test_cancel_of_some_lines_takes_their_services(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    with pytest.raises(BadInput, match=r"lines: order 000000101 has no line 7"):
        act(app, "cancel", lines=[7])
    with pytest.raises(BadInput, match=r"lines: choose at least one line"):
        act(app, "cancel", lines=[])
    out = act(app, "cancel", lines=[1])
    assert out.result["cancelled_lines"] == [1, 3]  # the gift wrap on line 1 goes with it
    order = doc(app)
    assert order["status"] == "NEW"
    assert [ln["status"] for ln in order["lines"]] == [
        "CANCELLED",
        "NEW",
        "CANCELLED",
        "NEW",
        "NEW",
    ]
    assert refunds(app) == [("RF-000000101-1", "CANCELLATION", "PENDING_RELEASE", "54.00")]
    with pytest.raises(Refused, match=r"line 1 is already CANCELLED"):
        act(app, "cancel", lines=[1])
    history = [h for h in order["history"] if h["kind"] == "lines.cancelled"]
    assert history[0]["summary"].startswith("Line(s) 1, 3 cancelled by system")


def test_cancel_is_refused_once_shipped(app: Postsales, shipped_order: str) -> None:
    reason = "order is SHIPPED; cancel is allowed in NEW, RECEIVED, ONHOLD"
    assert reasons(app)["cancel"] == reason
    with pytest.raises(Refused, match=reason):
        act(app, "cancel")
    set_channel(app, cancel_allowed_statuses=("NEW",))
    assert reasons(app)["cancel"] == "order is SHIPPED; cancel is allowed in NEW"


def test_a_shipped_line_is_never_cancelled(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    shipped = example("shipment-shipped.json")
    shipped["payload"].update(lines=[2], shipment_request_id="ST1-000000101-01")
    import_lines(app, [json.dumps(shipped)])
    assert doc(app)["status"] == "PARTIALLY_SHIPPED"
    set_channel(app, cancel_allowed_statuses=("NEW", "PARTIALLY_SHIPPED"))
    with pytest.raises(Refused, match=r"line 2 is SHIPPED; a line that has shipped cannot be"):
        act(app, "cancel")
    act(app, "cancel", lines=[1, 4, 5])
    order = doc(app)
    assert order["status"] == "SHIPPED"  # every line is shipped or cancelled
    assert refunds(app)[0][3] == "64.80"  # 48.60 + 5.40 gift wrap + 5.00 + 5.80


# -- gateways, doors ----------------------------------------------------------------------------


def test_the_offline_gateway_confirms_cash_refunds_at_once(app: Postsales) -> None:
    data = example("order-create.json")
    data["id"] = "msg-cash-1"
    data["payload"]["order"]["id"] = "CASH-1"
    data["payload"]["order"]["payments"][0]["method"] = "cash"
    import_lines(app, [json.dumps(data)])
    act(app, "appeasement", order="CASH-1", line=2, amount="5.00", reason="Scratch")
    (refund,) = doc(app, "CASH-1")["refunds"]
    assert refund["status"] == "RELEASED"
    assert outbox(app, "payment.refund.requested") == []


def test_unknown_orders_and_other_stores_are_not_found(app: Postsales, shipped_order: str) -> None:
    with pytest.raises(NotFound):
        act(app, "appeasement", order="NOPE", line=1, amount="1", reason="x")
    st2_agent = User("berlin", ("agent",), frozenset(AGENT_PERMS), frozenset({"ST2"}))
    with pytest.raises(NotFound):
        act(app, "appeasement", st2_agent, line=1, amount="1", reason="x")
    assert refunds(app) == []


# -- less captured than ordered (issue 16 item 3, docs/rules.md) -------------------------------


def _partly_captured(app: Postsales, *, shipped: bool) -> None:
    """The example order with only 60.00 of its 118.80 captured."""
    order = example("order-create.json")
    order["payload"]["order"]["payments"][0]["captured_amount"] = "60.00"
    lines = [json.dumps(order)]
    if shipped:
        lines.append(json.dumps(example("shipment-shipped.json")))
    assert not import_lines(app, lines).refused


def test_a_return_refunds_what_is_left_of_the_capture_and_completes(app: Postsales) -> None:
    _partly_captured(app, shipped=True)
    first = act(app, "return", lines=[2], reason="Too small", comment="c1")
    assert [r["amount"] for r in first.order["refunds"]] == ["54.00"]
    preview = act_dry(app, "return", lines=[1], reason="Damaged", comment="c2")
    note = ("48.60 USD is owed for line(s) 1, but only 6.00 USD is left of the captured amount: "
            "42.60 USD is not refunded")  # fmt: skip
    assert preview.result["notes"] == [note]  # the preview says so before anything is done
    done = act(app, "return", lines=[1], reason="Damaged", comment="c2")
    order = done.order
    assert {ln["line_number"]: ln["status"] for ln in order["lines"]}[1] == "RETURNED"
    assert [r["status"] for r in order["returns"]] == ["APPROVED", "APPROVED"]
    last = order["refunds"][-1]
    assert last["amount"] == "6.00" and last["lines"] == [{"line_number": 1, "amount": "6.00"}]
    assert order["totals"]["refunded"] == order["totals"]["captured"] == "60.00"
    limited = [h for h in order["history"] if h["kind"] == "refund.limited"]
    assert [h["summary"] for h in limited] == [note[0].upper() + note[1:]]


def test_a_manual_return_is_approved_with_what_is_left(app: Postsales) -> None:
    set_channel(app, auto_approve_return=False)
    _partly_captured(app, shipped=True)
    act(app, "return", lines=[2], reason="Too small", comment="c1")
    act(app, "return", lines=[1], reason="Damaged", comment="c2")
    for ret in doc(app)["returns"]:
        act(app, "approve_return", return_id=ret["id"])
    order = doc(app)
    assert [r["amount"] for r in order["refunds"]] == ["54.00", "6.00"]
    assert all(ln["status"] == "RETURNED" for ln in order["lines"] if ln["line_number"] in (1, 2))


def test_a_cancellation_follows_the_same_rule(app: Postsales) -> None:
    _partly_captured(app, shipped=False)
    act(app, "cancel", lines=[2], reason="Changed mind")
    done = act(app, "cancel", lines=[1], reason="Changed mind")
    assert [r["amount"] for r in done.order["refunds"]] == ["54.00", "6.00"]
    assert done.result["notes"] == [  # line 1 takes its gift wrap, line 3, with it
        "54.00 USD is owed for line(s) 1, 3, but only 6.00 USD is left of the captured amount: "
        "48.00 USD is not refunded"
    ]
    # Nothing left at all: the cancellation completes without a refund, and says so.
    third = act(app, "cancel", reason="Changed mind")
    assert third.order["status"] == "CANCELLED" and len(third.order["refunds"]) == 2
    assert "0.00 USD is left of the captured amount" in third.result["notes"][0]
