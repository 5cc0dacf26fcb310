"""History events, comments and the order lock (SPEC §2, A-8, A-10)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class HistoryEvent:
    """One entry of an order's append-only history; `actor` is a user name, `system`,
    `warehouse:<source>` or `gateway:<name>`."""

    at: datetime
    actor: str
    kind: str
    summary: str
    payload: dict[str, Any] = attrs.field(factory=dict)


def order_received(origin: str, captures: list[tuple[str, str, str]]) -> str:
    """The summary of an imported order's first history entry, with what the store captured
    (seed 000: payment events belong in History): `captures` is (method, payment id, amount
    with its currency) per payment that captured something, e.g. ("card", "PAY-1", "118.80
    USD"). Both import paths build it here, so their rows stay equal."""
    text = f"Order received from {origin}"
    if captures:
        text += "; " + "; ".join(
            f"{method} {payment_id}: {amount} captured".replace("  ", " ")
            for method, payment_id, amount in captures
        )
    return text


@attrs.frozen
class Lock:
    """An agent working on an order holds it until `expires_at` (A-10)."""

    holder: str
    expires_at: datetime

    def active(self, now: datetime) -> bool:
        return now < self.expires_at
