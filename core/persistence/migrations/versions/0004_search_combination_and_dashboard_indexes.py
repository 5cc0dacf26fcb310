"""search combination and dashboard date indexes (issue 5 item 7)

- `orders (status, created_at, sales_channel, seq)`: a time range with one or more statuses
  (and a store) reads only that status's part of the range, covered (no order row read), on
  both databases; the older `(created_at, status, sales_channel)` still serves a range alone.
- `returns (created_at)` and `refunds (created_at)`: the dashboard's "last N days" figures.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_status_created_at_sales_channel_seq"),
            ["status", "created_at", "sales_channel", "seq"],
            unique=False,
        )

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_created_at"))

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_created_at"))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status_created_at_sales_channel_seq"))
