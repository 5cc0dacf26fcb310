"""Every hook is documented with its exact signature (datasette's and pytest's habit)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from postsales.core import hookspecs

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
