"""The example outside plugin, installed as a distribution, works through every door without a
change to any adapter (issue 3 item 8), and YAML switches plugins on and off."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import ConfigError
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.orders import show_order
from postsales.core.services.users import get_user
from tests.conftest import ROOT, import_examples

try:  # ./scripts/test installs it as an integrator would; a missing one fails, not skips
    import postsales_store_credit  # noqa: F401
except ImportError:  # pragma: no cover - a broken setup
    pytest.fail(
        "install examples/plugins/postsales-store-credit (./scripts/test does)", pytrace=False
    )


def test_the_plugin_is_installed_for_the_tests_only() -> None:
    """./scripts/test keeps it out of the venv that ./scripts/run serves the demo from: after a
    test run the demo must not offer a "Store credit" action (issue 13 item 8)."""
    from importlib.metadata import distribution

    where = Path(str(distribution("postsales-store-credit").locate_file(""))).resolve()
    assert where == (ROOT / "var" / "test-plugins").resolve()


def config_with(tmp_path: Path, plugins: dict) -> str:
    data = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    data["plugins"] = plugins
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_installed_plugin_is_listed_with_its_distribution(app: Postsales) -> None:
    info = {p.name: p for p in app.registry.plugins}["store_credit"]
    assert (info.distribution, info.enabled) == ("postsales-store-credit", True)
    assert app.registry.action_plugins["store_credit"] == "store_credit"
    assert app.registry.rule_plugins["restocking_fee"] == "store_credit"


def test_plugin_action_shows_up_and_runs(app: Postsales, shipped_order: str) -> None:
    system = get_user(app, None)
    listed = {a.name: a for a in list_actions(app, shipped_order, system)}["store_credit"]
    assert listed.available and listed.params["required"] == ["line", "amount"]
    outcome = run_action(app, shipped_order, "store_credit", {"line": 1, "amount": "5.00"}, system)
    refund = next(r for r in outcome.order["refunds"] if r["id"] in outcome.result["store_credit"])
    assert (refund["status"], refund["amount"]) == ("RELEASED", "5.00")
    assert any(m["type"] == "postsales.store_credit.issued" for m in outcome.messages)
    assert show_order(app, shipped_order, system)["lines"][0]["appeased_amount"] == "5.00"


def test_plugin_rule_is_off_until_configured(tmp_path: Path, app: Postsales) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    configured = bootstrap(
        config_with(tmp_path, {"store_credit": {"restocking_fee_percent": "10"}}), url
    )
    import_examples(configured, "order-create.json", "shipment-shipped.json")
    system = get_user(configured, None)
    params = {"lines": [2], "reason": "Damaged", "comment": "Torn"}
    outcome = run_action(configured, "000000101", "return", params, system)
    (refund,) = outcome.order["refunds"]
    assert Decimal(refund["amount"]) == Decimal("54.00") - Decimal("5.40")  # 10 % kept
    configured.engine.dispose()


def test_disabled_plugin_does_nothing(tmp_path: Path, app: Postsales) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    off = bootstrap(config_with(tmp_path, {"store_credit": {"enabled": False}}), url)
    assert "store_credit" not in off.registry.actions
    assert {p.name: p.enabled for p in off.registry.plugins}["store_credit"] is False
    off.engine.dispose()


def test_unknown_plugin_in_config_is_an_error(tmp_path: Path, app: Postsales) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    with pytest.raises(ConfigError, match="unknown plugin 'store_kredit'"):
        bootstrap(config_with(tmp_path, {"store_kredit": {"enabled": False}}), url)
