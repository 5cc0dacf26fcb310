"""Messaging throughput and crash safety against the local RabbitMQ (issue 7 items 5 and 6).

1. The consumer at one message per transaction, SQLite and PostgreSQL (goals 500/s and 250/s):
   N messages published to a queue, then `Consumer.run(once=True)` — broker delivery, validation,
   one transaction per message (idempotency record, history, outbox) and the acknowledgement.
   Measured for order creates (the bulk of inbound traffic, 3-6 lines each) and for stock
   updates (the lightest type), and for `inbox.receive` alone (no broker) for comparison.
2. The relay's publish rate with publisher confirms: N pending outbox messages to a durable
   queue (the broker persists before it confirms), marked sent batch by batch.
3. Kill points: the relay and the consumer killed with SIGKILL (random points and exactly between
   confirm/commit and mark/ack), then every message checked: none lost, none applied twice.

    .venv/bin/python bench/messages.py                      # SQLite, 100 kill points
    .venv/bin/python bench/messages.py --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/messages.py --messages 5000 --kills 0
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import fresh_database
from ingest import messages as order_creates  # bench/ingest.py

from postsales.adapters.messaging import Consumer, Relay
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.persistence import tables as T
from postsales.core.services.messages.inbox import binding_keys, receive
from tests.integration import messaging_harness as H


def fresh_app(base: str | None) -> Postsales:
    url = fresh_database(base, "mq")
    return bootstrap(None, url)


def stock_updates(count: int) -> list[str]:
    return [
        json.dumps(
            {
                "id": f"stock-{uuid.uuid4().hex}",
                "type": "inventory.source_item.update",
                "created_at": "2026-11-02T09:31:12+00:00",
                "payload": {"source_id": "SOU1", "sku": f"SKU-{n % 500}", "quantity": n % 40},
            }
        )
        for n in range(count)
    ]


def consumer_rate(base: str | None, broker: H.Broker, bodies: list[str]) -> float:
    app = fresh_app(base)
    exchange = broker.exchange()
    queue = broker.queue(exchange, keys=binding_keys())
    broker.publish(exchange, [(json.loads(b)["type"], b.encode()) for b in bodies])
    consumer = Consumer(app, broker.url, queue, exchange=exchange, bindings=[], prefetch=200)
    t0 = time.perf_counter()
    report = consumer.run(once=True, idle=0.3)
    seconds = time.perf_counter() - t0 - 0.3  # the idle wait that ends the run
    assert report.applied == len(bodies), report
    app.engine.dispose()
    return len(bodies) / seconds


def receive_rate(base: str | None, bodies: list[str]) -> float:
    app = fresh_app(base)
    t0 = time.perf_counter()
    for b in bodies:
        assert receive(app, b.encode()).outcome == "applied"
    seconds = time.perf_counter() - t0
    app.engine.dispose()
    return len(bodies) / seconds


def relay_rate(base: str | None, broker: H.Broker, count: int) -> tuple[float, float]:
    app = fresh_app(base)
    H.add_outbox(app, count, per_transaction=1000)
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    relay = Relay(app, broker.url, exchange=exchange, batch_size=500)
    t0 = time.perf_counter()
    report = relay.once()
    seconds = time.perf_counter() - t0
    relay.close()
    assert report.published == count and H.pending_count(app) == 0
    assert broker.depth(queue) == count
    # Baseline: pika's BlockingChannel waits for each confirm before the next publish.
    channel = broker.conn.channel()
    channel.confirm_delivery()
    body = b"x" * 300
    n = min(count, 2000)
    t1 = time.perf_counter()
    for _ in range(n):
        channel.basic_publish(exchange, "sales.order_management.updated", body)
    blocking = n / (time.perf_counter() - t1)
    channel.close()
    app.engine.dispose()
    return count / seconds, blocking


def kill_points(base: str | None, broker: H.Broker, kills: int, seed: int) -> str:
    rng = random.Random(seed)
    exact = max(kills // 10, 1)
    relay_random = kills // 2 - exact
    consumer_exact = exact
    consumer_random = kills - exact - relay_random - consumer_exact

    app = fresh_app(base)
    exchange = broker.exchange()
    queue = broker.queue(exchange)
    ids, r1 = H.relay_kill_rounds(app, broker.url, exchange, rounds=relay_random, rng=rng)
    more, r2 = H.relay_kill_after_confirm(app, broker.url, exchange, points=exact)
    H.finish_relay(app, broker.url, exchange)
    got = [m["body"]["id"] for m in broker.drain(queue)]
    lost = len(set(ids + more) - set(got))
    relay_line = (
        f"relay: {r1.kills + r2.kills} kills ({r1.mid_run} with work pending, {r2.kills} between "
        f"confirm and mark), {len(ids) + len(more)} messages, {lost} lost, "
        f"{len(got) - len(set(got))} published twice (deduped by id downstream)"
    )
    app.engine.dispose()

    app = fresh_app(base)
    exchange = broker.exchange()
    queue = broker.queue(exchange, keys=binding_keys())
    n = 40 * (consumer_random + consumer_exact) + 200
    bodies = [H.order_create(i, prefix="kb") for i in range(n)]
    broker.publish(exchange, [(b["type"], json.dumps(b).encode()) for b in bodies])
    c1 = H.consumer_kill_after_commit(
        app, broker.url, exchange, queue, points=consumer_exact, rng=rng
    )
    c2 = H.consumer_kill_rounds(app, broker.url, exchange, queue, rounds=consumer_random, rng=rng)
    H.finish_consumer(app, broker.url, exchange, queue)
    orders, inbound = H.count(app, T.orders), H.count(app, T.inbound_messages)
    letters = H.count(app, T.dead_letters)
    consumer_line = (
        f"consumer: {c1.kills + c2.kills} kills ({c1.kills} between commit and ack), "
        f"{n} messages, {n - inbound} lost, {orders - n} applied twice, {letters} dead letters"
    )
    app.engine.dispose()
    assert lost == 0 and orders == inbound == n and letters == 0, (relay_line, consumer_line)
    return relay_line + "\n" + consumer_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="PostgreSQL base URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=3000, help="per consumer measurement")
    parser.add_argument("--relay-messages", type=int, default=20000)
    parser.add_argument("--kills", type=int, default=100, help="kill points (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    broker = H.Broker()
    where = "PostgreSQL" if args.db else "SQLite"
    try:
        n = args.messages
        orders = order_creates(0, n)
        print(f"database: {where}; RabbitMQ {broker.url.split('@')[-1]}")
        rate = consumer_rate(args.db, broker, orders)
        print(f"consumer, order creates, 1 per transaction: {rate:,.0f} messages/s ({n})")
        rate = consumer_rate(args.db, broker, stock_updates(n))
        print(f"consumer, stock updates, 1 per transaction: {rate:,.0f} messages/s ({n})")
        rate = receive_rate(args.db, order_creates(n, n))
        print(f"inbox.receive alone (no broker), order creates: {rate:,.0f} messages/s")
        confirmed, blocking = relay_rate(args.db, broker, args.relay_messages)
        print(
            f"relay with publisher confirms, batches of 500: {confirmed:,.0f} messages/s "
            f"({args.relay_messages}, marked sent); one-at-a-time confirms: {blocking:,.0f}/s"
        )
        if args.kills:
            t0 = time.perf_counter()
            print(kill_points(args.db, broker, args.kills, args.seed))
            print(f"kill points took {time.perf_counter() - t0:.0f} s")
    finally:
        broker.close()


if __name__ == "__main__":
    main()
