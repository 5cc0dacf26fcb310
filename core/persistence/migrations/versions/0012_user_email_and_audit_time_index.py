"""Users get an e-mail address (issue 16 item 7); the audit log is read by time (item 5)

- `users.email`: optional; what outbound messages name as the acting `user` (seed 002's
  `postsales.reshipment.management.create` says `"user": "you@youremail.com"`), shown to admins.
  Users made before this revision have none until an admin sets it (`postsales users set NAME
  --email …` or the admin user page); until then messages name them by user name.
- `audit_log (at)`: the audit log read newest first, unfiltered or by actor or time
  (`postsales audit`, `/admin/audit`); `(kind, at)` serves the kind filters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


INDEX = "ix_audit_log_at"


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(length=254)))
    op.create_index(INDEX, "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="audit_log")
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0011 does.
    op.execute("ALTER TABLE users DROP COLUMN email")
