"""Handlers of inbound messages other than order creation, one per type (SPEC §9).

Each runs inside the caller's unit of work and returns the order id it touched (or None).
Customer e-mails go out in that same unit of work: shipped, return received (approved), refund
failed (a confirmed refund's e-mail is sent by the refund service itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import machines
from ...bootstrap import Postsales
from ...context import ActionContext
from ...domain.orders import Shipment
from ...domain.users import User
from ...errors import BadInput, NotFound, Refused
from ...messages_schema import Envelope
from ...persistence import tables as T
from ...persistence.database import insert_or_update
from ...persistence.unit_of_work import UnitOfWork
from .. import inventory
from ..refunds import (
    confirm_refund,
    confirmation_mismatch,
    fail_refund,
    refuse_confirmation,
)
from ..returns import approve_return
from ..shipping import ship_lines, tell_shipped, waiting_lines
from .outbound import notify_return, order_updated

Handler = Callable[[Postsales, UnitOfWork, Envelope, Any], "str | None"]


class RecordedRefusal(Refused):
    """A message refused after its handler recorded why on the order (a gateway confirmation
    that does not match its refund): the caller commits that record, then refuses."""

    def __init__(self, message: str, order_id: str) -> None:
        super().__init__(message)
        self.order_id = order_id


def _ctx(app: Postsales, uow: UnitOfWork, actor: str) -> ActionContext:
    user = User(actor, (), frozenset(), None, is_system=True)
    return ActionContext(app=app, uow=uow, user=user, now=app.now())


def _order(uow: UnitOfWork, order_id: str) -> Any:
    try:
        return uow.get_order(order_id)
    except NotFound:
        raise NotFound(f"payload.order_id: order {order_id} not found") from None


TRACKING = ("carrier", "tracking_number", "tracking_link", "tracking_comment", "box_number")


def _tracking(p: Any) -> dict[str, Any]:
    return {name: getattr(p, name) for name in TRACKING}


def _holding(order: Any, lines: tuple[int, ...]) -> Shipment | None:
    """The shipped shipment that holds every one of `lines` (the latest), if any."""
    held = [s for s in order.shipments if s.status == "SHIPPED" and set(lines) <= set(s.lines)]
    return held[-1] if held else None


def shipped(app: Postsales, uow: UnitOfWork, env: Envelope, p: Any) -> str:
    """The source's word that lines left it: accepted for NEW, ALLOCATED or PICKING lines.

    A second "shipped" for a shipment already SHIPPED (or, without a shipment id, for lines
    already shipped) leaves the shipment's carrier, tracking and date as they are and says so
    in history; only `"correction": true` replaces its carrier and tracking (not its date),
    recorded as `shipment.corrected` with what was there before (docs/messages.md)."""
    order = _order(uow, p.order_id)
    ctx = _ctx(app, uow, f"warehouse:{p.source_id}")
    for n in p.lines:
        if not order.has_line(n):
            raise BadInput(
                f"payload.lines: order {order.id} has no line {n}", field="payload.lines"
            )
    to_ship = waiting_lines(order, p.lines)
    shipment = None
    if p.shipment_request_id:
        shipment = next((s for s in order.shipments if s.id == p.shipment_request_id), None)
    elif not to_ship:
        shipment = _holding(order, p.lines)
    if shipment is None and not to_ship:
        # Nothing of this message is new, and no shipment of Postsales holds the lines.
        ctx.record(order, "shipment.shipped_again",
                   f"Source {p.source_id} reported lines {', '.join(map(str, p.lines))} shipped "
                   f"by {p.carrier}, tracking {p.tracking_number}; they were already "
                   f"{order.line(p.lines[0]).status}: nothing changed",
                   {"lines": list(p.lines), **_tracking(p)})  # fmt: skip
        return order.id
    if shipment is None:
        shipment = Shipment(
            id=p.shipment_request_id or order.next_shipment_id(),
            source_id=p.source_id,
            lines=list(p.lines),
            created_at=ctx.now,
        )
        order.shipments.append(shipment)
    if shipment.status != "SHIPPED":
        machines.fire(machines.SHIPMENT, shipment, "ship", label=f"shipment {shipment.id}")
        for name, value in _tracking(p).items():
            setattr(shipment, name, value)
        shipment.shipped_at = ctx.now
        _record_shipped(ctx, order, shipment, p, to_ship)
    elif p.correction:
        before = {name: getattr(shipment, name) for name in TRACKING}
        for name, value in _tracking(p).items():
            setattr(shipment, name, value)
        ctx.record(order, "shipment.corrected",
                   f"Shipment {shipment.id} corrected by {p.source_id}: "
                   + "; ".join(f"{name.replace('_', ' ')} {before[name] or '—'} -> {value or '—'}"
                               for name, value in _tracking(p).items()
                               if value != before[name]),
                   {"shipment_id": shipment.id, "before": before, **_tracking(p)})  # fmt: skip
    else:
        ctx.record(order, "shipment.shipped_again",
                   f"Shipment {shipment.id} was already shipped by {shipment.carrier}, tracking "
                   f"{shipment.tracking_number}; a second report (by {p.carrier}, tracking "
                   f"{p.tracking_number}) changed nothing (send \"correction\": true to replace)",
                   {"shipment_id": shipment.id, "lines": list(p.lines),
                    **_tracking(p)})  # fmt: skip
    ship_lines(ctx, order, to_ship, p.source_id)
    tell_shipped(ctx, order, shipment, to_ship)
    return order.id


def _record_shipped(
    ctx: ActionContext, order: Any, shipment: Shipment, p: Any, to_ship: list[int]
) -> None:
    skipped = [n for n in p.lines if n not in to_ship]
    extra = [f"link {p.tracking_link}" if p.tracking_link else "",
             f"box {p.box_number}" if p.box_number else "",
             f"\u201c{p.tracking_comment}\u201d" if p.tracking_comment else ""]  # fmt: skip
    ctx.record(
        order,
        "shipment.shipped",
        f"Shipment {shipment.id} shipped by {p.carrier}, tracking {p.tracking_number}"
        + "".join(f", {e}" for e in extra if e)
        + (f"; lines {skipped} were already {order.line(skipped[0]).status}" if skipped else ""),
        {"shipment_id": shipment.id, "lines": to_ship, **_tracking(p)},
    )


def return_received(app: Postsales, uow: UnitOfWork, env: Envelope, p: Any) -> str:
    """A source received returned lines: approves the return that holds them (A-3)."""
    order = _order(uow, p.order_id)
    ctx = _ctx(app, uow, f"warehouse:{p.source_id}")
    candidates = [r for r in order.returns if r.status == "REQUESTED"]
    if p.return_id:
        candidates = [r for r in order.returns if r.id == p.return_id]
        if not candidates:
            raise NotFound(f"payload.return_id: order {order.id} has no return {p.return_id}")
    ret = next((r for r in candidates if set(p.lines) <= set(r.lines)), None)
    if ret is None:
        raise Refused(
            f"payload.lines: no requested return of order {order.id} holds lines {p.lines}"
        )
    if ret.status == "APPROVED":
        ctx.record(order, "return.received", f"Source {p.source_id} received return {ret.id}")
        return order.id
    ctx.record(
        order,
        "return.received",
        f"Source {p.source_id} received return {ret.id}",
        {"return_id": ret.id, "lines": list(p.lines)},
    )
    approve_return(ctx, order, ret, actor=ctx.actor)
    notify_return(ctx, order, ret, received=True)
    ctx.emit("sales.order_management.updated", order_updated(order), order=order)
    return order.id


def _refund_answer(confirmed: bool) -> Handler:
    def handle(app: Postsales, uow: UnitOfWork, env: Envelope, p: Any) -> str:
        order = _order(uow, p.order_id)
        ctx = _ctx(app, uow, "gateway:payment")
        try:
            refund = order.refund(p.refund_id)
        except KeyError:
            raise NotFound(
                f"payload.refund_id: order {order.id} has no refund {p.refund_id}"
            ) from None
        response = p.response or ("confirmed" if confirmed else "failed")
        if confirmed and refund.status == "PENDING_RELEASE":
            # The gateway's word is checked: a confirmation of another amount or currency
            # releases nothing (issue 17 item 9).
            mismatch = confirmation_mismatch(order, refund, p.amount_in(order.currency), p.currency)
            if mismatch:
                refuse_confirmation(ctx, order, refund, mismatch, actor=ctx.actor)
                raise RecordedRefusal(f"payload.amount: {mismatch}", order.id)
        if confirmed:
            confirm_refund(ctx, order, refund, response, actor=ctx.actor)
        else:
            fail_refund(ctx, order, refund, response, actor=ctx.actor)
        return order.id

    return handle


def _upsert(uow: UnitOfWork, table: Any, row: dict[str, Any], keys: tuple[str, ...]) -> None:
    stmt = insert_or_update(uow.conn, table).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: v for k, v in row.items() if k not in keys}
    )
    uow.conn.execute(stmt)


def product_upsert(app: Postsales, uow: UnitOfWork, env: Envelope, p: Any) -> None:
    row = {
        "sku": p.sku,
        "parent_sku": p.parent_sku,
        "name": p.name,
        "image_url": p.image_url,
        "product_type": p.product_type,
        "prices": {channel: str(amount) for channel, amount in p.prices.items()},
        "updated_at": app.now(),
    }
    _upsert(uow, T.products, row, ("sku",))
    return None


def source_item_update(app: Postsales, uow: UnitOfWork, env: Envelope, p: Any) -> None:
    if p.source_id not in app.settings.sources:
        raise BadInput(
            f"payload.source_id: unknown source {p.source_id!r}", field="payload.source_id"
        )
    # The quantity is what the source has on hand; what released lines hold stays reserved.
    row = {"source_id": p.source_id, "sku": p.sku, "quantity": p.quantity, "updated_at": app.now()}
    _upsert(uow, T.stock, row, ("source_id", "sku"))
    inventory.stock_reported(app, uow, p.source_id, p.sku)
    return None


HANDLERS: dict[str, Handler] = {
    "logistics.shipment_request_management.shipped": shipped,
    "logistics.return.received": return_received,
    "payment.refund.confirmed": _refund_answer(True),
    "payment.refund.failed": _refund_answer(False),
    "catalog.product.upsert": product_upsert,
    "inventory.source_item.update": source_item_update,
}
