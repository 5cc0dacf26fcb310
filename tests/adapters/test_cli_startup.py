"""A CLI that starts like a CLI (issue 18 item 1): each command imports what it needs, when it
needs it. Checked in a real process, from the modules it loaded (`sys.modules` at exit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postsales.core.persistence import migrate
from tests.conftest import example_path

PROBE = """
import json, sys
from postsales.adapters.cli import main
sys.argv = ["postsales", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
finally:
    with open(PROBE_OUT, "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def loaded(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages, our modules and SQLAlchemy's dialects a `postsales ARGS` process
    imported."""
    out = tmp_path / "modules.json"
    code = f"PROBE_OUT = {str(out)!r}\n{PROBE}"
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = json.loads(out.read_text())
    return {n.split(".")[0] for n in names} | {
        n
        for n in names
        if n.startswith(("postsales.", "sqlalchemy.dialects.", "importlib.metadata"))
    }


HEAVY = {
    "sqlalchemy", "alembic", "psycopg", "jinja2", "pluggy", "cattrs", "yaml", "flask", "pika",
    "attrs", "transitions", "phonenumbers", "importlib.metadata",
}  # fmt: skip


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["orders", "--help"]])
def test_help_and_version_import_no_database_config_or_plugins(
    tmp_path: Path, args: list[str]
) -> None:
    modules = loaded(tmp_path, *args)
    assert "click" in modules
    assert not HEAVY & modules, f"`postsales {' '.join(args)}` imported {HEAVY & modules}"
    assert "postsales.core.services.search" not in modules


def test_a_read_on_sqlite_loads_no_alembic_psycopg_templates_or_web(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'read.db'}"
    env = {"POSTSALES_DATABASE_URL": db}
    for args in (["init"], ["import", str(example_path("order-create.json"))]):
        subprocess.run(
            [str(Path(sys.executable).parent / "postsales"), *args],
            check=True,
            capture_output=True,
            env={**os.environ, **env},
            cwd=tmp_path,
            timeout=120,
        )
    for args in (
        ["orders", "show", "000000101", "--json"],
        ["orders", "search", "--filter", "email=veronica.costello@example.com", "--json"],
        ["actions", "000000101"],
    ):
        modules = loaded(tmp_path, *args, env=env)
        assert "sqlalchemy" in modules  # it did read the database
        unwanted = {
            "alembic", "psycopg", "sqlalchemy.dialects.postgresql", "phonenumbers", "jinja2",
            "flask", "pika",
        } & modules  # fmt: skip
        assert not unwanted, f"`postsales {' '.join(args)}` imported {unwanted}"


def test_the_head_revision_read_from_the_files_is_alembics() -> None:
    """`ensure_current` compares with `migrate.head_revision()`, which reads the migration
    files without Alembic; it must be what Alembic itself finds."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert migrate.head_revision() == script.get_current_head()
    assert migrate.known_revisions() == {r.revision for r in script.walk_revisions()}


def test_the_cli_exchange_default_is_the_messaging_doors() -> None:
    from postsales.adapters.cli.messaging import DEFAULT_EXCHANGE as CLI
    from postsales.adapters.messaging import DEFAULT_EXCHANGE as DOOR

    assert CLI == DOOR


def test_the_version_shown_is_the_installed_distributions() -> None:
    """`--version` reads `postsales.adapters.__version__`, which pyproject.toml takes as the
    package's version: one place, and what pip installed."""
    from importlib.metadata import version

    from postsales.adapters import __version__

    shown = subprocess.run(
        [str(Path(sys.executable).parent / "postsales"), "--version"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert shown.strip() == f"postsales, version {__version__}"
    assert version("postsales") == __version__
