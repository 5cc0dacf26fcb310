"""The JSON API through Flask's test client: bearer tokens, every route, problem+json errors,
Decimal bodies, store scoping and the OpenAPI document (SPEC §4, §10, §11).

The helpers at the top (`make_api`, `Api`) are shared by the other `test_api_*` modules.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from postsales.adapters.web import create_app
from postsales.core import ActionContext, ActionSpec, hookimpl
from postsales.core.actions import params_schema
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.persistence import tables as T
from postsales.core.services.orders import show_order
from postsales.core.services.tokens import issue_token
from postsales.core.services.users import add_user, get_user
from tests.conftest import ROOT, example_path, import_examples

ORDER = "000000101"
PASSWORD = "password-123"
PROBLEM = "application/problem+json"
USERS = {"anna": ["agent"], "sam": ["supervisor"], "ada": ["admin"]}


@attrs.frozen
class Api:
    """A web app with the API mounted, its services and a bearer token per user."""

    services: Postsales
    web: Flask
    tokens: dict[str, str]

    @property
    def client(self) -> FlaskClient:
        return self.web.test_client()

    def auth(self, user: str = "sam", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **headers}


def make_api(services: Postsales, users: dict[str, list[str]] | None = None) -> Api:
    tokens = {}
    for name, roles in (users or USERS).items():
        add_user(services, name, roles, None)  # API users need no password (argon2 is slow)
        tokens[name] = issue_token(services, name)
    web = create_app(services, secret_key="test-secret-key")
    web.config["TESTING"] = True
    return Api(services, web, tokens)


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert a problem+json response of `status` and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == PROBLEM
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status
    assert body["type"].startswith("urn:postsales:problem:")
    assert body["title"] and body["detail"]
    return body


def history_count(services: Postsales, kind: str) -> int:
    document = show_order(services, ORDER, get_user(services, None))
    return sum(1 for h in document["history"] if h["kind"] == kind)


def order_count(services: Postsales) -> int:
    with services.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(T.orders)).scalar_one())


@pytest.fixture
def api(sqlite_app: Postsales) -> Api:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    return make_api(sqlite_app)


# -- authentication -------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(api: Api) -> None:
    response = api.client.get(f"/api/v1/orders/{ORDER}")
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="postsales"'
    assert "users token" in body["detail"]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer pst_not-a-token", "invalid_token"),
        ("Basic YW5uYTpwYXNzd29yZA==", "invalid_request"),
        ("Bearer ", "invalid_request"),
    ],
)
def test_a_bad_token_is_401(api: Api, header: str, error: str) -> None:
    response = api.client.get(f"/api/v1/orders/{ORDER}", headers={"Authorization": header})
    problem(response, 401)
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="postsales", error="{error}"'


def test_a_web_session_does_not_open_the_api(api: Api) -> None:
    add_user(api.services, "wendy", ["supervisor"], PASSWORD)
    client = api.client
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    form = {"username": "wendy", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302
    problem(client.get(f"/api/v1/orders/{ORDER}"), 401)
    # …and the web app's CSRF check does not apply to the API (a token is no ambient credential).
    response = client.post(
        f"/api/v1/orders/{ORDER}/actions/comment", json={"text": "hi"}, headers=api.auth()
    )
    assert response.status_code == 200


def test_the_web_app_still_works_beside_the_api(api: Api) -> None:
    response = api.client.get("/orders")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- orders -----------------------------------------------------------------------------------


def test_show_order_is_the_order_document(api: Api) -> None:
    response = api.client.get(f"/api/v1/orders/{ORDER}", headers=api.auth("anna"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body == show_order(api.services, ORDER, get_user(api.services, "anna"))
    assert body["status"] == "SHIPPED" and body["totals"]["grand_total"] == "118.80"


def test_unknown_order_is_a_404_problem(api: Api) -> None:
    body = problem(api.client.get("/api/v1/orders/nope", headers=api.auth()), 404)
    assert body["detail"] == "order nope not found"


def test_an_order_of_another_store_is_not_found(sqlite_app: Postsales, tmp_path: Path) -> None:
    import_examples(sqlite_app, "order-create.json")
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["roles"]["de_agent"] = {
        "permissions": ["orders.view", "order.comment", "orders.create", "shipment.manage"],
        "sales_channels": ["ST2"],
    }
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    services = bootstrap(str(path), str(sqlite_app.engine.url))
    api = make_api(services, {"dieter": ["de_agent"]})
    client, auth = api.client, api.auth("dieter")
    unknown = problem(client.get("/api/v1/orders/nope", headers=auth), 404)
    hidden = problem(client.get(f"/api/v1/orders/{ORDER}", headers=auth), 404)
    assert hidden["detail"] == unknown["detail"].replace("nope", ORDER)  # no hint it exists
    problem(client.get(f"/api/v1/orders/{ORDER}/actions", headers=auth), 404)
    url = f"/api/v1/orders/{ORDER}/actions/comment"
    problem(client.post(url, json={"text": "hello"}, headers=auth), 404)
    assert client.get("/api/v1/outbox", headers=auth).get_json() == []
    # Messages may concern any store: a user scoped to some stores cannot send them.
    message = example_path("order-create.json").read_bytes()
    problem(client.post("/api/v1/messages", data=message, headers=auth), 403)
    services.engine.dispose()


def add_product(api: Api, sku: str, price: str) -> None:
    """A product in the catalog, sent as a message through the API."""
    message = {
        "id": f"p-{sku}",
        "type": "catalog.product.upsert",
        "created_at": "2026-11-01T00:00:00+00:00",
        "payload": {"sku": sku, "parent_sku": sku.split("-")[0], "name": f"Item {sku}",
                    "image_url": "", "prices": {"ST1": price}},
    }  # fmt: skip
    response = api.client.post("/api/v1/messages", json=message, headers=api.auth("ada"))
    assert response.status_code == 202, response.text


def test_create_a_draft_order(api: Api) -> None:
    add_product(api, "MJ01-M-RED", "45.00")
    params = {
        "sales_channel": "ST1",
        "customer": "C-1001",
        "shipping_address": {
            "first_name": "Veronica",
            "address1": "1 Main St",
            "city": "Austin",
            "zip": "78701",
            "country_code": "US",
        },
        "shipping_method": "express",
        "lines": [{"sku": "MJ01-M-RED", "quantity": 1, "price": 45.5}],
    }
    preview = api.client.post("/api/v1/orders", json={**params, "dry_run": True},
                              headers=api.auth("anna"))  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert preview.get_json()["status"] == "DRAFT"
    response = api.client.post("/api/v1/orders", json=params, headers=api.auth("anna"))
    assert response.status_code == 201, response.text
    draft = response.get_json()
    assert draft["status"] == "DRAFT"
    # ST1 taxes the lines an agent adds at its configured 8 %: 45.50 + 3.64.
    line = draft["lines"][0]
    assert (line["net_amount"], line["tax_amount"], line["gross_amount"]) == (
        "45.50",
        "3.64",
        "49.14",
    )
    assert response.headers["Location"] == f"/api/v1/orders/{draft['id']}"
    shown = api.client.get(response.headers["Location"], headers=api.auth("anna"))
    assert shown.get_json() == draft
    assert order_count(api.services) == 2  # the example and this draft; the preview made none
    body = problem(
        api.client.post(
            "/api/v1/orders", json={**params, "sales_channel": "XX"}, headers=api.auth("anna")
        ),
        422,
    )
    assert body["field"] == "sales_channel"
    problem(api.client.post("/api/v1/orders", data=b"", headers=api.auth("anna")), 400)


# -- actions ----------------------------------------------------------------------------------


def test_list_actions_with_reasons_and_schemas(api: Api) -> None:
    response = api.client.get(f"/api/v1/orders/{ORDER}/actions", headers=api.auth("anna"))
    assert response.status_code == 200
    actions = {a["name"]: a for a in response.get_json()}
    assert set(actions) == set(api.services.registry.actions)
    comment = actions["comment"]
    assert comment["available"] is True and comment["reason"] is None
    assert comment["permission"] == "order.comment"
    assert comment["params"] == params_schema(api.services.registry.actions["comment"])
    assert actions["cancel"]["available"] is False
    assert "SHIPPED" in actions["cancel"]["reason"]


def test_run_an_action_like_act_json(api: Api) -> None:
    url = f"/api/v1/orders/{ORDER}/actions/comment"
    preview = api.client.post(url, json={"text": "hello", "dry_run": True}, headers=api.auth())
    assert preview.status_code == 200 and preview.get_json()["dry_run"] is True
    assert history_count(api.services, "comment") == 0
    response = api.client.post(url, json={"text": "hello"}, headers=api.auth())
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["dry_run", "result", "messages", "order"]
    assert body["dry_run"] is False and body["order"]["comments"][-1]["text"] == "hello"
    assert history_count(api.services, "comment") == 1


def test_a_refund_through_the_api(api: Api) -> None:
    url = f"/api/v1/orders/{ORDER}/actions/return"
    body = {"lines": [1], "reason": "Damaged", "comment": "torn seam"}
    response = api.client.post(url, json=body, headers=api.auth("anna"))
    assert response.status_code == 200, response.text
    out = response.get_json()
    assert out["result"]["returns"] and out["result"]["refunds"]
    assert out["order"]["refunds"][0]["amount"] == "48.60"
    assert any(m["type"].startswith("payment.refund") for m in out["messages"])


def test_json_numbers_reach_the_core_as_decimal(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from postsales.adapters.web.api import actions

    seen: dict[str, Any] = {}
    real = actions.run_action

    def spy(app: Any, order_id: str, name: str, params: Any, user: Any, **kw: Any) -> Any:
        seen.update(params)
        return real(app, order_id, name, params, user, **kw)

    monkeypatch.setattr(actions, "run_action", spy)
    url = f"/api/v1/orders/{ORDER}/actions/appeasement"
    raw = b'{"line": 1, "amount": 0.1, "reason": "Damaged", "comment": "late", "dry_run": true}'
    response = api.client.post(url, data=raw, headers=api.auth(), content_type="application/json")
    assert response.status_code == 200, response.text
    assert seen["amount"] == Decimal("0.1") and isinstance(seen["amount"], Decimal)
    assert isinstance(seen["line"], int)
    refund = response.get_json()["order"]["refunds"][-1]
    assert refund["amount"] == "0.10"
    too_fine = raw.replace(b"0.1", b"0.105")
    body = problem(api.client.post(url, data=too_fine, headers=api.auth()), 422)
    assert "decimals" in body["detail"]


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("comment", b"{not json", 400, None),
        ("comment", b"[1, 2]", 422, "body"),
        ("comment", b'{"text": NaN}', 400, None),
        ("comment", b"\xff\xfe", 400, None),
        ("comment", b'{"text": "hi", "colour": "red"}', 422, "colour"),
        ("comment", b'{"text": "hi", "dry_run": "yes"}', 422, "dry_run"),
        ("comment", b"{}", 422, "text"),
        ("appeasement", b'{"line": 1, "amount": 1e999999, "reason": "x", "comment": "y"}', 422,
         "amount"),
        ("appeasement", b'{"line": 1, "amount": "lots", "reason": "x", "comment": "y"}', 422,
         "amount"),
        ("return", b'{"lines": [99999999999999999999], "reason": "Damaged", "comment": "x"}',
         422, "lines[0]"),  # the element beyond 64 bits
        ("cancel", b"{}", 409, None),
        ("no_such_action", b"{}", 404, None),
    ],
)  # fmt: skip
def test_bad_input_is_a_problem_never_a_500(
    api: Api, name: str, body: bytes, status: int, field: str | None
) -> None:
    url = f"/api/v1/orders/{ORDER}/actions/{name}"
    response = api.client.post(url, data=body, headers=api.auth(), content_type="application/json")
    got = problem(response, status)
    if field is not None:
        assert got["field"] == field


def audit_rows(services: Postsales, kind: str) -> list[Any]:
    a = T.audit_log.c
    with services.uow(read_only=True) as uow:
        return list(uow.conn.execute(select(T.audit_log).where(a.kind == kind).order_by(a.id)))


def test_forbidden_is_403(api: Api) -> None:
    url = f"/api/v1/orders/{ORDER}/actions/approve_refund"
    body = problem(api.client.post(url, json={"refund_id": "RF-1"}, headers=api.auth("anna")), 403)
    assert "refund.approve" in body["detail"]
    (refused,) = audit_rows(api.services, "access.forbidden")  # and it is in the audit log
    assert refused.actor == "anna" and refused.detail["door"] == "api"
    assert refused.detail["route"] == url and refused.detail["method"] == "POST"
    assert refused.detail["order_id"] == ORDER and refused.detail["action"] == "approve_refund"


def test_out_of_store_orders_are_audited(app: Postsales, tmp_path: Path) -> None:
    import_examples(app, "order-create.json")
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["roles"]["de_agent"] = {"permissions": ["orders.view"], "sales_channels": ["ST2"]}
    path = tmp_path / "postsales.yaml"
    path.write_text(yaml.safe_dump(config))
    services = bootstrap(str(path), app.engine.url.render_as_string(hide_password=False))
    api = make_api(services, {"dieter": ["de_agent"], "sam": ["supervisor"]})
    for url in (f"/api/v1/orders/{ORDER}", f"/api/v1/orders/{ORDER}/actions"):
        problem(api.client.get(url, headers=api.auth("dieter")), 404)
    problem(api.client.get("/api/v1/orders/nope", headers=api.auth("dieter")), 404)
    assert api.client.get(f"/api/v1/orders/{ORDER}", headers=api.auth("sam")).status_code == 200
    hidden = audit_rows(services, "access.out_of_store")
    assert [(r.actor, r.detail["route"], r.detail["door"]) for r in hidden] == [
        ("dieter", f"/api/v1/orders/{ORDER}", "api"),
        ("dieter", f"/api/v1/orders/{ORDER}/actions", "api"),
    ]
    assert [r.detail["order_id"] for r in audit_rows(services, "access.unknown_order")] == ["nope"]
    services.engine.dispose()


def test_unknown_route_and_wrong_method_are_problems(api: Api) -> None:
    body = problem(api.client.get("/api/v1/nothing-here"), 404)
    assert "/api/v1/nothing-here" in body["detail"]
    problem(api.client.get("/api/elsewhere"), 404)
    response = api.client.delete(f"/api/v1/orders/{ORDER}", headers=api.auth())
    problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_bug_is_a_logged_500_problem(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from postsales.adapters.web.api import orders

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(orders, "show_order", broken)
    with caplog.at_level(logging.ERROR):
        response = api.client.get(f"/api/v1/orders/{ORDER}", headers=api.auth())
    body = problem(response, 500)
    assert "boom" not in response.text and "Traceback" not in response.text
    incident = body["instance"].removeprefix("urn:uuid:").replace("-", "")
    assert incident in caplog.text and "RuntimeError: boom" in caplog.text


def test_an_oversized_body_is_413(api: Api) -> None:
    url = f"/api/v1/orders/{ORDER}/actions/comment"
    huge = json.dumps({"text": "x" * (5 * 1024 * 1024)})
    problem(api.client.post(url, data=huge, headers=api.auth()), 413)


# -- messages and the outbox ----------------------------------------------------------------


def test_post_a_message(sqlite_app: Postsales) -> None:
    api = make_api(sqlite_app)
    raw = example_path("order-create.json").read_bytes()
    first = api.client.post("/api/v1/messages", data=raw, headers=api.auth("ada"))
    assert first.status_code == 202 and first.get_json() == {"status": "applied"}
    again = api.client.post("/api/v1/messages", data=raw, headers=api.auth("ada"))
    assert again.status_code == 202 and again.get_json() == {"status": "duplicate"}
    assert api.client.get(f"/api/v1/orders/{ORDER}", headers=api.auth()).status_code == 200
    problem(api.client.post("/api/v1/messages", data=raw, headers=api.auth("anna")), 403)
    problem(api.client.post("/api/v1/messages", data=b"{", headers=api.auth("ada")), 400)
    bad = json.loads(raw)
    bad["payload"]["order"]["currency"] = "dollars"
    body = problem(api.client.post("/api/v1/messages", json=bad, headers=api.auth("ada")), 422)
    assert body["field"].endswith("currency")


def test_outbox_lists_messages_oldest_first(api: Api) -> None:
    client, auth = api.client, api.auth("anna")
    everything = client.get("/api/v1/outbox", headers=auth).get_json()
    assert everything and all(m["state"] == "pending" for m in everything)
    seqs = [m["seq"] for m in everything]
    assert seqs == sorted(seqs)
    assert {m["order_id"] for m in everything} == {ORDER}
    last = client.get("/api/v1/outbox?limit=1", headers=auth).get_json()
    assert [m["seq"] for m in last] == seqs[-1:]
    after = client.get(f"/api/v1/outbox?after={seqs[0]}&limit=1000", headers=auth).get_json()
    assert [m["seq"] for m in after] == seqs[1:]
    assert client.get("/api/v1/outbox?pending=true", headers=auth).get_json() == everything
    for query in ("limit=0", "limit=abc", "pending=maybe", "after=-1"):
        problem(client.get(f"/api/v1/outbox?{query}", headers=auth), 400)


# -- search (the core search service, S-1/S-2) ----------------------------------------------


def test_search_with_query_filters(api: Api) -> None:
    response = api.client.get(f"/api/v1/orders?order_id={ORDER}", headers=api.auth("anna"))
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert body["total"] == 1 and body["orders"][0]["id"] == ORDER
    assert {"page", "per_page"} <= set(body)
    missing = api.client.get("/api/v1/orders?order_id=nope", headers=api.auth("anna"))
    assert missing.get_json()["total"] == 0
    problem(api.client.get("/api/v1/orders?page=abc", headers=api.auth("anna")), 400)


def test_search_with_an_expression(api: Api) -> None:
    expression = {
        "exp": "eq",
        "args": [{"exp": "field", "args": [{"value": "order_id"}]}, {"value": ORDER}],
    }
    for body in ({"expression": expression}, expression):
        response = api.client.post("/api/v1/orders/search", json=body, headers=api.auth("anna"))
        assert response.status_code == 200, response.text
        assert [o["id"] for o in response.get_json()["orders"]] == [ORDER]
    bad = {"expression": {"exp": "nonsense", "args": []}}
    response = api.client.post("/api/v1/orders/search", json=bad, headers=api.auth("anna"))
    assert response.status_code in (400, 422)
    assert response.headers["Content-Type"] == PROBLEM


# -- the OpenAPI document -------------------------------------------------------------------


@attrs.frozen
class ProbeParams:
    note: str
    count: int = 1


class ProbePlugin:
    """An outside plugin's action: it must show up in the document with no change to the API."""

    @staticmethod
    def run(order: Any, params: ProbeParams, ctx: ActionContext) -> None:
        ctx.record(order, "probe", f"probe {params.note} x{params.count}")

    @hookimpl
    def postsales_register_actions(self, settings: Any) -> list[ActionSpec]:
        return [ActionSpec(name="probe", label="Probe", permission="order.comment",
                           params=ProbeParams, run=self.run)]  # fmt: skip


def test_openapi_document_is_generated_from_the_registry(sqlite_app: Postsales) -> None:
    import_examples(sqlite_app, "order-create.json")
    services = bootstrap(None, str(sqlite_app.engine.url), extra_plugins=[("probe", ProbePlugin())])
    api = make_api(services, {"anna": ["agent"]})
    response = api.client.get("/api/v1/openapi.json")  # public: no token needed
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.0")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    paths = doc["paths"]
    for name, spec in services.registry.actions.items():
        operation = paths[f"/api/v1/orders/{{order_id}}/actions/{name}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        expected = params_schema(spec)
        assert {k: v for k, v in schema["properties"].items() if k != "dry_run"} == expected.get(
            "properties", {}
        )
        assert schema["properties"]["dry_run"]["type"] == "boolean"
        assert {"400", "401", "403", "404", "409", "422"} <= set(operation["responses"])
    probe = paths["/api/v1/orders/{order_id}/actions/probe"]["post"]
    assert probe["requestBody"]["content"]["application/json"]["schema"]["required"] == ["note"]
    routes = ("", "/search", "/{order_id}", "/{order_id}/actions")
    for path in [f"/api/v1/orders{r}" for r in routes] + ["/api/v1/messages", "/api/v1/outbox"]:
        assert path in paths
    problem_response = doc["components"]["responses"]["409"]["content"]
    assert problem_response == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    # The run succeeds through the API too, since nothing in the API knows its name.
    run = api.client.post(f"/api/v1/orders/{ORDER}/actions/probe", json={"note": "n", "count": 2},
                          headers=api.auth("anna"))  # fmt: skip
    assert run.status_code == 200, run.text
    services.engine.dispose()


def test_openapi_order_schema_validates_a_real_order(api: Api) -> None:
    import jsonschema_rs as jsonschema  # schemathesis's own validator

    doc = api.client.get("/api/v1/openapi.json").get_json()
    order = api.client.get(f"/api/v1/orders/{ORDER}", headers=api.auth()).get_json()
    schemas = doc["components"]["schemas"]

    def resolve(node: Any) -> Any:  # inline $refs, and read OpenAPI's `nullable` as JSON schema
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(schemas[node["$ref"].rsplit("/", 1)[1]])
            out = {k: resolve(v) for k, v in node.items() if k != "nullable"}
            if node.get("nullable") and "type" in out:
                out["type"] = [out["type"], "null"]
            return out
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    validator = jsonschema.validator_for(resolve(schemas["Order"]))
    errors = [str(e) for e in validator.iter_errors(order)]
    assert errors == []
