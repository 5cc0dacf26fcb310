"""Postsales core: the domain, its services and the plugin contract.

Plugins import from here (and from the leaf modules named below) only. This module re-exports
leaf modules and never imports the plugin manager or bootstrap, so a plugin importing
`postsales.core` while the manager loads it cannot create an import cycle (STYLE pitfall 11).

The re-exports are resolved on first use (PEP 562): `import postsales.core.errors` from a door
that only needs the error classes (the CLI's `--help`) must not pay for attrs, pluggy and the
domain model (issue 18 item 1).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actions import ActionSpec, NoParams
    from .context import ActionContext
    from .errors import BadInput, Forbidden, NotFound, PostsalesError, Refused
    from .gateways import GatewayAnswer, PaymentGateway
    from .hookspecs import hookimpl
    from .rules import Decision, Rule
    from .widgets import param

_EXPORTS = {
    "ActionContext": ".context",
    "ActionSpec": ".actions",
    "BadInput": ".errors",
    "Decision": ".rules",
    "Forbidden": ".errors",
    "GatewayAnswer": ".gateways",
    "NoParams": ".actions",
    "NotFound": ".errors",
    "PaymentGateway": ".gateways",
    "PostsalesError": ".errors",
    "Refused": ".errors",
    "Rule": ".rules",
    "hookimpl": ".hookspecs",
    "param": ".widgets",
}

__all__ = [
    "ActionContext",
    "ActionSpec",
    "BadInput",
    "Decision",
    "Forbidden",
    "GatewayAnswer",
    "NoParams",
    "NotFound",
    "PaymentGateway",
    "PostsalesError",
    "Refused",
    "Rule",
    "hookimpl",
    "param",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # resolved once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
