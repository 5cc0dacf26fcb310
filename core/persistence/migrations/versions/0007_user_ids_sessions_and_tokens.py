"""user ids, web sessions, sign-in failures and API tokens an admin controls

Users get an id that is never reused; API tokens and web sessions belong to it, not to the
name (issue 17 items 4 and 7). `users` and `api_tokens` are small, so both are rebuilt by
copying their rows rather than altered in place (SQLite cannot change a primary key).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postsales.core.persistence.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = postsales.core.persistence.tables.UTCDateTime


def _user_columns() -> list[sa.ColumnClause]:
    return [
        sa.column("name", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("roles", sa.JSON()),
        sa.column("timezone", sa.String()),
        sa.column("created_at", UTC()),
    ]


def _rows(name: str, *columns: sa.ColumnClause) -> list[dict]:
    """Every row of a table, read through typed columns (JSON decoded, times aware)."""
    table = sa.table(name, *columns)
    return [dict(r._mapping) for r in op.get_bind().execute(sa.select(table))]


def upgrade() -> None:
    users = sorted(_rows("users", *_user_columns()), key=lambda r: (r["created_at"], r["name"]))
    tokens = _rows(
        "api_tokens",
        sa.column("token_hash", sa.String()),
        sa.column("user_name", sa.String()),
        sa.column("created_at", UTC()),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_name"))
    op.drop_table("api_tokens")
    op.drop_table("users")

    new_users = op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_sign_in_at", UTC(), nullable=True),
        sa.Column("disabled_at", UTC(), nullable=True),
        sa.Column("disabled_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sqlite_autoincrement=True,
    )
    new_tokens = op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("last_used_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("seen_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_seen_at"), ["seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_failures_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sign_in_failures_address_at"), ["address", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sign_in_failures_username_at"), ["username", "at"], unique=False
        )

    ids = {row["name"]: n for n, row in enumerate(users, start=1)}
    if users:
        op.bulk_insert(new_users, [{**row, "id": ids[row["name"]]} for row in users])
        if op.get_bind().dialect.name == "postgresql":  # ids were given: move the sequence on
            op.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users")
    kept = [  # tokens made before 0007 are named "token", with neither scope nor expiry
        {
            "token_hash": t["token_hash"],
            "user_id": ids[t["user_name"]],
            "name": "token",
            "created_at": t["created_at"],
            "created_by": "-",
        }
        for t in tokens
        if t["user_name"] in ids
    ]
    if kept:
        op.bulk_insert(new_tokens, kept)


def downgrade() -> None:
    users = _rows(
        "users",
        sa.column("id", sa.Integer()),
        sa.column("disabled_at", UTC()),
        *_user_columns(),
    )
    tokens = _rows(
        "api_tokens",
        sa.column("token_hash", sa.String()),
        sa.column("user_id", sa.Integer()),
        sa.column("created_at", UTC()),
        sa.column("scope", sa.JSON()),
        sa.column("expires_at", UTC()),
        sa.column("revoked_at", UTC()),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_failures_username_at"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failures_address_at"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failures_at"))
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_seen_at"))
    op.drop_table("web_sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
    op.drop_table("api_tokens")
    op.drop_table("users")

    old_users = op.create_table(
        "users",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
    )
    old_tokens = op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name=op.f("fk_api_tokens_user_name_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_name"), ["user_name"], unique=False)
    names = {row["id"]: row["name"] for row in users}
    if users:
        # The old table cannot say "disabled": such a user comes back without a password (no
        # sign-in) and without tokens, rather than able to do everything again.
        op.bulk_insert(
            old_users,
            [
                {
                    **{k: v for k, v in row.items() if k not in ("id", "disabled_at")},
                    **({"password_hash": None} if row["disabled_at"] else {}),
                }
                for row in users
            ],
        )
    disabled = {row["id"] for row in users if row["disabled_at"]}
    kept = [
        {
            "token_hash": t["token_hash"],
            "user_name": names[t["user_id"]],
            "created_at": t["created_at"],
        }
        for t in tokens
        # The old table cannot say "revoked", "expires" or "read only": such a token would
        # come back with every right of its user, so it is dropped instead.
        if t["user_id"] in names
        and t["user_id"] not in disabled
        and t["revoked_at"] is None
        and t["expires_at"] is None
        and t["scope"] is None
    ]
    if kept:
        op.bulk_insert(old_tokens, kept)
