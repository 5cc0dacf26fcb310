"""R-7 Refund amounts and caps: the per-role appeasement limit.

The money caps D-1…D-4 are true of every order, so the core enforces them for every refund
(``postsales.core.domain.refunds.check_refund``, and again with guarded updates in the unit of
work so that concurrent agents cannot exceed them). This plugin adds what a channel chooses:
``appeasement_limits``, a map role → the largest single appeasement that role may give without
a supervisor. Above it the appeasement is allowed but waits for approval.

Whose limit applies: the user's *best* one across their roles — a role listed in the map gives
its amount; a role not listed that may appease (``appeasement.create``) has no limit; roles that
cannot appease are ignored. Users who may approve refunds (``refund.approve``) and the built-in
``system`` user are never held back: they are the ones who would approve it.

There is deliberately no ``refund_lines`` rule here: it could only repeat the core's D-1 check,
and since the core gives every ``refund_lines`` rule the unadjusted lines and keeps the last
answer, a "no-op" that returned the lines would undo another plugin's adjustment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from postsales.core import (
    APPEASEMENT_APPROVAL,
    Decision,
    Order,
    OrderLine,
    Rule,
    format_amount,
    hookimpl,
)

REQUIREMENT = "R-7"
EXEMPT_PERMISSION = "refund.approve"
APPEASE_PERMISSION = "appeasement.create"


def role_may_appease(role: str, settings: Any) -> bool:
    """Whether a role grants ``appeasement.create``; a role missing from the config grants
    nothing (as when users are loaded), so it cannot lift a limit either."""
    definition = settings.roles.get(role)
    return definition is not None and APPEASE_PERMISSION in definition.permissions


def best_limit(
    user_roles: tuple[str, ...], limits: dict[str, Decimal] | None, settings: Any
) -> tuple[str, Decimal] | None:
    """The user's most generous (role, limit), or None when no limit applies to them."""
    if not limits:
        return None
    best: tuple[str, Decimal] | None = None
    for role in user_roles:
        if role in limits:
            if best is None or limits[role] > best[1]:
                best = (role, limits[role])
        elif role_may_appease(role, settings):
            return None  # an unlisted role that may appease is unlimited, so that wins
    return best


def appeasement_decision(
    order: Order, amount: Decimal, user: Any, limits: dict[str, Decimal] | None, settings: Any
) -> Decision | None:
    """Needs approval when `amount` exceeds the user's best role limit; None when within it."""
    if user.is_system or user.can(EXEMPT_PERMISSION):
        return None
    limit = best_limit(tuple(user.roles), limits, settings)
    if limit is None or amount <= limit[1]:
        return None
    role, cap = limit
    cur = order.currency
    return Decision.needs_approval(
        f"appeasement of {format_amount(amount, cur)} exceeds the {role} limit of "
        f"{format_amount(cap, cur)}"
    )


def decide(order: Order, line: OrderLine, amount: Decimal, ctx: Any) -> Decision | None:
    """``appeasement_approval``: approval needed above the acting user's role limit.

    ``ctx`` is the action's ``ActionContext`` (typed loosely to keep SQLAlchemy out of the
    plugin's import graph).
    """
    limits = ctx.channel(order).postsales.appeasement_limits
    return appeasement_decision(order, amount, ctx.user, limits, ctx.settings)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register R-7's per-role appeasement limit."""
    return [
        Rule(
            name="appeasement_limit",
            point=APPEASEMENT_APPROVAL,
            decide=decide,
            description=(
                "An appeasement above the agent's role limit waits for a supervisor; the caps "
                "D-1…D-4 are enforced by the core for every refund."
            ),
            settings_keys=("appeasement_limits",),
            requirement=REQUIREMENT,
        )
    ]
