"""Orders search at scale (issue 5 item 8): p50/p95 of a fixed mix of agent searches through
the core service, beside the same query in hand-written SQL on the same database (the ceiling),
the time to the result total, and the export rate (rows/s, peak memory).

The data set is written through the bulk path (rows built by `core/persistence/rows.py`, so
billing addresses are encrypted and the search triggers fill FTS5 / billing tokens) and kept in
a file, so it is built once and measured separately from the queries:

    .venv/bin/python bench/search.py --orders 100000                    # SQLite, var/bench/
    .venv/bin/python bench/search.py --orders 1000000 --runs 50
    .venv/bin/python bench/search.py --db postgresql://postgres@127.0.0.1/test --orders 100000
    .venv/bin/python bench/search.py --orders 100000 --no-export        # queries only
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from databases import bench_billing_key  # bench/databases.py (run as a script)
from sqlalchemy import Engine, text

from postsales.core.bootstrap import bootstrap
from postsales.core.domain.customers import Address, Customer
from postsales.core.domain.history import HistoryEvent, Lock
from postsales.core.domain.orders import (
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    Return,
    Shipment,
)
from postsales.core.domain.users import User
from postsales.core.persistence import rows as R
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.keys import cipher_for
from postsales.core.persistence.migrate import upgrade
from postsales.core.persistence.writes import allocate_seqs, bulk_insert
from postsales.core.search import columns as C
from postsales.core.search import counting
from postsales.core.search import plans as P
from postsales.core.services.search import export_orders, search_orders

FIRST = [
    "Mercy",
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Veronica",
    "Jason",
    "Rebecca",
    "Edward",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Hayes",
    "Costello",
    "Schmidt",
    "Muller",
    "Weber",
    "Becker",
    "Hoffmann",
]
STREETS = [
    "Main St",
    "Oak Ave",
    "Pine Rd",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Honey Bluff Parkway",
    "Washington Blvd",
    "Lake View Rd",
    "Hillcrest Ave",
    "Sunset Blvd",
    "Park Pl",
    "Church St",
    "Mill Rd",
    "River Rd",
    "Hauptstrasse",
    "Bahnhofstrasse",
    "Gartenweg",
    "Schillerstrasse",
    "Lindenallee",
]
CITIES = [
    "Calder",
    "Springfield",
    "Riverton",
    "Fairview",
    "Madison",
    "Georgetown",
    "Berlin",
    "Hamburg",
    "Munich",
    "Cologne",
    "Salem",
    "Franklin",
    "Clinton",
    "Greenville",
    "Bristol",
]
COMMENTS = (
    "Customer called about the delivery date",
    "Asked for an invoice copy",
    "Parcel reported damaged by the carrier",
    "Customer wants to change the size",
    "Left a voicemail, will call back",
)
STATUSES = (
    ["NEW"] * 8
    + ["RECEIVED"] * 8
    + ["LOGISTICS"] * 14
    + ["SHIPPED"] * 52
    + ["CLOSED"] * 10
    + ["ONHOLD"] * 3
    + ["CANCELLED"] * 5
)
BASE = datetime(2024, 1, 1, tzinfo=UTC)
SCOPE = User(
    "bench-agent", ("agent",), frozenset({"orders.view", "orders.export"}), frozenset({"ST1"})
)


def make_order(n: int, rnd: random.Random) -> Order:
    channel = "ST1" if rnd.random() < 0.6 else "ST2"
    cur, market = ("USD", "US") if channel == "ST1" else ("EUR", "DE")
    first = (
        FIRST[min(int(rnd.paretovariate(1.2)) - 1, len(FIRST) - 1)]
        if rnd.random() < 0.5
        else rnd.choice(FIRST)
    )
    last = rnd.choice(LAST)
    created = BASE + timedelta(seconds=30 * n)
    phone = f"+1 ({rnd.randint(200, 999)}) {rnd.randint(200, 999)}-{rnd.randint(0, 9999):04d}"
    ship = Address(
        first_name=first,
        last_name=last,
        address1=f"{rnd.randint(1, 9999)} {rnd.choice(STREETS)}",
        city=rnd.choice(CITIES),
        zip=f"{rnd.randint(10000, 99999)}",
        country_code=market,
        phone=phone,
    )
    status = rnd.choice(STATUSES)
    lines = []
    for i in range(rnd.randint(1, 4)):
        net = Decimal(rnd.randint(500, 20000)) / 100
        tax = (net * Decimal("0.08")).quantize(Decimal("0.01"))
        lines.append(
            OrderLine(
                line_number=i + 1,
                sku=f"SKU-{rnd.randint(1, 5000):05d}",
                name="Item",
                parent_sku="P",
                original_price=net,
                net_amount=net,
                tax_amount=tax,
                gross_amount=net + tax,
                tax_rate=Decimal(8),
                status="SHIPPED" if status in ("SHIPPED", "CLOSED") else "NEW",
            )
        )
    total = sum((ln.gross_amount for ln in lines), Decimal(0))
    order = Order(
        id=f"{n + 100_000_000:09d}",
        sales_channel=channel,
        currency=cur,
        market=market,
        customer=Customer(
            id=f"C{rnd.randint(1, max(2, n // 2))}",
            type=rnd.choices(("registered", "guest", "b2b"), (6, 3, 1))[0],
            first_name=first,
            last_name=last,
            email=f"{first}.{last}{n % 99991}@example.com".lower(),
            phone=phone,
        ),
        created_at=created,
        origin_date=created - timedelta(minutes=rnd.randint(1, 600)),
        status=status,
        order_type=rnd.choices(("NORMAL", "EXCHANGE", "RESHIPMENT"), (95, 3, 2))[0],
        client_order_reference=f"WEB-{n:09d}",
        billing_address=ship
        if rnd.random() < 0.8
        else Address(
            first_name=first,
            last_name=last,
            company_name="Acme GmbH",
            address1=f"{rnd.randint(1, 999)} {rnd.choice(STREETS)}",
            city=rnd.choice(CITIES),
            zip=f"{rnd.randint(10000, 99999)}",
            country_code=market,
        ),
        shipping_address=ship,
        shipping_method="flatrate Fixed",
        lines=lines,
        payments=[Payment("1", "card", f"PAY-{n:09d}", total, total)],
    )
    order.history.append(HistoryEvent(created, "system", "order.created", "Order received", {}))
    if status in ("SHIPPED", "CLOSED", "LOGISTICS"):
        order.shipments.append(
            Shipment(
                id=f"{channel}-{order.id}-01",
                source_id=rnd.choice(("SOU1", "SOU2") if channel == "ST1" else ("SOU3", "SOU1")),
                lines=[ln.line_number for ln in lines],
                status="SHIPPED" if status != "LOGISTICS" else "RELEASED",
                carrier="UPS",
                tracking_number=f"1Z{n:012d}" if status != "LOGISTICS" else None,
                created_at=created,
            )
        )
    if status in ("SHIPPED", "CLOSED") and rnd.random() < 0.08:
        ret_status = rnd.choices(("REQUESTED", "APPROVED", "CANCELLED"), (3, 6, 1))[0]
        order.returns.append(
            Return(f"RET-{n}", [1], "Too small", "", "SOU1", "agent", created, ret_status)
        )
        if ret_status == "APPROVED":
            order.refunds.append(
                Refund(
                    f"RF-{n}",
                    "RETURN",
                    [RefundLine(1, lines[0].gross_amount)],
                    "agent",
                    created,
                    rnd.choice(("RELEASED", "RELEASED", "REQUESTED")),
                    return_id=f"RET-{n}",
                    gateway_response="declined" if rnd.random() < 0.2 else None,
                )
            )
    if rnd.random() < 0.03:
        order.refunds.append(
            Refund(
                f"RF-A{n}",
                "APPEASEMENT",
                [RefundLine(1, Decimal("5.00"))],
                "agent",
                created,
                rnd.choice(("REQUESTED", "PENDING_RELEASE", "RELEASED", "CANCELLED")),
            )
        )
    if rnd.random() < 0.05:
        order.history.append(HistoryEvent(created, "agent", "comment", rnd.choice(COMMENTS), {}))
    if rnd.random() < 0.005:
        order.lock = Lock("agent", created + timedelta(minutes=30))
    return order


def build(engine: Engine, count: int, seed: int = 7) -> float:
    """Write `count` generated orders through the bulk path; returns orders per second."""
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, count, batch):
        orders = [make_order(n, rnd) for n in range(start, min(count, start + batch))]
        with engine.begin() as conn:
            for order, seq in zip(orders, allocate_seqs(conn, T.orders, len(orders)), strict=True):
                order.seq = seq
            for name, rows in R.new_order_rows(orders, lambda: cipher_for(engine)).items():
                bulk_insert(conn, T.metadata.tables[name], rows)
        if start and start % 100_000 == 0:
            rate = start / (time.perf_counter() - t0)
            print(f"  {start:,} orders written ({rate:,.0f}/s)", file=sys.stderr)
    return count / (time.perf_counter() - t0)


# -- the mix ---------------------------------------------------------------------------------------


def samples(engine: Engine) -> dict[str, Any]:
    """Values to look for, read from the data set (so that hits exist)."""
    with engine.connect() as conn:
        n = conn.execute(text("SELECT max(seq) FROM orders")).scalar_one()
        row = conn.execute(
            text(
                "SELECT id, email_norm, customer_phone, ship_zip, seq FROM orders "
                "WHERE sales_channel = 'ST1' AND seq <= :s ORDER BY seq DESC LIMIT 1"
            ),
            {"s": n // 3},
        ).one()
        tracking = conn.execute(
            text(
                "SELECT s.tracking_number FROM shipments s JOIN orders o ON o.seq = s.order_seq "
                "WHERE o.sales_channel = 'ST1' AND s.tracking_number IS NOT NULL "
                "AND s.order_seq <= :s ORDER BY s.order_seq DESC LIMIT 1"
            ),
            {"s": n // 2},
        ).scalar_one()
        mid = conn.execute(text("SELECT created_at FROM orders WHERE seq = :s"), {"s": n // 2})
        created = T.orders.c.created_at.type.process_result_value(mid.scalar_one(), None)
        top = conn.execute(text("SELECT created_at FROM orders WHERE seq = :s"), {"s": n})
        newest = T.orders.c.created_at.type.process_result_value(top.scalar_one(), None)
    return {
        "max_seq": n,
        "id": row.id,
        "email": row.email_norm.upper(),
        "phone": row.customer_phone,
        "digits": "".join(ch for ch in row.customer_phone if ch.isdigit()),
        # As an agent types it: the US national form (`+1 (415) 555-0100` -> `415 555 0100`).
        "national": row.customer_phone.removeprefix("+1 ").replace("(", "").replace(")", ""),
        "zip": row.ship_zip,
        "tracking": tracking,
        "street": "Honey Bluff",
        "street_hashes": cipher_for(engine).query_tokens("Honey Bluff"),
        "from": (created - timedelta(days=2)).isoformat(),
        "to": created.isoformat(),
        "newest": newest,
    }


def _ts(engine: Engine, value: str) -> Any:
    at = datetime.fromisoformat(value).astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return f"{at:%Y-%m-%d %H:%M:%S.%f}"
    return at.replace(tzinfo=None)


def mix(
    engine: Engine, s: dict[str, Any]
) -> list[tuple[str, dict[str, Any], str, str, dict[str, Any]]]:
    """(label, service arguments, FROM, WHERE, parameters) for each query of the mix. Every
    query is scoped to the store ST1, as an agent of that store would search. The hand-written
    SQL is what a person would write for the same page and the same capped total, with the
    same tricks (the FTS5 table as the outer loop, `|| ''` to keep SQLite on the selective
    index) — the ceiling the service is compared with."""
    lite = engine.dialect.name == "sqlite"
    scope = "o.sales_channel || '' = 'ST1'" if lite else "o.sales_channel = 'ST1'"
    broad = "o.sales_channel = 'ST1'"
    orders = "orders o"

    def fts(column: str, pattern: str) -> tuple[str, str, str]:
        if lite:
            return (
                "orders_fts f CROSS JOIN orders o ON o.seq = f.rowid",
                f"f.{column} GLOB :p AND {scope}",
                "*" + pattern + "*",
            )
        return orders, f"o.{column} LIKE :p AND {scope}", "%" + pattern + "%"

    deep_seq = s["max_seq"] // 2
    cursor = P.make_cursor(
        P.Plan((), (), None, "arrival", True), type("Row", (), {"seq": deep_seq})()
    )
    # The same parts as the service's `q` (core/search/fields.py `_free_text`): a tracking
    # number has digits, so names and comments are not searched for it.
    q_union = (
        "SELECT seq FROM orders WHERE id = :q UNION SELECT seq FROM orders "
        "WHERE client_order_reference = :q UNION SELECT order_seq FROM order_lines WHERE sku = :q "
        "UNION SELECT order_seq FROM shipments WHERE tracking_number = :q "
        "UNION SELECT order_seq FROM payments WHERE payment_id = :q "
        "UNION SELECT order_seq FROM returns WHERE id = :q "
        "UNION SELECT seq FROM orders WHERE phone_national = :qn OR phone_digits = :qd"
    )
    out = [
        (
            "order id",
            {"filters": {"order_id": s["id"]}},
            orders,
            f"o.id = :v AND {scope}",
            {"v": s["id"]},
        ),
        (
            "email",
            {"filters": {"email": s["email"]}},
            orders,
            f"o.email_norm = :v AND {scope}",
            {"v": s["email"].lower()},
        ),
        (
            "phone",
            {"filters": {"telephone": s["phone"]}},
            orders,
            f"(o.phone_national = :n OR o.phone_digits = :v) AND {scope}",
            {"v": s["digits"], "n": s["digits"][1:]},
        ),
        (
            "phone, national form",
            {"filters": {"telephone": s["national"]}},
            orders,
            f"(o.phone_national = :n OR o.phone_digits = :n) AND {scope}",
            {"n": s["digits"][1:]},
        ),
        (
            "zip",
            {"filters": {"zip": s["zip"]}},
            orders,
            f"o.ship_zip = :v AND {scope}",
            {"v": s["zip"]},
        ),
    ]
    for label, column, pattern, value in (
        ("%name common (%tay)", "name_norm", "tay", {"name": "%tay"}),
        ("%name absent (%zqx)", "name_norm", "zqx", {"name": "%zqx"}),
        ("%address common", "ship_address_norm", "main s", {"shipping_address": "%main s"}),
        ("%address absent", "ship_address_norm", "qqxz", {"shipping_address": "%qqxz"}),
    ):
        source, where, p = fts(column, pattern)
        out.append((label, {"filters": value}, source, where, {"p": p}))
    # Whole words of one or two characters (issue 12 item 8): the FTS5 content is padded with
    # spaces, so `* us *` holds trigrams; PostgreSQL's pg_trgm serves `= w OR LIKE 'w %' OR …`.
    for label, column, word, value in (
        ("word common (address us)", "ship_address_norm", "us", {"shipping_address": "US"}),
        ("word absent (name ng)", "name_norm", "ng", {"name": "Ng"}),
    ):
        if lite:
            source = "orders_fts f CROSS JOIN orders o ON o.seq = f.rowid"
            out.append(
                (
                    label,
                    {"filters": value},
                    source,
                    f"f.{column} GLOB :p AND {scope}",
                    {"p": f"* {word} *"},
                )
            )
        else:
            out.append(
                (
                    label,
                    {"filters": value},
                    orders,
                    f"(o.{column} = :w OR o.{column} LIKE :a OR o.{column} LIKE :b "
                    f"OR o.{column} LIKE :c) AND {scope}",
                    {"w": word, "a": f"{word} %", "b": f"% {word}", "c": f"% {word} %"},
                )
            )
    out += [
        (
            "date range + status",
            {"filters": {"from_date": s["from"], "to_date": s["to"], "status": "SHIPPED"}},
            orders,
            f"o.status = 'SHIPPED' AND o.created_at >= :a AND o.created_at <= :b AND {broad}",
            {"a": _ts(engine, s["from"]), "b": _ts(engine, s["to"])},
        ),
        (
            "channel + return status",
            {"filters": {"sales_channel": "ST1", "return_status": "requested"}},
            orders,
            f"o.seq IN (SELECT order_seq FROM returns WHERE status = 'REQUESTED') AND {scope}",
            {},
        ),
        ("first page, no filter", {}, orders, broad, {}),
        (
            "deep page (keyset)",
            {"after": cursor},
            orders,
            f"o.seq < :s AND {broad}",
            {"s": deep_seq},
        ),
        (
            "q (tracking number)",
            {"filters": {"q": s["tracking"]}},
            orders,
            f"o.seq IN ({q_union}) AND {scope}",
            {
                "q": s["tracking"],
                "qd": "".join(ch for ch in s["tracking"] if ch.isdigit()),
                "qn": "".join(ch for ch in s["tracking"] if ch.isdigit()),
            },
        ),
        (
            "sku, any case",
            {"filters": {"sku": "sku-00042"}},
            orders,
            "o.seq IN (SELECT order_seq FROM order_lines WHERE sku_norm = 'SKU-00042') "
            f"AND {scope}",
            {},
        ),
        (
            "billing address words",
            {"filters": {"billing_address": s["street"]}},
            orders,
            "o.seq IN (SELECT order_seq FROM billing_tokens WHERE token_hash = :h1) AND "
            f"o.seq IN (SELECT order_seq FROM billing_tokens WHERE token_hash = :h2) AND {scope}",
            {"h1": s["street_hashes"][0], "h2": s["street_hashes"][1]},
        ),
    ]
    out += ranges(engine, s, scope)
    return out


# Issue 18 item 3: ranges an agent types ("the last 7 days" … "the last year"), ending at the
# newest order, alone and with each broad filter.
RANGE_DAYS = (7, 30, 90, 365)
RANGE_EXTRAS: tuple[tuple[str, dict[str, str], str], ...] = (
    ("", {}, ""),
    (" + status", {"status": "SHIPPED"}, "o.status = 'SHIPPED' AND "),
    (" + channel", {"sales_channel": "ST1"}, ""),
    (
        " + return status",
        {"return_status": "requested"},
        "o.seq IN (SELECT order_seq FROM returns WHERE status = 'REQUESTED') AND ",
    ),
    (" + order type", {"order_type": "exchange"}, "o.order_type = 'EXCHANGE' AND "),
)


def ranges(
    engine: Engine, s: dict[str, Any], scope: str
) -> list[tuple[str, dict[str, Any], str, str, dict[str, Any]]]:
    """The hand-written SQL beside each is the obvious one (the range, the store, the filter;
    newest first): the planner chooses its index."""
    out = []
    until = s["newest"]
    for days in RANGE_DAYS:
        since = until - timedelta(days=days)
        for label, extra, sql in RANGE_EXTRAS:
            filters = {"from_date": since.isoformat(), "to_date": until.isoformat(), **extra}
            out.append(
                (
                    f"{days} days{label}",
                    {"filters": filters},
                    "orders o",
                    f"{sql}o.created_at >= :a AND o.created_at <= :b AND {scope}",
                    {"a": _ts(engine, since.isoformat()), "b": _ts(engine, until.isoformat())},
                )
            )
    return out


def _timed(fn: Callable[[], Any], runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall times (ms); with `cpu`, this process's CPU times too (on a shared machine the
    wall clock also counts the waits for a core; on SQLite the CPU time is the query's)."""
    fn()  # warm the caches and the statement cache
    out = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_mix(url: str, runs: int, only: str | None = None) -> list[dict[str, Any]]:
    app = bootstrap(None, url)
    engine = app.engine
    s = samples(engine)
    out = []
    cols = ", ".join(f"o.{c.key}" for c in C.needed(C.RESULT_KEYS))
    for label, kwargs, source, where, params in mix(engine, s):
        if only and only not in label:
            continue
        kwargs = dict(kwargs)
        cpu: list[float] = []
        service = _timed(lambda kwargs=kwargs: search_orders(app, SCOPE, **kwargs), runs, cpu)
        seq = "f.rowid" if source.startswith("orders_fts") else "o.seq"
        page = text(f"SELECT {cols} FROM {source} WHERE {where} ORDER BY {seq} DESC LIMIT 21")
        total = text(f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT 10001) t")

        def raw(page: Any = page, total: Any = total, params: dict[str, Any] = params) -> Any:
            with engine.connect() as conn:
                return conn.execute(page, params).all(), conn.execute(total, params).scalar()

        raw_cpu: list[float] = []
        ceiling = _timed(raw, runs, raw_cpu)
        plan = P.make_plan(app, SCOPE, kwargs.get("filters"), None)  # the total alone

        def count_only(plan: P.Plan = plan) -> Any:
            with engine.connect() as conn:
                return counting.count(conn, plan)

        totals = _timed(count_only, runs)
        result = search_orders(app, SCOPE, **kwargs)
        out.append(
            {
                "query": label,
                "p50": statistics.median(service),
                "p95": _p(service, 0.95),
                "sql_p50": statistics.median(ceiling),
                "sql_p95": _p(ceiling, 0.95),
                "cpu_p50": statistics.median(cpu),
                "sql_cpu_p50": statistics.median(raw_cpu),
                "total_p95": _p(totals, 0.95),
                "total": f"{result.total:,}{'+' if result.total_capped else ''}",
                "rows": len(result.orders),
            }
        )
    app.engine.dispose()
    return out


def export_child(url: str, fmt: str, limit: int) -> None:
    """Run in a child process so that its peak memory is its own."""
    import resource

    app = bootstrap(None, url)
    from postsales.core.domain.users import system_user

    user = system_user()
    sink = open(os.devnull, "wb")  # noqa: SIM115
    buffered = io.BufferedWriter(sink, 1 << 16)
    filters = {"to_date": limit_date(app, limit)} if limit else None
    t0, c0 = time.perf_counter(), time.process_time()
    rows = export_orders(app, user, filters, fmt=fmt, out=buffered)
    buffered.flush()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"rows": rows, "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak}))


def _peak_mb(fallback: float) -> float:
    """This process's own peak memory: Linux's VmHWM starts afresh at exec, whereas ru_maxrss
    keeps the high-water mark of the parent that forked it (the whole benchmark, after a
    build: 153 MB reported for an export that peaked at a fraction of it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback


def limit_date(app: Any, limit: int) -> str:
    """A `to_date` that keeps the first `limit` orders (the data set's times follow `seq`)."""
    with app.engine.connect() as conn:
        value = conn.execute(text("SELECT created_at FROM orders WHERE seq = :s"), {"s": limit})
        at = T.orders.c.created_at.type.process_result_value(value.scalar_one(), None)
    return at.isoformat()


def run_export(url: str, fmt: str, limit: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--db", url, "--export-child", fmt, "--limit", str(limit)],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["rate"] = data["rows"] / data["seconds"]
    # CPU time too: on a shared machine the wall clock also counts the waits for a core.
    data["cpu_rate"] = data["rows"] / max(data["cpu_seconds"], 1e-9)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: SQLite file under var/bench/)")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--no-queries", action="store_true")
    parser.add_argument("--only", help="run only the queries whose label contains this text")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.db, args.export_child, args.limit)
        return
    url = args.db or f"sqlite:///var/bench/search-{args.orders}.db"
    bench_billing_key(url)
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
    if args.rebuild or have == 0:
        if have:
            sys.exit("--rebuild needs an empty database")
        rate = build(engine, args.orders)
        print(f"built {args.orders:,} orders at {rate:,.0f} orders/s (bulk path, triggers on)")
        if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        # SQLite is left without ANALYZE statistics, as a fresh installation would be.
    elif have != args.orders:
        print(f"note: the database holds {have:,} orders", file=sys.stderr)
    engine.dispose()
    print(
        f"{make_engine(url).dialect.name}, {have or args.orders:,} orders, {args.runs} runs, "
        "agent scoped to ST1 (ms)"
    )
    print(
        f"{'query':28} {'p50':>7} {'p95':>7} {'sql p50':>8} {'sql p95':>8} {'total p95':>9} "
        f"{'cpu':>6} {'sql cpu':>7}  total"
    )
    results = [] if args.no_queries else run_mix(url, args.runs, args.only)
    for r in results:
        print(
            f"{r['query']:28} {r['p50']:7.2f} {r['p95']:7.2f} {r['sql_p50']:8.2f} "
            f"{r['sql_p95']:8.2f} {r['total_p95']:9.2f} {r['cpu_p50']:6.2f} "
            f"{r['sql_cpu_p50']:7.2f}  {r['total']}"
        )
    exports = []
    if not args.no_export:
        size = have or args.orders
        for limit in sorted({min(100_000, size), size}):
            for fmt in ("csv", "xml"):
                e = run_export(url, fmt, limit if limit < size else 0)
                exports.append({"format": fmt, **e})
                print(
                    f"export {fmt:3} {e['rows']:>9,} rows: {e['rate']:,.0f} rows/s "
                    f"({e['cpu_rate']:,.0f} per CPU second), peak {e['peak_mb']:.0f} MB"
                )
    if os.environ.get("BENCH_JSON"):
        print(json.dumps({"queries": results, "exports": exports}))


if __name__ == "__main__":
    main()
