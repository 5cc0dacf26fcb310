"""Inbound message envelopes and payloads (SPEC §9): the examples parse, errors name the field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from postsales.core.errors import BadInput
from postsales.core.messages_schema import (
    INBOUND_TYPES,
    Envelope,
    OrderCreate,
    ProductUpsert,
    RefundAnswer,
    ReturnReceived,
    ShipmentShipped,
    SourceItemUpdate,
    parse_envelope,
    parse_message,
    parse_payload,
    strip_prefix,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ORDER_CREATE = "sales.order_management.create"


def _example(name: str) -> bytes:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.fail(f"example message {name} is missing from {EXAMPLES}")
    return path.read_bytes()


@pytest.fixture
def order_payload() -> dict[str, Any]:
    """A fresh, mutable copy of the example order's payload."""
    return copy.deepcopy(parse_envelope(_example("order-create.json")).payload)


def _error(type_: str, payload: dict[str, Any]) -> BadInput:
    with pytest.raises(BadInput) as info:
        parse_payload(type_, payload)
    return info.value


def _assert_path(error: BadInput, path: str) -> None:
    assert error.field == path
    assert error.message.startswith(f"{path}: "), error.message


def _envelope(**overrides: Any) -> dict[str, Any]:
    envelope = {
        "id": "msg-1",
        "type": "inventory.source_item.update",
        "created_at": "2026-11-02T09:31:12+00:00",
        "payload": {"source_id": "SOU1", "sku": "MJ01-M-RED", "quantity": 3},
    }
    envelope.update(overrides)
    return envelope


# -- the examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("order-create.json", OrderCreate),
        ("shipment-shipped.json", ShipmentShipped),
        ("return-received.json", ReturnReceived),
        ("refund-confirmed.json", RefundAnswer),
        ("refund-failed.json", RefundAnswer),
    ],
)
def test_each_inbound_example_parses(name: str, cls: type) -> None:
    envelope = parse_envelope(_example(name))
    assert envelope.type in INBOUND_TYPES
    assert envelope.created_at.utcoffset() is not None
    assert isinstance(parse_payload(envelope.type, envelope.payload), cls)


def test_the_outbound_example_is_a_valid_envelope_of_no_inbound_type() -> None:
    envelope = parse_envelope(_example("out-reshipment-create.json"))
    assert isinstance(envelope, Envelope)
    assert envelope.type == "postsales.reshipment.management.create"
    with pytest.raises(BadInput) as info:
        parse_payload(envelope.type, envelope.payload)
    _assert_path(info.value, "type")


def test_every_example_file_parses() -> None:
    _example("order-create.json")  # skips when the examples are absent
    for path in sorted(EXAMPLES.glob("*.json")):
        envelope = parse_envelope(path.read_bytes())
        if envelope.type in INBOUND_TYPES:
            parse_payload(envelope.type, envelope.payload)


def test_example_order_becomes_the_order_aggregate(order_payload: dict[str, Any]) -> None:
    order = parse_payload(ORDER_CREATE, order_payload).to_order(NOW)

    assert order.id == "000000101"
    assert order.status == "NEW" and order.order_type == "NORMAL"
    assert order.created_at == NOW
    assert order.origin_date == datetime(2026, 11, 2, 9, 30, 55, tzinfo=UTC)
    assert (order.sales_channel, order.currency, order.language) == ("ST1", "USD", "en_US")
    assert order.client_order_reference == "WEB-88412"
    assert order.grand_total == Decimal("118.80")
    assert order.captured == Decimal("118.80")
    assert order.total_due == Decimal("0.00")
    assert [line.line_number for line in order.lines] == [1, 2, 3, 4, 5]
    assert order.line(3).parent_line_number == 1
    assert order.line(3).product_type == "SERVICE"
    assert order.line(5).product_type == "SHIPPING"
    assert all(line.status == "NEW" and line.status_reason is None for line in order.lines)

    first = order.line(1)
    assert (first.sku, first.parent_sku, first.name) == (
        "MJ01-M-RED",
        "MJ01",
        "Beaumont Summit Kit, M, Red",
    )
    assert (first.original_price, first.discount, first.net_amount) == (
        Decimal("50.00"),
        Decimal("5.00"),
        Decimal("45.00"),
    )
    assert (first.tax_amount, first.gross_amount, first.tax_rate) == (
        Decimal("3.60"),
        Decimal("48.60"),
        Decimal("8"),
    )
    assert first.taxes == [{"type": "SALES", "amount": "3.60", "rate": "8"}]
    assert first.promotions[0]["code"] == "AUTUMN10"
    json.dumps([first.taxes, first.promotions])  # stored as JSON columns

    assert order.customer.type == "registered"
    assert order.customer.email == "veronica.costello@example.com"
    assert order.billing_address is not None and order.billing_address.city == "Calder"
    assert order.shipping_address == order.billing_address
    assert order.shipping_method == "flatrate Fixed"

    (payment,) = order.payments
    assert (payment.method, payment.payment_id) == ("card", "PAY-7731902")
    assert payment.requested_amount == payment.captured_amount == Decimal("118.80")
    (capture,) = payment.operations
    assert (capture.event, capture.amount, capture.response) == (
        "capture",
        Decimal("118.80"),
        "imported",
    )


def test_to_order_builds_fresh_objects_each_time(order_payload: dict[str, Any]) -> None:
    parsed = parse_payload(ORDER_CREATE, order_payload)
    first, second = parsed.to_order(NOW), parsed.to_order(NOW)
    first.lines[0].taxes[0]["amount"] = "0.00"
    first.payments[0].operations.clear()
    assert second.lines[0].taxes[0]["amount"] == "3.60"
    assert len(second.payments[0].operations) == 1


def test_numbers_in_json_are_read_as_decimal_never_float(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][1]["amount"].update(
        net_amount=50, tax_amount=4, gross_amount=54, tax_rate=8
    )
    text = json.dumps({**_envelope(type=ORDER_CREATE), "payload": order_payload})
    text = text.replace('"4.00"', "4.0")  # the tax entry's amount as a JSON float
    _, parsed = parse_message(text)
    line = parsed.to_order(NOW).line(2)
    assert line.gross_amount == Decimal("54.00") and str(line.gross_amount) == "54.00"
    assert line.taxes[0]["amount"] == "4.00"


def test_extra_keys_are_ignored(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["loyalty_points"] = 12
    order_payload["order"]["order_lines"][0]["warehouse_hint"] = {"x": 1}
    envelope = parse_envelope({**_envelope(), "trace_id": "abc"})
    assert envelope.id == "msg-1"
    assert parse_payload(ORDER_CREATE, order_payload).id == "000000101"


def test_quantity_expands_into_unit_lines(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][1]["quantity"] = 3
    order = parse_payload(ORDER_CREATE, order_payload).to_order(NOW)
    assert len(order.lines) == 7
    tanks = [line for line in order.lines if line.sku == "WT09-S-BLK"]
    assert [line.line_number for line in tanks] == [2, 6, 7]
    assert all(line.gross_amount == Decimal("54.00") for line in tanks)  # per unit, as given
    assert sorted(line.line_number for line in order.lines) == [1, 2, 3, 4, 5, 6, 7]
    assert order.grand_total == Decimal("226.80")


# -- envelope errors ------------------------------------------------------------------------------


def test_bad_json_names_line_and_column() -> None:
    with pytest.raises(BadInput) as info:
        parse_envelope('{"id": "m1",\n "type": }')
    assert info.value.message.startswith("not valid JSON: Expecting value (line 2, column 10)")


def test_missing_envelope_id() -> None:
    raw = _envelope()
    del raw["id"]
    with pytest.raises(BadInput) as info:
        parse_envelope(raw)
    _assert_path(info.value, "id")
    assert info.value.message == "id: missing required field"


def test_envelope_id_too_long() -> None:
    with pytest.raises(BadInput) as info:
        parse_envelope(_envelope(id="x" * 192))
    _assert_path(info.value, "id")


def test_naive_created_at_is_refused() -> None:
    with pytest.raises(BadInput) as info:
        parse_envelope(_envelope(created_at="2026-11-02T09:31:12"))
    _assert_path(info.value, "created_at")
    assert "offset" in info.value.message


def test_unknown_type() -> None:
    error = _error("sales.order_management.destroy", {})
    _assert_path(error, "type")
    assert "unknown message type 'sales.order_management.destroy'; expected one of" in error.message


def test_prefix_stripping() -> None:
    assert strip_prefix("magento.logistics.return.received", "magento.") == (
        "logistics.return.received"
    )
    assert strip_prefix("logistics.return.received", "magento.") == "logistics.return.received"
    assert strip_prefix("magento.x", "") == "magento.x"
    envelope, payload = parse_message(
        _envelope(type="magento.inventory.source_item.update"), prefix="magento."
    )
    assert envelope.type == "magento.inventory.source_item.update"
    assert payload == SourceItemUpdate(source_id="SOU1", sku="MJ01-M-RED", quantity=3)


# -- order errors ---------------------------------------------------------------------------------


def test_missing_customer_email(order_payload: dict[str, Any]) -> None:
    del order_payload["order"]["customer"]["email"]
    error = _error(ORDER_CREATE, order_payload)
    assert error.message == "payload.order.customer.email: missing required field"
    assert error.field == "payload.order.customer.email"


def test_customer_type_must_be_known(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["customer"]["type"] = "vip"
    _assert_path(_error(ORDER_CREATE, order_payload), "payload.order.customer.type")


def test_amount_that_is_not_a_number(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][1]["amount"]["gross_amount"] = "abc"
    error = _error(ORDER_CREATE, order_payload)
    assert error.message == (
        "payload.order.order_lines[1].amount.gross_amount: expected an amount, got 'abc'"
    )


@pytest.mark.parametrize("value", [Decimal("45.123"), 45.123, "45.123"])
def test_amount_with_three_decimals_in_usd(order_payload: dict[str, Any], value: object) -> None:
    order_payload["order"]["order_lines"][0]["amount"]["net_amount"] = value
    error = _error(ORDER_CREATE, order_payload)
    _assert_path(error, "payload.order.order_lines[0].amount.net_amount")
    assert "more than 2 decimals for USD" in error.message


def test_json_float_amount_with_three_decimals() -> None:
    order = json.loads(_example("order-create.json"))
    text = json.dumps(order).replace('"net_amount": "45.00"', '"net_amount": 45.123')
    envelope = parse_envelope(text)
    assert envelope.payload["order"]["order_lines"][0]["amount"]["net_amount"] == Decimal("45.123")
    with pytest.raises(BadInput) as info:
        parse_payload(envelope.type, envelope.payload)
    _assert_path(info.value, "payload.order.order_lines[0].amount.net_amount")


def test_negative_amount(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["payments"][0]["captured_amount"] = "-1.00"
    _assert_path(_error(ORDER_CREATE, order_payload), "payload.order.payments[0].captured_amount")


def test_duplicate_line_number(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][3]["line_number"] = 2
    error = _error(ORDER_CREATE, order_payload)
    _assert_path(error, "payload.order.order_lines[3].line_number")
    assert "duplicate line number 2" in error.message


def test_line_number_must_be_a_positive_integer(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][0]["line_number"] = "1"
    error = _error(ORDER_CREATE, order_payload)
    assert error.message == "payload.order.order_lines[0].line_number: expected an integer, got '1'"


def test_parent_line_number_pointing_nowhere(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][2]["parent_line_number"] = 9
    error = _error(ORDER_CREATE, order_payload)
    _assert_path(error, "payload.order.order_lines[2].parent_line_number")
    assert "9 is not another line" in error.message


def test_gross_must_be_net_plus_tax(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][1]["amount"]["gross_amount"] = "55.00"
    error = _error(ORDER_CREATE, order_payload)
    _assert_path(error, "payload.order.order_lines[1].amount.gross_amount")
    assert "54.00" in error.message


def test_order_needs_lines(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"] = []
    error = _error(ORDER_CREATE, order_payload)
    _assert_path(error, "payload.order.order_lines")


def test_quantity_must_be_at_least_one(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][0]["quantity"] = 0
    _assert_path(_error(ORDER_CREATE, order_payload), "payload.order.order_lines[0].quantity")


def test_unknown_billing_address_reference(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["billing_address_reference"] = "7"
    _assert_path(_error(ORDER_CREATE, order_payload), "payload.order.billing_address_reference")


def test_string_expected_where_a_number_came(order_payload: dict[str, Any]) -> None:
    order_payload["order"]["order_lines"][0]["product_name"] = 12
    error = _error(ORDER_CREATE, order_payload)
    assert error.message == "payload.order.order_lines[0].product_name: expected a string, got 12"


@pytest.mark.parametrize(
    ("value", "path"),
    [("usd", "payload.order.currency"), ("US", "payload.order.currency")],
)
def test_currency_is_three_upper_case_letters(
    order_payload: dict[str, Any], value: str, path: str
) -> None:
    order_payload["order"]["currency"] = value
    _assert_path(_error(ORDER_CREATE, order_payload), path)


@pytest.mark.parametrize("value", ["", "a/b", "x" * 65])
def test_order_id_shape(order_payload: dict[str, Any], value: str) -> None:
    order_payload["order"]["id"] = value
    _assert_path(_error(ORDER_CREATE, order_payload), "payload.order.id")


# -- other inbound messages -----------------------------------------------------------------------


def test_shipment_lines_must_be_integers() -> None:
    payload = json.loads(_example("shipment-shipped.json"))["payload"]
    payload["lines"] = ["x"]
    error = _error("logistics.shipment_request_management.shipped", payload)
    assert error.message == "payload.lines[0]: expected an integer, got 'x'"


def test_shipment_box_number_may_be_an_integer() -> None:
    payload = json.loads(_example("shipment-shipped.json"))["payload"]
    payload["box_number"] = 2
    del payload["tracking_link"]
    shipped = parse_payload("logistics.shipment_request_management.shipped", payload)
    assert shipped.box_number == "2" and shipped.tracking_link is None


def test_return_needs_lines() -> None:
    payload = json.loads(_example("return-received.json"))["payload"]
    payload["lines"] = []
    _assert_path(_error("logistics.return.received", payload), "payload.lines")


def test_refund_answer_keeps_amount_as_sent() -> None:
    envelope = parse_envelope(_example("refund-confirmed.json"))
    answer = parse_payload(envelope.type, envelope.payload)
    assert answer.amount == "54.00"
    assert answer.amount_in("USD") == Decimal("54.00")
    assert answer.amount_in("KWD") == Decimal("54.000")
    with pytest.raises(BadInput) as info:
        parse_payload(envelope.type, {**envelope.payload, "amount": "5.0001"})
    _assert_path(info.value, "payload.amount")
    with pytest.raises(BadInput) as info:
        RefundAnswer(order_id="1", refund_id="r", amount="5.001").amount_in("USD")
    _assert_path(info.value, "payload.amount")


def test_product_upsert_defaults_and_prices() -> None:
    product = parse_payload(
        "catalog.product.upsert",
        {"sku": "MJ01-M-RED", "name": "Kit", "prices": {"ST1": "50.00", "ST2": 45}},
    )
    assert product == ProductUpsert(
        sku="MJ01-M-RED",
        name="Kit",
        prices={"ST1": Decimal("50.00"), "ST2": Decimal(45)},
    )
    assert product.product_type == "PHYSICAL" and product.image_url == ""
    error = _error("catalog.product.upsert", {"sku": "A", "name": "B", "prices": {"ST1": "-1"}})
    _assert_path(error, "payload.prices.ST1")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-1, "payload.quantity: must be at least 0, got -1"),
        (True, "payload.quantity: expected an integer, got True"),
        ("3", "payload.quantity: expected an integer, got '3'"),
    ],
)
def test_stock_quantity(quantity: object, message: str) -> None:
    payload = {"source_id": "SOU1", "sku": "MJ01-M-RED", "quantity": quantity}
    error = _error("inventory.source_item.update", payload)
    assert error.message == message
    assert error.field == "payload.quantity"


def test_stock_quantity_zero_is_fine() -> None:
    payload = {"source_id": "SOU1", "sku": "MJ01-M-RED", "quantity": 0}
    assert parse_payload("inventory.source_item.update", payload).quantity == 0
