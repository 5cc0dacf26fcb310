"""The periodic pass over orders (`postsales lifecycle`, run every few minutes from cron or a
systemd timer): automatic order review and closing finished orders (SPEC §3).

Each order is handled in a transaction of its own, locked as an action would lock it, so the
pass can run beside agents and beside another pass; an order that changed meanwhile is simply
looked at again next time.
"""

from __future__ import annotations

import attrs
from sqlalchemy import select

from ..bootstrap import Postsales
from ..context import ActionContext
from ..domain.users import User
from ..errors import Forbidden, NotFound, Refused
from ..persistence import tables as T
from .lifecycle import close_order, pass_review, why_not_closable
from .orders import load_visible

AUTO_REVIEW_REASON = "Automatic review"


@attrs.frozen
class SweepReport:
    reviewed: list[str]
    closed: list[str]


def _candidates(app: Postsales, status: str, channels: list[str], limit: int) -> list[str]:
    o = T.orders
    query = select(o.c.id).where(o.c.status == status).order_by(o.c.seq).limit(limit)
    if channels:
        query = query.where(o.c.sales_channel.in_(channels))
    with app.uow(read_only=True) as uow:
        return [row.id for row in uow.conn.execute(query)]


def run_lifecycle(app: Postsales, user: User, *, limit: int = 10_000) -> SweepReport:
    """Pass review of NEW orders in channels with `auto_review`, and close every SHIPPED order
    nothing more can happen to; at most `limit` orders of each kind per run."""
    if user.channels is not None:
        raise Forbidden("the lifecycle pass covers every store; run it as a user who sees all")
    reviewed, closed = [], []
    auto = [cid for cid, ch in app.settings.sales_channels.items() if ch.postsales.auto_review]
    for order_id in _candidates(app, "NEW", auto, limit) if auto else []:
        if _apply(app, user, order_id, review=True):
            reviewed.append(order_id)
    for order_id in _candidates(app, "SHIPPED", [], limit):
        if _apply(app, user, order_id, review=False):
            closed.append(order_id)
    return SweepReport(reviewed, closed)


def _apply(app: Postsales, user: User, order_id: str, *, review: bool) -> bool:
    try:
        with app.uow() as uow:
            order = load_visible(uow, order_id, user)
            ctx = ActionContext(app=app, uow=uow, user=user, now=app.now())
            if review:
                if order.status != "NEW":
                    return False
                pass_review(ctx, order, AUTO_REVIEW_REASON)
            else:
                if why_not_closable(ctx, order) is not None:
                    return False
                close_order(ctx, order)
            uow.commit()
    except (NotFound, Refused):  # deleted or changed since it was listed: next pass
        return False
    return True
