"""Registers every subcommand module on the group."""

from __future__ import annotations

from . import admin, demo, messages, messaging, orders, search, serve, stock, users  # noqa: F401
