"""Inbound messages from a user of the API (SPEC §9, §10 `POST /messages`).

Messages are what the web store and the warehouse tell Postsales: orders created, shipments
shipped, refunds confirmed. Accepting one from a person's token is doing their work, so it needs
`orders.create` and `shipment.manage` (supervisors and admins have both), and, since a message
may concern any store, roles covering every sales channel (SPEC §4: nobody acts on an order of
a store outside their roles).
"""

from __future__ import annotations

from typing import Any

from ...bootstrap import Postsales
from ...domain.users import User
from ...errors import Forbidden
from .inbound import ingest

PERMISSIONS = ("orders.create", "shipment.manage")


def ingest_as(app: Postsales, user: User, raw: str | bytes | dict[str, Any]) -> str:
    """Apply one message for `user`: "applied" or "duplicate"; refusals raise (see `ingest`)."""
    for permission in PERMISSIONS:
        if not user.can(permission):
            raise Forbidden(f"you lack the permission {permission}")
    if user.channels is not None:
        raise Forbidden("sending messages needs roles that cover every sales channel")
    return ingest(app, raw)
