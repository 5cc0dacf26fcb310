"""The CLI door: exit codes, --json output, store scoping and config errors (SPEC §10, §11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from postsales.adapters.cli.main import cli
from tests.conftest import example_path


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> object:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", url, "init").exit_code == 0
    return url


def test_init_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = run("--db", url, "init")
    assert "upgraded from empty" in first.output
    assert "up to date" in run("--db", url, "init").output


def test_an_uninitialised_database_is_named_without_traceback(tmp_path: Path) -> None:
    result = run("--db", f"sqlite:///{tmp_path / 'none.db'}", "orders", "show", "1")
    assert result.exit_code == 3  # refused by the database's state (SPEC §10), not a bug
    assert "is not initialised; run `postsales init`" in result.output
    assert "Traceback" not in result.output


def test_import_show_and_not_found(db: str) -> None:
    result = run("--db", db, "import", str(example_path("order-create.json")))
    assert result.exit_code == 0, result.output
    assert "1 applied" in result.output
    shown = run("--db", db, "orders", "show", "000000101", "--json")
    doc = json.loads(shown.output)
    assert doc["id"] == "000000101" and doc["totals"]["grand_total"] == "118.80"
    assert doc["lines"][0]["net_amount"] == "45.00" and doc["status"] == "NEW"
    for key in (
        "status_reason",
        "order_type",
        "parent_order_id",
        "related_order_ids",
        "customer",
        "billing_address",
        "shipping_address",
        "shipping_method",
        "created_at",
        "origin_date",
        "lock",
        "payments",
        "shipments",
        "returns",
        "refunds",
        "comments",
        "history",
    ):
        assert key in doc
    assert doc["created_at"].endswith("+00:00")
    missing = run("--db", db, "orders", "show", "404", "--json")
    assert missing.exit_code == 4
    assert json.loads(missing.output)["error"] == "not_found"


def test_actions_json_is_the_same_listing_as_the_api(db: str) -> None:
    run("--db", db, "import", str(example_path("order-create.json")))
    result = run("--db", db, "actions", "000000101", "--json")
    assert result.exit_code == 0, result.output
    listing = {a["name"]: a for a in json.loads(result.output)}
    assert set(listing["cancel"]) == {
        "name", "label", "available", "reason", "permission", "params", "confirm",
        "confirm_label", "description", "requirement", "plugin",
    }  # fmt: skip
    assert listing["cancel"]["available"] is True and listing["cancel"]["requirement"]
    assert listing["comment"]["params"]["required"] == ["text"]


def test_import_from_stdin_refuses_bad_lines_with_exit_2(db: str) -> None:
    good = example_path("order-create.json").read_text()
    result = run("--db", db, "import", "-", input=good + '\n{"id": "m9"}\n')
    assert result.exit_code == 2
    assert "1 applied" in result.output
    assert "line 153: refused: type: missing required field" in result.output


def test_orders_outside_the_users_stores_are_not_found(db: str, tmp_path: Path) -> None:
    config = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "config" / "postsales.yaml").read_text()
    )
    config["roles"]["de_agent"] = {"permissions": ["orders.view"], "sales_channels": ["ST2"]}
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    base = ("--db", db, "--config", str(path))
    assert run(*base, "import", str(example_path("order-create.json"))).exit_code == 0
    added = run(
        *base,
        "users",
        "add",
        "anna",
        "--role",
        "de_agent",
        "--password-stdin",
        input="s3cret-pass\n",
    )
    assert added.exit_code == 0, added.output
    hidden = run(*base, "--user", "anna", "orders", "show", "000000101")
    assert hidden.exit_code == 4 and "not found" in hidden.output
    assert run(*base, "orders", "show", "000000101").exit_code == 0  # system user sees all


def test_users_add_validates_and_token_prints(db: str) -> None:
    bad = run("--db", db, "users", "add", "bob", "--role", "nope")
    assert bad.exit_code == 2 and "unknown role 'nope'" in bad.output
    assert run("--db", db, "users", "add", "bob", "--role", "agent").exit_code == 0
    token = run("--db", db, "users", "token", "bob")
    assert token.exit_code == 0 and token.output.startswith("pst_")
    assert run("--db", db, "users", "token", "nobody").exit_code == 4
    system = run("--db", db, "users", "token", "system")
    assert system.exit_code == 2 and "system user has no API tokens" in system.output


def test_bad_config_names_file_and_key_with_exit_2(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "sales_channels:\n  ST1:\n    name: x\n    market: US\n    currency: USD\n"
        "    postsales: {shipping_refund_rule: sometimes}\n"
    )
    result = run("--db", db, "--config", str(path), "config", "check")
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "shipping_refund_rule" in result.output
    assert "Traceback" not in result.output


def test_config_check_prints_effective_settings_with_origin(db: str) -> None:
    result = run("--db", db, "config", "check", "--json")
    data = json.loads(result.output)
    st1 = data["sales_channels"]["ST1"]["postsales"]
    assert st1["auto_approve_return"]["value"] is True
    assert set(data["sales_channels"]) == {"ST1", "ST2"}


def test_plugins_lists_builtins_with_their_distribution(db: str) -> None:
    data = json.loads(run("--db", db, "plugins", "--json").output)
    names = {p["name"]: p for p in data}
    assert names["cancel"]["distribution"] == "postsales" and names["cancel"]["enabled"]


def test_machines_prints_mermaid() -> None:
    out = run("machines").output
    assert "stateDiagram-v2" in out and "RETURN_REQUESTED" in out


def test_act_with_unknown_action_is_bad_input(db: str) -> None:
    run("--db", db, "import", str(example_path("order-create.json")))
    result = run("--db", db, "act", "000000101", "teleport", "--json")
    assert result.exit_code == 2
    assert "unknown action 'teleport'" in json.loads(result.output)["message"]
