"""S-5 work queue: orders that need an agent, with the reasons why.

An order is in the queue when it has a return awaiting approval, a refund awaiting approval or
rejected by the payment gateway (a failed refund goes back to REQUESTED, keeping the gateway's
answer), a refund whose gateway confirmation was refused because its amount or currency did not
match (it stays PENDING_RELEASE), when it is on hold, or when someone holds its lock. Each
reason is one indexed subquery; the union is read newest first like every search.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, or_, select, union

from ..persistence import tables as T

o = T.orders.c
r = T.returns.c
f = T.refunds.c


def in_queue(now: datetime) -> ColumnElement[bool]:
    del now  # an expired lock still shows: someone left the order mid-way
    return o.seq.in_(
        union(
            select(r.order_seq).where(r.status == "REQUESTED"),
            select(f.order_seq).where(f.status == "REQUESTED"),
            select(f.order_seq).where(
                f.status == "PENDING_RELEASE", f.gateway_mismatch.is_not(None)
            ),
            select(o.seq).where(o.status == "ONHOLD"),
            select(o.seq).where(o.lock_holder.is_not(None)),
        )
    )


def reasons(conn: Connection, rows: Sequence[object]) -> dict[int, list[str]]:
    """Why each order of a page is in the queue, in words an agent reads."""
    seqs = [row.seq for row in rows]  # type: ignore[attr-defined]
    out: dict[int, list[str]] = defaultdict(list)
    if not seqs:
        return out
    for row in rows:
        if row.status == "ONHOLD":  # type: ignore[attr-defined]
            out[row.seq].append("on hold")  # type: ignore[attr-defined]
        if row.lock_holder:  # type: ignore[attr-defined]
            out[row.seq].append(f"locked by {row.lock_holder}")  # type: ignore[attr-defined]
    for ret in conn.execute(
        select(r.order_seq, r.id).where(r.order_seq.in_(seqs), r.status == "REQUESTED")
    ):
        out[ret.order_seq].append(f"return {ret.id} awaiting approval")
    for ref in conn.execute(
        select(f.order_seq, f.id, f.kind, f.gateway_mismatch).where(
            f.order_seq.in_(seqs), f.status == "PENDING_RELEASE", f.gateway_mismatch.is_not(None)
        )
    ):
        what = "appeasement" if ref.kind == "APPEASEMENT" else "refund"
        out[ref.order_seq].append(
            f"{what} {ref.id}: gateway confirmation refused: {ref.gateway_mismatch}"
        )
    for ref in conn.execute(
        select(f.order_seq, f.id, f.kind, f.gateway_response).where(
            f.order_seq.in_(seqs), f.status == "REQUESTED"
        )
    ):
        what = "appeasement" if ref.kind == "APPEASEMENT" else "refund"
        if ref.gateway_response:
            out[ref.order_seq].append(
                f"{what} {ref.id} rejected by the gateway: {ref.gateway_response}"
            )
        else:
            out[ref.order_seq].append(f"{what} {ref.id} awaiting approval")
    return out


__all__ = ["in_queue", "or_", "reasons"]
