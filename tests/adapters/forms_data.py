"""Orders for the action-form tests (issue 13 items 1, 2, 7), shared with tests/e2e.

- 000000101: the example order, shipped (exchange, reshipment, return, appeasement);
- 000000102: the same order, NEW and paid (cancel);
- the jacket's siblings: MJ01-L-RED with 4 in stock at SOU1, MJ01-S-RED with none.
"""

from __future__ import annotations

import json

from postsales.core.bootstrap import Postsales
from postsales.core.services.messages.inbound import import_lines
from tests.conftest import example, example_path

SHIPPED = "000000101"
NEW = "000000102"
IN_STOCK = "MJ01-L-RED"
OUT_OF_STOCK = "MJ01-S-RED"


def _product(sku: str, name: str) -> str:
    return json.dumps({
        "id": f"p-{sku}", "type": "catalog.product.upsert", "created_at": "2026-11-01T00:00:00Z",
        "payload": {"sku": sku, "parent_sku": "MJ01", "name": name, "image_url": "",
                    "prices": {"ST1": "45.00"}},
    })  # fmt: skip


def _stock(sku: str, quantity: int) -> str:
    return json.dumps({
        "id": f"s-{sku}", "type": "inventory.source_item.update",
        "created_at": "2026-11-03T18:00:00+00:00",
        "payload": {"source_id": "SOU1", "sku": sku, "quantity": quantity},
    })  # fmt: skip


def load(app: Postsales) -> None:
    """Both orders and the sibling SKUs with their stock."""
    second = example("order-create.json")
    second["id"] = "msg-2026-000102"
    second["payload"]["order"]["id"] = NEW
    lines = [
        example_path("order-create.json").read_text().replace("\n", " "),
        example_path("shipment-shipped.json").read_text().replace("\n", " "),
        json.dumps(second),
        _product("MJ01-M-RED", "Beaumont Summit Kit, M, Red"),
        _product(IN_STOCK, "Beaumont Summit Kit, L, Red"),
        _product(OUT_OF_STOCK, "Beaumont Summit Kit, S, Red"),
        _stock(IN_STOCK, 4),
        _stock(OUT_OF_STOCK, 0),
    ]
    report = import_lines(app, lines)
    assert not report.refused, report.refused
