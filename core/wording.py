"""Reasons in the agent's words (issue 13 item 7).

The core's reasons are exact and stable for the API and the CLI ("order is SHIPPED; cancel is
allowed in NEW, RECEIVED, ONHOLD"); an agent reads "Possible only when the order is new,
received or on hold; it is shipped". :func:`agent_words` turns the first into the second with
the actions' labels and the lifecycles' status words; :func:`local_time` shows a time in the
user's zone, as every page does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_STATUS_RULE = re.compile(
    r"^(?P<who>.+?) is (?P<status>[A-Z][A-Z_]*); (?P<action>[a-z][a-z_]*) is allowed in "
    r"(?P<allowed>[A-Z][A-Z_]*(?:, [A-Z][A-Z_]*)*)(?P<rest>.*)$"
)
_PERMISSION = re.compile(r"^you lack the permission (?P<permission>[\w.]+)$")
_CODE = re.compile(r"\b[A-Z][A-Z_]*[A-Z]\b")


@functools.cache
def _statuses() -> frozenset[str]:
    from .machines import LINE, ORDER, REFUND, RETURN, SHIPMENT

    return frozenset(s for m in (ORDER, LINE, SHIPMENT, RETURN, REFUND) for s in m.states)


def status_words(code: str) -> str:
    """ "ONHOLD" -> "on hold", "PARTIALLY_SHIPPED" -> "partially shipped"."""
    if code == "ONHOLD":
        return "on hold"
    return code.lower().replace("_", " ")


def _one_of(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def agent_words(reason: str, labels: Mapping[str, str] | None = None) -> str:
    """The reason as an agent reads it: labels for action names, words for status codes."""
    labels = labels or {}
    match = _STATUS_RULE.match(reason)
    if match:
        who = match["who"]
        who = f"the {who}" if who in ("order", "refund", "return", "shipment") else who
        allowed = [status_words(s) for s in match["allowed"].split(", ")]
        action = labels.get(match["action"], match["action"].replace("_", " "))
        return (
            f"{action} is possible only when {who} is {_one_of(allowed)}; "
            f"it is {status_words(match['status'])}{match['rest']}"
        )
    match = _PERMISSION.match(reason)
    if match:
        return "your role does not allow this; ask a supervisor"
    known = _statuses()
    return _CODE.sub(lambda m: status_words(m[0]) if m[0] in known else m[0], reason)


def local_time(at: datetime, zone: str) -> str:
    """ "2026-12-02 15:30 CET": a stored UTC time in the user's zone (UTC if unknown)."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
