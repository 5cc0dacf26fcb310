"""Health, readiness, Prometheus metrics and request ids of the web app (issue 15 item 4).

`/healthz` answers while the process lives; `/readyz` says 503 with the reason when the
database is unreachable or not migrated, or a configured broker is unreachable; `/metrics` is
off without a token and refuses a wrong one; a request's id is answered in `X-Request-Id`,
written into the history and outbox rows of the action it ran, and logged as a JSON line.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from postsales.adapters.observability import JsonFormatter
from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.services.users import add_user
from tests.adapters.test_web import PASSWORD, sign_in
from tests.conftest import import_examples
from tests.integration import messaging_harness as H

ORDER = "000000101"
TOKEN = "metrics-token-0123456789"


def make(services: Postsales, **config: Any) -> Flask:
    app = create_app(services, secret_key="test-secret-key")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def web(app: Postsales, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("POSTSALES_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("POSTSALES_BROKER_URL", raising=False)
    import_examples(app, "order-create.json")
    add_user(app, "anna", ["agent"], PASSWORD)
    return make(app)


def post(client: FlaskClient, url: str, data: dict[str, Any], **kw: Any) -> Any:
    with client.session_transaction() as sess:
        token = sess["csrf"]
    # buffered: the app's iterable is closed as a WSGI server closes it (the request is then
    # timed and logged)
    return client.post(url, data={**data, "csrf_token": token}, buffered=True, **kw)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if line.startswith(name + " ") and labels:
            continue
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.content_type.startswith("text/plain")
    return response.text


def test_healthz_and_readyz_answer_without_a_session(web: Flask) -> None:
    client = web.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["status"] == "ready" and ready.json["checks"]["database"]["ok"]
    assert "broker" not in ready.json["checks"]  # none configured


def test_readyz_is_503_with_the_reason_when_the_database_is_not_ready(
    web: Flask, app: Postsales, tmp_path: Any
) -> None:
    client = web.test_client()
    good = app.engine
    try:
        app.engine = make_engine(f"sqlite:///{tmp_path / 'never-initialised.db'}")
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["database"]["ok"] is False
        assert "postsales init" in response.json["checks"]["database"]["message"]
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        app.engine.dispose()
        app.engine = good
    assert client.get("/readyz").status_code == 200


def test_readyz_checks_a_configured_broker(
    sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTSALES_BROKER_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
    down = make(sqlite_app).test_client().get("/readyz")
    assert down.status_code == 503 and down.json["checks"]["broker"]["ok"] is False
    assert "127.0.0.1:1 unreachable" in down.json["checks"]["broker"]["message"]
    monkeypatch.setenv("POSTSALES_BROKER_URL", H.require_broker(pytest))
    up = make(sqlite_app).test_client().get("/readyz")
    assert up.status_code == 200 and up.json["checks"]["broker"]["ok"] is True


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(
    sqlite_app: Postsales, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTSALES_METRICS_TOKEN", raising=False)
    assert make(sqlite_app).test_client().get("/metrics").status_code == 404
    monkeypatch.setenv("POSTSALES_METRICS_TOKEN", TOKEN)
    client = make(sqlite_app).test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "postsales_" not in wrong.text


def test_metrics_count_requests_actions_refunds_and_the_outbox(web: Flask) -> None:
    client = web.test_client()
    before = scrape(client)
    sign_in(client)
    assert client.get(f"/orders/{ORDER}", buffered=True).status_code == 200
    done = post(client, f"/orders/{ORDER}/actions/cancel", {"reason": "Customer asked"})
    assert done.status_code in (302, 303), done.text
    refused = post(client, f"/orders/{ORDER}/actions/cancel", {"reason": "Customer asked"})
    assert refused.status_code < 500
    text = scrape(client)
    route = "/orders/<order_id>"
    count = "postsales_http_request_duration_seconds_count"
    assert sample(text, count, method="GET", route=route, status="200") == 1 + sample(
        before, count, method="GET", route=route, status="200"
    )
    actions = "postsales_actions_total"
    for outcome in ("ok", "refused"):
        assert sample(text, actions, action="cancel", outcome=outcome) == 1 + sample(
            before, actions, action="cancel", outcome=outcome
        ), outcome
    refunds = {
        status: sample(text, "postsales_refunds", status=status)
        for status in re.findall(r'^postsales_refunds\{status="([^"]+)"\}', text, re.M)
    }
    assert sum(refunds.values()) == 1, refunds  # the cancel's refund, under its status
    assert sample(text, "postsales_outbox_pending") == 4  # nothing relayed them
    assert sample(text, "postsales_relay_lag_seconds") > 0
    assert sample(text, "postsales_db_pool_connections", state="size") >= 1


def test_the_request_id_lands_in_the_history_and_outbox_rows_and_the_json_log(
    web: Flask, app: Postsales, caplog: pytest.LogCaptureFixture
) -> None:
    client = web.test_client()
    sign_in(client)
    rid = "req-0123456789abcdef"
    with caplog.at_level(logging.INFO, logger="postsales.request"):
        done = post(
            client,
            f"/orders/{ORDER}/actions/cancel",
            {"reason": "Customer asked"},
            headers={"X-Request-Id": rid},
        )
    assert done.status_code in (302, 303) and done.headers["X-Request-Id"] == rid
    with app.engine.connect() as conn:
        history = conn.execute(select(T.history.c.kind, T.history.c.request_id)).all()
        outbox = conn.execute(select(T.outbox.c.type, T.outbox.c.request_id)).all()
    # The import wrote the first rows (no request); the cancel wrote the rest, all with its id.
    assert history[0] == ("order.created", None) and outbox[0][1] is None
    assert {k for k, r in history[1:] if r == rid} >= {"order.cancelled", "refund.requested"}
    assert all(r == rid for _, r in history[1:]), history
    assert {t for t, r in outbox[1:] if r == rid} >= {"payment.refund.requested"}
    assert all(r == rid for _, r in outbox[1:]), outbox
    line = next(r for r in caplog.records if getattr(r, "request_id", None) == rid)
    logged = json.loads(JsonFormatter().format(line))
    assert logged["request_id"] == rid and logged["status"] == done.status_code
    assert logged["route"] == "/orders/<order_id>/actions/<name>"
    assert logged["method"] == "POST" and "duration_ms" in logged
    # A caller's id that is not a sane token is replaced by one of ours.
    other = client.get("/orders", headers={"X-Request-Id": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", other.headers["X-Request-Id"])
