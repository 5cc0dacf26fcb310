"""One declaration of what each action parameter is drives the API's JSON Schema (static in
OpenAPI, per order in the actions listing) and `postsales act ID ACTION --help`, for the
built-in actions and the example plugin alike (issue 13 item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from postsales.core.bootstrap import Postsales
from tests.adapters.forms_data import IN_STOCK, OUT_OF_STOCK, SHIPPED, load
from tests.adapters.test_api import make_api, problem


@pytest.fixture
def api(sqlite_app: Postsales):  # type: ignore[no-untyped-def]
    load(sqlite_app)
    return make_api(sqlite_app)


def listing(api) -> dict:  # type: ignore[no-untyped-def]
    response = api.client.get(f"/api/v1/orders/{SHIPPED}/actions", headers=api.auth())
    assert response.status_code == 200
    return {a["name"]: a for a in response.get_json()}


def test_the_listing_says_what_this_order_offers(api) -> None:  # type: ignore[no-untyped-def]
    actions = listing(api)
    props = actions["appeasement"]["params"]["properties"]
    line1 = props["line"]["x-options"][0]
    assert line1["value"] == 1 and line1["status"] == "SHIPPED" and line1["disabled"] is None
    assert line1["limit"] == "45.00 USD left to appease"
    assert props["amount"]["x-widget"] == "money" and props["amount"]["x-currency"] == "USD"
    assert props["amount"]["x-maximum-per-line"]["1"] == "45.00"
    items = actions["exchange"]["params"]["properties"]["items"]["x-options"]
    skus = {s["value"]: s for s in items[0]["skus"]}
    assert skus[IN_STOCK]["stock"] == 4 and skus[IN_STOCK]["disabled"] is None
    assert skus[OUT_OF_STOCK]["disabled"] == "out of stock"
    assert items[4]["disabled"] == "a shipping line"
    address = actions["reshipment"]["params"]["properties"]["shipping_address"]
    assert address["x-value"]["city"] == "Calder"
    assert [f["label"] for f in address["x-address-fields"]][:2] == ["First name", "Last name"]
    assert actions["comment"]["params"]["properties"]["text"]["maxLength"] == 4000


def test_too_much_money_is_422_naming_the_field(api) -> None:  # type: ignore[no-untyped-def]
    response = api.client.post(
        f"/api/v1/orders/{SHIPPED}/actions/appeasement",
        json={"line": 1, "amount": "45.01", "reason": "Late"},
        headers=api.auth(),
    )
    body = problem(response, 422)
    assert body["field"] == "amount"
    assert body["detail"] == "amount: 45.01 USD is more than 45.00 USD left to appease on line 1"


def test_openapi_carries_the_widgets(api) -> None:  # type: ignore[no-untyped-def]
    paths = api.client.get("/api/v1/openapi.json").get_json()["paths"]

    def props(name: str) -> dict:
        operation = paths[f"/api/v1/orders/{{order_id}}/actions/{name}"]["post"]
        return operation["requestBody"]["content"]["application/json"]["schema"]["properties"]

    assert props("cancel")["lines"]["x-widget"] == "lines"
    assert props("cancel")["reason"]["x-required-in-forms"] is True
    assert props("reshipment")["shipping_address"]["x-widget"] == "address"
    assert props("approve_refund")["refund_id"]["x-widget"] == "refund"
    assert props("exchange")["items"]["items"]["properties"]["sku"]["x-widget"] == "sku"
    if "store_credit" in api.services.registry.actions:  # the example plugin, when installed
        assert props("store_credit")["amount"]["x-widget"] == "money"
        assert props("store_credit")["amount"]["x-maximum-text"] == "left to credit"
    for name in api.services.registry.actions:
        for key, prop in props(name).items():
            assert "x-options" not in prop, (name, key)  # per order only, never static


def run(*args: str) -> object:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)
    from postsales.adapters.cli.main import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_act_help_lists_the_actions_parameters(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'never-made.db'}"
    result = run("--db", db, "act", SHIPPED, "return", "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "return: New return. Return shipped lines" in text
    assert "lines  (required; line numbers; repeat --param for several)  Lines" in text
    assert "in ST1: Damaged, Wrong item, Too small, Changed mind" in text
    assert "source  (optional; a source id)  Returned to" in text
    assert not (tmp_path / "never-made.db").exists()  # help never touches the database
    appease = run("--db", db, "act", SHIPPED, "appeasement", "--help").output
    assert "amount  (required; an amount in the order's currency)" in appease
    assert "at most what is left to appease" in appease
    assert "Preview it first with --dry-run" in appease
    unknown = run("--db", db, "act", SHIPPED, "nope", "--help")
    assert unknown.exit_code == 0 and "There is no action 'nope'; actions: " in unknown.output
    bare = run("act", "--help").output
    assert "Give an ACTION (act ID ACTION --help) to list its parameters." in bare


def test_act_help_for_the_example_plugin(tmp_path: Path, sqlite_app: Postsales) -> None:
    if "store_credit" not in sqlite_app.registry.actions:
        pytest.fail("the example plugin examples/plugins/postsales-store-credit is not installed")
    text = run("act", SHIPPED, "store_credit", "--help").output
    assert "line  (required; a line number of the order)  Line" in text
    assert "at most what is left to credit" in text


def test_the_listing_validates_against_the_openapi_action_schema(api) -> None:  # type: ignore[no-untyped-def]
    import jsonschema_rs as jsonschema  # schemathesis's own validator

    schema = api.client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Action"]

    def plain(node: object) -> object:  # OpenAPI's `nullable` as JSON schema
        if isinstance(node, dict):
            out = {k: plain(v) for k, v in node.items() if k != "nullable"}
            if node.get("nullable") and "type" in out:
                out["type"] = [out["type"], "null"]
            return out
        return [plain(v) for v in node] if isinstance(node, list) else node

    validator = jsonschema.validator_for(plain(schema))
    for action in listing(api).values():
        assert [str(e) for e in validator.iter_errors(action)] == [], action["name"]
