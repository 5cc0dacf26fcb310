"""Several relays and several consumers at once on one PostgreSQL database and one RabbitMQ
(issue 15 item 2, SPEC §9): the second relay is a hot standby, not a second source; killing
either at any moment loses nothing; two consumers on one queue apply each message once.

Real PostgreSQL and RabbitMQ: skipped with the reason when absent, failed in CI.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from postsales.adapters.messaging import Relay
from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T
from postsales.core.services.messages.inbox import binding_keys
from postsales.core.services.messages.outbox import RELAY_LOCK
from tests.integration import messaging_harness as H

pytestmark = pytest.mark.postgres


@pytest.fixture
def broker() -> Iterator[H.Broker]:
    b = H.Broker(H.require_broker(pytest))
    yield b
    b.close()


def _relay(db: str, broker: H.Broker, exchange: str, batch: int = 20) -> subprocess.Popen[bytes]:
    return H.cli(
        db, "relay", "--broker", broker.url, "--exchange", exchange,
        "--batch-size", str(batch), "--interval", "0.05",
    )  # fmt: skip


# Adds messages and runs a pass until it holds the claim with a batch, then dies between the
# broker's confirm and the mark (the other relay may take some batches first).
RELAY_DYING_HOLDING_THE_CLAIM = """
import os, signal, sys
from postsales.core.bootstrap import bootstrap
from postsales.adapters.messaging import Relay
db, broker, exchange, batch = sys.argv[1:5]
app = bootstrap(None, db)
def confirmed(messages):
    os.kill(os.getpid(), signal.SIGKILL)
relay = Relay(app, broker, exchange=exchange, batch_size=int(batch), confirmed=confirmed)
for _ in range(500):
    with app.uow() as uow:
        for n in range(int(batch) * 2):
            uow.emit("payment.refund.requested", {"n": n}, order_id=None, at=app.now())
        uow.commit()
    relay.once()
sys.exit(3)
"""


def _all_ids(app: Postsales) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(T.outbox.c.message_id).order_by(T.outbox.c.seq)).scalars())


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


def test_a_relay_finding_the_claim_taken_sends_nothing_then_takes_over(
    pg_app: Postsales, broker: H.Broker
) -> None:
    """The claim is PostgreSQL's advisory lock: while another relay (here: a connection
    holding that lock) sends, this one is a standby; once the lock is gone it sends all."""
    ids = H.add_outbox(pg_app, 30)
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    relay = Relay(pg_app, broker.url, exchange=exchange, batch_size=7)
    try:
        with pg_app.engine.connect() as other:
            other.execute(select(func.pg_advisory_lock(RELAY_LOCK)))
            report = relay.once()
            assert report.standby and report.published == 0
            assert H.pending_count(pg_app) == 30 and broker.depth(queue) == 0
            other.execute(select(func.pg_advisory_unlock(RELAY_LOCK)))
        report = relay.once()
    finally:
        relay.close()
    assert not report.standby and report.published == 30
    assert [m["body"]["id"] for m in broker.drain(queue)] == ids  # once each, in order


def test_two_relay_processes_publish_each_message_once(pg_app: Postsales, broker: H.Broker) -> None:
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    db = H.db_url(pg_app)
    relays = [_relay(db, broker, exchange), _relay(db, broker, exchange)]
    ids: list[str] = []
    try:
        for _ in range(6):  # messages arrive while both relays poll
            ids += H.add_outbox(pg_app, 100, per_transaction=10)
            time.sleep(0.1)
        assert H._wait(lambda: H.pending_count(pg_app) == 0, 120)
    finally:
        outputs = [_stop(p) for p in relays]
    got = [m["body"]["id"] for m in broker.drain(queue)]
    assert Counter(got) == Counter(ids), "every message exactly once"
    assert got == ids  # one relay at a time: still in outbox order
    published = [int(out.split()[0]) for out in outputs]
    assert sum(published) == 600, outputs


def test_killing_one_of_two_relays_at_random_moments_loses_nothing(
    pg_app: Postsales, broker: H.Broker
) -> None:
    """Relay A is killed with SIGKILL at random moments and restarted while relay B keeps
    polling; plus kills exactly between the broker's confirm and the mark (mid-batch, claim
    held). Every message reaches the broker; the only copies are of batches a killed relay had
    confirmed and not marked, and a consumer keeps one of each (at least once, deduped by id)."""
    rng = random.Random(15)
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    db = H.db_url(pg_app)
    batch = 20
    standby = _relay(db, broker, exchange, batch)
    kills = 0
    try:
        for _ in range(6):
            H.add_outbox(pg_app, 300, per_transaction=20)
            victim = _relay(db, broker, exchange, batch)
            time.sleep(rng.uniform(0.5, 2.5))  # start-up takes about a second
            H.kill(victim)
            kills += 1
        for _ in range(3):  # killed holding the claim: confirmed, not yet marked
            done = H.script(RELAY_DYING_HOLDING_THE_CLAIM, db, broker.url, exchange, str(batch))
            assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
            kills += 1
        assert H._wait(lambda: H.pending_count(pg_app) == 0, 120), "the standby took over"
    finally:
        _stop(standby)
    ids = _all_ids(pg_app)
    got = [m["body"]["id"] for m in broker.drain(queue)]
    assert set(got) == set(ids), "a message was lost"
    copies = len(got) - len(set(got))
    assert copies <= kills * batch, (copies, kills)  # at most the batch each killed relay held
    assert copies >= 3, "the relays killed after the confirm left copies (at least once)"


def _consume_process(db: str, broker: H.Broker, exchange: str, queue: str) -> dict[str, int]:
    done = subprocess.run(
        [H.sys.executable, "-c", H.CLI, "consume", "--once", "--json", "--no-bind",
         "--broker", broker.url, "--exchange", exchange, "--queue", queue, "--prefetch", "5"],
        env={**H.os.environ, "POSTSALES_DATABASE_URL": db},
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout)


def test_two_consumer_processes_on_one_queue_apply_each_message_once(
    pg_app: Postsales, broker: H.Broker
) -> None:
    """Every order-create message is on the queue three times; two `postsales consume`
    processes take from it at once. Each message is applied once (deduped by message id).
    Enough messages, taken a few at a time, that the second process starts while the first is
    still at work (40 were drained by the first before the second had started, once, in CI)."""
    n = 150
    exchange = broker.exchange()
    queue = broker.queue(exchange, keys=binding_keys())
    creates = [H.order_create(i, prefix="two") for i in range(n)]
    bodies = [(m["type"], json.dumps(m).encode()) for m in creates] * 3
    random.Random(2).shuffle(bodies)
    broker.publish(exchange, bodies)
    db = H.db_url(pg_app)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: _consume_process(db, broker, exchange, queue), (1, 2)))
    assert sum(r["applied"] for r in reports) == n
    assert sum(r["duplicates"] for r in reports) == 2 * n
    assert all(r["applied"] + r["duplicates"] > 0 for r in reports), "both consumers took work"
    assert broker.depth(queue) == 0
    assert H.count(pg_app, T.orders) == n and H.count(pg_app, T.inbound_messages) == n
    with pg_app.engine.connect() as conn:
        created = conn.execute(
            select(func.count()).where(T.history.c.kind == "order.created")
        ).scalar_one()
    assert created == n
