"""`postsales config check` checks a file, not a database (issue 12 item 4): the YAML, its
plugins and their templates alone decide the exit code (0, or 2 naming file, key path and what
was expected); where the configured database stands is reported on a line of its own."""

from __future__ import annotations

import json
import sqlite3
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from postsales.adapters.cli import commands  # noqa: F401  (registers the subcommands)
from postsales.adapters.cli.main import cli
from postsales.core import plugin_manager
from postsales.core.persistence.migrate import head_revision


def check(*args: str, db: str, config: Path | None = None) -> Result:
    options = ["--db", db, *(["--config", str(config)] if config else [])]
    result = CliRunner().invoke(cli, [*options, "config", "check", *args])
    assert "Traceback" not in result.output
    return result


def test_without_a_database_the_config_is_checked_and_nothing_is_created(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nowhere' / 'postsales.db'}"
    result = check(db=db)
    assert result.exit_code == 0, result.output
    assert "config is valid (packaged defaults)" in result.stdout
    assert f"database {db}: not initialised (no file yet; run postsales init)" in result.stdout
    assert "ST1 — Luma US" in result.stdout
    assert not (tmp_path / "nowhere").exists()
    data = json.loads(check("--json", db=db).stdout)
    assert data["valid"] is True
    assert data["database"] == {
        "url": db,
        "state": "not_initialised",
        "revision": None,
        "head": head_revision(),
        "message": "not initialised (no file yet; run postsales init)",
    }


def test_an_unreachable_database_is_reported_not_failed() -> None:
    result = check("--json", db="postgresql://me:secret@127.0.0.1:1/postsales")
    assert result.exit_code == 0
    database = json.loads(result.stdout)["database"]
    assert database["state"] == "unreachable" and "Connection refused" in database["message"]
    assert "secret" not in result.stdout


def test_the_database_state_ready_behind_or_unknown(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    db = f"sqlite:///{path}"
    assert CliRunner().invoke(cli, ["--db", db, "init"]).exit_code == 0
    head = head_revision()
    assert f"database {db}: ready (revision {head})" in check(db=db).stdout
    for stored, state in (("0004", "behind"), ("9999", "unknown_revision")):
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (stored,))
        result = check("--json", db=db)
        assert result.exit_code == 0
        assert json.loads(result.stdout)["database"]["state"] == state
    assert "at revision 9999, which this version of Postsales does not know" in check(db=db).stdout


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "sales_channels:\n  ST1:\n    name: x\n    market: US\n    currency: usd\n",
            "expected a currency code of 3 upper-case letters, got 'usd'"
            " @ $.sales_channels['ST1'].currency",
        ),
        ("plugins:\n  nope: {enabled: false}\n", "unknown plugin 'nope' @ $.plugins.nope"),
        (
            "plugins:\n  outbox_notifier: {colour: red}\n",
            "unknown option 'colour' @ $.plugins.outbox_notifier",
        ),
    ],
)
def test_a_bad_config_exits_2_naming_file_key_and_expectation(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml_text)
    result = check(db=f"sqlite:///{tmp_path / 'none' / 'x.db'}", config=path)
    assert result.exit_code == 2
    assert f"error: {path}: {expected}" in result.stderr


def test_a_template_that_does_not_compile_is_named(tmp_path: Path) -> None:
    mail = tmp_path / "mail" / "en"
    mail.mkdir(parents=True)
    (mail / "order_cancelled.txt").write_text("{% block subject %}{{ oops {% endblock %}")
    path = tmp_path / "deploy.yaml"
    path.write_text(f"plugins:\n  outbox_notifier: {{templates: {mail.parent}}}\n")
    result = check(db=f"sqlite:///{tmp_path / 'x.db'}", config=path)
    assert result.exit_code == 2
    assert "outbox_notifier: template en/order_cancelled.txt line 1" in result.stderr


def test_a_plugin_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = plugin_manager.entry_points
    broken = EntryPoint(name="broken_plugin", value="postsales_no_such_module", group="postsales")

    def with_a_broken_one(*, group: str) -> list[EntryPoint]:
        return [*real(group=group), broken]

    monkeypatch.setattr(plugin_manager, "entry_points", with_a_broken_one)
    result = check(db=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert (
        "plugin 'broken_plugin' from distribution ? failed to import: "
        "ModuleNotFoundError: No module named 'postsales_no_such_module'"
    ) in result.stderr
