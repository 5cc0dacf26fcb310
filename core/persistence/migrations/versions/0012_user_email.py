"""Users get an e-mail address (issue 16 item 7)

- `users.email`: optional; what outbound messages name as the acting `user` (seed 002's
  `postsales.reshipment.management.create` says `"user": "you@youremail.com"`), shown to admins.
  Users made before this revision have none until an admin sets it (`postsales users set NAME
  --email …` or the admin user page); until then messages name them by user name.

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


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(length=254)))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0011 does.
    op.execute("ALTER TABLE users DROP COLUMN email")
