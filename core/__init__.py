"""Postsales core: the domain, its services and the plugin contract.

Plugins import from here (and from the leaf modules named below) only. This module re-exports
leaf modules and never imports the plugin manager or bootstrap, so a plugin importing
`postsales.core` while the manager loads it cannot create an import cycle (STYLE pitfall 11).
"""

from __future__ import annotations

from .actions import ActionSpec, NoParams
from .context import ActionContext
from .errors import BadInput, Forbidden, NotFound, PostsalesError, Refused
from .gateways import GatewayAnswer, PaymentGateway
from .hookspecs import hookimpl
from .rules import Decision, Rule

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
]
