"""Migration 0008 (issue 17 items 2 and 9): billing data kept in clear before it is sealed on
upgrade and opened on downgrade; `refunds.gateway_mismatch` comes and goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import inspect, select

from postsales.core.bootstrap import Postsales
from postsales.core.crypto import is_sealed
from postsales.core.persistence import tables as T
from postsales.core.persistence.migrate import alembic_config, current_revision, upgrade
from postsales.core.services import idempotency
from postsales.core.services.messages.outbox import pending
from tests.conftest import example
from tests.integration.test_billing_at_rest import BILLING, SECRETS, dump, order_create

NOW = datetime.now(UTC)  # kept keys expire after 24 hours
RESPONSE = {"content_type": "application/json", "body": json.dumps({"billing": BILLING})}
PAYLOAD = {"shipment_request": {"id": "S-1", "billing_address": BILLING, "addresses": [BILLING]}}


def downgrade(app: Postsales, revision: str) -> None:
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def refund_columns(app: Postsales) -> set[str]:
    with app.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("refunds")}


def old_rows(app: Postsales) -> None:
    """Rows as the code before 0008 wrote them: billing data in clear."""
    with app.engine.begin() as conn:
        conn.execute(
            T.idempotency_keys.insert().values(
                user_name="sam", key="k-1", request_hash="h", status_code=200,
                response=RESPONSE, created_at=NOW,
            )
        )  # fmt: skip
        conn.execute(
            T.outbox.insert().values(
                message_id="out-1", type="logistics.shipment_request_management.requested",
                order_id=None, payload=PAYLOAD, created_at=NOW,
            )
        )  # fmt: skip
        conn.execute(
            T.dead_letters.insert().values(
                message_id="msg-billing-1", type="sales.order_management.create",
                reason="refused", raw=json.dumps(order_create()), received_at=NOW,
            )
        )  # fmt: skip
        detail: dict[str, Any] = {"format": "csv", "filters": {"billing_address": "Vexhampton"}}
        conn.execute(
            T.audit_log.insert().values(at=NOW, actor="sam", kind="orders.export", detail=detail)
        )


def test_0008_seals_billing_data_kept_before_and_opens_it_on_downgrade(app: Postsales) -> None:
    head = current_revision(app.engine)
    downgrade(app, "0007")
    assert "gateway_mismatch" not in refund_columns(app)
    old_rows(app)
    assert [s for s in SECRETS if s.lower() in dump(app).lower()]  # the dump sees them

    assert upgrade(app.engine) == ("0007", head)
    assert "gateway_mismatch" in refund_columns(app)
    assert [s for s in SECRETS if s.lower() in dump(app).lower()] == []
    with app.engine.connect() as conn:
        kept = conn.execute(select(T.idempotency_keys.c.response)).scalar_one()
        stored = conn.execute(select(T.outbox.c.payload)).scalar_one()
        audit = conn.execute(select(T.audit_log.c.detail)).scalar_one()
    assert is_sealed(kept) and is_sealed(stored) and is_sealed(audit["filters"]["billing_address"])
    # The code reads them as before.
    replay = idempotency.lookup(app, "sam", "k-1", "h")
    assert replay is not None and replay.response == RESPONSE
    assert pending(app)[0].payload == PAYLOAD

    downgrade(app, "0007")
    with app.engine.connect() as conn:
        assert conn.execute(select(T.idempotency_keys.c.response)).scalar_one() == RESPONSE
        assert conn.execute(select(T.outbox.c.payload)).scalar_one() == PAYLOAD
        raw = conn.execute(select(T.dead_letters.c.raw)).scalar_one()
        audit = conn.execute(select(T.audit_log.c.detail)).scalar_one()
    assert json.loads(raw) == order_create()
    assert audit["filters"] == {"billing_address": "Vexhampton"}
    assert upgrade(app.engine)[1] == head


def test_0008_on_a_database_without_billing_data_needs_no_key(app: Postsales) -> None:
    downgrade(app, "0007")
    with app.engine.begin() as conn:
        conn.execute(
            T.outbox.insert().values(
                message_id="out-2", type="sales.order_management.updated", order_id=None,
                payload=example("order-create.json")["payload"]["order"]["customer"],
                created_at=NOW,
            )
        )  # fmt: skip
    assert upgrade(app.engine)[1] == current_revision(app.engine)
    with app.engine.connect() as conn:
        assert not is_sealed(conn.execute(select(T.outbox.c.payload)).scalar_one())
