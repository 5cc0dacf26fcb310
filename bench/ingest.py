"""Import throughput: N order-create messages through the real import path (validation,
idempotency, history and outbox included) beside hand-written SQL inserting the same rows into
the same schema and indexes (the ceiling). Issue 2 item 13.

    .venv/bin/python bench/ingest.py --orders 100000                  # SQLite, fresh database
    .venv/bin/python bench/ingest.py --orders 100000 --base 1000000   # appended to 1M orders
    .venv/bin/python bench/ingest.py --db postgresql://postgres@127.0.0.1/test --orders 100000

Each run gets a fresh database: a new SQLite file in a temporary directory (under $TMPDIR), or a
new schema in the PostgreSQL database named by --db. Both are removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import fresh_database  # bench/databases.py

from postsales.core.bootstrap import bootstrap
from postsales.core.messages_schema import parse_envelope, parse_payload
from postsales.core.persistence import rows as R
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.services.messages import Importer


def messages(start: int, count: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed + start)
    out = []
    for n in range(start, start + count):
        lines = []
        for i in range(rnd.randint(3, 6)):
            net = Decimal(rnd.randint(500, 9000)) / 100
            tax = (net * Decimal("0.08")).quantize(Decimal("0.01"))
            lines.append(
                {
                    "line_number": i + 1,
                    "product_type": "PHYSICAL",
                    "sku": f"SKU-{rnd.randint(1, 500)}",
                    "parent_sku": "P",
                    "product_name": "Item",
                    "shipping_address_reference": "1",
                    "amount": {
                        "original_price": str(net),
                        "discount": "0.00",
                        "net_amount": str(net),
                        "tax_amount": str(tax),
                        "gross_amount": str(net + tax),
                        "tax_rate": "8",
                    },
                }
            )
        total = sum(Decimal(ln["amount"]["gross_amount"]) for ln in lines)
        order = {
            "id": f"B{n:09d}",
            "sales_channel_id": "ST1",
            "currency": "USD",
            "language": "en_US",
            "vat_country": "US",
            "origin": "WEB",
            "origin_date": "2026-11-02T09:30:55+00:00",
            "customer": {
                "id": f"C{n}",
                "type": "registered",
                "first_name": "Mercy",
                "last_name": f"Taylor{n % 1000}",
                "email": f"m{n}@example.com",
                "phone": f"(555) 555-{n % 10000:04d}",
            },
            "billing_address_reference": "1",
            "shipping_method": "flatrate Fixed",
            "addresses": [
                {
                    "reference": "1",
                    "first_name": "Mercy",
                    "last_name": "Taylor",
                    "address1": f"{n} Main St",
                    "city": "Calder",
                    "zip": f"{n % 99999:05d}",
                    "country_code": "US",
                }
            ],
            "payments": [
                {
                    "reference": "1",
                    "method": "card",
                    "payment_id": f"PAY{n}",
                    "requested_amount": str(total),
                    "captured_amount": str(total),
                }
            ],
            "order_lines": lines,
        }
        envelope = {
            "id": f"bench-{n}",
            "type": "sales.order_management.create",
            "created_at": "2026-11-02T09:31:12+00:00",
            "payload": {"order": order},
        }
        out.append(json.dumps(envelope))
    return out


def remove_database(url: str) -> None:
    """Drop what `fresh_database` made: the SQLite file's directory, or the schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        shutil.rmtree(Path(parsed.database or "").parent, ignore_errors=True)
        return
    schema = url.rsplit("search_path%3D", 1)[-1]
    admin = make_engine(url.split("?", 1)[0])
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


CPU: dict[str, float] = {}  # orders per second of this process's CPU time, last import


def import_rate(url: str, batch: list[str]) -> float:
    app = bootstrap(None, url)
    t0, c0 = time.perf_counter(), time.process_time()
    report = Importer(app, batch_size=1000).run(batch)
    elapsed = time.perf_counter() - t0
    CPU["import"] = len(batch) / (time.process_time() - c0)
    assert report.applied == len(batch) and not report.refused, report.refused[:3]
    app.engine.dispose()
    return len(batch) / elapsed


def ceiling_rate(url: str, batch: list[str]) -> float:
    """Hand-written SQL: the same rows, built outside the timer from the same payloads, inserted
    with plain executemany per table in one transaction per 1,000 orders."""
    now = datetime.now(UTC)
    prepared: list[dict[str, list[dict[str, Any]]]] = []
    for chunk_start in range(0, len(batch), 1000):
        keys = ("o", "l", "p", "op", "h", "ob", "in")
        tables: dict[str, list[Any]] = {k: [] for k in keys}
        for raw in batch[chunk_start : chunk_start + 1000]:
            env = parse_envelope(raw)
            order = parse_payload(env.type, env.payload).to_order(now)
            order.market = "US"
            row = R.order_row(order)
            row.update(updated_at=now, version=1)
            tables["o"].append(row)
            tables["l"].append([R.line_row(0, ln, "USD") for ln in order.lines])
            tables["p"].append([R.payment_row(0, p, "USD") for p in order.payments])
            tables["op"].append(
                [
                    R.operation_row(0, p.reference, op, "USD")
                    for p in order.payments
                    for op in p.operations
                ]
            )
            tables["h"].append(
                {
                    "at": now,
                    "actor": "system",
                    "kind": "order.created",
                    "summary": "Order received",
                    "payload": {},
                }
            )
            tables["ob"].append(
                {
                    "message_id": f"out-{uuid.uuid4().hex}",
                    "type": "x",
                    "order_id": order.id,
                    "payload": {},
                    "created_at": now,
                }
            )
            tables["in"].append(
                {"message_id": env.id, "type": env.type, "order_id": order.id, "received_at": now}
            )
        prepared.append(tables)
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        next_seq = conn.execute(text("select coalesce(max(seq), 0) + 1 from orders")).scalar_one()
    for tables in prepared:
        with engine.begin() as conn:
            for row in tables["o"]:
                row["seq"] = next_seq
                next_seq += 1
            conn.execute(T.orders.insert(), tables["o"])
            children = {"l": T.order_lines, "p": T.payments, "op": T.payment_operations}
            for key, table in children.items():
                flat = []
                for row, kids in zip(tables["o"], tables[key], strict=True):
                    for kid in kids:
                        kid["order_seq"] = row["seq"]
                        flat.append(kid)
                conn.execute(table.insert(), flat)
            for row, h in zip(tables["o"], tables["h"], strict=True):
                h["order_seq"] = row["seq"]
            conn.execute(T.history.insert(), tables["h"])
            conn.execute(T.outbox.insert(), tables["ob"])
            conn.execute(T.inbound_messages.insert(), tables["in"])
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--base", type=int, default=0, help="orders already in the database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url = fresh_database(args.db, "ingest")
    try:
        run(url, args)
    finally:
        if args.keep:
            print(f"database kept: {url}")
        else:
            remove_database(url)


def run(url: str, args: argparse.Namespace) -> None:
    if args.base:
        t0 = time.perf_counter()
        for start in range(0, args.base, 50_000):
            import_rate(url, messages(10_000_000 + start, min(50_000, args.base - start)))
        print(f"base of {args.base:,} orders loaded in {time.perf_counter() - t0:.0f} s")
    batch = messages(0, args.orders)
    rate = import_rate(url, batch)
    ceiling_batch = messages(20_000_000, args.orders)
    ceiling = ceiling_rate(url, ceiling_batch)
    kind = make_engine(url).dialect.name
    print(
        f"{kind}: {args.orders:,} orders into {args.base:,}: import {rate:,.0f} orders/s, "
        f"hand-written SQL {ceiling:,.0f} orders/s, ratio {rate / ceiling:.2f} "
        f"(import per CPU second of this process: {CPU['import']:,.0f} orders)"
    )
    if os.environ.get("BENCH_JSON"):
        print(
            json.dumps(
                {
                    "db": kind,
                    "orders": args.orders,
                    "base": args.base,
                    "import_per_s": round(rate),
                    "ceiling_per_s": round(ceiling),
                }
            )
        )


if __name__ == "__main__":
    main()
