"""Access-control failures into the audit log, for both doors (the web app and the API).

Called from each door's error map with the core error it is about to answer: a `Forbidden`
(403) or a `NotFound` on an order's address (404, which is also what an order outside the
user's stores reads as). The answer itself is unchanged; see `core/services/audit.py`.
"""

from __future__ import annotations

from flask import request

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import Forbidden, NotFound, PostsalesError
from postsales.core.services.audit import record_forbidden, record_order_not_found


def audit_refusal(app: Postsales, user: User | None, exc: PostsalesError, *, door: str) -> None:
    """Record `exc` if it refused `user` access; other errors are not the audit log's."""
    if user is None or not isinstance(exc, Forbidden | NotFound):
        return
    args = request.view_args or {}
    order_id = args.get("order_id")
    where = {
        "door": door,
        "route": request.path,
        "method": request.method,
        "action": args.get("name"),
    }
    if isinstance(exc, Forbidden):
        record_forbidden(app, user, reason=exc.message, order_id=order_id, **where)
    elif order_id:
        record_order_not_found(app, user, str(order_id), **where)
