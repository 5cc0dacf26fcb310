"""Post-sales flows per second (issue 3 item 9): for each shipped order, a return that the
default rules approve at once and whose refund goes straight to the payment gateway (one
transaction: BEGIN IMMEDIATE on SQLite, the order row locked on PostgreSQL, history and outbox
written with it), then the gateway's confirmation message releasing the refund (a second
transaction). `--agent-lock` wraps each flow in the agent's lock and unlock actions (A-10), two
more transactions. Beside it, the same statements as hand-written SQL (the ceiling), and a
profile of where the time goes.

    .venv/bin/python bench/actions.py [--flows 300] [--db URL] [--agent-lock] [--profile]
"""

from __future__ import annotations

import argparse
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

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import messages

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.migrate import upgrade
from postsales.core.services.actions import run_action
from postsales.core.services.messages import Importer, ingest
from postsales.core.services.users import get_user


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
    ingest(
        app,
        {
            "id": f"conf-{refund_id}",
            "type": "payment.refund.confirmed",
            "created_at": "2026-11-12T11:02:51+00:00",
            "payload": {"order_id": order_id, "refund_id": refund_id, "amount": "1.00"},
        },
    )
    if agent_lock:
        run_action(app, order_id, "unlock", {}, user)


def engine_rate(url: str, ids: list[str], profile: bool, agent_lock: bool) -> float:
    app = bootstrap(None, url)
    user = get_user(app, None)
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    for order_id in ids:
        flow(app, user, order_id, agent_lock)
    if prof:
        prof.disable()
    rate = len(ids) / (time.perf_counter() - t0)
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    app.engine.dispose()
    return rate


def ceiling_rate(url: str, ids: list[str], agent_lock: bool) -> float:
    """The same transactions and row writes as hand-written SQL, with no Python logic."""
    engine = make_engine(url)
    now: object = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if engine.dialect.name != "sqlite":
        now = datetime.now(UTC).replace(tzinfo=None)
    lock = " FOR UPDATE" if engine.dialect.name != "sqlite" else ""

    def run(conn, sql: str, **params: object) -> None:  # type: ignore[no-untyped-def]
        conn.execute(text(sql), {"at": now, **params})

    def history(conn, seq: int, kind: str) -> None:  # type: ignore[no-untyped-def]
        run(
            conn,
            "INSERT INTO history (order_seq, at, actor, kind, summary, payload) "
            "VALUES (:s, :at, 'system', :k, 'x', '{}')",
            s=seq,
            k=kind,
        )

    def outbox(conn, oid: str, type_: str) -> None:  # type: ignore[no-untyped-def]
        run(
            conn,
            "INSERT INTO outbox (message_id, type, order_id, payload, created_at) "
            "VALUES (:m, :t, :o, '{}', :at)",
            m=uuid.uuid4().hex,
            t=type_,
            o=oid,
        )

    def agent_lock_tx(oid: str, holder: str | None) -> None:
        with engine.begin() as conn:
            seq = conn.execute(
                text(f"SELECT seq FROM orders WHERE id = :o{lock}"), {"o": oid}
            ).scalar_one()
            run(
                conn,
                "UPDATE orders SET lock_holder = :h, version = version + 1 WHERE seq = :s",
                h=holder,
                s=seq,
            )
            history(conn, seq, "lock" if holder else "unlock")

    t0 = time.perf_counter()
    for oid in ids:
        if agent_lock:
            agent_lock_tx(oid, "system")
        with engine.begin() as conn:  # return, approve, refund, release to the gateway
            seq = conn.execute(
                text(f"SELECT seq FROM orders WHERE id = :o{lock}"), {"o": oid}
            ).scalar_one()
            for table in ("order_lines", "payments", "shipments", "returns", "refunds"):
                conn.execute(text(f"SELECT * FROM {table} WHERE order_seq = :s"), {"s": seq}).all()
            run(
                conn,
                "INSERT INTO returns (id, order_seq, status, lines, reason, comment, "
                "source_id, refunds, created_by, created_at) VALUES (:i, :s, 'APPROVED', '[1]', "
                "'Damaged', 'bench', 'SOU1', true, 'system', :at)",
                i=f"RET-{oid}-1",
                s=seq,
            )
            run(
                conn,
                "UPDATE order_lines SET status = 'RETURNED', refunded_minor = refunded_minor "
                "+ 100 WHERE order_seq = :s AND line_number = 1 AND refunded_minor + 100 <= "
                "gross_minor",
                s=seq,
            )
            run(
                conn,
                "INSERT INTO refunds (id, order_seq, kind, status, amount_minor, lines, "
                "reason, description, created_by, created_at) VALUES (:i, :s, 'RETURN', "
                "'PENDING_RELEASE', 100, '[[1, 100]]', 'Damaged', '', 'system', :at)",
                i=f"RF-{oid}-1",
                s=seq,
            )
            run(
                conn,
                "UPDATE orders SET refunded_minor = refunded_minor + 100, status = "
                "'SHIPPED', version = version + 1 WHERE seq = :s AND refunded_minor + 100 <= "
                "captured_minor",
                s=seq,
            )
            for kind in (
                "return.requested",
                "return.approved",
                "refund.requested",
                "refund.released",
            ):
                history(conn, seq, kind)
            for type_ in (
                "postsales.return.management.created",
                "postsales.return.management.approved",
                "payment.refund.requested",
                "sales.order_management.updated",
            ):
                outbox(conn, oid, type_)
        with engine.begin() as conn:  # the gateway's confirmation
            conn.execute(
                text("SELECT 1 FROM inbound_messages WHERE message_id = :m"), {"m": oid}
            ).all()
            conn.execute(text(f"SELECT seq FROM orders WHERE id = :o{lock}"), {"o": oid}).all()
            run(
                conn,
                "UPDATE refunds SET status = 'RELEASED', credit_note = 'CN' WHERE id = :i",
                i=f"RF-{oid}-1",
            )
            run(
                conn,
                "INSERT INTO payment_operations (order_seq, payment_reference, event, "
                "amount_minor, response, at) VALUES (:s, '1', 'refund', 100, 'ok', :at)",
                s=seq,
            )
            history(conn, seq, "refund.confirmed")
            outbox(conn, oid, "notification.email")
            run(
                conn,
                "INSERT INTO inbound_messages (message_id, type, received_at) "
                "VALUES (:m, 'x', :at)",
                m=f"conf-{oid}",
            )
        if agent_lock:
            agent_lock_tx(oid, None)
    rate = len(ids) / (time.perf_counter() - t0)
    engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--agent-lock", action="store_true", help="lock/unlock around each flow")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='pst-flows-')}/flows.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    offset = int(time.time()) % 1_000_000 * 1000  # fresh order ids on a reused PostgreSQL
    ids = prepare(url, args.flows, offset)
    ceiling_ids = prepare(url, args.flows, offset + args.flows)
    rate = engine_rate(url, ids, args.profile, args.agent_lock)
    ceiling = ceiling_rate(url, ceiling_ids, args.agent_lock)
    kind = make_engine(url).dialect.name
    steps = "lock, " if args.agent_lock else ""
    steps += "return+approve+refund+release, gateway confirmation"
    steps += ", unlock" if args.agent_lock else ""
    print(
        f"{kind}: {args.flows} flows ({steps}): "
        f"{rate:,.0f} flows/s; hand-written SQL {ceiling:,.0f} flows/s"
    )


if __name__ == "__main__":
    main()
