"""`postsales orders search / export / queue` (SPEC §10, §11 search output; issue 5)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from postsales.adapters.cli.main import cli
from tests.conftest import example_path


def run(*args: str, env: dict[str, str] | None = None) -> object:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", url, "init").exit_code == 0
    result = run("--db", url, "import", str(example_path("order-create.json")))
    assert result.exit_code == 0, result.output
    second = json.loads(example_path("order-create.json").read_text())
    second["id"] = "msg-second"
    second["payload"]["order"]["id"] = "000000102"
    second["payload"]["order"]["customer"]["email"] = "mercy.taylor@example.com"
    path = tmp_path / "second.json"
    path.write_text(json.dumps(second))
    assert run("--db", url, "import", str(path)).exit_code == 0
    return url


def test_search_json_is_the_spec_output(db: str) -> None:
    result = run("--db", db, "orders", "search", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == 2 and data["page"] == 1 and data["per_page"] == 20
    assert [o["id"] for o in data["orders"]] == ["000000102", "000000101"]  # newest first
    assert data["orders"][0]["grand_total"] == "118.80" and "single" not in data


def test_a_single_result_reports_its_id(db: str) -> None:
    result = run(
        "--db", db, "orders", "search", "--filter", "email=Mercy.Taylor@EXAMPLE.com", "--json"
    )
    data = json.loads(result.output)
    assert data["total"] == 1 and data["single"] == "000000102"
    repeated = run(
        "--db",
        db,
        "orders",
        "search",
        "--filter",
        "order_id=000000101",
        "--filter",
        "status=NEW",
        "--filter",
        "status=SHIPPED",
        "--json",
    )
    assert json.loads(repeated.output)["single"] == "000000101"


def test_expression_and_paging(db: str) -> None:
    expr = {
        "exp": "eq",
        "args": [
            {"exp": "field", "args": [{"value": "email"}]},
            {"value": "veronica.costello@example.com"},
        ],
    }
    result = run("--db", db, "orders", "search", "--expr", json.dumps(expr), "--json")
    assert json.loads(result.output)["single"] == "000000101"
    text = run("--db", db, "orders", "search", "--per-page", "10")
    assert text.exit_code == 0 and "000000102" in text.output and "2 order(s)" in text.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "colour=red"], "unknown filter"),
        (["--filter", "nameonly"], "expected NAME=VALUE"),
        (["--per-page", "7"], "per_page: must be one of 10, 20, 50, 100"),
        (["--expr", "{not json"], "--expr: not valid JSON"),
        (["--expr", '{"exp": "gte", "args": []}'], "unknown operator 'gte'"),
        (["--filter", "name=%ab"], "at least 3 characters"),
    ],
)
def test_bad_input_exits_2_with_a_message(db: str, args: list[str], message: str) -> None:
    result = run("--db", db, "orders", "search", *args, "--json")
    assert result.exit_code == 2 and message in result.output


def test_export_to_a_file_and_to_stdout(db: str, tmp_path: Path) -> None:
    out = tmp_path / "orders.csv"
    result = run(
        "--db",
        db,
        "orders",
        "export",
        "--format",
        "csv",
        "--output",
        str(out),
        "--columns",
        "id,email,bill_to",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["ID", "Email", "Bill to"] and len(rows) == 3
    assert rows[2] == ["000000101", "veronica.costello@example.com", "Veronica Costello"]
    xml = run("--db", db, "orders", "export", "--format", "xml", "--filter", "order_id=000000102")
    assert xml.exit_code == 0 and xml.output.count("<Row>") == 2 and "000000102" in xml.output
    bad = run("--db", db, "orders", "export", "--columns", "colour")
    assert bad.exit_code == 2 and "unknown column 'colour'" in bad.output


def test_scope_and_permission_through_the_cli(db: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    defaults = yaml.safe_load((Path(__file__).parents[2] / "config/postsales.yaml").read_text())
    roles = dict(defaults["roles"], de={"permissions": ["orders.view"], "sales_channels": ["ST2"]})
    config.write_text(yaml.safe_dump({"roles": roles}))
    env = {"POSTSALES_CONFIG": str(config)}
    added = run("--db", db, "users", "add", "hans", "--role", "de", env=env)
    assert added.exit_code == 0, added.output
    result = run("--db", db, "--user", "hans", "orders", "search", "--json", env=env)
    assert json.loads(result.output)["total"] == 0  # both orders are ST1
    denied = run("--db", db, "--user", "hans", "orders", "export", env=env)
    assert denied.exit_code == 5


def test_queue(db: str) -> None:
    assert run("--db", db, "act", "000000101", "hold", "--param", "reason=check").exit_code == 0
    data = json.loads(run("--db", db, "orders", "queue", "--json").output)
    assert [o["id"] for o in data["orders"]] == ["000000101"]
    assert data["orders"][0]["reasons"] == ["on hold"]


def test_purchase_and_creation_dates_filter_apart(db: str) -> None:
    """Both examples were bought on 2026-11-02 and created in Postsales at the import, today
    (issue 13 item 7): `purchased_*` filter the purchase date, `from_date`/`to_date` creation."""

    def ids(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        result = run("--db", db, "orders", "search", *args, "--json")
        assert result.exit_code == 0, result.output
        return [o["id"] for o in json.loads(result.output)["orders"]]

    assert ids("purchased_from=2026-11-02", "purchased_to=2026-11-02") == ["000000102", "000000101"]
    assert ids("purchased_to=2026-11-01") == []
    assert ids("to_date=2026-11-02") == []  # nothing was created that day
    bad = run("--db", db, "orders", "search", "--filter", "purchased_to=soon")
    assert bad.exit_code == 2 and "purchased_to: 'soon' is not a date" in bad.output
