"""Outbound messages (issue 7 item 1): each type of SPEC §9 is emitted by what causes it, and
an outbox message exists if and only if its change committed (item 5).

Exchange and reshipment messages are checked in detail by test_actions_orders.py; this file
follows one order through import, release, shipping, a return and its refund.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.crypto import is_sealed
from postsales.core.errors import Refused
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.users import get_user
from tests.conftest import example, import_examples, outbox_rows

ORDER = "000000101"


def act(app: Postsales, name: str, **params: Any) -> Any:
    return run_action(app, ORDER, name, params, get_user(app, None))


def outbox(app: Postsales) -> list[Any]:
    return outbox_rows(app)


def new_types(app: Postsales, before: int) -> list[str]:
    return [r.type for r in outbox(app)[before:]]


def test_each_outbound_type_comes_from_its_cause(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    assert new_types(app, 0) == ["sales.order_management.updated"]

    n = len(outbox(app))
    act(app, "release")
    assert new_types(app, n) == [
        "logistics.shipment_request_management.requested",
        "sales.order_management.updated",
    ]
    request = outbox(app)[n].payload["shipment_request"]
    with app.engine.connect() as conn:  # it carries the billing address: sealed at rest (S-6)
        stored = conn.execute(select(T.outbox.c.payload).order_by(T.outbox.c.seq)).scalars()
        assert is_sealed(list(stored)[n])
    # Shaped after seed 002's example message.
    assert set(request) >= {
        "id", "order_id", "source_id", "customer_id", "store", "language", "vat_country",
        "origin", "origin_date", "created_at", "status", "items", "addresses",
        "shipping_address", "billing_address", "status_date",
    }  # fmt: skip
    seed_address = {
        "reference", "address_type", "first_name", "last_name", "address1", "city", "state",
        "zip", "country_code", "phone", "email", "custom_attributes",
    }  # fmt: skip
    for address in (*request["addresses"], request["shipping_address"], request["billing_address"]):
        assert set(address) >= seed_address, sorted(seed_address - set(address))
    assert set(request["items"][0]) >= {
        "order_line_id", "order_line_number", "item_type", "sku", "name", "order_line_price",
        "order_line_promotions_info", "status", "status_reason", "status_date",
    }  # fmt: skip

    n = len(outbox(app))
    import_examples(app, "shipment-shipped.json")
    assert new_types(app, n) == ["notification.email", "sales.order_management.updated"]
    mail = outbox(app)[n].payload
    assert mail["template"] == "order_shipped" and "1Z999AA10123456784" in mail["body"]

    n = len(outbox(app))
    act(
        app, "return", lines=[2], reason="Damaged", comment="test"
    )  # ST1 approves and releases at once
    types = new_types(app, n)
    for expected in (
        "postsales.return.management.created",
        "postsales.return.management.approved",
        "payment.refund.requested",
        "sales.order_management.updated",
    ):
        assert expected in types, (expected, types)
    assert types.index("postsales.return.management.created") < types.index(
        "postsales.return.management.approved"
    )

    n = len(outbox(app))
    import_examples(app, "refund-confirmed.json")
    mails = [r.payload for r in outbox(app)[n:] if r.type == "notification.email"]
    assert [m["template"] for m in mails] == ["refund_released"]
    assert "54.00" in mails[0]["body"]


SPEC_9_OUT = {
    "sales.order_management.updated",
    "logistics.shipment_request_management.requested",
    "postsales.reshipment.management.create",
    "postsales.exchange.management.create",
    "postsales.return.management.created",
    "postsales.return.management.approved",
    "payment.refund.requested",
    "notification.email",
}


def test_every_outbound_type_of_spec_9_is_emitted_with_the_configured_prefix(
    app: Postsales,
) -> None:
    """One run through every action that emits: each SPEC §9 outbound type appears, each with
    the prefix, and each tied to the order it is about."""
    import attrs

    magento = attrs.evolve(
        app,
        settings=attrs.evolve(
            app.settings, messages=attrs.evolve(app.settings.messages, type_prefix="magento.")
        ),
    )
    second = example("order-create.json")
    second["id"], second["payload"]["order"]["id"] = "msg-second", "000000102"
    shipped = example("shipment-shipped.json")
    shipped["id"] = "msg-second-shipped"
    shipped["payload"].update(order_id="000000102", shipment_request_id=None)
    catalog = [
        {"id": "p-1", "type": "magento.catalog.product.upsert",
         "created_at": "2026-11-10T10:00:00+00:00",
         "payload": {"sku": "MJ01-L-RED", "parent_sku": "MJ01", "name": "Kit L", "image_url": "",
                     "product_type": "PHYSICAL", "prices": {"ST1": "50.00"}}},
        {"id": "s-1", "type": "magento.inventory.source_item.update",
         "created_at": "2026-11-10T10:00:00+00:00",
         "payload": {"source_id": "SOU1", "sku": "MJ01-L-RED", "quantity": 1}},
    ]  # fmt: skip
    import_examples(magento, "order-create.json")
    report = import_lines(magento, [json.dumps(m) for m in (second, shipped, *catalog)])
    assert not report.refused, report.refused
    act(magento, "release")
    import_examples(magento, "shipment-shipped.json")
    act(magento, "return", lines=[2], reason="Damaged", comment="x")
    act(magento, "exchange", items=[{"line": 1, "sku": "MJ01-L-RED"}])
    run_action(magento, "000000102", "reshipment", {"lines": [1], "reason": "Lost"},
               get_user(magento, None))  # fmt: skip

    rows = outbox(magento)
    assert all(r.type.startswith("magento.") for r in rows), {r.type for r in rows}
    assert {r.type.removeprefix("magento.") for r in rows} == SPEC_9_OUT
    assert all(r.order_id for r in rows)
    by_type = {r.type: r for r in rows}
    exchange = by_type["magento.postsales.exchange.management.create"].payload["exchange"]
    assert (exchange["order_id"], exchange["new_order_id"]) == (ORDER, f"{ORDER}-E1")
    requests = [
        r for r in rows if r.type == "magento.logistics.shipment_request_management.requested"
    ]
    assert [r.order_id for r in requests] == [ORDER, f"{ORDER}-E1", "000000102-R1"]


def test_the_order_channel_language_picks_the_template(app: Postsales) -> None:
    data = example("order-create.json")
    data["payload"]["order"]["language"] = "de_DE"
    report = import_lines(app, [json.dumps(data)])
    assert not report.refused
    import_examples(app, "shipment-shipped.json")
    (mail,) = [r.payload for r in outbox(app) if r.type == "notification.email"]
    assert mail["template_language"] == "de" and mail["language"] == "de_DE"
    assert mail["subject"] == f"Ihre Bestellung {ORDER} wurde versandt"
    assert "Sendungsnummer: 1Z999AA10123456784" in mail["body"]


def test_no_message_without_a_committed_change(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    before = outbox(app)
    preview = run_action(app, ORDER, "cancel", {"reason": "x"}, get_user(app, None), dry_run=True)
    assert {m["type"] for m in preview.messages} >= {"notification.email"}  # shown, not kept
    with pytest.raises(Refused):
        act(app, "release_hold")  # not on hold: refused, nothing written
    assert outbox(app) == before


HOLD_LOOP = """
import sys
from postsales.core.bootstrap import bootstrap
from postsales.core.services.actions import run_action
from postsales.core.services.users import get_user
app = bootstrap(None, sys.argv[1])
app.registry.check()  # templates compiled now, as a long-running door does: the loop is steady
user = get_user(app, None)
print("ready", flush=True)
for n in range(100000):
    run_action(app, "000000101", "hold" if n % 2 == 0 else "release_hold", {}, user)
"""


def test_a_killed_process_leaves_a_message_for_each_committed_change_and_no_other(
    app: Postsales,
) -> None:
    """Hold and release an order in a loop in another process, SIGKILL it at random points:
    every committed change has its history entry and its message, and there is no message
    without its change."""
    import_examples(app, "order-create.json")
    url = app.engine.url.render_as_string(hide_password=False)
    rng = random.Random(11)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOOP, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.2, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        with app.engine.connect() as conn:
            kinds = list(conn.execute(select(T.history.c.kind)).scalars())
            order = conn.execute(select(T.orders).where(T.orders.c.id == ORDER)).one()
        changes = kinds.count("order.held") + kinds.count("order.hold_released")
        updates = [r.payload for r in outbox(app) if r.type == "sales.order_management.updated"]
        assert changes > 0
        assert len(updates) == changes + 1  # + the import's
        assert updates[-1]["order"]["status"] == order.status
