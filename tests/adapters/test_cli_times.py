"""CLI tables show times in the `--user`'s time zone (issue 12 item 8; SPEC §4: stored in UTC,
shown in the user's zone); the `system` user's zone is UTC and `--json` stays ISO-8601 with its
offset, as the API's documents."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from postsales.adapters.cli import commands  # noqa: F401  (registers the subcommands)
from postsales.adapters.cli.main import cli
from tests.conftest import example_path

ORDER = "000000101"  # origin_date 2026-11-02T09:30:55+00:00: 10:30 in Berlin, 04:30 in New York


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'times.db'}"
    run(url, "init")
    run(url, "import", str(example_path("order-create.json")))
    run(url, "users", "add", "berlin", "--role", "agent", "--timezone", "Europe/Berlin")
    run(url, "users", "add", "newyork", "--role", "agent", "--timezone", "America/New_York")
    return url


@pytest.mark.parametrize(
    ("user", "zone", "purchased"),
    [
        ([], "UTC", "2026-11-02 09:30"),
        (["--user", "berlin"], "Europe/Berlin", "2026-11-02 10:30"),
        (["--user", "newyork"], "America/New_York", "2026-11-02 04:30"),
    ],
)
def test_tables_show_times_in_the_users_zone(
    db: str, user: list[str], zone: str, purchased: str
) -> None:
    grid = run(db, *user, "orders", "search")
    assert f"purchased ({zone})" in grid and purchased in grid
    assert f"purchased ({zone})" in run(db, *user, "orders", "queue")
    # History and the outbox: the same instants as --json gives, in the zone.
    doc = json.loads(run(db, *user, "orders", "show", ORDER, "--json"))
    at = datetime.fromisoformat(doc["history"][0]["at"]).astimezone(ZoneInfo(zone))
    shown = run(db, *user, "orders", "show", ORDER)
    assert f"History ({zone}):" in shown and at.strftime("%Y-%m-%d %H:%M") in shown
    message = json.loads(run(db, *user, "outbox", "--json"))[0]
    created = datetime.fromisoformat(message["created_at"]).astimezone(ZoneInfo(zone))
    table = run(db, *user, "outbox")
    assert f"created ({zone})" in table and created.strftime("%Y-%m-%d %H:%M") in table


def test_json_keeps_iso_8601_with_the_utc_offset(db: str) -> None:
    found = json.loads(run(db, "--user", "berlin", "orders", "search", "--json"))
    assert found["orders"][0]["origin_date"] == "2026-11-02T09:30:55+00:00"
    doc = json.loads(run(db, "--user", "berlin", "orders", "show", ORDER, "--json"))
    assert doc["created_at"].endswith("+00:00") and doc["history"][0]["at"].endswith("+00:00")
