"""A return is never dated before its order (issue 18 items 3 and 4)

PostgreSQL counts the orders of a time range that have a return by the returns created since
the range's start (`search/counting.py`), which holds only if no return is older than its
order. The returns service now dates a return no earlier than its order; this moves any
return recorded earlier by a host whose clock ran behind to its order's time. Nothing else
of the return changes, and there is nothing to undo.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 20:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ORDER_TIME = "(SELECT orders.created_at FROM orders WHERE orders.seq = returns.order_seq)"


def upgrade() -> None:
    op.execute(f"UPDATE returns SET created_at = {_ORDER_TIME} WHERE created_at < {_ORDER_TIME}")


def downgrade() -> None:
    pass  # the returns' earlier times are not kept: no search depends on them
