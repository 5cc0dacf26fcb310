"""`postsales users …`: managing users and their API tokens from the CLI (issue 16 item 4,
issue 17 items 4 and 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postsales.core.bootstrap import bootstrap
from postsales.core.services.users import verify_password
from tests.adapters.test_cli import run


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", url, "init").exit_code == 0
    return url


def add(db: str, name: str, role: str = "agent", password: str = "password-123") -> None:
    added = run(
        "--db", db, "users", "add", name, "--role", role, "--password-stdin", input=password + "\n"
    )
    assert added.exit_code == 0, added.output


def test_password_is_changed_by_a_user_manager_only(db: str) -> None:
    add(db, "anna")
    add(db, "ada", "admin")
    refused = run(
        "--db",
        db,
        "--user",
        "anna",
        "users",
        "password",
        "anna",
        "--password-stdin",
        input="x" * 9 + "\n",
    )
    assert refused.exit_code == 5 and "users.manage" in refused.output
    short = run("--db", db, "users", "password", "anna", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    missing = run(
        "--db", db, "users", "password", "nobody", "--password-stdin", input="x" * 9 + "\n"
    )
    assert missing.exit_code == 4
    done = run(
        "--db",
        db,
        "--user",
        "ada",
        "users",
        "password",
        "anna",
        "--password-stdin",
        input="brand-new-pw\n",
    )
    assert done.exit_code == 0, done.output
    services = bootstrap(None, db)
    assert verify_password(services, "anna", "brand-new-pw") is not None
    assert verify_password(services, "anna", "password-123") is None
    services.engine.dispose()


def test_tokens_are_made_listed_and_revoked(db: str) -> None:
    add(db, "anna")
    plain = run("--db", db, "users", "token", "anna")  # SPEC §10: prints a new token
    assert (
        plain.exit_code == 0 and plain.output.startswith("pst_") and plain.output.count("\n") == 1
    )
    made = run(
        "--db", db, "users", "token", "anna", "--name", "reports", "--expires", "30d",
        "--scope", "read", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)
    assert token["name"] == "reports" and token["scope"] == "read"
    assert token["token"].startswith("pst_") and token["expires_at"]
    listed = json.loads(run("--db", db, "users", "tokens", "anna", "--json").output)
    assert [(t["id"], t["name"], t["status"]) for t in listed] == [
        (token["id"], "reports", "active"),
        (token["id"] - 1, "token", "active"),
    ]
    assert token["token"] not in json.dumps(listed)  # only ever shown when made
    table = run("--db", db, "users", "tokens", "anna")
    assert "reports" in table.output and "read" in table.output and "never" in table.output
    revoked = run("--db", db, "users", "revoke-token", "anna", str(token["id"]))
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    listed = json.loads(run("--db", db, "users", "tokens", "anna", "--json").output)
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_by"] == "system"
    again = run("--db", db, "users", "revoke-token", "anna", str(token["id"]))
    assert again.exit_code == 3 and "already revoked" in again.output
    assert run("--db", db, "users", "revoke-token", "anna", "999").exit_code == 4


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--expires", "soon"], 2, "expires: expected 90d"),
        (["--scope", "order.teleport"], 2, "unknown permission 'order.teleport'"),
        (["--scope", "users.manage"], 2, "anna does not have users.manage"),
        (["--name", ""], 2, "a token's name is 1 to 64 characters"),
    ],
)
def test_bad_token_options_are_refused(db: str, args: list[str], code: int, message: str) -> None:
    add(db, "anna")
    result = run("--db", db, "users", "token", "anna", *args)
    assert result.exit_code == code and message in result.output
    assert json.loads(run("--db", db, "users", "tokens", "anna", "--json").output) == []


def test_only_a_user_manager_handles_tokens(db: str) -> None:
    add(db, "anna")
    for args in (["token", "anna"], ["tokens", "anna"], ["revoke-token", "anna", "1"]):
        result = run("--db", db, "--user", "anna", "users", *args)
        assert result.exit_code == 5 and "users.manage" in result.output, args


def test_users_are_listed_changed_disabled_and_enabled(db: str) -> None:
    add(db, "anna")
    add(db, "ada", "admin")
    listed = json.loads(run("--db", db, "users", "list", "--json").output)
    assert [(u["name"], u["roles"], u["stores"], u["timezone"], u["last_sign_in_at"],
             u["disabled"]) for u in listed] == [
        ("ada", ["admin"], None, "UTC", None, False),
        ("anna", ["agent"], None, "UTC", None, False),
    ]  # fmt: skip
    text = run("--db", db, "users", "list").output
    assert "last sign-in" in text and "never" in text
    base = ("--db", db, "--user", "ada", "users")
    changed = run(*base, "set", "anna", "--role", "supervisor", "--timezone", "Europe/Paris")
    assert changed.exit_code == 0, changed.output
    assert "anna: roles agent -> supervisor" in changed.output
    assert "anna: timezone UTC -> Europe/Paris" in changed.output
    assert "unchanged" in run(*base, "set", "anna", "--timezone", "Europe/Paris").output
    assert run(*base, "set", "anna").exit_code == 2  # nothing to change given
    bad = run(*base, "set", "anna", "--timezone", "Mars/Olympus")
    assert bad.exit_code == 2 and "unknown time zone" in bad.output
    assert run(*base, "set", "nobody", "--role", "agent").exit_code == 4
    assert run("--db", db, "--user", "anna", "users", "disable", "ada").exit_code == 5
    own = run(*base, "disable", "ada")
    assert own.exit_code == 3 and "cannot disable yourself" in own.output
    disabled = run(*base, "disable", "anna")
    assert disabled.exit_code == 0 and "anna disabled; 0 sessions ended" in disabled.output
    assert run(*base, "disable", "anna").exit_code == 3
    as_anna = run("--db", db, "--user", "anna", "orders", "search")
    assert as_anna.exit_code == 5 and "disabled" in as_anna.output
    listed = json.loads(run("--db", db, "users", "list", "--json").output)
    assert listed[1]["disabled"] is True and listed[1]["disabled_by"] == "ada"
    assert run(*base, "enable", "anna").exit_code == 0
    assert run("--db", db, "--user", "anna", "orders", "search").exit_code == 0
