"""Reasons in the agent's words, times in the user's zone (issue 13 item 7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postsales.core.wording import agent_words, local_time, status_words

LABELS = {"cancel": "Cancel order", "add_payment": "Add payment", "delete": "Delete draft"}


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("order is SHIPPED; cancel is allowed in NEW, RECEIVED, ONHOLD",
         "Cancel order is possible only when the order is new, received or on hold; "
         "it is shipped"),
        ("order is SHIPPED; add_payment is allowed in DRAFT, NEW, RECEIVED, ONHOLD",
         "Add payment is possible only when the order is draft, new, received or on hold; "
         "it is shipped"),
        ("order is NEW; delete is allowed in DRAFT",
         "Delete draft is possible only when the order is draft; it is new"),
        ("line 2 is SHIPPED; cancel is allowed in NEW, ALLOCATED",
         "Cancel order is possible only when line 2 is new or allocated; it is shipped"),
        ("order is NEW; store_credit is allowed in SHIPPED, PARTIALLY_SHIPPED",
         "store credit is possible only when the order is shipped or partially shipped; "
         "it is new"),
        ("no refund is REQUESTED or PENDING_RELEASE",
         "no refund is requested or pending release"),
        ("you lack the permission refund.approve",
         "your role does not allow this; ask a supervisor"),
        # Codes that are not statuses are left alone (a SKU, a config key).
        ("MJ01-S-RED has no stock in sources SOU1, SOU2 of ST1",
         "MJ01-S-RED has no stock in sources SOU1, SOU2 of ST1"),
    ],
)  # fmt: skip
def test_agent_words(reason: str, said: str) -> None:
    assert agent_words(reason, LABELS) == said


def test_status_words() -> None:
    assert status_words("ONHOLD") == "on hold"
    assert status_words("PARTIALLY_SHIPPED") == "partially shipped"


def test_local_time_in_the_users_zone() -> None:
    at = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert local_time(at, "Europe/Berlin") == "2026-07-01 14:30 CEST"
    assert local_time(at, "America/New_York") == "2026-07-01 08:30 EDT"
    assert local_time(at, "Not/AZone") == "2026-07-01 12:30 UTC"  # never a 500 for a bad zone
    assert local_time(at.replace(tzinfo=None), "UTC") == "2026-07-01 12:30 UTC"  # naive = UTC
