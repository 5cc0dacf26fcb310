"""Listing and running actions: the one path every door uses (SPEC §6, §10).

A preview (`dry_run`) runs exactly the same code as the real action, inside the same kind of
transaction, and then rolls it back: the amounts an agent is shown are the amounts that would be
refunded, because they come from the same computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..actions import ActionSpec, action_schema, parse_params
from ..bootstrap import Postsales
from ..context import ActionContext
from ..documents import order_document
from ..domain.orders import Order
from ..domain.users import User
from ..errors import BadInput, Forbidden, NotFound, Refused, Unavailable
from .idempotency import KeyedRequest, keep_with
from .orders import load_visible, with_stock


@attrs.frozen
class ActionAvailability:
    name: str
    label: str
    permission: str
    available: bool
    reason: str | None
    params: dict[str, Any]
    confirm: str | None
    requirement: str
    plugin: str

    def to_dict(self) -> dict[str, Any]:
        """The listing every door shows (API, `postsales actions --json`), in one shape."""
        return {
            "name": self.name,
            "label": self.label,
            "available": self.available,
            "reason": self.reason,
            "permission": self.permission,
            "params": self.params,
            "confirm": self.confirm,
            "requirement": self.requirement,
            "plugin": self.plugin,
        }


def _spec(app: Postsales, name: str) -> ActionSpec:
    spec = app.registry.actions.get(name)
    if spec is None:
        known = ", ".join(sorted(app.registry.actions))
        raise BadInput(f"action: unknown action {name!r}; available: {known}", field="action")
    return spec


def _blocker(spec: ActionSpec, order: Order, ctx: ActionContext) -> tuple[str, type] | None:
    """Why this user cannot run this action on this order now, and the error kind."""
    if not ctx.user.can(spec.permission):
        return f"you lack the permission {spec.permission}", Forbidden
    channel = ctx.channel(order)
    if spec.name in channel.postsales.disabled_actions:
        return f"{spec.name} is switched off in sales channel {order.sales_channel}", Refused
    lock = order.lock
    if spec.respects_lock and lock and lock.active(ctx.now) and lock.holder != ctx.actor:
        until = lock.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"order is locked by {lock.holder} until {until}", Refused
    reason = spec.unavailable_reason(order, ctx)
    return (reason, Refused) if reason else None


def _availability(app: Postsales, order: Order, ctx: ActionContext) -> list[ActionAvailability]:
    channel = ctx.channel(order)
    out = []
    for name in sorted(app.registry.actions):
        spec = app.registry.actions[name]
        blocker = _blocker(spec, order, ctx)
        out.append(
            ActionAvailability(
                name=name,
                label=spec.label,
                permission=spec.permission,
                available=blocker is None,
                reason=blocker[0] if blocker else None,
                params=action_schema(spec, channel),
                confirm=spec.confirm,
                requirement=spec.requirement,
                plugin=app.registry.action_plugins[name],
            )
        )
    return out


def list_actions(app: Postsales, order_id: str, user: User) -> list[ActionAvailability]:
    """Every action on the order, available or not (with the reason), and its parameters."""
    with app.uow(read_only=True) as uow:
        order = load_visible(uow, order_id, user)
        ctx = ActionContext(app=app, uow=uow, user=user, now=app.now(), dry_run=True)
        return _availability(app, order, ctx)


def order_with_actions(
    app: Postsales, order_id: str, user: User
) -> tuple[dict[str, Any], list[ActionAvailability]]:
    """The order document (history included) and its actions, from one read of the order:
    what an order page shows."""
    with app.uow(read_only=True) as uow:
        order = load_visible(uow, order_id, user, history=True)
        ctx = ActionContext(app=app, uow=uow, user=user, now=app.now(), dry_run=True)
        actions = _availability(app, order, ctx)
        return with_stock(app, uow, order), actions


@attrs.frozen
class ActionOutcome:
    order_id: str
    action: str
    dry_run: bool
    result: dict[str, Any]
    messages: list[dict[str, Any]]
    order: dict[str, Any]


def run_action(
    app: Postsales,
    order_id: str,
    name: str,
    raw_params: Mapping[str, Any],
    user: User,
    *,
    dry_run: bool = False,
    keyed: KeyedRequest | None = None,
) -> ActionOutcome:
    """Run (or preview) one action in one transaction with its history and messages; with
    `keyed`, the key's answer commits with them (a preview keeps no key)."""
    try:
        outcome = _run_action(app, order_id, name, raw_params, user, dry_run=dry_run, keyed=keyed)
    except Exception as exc:
        app.metrics.action_run(name, outcome_kind(exc))
        raise
    app.metrics.action_run(name, "preview" if dry_run else "ok")
    return outcome


def outcome_kind(exc: BaseException) -> str:
    """The `outcome` label of a failed action (core/observe.py)."""
    for kind, types in (
        ("refused", Refused),
        ("invalid", BadInput),
        ("forbidden", Forbidden),
        ("not_found", NotFound),
        ("unavailable", Unavailable),
    ):
        if isinstance(exc, types):
            return kind
    return "error"


def _run_action(
    app: Postsales,
    order_id: str,
    name: str,
    raw_params: Mapping[str, Any],
    user: User,
    *,
    dry_run: bool,
    keyed: KeyedRequest | None,
) -> ActionOutcome:
    spec = _spec(app, name)
    with app.uow() as uow:
        order = load_visible(uow, order_id, user, history=True)
        ctx = ActionContext(app=app, uow=uow, user=user, now=app.now(), dry_run=dry_run)
        blocker = _blocker(spec, order, ctx)
        if blocker and blocker[1] is Forbidden:
            raise Forbidden(blocker[0])
        params = parse_params(spec, raw_params)
        if blocker:
            raise blocker[1](blocker[0])
        returned = spec.run(order, params, ctx)
        result = dict(ctx.result)
        if returned:
            result.update(returned)
        messages = [
            {"id": m["message_id"], "type": m["type"], "payload": m["payload"]}
            for m in uow.pending_messages
        ]
        outcome = ActionOutcome(order.id, name, dry_run, result, messages, order_document(order))
        # The writes are sent either way, so a guarded cap (D-1…D-4) refuses a preview exactly
        # as it refuses the action: a preview then rolls back, a real run commits in the same
        # round trip (commit sends what a flush would, and raises the same Refused).
        if dry_run:
            uow.flush()
        else:
            if keyed is not None:
                keep_with(uow, keyed, outcome, ctx.now)
            uow.commit()
    return outcome
