"""Keys that cannot be lost by where a command runs (issue 12 item 7, S-6).

The billing key of a SQLite database lives beside it; a PostgreSQL database needs one
configured. No key is made while the database holds billing data under another one.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from postsales.adapters.cli.main import cli
from postsales.core.bootstrap import Postsales
from postsales.core.crypto import KEY_ENV, KEY_FILE_ENV, BillingKeyError, key_id, new_key
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.keys import cipher_for, forget_keys
from tests.conftest import example_path, import_examples

POSTSALES = Path(sys.prefix) / "bin" / "postsales"


def postsales(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed CLI run as a user would, from `cwd`, with no key configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTSALES_")}
    return subprocess.run(
        [str(POSTSALES), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def run(*args: str) -> object:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def no_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    forget_keys()


def test_the_cli_reads_billing_addresses_from_any_working_directory(tmp_path: Path) -> None:
    data, here, there = tmp_path / "data", tmp_path / "here", tmp_path / "there"
    for folder in (data, here, there):
        folder.mkdir()
    url = f"sqlite:///{data / 'postsales.db'}"
    assert postsales("--db", url, "init", cwd=here).returncode == 0
    imported = postsales("--db", url, "import", str(example_path("order-create.json")), cwd=here)
    assert imported.returncode == 0, imported.stderr
    shown = postsales("--db", url, "orders", "show", "000000101", "--json", cwd=there)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["billing_address"]["city"] == "Calder"
    # An order imported from the other folder is written under the same, single key.
    second = example_path("order-create.json").read_text().replace("000000101", "000000102")
    (there / "second.json").write_text(second.replace("msg-2026-000101", "msg-2026-000102"))
    assert postsales("--db", url, "import", "second.json", cwd=there).returncode == 0
    again = postsales("--db", url, "orders", "show", "000000102", "--json", cwd=here)
    assert json.loads(again.stdout)["billing_address"]["address1"] == "6146 Honey Bluff Parkway"
    key_file = data / "billing.key"
    assert len(key_file.read_text().split()) == 1 and key_file.stat().st_mode & 0o077 == 0
    assert not (here / "var").exists() and not (there / "var").exists()


def test_no_new_key_while_the_database_holds_billing_data(
    tmp_path: Path, no_configured_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'postsales.db'}"
    assert run("--db", url, "init").exit_code == 0
    assert run("--db", url, "import", str(example_path("order-create.json"))).exit_code == 0
    key_file = tmp_path / "billing.key"
    kid = file_key_id(key_file)
    key_file.rename(tmp_path / "elsewhere.key")
    forget_keys()
    shown = run("--db", url, "orders", "show", "000000101")
    assert shown.exit_code == 2, shown.output
    assert f"encrypted with key {kid}" in shown.output and str(key_file) in shown.output
    assert KEY_ENV in shown.output and KEY_FILE_ENV in shown.output
    assert not key_file.exists()  # nothing made
    refused = run("--db", url, "import", str(example_path("shipment-shipped.json")))
    assert refused.exit_code == 2 and not key_file.exists()
    # The old default of earlier versions, found in the working folder, is named.
    work = tmp_path / "work"
    (work / "var").mkdir(parents=True)
    (tmp_path / "elsewhere.key").rename(work / "var" / "billing.key")
    monkeypatch.chdir(work)
    hinted = run("--db", url, "orders", "show", "000000101")
    assert hinted.exit_code == 2 and f"move it to {key_file}" in hinted.output
    (work / "var" / "billing.key").rename(key_file)
    forget_keys()
    assert run("--db", url, "orders", "show", "000000101").exit_code == 0


def file_key_id(path: Path) -> str:
    """The id of the current key of a key file."""
    text = path.read_text().split()[0]
    return key_id(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_keys_that_cannot_read_the_stored_data_are_refused(
    sqlite_app: Postsales, no_configured_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_examples(sqlite_app, "order-create.json")
    stored = cipher_for(sqlite_app.engine).current_id
    monkeypatch.setenv(KEY_ENV, new_key())
    url = sqlite_app.engine.url.render_as_string(hide_password=False)
    result = run("--db", url, "import", str(example_path("shipment-shipped.json")))
    assert result.exit_code == 2
    assert f"encrypted with key {stored}, which is not among the billing keys" in result.output
    monkeypatch.delenv(KEY_ENV)
    assert run("--db", url, "orders", "show", "000000101").exit_code == 0


def test_a_rotation_keeps_the_key_file_beside_the_database(
    tmp_path: Path, no_configured_key: None
) -> None:
    url = f"sqlite:///{tmp_path / 'postsales.db'}"
    run("--db", url, "init")
    run("--db", url, "import", str(example_path("order-create.json")))
    rotated = run("--db", url, "orders", "rekey-billing", "--new-key", "--json")
    assert rotated.exit_code == 0, rotated.output
    new_id = json.loads(rotated.output)["new_key_id"]
    assert len((tmp_path / "billing.key").read_text().split()) == 2
    forget_keys()
    assert run("--db", url, "orders", "show", "000000101").exit_code == 0
    assert (
        cipher_for(make_engine(url)).current_id == new_id == file_key_id(tmp_path / "billing.key")
    )


@pytest.mark.postgres
def test_postgresql_needs_a_configured_billing_key(
    pg_app: Postsales, no_configured_key: None
) -> None:
    url = pg_app.engine.url.render_as_string(hide_password=False)
    result = run("--db", url, "import", str(example_path("order-create.json")))
    assert result.exit_code == 2
    assert "has no folder to keep one beside" in result.output and KEY_FILE_ENV in result.output
    with pytest.raises(BillingKeyError):
        cipher_for(pg_app.engine)
