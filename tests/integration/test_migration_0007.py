"""Migration 0007 (user ids, sessions, sign-in failures, tokens) keeps the users and tokens a
database already has, both ways, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text

from postsales.core.bootstrap import Postsales
from postsales.core.persistence.migrate import alembic_config, upgrade
from postsales.core.services.tokens import _hash, create_token, revoke_token, user_for_token
from postsales.core.services.user_admin import disable_user
from postsales.core.services.users import add_user, get_user, verify_password
from tests.integration.test_migrations import (
    test_migrations_match_the_declared_tables as schema_matches,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


def downgrade(app: Postsales, revision: str) -> None:
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_users_and_tokens_survive_the_upgrade_and_the_downgrade(app: Postsales) -> None:
    add_user(app, "zoe", ["agent"], "password-123")  # a user made before, hashed as usual
    downgrade(app, "0006")
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, password_hash, roles, timezone, created_at) "
                "VALUES ('anna', NULL, '[\"agent\"]', 'Europe/Berlin', :t)"
            ),
            {"t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (token_hash, user_name, created_at) VALUES (:h, 'anna', :t)"
            ),
            {"h": _hash("pst_old-token"), "t": T0},
        )
    upgrade(app.engine)
    schema_matches(app)
    anna = user_for_token(app, "pst_old-token")
    assert anna is not None and anna.name == "anna" and anna.timezone == "Europe/Berlin"
    assert verify_password(app, "zoe", "password-123") is not None
    with app.engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT name, id FROM users")).all())
    assert ids["anna"] < ids["zoe"]  # ids follow the order users were made in
    newcomer = add_user(app, "newcomer", ["agent"], None)
    assert newcomer.id == max(ids.values()) + 1  # the sequence moved past the copied ids

    # Tokens the old table cannot describe would come back with every right: they are dropped.
    system = get_user(app, None)
    create_token(app, "zoe", actor=system, scope=["read"])
    create_token(app, "zoe", actor=system, expires_at=app.now() + timedelta(days=1))
    revoke_token(app, "zoe", create_token(app, "zoe", actor=system).id, actor=system)
    # A disabled user would come back able to sign in: she comes back without a password.
    add_user(app, "gone", ["agent"], "password-123")
    create_token(app, "gone", actor=system)
    disable_user(app, "gone", actor=system)
    downgrade(app, "0006")
    with app.engine.connect() as conn:
        users = dict(conn.execute(text("SELECT name, password_hash FROM users")).all())
        owner = conn.execute(text("SELECT user_name FROM api_tokens")).scalar_one()
    assert set(users) == {"anna", "zoe", "newcomer", "gone"} and owner == "anna"
    assert users["gone"] is None and users["zoe"] is not None
    upgrade(app.engine)
    assert user_for_token(app, "pst_old-token").name == "anna"  # type: ignore[union-attr]
