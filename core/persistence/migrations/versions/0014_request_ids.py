"""Request ids on history and outbox rows (issue 15 item 4)

`history.request_id` and `outbox.request_id`: the id of the web request (the `X-Request-Id`
the app answered with, also in its JSON log line) or inbound message whose action wrote the
row, so a log line leads to what it changed and back. Nullable: rows written before, by the
CLI or by a bulk import have none.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("history", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in ("history", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_id")
