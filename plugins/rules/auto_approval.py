"""R-6 Auto-approve return / auto-release refund (seed 000): the two toggles of SPEC §5.

- ``auto_approve_return`` (default true): a new return is approved at once; off, it waits in
  REQUESTED for a supervisor's "approve return".
- ``auto_release_refund`` (default true): a new refund goes straight to the payment gateway;
  off, it waits in REQUESTED for "approve refund" or "cancel refund".

The core approves (releases) only when every rule of the point answers True and at least one
answers, so another plugin can veto, and switching this plugin off means nothing is automatic.
A return that needs a supervisor's approval for another reason (past the return window, R-8) is
never auto-approved: the core does not even ask.
"""

from __future__ import annotations

from typing import Any

from postsales.core import (
    REFUND_AUTO_RELEASE,
    RETURN_AUTO_APPROVE,
    Order,
    Refund,
    Return,
    Rule,
    hookimpl,
)

REQUIREMENT = "R-6"


def auto_approve_return(order: Order, ret: Return, ctx: Any) -> bool:
    """``return_auto_approve``: the channel's ``auto_approve_return``."""
    return bool(ctx.channel(order).postsales.auto_approve_return)


def auto_release_refund(order: Order, refund: Refund, ctx: Any) -> bool:
    """``refund_auto_release``: the channel's ``auto_release_refund``."""
    return bool(ctx.channel(order).postsales.auto_release_refund)


@hookimpl
def postsales_register_rules(settings: Any) -> list[Rule]:
    """Register the two R-6 decisions."""
    return [
        Rule(
            name="auto_approve_return",
            point=RETURN_AUTO_APPROVE,
            decide=auto_approve_return,
            description="A new return is approved at once when the channel says so.",
            settings_keys=("auto_approve_return",),
            requirement=REQUIREMENT,
        ),
        Rule(
            name="auto_release_refund",
            point=REFUND_AUTO_RELEASE,
            decide=auto_release_refund,
            description="A new refund goes to the payment gateway at once if the channel says so.",
            settings_keys=("auto_release_refund",),
            requirement=REQUIREMENT,
        ),
    ]
