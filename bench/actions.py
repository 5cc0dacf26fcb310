"""Post-sales flows per second (issue 3 item 9): for each shipped order, a return that the
default rules approve at once and whose refund goes straight to the payment gateway (one
transaction: BEGIN IMMEDIATE on SQLite, the order row locked on PostgreSQL, history and outbox
written with it), then the gateway's confirmation message releasing the refund (a second
transaction). `--agent-lock` wraps each flow in the agent's lock and unlock actions (A-10), two
more transactions. Beside it, the ceiling: the same statements, sent the same way (one pipeline
for the reads and one for the writes on PostgreSQL), hand-written on the driver's cursor with
none of the engine's Python; and a profile of where the time goes. Each rate comes with the
process CPU time per flow, steadier than the rate on a shared machine (PostgreSQL's own time is
not in it).

    .venv/bin/python bench/actions.py [--flows 300] [--db URL] [--agent-lock] [--profile]
        [--count]

`--count` reports the statements each flow runs (BEGIN and COMMIT included; on SQLite an
executemany counts once per row, on PostgreSQL once) and, on PostgreSQL, the round trips: what
bounds the rate there (a psycopg pipeline is one round trip, whatever it holds).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.pool import Pool

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import bench_billing_key
from ingest import messages

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.migrate import upgrade
from postsales.core.services.actions import run_action
from postsales.core.services.messages.inbound import Importer, ingest
from postsales.core.services.users import get_user


class Counter:
    """Counts the statements every pooled DBAPI connection sends, from when it is installed."""

    def __init__(self) -> None:
        self.count = 0
        self.trips = 0
        self.pipelined = False
        event.listen(Pool, "connect", self._on_connect)

    def _on_connect(self, dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        counter = self
        if hasattr(dbapi_conn, "set_trace_callback"):  # sqlite3: every statement it runs
            self.round_trips = False
            dbapi_conn.set_trace_callback(lambda _sql: counter.bump())
            return
        base = dbapi_conn.cursor_factory

        class Cursor(base):  # type: ignore[misc, valid-type]
            def execute(self, *args, **kw):  # type: ignore[no-untyped-def]
                counter.bump()
                return super().execute(*args, **kw)

            def executemany(self, *args, **kw):  # type: ignore[no-untyped-def]
                counter.bump()
                return super().executemany(*args, **kw)

        dbapi_conn.cursor_factory = Cursor
        for name in ("commit", "rollback"):  # psycopg's implicit BEGIN is counted with COMMIT
            method = getattr(dbapi_conn, name)

            def wrapped(method=method):  # type: ignore[no-untyped-def]
                if dbapi_conn.info.transaction_status != 0:  # not idle: BEGIN was sent
                    counter.count += 2
                    counter.trips += (not counter.pipelined) + (not counter.begun_in_pipeline)
                counter.begun_in_pipeline = False
                return method()

            setattr(dbapi_conn, name, wrapped)
        pipeline = dbapi_conn.pipeline

        @contextlib.contextmanager
        def counted_pipeline():  # type: ignore[no-untyped-def]
            if dbapi_conn.info.transaction_status == 0:
                counter.begun_in_pipeline = True  # BEGIN goes out with the pipeline
            counter.pipelined = True
            try:
                with pipeline() as p:
                    yield p
            finally:
                counter.pipelined = False
                counter.trips += 1

        dbapi_conn.pipeline = counted_pipeline

    begun_in_pipeline = False
    round_trips = True

    def bump(self, n: int = 1) -> None:
        self.count += n
        if not self.pipelined:
            self.trips += n

    def report(self, what: str, start: tuple[int, int], flows: int) -> None:
        trips = ""
        if self.round_trips:
            trips = f", {(self.trips - start[1]) / flows:.1f} round trips"
        print(f"{what}: {(self.count - start[0]) / flows:.1f} statements{trips} per flow")

    def mark(self) -> tuple[int, int]:
        return self.count, self.trips


def prepare(url: str, count: int, offset: int) -> list[str]:
    app = bootstrap(None, url)
    batch = messages(offset, count)
    ids = [json.loads(m)["payload"]["order"]["id"] for m in batch]
    shipped = [
        json.dumps(
            {
                "id": f"ship-{oid}",
                "type": "logistics.shipment_request_management.shipped",
                "created_at": "2026-11-03T16:02:40+00:00",
                "payload": {
                    "order_id": oid,
                    "source_id": "SOU1",
                    "lines": [1, 2, 3],
                    "carrier": "UPS",
                    "tracking_number": f"1Z{oid}",
                },
            }
        )
        for oid in ids
    ]
    report = Importer(app).run(batch + shipped)
    assert not report.refused, report.refused[:2]
    app.engine.dispose()
    return ids


def flow(app: Postsales, user: object, order_id: str, agent_lock: bool) -> None:
    if agent_lock:
        run_action(app, order_id, "lock", {}, user)
    out = run_action(
        app, order_id, "return", {"lines": [1], "reason": "Damaged", "comment": "bench"}, user
    )
    (refund_id,) = out.result["refunds"]
    # The gateway confirms what was asked: another amount is refused (issue 17 item 9).
    amount = next(r["amount"] for r in out.order["refunds"] if r["id"] == refund_id)
    ingest(
        app,
        {
            "id": f"conf-{refund_id}",
            "type": "payment.refund.confirmed",
            "created_at": "2026-11-12T11:02:51+00:00",
            "payload": {"order_id": order_id, "refund_id": refund_id, "amount": amount},
        },
    )
    if agent_lock:
        run_action(app, order_id, "unlock", {}, user)


def engine_rate(
    url: str, ids: list[str], profile: bool, agent_lock: bool, counter: Counter | None
) -> tuple[float, float]:
    app = bootstrap(None, url)
    user = get_user(app, None)
    prof = cProfile.Profile() if profile else None
    flow(app, user, ids.pop(), agent_lock)  # warm up: connection, caches, templates
    start = counter.mark() if counter else (0, 0)
    t0, cpu0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    for order_id in ids:
        flow(app, user, order_id, agent_lock)
    if prof:
        prof.disable()
    rate = len(ids) / (time.perf_counter() - t0)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(ids)
    if counter:
        counter.report("engine", start, len(ids))
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    app.engine.dispose()
    return rate, cpu_ms


_CHILDREN = ("order_lines", "payments", "payment_operations", "shipments", "returns", "refunds")


class RawTx:
    """One hand-written transaction on the driver's own cursor, sent the way the engine sends
    it: the aggregate's reads, then its writes, each as one pipeline (one round trip) on
    PostgreSQL, one statement after the other on SQLite."""

    def __init__(self, conn, pg: bool) -> None:  # type: ignore[no-untyped-def]
        self.raw = conn.connection.driver_connection
        self.pg = pg
        self.m = "%s" if pg else "?"

    def read_order(self, oid: str, lock: bool = True, history: bool = False) -> int:
        m = self.m
        tables = _CHILDREN + (("history",) if history else ())
        if not self.pg:
            cur = self.raw.cursor()
            seq = cur.execute(f"SELECT * FROM orders WHERE id = {m}", (oid,)).fetchone()[0]
            for table in tables:
                cur.execute(f"SELECT * FROM {table} WHERE order_seq = {m}", (seq,)).fetchall()
            return int(seq)
        sub = f"(SELECT seq FROM orders WHERE id = {m})"
        with self.raw.pipeline():
            head = self.raw.cursor()
            head.execute(
                f"SELECT * FROM orders WHERE id = {m}" + (" FOR UPDATE" if lock else ""), (oid,)
            )
            cursors = [self.raw.cursor() for _ in tables]
            for cur, table in zip(cursors, tables, strict=True):
                cur.execute(f"SELECT * FROM {table} WHERE order_seq = {sub}", (oid,))
        for cur in cursors:
            cur.fetchall()
        return int(head.fetchone()[0])

    def write(self, ops: list[tuple[str, object, bool]], commit: bool = False) -> None:
        """(sql with {m} marks, params, executemany) each; every UPDATE must hit one row.
        `commit`: COMMIT in the same pipeline on PostgreSQL, as the engine does, a guarded
        UPDATE (one with a `<=` cap) then checked on the server the engine's way (writes.py)."""
        cursors = []
        pipeline = self.raw.pipeline() if self.pg else contextlib.nullcontext()
        with pipeline:
            for sql, params, many in ops:
                cur = self.raw.cursor()
                text = sql.format(m=self.m)
                if commit and self.pg and sql.startswith("UPDATE") and "<=" in sql:
                    text = f"WITH g AS ({text} RETURNING 1) SELECT 1 / (count(*) = 1)::int FROM g"
                    sql = "checked"
                (cur.executemany if many else cur.execute)(text, params)
                cursors.append((cur, sql))
            if commit and self.pg:
                self.raw.commit()
        for cur, sql in cursors:
            assert not sql.startswith("UPDATE") or cur.rowcount == 1, sql


def ceiling_rate(
    url: str, ids: list[str], agent_lock: bool, counter: Counter | None
) -> tuple[float, float]:
    """The same transactions, reads and writes as the engine, as hand-written SQL on the
    driver's cursor (the statements the engine sends, counted with `--count`), with none of
    its Python: no aggregate, no snapshot, no rules, plugins or templates."""
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    now: object = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if pg:
        now = datetime.now(UTC).replace(tzinfo=None)
    history = "INSERT INTO history (order_seq, at, actor, kind, summary, payload) VALUES " + (
        "({m}, {m}, 'system', {m}, 'x', '{{}}')"
    )
    outbox = "INSERT INTO outbox (message_id, type, order_id, payload, created_at) VALUES " + (
        "({m}, {m}, {m}, '{{}}', {m})"
    )

    def agent_lock_tx(oid: str, holder: str | None) -> None:
        with engine.connect() as conn, conn.begin():
            tx = RawTx(conn, pg)
            seq = tx.read_order(oid, history=True)
            tx.write(
                [
                    (
                        "UPDATE orders SET lock_holder = {m}, lock_expires_at = {m}, "
                        "updated_at = {m}, version = version + 1 WHERE seq = {m}",
                        (holder, now if holder else None, now, seq),
                        False,
                    ),
                    (history, [(seq, now, "lock" if holder else "unlock")], True),
                ]
            )

    def outbox_rows(oid: str, types: tuple[str, ...]) -> list[tuple[object, ...]]:
        return [(uuid.uuid4().hex, type_, oid, now) for type_ in types]

    start = counter.mark() if counter else (0, 0)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for oid in ids:
        if agent_lock:
            agent_lock_tx(oid, "system")
        with engine.connect() as conn, conn.begin():  # return, approve, refund, release
            tx = RawTx(conn, pg)
            seq = tx.read_order(oid, history=True)
            kinds = ("return.requested", "return.approved", "refund.requested", "refund.released")
            types = (
                "postsales.return.management.created",
                "postsales.return.management.approved",
                "payment.refund.requested",
                "sales.order_management.updated",
            )
            tx.write(
                [
                    (
                        "INSERT INTO returns (id, order_seq, status, lines, reason, comment, "
                        "source_id, refunds, created_by, created_at) VALUES ({m}, {m}, "
                        "'APPROVED', '[1]', 'Damaged', 'bench', 'SOU1', true, 'system', {m})",
                        [(f"RET-{oid}-1", seq, now)],
                        True,
                    ),
                    (
                        "INSERT INTO refunds (id, order_seq, kind, status, amount_minor, lines, "
                        "reason, description, created_by, created_at) VALUES ({m}, {m}, "
                        "'RETURN', 'PENDING_RELEASE', 100, '[[1, 100]]', 'Damaged', '', "
                        "'system', {m})",
                        [(f"RF-{oid}-1", seq, now)],
                        True,
                    ),
                    (
                        "UPDATE order_lines SET refunded_minor = refunded_minor + 100, "
                        "appeased_minor = appeased_minor + 0, status = 'RETURNED' "
                        "WHERE order_seq = {m} AND line_number = 1 AND refunded_minor + 100 "
                        "<= gross_minor AND appeased_minor + 0 <= net_minor",
                        (seq,),
                        False,
                    ),
                    (history, [(seq, now, k) for k in kinds], True),
                    (
                        "UPDATE orders SET refunded_minor = refunded_minor + 100, "
                        "updated_at = {m}, version = version + 1 WHERE seq = {m} "
                        "AND refunded_minor + 100 <= captured_minor",
                        (now, seq),
                        False,
                    ),
                    (outbox, outbox_rows(oid, types), True),
                ],
                commit=True,
            )
        with engine.connect() as conn, conn.begin():  # the gateway's confirmation
            tx = RawTx(conn, pg)
            raw = tx.raw.cursor()
            with tx.raw.pipeline() if pg else contextlib.nullcontext():  # BEGIN sent with it
                raw.execute(f"SELECT 1 FROM inbound_messages WHERE message_id = {tx.m}", (oid,))
            raw.fetchall()
            seq = tx.read_order(oid)
            tx.write(
                [
                    (
                        "INSERT INTO inbound_messages (message_id, type, order_id, received_at) "
                        "VALUES ({m}, 'x', {m}, {m})",
                        (f"conf-{oid}", oid, now),
                        False,
                    ),
                    (
                        "UPDATE refunds SET status = 'RELEASED', credit_note = 'CN', "
                        "gateway_response = 'ok', updated_at = {m} WHERE order_seq = {m} "
                        "AND id = {m}",
                        (now, seq, f"RF-{oid}-1"),
                        False,
                    ),
                    (
                        "INSERT INTO payment_operations (order_seq, payment_reference, event, "
                        "amount_minor, response, at) VALUES ({m}, '1', 'refund', 100, 'ok', {m})",
                        [(seq, now)],
                        True,
                    ),
                    (history, [(seq, now, "refund.confirmed"), (seq, now, "notification")], True),
                    (
                        "UPDATE orders SET updated_at = {m}, version = version + 1 WHERE seq = {m}",
                        (now, seq),
                        False,
                    ),
                    (outbox, outbox_rows(oid, ("notification.email",)), True),
                ],
                commit=True,
            )
        if agent_lock:
            agent_lock_tx(oid, None)
    rate = len(ids) / (time.perf_counter() - t0)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(ids)
    if counter:
        counter.report("hand-written", start, len(ids))
    engine.dispose()
    return rate, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--agent-lock", action="store_true", help="lock/unlock around each flow")
    parser.add_argument("--count", action="store_true", help="statements per flow (slower)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='pst-flows-')}/flows.db"
    bench_billing_key(url)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    offset = int(time.time()) % 1_000_000 * 1000  # fresh order ids on a reused PostgreSQL
    ids = prepare(url, args.flows, offset)
    ceiling_ids = prepare(url, args.flows, offset + args.flows)
    counter = Counter() if args.count else None
    rate, cpu = engine_rate(url, ids, args.profile, args.agent_lock, counter)
    ceiling, ceiling_cpu = ceiling_rate(url, ceiling_ids, args.agent_lock, counter)
    kind = make_engine(url).dialect.name
    steps = "lock, " if args.agent_lock else ""
    steps += "return+approve+refund+release, gateway confirmation"
    steps += ", unlock" if args.agent_lock else ""
    print(
        f"{kind}: {args.flows} flows ({steps}): "
        f"{rate:,.0f} flows/s ({cpu:.2f} ms CPU each); "
        f"hand-written SQL {ceiling:,.0f} flows/s ({ceiling_cpu:.2f} ms CPU each)"
    )


if __name__ == "__main__":
    main()
