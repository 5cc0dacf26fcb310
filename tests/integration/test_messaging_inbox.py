"""`core.services.messages.inbox.receive`, the consumer's transport-free half (issue 7 item 3):
what is applied, what is a duplicate, what is dead-lettered and what is given back to retry —
and the same message arriving three times at once has one effect, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.messages import inbox
from postsales.core.services.users import get_user
from tests.conftest import example


def body(name: str) -> bytes:
    return json.dumps(example(name)).encode()


def rows(app: Postsales, table: Any) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(table)))


def three_at_once(app: Postsales, raw: bytes) -> list[str]:
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def deliver() -> None:
        barrier.wait()
        outcomes.append(inbox.receive(app, raw).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)


def test_three_simultaneous_deliveries_have_one_effect(app: Postsales) -> None:
    once = ["applied", "duplicate", "duplicate"]
    assert three_at_once(app, body("order-create.json")) == once
    assert three_at_once(app, body("shipment-shipped.json")) == once
    run_action(
        app, "000000101", "return", {"lines": [2], "reason": "Damaged", "comment": "t"},
        get_user(app, None),
    )  # fmt: skip
    # A second confirmation of a confirmed refund would be refused: without serialising the
    # copies, one of them would end up a dead letter.
    assert three_at_once(app, body("refund-confirmed.json")) == once
    assert rows(app, T.dead_letters) == []
    kinds = [h.kind for h in rows(app, T.history)]
    assert kinds.count("order.created") == 1
    assert kinds.count("shipment.shipped") == 1
    assert kinds.count("refund.confirmed") == 1
    emails = [r.payload["template"] for r in rows(app, T.outbox) if r.type == "notification.email"]
    assert emails == ["order_shipped", "return_created", "refund_released"]


def test_outcomes(sqlite_app: Postsales) -> None:
    app = sqlite_app
    assert inbox.receive(app, body("order-create.json")) == inbox.Received("applied")
    assert inbox.receive(app, body("order-create.json")).outcome == "duplicate"
    bad = inbox.receive(
        app,
        b'{"id": "m1", "type": "logistics.return.received", "payload": {},'
        b' "created_at": "2026-11-12T10:44:09+00:00"}',
    )
    assert bad.outcome == "dead_letter" and bad.ack and "payload." in (bad.reason or "")
    nul = inbox.receive(app, b'{"id": "m2"\x00}')
    assert nul.outcome == "dead_letter" and "NUL" in (nul.reason or "")
    letters = rows(app, T.dead_letters)
    assert [d.message_id for d in letters] == ["m1", None]
    assert "\\u0000" in letters[1].raw  # escaped as the import escapes it


@pytest.mark.parametrize(
    ("error", "attempt", "outcome", "reason"),
    [
        (OperationalError("SELECT", {}, Exception("database is locked")), 9, "retry", "unavail"),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), 1, "retry", "conflict"),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), 5, "dead_letter", "refused"),
        (KeyError("carrier"), 1, "dead_letter", "internal error: KeyError"),
    ],
)
def test_errors_are_retried_only_when_trying_again_can_help(
    sqlite_app: Postsales,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    attempt: int,
    outcome: str,
    reason: str,
) -> None:
    def failing(app: Postsales, raw: Any) -> str:
        raise error

    monkeypatch.setattr(inbox, "ingest", failing)
    received = inbox.receive(sqlite_app, body("order-create.json"), attempt=attempt)
    assert received.outcome == outcome and reason in (received.reason or "")
    assert received.ack == (outcome != "retry")
    letters = rows(sqlite_app, T.dead_letters)
    assert len(letters) == (outcome == "dead_letter")
    if letters:
        assert letters[0].message_id == "msg-2026-000101"
        assert letters[0].type == "sales.order_management.create"
