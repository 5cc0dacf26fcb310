"""Demo data built by the engine's own flows (issue 2 item 10): catalog and stock messages,
order-create and shipped messages through the importer, then post-sales actions run as agents
would run them. Nothing is written to tables directly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import select

from ..bootstrap import Postsales
from ..errors import PostsalesError
from ..persistence import tables as T
from .actions import run_action
from .messages import Importer
from .users import add_user, get_user

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

DEMO_USERS = (
    ("agent", "agent", "agent-pass-1"),
    ("supervisor", "supervisor", "supervisor-pass-1"),
    ("admin", "admin", "admin-pass-1"),
)


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
                        "image_url": f"https://cdn.example.com/p/{sku}.jpg",
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


def _order(app: Postsales, rnd: random.Random, n: int, channel: str) -> tuple[str, dict[str, Any]]:
    ch = app.settings.sales_channels[channel]
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    city, state, zip_ = rnd.choice(CITIES.get(channel, CITIES["ST1"]))
    origin = app.now() - timedelta(days=rnd.randint(0, 60), minutes=rnd.randint(0, 1440))
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
                "image_url": f"https://cdn.example.com/p/{style}-{size}-{color}.jpg",
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
        "origin_date": origin.isoformat(),
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


def has_orders(app: Postsales) -> bool:
    """Whether the database holds any order at all (`postsales demo --if-empty`)."""
    with app.uow(read_only=True) as uow:
        return uow.conn.execute(select(T.orders.c.id).limit(1)).first() is not None


def build_demo(
    app: Postsales,
    orders: int = 2000,
    *,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> DemoReport:
    rnd = random.Random(seed)
    report = DemoReport()
    for name, role, password in DEMO_USERS:
        try:
            add_user(app, name, [role], password)
            report.users.append((name, password))
        except PostsalesError:
            pass  # already there from an earlier demo
    channels = list(app.settings.sales_channels)
    at = app.now().isoformat()
    importer = Importer(app)
    importer.run(_catalog(app, channels))
    created: list[tuple[str, dict[str, Any]]] = []

    def order_messages() -> Iterator[str]:
        for n in range(1, orders + 1):
            order_id, order = _order(app, rnd, n, channels[n % len(channels)])
            created.append((order_id, order))
            yield _envelope(
                f"demo-order-{order_id}", "sales.order_management.create", at, {"order": order}
            )

    importer.run(order_messages(), progress=progress)
    report.orders = importer.report.applied

    def shipped(order_id: str, order: dict[str, Any]) -> str:
        channel = app.settings.sales_channels[order["sales_channel_id"]]
        source = channel.sources[0]
        lines = [ln["line_number"] for ln in order["order_lines"]]
        return _envelope(
            f"demo-shipped-{order_id}",
            "logistics.shipment_request_management.shipped",
            at,
            {
                "order_id": order_id,
                "source_id": source,
                "lines": lines,
                "carrier": "UPS",
                "tracking_number": f"1Z{rnd.randint(10**9, 10**10 - 1)}",
                "tracking_link": "https://tracking.example.com/",
            },
        )

    to_ship = [(oid, o) for oid, o in created if rnd.random() < 0.6]
    importer.run(shipped(oid, o) for oid, o in to_ship)
    system = get_user(app, None)
    agent = get_user(app, "agent") if any(u == "agent" for u, _ in report.users) else system

    def act(order_id: str, action: str, params: dict[str, Any], user: Any = agent) -> bool:
        if action not in app.registry.actions:
            return False
        try:
            run_action(app, order_id, action, params, user)
        except PostsalesError:
            report.refused[action] = report.refused.get(action, 0) + 1
            return False
        report.actions[action] = report.actions.get(action, 0) + 1
        return True

    reasons = {cid: ch.return_reasons for cid, ch in app.settings.sales_channels.items()}
    for order_id, order in to_ship:
        roll = rnd.random()
        ch = order["sales_channel_id"]
        if roll < 0.25:
            act(
                order_id,
                "return",
                {
                    "lines": [1],
                    "reason": rnd.choice(reasons[ch]),
                    "comment": "Customer called about this item",
                },
            )
        elif roll < 0.35:
            act(
                order_id,
                "appeasement",
                {"line": 1, "amount": "5.00", "reason": "Late delivery", "comment": "Goodwill"},
            )
        elif roll < 0.40:
            act(order_id, "reshipment", {"lines": [1], "reason": "Lost in transit"})
        elif roll < 0.45:
            sku = order["order_lines"][0]["sku"]
            style, size, color = sku.split("-")
            other = f"{style}-{SIZES[(SIZES.index(size) + 1) % 3]}-{color}"
            act(order_id, "exchange", {"items": [{"line": 1, "sku": other}], "reason": "Too small"})
        elif roll < 0.50:
            act(order_id, "comment", {"text": "Customer asked for the tracking link"})
    shipped_ids = {oid for oid, _ in to_ship}
    unshipped = [oid for oid, _ in created if oid not in shipped_ids]
    for order_id in unshipped[: len(unshipped) // 5]:
        act(order_id, "cancel", {"reason": "Customer changed their mind"})
    for order_id in unshipped[len(unshipped) // 5 : len(unshipped) // 4]:
        act(order_id, "hold", {"reason": "Address check"})
    return report
