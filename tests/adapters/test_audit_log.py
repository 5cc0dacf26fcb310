"""Reading the audit log (issue 16 item 5): `postsales audit` and `/admin/audit`, for users with
users.manage who see every store; filters by kind or category, actor and time (dates in the
reader's zone), paging, newest first; sealed billing words stay sealed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.domain.users import User
from postsales.core.errors import BadInput, Forbidden
from postsales.core.services import audit
from postsales.core.services.audit_log import read_audit
from postsales.core.services.tokens import issue_token, user_for_token
from postsales.core.services.user_admin import change_user
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_cli import run
from tests.adapters.test_web import PASSWORD, Clock, make_web, sign_in


@pytest.fixture
def services(sqlite_app: Postsales) -> Postsales:
    """Users ada (admin, Berlin) and anna (agent); a day of audit records."""
    clock = Clock()
    clock.now = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin, Dec 1
    sqlite_app.clock = clock
    add_user(sqlite_app, "ada", ["admin"], PASSWORD, "Europe/Berlin")
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    clock.advance(hours=1)  # 00:30 in Berlin, Dec 2
    audit.record_sign_in_failure(sqlite_app, "anna", door="web", source="10.0.0.9",
                                 reason="invalid")  # fmt: skip
    change_user(sqlite_app, "anna", actor=get_user(sqlite_app, "ada"), timezone="Europe/Paris")
    with sqlite_app.uow() as uow:
        sealed = {"filters": {"billing_address": {"$sealed": "b1.k1.AAAA"}, "status": "NEW"}}
        audit.append(uow.conn, sqlite_app, "ada", "orders.export", sealed)
        uow.commit()
    return sqlite_app


def test_entries_newest_first_filtered_and_paged(services: Postsales) -> None:
    ada = get_user(services, "ada")
    everything = read_audit(services, ada)
    kinds = [e["kind"] for e in everything.entries]
    assert kinds == ["orders.export", "user.changed", "auth.sign_in_failed", "user.added",
                     "user.added"]  # fmt: skip
    assert everything.total == 5
    export = everything.entries[0]
    assert export["detail"]["filters"] == {"billing_address": "[billing data]", "status": "NEW"}
    assert [e["kind"] for e in read_audit(services, ada, kinds=["user"]).entries] == [
        "user.changed", "user.added", "user.added"
    ]  # fmt: skip
    only = read_audit(services, ada, kinds=["auth.sign_in_failed", "orders.export"])
    assert [e["actor"] for e in only.entries] == ["ada", "anna"]
    assert read_audit(services, ada, actor="anna").total == 1
    # Dates are days in the reader's zone: Berlin's Dec 1 holds the two users added at 23:30.
    assert read_audit(services, ada, until="2026-12-01").total == 2
    assert read_audit(services, ada, since="2026-12-02").total == 3
    assert read_audit(services, ada, since="2026-12-01T23:00:00Z").total == 3
    second = read_audit(services, ada, page=2, per_page=2)
    assert (second.total, [e["kind"] for e in second.entries]) == (
        5, ["auth.sign_in_failed", "user.added"])  # fmt: skip
    for bad, field in ((dict(since="yesterday"), "since"), (dict(kinds=["ACCESS;"]), "kind"),
                       (dict(per_page=501), "per_page"), (dict(page=0), "page"),
                       (dict(since="2026-12-02", until="2026-12-01"), "until")):  # fmt: skip
        with pytest.raises(BadInput) as caught:
            read_audit(services, ada, **bad)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_only_user_managers_of_every_store_read_it(services: Postsales) -> None:
    with pytest.raises(Forbidden, match=r"users\.manage who see every sales channel"):
        read_audit(services, get_user(services, "anna"))
    one_store = User("sue", ("store_admin",), frozenset({"users.manage"}), frozenset({"ST1"}))
    with pytest.raises(Forbidden):
        read_audit(services, one_store)
    assert read_audit(services, get_user(services, None)).total == 5  # the CLI's system user


def test_sign_ins_and_token_use_are_recorded(services: Postsales) -> None:
    client = make_web(services).test_client()
    assert sign_in(client, "anna").status_code == 302
    token = issue_token(services, "anna")
    from postsales.core.services.tokens import TokenUse

    user_for_token(services, token, use=TokenUse("api", "GET", "/api/v1/orders", "10.0.0.7"))
    ada = get_user(services, None)
    signed_in = read_audit(services, ada, kinds=["auth.signed_in"]).entries
    assert [(e["actor"], e["detail"]["door"]) for e in signed_in] == [("anna", "web")]
    used = read_audit(services, ada, kinds=["api.token_used"]).entries
    assert [(e["actor"], e["detail"]["route"]) for e in used] == [("anna", "/api/v1/orders")]


# -- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def db(services: Postsales) -> str:
    return str(services.engine.url)


def test_cli_audit_json_filters_and_exit_codes(db: str) -> None:
    done = run("--db", db, "audit", "--json", "--kind", "user,auth")
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert (body["total"], body["page"], body["per_page"]) == (4, 1, 50)
    assert [e["kind"] for e in body["entries"]] == ["user.changed", "auth.sign_in_failed",
                                                    "user.added", "user.added"]  # fmt: skip
    assert body["entries"][0]["at"] == "2026-12-01T23:30:00+00:00"
    assert body["entries"][0]["detail"]["timezone"] == {"from": "UTC", "to": "Europe/Paris"}
    table = run("--db", db, "--user", "ada", "audit", "--actor", "anna")
    assert table.exit_code == 0
    assert "at (Europe/Berlin)" in table.output and "2026-12-02 00:30" in table.output
    assert "auth.sign_in_failed" in table.output and "1-1 of 1" in table.output
    refused = run("--db", db, "--user", "anna", "audit")
    assert refused.exit_code == 5 and "users.manage" in refused.output
    bad = run("--db", db, "audit", "--since", "soon")
    assert bad.exit_code == 2 and "since: 'soon' is not a date" in bad.output


# -- web ------------------------------------------------------------------------------------


@pytest.fixture
def web(services: Postsales) -> Flask:
    return make_web(services)


@pytest.fixture
def admin(web: Flask) -> FlaskClient:
    client = web.test_client()
    assert sign_in(client, "ada").status_code == 302
    return client


def test_the_audit_page_for_admins(web: Flask, admin: FlaskClient) -> None:
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    html = page.text
    for label in ("Kind", "Actor", "From", "Through", "Show"):
        assert f">{label}</label>" in html
    rows = html.split('<table class="zebra" id="audit">', 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") == 1 + 6  # the header, and the five records plus ada's sign-in
    assert "auth.signed_in" in rows and "[billing data]" in rows and "b1.k1" not in rows
    assert "2026-12-02 00:30 CET" in rows  # the sign-in failure, in ada's zone
    filtered = admin.get("/admin/audit?kind=user&per_page=20&page=1").text
    table = filtered.split('id="audit">', 1)[1].split("</table>", 1)[0]
    assert table.count("user.added") == 2 and "auth." not in table
    paged = admin.get("/admin/audit?per_page=20&page=1&actor=ada").text
    assert "1\u20133 of 3" in paged
    two = admin.get("/admin/audit?per_page=2").text
    assert "Next →" in two and "page=2" in two and "Page 1 of 3" in two
    bad = admin.get("/admin/audit?since=soon")
    assert bad.status_code == 400 and "since: &#39;soon&#39; is not a date" in bad.text
    assert admin.get("/admin/audit?page=x").status_code == 400
    assert 'href="/admin/audit"' in admin.get("/admin/users").text  # in the admin tabs


def test_the_audit_page_is_refused_to_agents(web: Flask) -> None:
    agent = web.test_client()
    assert sign_in(agent, "anna").status_code == 302
    assert agent.get("/admin/audit").status_code == 403


def test_an_admin_of_one_store_cannot_read_it(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    config = tmp_path / "postsales.yaml"
    base = (Path(__file__).parents[2] / "config" / "postsales.yaml").read_text()
    config.write_text(
        base.replace("roles:\n", "roles:\n  store_admin:\n    permissions: [users.manage, "
                     "orders.view]\n    sales_channels: [ST1]\n", 1)
    )  # fmt: skip
    path = tmp_path / "p.db"
    shutil.copy(sqlite_template, path)
    services = bootstrap(str(config), f"sqlite:///{path}")
    add_user(services, "sue", ["store_admin"], PASSWORD)
    client = make_web(services).test_client()
    assert sign_in(client, "sue").status_code == 302
    assert client.get("/admin/audit").status_code == 403
    assert 'href="/admin/audit"' not in client.get("/admin/users").text
    services.engine.dispose()
