"""Customer notifiers: how a `notification.email` leaves Postsales (SPEC §9).

An action asks for a notification with ``ctx.notify(order, template, subject, **data)``. The core
keeps a history entry and hands a :class:`Notification` to every registered :class:`Notifier`.
A notifier has up to two halves, because a notification is asked for inside a transaction that
may still roll back, and e-mail cannot be taken back (STYLE pitfall 18):

``record(notification, order, ctx)``
    Runs inside the action's unit of work. It writes through ``ctx`` only — typically
    ``ctx.emit("notification.email", payload, order=order)`` — and never touches the network.
    The built-in ``outbox_notifier`` renders the Jinja template here and records the result.

``deliver(message)``
    Runs after commit, from ``postsales relay``, for each pending outbox message whose type (without
    the configured prefix) is listed in ``delivers``. ``message`` has ``id``, ``type``,
    ``order_id``, ``created_at`` and ``payload``. Return normally once the message is handed over
    (it is then marked sent); raise to leave it pending for the next pass. The built-in
    ``smtp_notifier`` sends ``notification.email`` messages to an SMTP server here, instead of
    publishing them to the broker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

EMAIL = "notification.email"


@attrs.frozen
class Notification:
    """What an action asked for: a template name, a default subject and the template's data."""

    order_id: str
    sales_channel: str
    to: str
    customer_name: str
    language: str
    template: str
    subject: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
    currency: str = ""  # the order's, for amounts in `data` (strings without a currency)


@attrs.frozen
class Notifier:
    """A way to notify customers; see the module docstring for the two halves."""

    name: str
    record: Callable[..., None] | None = None
    deliver: Callable[[Any], None] | None = None
    delivers: tuple[str, ...] = ()
    description: str = ""
    # What the notifier would otherwise find out on first use (a template that does not
    # compile): raise ConfigError. `config check` and long-running doors call it at start-up.
    check: Callable[[], None] | None = None
