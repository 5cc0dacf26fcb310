"""Registers every subcommand module on the group."""

from __future__ import annotations

from . import (  # noqa: F401  (registers the subcommands)
    admin,
    audit,
    demo,
    lifecycle,
    messages,
    messaging,
    orders,
    search,
    serve,
    stock,
    users,
)
