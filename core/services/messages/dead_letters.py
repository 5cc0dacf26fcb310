"""Refused inbound messages kept for inspection (SPEC §9): the reason, what the message said
(its billing data sealed, S-6), and its envelope's `id` and `type` whenever the message names
them, even when the envelope itself was refused (issue 17 item 11)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, String, insert

from ...crypto import BillingCipher, BillingKeyError
from ...persistence import tables as T
from ...persistence.keys import cipher_for
from ...persistence.sealing import seal_dead_letter

RAW_MAX = 1_000_000
_ID_MAX = cast(String, T.dead_letters.c.message_id.type).length
_TYPE_MAX = cast(String, T.dead_letters.c.type.type).length


def envelope_head(raw: str) -> tuple[str | None, str | None]:
    """The `id` and `type` a message gives, if it is a JSON object naming them as strings."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, dict):
        return None, None
    found = [value.get("id"), value.get("type")]
    message_id, type_ = (v if isinstance(v, str) and v.strip() else None for v in found)
    return message_id, type_


def keep(
    conn: Connection,
    raw: str,
    reason: str,
    at: datetime,
    *,
    message_id: str | None = None,
    type_: str | None = None,
) -> None:
    """Insert the dead letter of `raw` in the caller's transaction. `message_id` and `type_`
    are the parsed envelope's; without them, whatever the raw message names."""
    if message_id is None or type_ is None:
        named_id, named_type = envelope_head(raw)
        message_id, type_ = message_id or named_id, type_ or named_type

    def billing() -> BillingCipher | None:
        try:
            return cipher_for(conn)
        except BillingKeyError:  # no key to seal with: the billing data is blanked instead
            return None

    kept, reason = seal_dead_letter(billing, raw[:RAW_MAX], reason)
    conn.execute(
        insert(T.dead_letters).values(
            message_id=_text(message_id, _ID_MAX),
            type=_text(type_, _TYPE_MAX),
            # PostgreSQL text cannot hold NUL: keep the bytes visible, escaped, for inspection.
            reason=_text(reason, None) or "",
            raw=_text(kept, None) or "",
            received_at=at,
        )
    )


def _text(value: str | None, size: int | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\x00", "\\u0000")
    # A lone surrogate cannot be stored as UTF-8 by either database: keep it visible.
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value[:size] if size else value
