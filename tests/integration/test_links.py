"""Only safe links (issue 17 item 6): tracking links and image URLs are http or https URLs,
checked where they enter (the ship action, the warehouse message, the catalog message, the
order create), and templates render nothing else as a link."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from postsales.core.bootstrap import Postsales
from postsales.core.errors import BadInput
from postsales.core.links import LINK_MAX, link_problem
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_web import PASSWORD, make_web, sign_in
from tests.conftest import example, import_examples

ORDER = "000000101"
HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    'https://t.example.com/" onmouseover="alert(1)',
    "https://t.example.com/'><script>alert(1)</script>",
    "//evil.example/x",
    "https:///no-host",
    "ftp://files.example.com/a",
    "https://t.example.com/%zz",
    "https://t.example.com/" + "a" * LINK_MAX,
]
GOOD = [
    "https://tracking.example.com/1Z999AA10123456784",
    "HTTP://cdn.example.com/p/MJ01.jpg?w=48&h=48",
    "https://xn--mnchen-3ya.example/track/%C3%BC",
    "http://127.0.0.1:8080/t",
]


def test_the_rule() -> None:
    assert [v for v in GOOD if link_problem(v)] == []
    assert [v for v in HOSTILE if link_problem(v) is None] == []


def shippable(app: Postsales) -> str:
    """The example order released (with stock at SOU1) and picked: its shipment's id."""
    import_examples(app, "order-create.json")
    skus = {ln["sku"] for ln in example("order-create.json")["payload"]["order"]["order_lines"]}
    stock = [
        json.dumps(
            {
                "id": f"msg-stock-{sku}",
                "type": "inventory.source_item.update",
                "created_at": "2026-11-02T09:31:12+00:00",
                "payload": {"source_id": "SOU1", "sku": sku, "quantity": 10},
            }
        )
        for sku in skus
    ]
    assert not import_lines(app, stock).refused
    system = get_user(app, None)
    out = run_action(app, ORDER, "release", {}, system)
    shipment = out.order["shipments"][0]["id"]
    run_action(app, ORDER, "pick", {"shipment_id": shipment}, system)
    return str(shipment)


@pytest.mark.parametrize("link", HOSTILE[:7])
def test_the_ship_action_refuses_other_links(app: Postsales, link: str) -> None:
    shipment = shippable(app)
    system = get_user(app, None)
    params = {"shipment_id": shipment, "carrier": "UPS", "tracking_number": "1Z"}
    with pytest.raises(BadInput) as refused:
        run_action(app, ORDER, "ship", {**params, "tracking_link": link}, system)
    assert refused.value.field == "tracking_link"
    assert show_order(app, ORDER, system)["shipments"][0]["status"] == "PACKING"
    out = run_action(app, ORDER, "ship", {**params, "tracking_link": GOOD[0]}, system)
    assert out.order["shipments"][0]["status"] == "SHIPPED"


def test_the_warehouse_message_refuses_other_links(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    shipped = example("shipment-shipped.json")
    shipped["payload"]["tracking_link"] = HOSTILE[0]
    report = import_lines(app, [json.dumps(shipped)])
    assert [r.error.field for r in report.refused] == ["payload.tracking_link"]
    statuses = {ln["status"] for ln in show_order(app, ORDER, get_user(app, None))["lines"]}
    assert statuses == {"NEW"}


def catalog(image_url: Any) -> str:
    return json.dumps(
        {
            "id": f"msg-cat-{abs(hash(str(image_url)))}",
            "type": "catalog.product.upsert",
            "created_at": "2026-11-02T09:31:12+00:00",
            "payload": {"sku": "X-1", "name": "X", "image_url": image_url, "prices": {}},
        }
    )


def test_catalog_and_order_lines_refuse_other_image_urls(app: Postsales) -> None:
    report = import_lines(app, [catalog(HOSTILE[6]), catalog(GOOD[1])])
    assert [r.error.field for r in report.refused] == ["payload.image_url"]
    with app.engine.connect() as conn:
        assert conn.execute(select(T.products.c.image_url)).scalars().all() == [GOOD[1]]
    order = example("order-create.json")
    order["payload"]["order"]["order_lines"][1]["image_url"] = HOSTILE[0]
    refused = import_lines(app, [json.dumps(order)]).refused
    assert [r.error.field for r in refused] == ["payload.order.order_lines[1].image_url"]


def test_stored_values_that_are_not_links_are_shown_as_text(sqlite_app: Postsales) -> None:
    """Rows written before the check: shown, never as a link or an image."""
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    with sqlite_app.engine.begin() as conn:
        conn.execute(update(T.shipments).values(tracking_link=HOSTILE[0]))
        conn.execute(update(T.order_lines).values(image_url=HOSTILE[6]))
    add_user(sqlite_app, "anna", ["agent"], PASSWORD)
    client = make_web(sqlite_app).test_client()
    sign_in(client)
    page = client.get(f"/orders/{ORDER}").get_data(as_text=True)
    assert "javascript:" not in page and "onmouseover" not in page
    assert "<img" not in page and "1Z999AA10123456784" in page
