"""The D-4 harness: many processes released at one barrier refund, appease and return the same
line; then the database is checked for over-refunds and lost updates (issue 3 item 6).

Shared by tests/integration/test_concurrency.py (a few rounds, 20 in CI) and bench/d4.py (50).
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy import func, select, text

from postsales.core.bootstrap import bootstrap
from postsales.core.errors import PostsalesError
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.services.actions import run_action
from postsales.core.services.users import get_user

ORDER = "000000101"
LINE = 2  # gross 54.00, net 50.00
ATTEMPTS = (
    ("appeasement", {"line": LINE, "amount": "20.00", "reason": "Late", "comment": "race"}),
    ("appeasement", {"line": LINE, "amount": "7.50", "reason": "Late", "comment": "race"}),
    ("return", {"lines": [LINE], "reason": "Damaged", "comment": "race"}),
)


@attrs.frozen
class Verdict:
    refunded_on_line: int  # minor units, sum of non-cancelled refund lines
    appeased_on_line: int
    ledger_line: int  # what the guarded ledger column says
    ledger_order: int
    refunds_stored: int
    refunds_sent: int  # payment.refund.requested messages in the outbox
    successes: int

    @property
    def over_refund(self) -> int:
        return max(self.refunded_on_line - 5400, 0) + max(self.appeased_on_line - 5000, 0)

    @property
    def lost_updates(self) -> int:
        return abs(self.ledger_line - self.refunded_on_line) + abs(
            self.refunds_stored - self.refunds_sent
        )


def engine_action(url: str, worker: int, barrier: Any, results: Any) -> None:
    app = bootstrap(None, url)
    user = get_user(app, None)
    barrier.wait()
    ok = 0
    for attempt in range(5):
        name, params = ATTEMPTS[(worker + attempt) % len(ATTEMPTS)]
        try:
            run_action(app, ORDER, name, params, user)
            ok += 1
        except PostsalesError:
            pass  # refused by a cap or a state: exactly what D-4 wants under contention
    results.put(ok)
    app.engine.dispose()


def naive_action(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Read-check-write in Python across two transactions: the bug the harness must catch."""
    engine = make_engine(url)
    barrier.wait()
    ok = 0
    for attempt in range(5):
        amount = 2000 if (worker + attempt) % 2 == 0 else 750
        with engine.connect().execution_options(postsales_read_only=True) as conn:
            row = conn.execute(
                text(
                    "SELECT l.order_seq, l.refunded_minor, l.gross_minor FROM order_lines l "
                    "JOIN orders o ON o.seq = l.order_seq WHERE o.id = :o AND l.line_number = :n"
                ),
                {"o": ORDER, "n": LINE},
            ).one()
            conn.rollback()
        if row.refunded_minor + amount > row.gross_minor:
            continue
        time.sleep(0.001)  # the gap every read-check-write has, made visible
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                T.order_lines.update()
                .where(
                    T.order_lines.c.order_seq == row.order_seq, T.order_lines.c.line_number == LINE
                )
                .values(refunded_minor=row.refunded_minor + amount)
            )
            conn.execute(
                T.refunds.insert().values(
                    id=f"RF-naive-{uuid.uuid4().hex[:8]}",
                    order_seq=row.order_seq,
                    kind="APPEASEMENT",
                    status="PENDING_RELEASE",
                    amount_minor=amount,
                    lines=[[LINE, amount]],
                    created_by="naive",
                    created_at=now,
                )
            )
            conn.execute(
                T.outbox.insert().values(
                    message_id=f"out-{uuid.uuid4().hex}",
                    type="payment.refund.requested",
                    order_id=ORDER,
                    payload={},
                    created_at=now,
                )
            )
        ok += 1
    results.put(ok)
    engine.dispose()


def race(url: str, worker: Callable[..., None], processes: int = 16) -> int:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, i, barrier, results)) for i in range(processes)]
    for p in procs:
        p.start()
    successes = sum(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0, f"worker exited with {p.exitcode}"
    return successes


def verdict(url: str, successes: int) -> Verdict:
    engine = make_engine(url)
    with engine.connect() as conn:
        seq = conn.execute(select(T.orders.c.seq).where(T.orders.c.id == ORDER)).scalar_one()
        refunds = list(conn.execute(select(T.refunds).where(T.refunds.c.order_seq == seq)))
        active = [r for r in refunds if r.status != "CANCELLED"]
        on_line = sum(m for r in active for n, m in r.lines if n == LINE)
        appeased = sum(
            m for r in active if r.kind == "APPEASEMENT" for n, m in r.lines if n == LINE
        )
        line = conn.execute(
            select(T.order_lines).where(
                T.order_lines.c.order_seq == seq, T.order_lines.c.line_number == LINE
            )
        ).one()
        ledger_order = conn.execute(
            select(T.orders.c.refunded_minor).where(T.orders.c.seq == seq)
        ).scalar_one()
        sent = conn.execute(
            select(func.count())
            .select_from(T.outbox)
            .where(T.outbox.c.type == "payment.refund.requested", T.outbox.c.order_id == ORDER)
        ).scalar_one()
    engine.dispose()
    return Verdict(
        on_line, appeased, line.refunded_minor, ledger_order, len(active), sent, successes
    )
