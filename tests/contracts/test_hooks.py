"""Every hook is documented with its exact signature (datasette's and pytest's habit)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from postsales.core import (
    CANCEL_ELIGIBILITY,
    ActionSpec,
    ConfigError,
    Notifier,
    PaymentGateway,
    Rule,
    hookimpl,
    hookspecs,
)
from postsales.core.bootstrap import load_plugins
from postsales.core.rules import POINTS
from postsales.core.settings import load_settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()
HOOKS = [name for name in dir(hookspecs) if name.startswith("postsales_")]


def test_there_are_hooks() -> None:
    assert "postsales_register_actions" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_its_signature(name: str) -> None:
    params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert f"### `{name}({params})`" in DOC


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name: str) -> None:
    assert len(inspect.getdoc(getattr(hookspecs, name)) or "") > 80


# -- every hook and decision point has a test and a docs entry (datasette's
# test_plugin_hooks_have_tests; issue 14 item 4) ----------------------------------------------

TESTS = Path(__file__).resolve().parents[1]
_TEST_SOURCES = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py"))


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    assert f"def test_hook_{name}(" in _TEST_SOURCES, f"write test_hook_{name}"


@pytest.mark.parametrize("name", sorted(POINTS))
def test_every_point_has_a_test(name: str) -> None:
    assert f"def test_point_{name}(" in _TEST_SOURCES, f"write test_point_{name}"


@pytest.mark.parametrize("name", sorted(POINTS))
def test_every_point_is_documented_with_its_signature(name: str) -> None:
    assert f"### `{name}`: `{POINTS[name].describe()}`" in DOC


def test_builtin_rules_take_the_arguments_of_their_point() -> None:
    """A rule's `decide` takes what its point's signature lists (the Protocol's parameters)."""
    _pm, registry = load_plugins(load_settings(None))
    for rule in registry.rules:
        declared = inspect.signature(POINTS[rule.point].signature.__call__).parameters
        takes = inspect.signature(rule.decide).parameters
        assert len(takes) == len(declared) - 1, (rule.name, list(takes), list(declared))


def test_hooks_are_called_through_pluggy_so_tracing_shows_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTSALES_TRACE_PLUGINS", "1")
    load_plugins(load_settings(None))
    traced = capsys.readouterr().out
    for name in HOOKS:
        assert "postsales_register_" in traced and name in traced, name


# -- one test per hook: what a plugin registers reaches the registry -------------------------------


class _Everything:
    """A plugin implementing every hook once, registered directly."""

    @hookimpl
    def postsales_register_actions(self, settings: Any) -> list[ActionSpec]:
        return [ActionSpec("hook_test", "Hook test", "order.comment", run=lambda o, p, c: None)]

    @hookimpl
    def postsales_register_rules(self, settings: Any) -> list[Rule]:
        return [Rule("hook_test_rule", CANCEL_ELIGIBILITY, lambda order, ctx: None)]

    @hookimpl
    def postsales_register_gateways(self, settings: Any) -> list[PaymentGateway]:
        return [PaymentGateway("hook_test_gateway", ("voucher",), send=lambda *a: None)]

    @hookimpl
    def postsales_register_notifiers(self, settings: Any) -> list[Notifier]:
        return [Notifier(name="hook_test_notifier", record=lambda n, o, c: None)]


@pytest.fixture(scope="module")
def registry() -> Any:
    return load_plugins(load_settings(None), extra=[("everything", _Everything())])[1]


def test_hook_postsales_register_actions(registry: Any) -> None:
    assert registry.actions["hook_test"].label == "Hook test"


def test_hook_postsales_register_rules(registry: Any) -> None:
    assert [r.name for r in registry.rules_for(CANCEL_ELIGIBILITY)] == ["hook_test_rule"]


def test_hook_postsales_register_gateways(registry: Any) -> None:
    assert registry.gateway_for("voucher").name == "hook_test_gateway"


def test_hook_postsales_register_notifiers(registry: Any) -> None:
    assert "hook_test_notifier" in [n.name for n in registry.notifiers]


def test_a_duplicate_action_names_both_plugins() -> None:
    class Twice(_Everything):
        pass

    with pytest.raises(ConfigError, match="'hook_test' is declared by both one and two"):
        load_plugins(load_settings(None), extra=[("one", _Everything()), ("two", Twice())])
