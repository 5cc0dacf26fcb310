"""Registers every subcommand module on the group."""

from __future__ import annotations

from . import admin, demo, lifecycle, messages, messaging, orders, search, serve, users  # noqa: F401
