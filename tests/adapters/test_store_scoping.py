"""Nothing leaks across stores, through any door (SPEC §4, issue 12 item 3).

Two databases are built alike: both hold an order of store ST2, and the first also holds an
order of store ST1 with everything that follows from it (shipment, a return, an appeasement
waiting for a supervisor, outbound messages, a refused inbound message about it). A user who
may do everything, but only in ST2, then goes through every operation of the
API's OpenAPI document and every web route, aimed at the ST1 order where a route takes one; each
answer must be the same in both databases (once what changes between any two runs — random ids,
tokens — is masked), so it reveals nothing of ST1: not its id, a total, a count or a message.

The same requests by a user of every store must tell the databases apart (the check is not
blind), and the lists below must name every operation and route, so a new one cannot be added
without being checked here. (The CLI's commands are swept the same way in test_cli_scoping.py.)
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from flask import Flask

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.tokens import issue_token
from postsales.core.services.users import add_user, get_user
from tests.conftest import ROOT, _db_for, example, import_examples

HIDDEN = "000000101"  # the ST1 order
SEEN = "000000202"  # the ST2 order, in both databases
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PASSWORD = "password-123"
ALL_PERMISSIONS = sorted(
    {p for r in yaml.safe_load((ROOT / "config/postsales.yaml").read_text())["roles"].values()
     for p in r["permissions"]}
)  # fmt: skip


@attrs.frozen
class World:
    label: str
    url: str
    config: str
    services: Postsales
    web: Flask
    tokens: dict[str, str]


def _config(folder: Path) -> str:
    data = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    data["roles"]["st2_everything"] = {"permissions": ALL_PERMISSIONS, "sales_channels": ["ST2"]}
    data["roles"]["everything"] = {"permissions": ALL_PERMISSIONS, "sales_channels": "*"}
    data["sales_channels"]["ST1"]["postsales"]["appeasement_limits"] = {"agent": "10.00"}
    path = folder / "postsales.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _st2_order() -> str:
    data = example("order-create.json")
    data["id"] = "msg-st2-000202"
    order = data["payload"]["order"]
    order.update(id=SEEN, client_order_reference="WEB-DE-1", sales_channel_id="ST2",
                 currency="EUR", vat_country="DE", language="de_DE")  # fmt: skip
    order["customer"].update(id="C-2002", first_name="Dieter", last_name="Brandt",
                             email="dieter.brandt@example.de", phone="+49 30 1234567")  # fmt: skip
    for address in order["addresses"]:
        address.update(first_name="Dieter", last_name="Brandt", address1="Hauptstr. 5",
                       city="Berlin", state="", zip="10115", country_code="DE",
                       phone="+49 30 1234567", email="dieter.brandt@example.de")  # fmt: skip
    return json.dumps(data)


def _build(label: str, url: str, config: str, *, with_st1: bool) -> World:
    services = bootstrap(config, url)
    services.clock = lambda: NOW
    for name, roles in (("una", ["st2_everything"]), ("root", ["everything"]), ("ann", ["agent"])):
        add_user(services, name, roles, PASSWORD)
    assert not import_lines(services, [_st2_order()]).refused
    if with_st1:
        import_examples(services, "order-create.json", "shipment-shipped.json")
        ann = get_user(services, "ann")
        run_action(services, HIDDEN, "return", {"lines": [2], "reason": "Too small",
                   "comment": "Costello called"}, ann)  # fmt: skip
        # Above the agent's limit: waits in the work queue for a supervisor.
        run_action(services, HIDDEN, "appeasement", {"line": 1, "amount": "20.00",
                   "reason": "Late", "comment": "Costello waited"}, ann)  # fmt: skip
        refused = copy.deepcopy(example("return-received.json"))
        refused.update(id="msg-refused-1")
        refused["payload"]["lines"] = [99]  # no such line: refused, kept as a dead letter
        assert import_lines(services, [json.dumps(refused)]).refused
    tokens = {name: issue_token(services, name) for name in ("una", "root")}
    web = create_app(services, secret_key="test-secret-key")
    web.config["TESTING"] = True
    return World(label, url, config, services, web, tokens)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def worlds(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, World]]:
    config = _config(tmp_path)
    built = []
    for label, with_st1 in (("with ST1", True), ("without ST1", False)):
        folder = tmp_path / label.replace(" ", "-")
        folder.mkdir()
        if request.param == "postgres":
            # The fixture's schema for the first; the second needs a schema of its own.
            url = _second_schema(request) if built else _db_for(request, folder, "postgres")
        else:
            url = _db_for(request, folder, "sqlite")
        built.append(_build(label, url, config, with_st1=with_st1))
    yield built[0], built[1]
    for world in built:
        world.services.engine.dispose()


def _second_schema(request: pytest.FixtureRequest) -> str:
    import uuid

    from sqlalchemy import text

    from postsales.core.persistence.database import make_engine
    from postsales.core.persistence.migrate import upgrade
    from tests.conftest import PG_URL

    schema = f"pst_scope_{uuid.uuid4().hex[:8]}"
    admin_engine = make_engine(PG_URL)
    with admin_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    second = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(second)
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()

    request.addfinalizer(drop)
    return second


# -- what differs between any two runs ----------------------------------------------------------

_VOLATILE = [
    (re.compile(r"pst_[A-Za-z0-9_-]{20,}"), "TOKEN"),
    (re.compile(r'name="(csrf_token|form_key)" value="[^"]*"'), r'name="\1" value="X"'),
    (re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"), "UUID"),
    (re.compile(r"[0-9a-f]{32,}"), "HEX"),
    (re.compile(r"pst_scope_[0-9a-f]{8}|pst_[a-z0-9]+_[0-9a-f]{6}"), "SCHEMA"),
    (re.compile(r"/tmp/\S+?(?=[\s\"']|$)"), "PATH"),
    # CLI commands bootstrap their own services, on the real clock.
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z| UTC)?"), "TIME"),
]


def _masked(text: str, world: World) -> str:
    text = text.replace(world.url, "DBURL").replace(world.config, "CONFIG")
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


# -- the doors ----------------------------------------------------------------------------------


def _api(world: World, user: str, method: str, path: str, body: Any) -> str:
    client = world.web.test_client()
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    response = client.open(path, method=method, json=body, headers=headers)
    return _masked(f"{response.status_code}\n{response.get_data(as_text=True)}", world)


def _api_requests(world: World) -> list[tuple[str, str, Any]]:
    document = world.web.test_client().get("/api/v1/openapi.json").get_json()
    requests = []
    message = {**example("return-received.json"), "id": "msg-api-1"}
    for template, operations in document["paths"].items():
        for method in operations:
            path = template.replace("{order_id}", HIDDEN)
            if path.endswith("/actions/comment"):
                body: Any = {"text": "hello"}
            elif "/actions/" in path:
                body = {"dry_run": True}
            elif path == "/api/v1/orders/search":
                body = {"filters": {"q": "Costello"}}
            elif path == "/api/v1/messages":
                body = message
            elif path == "/api/v1/orders" and method == "post":
                body = {"sales_channel": "ST1", "customer": "C-1001", "lines": []}
            else:
                body = None
            requests.append((method.upper(), path, body))
    requests += [
        ("GET", "/api/v1/orders?q=Costello", None),
        ("GET", f"/api/v1/orders?order_id={HIDDEN}", None),
        ("GET", "/api/v1/orders?sales_channel=ST1", None),
        ("GET", "/api/v1/outbox?pending=true", None),
    ]
    return requests


# Every web route, with what it is tried with.
WEB_RUNS: dict[str, list[tuple[str, str, dict[str, str] | None]]] = {
    "static": [("GET", "/static/style.css", None)],
    "auth.login": [("GET", "/login", None)],
    "auth.logout": [],  # signing out is done last, by every walk
    "orders.home": [("GET", "/", None)],
    "orders.grid": [
        ("GET", "/orders", None),
        ("GET", "/orders?q=Costello", None),
        ("GET", f"/orders?order_id={HIDDEN}", None),
        ("GET", f"/orders?q={HIDDEN}", None),  # the header's box: an exact id opens it
        ("GET", "/orders?sales_channel=ST1", None),
        ("GET", "/orders?name=%25costello", None),
        ("GET", "/orders?purchased_from=2026-11-01", None),
    ],
    "orders.choose_columns": [("GET", "/orders/columns", None)],
    "orders.export": [
        ("GET", "/orders/export?format=csv", None),
        ("GET", "/orders/export?format=xml", None),
    ],
    "orders.queue": [("GET", "/queue", None)],
    "orders.show": [("GET", f"/orders/{HIDDEN}", None)],
    # The ST1 order's customer, and the ST2 one's (known in both: must read the same).
    "customers.show": [
        ("GET", "/customers/C-1001", None),
        ("GET", "/customers/C-2002", None),
        ("GET", "/customers/nobody", None),
    ],
    # A new order: ST1 is as unknown as a misspelt store, its customer as an unknown one.
    "new_order.new": [
        ("GET", "/orders/new", None),
        ("GET", "/orders/new?sales_channel=ST1&customer_id=C-1001", None),
        (
            "POST",
            "/orders/new",
            {"sales_channel": "ST2", "customer_q": "Costello", "step": "find_customer"},
        ),
        (
            "POST",
            "/orders/new",
            {"sales_channel": "ST2", "customer_q": "veronica", "step": "enter"},
        ),
        ("POST", "/orders/new", {"sales_channel": "ST2", "use_customer": "C-1001"}),
        (
            "POST",
            "/orders/new",
            {
                "sales_channel": "ST2",
                "customer_id": "C-1001",
                "product_q": "MJ01",
                "add": "MJ01-M-RED",
                "step": "create",
                "shipping_method": "express",
                "shipping_address.address1": "1 Main St",
            },
        ),
    ],
    "new_order.products": [
        ("GET", "/orders/new/products?sales_channel=ST1&q=MJ01", None),
        ("GET", "/orders/new/products?sales_channel=ST2&q=MJ01", None),
    ],
    "new_order.quote": [
        ("GET", "/orders/new/quote?sales_channel=ST1&lines-0-sku=MJ01-M-RED", None),
        (
            "GET",
            "/orders/new/quote?sales_channel=ST2&lines-0-sku=MJ01-M-RED&lines-0-quantity=2",
            None,
        ),
    ],
    "orders.act": [
        ("POST", f"/orders/{HIDDEN}/actions/comment", {"text": "hello"}),
        ("POST", f"/orders/{HIDDEN}/actions/cancel", {"preview": "1"}),
    ],
    "admin.dash": [("GET", "/dashboard", None)],
    "admin.index": [("GET", "/admin", None)],
    "admin.config": [("GET", "/admin/config", None)],
    "admin.plugins": [("GET", "/admin/plugins", None)],
    "admin.machines": [("GET", "/admin/machines", None)],
    # The audit log names every store: refused to anyone who does not see them all.
    "admin.audit": [("GET", "/admin/audit", None), ("GET", "/admin/audit?kind=access", None)],
    # Users are not of a store; a one-store admin of users sees the same list either way.
    "users.index": [("GET", "/admin/users", None)],
    "users.show": [("GET", "/admin/users/ann", None)],
    "users.change": [("POST", "/admin/users/ann", {"timezone": "UTC"})],
    "users.password": [("POST", "/admin/users/ann/password", {"password": "x"})],
    "users.disable": [("POST", "/admin/users/ann/disable", {})],
    "users.enable": [("POST", "/admin/users/ann/enable", {})],
    "users.issue": [("POST", "/admin/users/ann/tokens", {"name": "probe"})],
    "users.revoke": [("POST", "/admin/users/ann/tokens/999/revoke", {})],
}


def test_the_web_list_names_every_route(sqlite_app: Postsales) -> None:
    web = create_app(sqlite_app, secret_key="x")
    assert set(WEB_RUNS) == {rule.endpoint for rule in web.url_map.iter_rules()}


def _web_walk(world: World, user: str) -> list[str]:
    client = world.web.test_client()
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    signed = client.post("/login", data={"username": user, "password": PASSWORD,
                                         "csrf_token": token})  # fmt: skip
    assert signed.status_code == 302, signed.text
    answers = []
    for runs in WEB_RUNS.values():
        for method, path, form in runs:
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={**(form or {}), "csrf_token": token})
            body = response.get_data(as_text=True)
            location = response.headers.get("Location", "")
            answers.append(_masked(f"{method} {path}\n{response.status_code} {location}\n{body}",
                                   world))  # fmt: skip
    return answers


# -- the checks ---------------------------------------------------------------------------------


def _compare(answers: Callable[[World, str], list[str]], worlds: tuple[World, World]) -> None:
    with_st1, without = worlds
    leaks = [
        a for a, b in zip(answers(with_st1, "una"), answers(without, "una"), strict=True) if a != b
    ]
    assert leaks == [], "answers to the ST2 user that differ with an ST1 order:\n" + "\n---\n".join(
        leak[:600] for leak in leaks
    )
    seen_by_all = zip(answers(with_st1, "root"), answers(without, "root"), strict=True)
    assert any(a != b for a, b in seen_by_all), "the check cannot see the ST1 order at all"


def test_the_api_reveals_nothing_of_another_store(worlds: tuple[World, World]) -> None:
    def answers(world: World, user: str) -> list[str]:
        return [f"{m} {p}\n" + _api(world, user, m, p, body) for m, p, body in _api_requests(world)]

    _compare(answers, worlds)


def test_the_web_reveals_nothing_of_another_store(worlds: tuple[World, World]) -> None:
    _compare(_web_walk, worlds)
