"""The whole order lifecycle (SPEC §3, issue 16 item 2): order review (NEW -> RECEIVED) by an
agent's action or the channel's automatic step, and closing (SHIPPED -> CLOSED) once nothing
more can happen to the order."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from postsales.adapters.cli import cli
from postsales.adapters.cli.commands import lifecycle  # noqa: F401  (registers the command)
from postsales.core.bootstrap import Postsales
from postsales.core.errors import BadInput, Forbidden
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.sweep import run_lifecycle
from postsales.core.services.users import get_user
from tests.conftest import example, import_examples
from tests.integration.test_actions_money import (
    ORDER,
    act,
    doc,
    outbox,
    reasons,
    set_channel,
    user,
)

SYSTEM = None


def system(app: Postsales):
    return get_user(app, SYSTEM)


# -- order review -------------------------------------------------------------------------------


def test_an_agent_passes_order_review_with_a_reason(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    assert reasons(app)["review"] is None
    with pytest.raises(Forbidden):
        act(app, "review", user("ann", "orders.view"), reason="Fraud check passed")
    with pytest.raises(BadInput, match="not a review reason of ST1"):
        act(app, "review", reason="Looks fine")
    reviewer = user("rita", "orders.view", "order.review")
    done = act(app, "review", reviewer, reason="Fraud check passed", comment="score 3")
    order = done.order
    assert order["status"] == "RECEIVED" and order["status_reason"] == "Fraud check passed"
    assert order["history"][-1]["kind"] == "order.reviewed"
    assert order["history"][-1]["summary"] == "Order review passed: Fraud check passed (score 3)"
    updated = outbox(app, "sales.order_management.updated")[-1]["payload"]["order"]
    assert updated["status"] == "RECEIVED"
    assert reasons(app)["review"] == "order is RECEIVED; review is allowed in NEW"
    # Cancel stays possible in order review (seed 001), as the channel's statuses say.
    assert reasons(app)["cancel"] is None


def test_a_channel_can_review_automatically(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    assert run_lifecycle(app, system(app)).reviewed == []  # off by default: NEW stays NEW
    set_channel(app, auto_review=True)
    report = run_lifecycle(app, system(app))
    assert report.reviewed == [ORDER]
    order = doc(app)
    assert order["status"] == "RECEIVED" and order["status_reason"] == "Automatic review"
    assert run_lifecycle(app, system(app)).reviewed == []  # done once


# -- closing -----------------------------------------------------------------------------------


def _confirm_refunds(app: Postsales) -> None:
    for i, refund in enumerate(doc(app)["refunds"]):
        if refund["status"] == "PENDING_RELEASE":
            msg = example("refund-confirmed.json")
            msg["id"] = f"gw-{i}"
            msg["payload"].update(refund_id=refund["id"], amount=refund["amount"])
            assert not import_lines(app, [json.dumps(msg)]).refused


def test_an_order_returned_and_refunded_is_closed(app: Postsales, shipped_order: str) -> None:
    act(app, "return", lines=[1, 2, 3, 4], reason="Damaged", comment="all of it")
    assert run_lifecycle(app, system(app)).closed == []  # its refund is still open
    _confirm_refunds(app)
    report = run_lifecycle(app, system(app))
    assert report.closed == [ORDER]
    order = doc(app)
    assert order["status"] == "CLOSED"
    assert order["history"][-1]["summary"] == "Order closed: nothing more can happen to it"
    assert outbox(app, "sales.order_management.updated")[-1]["payload"]["order"]["status"] == (
        "CLOSED"
    )
    # Nothing more can be done, but an agent can still leave a note.
    why = reasons(app)
    assert why["comment"] is None
    assert why["appeasement"] == why["return"] == "order is CLOSED: nothing more can be done to it"
    act(app, "comment", text="customer thanked us")


def test_shipped_lines_close_only_past_the_return_window(
    app: Postsales, shipped_order: str
) -> None:
    assert run_lifecycle(app, system(app)).closed == []  # no window: still returnable
    set_channel(app, return_window_days=30)
    start = app.now()
    app.clock = lambda: start + timedelta(days=29)
    assert run_lifecycle(app, system(app)).closed == []
    app.clock = lambda: start + timedelta(days=40)
    assert run_lifecycle(app, system(app)).closed == [ORDER]


def test_a_waiting_return_keeps_the_order_open(app: Postsales, shipped_order: str) -> None:
    set_channel(app, auto_approve_return=False, return_window_days=30)
    act(app, "return", lines=[1], reason="Damaged", comment="c")
    start = app.now()
    app.clock = lambda: start + timedelta(days=40)
    assert run_lifecycle(app, system(app)).closed == []
    assert doc(app)["status"] == "SHIPPED"


def test_the_pass_needs_a_user_of_every_store(app: Postsales) -> None:
    one_store = user("una", "orders.view")
    one_store = type(one_store)("una", (), frozenset({"orders.view"}), frozenset({"ST2"}))
    with pytest.raises(Forbidden, match="every store"):
        run_lifecycle(app, one_store)


def test_the_cli_runs_the_pass(sqlite_app: Postsales) -> None:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    url = sqlite_app.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "lifecycle", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"reviewed": [], "closed": []}
