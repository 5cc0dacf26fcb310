"""Postsales core: the domain, its services and the plugin API.

Everything a plugin needs is exported here, and plugins import nothing else from the core:
``from postsales.core import ActionSpec, Order, create_refund, hookimpl``. Modules below
``postsales.core`` are internal and may change; the import-linter contracts in ``pyproject.toml``
keep built-in plugins and the example plugin to this module (docs/plugins.md lists the API).

This module never imports the plugin manager or bootstrap, so a plugin importing
`postsales.core` while the manager loads it cannot create an import cycle (STYLE pitfall 11).
The exports are resolved on first use (PEP 562): `import postsales.core.errors` from a door
that only needs the error classes (the CLI's `--help`) must not pay for attrs, pluggy and the
domain model (issue 18 item 1).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actions import ActionSpec, NoParams
    from .context import ActionContext
    from .domain.customers import Address, Customer
    from .domain.history import HistoryEvent, Lock
    from .domain.orders import (
        Order,
        OrderLine,
        Payment,
        PaymentOperation,
        Refund,
        RefundLine,
        Return,
        Shipment,
    )
    from .domain.pricing import catalog_lines, catalog_price, listed_price, reprice
    from .domain.refunds import appeasable_amount, order_refundable, refundable_remainder
    from .domain.users import User
    from .errors import BadInput, ConfigError, Forbidden, NotFound, PostsalesError, Refused
    from .gateways import GatewayAnswer, PaymentGateway
    from .hookspecs import hookimpl
    from .links import check_link
    from .machines import LINE, ORDER, REFUND, RETURN, SHIPMENT, allowed_sources, can_fire, fire
    from .money import ZERO, format_amount, parse_amount, quantum
    from .notifiers import EMAIL, Notification, Notifier
    from .rules import (
        APPEASEMENT_APPROVAL,
        CANCEL_ELIGIBILITY,
        CHILD_ORDER_RETURN,
        REFUND_AUTO_RELEASE,
        REFUND_LINES,
        RETURN_AUTO_APPROVE,
        RETURN_COMPOSITION,
        RETURN_ELIGIBILITY,
        ChildReturn,
        Decision,
        DecisionPoint,
        Rule,
        child_order_return_rule,
        combine,
        decision_point,
    )
    from .services.child_orders import (
        add_child_order,
        free_line,
        new_child_order,
        release_child,
        reserve_id,
        return_originals,
    )
    from .services.inventory import give_back as give_back_stock
    from .services.inventory import reserve as reserve_stock
    from .services.inventory import ship as ship_stock
    from .services.inventory import status_for as stock_status
    from .services.lifecycle import pass_review, sync_order_status
    from .services.messages.outbound import (
        notify_exchange,
        notify_reshipment,
        notify_return,
        order_updated,
        shipment_request,
    )
    from .services.refunds import (
        cancel_refund,
        confirm_refund,
        create_refund,
        refund_owed,
        release_refund,
        settle_refund,
    )
    from .services.returns import approve_return, cancel_return, create_return
    from .services.returns import eligibility as return_eligibility
    from .services.shipping import ship_lines, tell_shipped
    from .widgets import Widget, param
    from .wording import local_time

# public name -> (module, attribute), grouped as docs/plugins.md presents them
_EXPORTS: dict[str, tuple[str, str]] = {
    # Declaring actions, rules, gateways and notifiers
    "ActionSpec": (".actions", "ActionSpec"),
    "NoParams": (".actions", "NoParams"),
    "ActionContext": (".context", "ActionContext"),
    "hookimpl": (".hookspecs", "hookimpl"),
    "APPEASEMENT_APPROVAL": (".rules", "APPEASEMENT_APPROVAL"),
    "CANCEL_ELIGIBILITY": (".rules", "CANCEL_ELIGIBILITY"),
    "CHILD_ORDER_RETURN": (".rules", "CHILD_ORDER_RETURN"),
    "REFUND_AUTO_RELEASE": (".rules", "REFUND_AUTO_RELEASE"),
    "REFUND_LINES": (".rules", "REFUND_LINES"),
    "RETURN_AUTO_APPROVE": (".rules", "RETURN_AUTO_APPROVE"),
    "RETURN_COMPOSITION": (".rules", "RETURN_COMPOSITION"),
    "RETURN_ELIGIBILITY": (".rules", "RETURN_ELIGIBILITY"),
    "DecisionPoint": (".rules", "DecisionPoint"),
    "decision_point": (".rules", "decision_point"),
    "ChildReturn": (".rules", "ChildReturn"),
    "Decision": (".rules", "Decision"),
    "Rule": (".rules", "Rule"),
    "child_order_return_rule": (".rules", "child_order_return_rule"),
    "combine": (".rules", "combine"),
    "GatewayAnswer": (".gateways", "GatewayAnswer"),
    "PaymentGateway": (".gateways", "PaymentGateway"),
    "EMAIL": (".notifiers", "EMAIL"),
    "Notification": (".notifiers", "Notification"),
    "Notifier": (".notifiers", "Notifier"),
    # Errors a plugin raises (each door turns them into its own answer)
    "BadInput": (".errors", "BadInput"),
    "ConfigError": (".errors", "ConfigError"),
    "Forbidden": (".errors", "Forbidden"),
    "NotFound": (".errors", "NotFound"),
    "PostsalesError": (".errors", "PostsalesError"),
    "Refused": (".errors", "Refused"),
    # Domain types
    "Order": (".domain.orders", "Order"),
    "OrderLine": (".domain.orders", "OrderLine"),
    "Payment": (".domain.orders", "Payment"),
    "PaymentOperation": (".domain.orders", "PaymentOperation"),
    "Refund": (".domain.orders", "Refund"),
    "RefundLine": (".domain.orders", "RefundLine"),
    "Return": (".domain.orders", "Return"),
    "Shipment": (".domain.orders", "Shipment"),
    "Address": (".domain.customers", "Address"),
    "Customer": (".domain.customers", "Customer"),
    "HistoryEvent": (".domain.history", "HistoryEvent"),
    "Lock": (".domain.history", "Lock"),
    "User": (".domain.users", "User"),
    # Money, prices and what is left to refund
    "ZERO": (".money", "ZERO"),
    "format_amount": (".money", "format_amount"),
    "parse_amount": (".money", "parse_amount"),
    "quantum": (".money", "quantum"),
    "catalog_lines": (".domain.pricing", "catalog_lines"),
    "catalog_price": (".domain.pricing", "catalog_price"),
    "listed_price": (".domain.pricing", "listed_price"),
    "reprice": (".domain.pricing", "reprice"),
    "appeasable_amount": (".domain.refunds", "appeasable_amount"),
    "order_refundable": (".domain.refunds", "order_refundable"),
    "refundable_remainder": (".domain.refunds", "refundable_remainder"),
    # Status changes (the lifecycles of core/machines.py)
    "LINE": (".machines", "LINE"),
    "ORDER": (".machines", "ORDER"),
    "REFUND": (".machines", "REFUND"),
    "RETURN": (".machines", "RETURN"),
    "SHIPMENT": (".machines", "SHIPMENT"),
    "allowed_sources": (".machines", "allowed_sources"),
    "can_fire": (".machines", "can_fire"),
    "fire": (".machines", "fire"),
    "pass_review": (".services.lifecycle", "pass_review"),
    "sync_order_status": (".services.lifecycle", "sync_order_status"),
    # Refunds and returns (a refund without a gateway: `settle_refund`)
    "cancel_refund": (".services.refunds", "cancel_refund"),
    "confirm_refund": (".services.refunds", "confirm_refund"),
    "create_refund": (".services.refunds", "create_refund"),
    "refund_owed": (".services.refunds", "refund_owed"),
    "release_refund": (".services.refunds", "release_refund"),
    "settle_refund": (".services.refunds", "settle_refund"),
    "approve_return": (".services.returns", "approve_return"),
    "cancel_return": (".services.returns", "cancel_return"),
    "create_return": (".services.returns", "create_return"),
    "return_eligibility": (".services.returns", "eligibility"),
    # Child orders (exchanges, reshipments) and stock
    "add_child_order": (".services.child_orders", "add_child_order"),
    "free_line": (".services.child_orders", "free_line"),
    "new_child_order": (".services.child_orders", "new_child_order"),
    "release_child": (".services.child_orders", "release_child"),
    "reserve_id": (".services.child_orders", "reserve_id"),
    "return_originals": (".services.child_orders", "return_originals"),
    "give_back_stock": (".services.inventory", "give_back"),
    "reserve_stock": (".services.inventory", "reserve"),
    "ship_stock": (".services.inventory", "ship"),
    "ship_lines": (".services.shipping", "ship_lines"),
    "tell_shipped": (".services.shipping", "tell_shipped"),
    "stock_status": (".services.inventory", "status_for"),
    # Outgoing messages
    "notify_exchange": (".services.messages.outbound", "notify_exchange"),
    "notify_reshipment": (".services.messages.outbound", "notify_reshipment"),
    "notify_return": (".services.messages.outbound", "notify_return"),
    "order_updated": (".services.messages.outbound", "order_updated"),
    "shipment_request": (".services.messages.outbound", "shipment_request"),
    # Links shown to agents
    "check_link": (".links", "check_link"),
    # What an action's parameter is, for every door's form (issue 13 item 1)
    "param": (".widgets", "param"),
    "Widget": (".widgets", "Widget"),
    "local_time": (".wording", "local_time"),
}

__all__ = [
    "APPEASEMENT_APPROVAL",
    "CANCEL_ELIGIBILITY",
    "CHILD_ORDER_RETURN",
    "EMAIL",
    "LINE",
    "ORDER",
    "REFUND",
    "REFUND_AUTO_RELEASE",
    "REFUND_LINES",
    "RETURN",
    "RETURN_AUTO_APPROVE",
    "RETURN_COMPOSITION",
    "RETURN_ELIGIBILITY",
    "SHIPMENT",
    "ZERO",
    "ActionContext",
    "ActionSpec",
    "Address",
    "BadInput",
    "ChildReturn",
    "ConfigError",
    "Customer",
    "Decision",
    "DecisionPoint",
    "Forbidden",
    "GatewayAnswer",
    "HistoryEvent",
    "Lock",
    "NoParams",
    "NotFound",
    "Notification",
    "Notifier",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentGateway",
    "PaymentOperation",
    "PostsalesError",
    "Refund",
    "RefundLine",
    "Refused",
    "Return",
    "Rule",
    "Shipment",
    "User",
    "Widget",
    "add_child_order",
    "allowed_sources",
    "appeasable_amount",
    "approve_return",
    "can_fire",
    "cancel_refund",
    "cancel_return",
    "catalog_lines",
    "catalog_price",
    "check_link",
    "child_order_return_rule",
    "combine",
    "confirm_refund",
    "create_refund",
    "create_return",
    "decision_point",
    "fire",
    "format_amount",
    "free_line",
    "give_back_stock",
    "hookimpl",
    "listed_price",
    "local_time",
    "new_child_order",
    "notify_exchange",
    "notify_reshipment",
    "notify_return",
    "order_refundable",
    "order_updated",
    "param",
    "parse_amount",
    "pass_review",
    "quantum",
    "refund_owed",
    "refundable_remainder",
    "release_child",
    "release_refund",
    "reprice",
    "reserve_id",
    "reserve_stock",
    "return_eligibility",
    "return_originals",
    "settle_refund",
    "ship_lines",
    "ship_stock",
    "shipment_request",
    "stock_status",
    "sync_order_status",
    "tell_shipped",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = where
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value  # resolved once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
