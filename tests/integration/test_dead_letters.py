"""Dead letters keep what an operator needs: a parsed but invalid envelope's `id` and `type`
(issue 17 item 11), whichever door refused it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.messages import inbox
from postsales.core.services.messages.inbound import import_lines


def letters(app: Postsales) -> list[tuple[str | None, str | None]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(T.dead_letters).order_by(T.dead_letters.c.id)).all()
    return [(r.message_id, r.type) for r in rows]


@pytest.mark.parametrize(
    "change",
    [
        {"created_at": "yesterday"},
        {"created_at": None},
        {"payload": "not an object"},
        {"type": "no.such.type"},
        {"extra": True, "created_at": 12},
    ],
)
def test_a_refused_envelope_keeps_its_id_and_type(app: Postsales, change: dict) -> None:
    envelope = {
        "id": "msg-dl-1",
        "type": "payment.refund.confirmed",
        "created_at": "2026-11-12T11:02:51+00:00",
        "payload": {"order_id": "1", "refund_id": "RF-1", "amount": "1.00"},
        **change,
    }
    report = import_lines(app, [json.dumps(envelope)])
    assert len(report.refused) == 1
    assert letters(app) == [("msg-dl-1", envelope["type"])]
    assert inbox.receive(app, json.dumps(envelope).encode()).outcome == "dead_letter"
    assert letters(app)[-1] == ("msg-dl-1", envelope["type"])


def test_only_strings_are_taken_for_id_and_type(app: Postsales) -> None:
    import_lines(app, [json.dumps({"id": 7, "type": ["x"], "payload": {}}), '"text"', "{"])
    assert letters(app) == [(None, None)] * 3
    long_id = "m" * 500
    import_lines(app, [json.dumps({"id": long_id, "type": "t", "created_at": "x"})])
    assert letters(app)[-1] == (long_id[: T.dead_letters.c.message_id.type.length], "t")
