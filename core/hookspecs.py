"""The integrator's contract: every hook Postsales calls on plugins.

Built-in actions and rules implement exactly these hooks, registered through the same
`postsales` entry-point group an outside distribution uses (SPEC §1). Hooks are few and broad:
each `postsales_register_*` hook is called once, when the plugin manager is built, and returns
declarations that the core validates (unique names, known states) and freezes.

Implementations use the `hookimpl` marker exported by `postsales.core`::

    from postsales.core import hookimpl

    @hookimpl
    def postsales_register_actions(settings):
        return [ActionSpec(...)]

A hook implementation may accept fewer arguments than its specification, never more, and its
parameters must not have defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .actions import ActionSpec
    from .gateways import PaymentGateway
    from .notifiers import Notifier
    from .rules import Rule
    from .settings import Settings

hookspec = pluggy.HookspecMarker("postsales")
hookimpl = pluggy.HookimplMarker("postsales")


@hookspec
def postsales_register_actions(settings: Settings) -> Iterable[ActionSpec]:
    """Contribute post-sales actions (cancel, return, a store-credit refund…).

    Called once, when the plugin manager is built. ``settings`` is the loaded configuration
    (use ``settings.plugin_options(name)`` for your own options). Return an iterable of
    :class:`postsales.core.actions.ActionSpec`. All results are collected; two actions with one
    name stop start-up with an error naming both plugins.
    """


@hookspec
def postsales_register_rules(settings: Settings) -> Iterable[Rule]:
    """Contribute refund and return rules: pure decisions the core applies.

    Called once. Return an iterable of :class:`postsales.core.rules.Rule`; each rule names the
    decision point it answers (``Rule.point``). All results are collected; duplicate rule names
    are an error.
    """


@hookspec
def postsales_register_gateways(settings: Settings) -> Iterable[PaymentGateway]:
    """Contribute payment gateways, each serving some payment methods (SPEC A-4).

    Called once. Return an iterable of :class:`postsales.core.gateways.PaymentGateway`. A gateway
    with ``methods=("*",)`` is the fallback for methods no other gateway claims. Two gateways
    claiming one method is an error.
    """


@hookspec
def postsales_register_notifiers(settings: Settings) -> Iterable[Notifier]:
    """Contribute customer notifiers: where ``ctx.notify(...)`` notifications go (SPEC §9).

    Called once, when the plugin manager is built. ``settings`` is the loaded configuration (read
    your options with ``settings.plugin_options(name)``). Return an iterable of
    :class:`postsales.core.notifiers.Notifier` (an empty one when your options leave you off).

    A notifier's ``record(notification, order, ctx)`` is called inside the unit of work of the
    action that notified, for every notification, in registration order; it must only write
    through ``ctx`` (``ctx.emit("notification.email", ...)``), never send anything, because the
    transaction may still roll back. Its ``deliver(message)`` is called after commit by
    ``postsales relay`` for pending outbox messages of the types listed in ``delivers`` (without
    the configured prefix): those messages go to the notifier instead of the broker and are
    marked sent when ``deliver`` returns; an exception leaves them pending for the next pass.

    All results are collected. Two notifiers with one name, or two notifiers delivering the
    same message type, stop start-up with an error naming both plugins.
    """
