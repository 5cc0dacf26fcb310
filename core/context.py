"""ActionContext: everything a plugin may touch while it runs, and nothing else.

Plugins never see SQL or the plugin manager; they get the acting user, the time, the channel's
settings, the rules, and ports to record history, emit messages, notify customers and create or
load orders — all inside the one unit of work of the command.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .domain.history import HistoryEvent
from .domain.orders import Order
from .domain.users import User

if TYPE_CHECKING:
    from .bootstrap import Postsales
    from .domain.customers import Address
    from .persistence.unit_of_work import UnitOfWork
    from .rules import DecisionPoint
    from .settings import SalesChannel


@attrs.define
class ActionContext:
    """What an action or a rule is given: the user, the time, the channel's settings, the
    rules, and ports for what it may do (record, emit, notify, look up the catalog…).

    The app and the unit of work behind it are private to the core (`_app`, `_uow`; built with
    `ActionContext(app=…, uow=…)`): a plugin reaches the store only through these ports, so
    it never depends on tables or transactions (issue 14 item 4)."""

    _app: Postsales
    _uow: UnitOfWork
    user: User
    now: datetime
    dry_run: bool = False
    result: dict[str, Any] = attrs.field(factory=dict)

    @property
    def actor(self) -> str:
        return self.user.name

    @property
    def settings(self) -> Any:
        return self._app.settings

    def channel(self, order: Order) -> SalesChannel:
        return self._app.settings.sales_channels[order.sales_channel]

    # -- rules ---------------------------------------------------------------------------------
    def ask(self, point: DecisionPoint | str, *args: Any) -> list[tuple[str, Any]]:
        """Ask every registered rule of a decision point (``RETURN_ELIGIBILITY``…); returns
        (rule name, answer) pairs, skipping rules that answered None. The arguments are the
        point's signature without the trailing ``ctx``. An unknown point name is refused
        (ConfigError), never answered by no rule."""
        answers = []
        for rule in self._app.registry.rules_for(point):
            answer = rule.decide(*args, self)
            if answer is not None:
                answers.append((rule.name, answer))
        return answers

    def decide(self, point: DecisionPoint | str, *args: Any) -> Any:
        """The point's one answer, its rules' answers combined as the point declares
        (strictest decision, unanimous yes, every line added, first child-order return)."""
        from .errors import ConfigError
        from .rules import decision_point

        declared = decision_point(point)
        if declared.combined is None:
            raise ConfigError([f"decision point {declared.name!r} has no combined answer; "
                               "use ctx.ask and apply each rule's answer"])  # fmt: skip
        return declared.combined(self.ask(declared, *args))

    # -- ports ---------------------------------------------------------------------------------
    def record(
        self,
        order: Order,
        kind: str,
        summary: str,
        payload: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        order.record(HistoryEvent(self.now, actor or self.actor, kind, summary, payload or {}))

    def emit(self, type_: str, payload: dict[str, Any], *, order: Order | None = None) -> str:
        return self._uow.emit(type_, payload, order_id=order.id if order else None, at=self.now)

    def notify(self, order: Order, template: str, subject: str, **data: Any) -> None:
        """Notify the customer: a history entry, and the notification handed to every registered
        notifier (the default one renders the template and records `notification.email` in the
        outbox; sending happens after commit, never inside this transaction)."""
        from .notifiers import Notification  # here, so this change stays inside this method

        to = order.customer.email
        self.record(
            order, "notification", f"Customer notified: {subject}", {"template": template, "to": to}
        )
        notification = Notification(
            order_id=order.id,
            sales_channel=order.sales_channel,
            to=to,
            customer_name=order.customer.full_name,
            language=order.language,
            template=template,
            subject=subject,
            data=data,
            currency=order.currency,
        )
        for notifier in self._app.registry.notifiers:
            if notifier.record is not None:
                notifier.record(notification, order, self)

    def get_order(self, order_id: str) -> Order:
        return self._uow.get_order(order_id)

    def add_order(self, order: Order) -> None:
        self._uow.add_order(order)

    def delete_order(self, order: Order) -> None:
        """Delete a DRAFT order and all its rows, history included (A-15); Refused otherwise.

        The order object stays readable in memory (so a door can still show what was deleted)
        but is no longer saved by this unit of work.
        """
        self._uow.delete_order(order)

    def customer_draft(self, order: Order) -> Order | None:
        """The open cart (newest DRAFT) of the order's customer in its channel, loaded and
        locked in this unit of work, or None."""
        draft_id = self._uow.customer_draft_id(order.customer.id, order.sales_channel)
        return None if draft_id is None or draft_id == order.id else self.get_order(draft_id)

    def save_address(self, order: Order, address: Address) -> bool:
        """Keep `address` in the address book of the order's customer (shown on the customer
        page), with this action's transaction; False when it is there already."""
        return self._uow.save_address(order.customer, address, self.now)

    def order_exists(self, order_id: str) -> bool:
        return self._uow.order_exists(order_id)

    def created(self, key: str, value: str) -> None:
        """Note an id the action created, for the `result` of `act --json`."""
        self.result.setdefault(key, []).append(value)

    # -- catalog (queries live in the persistence layer; plugins never see SQL) ---------------
    def product(self, sku: str) -> Any:
        return self._uow.catalog.product(sku)

    def siblings(self, parent_sku: str) -> list[Any]:
        return self._uow.catalog.siblings(parent_sku)

    def gateway_for(self, method: str) -> Any:
        """The payment gateway that releases refunds to `method`, or None (settled by hand)."""
        return self._app.registry.gateway_for(method)

    def stock(self, sku: str, sources: tuple[str, ...]) -> dict[str, int]:
        return self._uow.catalog.stock(sku, sources)
