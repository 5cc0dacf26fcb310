"""What an admin does to users (issue 16 item 4), on SQLite and PostgreSQL: list, change roles
and time zone, disable and enable — a disabled user's sessions and tokens stop at once — and
every change in the audit log, written with the change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.errors import BadInput, Forbidden, Refused
from postsales.core.persistence import tables as T
from postsales.core.services import tokens as tk
from postsales.core.services.sessions import SIGNED_OUT, resume_session, start_session
from postsales.core.services.user_admin import (
    change_user,
    disable_user,
    enable_user,
    list_users,
    show_user,
)
from postsales.core.services.users import add_user, authenticate, get_user
from tests.adapters.test_web import Clock

PASSWORD = "password-123"


@pytest.fixture
def services(app: Postsales) -> Postsales:
    app.clock = Clock()
    add_user(app, "ada", ["admin"], PASSWORD)
    add_user(app, "anna", ["agent"], PASSWORD, "Europe/Berlin")
    return app


def ada(services: Postsales):  # type: ignore[no-untyped-def]
    return get_user(services, "ada")


def audit(services: Postsales, kind: str) -> list:
    a = T.audit_log.c
    with services.engine.connect() as conn:
        return list(conn.execute(select(T.audit_log).where(a.kind == kind).order_by(a.id)))


def test_users_are_listed_with_roles_stores_zone_and_last_sign_in(services: Postsales) -> None:
    start_session(services, get_user(services, "anna"))
    listed = {u["name"]: u for u in list_users(services, actor=ada(services))}
    assert list(listed) == ["ada", "anna"]
    anna = listed["anna"]
    assert anna["roles"] == ["agent"] and anna["stores"] is None  # the agent role: "*"
    assert anna["timezone"] == "Europe/Berlin"
    assert anna["last_sign_in_at"] == services.now() and anna["sessions"] == 1
    assert anna["disabled"] is False
    assert listed["ada"]["last_sign_in_at"] is None and listed["ada"]["sessions"] == 0
    with pytest.raises(Forbidden, match=r"users\.manage"):
        list_users(services, actor=get_user(services, "anna"))
    (added, _) = audit(services, "user.added")
    assert added.actor == "system" and added.detail == {
        "user": "ada",
        "roles": ["admin"],
        "timezone": "UTC",
    }


def test_roles_and_time_zone_change_and_are_audited(services: Postsales) -> None:
    changes = change_user(
        services, "anna", actor=ada(services), roles=["supervisor"], timezone="America/New_York"
    )
    assert changes == {
        "roles": {"from": ["agent"], "to": ["supervisor"]},
        "timezone": {"from": "Europe/Berlin", "to": "America/New_York"},
    }
    anna = get_user(services, "anna")
    assert anna.can("refund.approve") and anna.timezone == "America/New_York"
    (changed,) = audit(services, "user.changed")
    assert changed.actor == "ada" and changed.detail == {"user": "anna", **changes}
    assert change_user(services, "anna", actor=ada(services), roles=["supervisor"]) == {}
    assert len(audit(services, "user.changed")) == 1  # nothing changed, nothing recorded


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"roles": ["wizard"]}, BadInput, "unknown role 'wizard'"),
        ({"roles": []}, BadInput, "give at least one role"),
        ({"timezone": "Mars/Olympus"}, BadInput, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_change_changes_nothing(
    services: Postsales, change: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        change_user(services, "anna", actor=ada(services), **change)
    assert show_user(services, "anna", actor=ada(services))["roles"] == ["agent"]
    assert audit(services, "user.changed") == []


def test_an_admin_keeps_the_power_to_undo(services: Postsales) -> None:
    with pytest.raises(Refused, match=r"cannot take users\.manage from yourself"):
        change_user(services, "ada", actor=ada(services), roles=["agent"])
    with pytest.raises(Refused, match="cannot disable yourself"):
        disable_user(services, "ada", actor=ada(services))
    change_user(services, "ada", actor=ada(services), roles=["admin", "agent"])  # still admin
    assert get_user(services, "ada").can("users.manage")


def test_disabling_stops_sessions_tokens_and_sign_in_at_once(services: Postsales) -> None:
    anna = get_user(services, "anna")
    sessions = [start_session(services, anna), start_session(services, anna)]
    kept = tk.issue_token(services, "anna")
    revoked = tk.create_token(services, "anna", actor=ada(services), label="old")
    tk.revoke_token(services, "anna", revoked.id, actor=ada(services))
    assert disable_user(services, "anna", actor=ada(services)) == 2
    assert [resume_session(services, s).reason for s in sessions] == [SIGNED_OUT] * 2
    assert tk.user_for_token(services, kept) is None
    assert authenticate(services, "anna", PASSWORD) == (None, "disabled")
    with pytest.raises(Forbidden, match="disabled"):
        get_user(services, "anna")  # --user anna on the CLI: refused
    with pytest.raises(Refused, match="is disabled"):
        tk.create_token(services, "anna", actor=ada(services))
    shown = show_user(services, "anna", actor=ada(services))
    assert shown["disabled"] and shown["disabled_by"] == "ada" and shown["sessions"] == 0
    assert len(tk.list_tokens(services, "anna", actor=ada(services))) == 2  # kept, listed
    with pytest.raises(Refused, match="already disabled"):
        disable_user(services, "anna", actor=ada(services))
    (disabled,) = audit(services, "user.disabled")
    assert disabled.actor == "ada" and disabled.detail == {"user": "anna", "sessions_ended": 2}

    enable_user(services, "anna", actor=ada(services))
    assert authenticate(services, "anna", PASSWORD)[1] == "ok"
    assert tk.user_for_token(services, kept) is not None  # a token not revoked works again
    assert tk.user_for_token(services, revoked.token) is None  # a revoked one never
    assert [r.detail for r in audit(services, "user.enabled")] == [{"user": "anna"}]
    with pytest.raises(Refused, match="is not disabled"):
        enable_user(services, "anna", actor=ada(services))
