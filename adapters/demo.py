"""Demo data built by the engine's own flows (issue 2 item 10): catalog and stock messages,
order-create and shipped messages through the importer, then post-sales actions run as agents
would run them. Nothing is written to tables directly.

It plays a month (issue 13 item 8): orders arrive over DAYS days, warehouses ship them a day
or three later, and agents act on them in the days after, each step run with the clock set to
its moment, so history, the dashboard's charts and the grid's newest orders look like a store's.

It lives beside the doors, not in the core (issue 14 item 3): it names built-in actions
(cancel, hold, return, appeasement, reshipment, exchange, comment) and the core knows none. Those
a configuration has not registered are skipped. `postsales demo`, scripts/screenshots.py and the
tests use it; it imports no door and no plugin (import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from postsales.core.bootstrap import Postsales
from postsales.core.errors import PostsalesError
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import Importer
from postsales.core.services.users import add_user, get_user

FIRST = [
    "Veronica",
    "Mercy",
    "Taylor",
    "John",
    "Ana",
    "Lukas",
    "Mia",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Ben",
    "Sofia",
    "Jonas",
    "Lea",
    "Paul",
    "Hannah",
    "Felix",
    "Clara",
    "Max",
]
LAST = [
    "Costello",
    "Taylor",
    "Hayes",
    "Smith",
    "Müller",
    "Schmidt",
    "Garcia",
    "Brown",
    "Fischer",
    "Weber",
    "Johnson",
    "Lopez",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Clark",
    "Lewis",
    "Young",
]
STYLES = [
    ("MJ01", "Beaumont Summit Kit"),
    ("WT09", "Breathe-Easy Tank"),
    ("MH03", "Bruno Hoodie"),
    ("WJ06", "Juno Jacket"),
    ("MP11", "Cobalt Pant"),
    ("WS03", "Iris Tee"),
]
SIZES = ["S", "M", "L"]
COLORS = ["RED", "BLK", "BLU"]
CITIES = {
    "ST1": [("Calder", "MI", "49628"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202")],
    "ST2": [("Berlin", "", "10115"), ("Hamburg", "", "20095"), ("München", "", "80331")],
}
TAX = {"ST1": Decimal("8"), "ST2": Decimal("19")}

# (name, role, password, time zone): a team across zones, as a store's support team is.
DEMO_USERS = (
    ("agent", "agent", "agent-pass-1", "America/New_York"),
    ("supervisor", "supervisor", "supervisor-pass-1", "Europe/Berlin"),
    ("admin", "admin", "admin-pass-1", "UTC"),
)
DAYS = 30


@attrs.define
class DemoReport:
    orders: int = 0
    actions: dict[str, int] = attrs.field(factory=dict)
    refused: dict[str, int] = attrs.field(factory=dict)
    users: list[tuple[str, str]] = attrs.field(factory=list)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _envelope(mid: str, type_: str, at: str, payload: dict[str, Any]) -> str:
    return json.dumps({"id": mid, "type": type_, "created_at": at, "payload": payload})


def _catalog(app: Postsales, channels: list[str]) -> Iterator[str]:
    at = app.now().isoformat()
    for style, name in STYLES:
        for size in SIZES:
            for color in COLORS:
                sku = f"{style}-{size}-{color}"
                prices = {ch: "50.00" for ch in channels}
                yield _envelope(
                    f"demo-product-{sku}",
                    "catalog.product.upsert",
                    at,
                    {
                        "sku": sku,
                        "parent_sku": style,
                        "name": f"{name}, {size}, {color.title()}",
                        "prices": prices,
                    },
                )
                for source in app.settings.sources:
                    yield _envelope(
                        f"demo-stock-{source}-{sku}",
                        "inventory.source_item.update",
                        at,
                        {"source_id": source, "sku": sku, "quantity": 25},
                    )


def _order(
    app: Postsales, rnd: random.Random, n: int, channel: str, placed: datetime
) -> tuple[str, dict[str, Any]]:
    ch = app.settings.sales_channels[channel]
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    city, state, zip_ = rnd.choice(CITIES.get(channel, CITIES["ST1"]))
    order_id = f"{9 if channel != 'ST1' else 1}{n:08d}"
    email = f"{first}.{last}{n % 97}@example.com".lower()
    phone = f"(555) {rnd.randint(200, 999)}-{rnd.randint(1000, 9999)}"
    rate = TAX.get(channel, Decimal("8"))
    lines: list[dict[str, Any]] = []
    number = 0
    for _ in range(rnd.randint(1, 4)):
        style, name = rnd.choice(STYLES)
        size, color = rnd.choice(SIZES), rnd.choice(COLORS)
        price = Decimal(rnd.choice([25, 40, 50, 65, 80]))
        discount = Decimal(5) if rnd.random() < 0.3 else Decimal(0)
        net = price - discount
        tax = (net * rate / 100).quantize(Decimal("0.01"))
        number += 1
        lines.append(
            {
                "line_number": number,
                "product_type": "PHYSICAL",
                "sku": f"{style}-{size}-{color}",
                "parent_sku": style,
                "product_name": f"{name}, {size}, {color.title()}",
                "shipping_address_reference": "1",
                "amount": {
                    "original_price": _money(price),
                    "discount": _money(discount),
                    "net_amount": _money(net),
                    "tax_amount": _money(tax),
                    "gross_amount": _money(net + tax),
                    "tax_rate": str(rate),
                },
            }
        )
    if rnd.random() < 0.25:
        number += 1
        lines.append(
            {
                "line_number": number,
                "product_type": "SERVICE",
                "sku": "GIFTWRAP",
                "product_name": "Gift wrap",
                "parent_line_number": 1,
                "amount": {
                    "original_price": "5.00",
                    "discount": "0.00",
                    "net_amount": "5.00",
                    "tax_amount": "0.00",
                    "gross_amount": "5.00",
                    "tax_rate": "0",
                },
            }
        )
    number += 1
    lines.append(
        {
            "line_number": number,
            "product_type": "SHIPPING",
            "sku": "STANDARD",
            "product_name": "SHIPPING",
            "amount": {
                "original_price": "5.80",
                "discount": "0.00",
                "net_amount": "5.80",
                "tax_amount": "0.00",
                "gross_amount": "5.80",
                "tax_rate": "0",
            },
        }
    )
    total = sum((Decimal(ln["amount"]["gross_amount"]) for ln in lines), Decimal(0))
    address = {
        "reference": "1",
        "address_type": "customer",
        "first_name": first,
        "last_name": last,
        "address1": f"{rnd.randint(1, 999)} Main Street",
        "city": city,
        "state": state,
        "zip": zip_,
        "country_code": ch.market,
        "phone": phone,
        "email": email,
    }
    order = {
        "id": order_id,
        "client_order_reference": f"WEB-{n:06d}",
        "sales_channel_id": channel,
        "language": ch.language,
        "vat_country": ch.market,
        "currency": ch.currency,
        "origin": "WEB",
        "origin_date": placed.isoformat(),
        "customer": {
            "id": f"C-{rnd.randint(1, 800)}",
            "type": rnd.choice(["registered", "registered", "guest", "b2b"]),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
        },
        "billing_address_reference": "1",
        "shipping_method": ch.shipping_methods[0],
        "addresses": [address],
        "payments": [
            {
                "reference": "1",
                "method": rnd.choice(["card", "card", "paypal", "cash"]),
                "payment_id": f"PAY-{n:07d}",
                "requested_amount": _money(total),
                "captured_amount": _money(total),
            }
        ],
        "order_lines": lines,
    }
    return order_id, order


def build_demo(
    app: Postsales,
    orders: int = 2000,
    *,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> DemoReport:
    rnd = random.Random(seed)
    report = DemoReport()
    for name, role, password, zone in DEMO_USERS:
        try:
            add_user(app, name, [role], password, zone)
            report.users.append((name, password))
        except PostsalesError:
            pass  # already there from an earlier demo
    channels = list(app.settings.sales_channels)
    end = app.now()
    start = end - timedelta(days=DAYS)
    importer = Importer(app)
    real_clock = app.clock
    try:
        app.clock = lambda: start
        importer.run(_catalog(app, channels))
        events = _timeline(app, rnd, orders, channels, start, end)
        report.orders = _play(app, importer, events, report, progress)
    finally:
        app.clock = real_clock
    return report


# An event of the month: (when, order (1…N), what, the order's id, its message or action).
_Event = tuple[datetime, int, str, str, Any]


def _timeline(
    app: Postsales,
    rnd: random.Random,
    orders: int,
    channels: list[str],
    start: datetime,
    end: datetime,
) -> list[_Event]:
    """Every order's arrival and what happens to it after, in time order; nothing after `end`."""
    span = (end - start).total_seconds()
    # More orders as the month goes on (a store that grows), none in the last minute.
    arrivals = sorted(start + timedelta(seconds=span * rnd.random() ** 0.8) for _ in range(orders))
    reasons = {cid: ch.return_reasons for cid, ch in app.settings.sales_channels.items()}
    events: list[_Event] = []
    for n, at in enumerate(arrivals, start=1):
        at = min(at, end - timedelta(minutes=2))
        placed = at - timedelta(minutes=rnd.randint(1, 30))
        order_id, order = _order(app, rnd, n, channels[n % len(channels)], placed)
        events.append((at, n, "order", order_id, _order_message(order_id, order, at)))
        shipped_at = at + timedelta(hours=rnd.randint(18, 72))
        if rnd.random() < 0.75 and shipped_at < end:
            events.append(
                (shipped_at, n, "shipped", order_id, _shipped(app, rnd, order, shipped_at))
            )
            later = shipped_at + timedelta(hours=rnd.randint(24, 240))
            action = _after_shipping(rnd, order, reasons[order["sales_channel_id"]])
            if action is not None and later < end:
                events.append((later, n, "action", order_id, action))
        elif shipped_at >= end or rnd.random() < 0.5:
            # Not shipped (yet): some are cancelled or held within hours.
            soon = at + timedelta(minutes=rnd.randint(20, 600))
            roll = rnd.random()
            if soon < end and roll < 0.25:
                events.append(
                    (
                        soon,
                        n,
                        "action",
                        order_id,
                        ("cancel", {"reason": "Customer changed their mind"}),
                    )
                )
            elif soon < end and roll < 0.35:
                events.append((soon, n, "action", order_id, ("hold", {"reason": "Address check"})))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _order_message(order_id: str, order: dict[str, Any], at: datetime) -> str:
    return _envelope(
        f"demo-order-{order_id}", "sales.order_management.create", at.isoformat(), {"order": order}
    )


def _shipped(app: Postsales, rnd: random.Random, order: dict[str, Any], at: datetime) -> str:
    channel = app.settings.sales_channels[order["sales_channel_id"]]
    return _envelope(
        f"demo-shipped-{order['id']}",
        "logistics.shipment_request_management.shipped",
        at.isoformat(),
        {
            "order_id": order["id"],
            "source_id": channel.sources[0],
            "lines": [ln["line_number"] for ln in order["order_lines"]],
            "carrier": "UPS",
            "tracking_number": f"1Z{rnd.randint(10**9, 10**10 - 1)}",
            "tracking_link": "https://tracking.example.com/",
        },
    )


def _after_shipping(
    rnd: random.Random, order: dict[str, Any], reasons: Sequence[str]
) -> tuple[str, dict[str, Any]] | None:
    """What an agent does for the customer of a shipped order, if anything."""
    roll = rnd.random()
    if roll < 0.22:
        return "return", {
            "lines": [1],
            "reason": rnd.choice(reasons),
            "comment": "Customer called about this item",
        }
    if roll < 0.32:
        return "appeasement", {
            "line": 1,
            "amount": "5.00",
            "reason": "Late delivery",
            "comment": "Goodwill",
        }
    if roll < 0.35:
        return "reshipment", {"lines": [1], "reason": "Lost in transit"}
    if roll < 0.38:
        style, size, color = order["order_lines"][0]["sku"].split("-")
        other = f"{style}-{SIZES[(SIZES.index(size) + 1) % 3]}-{color}"
        return "exchange", {"items": [{"line": 1, "sku": other}], "reason": "Too small"}
    if roll < 0.45:
        return "comment", {"text": "Customer asked for the tracking link"}
    return None


def _at(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


def _play(
    app: Postsales,
    importer: Importer,
    events: list[_Event],
    report: DemoReport,
    progress: Callable[[int], None] | None,
) -> int:
    """Run the events in order, the clock at each one's moment; messages that follow each
    other go to the importer together (it stamps a batch with the clock at its start). The
    number of orders imported."""
    system = get_user(app, None)
    agent = get_user(app, "agent") if any(u == "agent" for u, _ in report.users) else system
    orders, others = Importer(app), importer  # orders counted apart from the warehouses' news
    batch: list[tuple[str, str]] = []
    batch_at = batch_end = datetime.min

    def flush() -> None:
        if batch:
            app.clock = _at(batch_end)  # stored after its last message was sent, never before
            # Within half an hour no order ships (that takes 18 h): orders first is safe.
            orders.run(raw for kind, raw in batch if kind == "order")
            others.run(raw for kind, raw in batch if kind != "order")
            if progress is not None:
                progress(sum(1 for kind, _raw in batch if kind == "order"))
            batch.clear()

    for at, _n, kind, order_id, what in events:
        if kind != "action":
            if batch and at - batch_at > timedelta(minutes=30):
                flush()
            if not batch:
                batch_at = at
            batch.append((kind, what))
            batch_end = at
            continue
        flush()
        name, params = what
        if name not in app.registry.actions:
            continue
        app.clock = _at(at)
        try:
            run_action(app, order_id, name, params, agent)
        except PostsalesError:
            report.refused[name] = report.refused.get(name, 0) + 1
            continue
        report.actions[name] = report.actions.get(name, 0) + 1
    flush()
    return orders.report.applied
