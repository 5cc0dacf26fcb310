"""The `postsales` command line (SPEC §10): a thin door onto the core services."""

from __future__ import annotations

from .main import cli, main

__all__ = ["cli", "main"]
