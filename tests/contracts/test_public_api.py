"""The plugin API is `postsales.core` itself (issue 14 item 4).

import-linter (pyproject.toml) keeps `postsales.plugins` to `postsales.core`; the example outside
plugin is a single module, which import-linter cannot take as a root, so this checks every plugin
and the example the same way, from their source.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import postsales.core as core

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = sorted(
    [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples" / "plugins").rglob("*.py")]
)


def _core_imports(path: Path) -> list[str]:
    """Every `postsales.core…` module a file imports, wherever the import statement is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [m for m in found if m == "postsales.core" or m.startswith("postsales.core.")]


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_nothing_below_postsales_core(path: Path) -> None:
    below = [m for m in _core_imports(path) if m != "postsales.core"]
    assert below == [], f"{path.relative_to(ROOT)} imports internal core modules {below}"


def test_the_example_plugin_uses_the_public_api() -> None:
    example = ROOT / "examples/plugins/postsales-store-credit/postsales_store_credit.py"
    assert _core_imports(example) == ["postsales.core"]
    # A refund without a gateway is settled through the API, not by setting its status.
    assert ".status =" not in example.read_text()


def test_every_export_resolves_and_all_lists_them() -> None:
    assert sorted(core.__all__) == sorted(core._EXPORTS)
    for name in core.__all__:
        assert getattr(core, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'create_refunds'"):
        _ = core.create_refunds


def test_every_name_plugins_use_is_exported() -> None:
    """Built-in plugins import what they need from the API; nothing they use is missing."""
    used = set()
    for path in PLUGIN_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "postsales.core":
                used.update(alias.name for alias in node.names)
    assert used - set(core.__all__) == set()
    assert {"settle_refund", "fire", "create_refund", "Order", "format_amount"} <= used
