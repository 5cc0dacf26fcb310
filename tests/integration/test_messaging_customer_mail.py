"""What the customer is told (issue 7 item 4, SPEC §6 "sends the customer notification"): the
`notification.email` each action writes to the outbox, in its own transaction and in the
order's language, read as the customer would read it — subject, items, amounts with currency,
order, return and refund ids.

The example order 000000101 (en_US, USD) is shipped from SOU1 ("Main warehouse"): line 1
MJ01-M-RED 48.60, line 2 WT09-S-BLK 54.00.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.gateways import GatewayAnswer, PaymentGateway
from postsales.core.hookspecs import hookimpl
from postsales.core.persistence import tables as T
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.users import get_user
from postsales.plugins.notifiers import email as email_plugin
from tests.conftest import example, import_examples

ORDER = "000000101"
TANK = "Breathe-Easy Tank, S, Black (WT09-S-BLK)"
KIT = "Beaumont Summit Kit, M, Red (MJ01-M-RED)"


def act(app: Postsales, name: str, **params: Any) -> Any:
    return run_action(app, ORDER, name, params, get_user(app, None))


def mails(app: Postsales) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(T.outbox).where(T.outbox.c.type == "notification.email").order_by(T.outbox.c.seq)
        )
        return [{"order_id": r.order_id, **r.payload} for r in rows]


def new_mails(app: Postsales, before: int) -> list[dict[str, Any]]:
    return mails(app)[before:]


def st1(app: Postsales, **postsales: Any) -> Postsales:
    """`app` with ST1's post-sales settings changed."""
    channels = dict(app.settings.sales_channels)
    channels["ST1"] = attrs.evolve(
        channels["ST1"], postsales=attrs.evolve(channels["ST1"].postsales, **postsales)
    )
    return attrs.evolve(app, settings=attrs.evolve(app.settings, sales_channels=channels))


def message(id_: str, type_: str, payload: dict[str, Any]) -> str:
    return json.dumps(
        {"id": id_, "type": type_, "created_at": "2026-11-12T10:00:00+00:00", "payload": payload}
    )


def ship_example_in(app: Postsales, language: str) -> None:
    order = example("order-create.json")
    order["payload"]["order"]["language"] = language
    assert not import_lines(app, [json.dumps(order)]).refused
    import_examples(app, "shipment-shipped.json")


def seed_sibling(app: Postsales) -> None:
    """MJ01-L-RED, a sibling of line 1's MJ01-M-RED, in stock at SOU1."""
    product = {"sku": "MJ01-L-RED", "parent_sku": "MJ01", "name": "Beaumont Summit Kit, L, Red",
               "image_url": "", "product_type": "PHYSICAL", "prices": {"ST1": "50.00"}}  # fmt: skip
    report = import_lines(
        app,
        [
            message("p-1", "catalog.product.upsert", product),
            message(
                "s-1",
                "inventory.source_item.update",
                {"source_id": "SOU1", "sku": "MJ01-L-RED", "quantity": 2},
            ),
        ],
    )
    assert not report.refused, report.refused


# -- cancel (seed 000: "ensure an email notification was sent to the customer") -------------------


def test_cancelling_the_order_tells_the_customer_and_the_refund(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    act(app, "cancel", reason="Customer request")
    (mail,) = mails(app)
    assert mail["subject"] == f"Your order has been cancelled (order {ORDER})"
    assert f"We have cancelled your order {ORDER} (Customer request).\n" in mail["body"]
    assert "A refund of 118.80 USD is on its way to your original payment method." in mail["body"]


def test_cancelling_some_lines_names_the_items_not_line_numbers(app: Postsales) -> None:
    import_examples(app, "order-create.json")
    act(app, "cancel", lines=[1])  # its gift wrap (line 3) goes with it
    (mail,) = mails(app)
    assert mail["subject"] == f"Items of your order have been cancelled (order {ORDER})"
    assert (
        f"We have cancelled the following item(s) of your order {ORDER}:\n"
        f"- {KIT}\n- Gift wrap (GIFTWRAP)\n"
    ) in mail["body"]
    assert "A refund of 54.00 USD" in mail["body"]


# -- returns ---------------------------------------------------------------------------------------


def test_a_return_approved_at_once_says_what_to_send_back_and_the_refund(
    app: Postsales, shipped_order: str
) -> None:
    before = len(mails(app))
    out = act(app, "return", lines=[2], reason="Damaged", comment="Torn seam")
    (mail,) = new_mails(app, before)
    assert mail["template"] == "return_created" and mail["order_id"] == ORDER
    assert mail["to"] == "veronica.costello@example.com"
    assert mail["subject"] == f"Your return RET-000000101-1 for order {ORDER} is approved"
    body = mail["body"]
    assert body.startswith("Hello Veronica Costello,\n")
    assert (
        "send the following item(s) back to Main warehouse, quoting return RET-000000101-1" in body
    )
    assert f"- {TANK}\n" in body and "Beaumont" not in body
    assert "A refund of 54.00 USD will go to your original payment method" in body
    # Written by the action's own transaction, with the return's messages.
    types = [m["type"] for m in out.messages]
    assert types.index("postsales.return.management.approved") < types.index("notification.email")


def test_a_return_waiting_for_approval_then_approved_by_a_supervisor(
    app: Postsales, shipped_order: str
) -> None:
    manual = st1(app, auto_approve_return=False)
    before = len(mails(app))
    act(manual, "return", lines=[2], reason="Damaged", comment="Torn seam")
    (created,) = new_mails(app, before)
    assert created["subject"] == f"We have registered your return RET-000000101-1 for order {ORDER}"
    assert "We have registered your return RET-000000101-1" in created["body"]
    assert f"- {TANK}" in created["body"]
    assert "Once your return is approved, we will refund the item(s)" in created["body"]
    assert "USD" not in created["body"]  # no amount promised before approval

    act(manual, "approve_return", return_id="RET-000000101-1")
    (approved,) = new_mails(app, before + 1)
    assert approved["template"] == "return_approved"
    assert approved["subject"] == f"Your return RET-000000101-1 for order {ORDER} is approved"
    assert "A refund of 54.00 USD will go to your original payment method" in approved["body"]
    assert (
        "If you have not sent the item(s) yet, please send them back to Main warehouse"
        in (approved["body"])
    )


def test_the_warehouse_receiving_a_return_tells_the_customer(
    app: Postsales, shipped_order: str
) -> None:
    manual = st1(app, auto_approve_return=False)
    act(manual, "return", lines=[1], reason="Too small", comment="Too tight")
    before = len(mails(app))
    import_examples(app, "return-received.json")
    (mail,) = new_mails(app, before)
    assert mail["template"] == "return_approved"
    assert mail["subject"] == f"We have received your return RET-000000101-1 for order {ORDER}"
    assert (
        f"We have received the item(s) of your return RET-000000101-1 for order {ORDER}:\n- {KIT}"
        in (mail["body"])
    )
    assert "A refund of 48.60 USD" in mail["body"]
    assert "If you have not sent" not in mail["body"]
    import_examples(app, "return-received.json")  # redelivered: nothing new
    assert len(mails(app)) == before + 1


# -- exchange and reshipment ----------------------------------------------------------------------


def test_an_exchange_tells_what_comes_and_what_to_send_back(
    app: Postsales, shipped_order: str
) -> None:
    seed_sibling(app)
    before = len(mails(app))
    act(app, "exchange", items=[{"line": 1, "sku": "MJ01-L-RED"}], reason="Too small")
    (mail,) = new_mails(app, before)
    assert mail["template"] == "exchange_created" and mail["order_id"] == ORDER
    assert mail["subject"] == f"Your exchange for order {ORDER}: new order 000000101-E1"
    body = mail["body"]
    assert (
        "We are sending you, at no charge, in order 000000101-E1:\n"
        f"- Beaumont Summit Kit, L, Red (MJ01-L-RED) in exchange for {KIT}\n"
    ) in body
    assert "It goes to 6146 Honey Bluff Parkway, 49628-7978 Calder, MI, US (flatrate Fixed)" in body
    assert (
        "send the original item(s) back to Main warehouse, quoting return RET-000000101-1" in body
    )
    assert "USD" not in body  # nothing is charged or refunded

    # The original comes back: the customer is told it arrived, and that it is not refunded.
    import_examples(app, "return-received.json")
    (received,) = new_mails(app, before + 1)
    assert "As agreed, this return is not refunded: the item(s) were replaced by order " \
        "000000101-E1." in received["body"]  # fmt: skip


def test_a_reshipment_tells_what_is_sent_again_and_where(
    app: Postsales, shipped_order: str
) -> None:
    before = len(mails(app))
    act(app, "reshipment", lines=[2], reason="Lost in transit", shipping_method="express",
        shipping_address={"address1": "1 Main St", "address2": "", "zip": "10001",
                          "city": "New York", "state": "NY"})  # fmt: skip
    (mail,) = new_mails(app, before)
    assert mail["template"] == "reshipment_created" and mail["order_id"] == ORDER
    assert mail["subject"] == "We are sending your items again: order 000000101-R1"
    body = mail["body"]
    assert f"in order 000000101-R1 (a replacement for order {ORDER}):\n- {TANK}\n" in body
    assert "It goes to 1 Main St, 10001 New York, NY, US (express)." in body
    assert "If you received the original item(s), please send them back to Main warehouse, " \
        "quoting return RET-000000101-1" in body  # fmt: skip


# -- refunds ---------------------------------------------------------------------------------------


def refund_answer(app: Postsales, kind: str, id_: str, response: str) -> None:
    payload = {"order_id": ORDER, "refund_id": "RF-000000101-1", "payment_id": "PAY-7731902",
               "amount": "54.00", "response": response}  # fmt: skip
    report = import_lines(app, [message(id_, f"payment.refund.{kind}", payload)])
    assert not report.refused, report.refused


def test_a_failed_refund_tells_the_customer_without_the_gateway_s_words(
    app: Postsales, shipped_order: str
) -> None:
    act(app, "return", lines=[2], reason="Damaged", comment="Torn seam")  # RF-…-1 pending
    before = len(mails(app))
    refund_answer(app, "failed", "psp-1", "DECLINED 05 card closed")
    (mail,) = new_mails(app, before)
    assert mail["template"] == "refund_failed"
    assert mail["subject"] == f"Your refund for order {ORDER} is delayed"
    assert "We tried to refund 54.00 USD (reference RF-000000101-1)" in mail["body"]
    assert "DECLINED" not in mail["body"] + json.dumps(mail["data"])
    refund_answer(app, "failed", "psp-1", "DECLINED 05 card closed")  # redelivered
    assert len(mails(app)) == before + 1

    # Approved again by a supervisor, then confirmed: the customer hears it is paid.
    act(app, "approve_refund", refund_id="RF-000000101-1")
    refund_answer(app, "confirmed", "psp-2", "APPROVED 00")
    (paid,) = new_mails(app, before + 1)
    assert paid["template"] == "refund_released"
    assert paid["subject"] == f"Your refund for order {ORDER} is on its way"
    assert "We have released a refund of 54.00 USD for your order 000000101 (reference " \
        "RF-000000101-1)" in paid["body"]  # fmt: skip


class RefusingGateway:
    """An outside gateway plugin that refuses every card refund at once (no answer message)."""

    @staticmethod
    def send(order: Any, refund: Any, payment: Any, ctx: Any) -> GatewayAnswer:
        return GatewayAnswer(False, "DECLINED 14 invalid account")

    @hookimpl
    def postsales_register_gateways(self, settings: Any) -> list[PaymentGateway]:
        return [PaymentGateway(name="refusing", methods=("card",), send=self.send)]


def test_a_refund_the_gateway_refuses_at_once_tells_the_customer_once(
    app: Postsales, shipped_order: str
) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    refusing = bootstrap(None, url, extra_plugins=[("refusing", RefusingGateway())])
    try:
        before = len(mails(app))
        act(refusing, "return", lines=[2], reason="Damaged", comment="Torn seam")
        sent = new_mails(app, before)
        assert sorted(m["template"] for m in sent) == ["refund_failed", "return_created"]
        (failed,) = (m for m in sent if m["template"] == "refund_failed")
        assert failed["subject"] == f"Your refund for order {ORDER} is delayed"
        assert "We tried to refund 54.00 USD (reference RF-000000101-1)" in failed["body"]
        assert "DECLINED" not in failed["body"] + json.dumps(failed["data"])
    finally:
        refusing.engine.dispose()


# -- languages -------------------------------------------------------------------------------------


def test_each_customer_mail_exists_in_every_language() -> None:
    folders = [p for p in email_plugin.BUILT_IN.iterdir() if p.is_dir()]
    names = {f.name: sorted(t.name for t in f.glob("*.txt")) for f in folders}
    assert set(names) == {"en", "de", "fr"}
    assert names["de"] == names["en"] == names["fr"]
    for template in ("return_created", "return_approved", "exchange_created",
                     "reshipment_created", "refund_failed", "refund_released"):  # fmt: skip
        assert f"{template}.txt" in names["en"]


@pytest.mark.parametrize(
    ("language", "subject", "phrases"),
    [
        ("de_DE", "Ihr Umtausch zur Bestellung 000000101: neue Bestellung 000000101-E1",
         ["Guten Tag Veronica Costello,", "im Tausch gegen " + KIT,
          "an Main warehouse zurück und geben Sie auf dem Paket die Rücksendung RET-000000101-1"]),
        ("fr_FR", "Votre échange pour la commande 000000101 : nouvelle commande 000000101-E1",
         ["Bonjour Veronica Costello,", "en échange de " + KIT,
          "à Main warehouse, en indiquant le retour RET-000000101-1 sur le colis"]),
    ],
)  # fmt: skip
def test_the_exchange_mail_in_the_order_s_language(
    app: Postsales, language: str, subject: str, phrases: list[str]
) -> None:
    ship_example_in(app, language)
    seed_sibling(app)
    before = len(mails(app))
    act(app, "exchange", items=[{"line": 1, "sku": "MJ01-L-RED"}], reason="Too small")
    (mail,) = new_mails(app, before)
    assert (mail["language"], mail["template_language"]) == (language, language[:2])
    assert mail["subject"] == subject
    for phrase in phrases:
        assert phrase in mail["body"], phrase


def test_returns_and_failed_refunds_in_german_and_french(app: Postsales, tmp_path: Path) -> None:
    ship_example_in(app, "de_DE")
    act(app, "return", lines=[2], reason="Damaged", comment="Naht gerissen")
    refund_answer(app, "failed", "psp-de", "DECLINED")
    created, failed = [m for m in mails(app) if m["template"] != "order_shipped"]
    assert (
        created["subject"]
        == "Ihre Rücksendung RET-000000101-1 zur Bestellung 000000101 ist genehmigt"
    )
    assert (
        "Eine Erstattung von 54.00 USD geht an Ihr ursprüngliches Zahlungsmittel" in created["body"]
    )
    assert failed["subject"] == "Ihre Erstattung zur Bestellung 000000101 verzögert sich"
    assert "wir wollten Ihnen 54.00 USD (Referenz RF-000000101-1)" in failed["body"]

    renderer = email_plugin.make_renderer({})
    french = renderer.render(
        email_plugin.Notification(
            order_id=ORDER, sales_channel="ST1", to="x@example.com", customer_name="Veronica",
            language="fr_FR", template="refund_failed", subject="", currency="EUR",
            data={"refund_id": "RF-000000101-1", "amount": "12.50"},
        )
    )  # fmt: skip
    assert french.subject == "Votre remboursement pour la commande 000000101 est retardé"
    assert "rembourser 12.50 EUR (référence RF-000000101-1)" in french.body
