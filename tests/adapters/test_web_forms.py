"""Typed action forms, preview then confirm, and what trying them as an agent found
(issue 13 items 1, 2 and 7), through Flask's test client. The same in Chromium:
tests/e2e/test_browser_forms.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.services.actions import list_actions, run_action
from postsales.core.services.orders import show_order
from postsales.core.services.users import add_user, get_user
from tests.adapters.forms_data import IN_STOCK, NEW, OUT_OF_STOCK, SHIPPED, load
from tests.adapters.test_web import PASSWORD, make_web, post, sign_in
from tests.conftest import ROOT


@pytest.fixture
def services(sqlite_app: Postsales) -> Postsales:
    load(sqlite_app)
    add_user(sqlite_app, "anna", ["supervisor"], PASSWORD, "Europe/Berlin")
    return sqlite_app


@pytest.fixture
def web(services: Postsales) -> Flask:
    return make_web(services)


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    c = web.test_client()
    sign_in(c)
    return c


def form_of(html: str, order_id: str, action: str) -> str:
    return html.split(f'action="/orders/{order_id}/actions/{action}"', 1)[1].split("</form>", 1)[0]


def doc(services: Postsales, order_id: str = SHIPPED) -> dict[str, Any]:
    return show_order(services, order_id, get_user(services, None))


# -- item 1: what each parameter is, shown as an agent expects ---------------------------------


def test_no_built_in_action_asks_for_json(services: Postsales, client: FlaskClient) -> None:
    for order_id in (SHIPPED, NEW):
        html = client.get(f"/orders/{order_id}").text
        assert 'placeholder="JSON"' not in html and "comma-separated" not in html
    system = get_user(services, None)
    for action in list_actions(services, SHIPPED, system) + list_actions(services, NEW, system):
        for name, prop in action.params.get("properties", {}).items():
            assert (
                prop.get("type") not in ("object", "array")
                or prop.get("x-widget")
                or (
                    action.name == "edit" and name == "lines"  # rows of typed fields, not JSON
                )
            ), (action.name, name)


def test_return_lines_are_checkboxes_with_item_status_and_remainder(client: FlaskClient) -> None:
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "return")
    line = form.split('value="1"', 1)[1].split("</label>", 1)[0]
    assert "Beaumont Summit Kit, M, Red" in line and "MJ01-M-RED" in line
    assert "badge-shipped" in line and "48.60 USD refundable" in line
    assert '<select id="f-return-reason" name="reason" required>' in form
    assert '<option value="Damaged"' in form
    assert 'name="source"' not in form  # the channel chooses the source: nothing to offer


def test_cancel_disables_lines_that_cannot_be_cancelled(
    services: Postsales, client: FlaskClient
) -> None:
    run_action(services, NEW, "review", {"reason": "Payment verified"}, get_user(services, None))
    form = form_of(client.get(f"/orders/{NEW}").text, NEW, "cancel")
    assert form.count('type="checkbox" name="lines"') == 5
    assert " disabled" not in form  # every line of a NEW order can be cancelled
    html = client.get(f"/orders/{SHIPPED}").text
    assert 'action="/orders/000000101/actions/cancel"' not in html  # whole order shipped


def test_exchange_offers_each_line_its_sibling_skus_out_of_stock_disabled(
    client: FlaskClient,
) -> None:
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "exchange")
    jacket = form.split('name="items-1-sku"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{IN_STOCK}">{IN_STOCK} · Beaumont Summit Kit, L, Red — 4 in stock' in (
        jacket
    )
    assert f'<option value="{OUT_OF_STOCK}" disabled>' in jacket and "out of stock" in jacket
    assert "— keep MJ01-M-RED —" in jacket
    assert 'name="items-5-sku"' not in form  # the shipping line
    assert "Not possible: a shipping line" in form


def test_edit_is_the_line_editor_remove_ticks_and_product_rows(
    services: Postsales, client: FlaskClient
) -> None:
    """Issue 13 item 6: edit (and a reorder's draft, which is edited) uses the new order's line
    editor: the order's lines to tick for removal, the ones edit cannot change disabled with
    the reason, and product rows (SKU with the finder, quantity, placed price) that may be
    numbered with gaps, as the page's "Add another product" leaves them."""
    outcome = run_action(services, SHIPPED, "reorder", {}, get_user(services, None))
    (draft,) = outcome.result["orders"]
    form = form_of(client.get(f"/orders/{draft}").text, draft, "edit")
    assert 'name="lines-remove" value="1"' in form and "Beaumont Summit Kit, M, Red" in form
    assert 'name="lines-0-sku"' in form and "data-sku-finder" in form
    assert 'name="lines-0-line"' not in form  # no number or select to pick a line with
    sent = post(client, f"/orders/{draft}/actions/edit",
                {"lines-remove": "1", "lines-0-sku": "", "lines-7-sku": IN_STOCK,
                 "lines-7-quantity": "2", "lines-7-price": "40.00"})  # fmt: skip
    assert sent.status_code == 302, sent.text
    lines = {ln["line_number"]: ln for ln in doc(services, draft)["lines"]}
    assert lines[1]["status"] == "CANCELLED" and lines[1]["status_reason"] == "REMOVED"
    added = [ln for ln in lines.values() if ln["sku"] == IN_STOCK]
    assert [ln["original_price"] for ln in added] == ["40.00", "40.00"]
    form = form_of(client.get(f"/orders/{draft}").text, draft, "edit")
    removed = form.split('name="lines-remove" value="1"', 1)[1].split("</label>", 1)[0]
    assert removed.startswith(" disabled>") and "only NEW lines are edited" in removed


def test_a_wrong_product_row_is_named_at_its_row_and_nothing_changes(
    services: Postsales, client: FlaskClient
) -> None:
    outcome = run_action(services, SHIPPED, "reorder", {}, get_user(services, None))
    (draft,) = outcome.result["orders"]
    before = doc(services, draft)
    for row, want in (
        ({"lines-4-sku": IN_STOCK, "lines-4-price": "4.999"}, "lines-4-price"),
        ({"lines-4-sku": "NO-SUCH-SKU"}, "lines-4-sku"),
        ({"lines-4-sku": IN_STOCK, "lines-4-quantity": "0"}, "lines-4-quantity"),
        ({"lines-remove": "99"}, "lines-remove"),
    ):
        sent = post(client, f"/orders/{draft}/actions/edit", {"lines-remove": "", **row})
        assert sent.status_code == 422, (row, sent.text)
        form = form_of(sent.text, draft, "edit")
        if want != "lines-remove":
            marked = form.split(f'name="{want}"', 1)[1].split(">", 1)[0]
            assert 'aria-invalid="true"' in marked, (row, marked)
            # What was typed stays, so the agent corrects it rather than types it again.
            assert f'value="{row[want]}"' in form.split(f'name="{want}"', 1)[0][-400:] + marked
        assert "Remove or add lines" in sent.text
    assert doc(services, draft)["lines"] == before["lines"]


def test_reshipment_address_is_labelled_and_prefilled(client: FlaskClient) -> None:
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "reshipment")
    for label in ("First name", "Last name", "Address", "City", "Zip / postal code", "State",
                  "Country", "Phone"):  # fmt: skip
        assert f">{label}</label>" in form
    assert 'name="shipping_address.city" value="Calder"' in form
    assert 'name="shipping_address.address1" value="6146 Honey Bluff Parkway"' in form


def test_an_address_field_changed_keeps_the_others(
    services: Postsales, client: FlaskClient
) -> None:
    before = doc(services)["shipping_address"]
    fields = {f"shipping_address.{k}": v for k, v in before.items() if v}
    form = {"lines": "2", "reason": "Lost parcel", **fields, "shipping_address.city": "Austin"}
    assert post(client, f"/orders/{SHIPPED}/actions/reshipment", form).status_code == 302
    child = doc(services, f"{SHIPPED}-R1")["shipping_address"]
    assert child == {**before, "city": "Austin"}
    # Untouched: the order's address as it is (nothing sent as a change).
    form = {"lines": "1", "reason": "Lost parcel", **fields}
    assert post(client, f"/orders/{SHIPPED}/actions/reshipment", form).status_code == 302
    assert doc(services, f"{SHIPPED}-R2")["shipping_address"] == before


def test_money_says_its_currency_and_maximum(services: Postsales, client: FlaskClient) -> None:
    run_action(services, SHIPPED, "appeasement", {"line": 2, "amount": "50.00", "reason": "Late"},
               get_user(services, None))  # fmt: skip
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "appeasement")
    assert '<span class="currency">USD</span>' in form
    assert "1 · Beaumont Summit Kit, M, Red · SHIPPED · 45.00 USD left to appease" in form
    # Issue 13 item 7: a line with nothing left to appease is not offered.
    assert '<option value="2" disabled>' in form and "not possible: fully refunded" in form
    assert "At most what is left to appease on the line chosen: line 1 45.00" in form


def test_appeasement_hint_names_the_only_line(services: Postsales, client: FlaskClient) -> None:
    system = get_user(services, None)
    for line, amount in ((2, "50.00"), (3, "5.00"), (4, "5.00"), (5, "5.80")):
        run_action(services, SHIPPED, "appeasement",
                   {"line": line, "amount": amount, "reason": "Late"}, system)  # fmt: skip
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "appeasement")
    assert "At most 45.00 USD left to appease on line 1" in form


def test_approve_refund_lists_only_refunds_it_can_approve(
    sqlite_app: Postsales, tmp_path: Path
) -> None:
    """Issue 13 item 7: a refund already sent to the gateway is not offered for approval."""
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["sales_channels"]["ST1"]["postsales"]["auto_release_refund"] = False
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    load(sqlite_app)
    services = bootstrap(str(path), sqlite_app.engine.url.render_as_string(hide_password=False))
    add_user(services, "anna", ["supervisor"], PASSWORD)
    system = get_user(services, None)
    for line in (1, 2):
        run_action(services, SHIPPED, "appeasement",
                   {"line": line, "amount": "5.00", "reason": "Late"}, system)  # fmt: skip
    run_action(services, SHIPPED, "approve_refund", {"refund_id": f"RF-{SHIPPED}-1"}, system)
    client = make_web(services).test_client()
    sign_in(client)
    page = client.get(f"/orders/{SHIPPED}").text
    approve = form_of(page, SHIPPED, "approve_refund")
    assert f'<option value="RF-{SHIPPED}-2">' in approve
    assert f'value="RF-{SHIPPED}-1"' not in approve  # PENDING_RELEASE: nothing to approve
    cancel = form_of(page, SHIPPED, "cancel_refund")
    assert f'value="RF-{SHIPPED}-1"' in cancel and f'value="RF-{SHIPPED}-2"' in cancel
    services.engine.dispose()


# -- wrong values: an error next to the field, aria-invalid, nothing changed ---------------------


@pytest.mark.parametrize(
    ("action", "fields", "field", "message"),
    [
        ("appeasement", {"line": "1", "amount": "-5", "reason": "x"}, "amount",
         "Amount: must be more than 0"),
        ("appeasement", {"line": "1", "amount": "0", "reason": "x"}, "amount",
         "Amount: must be more than 0"),
        ("appeasement", {"line": "1", "amount": "45.01", "reason": "x"}, "amount",
         "Amount: 45.01 USD is more than 45.00 USD left to appease on line 1"),
        ("appeasement", {"line": "1", "amount": "1e999999", "reason": "x"}, "amount",
         "Amount:"),
        ("appeasement", {"line": "1", "amount": "12,50", "reason": "x"}, "amount",
         "Amount: expected an amount"),
        ("appeasement", {"line": "1", "amount": "1.001", "reason": "x"}, "amount", "Amount:"),
        ("appeasement", {"line": "99", "amount": "5", "reason": "x"}, "line",
         "Line: order 000000101 has no line 99"),
        ("appeasement", {"line": "one", "amount": "5", "reason": "x"}, "line",
         "Line: expected a whole number"),
        ("exchange", {"items-1-sku": "NOPE-1"}, "items", "Lines to exchange: NOPE-1 is not in"),
        ("exchange", {"items-1-sku": "MJ01-M-RED"}, "items", "is the SKU of that line"),
        ("return", {"lines": "42", "reason": "Damaged", "comment": "c"}, "lines",
         "Lines: order 000000101 has no line 42"),
        ("return", {"lines": "1", "reason": "Bored", "comment": "c"}, "reason",
         "Reason: 'Bored' is not a return reason"),
        ("return", {"lines": "1", "reason": "Damaged", "comment": "   "}, "comment",
         "Comment: a comment is required"),
        ("reshipment", {"lines": "2", "reason": "x", "shipping_method": "teleport"},
         "shipping_method", "Shipping method: 'teleport' is not a shipping method"),
    ],
)  # fmt: skip
def test_wrong_values_are_shown_next_to_their_field(
    services: Postsales, client: FlaskClient, action: str, fields: dict, field: str, message: str
) -> None:
    before = doc(services)
    response = post(client, f"/orders/{SHIPPED}/actions/{action}", {**fields, "preview": "1"})
    assert response.status_code == 422, response.text[:300]
    fid = f"f-{action}-{field}"
    error = re.search(rf'<p class="field-error" id="{fid}-error">([^<]*)</p>', response.text)
    assert error and message.replace("'", "&#39;") in error.group(1), error
    assert f'aria-invalid="true" aria-describedby="{fid}-error"' in response.text
    after = doc(services)
    assert (after["refunds"], after["returns"], after["related_order_ids"]) == (
        before["refunds"], before["returns"], before["related_order_ids"],
    )  # fmt: skip
    assert len(after["history"]) == len(before["history"])


def test_an_out_of_stock_sku_sent_anyway_is_refused_next_to_its_line(
    services: Postsales, client: FlaskClient
) -> None:
    """The form disables it, but a page left open while the stock ran out still sends it: the
    refusal (409) is shown by that line's SKU, not only at the top of the page."""
    before = doc(services)
    sent = {"items-1-sku": OUT_OF_STOCK, "preview": "1"}
    response = post(client, f"/orders/{SHIPPED}/actions/exchange", sent)
    assert response.status_code == 409, response.text[:300]
    error = re.search(
        r'<p class="field-error" id="f-exchange-items-error">([^<]*)</p>', response.text
    )
    assert error and f"{OUT_OF_STOCK} has no stock in sources" in error.group(1)
    select = re.search(r'<select id="f-exchange-items-1-sku"[^>]*>', response.text)
    assert select and 'aria-invalid="true"' in select.group(0)
    assert doc(services)["related_order_ids"] == before["related_order_ids"]


def test_cancel_asks_for_a_reason(services: Postsales, client: FlaskClient) -> None:
    form = form_of(client.get(f"/orders/{NEW}").text, NEW, "cancel")
    assert '<textarea id="f-cancel-reason" name="reason" rows="3" required>' in form
    response = post(client, f"/orders/{NEW}/actions/cancel", {"reason": "  ", "preview": "1"})
    assert response.status_code == 422 and "Reason: reason is required" in response.text
    assert doc(services, NEW)["status"] == "NEW"


# -- item 2: preview, then confirm -------------------------------------------------------------


def test_every_action_that_moves_money_cancels_or_deletes_asks_first(services: Postsales) -> None:
    asking = {"cancel", "appeasement", "return", "approve_return", "cancel_return",
              "approve_refund", "cancel_refund", "exchange", "reshipment", "delete",
              "add_payment", "store_credit"}  # fmt: skip
    registered = services.registry.actions
    assert {n for n in asking if n in registered and registered[n].confirm} == asking & set(
        registered
    )


def test_cancel_previews_lines_refund_and_email_then_confirms(
    services: Postsales, client: FlaskClient
) -> None:
    page = client.get(f"/orders/{NEW}").text
    key = form_of(page, NEW, "cancel").split('name="form_key" value="', 1)[1].split('"', 1)[0]
    form = {"reason": "Customer changed their mind", "form_key": key}
    preview = post(client, f"/orders/{NEW}/actions/cancel", {**form, "preview": "1"})
    assert preview.status_code == 200
    text = preview.text
    assert ">Cancel order 000000102</button>" in text
    assert "Line 1 · <strong>Beaumont Summit Kit, M, Red</strong>" not in text  # none ticked
    assert '<td>1 · Beaumont Summit Kit, M, Red</td><td class="num">48.60 USD</td>' in text
    assert "<strong>118.80 USD</strong>" in text  # the refund total
    assert "E-mail to <strong>veronica.costello@example.com</strong>" in text
    assert doc(services, NEW)["status"] == "NEW"  # nothing changed yet
    hidden = dict(re.findall(r'<input type="hidden" name="([\w.-]+)" value="([^"]*)"', text))
    assert hidden["form_key"] == key and "preview" not in hidden
    confirm = {k: v for k, v in hidden.items() if k != "csrf_token"}
    for _ in range(2):  # sent twice: one effect
        assert post(client, f"/orders/{NEW}/actions/cancel", confirm).status_code in (302, 303)
    after = doc(services, NEW)
    assert after["status"] == "CANCELLED"
    assert [r["kind"] for r in after["refunds"]] == ["CANCELLATION"]


def test_cancelling_some_lines_says_which(client: FlaskClient) -> None:
    form = {"lines": ["1", "2"], "reason": "Out of stock", "preview": "1"}
    preview = post(client, f"/orders/{NEW}/actions/cancel", form)
    # The gift wrap of line 1 goes with it, and the button says so.
    assert ">Cancel lines 1, 2, 3 of order 000000102</button>" in preview.text
    assert "Line 1 · <strong>Beaumont Summit Kit, M, Red</strong>" in preview.text


def test_appeasement_button_says_the_amount(client: FlaskClient) -> None:
    form = {"line": "1", "amount": "32.80", "reason": "Late", "preview": "1"}
    preview = post(client, f"/orders/{SHIPPED}/actions/appeasement", form)
    assert ">Refund 32.80 USD</button>" in preview.text


def test_exchange_preview_names_the_new_order_and_the_email(
    services: Postsales, client: FlaskClient
) -> None:
    preview = post(client, f"/orders/{SHIPPED}/actions/exchange",
                   {"items-1-sku": IN_STOCK, "reason": "Too small", "preview": "1"})  # fmt: skip
    assert preview.status_code == 200
    assert f"New order <strong>{SHIPPED}-E1</strong>" in preview.text
    assert "E-mail to" in preview.text and ">Create exchange order</button>" in preview.text
    hidden = dict(re.findall(r'<input type="hidden" name="([\w.-]+)" value="([^"]*)"',
                             preview.text))  # fmt: skip
    hidden.pop("csrf_token")
    assert post(client, f"/orders/{SHIPPED}/actions/exchange", hidden).status_code == 302
    child = doc(services, f"{SHIPPED}-E1")
    assert [ln["sku"] for ln in child["lines"]] == [IN_STOCK]


# -- item 7 ------------------------------------------------------------------------------------


def test_lock_reason_is_in_the_users_zone(services: Postsales, client: FlaskClient) -> None:
    """Issue 13 item 7: anna (Europe/Berlin) reads ben's lock in her zone, as the page does."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    add_user(services, "ben", ["agent"], PASSWORD, "America/New_York")
    run_action(services, SHIPPED, "lock", {}, get_user(services, "ben"))
    expires = datetime.fromisoformat(doc(services)["lock"]["expires_at"])
    shown = f"{expires.astimezone(ZoneInfo('Europe/Berlin')):%Y-%m-%d %H:%M %Z}"
    anna = get_user(services, "anna")
    comment = next(a for a in list_actions(services, SHIPPED, anna) if a.name == "comment")
    assert comment.reason == f"order is locked by ben until {shown}"
    html = client.get(f"/orders/{SHIPPED}").text
    assert f"order is locked by ben until {shown}" in html and " UTC<" not in html


def test_comment_line_breaks_are_kept(client: FlaskClient) -> None:
    text = "Called the customer.\nShe will send it back.\n\nNo refund yet."
    assert post(client, f"/orders/{SHIPPED}/actions/comment", {"text": text}).status_code == 302
    html = client.get(f"/orders/{SHIPPED}").text
    assert f'<span class="summary">{text}</span>' in html  # the breaks kept, shown by the CSS
    css = client.get("/static/style.css").text
    assert ".history .summary { white-space: pre-line; }" in css


def test_reasons_use_the_agents_words(services: Postsales, client: FlaskClient) -> None:
    html = client.get(f"/orders/{NEW}").text
    off = html.split("Not available now", 1)[1]
    assert "Delete draft is possible only when the order is draft; it is new" in off
    assert "allowed in" not in off and "add_payment" not in off
    assert "no return is requested" in off


def _services_with(sqlite_app: Postsales, tmp_path: Path, **postsales: Any) -> Postsales:
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["sales_channels"]["ST1"]["postsales"].update(postsales)
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    return bootstrap(str(path), sqlite_app.engine.url.render_as_string(hide_password=False))


def test_each_confirmation_button_says_what_it_does(sqlite_app: Postsales, tmp_path: Path) -> None:
    from tests.adapters.test_web import make_draft

    load(sqlite_app)
    services = _services_with(
        sqlite_app, tmp_path, auto_approve_return=False, auto_release_refund=False
    )
    add_user(services, "anna", ["supervisor"], PASSWORD)
    system = get_user(services, None)
    run_action(
        services, SHIPPED, "return", {"lines": [2], "reason": "Damaged", "comment": "c"}, system
    )  # fmt: skip  (RET-…-1, waits for approval)
    run_action(
        services, SHIPPED, "appeasement", {"line": 1, "amount": "5.00", "reason": "Late"}, system
    )  # fmt: skip  (RF-…-1, waits for approval)
    draft = make_draft(services)
    client = make_web(services).test_client()
    sign_in(client)
    ret, refund = f"RET-{SHIPPED}-1", f"RF-{SHIPPED}-1"
    cases = [
        (SHIPPED, "approve_return", {"return_id": ret}, "Approve return and refund 54.00 USD"),
        (SHIPPED, "cancel_return", {"return_id": ret}, f"Cancel return {ret}"),
        (SHIPPED, "approve_refund", {"refund_id": refund}, "Refund 5.00 USD"),
        (SHIPPED, "cancel_refund", {"refund_id": refund}, f"Cancel refund {refund}"),
        (SHIPPED, "appeasement", {"line": "2", "amount": "1.50", "reason": "x"}, "Refund 1.50 USD"),
        (SHIPPED, "return", {"lines": "1", "reason": "Damaged", "comment": "c"}, "Create return"),
        (draft, "delete", {}, f"Delete draft {draft}"),
        (draft, "add_payment", {"method": "card", "amount": "10.00"}, "Record payment"),
    ]
    for order_id, action, fields, button in cases:
        page = client.get(f"/orders/{order_id}").text
        assert f'action="/orders/{order_id}/actions/{action}"' in page, action
        assert 'name="preview" value="1"' in form_of(page, order_id, action), action
        preview = post(client, f"/orders/{order_id}/actions/{action}", {**fields, "preview": "1"})
        assert preview.status_code == 200, (action, preview.text[:500])
        assert f">{button}</button>" in preview.text, action
        if action == "delete":
            assert f"Order <strong>{draft}</strong> is deleted, with its history" in preview.text
        assert "Nothing has changed yet." in preview.text
    after = doc(services)
    assert [r["status"] for r in after["returns"]] == ["REQUESTED"]  # previews changed nothing
    assert [r["status"] for r in after["refunds"]] == ["REQUESTED"]
    services.engine.dispose()


def test_return_offers_only_sources_that_accept_returns(
    sqlite_app: Postsales, tmp_path: Path
) -> None:
    load(sqlite_app)
    services = _services_with(sqlite_app, tmp_path, return_source_manual=True)
    add_user(services, "anna", ["supervisor"], PASSWORD)
    client = make_web(services).test_client()
    sign_in(client)
    form = form_of(client.get(f"/orders/{SHIPPED}").text, SHIPPED, "return")
    source = form.split('name="source"', 1)[1].split("</select>", 1)[0]
    assert '<option value="SOU1">SOU1 · Main warehouse</option>' in source
    assert 'value="SOU3"' in source and 'value="SOU2"' not in source  # the outlet takes none
    services.engine.dispose()
