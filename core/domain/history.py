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


@attrs.frozen
class Lock:
    """An agent working on an order holds it until `expires_at` (A-10)."""

    holder: str
    expires_at: datetime

    def active(self, now: datetime) -> bool:
        return now < self.expires_at
