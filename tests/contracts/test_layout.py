"""The architecture's promises, checked mechanically (SPEC §1, STYLE pitfalls 12 and 13)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARE_IMPORT = re.compile(r"^\s*(from|import)\s+(core|plugins|adapters)(\.|\s|$)", re.M)


def _python_files() -> list[Path]:
    dirs = ["core", "plugins", "adapters", "tests", "bench", "examples"]
    return [p for d in dirs if (ROOT / d).exists() for p in (ROOT / d).rglob("*.py")]


def test_no_bare_top_level_imports() -> None:
    """`import core` next to `import postsales.core` would load two copies of every module."""
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(0).strip()}"
        for path in _python_files()
        for m in BARE_IMPORT.finditer(path.read_text())
    ]
    assert offenders == []


def test_every_plugin_module_is_an_entry_point_and_back() -> None:
    """Built-ins register through the same entry points as an integrator (SPEC §1)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "postsales"
    ]
    modules = {
        "postsales.plugins." + ".".join(p.relative_to(ROOT / "plugins").with_suffix("").parts)
        for p in (ROOT / "plugins").rglob("*.py")
        if p.name != "__init__.py"
    }
    assert set(declared.values()) == modules
    installed = {
        ep.name: ep.value for ep in entry_points(group="postsales") if ep.dist.name == "postsales"
    }
    assert installed == declared, "reinstall with `pip install -e .` after changing entry points"


def test_core_does_not_import_frameworks_or_plugins() -> None:
    """A textual backstop for the import-linter contracts in pyproject.toml."""
    pattern = re.compile(
        r"^\s*(from|import)\s+(flask|click|werkzeug|jinja2|postsales\.(plugins|adapters))\b", re.M
    )
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "core").rglob("*.py")
        if pattern.search(p.read_text())
    ]
    assert offenders == []


def test_no_product_module_is_over_500_lines() -> None:
    """Issue 14 item 6: a module a newcomer can read at one sitting. Migrations are history,
    not code to change, and are left out."""
    long = {
        str(path.relative_to(ROOT)): lines
        for d in ("core", "plugins", "adapters")
        for path in (ROOT / d).rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > 500
    }
    assert long == {}
