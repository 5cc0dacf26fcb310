"""No billing address in clear anywhere the database keeps data (S-6, issue 17 item 2).

A full scenario — an import, actions through the API with `Idempotency-Key`, refused messages
that carry a billing address, an export filtered by billing words, the relay — and then every
text the database holds is dumped (SQLite `iterdump`; on PostgreSQL every text and JSON column
of every table) and searched for the billing address's street, city, zip, e-mail and phone.
The billing address differs from the shipping address and the customer's own e-mail: those
are stored in clear on purpose (docs/search.md, S-6).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import sqlite3
from typing import Any

import pytest
from sqlalchemy import select, text

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.persistence.keys import cipher_for
from postsales.core.persistence.sealing import open_dead_letter, seal_dead_letter
from postsales.core.services.messages import inbox, outbox
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.search import export_orders
from postsales.core.services.users import get_user
from tests.adapters.test_api import ORDER, make_api
from tests.conftest import example

BILLING = {
    "reference": "1",
    "address_type": "customer",
    "first_name": "Ottilie",
    "last_name": "Vandermeer",
    "company_name": "Quorvex Holdings",
    "address1": "77 Zyzzogeton Crescent",
    "address2": "Suite Xylofane 9",
    "city": "Vexhampton",
    "state": "OR",
    "zip": "97339-8642",
    "country_code": "US",
    "phone": "(555) 010-7788",
    "email": "ottilie.ledger@billing-mail.example",
}
# What S-6 protects: the billing address's lines, city, zip and contact details.
SECRETS = [
    "Zyzzogeton",
    "Xylofane",
    "Vexhampton",
    "97339-8642",
    "97339",
    "ottilie.ledger",
    "010-7788",
    "Quorvex",
]


def order_create(order_id: str = ORDER, message_id: str = "msg-billing-1") -> dict[str, Any]:
    """The example order, billed to an address of its own (reference 1), shipped to the
    example's address (reference 2)."""
    message = example("order-create.json")
    message["id"] = message_id
    order = message["payload"]["order"]
    order["id"] = order_id
    shipping = copy.deepcopy(order["addresses"][0])
    shipping["reference"] = "2"
    order["addresses"] = [dict(BILLING), shipping]
    order["billing_address_reference"] = "1"
    for line in order["order_lines"]:
        line["shipping_address_reference"] = "2"
    return message


def dump(app: Postsales) -> str:
    """Every text the database holds."""
    if app.engine.dialect.name == "sqlite":
        connection = sqlite3.connect(app.engine.url.database)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    out = []
    with app.engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type IN "
                "('text', 'character varying', 'character', 'json', 'jsonb')"
            )
        ).all()
        assert len(columns) > 20
        for table, column in columns:
            out += conn.execute(text(f'SELECT "{column}"::text FROM "{table}"')).scalars()
    return "\n".join(v for v in out if v)


def test_a_full_scenario_leaves_no_billing_address_in_clear(
    app: Postsales, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = import_lines(app, [json.dumps(order_create())])
    assert not report.refused, report.refused
    api = make_api(app)
    client = api.client

    def act(name: str, body: dict[str, Any], key: str) -> Any:
        url = f"/api/v1/orders/{ORDER}/actions/{name}"
        first = client.post(url, json=body, headers=api.auth(**{"Idempotency-Key": key}))
        again = client.post(url, json=body, headers=api.auth(**{"Idempotency-Key": key}))
        assert first.status_code == 200, first.get_data(as_text=True)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_data() == first.get_data()  # the sealed response replays exactly
        return first.get_json()

    released = act("release", {}, "k-release")
    assert released["order"]["billing_address"]["city"] == "Vexhampton"
    shipped = example("shipment-shipped.json")
    assert not import_lines(app, [json.dumps(shipped)]).refused
    act("appeasement", {"line": 1, "amount": "5.00", "reason": "Late", "comment": "x"}, "k-ap")
    act("comment", {"text": "customer called"}, "k-comment")

    # Refused messages that carry the billing address, through each door.
    unknown_store = order_create("000000777", "msg-billing-2")
    unknown_store["payload"]["order"]["sales_channel_id"] = "NOPE"
    bad_envelope = order_create("000000778", "msg-billing-3")
    bad_envelope["created_at"] = "not a time"
    truncated = json.dumps(order_create("000000779", "msg-billing-4"))[:900]
    refused = import_lines(
        app, [json.dumps(unknown_store), json.dumps(bad_envelope), truncated + "\n"]
    )
    assert len(refused.refused) == 3
    not_utf8 = b"\xff" + json.dumps(order_create("000000780", "msg-billing-5")).encode()
    assert inbox.receive(app, not_utf8).outcome == "dead_letter"
    posted = client.post("/api/v1/messages", json=unknown_store, headers=api.auth("ada"))
    assert posted.status_code == 422

    # An export filtered by billing words (audited), and a search by them (not stored).
    user = get_user(app, None)
    exported = io.BytesIO()
    assert export_orders(app, user, {"billing_address": "Vexhampton"}, out=exported) == 1
    found = client.get("/api/v1/orders?billing_address=Zyzzogeton", headers=api.auth("anna"))
    assert [o["id"] for o in found.get_json()["orders"]] == [ORDER]

    # The relay hands the shipment request over with its billing address; at rest it stays sealed.
    published: list[Any] = []
    outbox.relay_pass(app, published.extend)
    requests = [m for m in published if m.type.endswith("shipment_request_management.requested")]
    assert requests and requests[0].payload["shipment_request"]["billing_address"]["city"] == (
        "Vexhampton"
    )
    listed = client.get("/api/v1/outbox?limit=1000", headers=api.auth("anna")).get_json()
    assert any(
        (m["payload"].get("shipment_request") or {}).get("billing_address", {}).get("zip")
        == "97339-8642"
        for m in listed
    )

    everything = dump(app)
    assert "veronica.costello@example.com" in everything  # the dump sees clear text
    assert "6146 Honey Bluff Parkway" in everything  # the shipping address is not S-6's
    assert "Vandermeer" in everything  # the billing name is shown in the grid: documented
    leaked = [s for s in SECRETS if s.lower() in everything.lower()]
    assert leaked == []
    logged = caplog.text.lower()
    assert [s for s in SECRETS if s.lower() in logged] == []

    # What an operator needs is still there: the refused messages' ids, types and reasons,
    # and their billing addresses opened again with the key.
    with app.engine.connect() as conn:
        letters = conn.execute(select(T.dead_letters).order_by(T.dead_letters.c.id)).all()
    assert [d.message_id for d in letters] == [
        "msg-billing-2",
        "msg-billing-3",
        None,
        None,
        "msg-billing-2",
    ]
    assert letters[1].type == "sales.order_management.create"
    assert "NOPE" in letters[0].reason and "created_at" in letters[1].reason
    cipher = cipher_for(app.engine)
    opened = json.loads(open_dead_letter(cipher, letters[0].raw))
    assert opened == json.loads(json.dumps(unknown_store))
    assert open_dead_letter(cipher, letters[2].raw).strip() == truncated
    assert show_order(app, ORDER, user)["billing_address"]["address1"] == BILLING["address1"]


def test_a_refusal_reason_quoting_a_billing_value_is_blanked() -> None:
    message = order_create()
    raw = json.dumps(message)
    reason = "payload.order.addresses[0].city: 'Vexhampton' is not a city we ship to"
    kept, said = seal_dead_letter(lambda: None, raw, reason)
    assert "Vexhampton" not in kept and "Vexhampton" not in said
    assert said.startswith("payload.order.addresses[0].city:")
    assert "6146 Honey Bluff Parkway" in kept  # the shipping address (reference 2) stays
    assert json.loads(kept)["payload"]["order"]["addresses"][0] == "[billing data]"


def test_addresses_are_all_sealed_when_the_billing_reference_names_none() -> None:
    message = order_create()
    message["payload"]["order"]["billing_address_reference"] = "9"
    kept, _ = seal_dead_letter(lambda: None, json.dumps(message), "no address 9")
    assert json.loads(kept)["payload"]["order"]["addresses"] == ["[billing data]"] * 2
    untouched = json.dumps({"id": "m", "type": "x", "payload": {"amount": 12.50}})
    assert seal_dead_letter(lambda: None, untouched, "r") == (untouched, "r")
