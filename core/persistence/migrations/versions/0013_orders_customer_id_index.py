"""The customer page's index (issue 13 item 5)

- `orders (customer_id)`: `/customers/<id>` gathers a customer's orders by their id; without
  an index that read every order. (A guest's orders are gathered by email, which
  `ix_orders_email_norm` already serves.)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEX = "ix_orders_customer_id"


def upgrade() -> None:
    op.create_index(INDEX, "orders", ["customer_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="orders")
