"""A module imported on first use: command modules keep `svc.add_user(...)`-style calls while
`postsales --help` imports none of the services behind them (issue 18 item 1)."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module `name` and imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"
