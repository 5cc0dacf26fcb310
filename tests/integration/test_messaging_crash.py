"""Kill the relay and the consumer at random points with SIGKILL; nothing is lost, nothing is
applied twice (issue 7 item 5). bench/messages.py runs the same harness for 100 kill points.

Here (ROUNDS = 8, 12 in CI): the relay killed at ROUNDS random points mid-run plus 3 exactly
between the broker's confirm and the mark; the consumer killed at ROUNDS - 4 random points plus
2 exactly between commit and ack, on SQLite and on PostgreSQL — 23 kill points (35 in CI).
POSTSALES_KILL_ROUNDS sets ROUNDS, POSTSALES_KILL_SEED the random points.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.messages.inbox import binding_keys
from tests.integration import messaging_harness as H

ROUNDS = int(
    os.environ.get("POSTSALES_KILL_ROUNDS", "12" if os.environ.get("CI") == "true" else "8")
)
SEED = int(os.environ.get("POSTSALES_KILL_SEED", "7"))


@pytest.fixture
def broker() -> Iterator[H.Broker]:
    b = H.Broker(H.require_broker(pytest))
    yield b
    b.close()


def test_relay_killed_mid_batch_loses_no_message(sqlite_app: Postsales, broker: H.Broker) -> None:
    app = sqlite_app
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    rng = random.Random(SEED)
    ids, random_kills = H.relay_kill_rounds(app, broker.url, exchange, rounds=ROUNDS, rng=rng)
    more, exact_kills = H.relay_kill_after_confirm(app, broker.url, exchange, points=3)
    H.finish_relay(app, broker.url, exchange)
    assert H.pending_count(app) == 0
    received = broker.drain(queue)
    got = [m["body"]["id"] for m in received]
    assert set(got) == set(ids + more), "a message was lost"
    # Killed after the confirm and before the mark: those batches went out twice.
    assert len(got) - len(set(got)) >= 3 * 20
    assert random_kills.kills == ROUNDS and exact_kills.kills == 3
    assert random_kills.mid_run >= ROUNDS // 2, random_kills


def test_consumer_killed_between_commit_and_ack_loses_and_doubles_nothing(
    app: Postsales, broker: H.Broker
) -> None:
    n = 150
    exchange = broker.exchange()
    queue = broker.queue(exchange, keys=binding_keys())
    messages = [H.order_create(i) for i in range(n)]
    broker.publish(exchange, [(m["type"], H.json.dumps(m).encode()) for m in messages])
    rng = random.Random(SEED)
    exact = H.consumer_kill_after_commit(app, broker.url, exchange, queue, points=2, rng=rng)
    killed = H.consumer_kill_rounds(
        app, broker.url, exchange, queue, rounds=max(ROUNDS - 4, 2), rng=rng
    )
    H.finish_consumer(app, broker.url, exchange, queue)
    assert exact.kills == 2 and killed.kills == max(ROUNDS - 4, 2)
    assert broker.depth(queue) == 0
    assert H.count(app, T.orders) == n, "a message was lost or applied twice"
    assert H.count(app, T.inbound_messages) == n
    with app.engine.connect() as conn:
        assert list(conn.execute(select(T.dead_letters))) == []
        kinds = list(conn.execute(select(T.history.c.kind)).scalars())
        types = list(conn.execute(select(T.outbox.c.type)).scalars())
    assert kinds.count("order.created") == n
    assert types.count("sales.order_management.updated") == n
