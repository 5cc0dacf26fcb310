"""A gateway's word is checked (issue 17 item 9, A-4, S-5): a `payment.refund.confirmed` whose
amount or currency differs from the refund releases nothing; the refund stays PENDING_RELEASE,
its history says why, and the order waits in the work queue with the difference."""

from __future__ import annotations

import json
from typing import Any

import pytest

from postsales.core.bootstrap import Postsales
from postsales.core.errors import Refused
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines, ingest
from postsales.core.services.orders import show_order
from postsales.core.services.search import work_queue
from postsales.core.services.users import get_user
from tests.conftest import example, import_examples

ORDER = "000000101"
REFUND = "RF-000000101-1"


def returned(app: Postsales) -> dict[str, Any]:
    """The example order shipped, line 2 returned: refund RF-000000101-1 of 54.00 USD sent to
    the message gateway (PENDING_RELEASE)."""
    import_examples(app, "order-create.json", "shipment-shipped.json")
    params = {"lines": [2], "reason": "Too small", "comment": "called"}
    run_action(app, ORDER, "return", params, get_user(app, None))
    refund = refund_doc(app)
    assert (refund["status"], refund["amount"]) == ("PENDING_RELEASE", "54.00")
    return refund


def refund_doc(app: Postsales) -> dict[str, Any]:
    doc = show_order(app, ORDER, get_user(app, None))
    return next(r for r in doc["refunds"] if r["id"] == REFUND)


def confirmation(message_id: str, **payload: Any) -> str:
    message = example("refund-confirmed.json")
    message["id"] = message_id
    message["payload"].update(payload)
    return json.dumps(message)


def queue_reasons(app: Postsales) -> list[str]:
    result = work_queue(app, get_user(app, None), per_page=100)
    return [r for o in result.orders if o["id"] == ORDER for r in o["reasons"]]


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"amount": "0.01"}, "the gateway confirmed 0.01 USD; refund RF-000000101-1 is 54.00 USD "
         "(53.99 USD less)"),
        ({"amount": "540.00"}, "(486.00 USD more)"),
        ({"amount": "54.00", "currency": "EUR"}, "the gateway confirmed 54.00 EUR; refund "
         "RF-000000101-1 is 54.00 USD"),
    ],
)  # fmt: skip
def test_a_confirmation_that_differs_is_refused_into_the_queue(
    app: Postsales, payload: dict[str, Any], says: str
) -> None:
    returned(app)
    report = import_lines(app, [confirmation("msg-pg-1", **payload)])
    assert [(r.exit_code, r.message_id) for r in report.refused] == [(3, "msg-pg-1")]
    assert says in report.refused[0].reason
    refund = refund_doc(app)
    assert refund["status"] == "PENDING_RELEASE" and refund["credit_note"] is None
    assert says in refund["gateway_mismatch"]
    doc = show_order(app, ORDER, get_user(app, None))
    assert doc["totals"]["refunded"] == "54.00"  # the ledger is as it was: nothing released
    refused = [h for h in doc["history"] if h["kind"] == "refund.confirmation_refused"]
    assert len(refused) == 1 and says in refused[0]["summary"]
    assert not [h for h in doc["history"] if h["kind"] == "refund.confirmed"]
    assert [r for r in queue_reasons(app) if says in r]
    # The same message again is a duplicate: no second record.
    assert not import_lines(app, [confirmation("msg-pg-1", **payload)]).refused
    doc = show_order(app, ORDER, get_user(app, None))
    assert sum(h["kind"] == "refund.confirmation_refused" for h in doc["history"]) == 1

    # The gateway's right answer releases it and takes it out of the queue.
    assert not import_lines(app, [confirmation("msg-pg-2")]).refused
    refund = refund_doc(app)
    assert refund["status"] == "RELEASED" and refund["gateway_mismatch"] is None
    assert queue_reasons(app) == []


def test_through_the_api_door_it_is_a_conflict(app: Postsales) -> None:
    returned(app)
    with pytest.raises(Refused, match=r"0\.01 USD"):
        ingest(app, confirmation("msg-pg-3", amount="0.01"))
    assert refund_doc(app)["status"] == "PENDING_RELEASE"


def test_a_cancelled_refund_leaves_the_queue(app: Postsales) -> None:
    returned(app)
    import_lines(app, [confirmation("msg-pg-4", amount="1.00")])
    assert queue_reasons(app)
    run_action(app, ORDER, "cancel_refund", {"refund_id": REFUND}, get_user(app, None))
    assert refund_doc(app)["gateway_mismatch"] is None and queue_reasons(app) == []


def test_a_matching_confirmation_still_releases(app: Postsales) -> None:
    returned(app)
    assert not import_lines(app, [confirmation("msg-pg-5", currency="USD")]).refused
    assert refund_doc(app)["status"] == "RELEASED"
