"""A-8 Comment: free text added to the order's history, with its author and time.

Comments are history events of kind ``comment``; the order document lists them both under
``comments`` and, in time order with everything else, under ``history``.
"""

from __future__ import annotations

from typing import Any

import attrs

from postsales.core import (
    ActionContext,
    ActionSpec,
    BadInput,
    Order,
    Widget,
    hookimpl,
    param,
)

TEXT_MAX = 4000  # a long call summary fits; a pasted e-mail thread does not


def _text(_inst: Any, _attr: Any, value: str) -> None:
    # BadInput (not ValueError) so the error names the parameter through every door.
    if not value.strip():
        raise BadInput("text: the comment must not be blank", field="text")
    if len(value) > TEXT_MAX:
        raise BadInput(f"text: at most {TEXT_MAX} characters, got {len(value)}", field="text")


@attrs.frozen
class CommentParams:
    text: str = param(
        Widget.LONG_TEXT, label="Comment", validator=_text, max_length=TEXT_MAX,
        help=f"the comment (at most {TEXT_MAX} characters)",
    )  # fmt: skip


def run(order: Order, params: CommentParams, ctx: ActionContext) -> None:
    """Append the comment; the summary is the text itself so free-text search finds it."""
    ctx.record(order, "comment", params.text, {"text": params.text})


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    return [
        ActionSpec(
            name="comment",
            label="Comment",
            permission="order.comment",
            params=CommentParams,
            run=run,
            description="Add a note to the order; it appears in history and comments.",
            on_closed=True,
            requirement="A-8",
        )
    ]
