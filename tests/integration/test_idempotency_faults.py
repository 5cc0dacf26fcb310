"""One effect per Idempotency-Key while PostgreSQL connections are killed (issue 17 item 3).

Clients send appeasements, each under its own key, to a real threaded server and retry every
5xx with the same key, as a client that lost its answer would; meanwhile a killer terminates
the app's PostgreSQL backends at random moments (idle in the pool, mid-transaction, mid-commit).
Afterwards every key has exactly one refund, and no key is left without an answer.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from tests.adapters.test_api import ORDER, make_api
from tests.adapters.test_api_idempotency import _post, serving
from tests.conftest import _db_for, _make_app, import_examples

KEYS = 300
CLIENTS = 4
MIN_KILLS = 50
MAX_KILLS = 200  # then the killer stops, so a slow machine still finishes every key


@pytest.mark.postgres
@pytest.mark.slow
def test_connections_killed_under_keyed_requests_give_one_effect_per_key(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    name = f"pst-faults-{uuid.uuid4().hex[:8]}"
    url = _db_for(request, tmp_path, "postgres") + f"&application_name={name}"
    app = _make_app(url)
    killer_engine = make_engine(url.split("&application_name=")[0])
    try:
        import_examples(app, "order-create.json", "shipment-shipped.json")
        api = make_api(app, {"sam": ["supervisor"]})
        todo: queue.Queue[str] = queue.Queue()
        for i in range(KEYS):
            todo.put(f"key-{i:03d}")
        attempts, statuses, failures = [0], {}, []
        done = threading.Event()
        lock = threading.Lock()

        def client(port: int) -> None:
            while True:
                try:
                    key = todo.get_nowait()
                except queue.Empty:
                    return
                body = json.dumps(
                    {"line": 1, "amount": "0.01", "reason": "Late delivery", "comment": key}
                ).encode()
                headers = api.auth("sam", **{"Idempotency-Key": key})
                path = f"/api/v1/orders/{ORDER}/actions/appeasement"
                for _ in range(2000):
                    with lock:
                        attempts[0] += 1
                    try:
                        status, data, _replayed = _post(port, path, body, headers)
                    except OSError:  # the server dropped the connection: the answer is lost
                        continue
                    if status < 500:
                        statuses[key] = status
                        if status != 200:
                            failures.append((key, status, data[:300]))
                        break
                    time.sleep(0.005)
                else:
                    failures.append((key, "no answer after 2000 tries", b""))

        kills = [0]

        def killer() -> None:
            rng = random.Random(17)
            with killer_engine.connect() as conn:
                while not done.is_set() and kills[0] < MAX_KILLS:
                    time.sleep(rng.uniform(0.002, 0.04))
                    killed = conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name ORDER BY random() LIMIT 1"
                        ),
                        {"name": name},
                    ).scalar()
                    conn.commit()
                    if killed:
                        kills[0] += 1

        with serving(api) as port:
            killing = threading.Thread(target=killer, daemon=True)
            killing.start()
            clients = [threading.Thread(target=client, args=(port,)) for _ in range(CLIENTS)]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join(timeout=600)
            done.set()
            killing.join(timeout=10)

        assert failures == []
        assert len(statuses) == KEYS and attempts[0] >= KEYS
        assert kills[0] >= MIN_KILLS, f"only {kills[0]} connections were killed"
        with killer_engine.connect() as conn:
            conn.execute(text(f"SET search_path TO {url.split('search_path%3D')[1].split('&')[0]}"))
            per_key = dict(
                conn.execute(
                    select(T.refunds.c.description, func.count())
                    .where(T.refunds.c.kind == "APPEASEMENT")
                    .group_by(T.refunds.c.description)
                ).all()
            )
            unanswered = conn.execute(
                select(func.count())
                .select_from(T.idempotency_keys)
                .where(T.idempotency_keys.c.status_code.is_(None))
            ).scalar_one()
        assert per_key == {f"key-{i:03d}": 1 for i in range(KEYS)}
        assert unanswered == 0
        print(f"\n{attempts[0]} requests, {kills[0]} connections killed, {KEYS} keys: one each")
    finally:
        app.engine.dispose()
        killer_engine.dispose()
