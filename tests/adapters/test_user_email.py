"""Users have an e-mail address (issue 16 item 7): set through the CLI and the admin page,
checked, audited, and what a reshipment's `postsales.reshipment.management.create` names as its
`user`, as seed 002's example does (`"user": "you@youremail.com"`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.errors import BadInput
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.user_admin import change_user, show_user
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_cli import run
from tests.adapters.test_web import PASSWORD, make_web, post, sign_in
from tests.conftest import import_examples, outbox_rows

ORDER = "000000101"


def test_an_address_is_checked_and_changes_are_audited(sqlite_app: Postsales) -> None:
    system = get_user(sqlite_app, None)
    add_user(sqlite_app, "anna", ["agent"], None, email=" anna@luma.example ")
    assert show_user(sqlite_app, "anna", actor=system)["email"] == "anna@luma.example"
    for bad in ("anna", "anna@", "@luma.example", "anna@luma", "a b@luma.example",
                "anna@luma.example>", "ánna@luma.example", "a@b@luma.example",
                "x" * 250 + "@luma.example"):  # fmt: skip
        with pytest.raises(BadInput, match=r"^email: .* is not an e-mail address") as caught:
            change_user(sqlite_app, "anna", actor=system, email=bad)
        assert caught.value.field == "email"
    with pytest.raises(BadInput, match="email: "):
        add_user(sqlite_app, "bob", ["agent"], None, email="bob at luma")
    changed = change_user(sqlite_app, "anna", actor=system, email="anna.k@luma.example")
    assert changed == {"email": {"from": "anna@luma.example", "to": "anna.k@luma.example"}}
    assert change_user(sqlite_app, "anna", actor=system, email="anna.k@luma.example") == {}
    assert change_user(sqlite_app, "anna", actor=system, email="") == {
        "email": {"from": "anna.k@luma.example", "to": None}
    }
    with sqlite_app.engine.connect() as conn:
        details = [r.detail for r in conn.execute(select(T.audit_log).order_by(T.audit_log.c.id))]
    assert details[0]["email"] == "anna@luma.example"
    assert [d.get("email") for d in details[1:]] == [
        {"from": "anna@luma.example", "to": "anna.k@luma.example"},
        {"from": "anna.k@luma.example", "to": None},
    ]


def test_cli_users_add_and_set_email(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", db, "init").exit_code == 0
    added = run("--db", db, "users", "add", "anna", "--role", "agent",
                "--email", "anna@luma.example", "--json")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["email"] == "anna@luma.example"
    bad = run("--db", db, "users", "set", "anna", "--email", "anna@")
    assert bad.exit_code == 2 and "email: 'anna@' is not an e-mail address" in bad.output
    done = run("--db", db, "users", "set", "anna", "--email", "anna.k@luma.example")
    assert done.exit_code == 0
    assert "anna: email anna@luma.example -> anna.k@luma.example" in done.output
    listed = json.loads(run("--db", db, "users", "list", "--json").output)
    assert [(u["name"], u["email"]) for u in listed] == [("anna", "anna.k@luma.example")]
    assert "anna.k@luma.example" in run("--db", db, "users", "list").output
    cleared = run("--db", db, "users", "set", "anna", "--email", "")
    assert "anna: email anna.k@luma.example -> none" in cleared.output
    nothing = run("--db", db, "users", "set", "anna")
    assert nothing.exit_code == 2 and "--email" in nothing.output


@pytest.fixture
def web(sqlite_app: Postsales) -> Flask:
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    add_user(sqlite_app, "ada", ["admin"], PASSWORD)
    return make_web(sqlite_app)


@pytest.fixture
def admin(web: Flask) -> FlaskClient:
    client = web.test_client()
    assert sign_in(client, "ada").status_code == 302
    return client


def test_the_admin_user_page_sets_the_email(web: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/users/anna").text
    assert '<label for="user-email">E-mail</label>' in page and 'id="user-email"' in page
    form = {"role": ["agent"], "timezone": "UTC", "email": "anna@luma.example"}
    assert post(admin, "/admin/users/anna", form).status_code == 302
    page = admin.get("/admin/users/anna").text
    assert "anna: email changed." in page and 'value="anna@luma.example"' in page
    assert "anna@luma.example" in admin.get("/admin/users").text
    bad = post(admin, "/admin/users/anna", {**form, "email": "anna@luma"})
    assert bad.status_code == 422 and "is not an e-mail address" in bad.text
    assert 'value="anna@luma"' in bad.text and 'aria-invalid="true"' in bad.text  # kept
    services = web.extensions["postsales"]
    assert get_user(services, "anna").email == "anna@luma.example"


@pytest.mark.parametrize(("email", "named"), [("anna@luma.example", "anna@luma.example"),
                                              (None, "anna")])  # fmt: skip
def test_the_reshipment_create_names_the_agent_by_email(
    app: Postsales, email: str | None, named: str
) -> None:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    add_user(app, "anna", ["agent"], None, email=email)
    run_action(app, ORDER, "reshipment", {"lines": [2], "reason": "Lost"}, get_user(app, "anna"))
    (created,) = outbox_rows(app, "postsales.reshipment.management.create")
    assert created.payload["user"] == named


def test_a_signed_in_agent_and_a_token_carry_the_email(sqlite_app: Postsales) -> None:
    """The user a door acts as is read with the address, so a web form or an API call names
    the agent by e-mail too, not only the CLI."""
    from postsales.core.services.sessions import resume_session, start_session
    from postsales.core.services.tokens import issue_token, user_for_token

    anna = add_user(sqlite_app, "anna", ["agent"], PASSWORD, email="anna@luma.example")
    assert anna.email == "anna@luma.example"
    token = issue_token(sqlite_app, "anna")
    assert user_for_token(sqlite_app, token).email == "anna@luma.example"
    session = start_session(sqlite_app, anna)
    resumed = resume_session(sqlite_app, session).user
    assert resumed is not None and resumed.email == "anna@luma.example"


def test_migration_0012_goes_down_and_up(app: Postsales) -> None:
    """0012 adds `users.email` and the audit log's time index; down to 0011 removes both
    (the users stay), up again brings them back empty."""
    from alembic import command
    from sqlalchemy import inspect

    from postsales.core.persistence.migrate import alembic_config, head_revision, upgrade
    from tests.integration.test_migrations import test_migrations_match_the_declared_tables

    add_user(app, "anna", ["agent"], None, email="anna@luma.example")
    cfg = alembic_config(app.engine)
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    with app.engine.connect() as conn:
        assert "email" not in {c["name"] for c in inspect(conn).get_columns("users")}
        assert "ix_audit_log_at" not in {i["name"] for i in inspect(conn).get_indexes("audit_log")}
    assert upgrade(app.engine)[1] == head_revision()
    test_migrations_match_the_declared_tables(app)
    assert get_user(app, "anna").email is None
