"""Click pieces of our own: an option whose help text is built only when help is shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


class LazyHelpOption(click.Option):
    """`help_text` is a function, called when `--help` renders this option: help that lists
    names from a core service (filters, columns) costs nothing on every other run."""

    def __init__(self, *args: Any, help_text: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self._help_text()
        return super().get_help_record(ctx)
