"""A refund's refused gateway confirmation; billing data kept outside orders sealed (issue 17)

- `refunds.gateway_mismatch`: how a `payment.refund.confirmed` differed from its refund (amount
  or currency); such a refund stays PENDING_RELEASE and is in the work queue (item 9).
- Rows written before S-6 reached them are sealed with the database's billing key (item 2,
  `core/persistence/sealing.py`): responses kept for Idempotency-Key replays, outbound payloads
  that carry a billing address, the billing address in dead letters, and export audit rows
  filtered by billing words. A database holding none of them needs no key. The downgrade opens
  them again, since the code before this revision reads them in clear.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

_keys = sa.table(
    "idempotency_keys",
    sa.column("user_name", sa.String),
    sa.column("key", sa.String),
    sa.column("response", sa.JSON),
)
_outbox = sa.table(
    "outbox", sa.column("seq", sa.Integer), sa.column("message_id", sa.String),
    sa.column("payload", sa.JSON),
)  # fmt: skip
_letters = sa.table(
    "dead_letters", sa.column("id", sa.Integer), sa.column("reason", sa.Text),
    sa.column("raw", sa.Text),
)  # fmt: skip
_audit = sa.table(
    "audit_log", sa.column("id", sa.Integer), sa.column("kind", sa.String),
    sa.column("detail", sa.JSON),
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("gateway_mismatch", sa.Text(), nullable=True))
    _convert(seal=True)


def downgrade() -> None:
    _convert(seal=False)
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_column("gateway_mismatch")


def _convert(*, seal: bool) -> None:
    from postsales.core.crypto import SEALED, BillingCipher, is_sealed
    from postsales.core.persistence import sealing
    from postsales.core.persistence.keys import cipher_for

    bind = op.get_bind()
    found: list[BillingCipher] = []

    def cipher() -> BillingCipher:
        if not found:  # only now: a database with nothing to seal needs no key
            found.append(cipher_for(bind))
        return found[0]

    for row in _rows(bind, sa.select(_keys).where(_keys.c.response.is_not(None))):
        context = sealing.idempotency_context(row.user_name, row.key)
        if seal == is_sealed(row.response):
            continue
        value = (
            cipher().seal_json(context, row.response)
            if seal
            else cipher().unseal_json(context, row.response)
        )
        where = sa.and_(_keys.c.user_name == row.user_name, _keys.c.key == row.key)
        bind.execute(sa.update(_keys).where(where).values(response=value))

    for row in _batches(bind, _outbox, _outbox.c.seq):
        if seal and sealing.holds_billing(row.payload):
            value = sealing.seal_outbox_payload(cipher(), row.message_id, row.payload)
        elif not seal and is_sealed(row.payload):
            value = sealing.open_outbox_payload(cipher(), row.message_id, row.payload)
        else:
            continue
        bind.execute(sa.update(_outbox).where(_outbox.c.seq == row.seq).values(payload=value))

    for row in _batches(bind, _letters, _letters.c.id):
        if seal:
            raw, reason = sealing.seal_dead_letter(cipher, row.raw, row.reason)
        elif SEALED in row.raw:
            raw, reason = sealing.open_dead_letter(cipher(), row.raw), row.reason
        else:
            continue
        if (raw, reason) != (row.raw, row.reason):
            update = sa.update(_letters).where(_letters.c.id == row.id)
            bind.execute(update.values(raw=raw, reason=reason))

    exports = _audit.c.kind == "orders.export"
    for row in _batches(bind, _audit, _audit.c.id, exports):
        detail = row.detail or {}
        if seal:
            value = sealing.seal_audit_filters(cipher, detail)
        else:
            value = _open_audit(cipher, detail)
        if value != detail:
            bind.execute(sa.update(_audit).where(_audit.c.id == row.id).values(detail=value))


def _open_audit(cipher: Callable[[], Any], detail: dict[str, Any]) -> dict[str, Any]:
    from postsales.core.crypto import is_sealed

    out = dict(detail)
    if isinstance(out.get("filters"), dict):
        filters = out["filters"] = dict(out["filters"])
        for name, value in filters.items():
            if is_sealed(value):
                filters[name] = cipher().unseal_json(f"audit\x00{name}", value)
    if is_sealed(out.get("expression")):
        out["expression"] = cipher().unseal_json("audit\x00expression", out["expression"])
    return out


def _rows(bind: sa.engine.Connection, query: Any) -> list[Any]:
    return list(bind.execute(query))


def _batches(
    bind: sa.engine.Connection, table: Any, key: Any, where: Any = sa.true()
) -> Iterator[Any]:
    last = None
    while True:
        query = sa.select(table).where(where).order_by(key).limit(1000)
        if last is not None:
            query = query.where(key > last)
        rows = list(bind.execute(query))
        if not rows:
            return
        yield from rows
        last = getattr(rows[-1], key.name)
