"""`postsales users …`: managing users and their API tokens from the CLI (issue 16 item 4,
issue 17 items 4 and 7)."""

from __future__ import annotations

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
