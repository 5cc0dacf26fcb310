"""Post-sales flows per second (issue 3 item 9): for each order, lock -> return (approved and
its refund sent to the gateway at once, by the default rules) -> the gateway's confirmation
message -> unlock; with history, outbox and locks, through the real services. Beside it, the
same writes as hand-written SQL (the ceiling), and a profile of where the time goes.

    .venv/bin/python bench/actions.py [--flows 300] [--db URL] [--profile]
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


def flow(app: Postsales, user: object, order_id: str) -> None:
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
    run_action(app, order_id, "unlock", {}, user)


def engine_rate(url: str, ids: list[str], profile: bool) -> float:
    app = bootstrap(None, url)
    user = get_user(app, None)
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    for order_id in ids:
        flow(app, user, order_id)
    if prof:
        prof.disable()
    rate = len(ids) / (time.perf_counter() - t0)
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    app.engine.dispose()
    return rate


def ceiling_rate(url: str, ids: list[str]) -> float:
    """The same four transactions and row writes, as hand-written SQL with no Python logic."""
    engine = make_engine(url)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if engine.dialect.name != "sqlite":
        now = datetime.now(UTC).replace(tzinfo=None)

    def history(conn, seq: int, kind: str) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            text(
                "INSERT INTO history (order_seq, at, actor, kind, summary, payload) "
                "VALUES (:s, :at, 'system', :k, 'x', '{}')"
            ),
            {"s": seq, "at": now, "k": kind},
        )

    def outbox(conn, oid: str, type_: str) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            text(
                "INSERT INTO outbox (message_id, type, order_id, payload, created_at) "
                "VALUES (:m, :t, :o, '{}', :at)"
            ),
            {"m": uuid.uuid4().hex, "t": type_, "o": oid, "at": now},
        )

    t0 = time.perf_counter()
    for oid in ids:
        with engine.begin() as conn:  # lock
            seq = conn.execute(
                text("SELECT seq FROM orders WHERE id = :o"), {"o": oid}
            ).scalar_one()
            conn.execute(
                text(
                    "UPDATE orders SET lock_holder='system', lock_expires_at=:at, "
                    "version = version + 1 WHERE seq=:s"
                ),
                {"s": seq, "at": now},
            )
            history(conn, seq, "lock")
        with engine.begin() as conn:  # return, approve, refund, release
            conn.execute(text("SELECT * FROM orders WHERE seq=:s"), {"s": seq}).all()
            conn.execute(text("SELECT * FROM order_lines WHERE order_seq=:s"), {"s": seq}).all()
            conn.execute(
                text(
                    "INSERT INTO returns (id, order_seq, status, lines, reason, comment, "
                    "source_id, refunds, created_by, created_at) VALUES (:i, :s, "
                    "'APPROVED', '[1]', 'Damaged', 'bench', 'SOU1', true, 'system', :at)"
                ),
                {"i": f"RET-{oid}-1", "s": seq, "at": now},
            )
            conn.execute(
                text(
                    "UPDATE order_lines SET status='RETURNED', refunded_minor = "
                    "refunded_minor + 100 WHERE order_seq=:s AND line_number=1 AND "
                    "refunded_minor + 100 <= gross_minor"
                ),
                {"s": seq},
            )
            conn.execute(
                text(
                    "INSERT INTO refunds (id, order_seq, kind, status, amount_minor, "
                    "lines, reason, description, created_by, created_at) VALUES (:i, :s, 'RETURN', "
                    "'PENDING_RELEASE', 100, '[[1, 100]]', 'Damaged', '', 'system', :at)"
                ),
                {"i": f"RF-{oid}-1", "s": seq, "at": now},
            )
            conn.execute(
                text(
                    "UPDATE orders SET refunded_minor = refunded_minor + 100 WHERE "
                    "seq=:s AND refunded_minor + 100 <= captured_minor"
                ),
                {"s": seq},
            )
            for kind in (
                "return.requested",
                "return.approved",
                "refund.requested",
                "refund.released",
            ):
                history(conn, seq, kind)
            for t in (
                "postsales.return.management.created",
                "postsales.return.management.approved",
                "payment.refund.requested",
            ):
                outbox(conn, oid, t)
        with engine.begin() as conn:  # gateway confirmation
            conn.execute(
                text("SELECT 1 FROM inbound_messages WHERE message_id=:m"), {"m": oid}
            ).all()
            conn.execute(
                text("UPDATE refunds SET status='RELEASED' WHERE id=:i"), {"i": f"RF-{oid}-1"}
            )
            history(conn, seq, "refund.confirmed")
            outbox(conn, oid, "notification.email")
            conn.execute(
                text(
                    "INSERT INTO inbound_messages (message_id, type, received_at) "
                    "VALUES (:m, 'x', :at)"
                ),
                {"m": oid, "at": now},
            )
        with engine.begin() as conn:  # unlock
            conn.execute(
                text("UPDATE orders SET lock_holder=NULL, lock_expires_at=NULL WHERE seq=:s"),
                {"s": seq},
            )
            history(conn, seq, "unlock")
    rate = len(ids) / (time.perf_counter() - t0)
    engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='pst-flows-')}/flows.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    offset = int(time.time()) % 1_000_000 * 1000  # fresh order ids on a reused PostgreSQL
    ids = prepare(url, args.flows, offset)
    ceiling_ids = prepare(url, args.flows, offset + args.flows)
    rate = engine_rate(url, ids, args.profile)
    ceiling = ceiling_rate(url, ceiling_ids)
    kind = make_engine(url).dialect.name
    print(
        f"{kind}: {args.flows} flows (lock, return+approve+refund+release, confirm, unlock): "
        f"{rate:,.0f} flows/s; hand-written SQL {ceiling:,.0f} flows/s"
    )


if __name__ == "__main__":
    main()
