"""`Idempotency-Key` in Stripe's manner (SPEC §10, issue 6 item 6): one effect per key,
byte-identical replays, a different request under a used key refused, keys per user and kept
24 hours, and ten concurrent requests against a real threaded server on SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services import idempotency as keys
from tests.adapters.test_api import ORDER, Api, history_count, make_api, problem
from tests.conftest import import_examples

COMMENT = f"/api/v1/orders/{ORDER}/actions/comment"


@pytest.fixture
def api(sqlite_app: Postsales) -> Api:
    import_examples(sqlite_app, "order-create.json", "shipment-shipped.json")
    return make_api(sqlite_app)


def key_rows(services: Postsales) -> int:
    with services.uow(read_only=True) as uow:
        query = select(func.count()).select_from(T.idempotency_keys)
        return int(uow.conn.execute(query).scalar_one())


def test_a_retry_replays_the_first_response_byte_for_byte(api: Api) -> None:
    headers = api.auth(**{"Idempotency-Key": "k-1"})
    first = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    # The same JSON with other spacing and key order is the same request.
    again = api.client.post(COMMENT, data='{ "text" : "hello" }', headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert history_count(api.services, "comment") == 1


def test_the_same_key_with_another_request_is_422(api: Api) -> None:
    headers = api.auth(**{"Idempotency-Key": "k-2"})
    assert api.client.post(COMMENT, json={"text": "hello"}, headers=headers).status_code == 200
    for url, body in ((COMMENT, {"text": "bye"}), (COMMENT, {"text": "hello", "dry_run": True}),
                      (f"/api/v1/orders/{ORDER}/actions/hold", {"text": "hello"})):  # fmt: skip
        response = api.client.post(url, json=body, headers=headers)
        got = problem(response, 422)
        assert got["title"] == "Idempotency-Key reused with a different request"
        assert got["field"] == "Idempotency-Key"
    assert history_count(api.services, "comment") == 1


def test_client_errors_are_kept_and_replayed(api: Api) -> None:
    headers = api.auth("anna", **{"Idempotency-Key": "k-3"})
    url = f"/api/v1/orders/{ORDER}/actions/cancel"
    first = api.client.post(url, json={}, headers=headers)
    problem(first, 409)
    again = api.client.post(url, json={}, headers=headers)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    malformed = api.auth(**{"Idempotency-Key": "k-4"})
    assert api.client.post(COMMENT, data=b"{", headers=malformed).status_code == 400
    replay = api.client.post(COMMENT, data=b"{", headers=malformed)
    assert replay.status_code == 400 and replay.headers["Idempotent-Replayed"] == "true"


def test_server_errors_are_not_kept(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from postsales.adapters.web.api import actions

    real = actions.run_action
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "run_action", flaky)
    headers = api.auth(**{"Idempotency-Key": "k-5"})
    problem(api.client.post(COMMENT, json={"text": "hello"}, headers=headers), 500)
    retry = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert history_count(api.services, "comment") == 1


def test_keys_belong_to_one_user(api: Api) -> None:
    for user in ("anna", "sam"):
        response = api.client.post(
            COMMENT, json={"text": "hello"}, headers=api.auth(user, **{"Idempotency-Key": "k"})
        )
        assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert history_count(api.services, "comment") == 2


def test_keys_are_kept_24_hours_then_forgotten(api: Api) -> None:
    headers = api.auth(**{"Idempotency-Key": "k-6"})
    assert api.client.post(COMMENT, json={"text": "one"}, headers=headers).status_code == 200
    start = api.services.now()
    api.services.clock = lambda: start + timedelta(hours=23, minutes=59)
    problem(api.client.post(COMMENT, json={"text": "two"}, headers=headers), 422)
    assert keys.purge_expired(api.services) == 0
    api.services.clock = lambda: start + timedelta(hours=24, minutes=1)
    response = api.client.post(COMMENT, json={"text": "two"}, headers=headers)
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert history_count(api.services, "comment") == 2
    api.services.clock = lambda: start + timedelta(hours=49)
    assert keys.purge_expired(api.services) == 1 and key_rows(api.services) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_a_malformed_key_is_refused(api: Api, key: str) -> None:
    headers = api.auth()
    headers["Idempotency-Key"] = key
    body = problem(api.client.post(COMMENT, json={"text": "hi"}, headers=headers), 422)
    assert body["field"] == "Idempotency-Key"
    assert history_count(api.services, "comment") == 0


def test_a_key_left_without_an_answer_is_never_stuck(api: Api) -> None:
    """A row without an answer (left by a version that claimed keys before running them) is
    not "in progress" for 24 hours: the request runs."""
    with api.services.uow() as uow:
        uow.conn.execute(T.idempotency_keys.insert().values(
            user_name="sam", key="k-7", request_hash="h", status_code=None, response=None,
            created_at=api.services.now()))  # fmt: skip
        uow.commit()
    headers = api.auth(**{"Idempotency-Key": "k-7"})
    response = api.client.post(COMMENT, json={"text": "hi"}, headers=headers)
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert history_count(api.services, "comment") == 1


def _lose_the_answer_of(monkeypatch: pytest.MonkeyPatch, *, after_commit: bool) -> list[int]:
    """Make the next commit's answer get lost, as when the connection drops: the error comes
    after the COMMIT reached the database, or before it did, and the database stays out of
    reach for the rest of that request."""
    from sqlalchemy.exc import OperationalError

    from postsales.core.persistence.unit_of_work import UnitOfWork

    real_commit, real_row = UnitOfWork.commit, keys._row
    lost: list[int] = []
    down: list[int] = []

    def gone() -> OperationalError:
        return OperationalError("COMMIT", {}, Exception("server closed the connection"))

    def commit(self: UnitOfWork) -> None:
        keyed = any(table is T.idempotency_keys for table, _ in self._rows)
        if lost or not keyed:  # only the commit of the keyed effect (not, say, a token's use)
            return real_commit(self)
        lost.append(1)
        if after_commit:
            real_commit(self)
        down.append(1)
        raise gone()

    def row(*args: Any) -> Any:
        if down:
            down.clear()
            raise gone()
        return real_row(*args)

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    monkeypatch.setattr(keys, "_row", row)
    return lost


@pytest.mark.parametrize("after_commit", [True, False], ids=["committed", "not-committed"])
def test_a_lost_commit_answer_gives_one_effect(
    api: Api, monkeypatch: pytest.MonkeyPatch, after_commit: bool
) -> None:
    """Issue 17 item 3: the key's answer commits with the effect, so the retry of a request
    that answered 500 replays it when it committed, and runs it when it did not."""
    lost = _lose_the_answer_of(monkeypatch, after_commit=after_commit)
    headers = api.auth(**{"Idempotency-Key": "k-lost"})
    first = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
    assert lost and first.status_code == 500
    retry = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
    assert retry.status_code == 200
    assert (retry.headers.get("Idempotent-Replayed") == "true") is after_commit
    assert history_count(api.services, "comment") == 1
    assert key_rows(api.services) == 1


def test_a_duplicate_that_lost_the_race_replays_the_winner(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second request under the key looked it up before the first one committed: its own
    commit then fails on the key, its effect rolls back, and it answers with the first one's
    response."""
    headers = api.auth(**{"Idempotency-Key": "k-race"})
    real_lookup = keys.lookup
    winner: list[Any] = []

    def lookup(*args: Any) -> Any:
        if winner:
            return real_lookup(*args)
        winner.append(None)  # the winner runs between the loser's look-up and its commit
        winner[0] = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
        return None

    monkeypatch.setattr(keys, "lookup", lookup)
    loser = api.client.post(COMMENT, json={"text": "hello"}, headers=headers)
    assert winner[0].status_code == 200 and "Idempotent-Replayed" not in winner[0].headers
    assert loser.status_code == 200 and loser.headers["Idempotent-Replayed"] == "true"
    assert loser.get_data() == winner[0].get_data()
    assert history_count(api.services, "comment") == 1


def test_creating_an_order_is_idempotent(api: Api) -> None:
    from tests.adapters.test_api import add_product

    add_product(api, "MJ01-M-RED", "45.00")
    params = {
        "sales_channel": "ST1",
        "customer": {"first_name": "Mercy", "last_name": "Taylor", "email": "mercy@example.com"},
        "shipping_address": {"first_name": "Mercy", "address1": "1 Main St", "city": "Austin",
                             "zip": "73301", "country_code": "US"},
        "shipping_method": "express",
        "lines": [{"sku": "MJ01-M-RED", "quantity": 1}],
    }  # fmt: skip
    headers = api.auth("anna", **{"Idempotency-Key": "order-1"})
    first = api.client.post("/api/v1/orders", json=params, headers=headers)
    assert first.status_code == 201, first.text
    again = api.client.post("/api/v1/orders", json=params, headers=headers)
    assert again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    with api.services.uow(read_only=True) as uow:
        drafts = uow.conn.execute(select(func.count()).where(T.orders.c.status == "DRAFT"))
        assert drafts.scalar_one() == 1


# -- ten at once, against a real server -------------------------------------------------------


@contextmanager
def serving(api: Api) -> Iterator[int]:
    """The web app (API mounted) on 127.0.0.1 in a thread, one thread per request."""
    server = make_server("127.0.0.1", 0, api.web, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, bool]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {**headers, "Content-Type": "application/json"}
        conn.request("POST", path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, response.getheader("Idempotent-Replayed") == "true"
    finally:
        conn.close()


def _count(services: Postsales, table: Any) -> int:
    with services.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("comment", {"text": "called the customer"}),
        ("return", {"lines": [1], "reason": "Damaged", "comment": "torn seam"}),
    ],
)
def test_ten_concurrent_requests_with_one_key_have_one_effect(
    app: Postsales, action: str, body: dict[str, Any]
) -> None:
    import_examples(app, "order-create.json", "shipment-shipped.json")
    api = make_api(app, {"anna": ["agent"]})
    refunds_before = _count(app, T.refunds)
    path = f"/api/v1/orders/{ORDER}/actions/{action}"
    headers = api.auth("anna", **{"Idempotency-Key": f"ten-{action}"})
    raw = json.dumps(body).encode()
    start = threading.Barrier(10)
    results: list[tuple[int, bytes, bool]] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        outcome = _post(port, path, raw, headers)
        with lock:
            results.append(outcome)

    with serving(api) as port:
        threads = [threading.Thread(target=worker) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    assert len(results) == 10
    assert {status for status, _, _ in results} == {200}, results[0][1][:300]
    assert len({data for _, data, _ in results}) == 1  # identical bodies
    assert sum(replayed for _, _, replayed in results) == 9  # one ran, nine were replayed
    if action == "comment":
        assert history_count(app, "comment") == 1
    else:
        assert _count(app, T.returns) == 1
        assert _count(app, T.refunds) == refunds_before + 1
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(select(T.idempotency_keys)).one()
    assert row.status_code == 200 and row.user_name == "anna"


def test_one_answer_per_user_and_key(app: Postsales) -> None:
    """The primary key keeps one answer per user and key, on both databases."""

    def request(user: str, request_hash: str) -> keys.KeyedRequest:
        return keys.KeyedRequest(user, "k", request_hash, answer=lambda outcome: outcome)

    first = keys.StoredResponse(201, {"body": "{}"})
    assert keys.lookup(app, "anna", "k", "h1") is None
    assert keys.remember(app, request("anna", "h1"), first) == first
    # A second answer for the same key loses to the first one.
    assert keys.remember(app, request("anna", "h1"), keys.StoredResponse(409, {})) == first
    assert keys.lookup(app, "anna", "k", "h1") == first
    with pytest.raises(keys.KeyReused):
        keys.lookup(app, "anna", "k", "h2")
    assert keys.lookup(app, "bob", "k", "h2") is None  # another user's key of the same name
