"""Listing and running actions: the one path every door uses (SPEC §6, §10).

A preview (`dry_run`) runs exactly the same code as the real action, inside the same kind of
transaction, and then rolls it back: the amounts an agent is shown are the amounts that would be
refunded, because they come from the same computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .. import widgets
from ..actions import ActionSpec, action_schema, parse_params
from ..bootstrap import Postsales
from ..context import ActionContext
from ..documents import order_document
from ..domain.orders import Order
from ..domain.users import User
from ..errors import BadInput, Forbidden, NotFound, Refused, Unavailable
from ..wording import agent_words, local_time
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
    confirm_label: Any = None  # text with {placeholders}, or f(order, result, params) -> text
    description: str = ""
    said: str | None = None  # the reason in the agent's words (the web shows this one)

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
            "confirm_label": self.confirm_label if isinstance(self.confirm_label, str) else None,
            "description": self.description,
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
        until = local_time(lock.expires_at, ctx.user.timezone)  # the user's zone, as pages
        return f"order is locked by {lock.holder} until {until}", Refused
    reason = spec.unavailable_reason(order, ctx)
    return (reason, Refused) if reason else None


def said(app: Postsales, name: str, reason: str, kind: type | None = None) -> str:
    """A reason of action `name` as an agent reads it (issue 13 item 7)."""
    labels = {n: s.label for n, s in app.registry.actions.items()}
    if kind is Forbidden and name in labels:
        return f"{labels[name]} is not part of your role; ask a supervisor"
    return agent_words(reason, labels)


def _availability(app: Postsales, order: Order, ctx: ActionContext) -> list[ActionAvailability]:
    channel = ctx.channel(order)
    out = []
    for name in sorted(app.registry.actions):
        spec = app.registry.actions[name]
        blocker = _blocker(spec, order, ctx)
        schema = action_schema(spec, channel)
        if blocker is None:
            schema = _for_order(schema, widgets.resolve(spec.params, order, ctx))
        out.append(
            ActionAvailability(
                name=name,
                label=spec.label,
                permission=spec.permission,
                available=blocker is None,
                reason=blocker[0] if blocker else None,
                params=schema,
                confirm=spec.confirm,
                confirm_label=spec.confirm_label,
                description=spec.description,
                said=said(app, name, blocker[0], blocker[1]) if blocker else None,
                requirement=spec.requirement,
                plugin=app.registry.action_plugins[name],
            )
        )
    return out


def _for_order(schema: dict[str, Any], resolved: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The action's schema with what this order offers (`x-options`, `x-maximum`…) merged in;
    a copy, since `action_schema`'s dicts are shared."""
    if not resolved:
        return schema
    props = dict(schema.get("properties", {}))
    for name, extra in resolved.items():
        if name in props:
            props[name] = {**props[name], **extra}
    return {**schema, "properties": props}


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
    """What an action did (or, dry run, would do): what it created (`result`: ids by kind,
    notes), the messages it sent and the order after it."""

    order_id: str
    action: str
    dry_run: bool
    result: dict[str, Any]
    messages: list[dict[str, Any]]
    order: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        """The outcome as the API answers it and `postsales act --json` prints it (SPEC §10)."""
        return {
            "dry_run": self.dry_run,
            "result": self.result,
            "messages": self.messages,
            "order": self.order,
        }


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
        params = parse_params(spec, widgets.filled(spec.params, raw_params, order))
        if blocker:
            raise blocker[1](blocker[0])
        widgets.check(spec.params, params, order, ctx)
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
