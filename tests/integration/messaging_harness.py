"""The RabbitMQ harness: a real broker, unique exchanges and queues, relays and consumers run as
subprocesses and killed with `os.kill(SIGKILL)` at random points (issue 7 item 5).

Shared by tests/integration/test_messaging_*.py and bench/messages.py (100 kill points).
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import pika
import pika.exceptions
from sqlalchemy import func, select

from postsales.core.bootstrap import Postsales
from postsales.core.persistence import tables as T

BROKER_URL = os.environ.get("POSTSALES_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "messages"
CLI = "from postsales.adapters.cli import main; main()"


def broker_problem(url: str = BROKER_URL) -> str | None:
    """None when RabbitMQ answers, else the reason (shown in the skip or CI failure)."""
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
        return None
    except Exception as exc:  # the reason is the message
        return f"RabbitMQ not reachable at {url.split('@')[-1]}: {exc.__class__.__name__}"


def require_broker(pytest: Any) -> str:
    """The broker URL, or skip (fail in CI, where RabbitMQ is required) with the reason."""
    reason = broker_problem()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    return BROKER_URL


def unique(prefix: str) -> str:
    return f"pst-{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Broker:
    """A blocking connection for the test side: declare, publish, drain, clean up."""

    def __init__(self, url: str = BROKER_URL) -> None:
        self.url = url
        params = pika.URLParameters(url)
        params.heartbeat = 0  # idle for minutes while subprocesses work: no heartbeat timeout
        self.conn = pika.BlockingConnection(params)
        self.channel = self.conn.channel()
        self.exchanges: list[str] = []
        self.queues: list[str] = []

    def exchange(self, name: str | None = None) -> str:
        name = name or unique("ex")
        self.channel.exchange_declare(name, "topic", durable=True)
        self.exchanges.append(name)
        return name

    def queue(self, exchange: str, keys: Iterable[str] = ("#",), name: str | None = None) -> str:
        name = name or unique("q")
        self.channel.queue_declare(name, durable=True)
        for key in keys:
            self.channel.queue_bind(name, exchange, key)
        self.queues.append(name)
        return name

    def track_queue(self, name: str) -> None:
        self.queues.append(name)

    def publish(self, exchange: str, bodies: Iterable[tuple[str, bytes]]) -> int:
        count = 0
        props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        for key, body in bodies:
            self.channel.basic_publish(exchange, key, body, props)
            count += 1
        self.conn.process_data_events(0)
        return count

    def depth(self, queue: str) -> int:
        return self.channel.queue_declare(queue, durable=True, passive=True).method.message_count

    def consumers(self, queue: str) -> int:
        try:
            ch = self.conn.channel()
            count = ch.queue_declare(queue, durable=True, passive=True).method.consumer_count
            ch.close()
            return count
        except pika.exceptions.ChannelClosedByBroker:  # not declared yet
            return 0

    def drain(self, queue: str) -> list[dict[str, Any]]:
        """Every message in the queue (acknowledged), decoded, with its routing key and props."""
        out = []
        while True:
            method, props, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append(
                {
                    "routing_key": method.routing_key,
                    "delivery_mode": props.delivery_mode,
                    "message_id": props.message_id,
                    "body": json.loads(body),
                }
            )

    def close(self) -> None:
        try:
            for q in self.queues:
                self.channel.queue_delete(q)
            for e in self.exchanges:
                self.channel.exchange_delete(e)
            self.conn.close()
        except pika.exceptions.AMQPError:
            pass


# -- data -------------------------------------------------------------------------------------
def order_create(n: int, prefix: str = "mq") -> dict[str, Any]:
    """The example order-create message as order `<prefix>-<n>` with its own message id."""
    data = json.loads((EXAMPLE / "order-create.json").read_text())
    data = copy.deepcopy(data)
    data["id"] = f"msg-{prefix}-{n}"
    data["payload"]["order"]["id"] = f"{prefix}-{n:07d}"
    return data


def add_outbox(app: Postsales, count: int, per_transaction: int = 50) -> list[str]:
    """`count` outbound messages of a few types, as committed changes would leave them."""
    ids = []
    now = app.now()
    types = ("sales.order_management.updated", "payment.refund.requested", "notification.email")
    for start in range(0, count, per_transaction):
        with app.uow() as uow:
            for n in range(start, min(start + per_transaction, count)):
                ids.append(
                    uow.emit(types[n % 3], {"n": n, "pad": "x" * 200}, order_id=f"o{n}", at=now)
                )
            uow.commit()
    return ids


def pending_count(app: Postsales) -> int:
    with app.engine.connect() as conn:
        o = T.outbox.c
        return conn.execute(select(func.count()).where(o.sent_at.is_(None))).scalar_one()


def count(app: Postsales, table: Any) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def db_url(app: Postsales) -> str:
    return app.engine.url.render_as_string(hide_password=False)


# -- subprocesses -----------------------------------------------------------------------------
def cli(db: str, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTSALES_DATABASE_URL": db}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


RELAY_DYING_AFTER_CONFIRM = """
import os, signal, sys
from postsales.core.bootstrap import bootstrap
from postsales.adapters.messaging import Relay
db, broker, exchange, batch, kill_at = sys.argv[1:6]
seen = [0]
def confirmed(messages):
    seen[0] += 1
    if seen[0] == int(kill_at):  # confirmed by the broker, not yet marked sent
        os.kill(os.getpid(), signal.SIGKILL)
Relay(bootstrap(None, db), broker, exchange=exchange, batch_size=int(batch),
      confirmed=confirmed).once()
"""

CONSUMER_DYING_AFTER_COMMIT = """
import os, signal, sys
from postsales.core.bootstrap import bootstrap
from postsales.adapters.messaging import Consumer
db, broker, exchange, queue, kill_at = sys.argv[1:6]
seen = [0]
def committed(outcome, body):
    seen[0] += 1
    if seen[0] == int(kill_at):  # committed, not yet acknowledged
        os.kill(os.getpid(), signal.SIGKILL)
Consumer(bootstrap(None, db), broker, queue, exchange=exchange, bindings=[],
         committed=committed).run(once=True, idle=2.0)
"""


def script(code: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, timeout=120, check=False
    )


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@attrs.define
class KillStats:
    kills: int = 0
    mid_run: int = 0  # killed with work still pending (not before start, not after the end)
    after_confirm: int = 0  # deterministic: between confirm/commit and mark/ack


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def relay_kill_rounds(
    app: Postsales,
    broker: str,
    exchange: str,
    *,
    rounds: int,
    per_round: int = 300,
    batch: int = 20,
    rng: random.Random,
) -> tuple[list[str], KillStats]:
    """Each round adds messages, starts `postsales relay` (polling), waits until it marked a
    first batch, then kills it with SIGKILL after a random pause. Returns every id emitted."""
    ids: list[str] = []
    stats = KillStats()
    db = db_url(app)
    for _ in range(rounds):
        ids += add_outbox(app, per_round)
        before = pending_count(app)
        proc = cli(
            db,
            "relay",
            "--broker",
            broker,
            "--exchange",
            exchange,
            "--batch-size",
            str(batch),
            "--interval",
            "0.05",
        )
        _wait(lambda b=before, p=proc: pending_count(app) < b or p.poll() is not None, 60)
        time.sleep(rng.uniform(0, 0.06))
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "relay died")
        kill(proc)
        stats.kills += 1
        stats.mid_run += pending_count(app) > 0
    return ids, stats


def relay_kill_after_confirm(
    app: Postsales, broker: str, exchange: str, *, points: int, batch: int = 20
) -> tuple[list[str], KillStats]:
    """Kill the relay exactly between the broker's confirm and the mark, `points` times."""
    ids: list[str] = []
    stats = KillStats()
    for n in range(points):
        ids += add_outbox(app, batch * 3)
        done = script(RELAY_DYING_AFTER_CONFIRM, db_url(app), broker, exchange, str(batch), "2")
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
        stats.kills += 1
        stats.after_confirm += 1
        del n
    return ids, stats


def finish_relay(app: Postsales, broker: str, exchange: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CLI, "relay", "--once", "--broker", broker, "--exchange", exchange],
        env={**os.environ, "POSTSALES_DATABASE_URL": db_url(app)},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done.stdout.decode()


def consumer_kill_rounds(
    app: Postsales,
    broker: str,
    exchange: str,
    queue: str,
    *,
    rounds: int,
    rng: random.Random,
) -> KillStats:
    """Start `postsales consume` on a loaded queue, wait until it applied something, kill it
    after a random pause; `rounds` times."""
    stats = KillStats()
    db = db_url(app)
    side = Broker(broker)
    for _ in range(rounds):
        before = count(app, T.inbound_messages)
        proc = cli(
            db, "consume", "--broker", broker, "--exchange", exchange, "--queue", queue, "--no-bind"
        )
        _wait(
            lambda b=before, p=proc: count(app, T.inbound_messages) > b or p.poll() is not None, 60
        )
        time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "consumer died")
        kill(proc)
        stats.kills += 1
        stats.mid_run += side.depth(queue) > 0
    side.conn.close()
    return stats


def consumer_kill_after_commit(
    app: Postsales, broker: str, exchange: str, queue: str, *, points: int, rng: random.Random
) -> KillStats:
    stats = KillStats()
    for _ in range(points):
        done = script(
            CONSUMER_DYING_AFTER_COMMIT,
            db_url(app),
            broker,
            exchange,
            queue,
            str(rng.randint(1, 5)),
        )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
        stats.kills += 1
        stats.after_confirm += 1
    return stats


def finish_consumer(app: Postsales, broker: str, exchange: str, queue: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", CLI, "consume", "--once", "--json", "--no-bind", "--broker",
         broker, "--exchange", exchange, "--queue", queue],
        env={**os.environ, "POSTSALES_DATABASE_URL": db_url(app)},
        capture_output=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout)
