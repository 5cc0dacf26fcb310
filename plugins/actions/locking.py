"""A-10 Lock, unlock and take over: an agent working on an order holds it for a while.

While a lock is active, the action runner refuses other users every action that respects
locks ("order is locked by A until …"). ``unlock`` and ``takeover`` do not respect locks, since
their whole point is to act on a locked order: unlock is for the holder (or a user allowed to
take over), takeover needs ``order.takeover`` and moves the lock to the taker, in history.
An expired lock counts as no lock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from postsales.core import (
    ActionContext,
    ActionSpec,
    Lock,
    NoParams,
    Order,
    hookimpl,
    local_time,
)

TAKEOVER = "order.takeover"


def _until(lock: Lock, ctx: ActionContext) -> str:
    """In the user's zone, as the page around the reason shows times."""
    return local_time(lock.expires_at, ctx.user.timezone)


def _active(order: Order, ctx: ActionContext) -> Lock | None:
    lock = order.lock
    return lock if lock is not None and lock.active(ctx.now) else None


def _new_lock(order: Order, ctx: ActionContext) -> Lock:
    minutes = ctx.channel(order).postsales.lock_minutes
    return Lock(ctx.actor, ctx.now + timedelta(minutes=minutes))


# -- lock ---------------------------------------------------------------------------------------


def why_not_lock(order: Order, ctx: ActionContext) -> str | None:
    lock = _active(order, ctx)
    if lock is None:
        return None
    if lock.holder == ctx.actor:
        return f"order is locked by you already (until {_until(lock, ctx)})"
    # The runner refuses this too (respects_lock); said here so lock is safe from any caller.
    return f"order is locked by {lock.holder} until {_until(lock, ctx)}"


def lock(order: Order, params: NoParams, ctx: ActionContext) -> None:
    order.lock = _new_lock(order, ctx)
    # No clock time in the stored summary: it is read in every user's zone (the page shows the
    # expiry, in the reader's zone, above the order).
    minutes = ctx.channel(order).postsales.lock_minutes
    ctx.record(order, "order.locked", f"Locked by {ctx.actor} for {minutes} minutes",
               {"holder": ctx.actor, "expires_at": order.lock.expires_at.isoformat()})  # fmt: skip


# -- unlock -------------------------------------------------------------------------------------


def why_not_unlock(order: Order, ctx: ActionContext) -> str | None:
    lock = _active(order, ctx)
    if lock is None:
        return "order is not locked"
    if lock.holder != ctx.actor and not ctx.user.can(TAKEOVER):
        return (
            f"order is locked by {lock.holder}; only {lock.holder}, or a user allowed to take "
            "orders over, can unlock it"
        )
    return None


def unlock(order: Order, params: NoParams, ctx: ActionContext) -> None:
    holder = order.lock.holder if order.lock else None
    order.lock = None
    summary = f"Unlocked by {ctx.actor}"
    if holder and holder != ctx.actor:
        summary += f" (the lock was held by {holder})"
    ctx.record(order, "order.unlocked", summary, {"holder": holder})


# -- takeover -----------------------------------------------------------------------------------


def why_not_takeover(order: Order, ctx: ActionContext) -> str | None:
    lock = _active(order, ctx)
    if lock is None:
        return "order is not locked; lock it instead"
    if lock.holder == ctx.actor:
        return "order is locked by you already"
    return None


def takeover(order: Order, params: NoParams, ctx: ActionContext) -> None:
    previous = order.lock.holder if order.lock else "nobody"
    order.lock = _new_lock(order, ctx)
    ctx.record(order, "order.takeover", f"{ctx.actor} took over the order from {previous}",
               {"from": previous, "holder": ctx.actor,
                "expires_at": order.lock.expires_at.isoformat()})  # fmt: skip


@hookimpl
def postsales_register_actions(settings: Any) -> list[ActionSpec]:
    # Locking is part of working on any order, so it needs what any agent has: order.comment.
    return [
        ActionSpec(
            name="lock",
            label="Lock",
            permission="order.comment",
            run=lock,
            why_unavailable=why_not_lock,
            description="Hold the order while you work on it; others cannot act on it.",
            requirement="A-10",
        ),
        ActionSpec(
            name="unlock",
            label="Unlock",
            permission="order.comment",
            run=unlock,
            why_unavailable=why_not_unlock,
            respects_lock=False,
            description="Release your lock on the order.",
            requirement="A-10",
        ),
        ActionSpec(
            name="takeover",
            label="Take over",
            permission=TAKEOVER,
            run=takeover,
            why_unavailable=why_not_takeover,
            respects_lock=False,
            description="Take the lock from the agent holding it (recorded in history).",
            requirement="A-10",
        ),
    ]
