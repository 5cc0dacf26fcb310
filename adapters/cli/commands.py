"""Registers every subcommand module on the group."""

from __future__ import annotations

from . import admin, demo, messages, orders, serve, users  # noqa: F401
