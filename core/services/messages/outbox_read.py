"""Reading the outbox for a user (SPEC §10 `GET /outbox`): newest messages, within their stores.

Relaying and marking messages sent belong to the messaging service; this module only reads.
A message about an order is shown only to users who may see that order's sales channel
(SPEC §4); messages about no order are shown only to users who see every channel.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...bootstrap import Postsales
from ...crypto import is_sealed
from ...documents import iso
from ...domain.users import User
from ...errors import BadInput, Forbidden
from ...persistence import tables as T
from ...persistence.sealing import open_outbox_payload

LIMIT_MAX = 1000


def list_outbox(
    app: Postsales,
    user: User,
    *,
    pending: bool = False,
    limit: int = 100,
    after: int | None = None,
) -> list[dict[str, Any]]:
    """Outbound messages in the order they were written (oldest of the page first).

    Without `after`, the `limit` most recent; with `after` (a `seq` from an earlier page), the
    `limit` messages that followed it, so a client can follow the outbox page by page.
    """
    if not user.can("orders.view"):
        raise Forbidden("you lack the permission orders.view")
    if not 1 <= limit <= LIMIT_MAX:
        raise BadInput(f"limit: expected 1 to {LIMIT_MAX}, got {limit}", field="limit")
    if after is not None and after < 0:
        raise BadInput(f"after: expected a sequence number, got {after}", field="after")
    o = T.outbox
    query = select(o)
    if user.channels is not None:
        visible = select(T.orders.c.id).where(T.orders.c.sales_channel.in_(sorted(user.channels)))
        query = query.where(o.c.order_id.in_(visible))
    if pending:
        query = query.where(o.c.sent_at.is_(None))
    if after is not None:
        query = query.where(o.c.seq > after).order_by(o.c.seq).limit(limit)
    else:
        query = query.order_by(o.c.seq.desc()).limit(limit)
    with app.uow(read_only=True) as uow:
        rows = list(uow.conn.execute(query))
        cipher = uow.billing() if any(is_sealed(r.payload) for r in rows) else None
    rows.sort(key=lambda r: r.seq)
    return [
        {
            "seq": r.seq,
            "id": r.message_id,
            "type": r.type,
            "order_id": r.order_id,
            "created_at": iso(r.created_at),
            "state": "sent" if r.sent_at else "pending",
            "sent_at": iso(r.sent_at),
            "payload": open_outbox_payload(cipher, r.message_id, r.payload),
        }
        for r in rows
    ]
