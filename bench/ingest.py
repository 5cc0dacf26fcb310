"""Import throughput: N order-create messages through the real import path (validation,
idempotency, history and outbox included) beside hand-written SQL inserting the same rows into
the same schema and indexes (the ceiling). Issue 2 item 13.

    .venv/bin/python bench/ingest.py --orders 100000                  # SQLite, fresh database
    .venv/bin/python bench/ingest.py --orders 100000 --base 1000000   # appended to 1M orders
    .venv/bin/python bench/ingest.py --db postgresql://postgres@127.0.0.1/test --orders 100000
    .venv/bin/python bench/ingest.py --orders 10000 --layouts jsonl,pretty,array

Beside the in-process figure it runs `postsales import FILE` as a user does — a new process,
start-up included, on a file written in each of --layouts (JSON lines; pretty-printed
documents one after another; one pretty-printed array), each into its own fresh database with
the same base (issue 18 item 2).

Each run gets two fresh databases with the same base, one for the import and one for the
ceiling: new SQLite files in temporary directories (under $TMPDIR), or new schemas in the
PostgreSQL database named by --db. They are removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
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
from postsales.core.persistence import mapping as M
from postsales.core.persistence import rows as R
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.keys import cipher_for
from postsales.core.persistence.writes import converters
from postsales.core.services.messages.inbound import Importer
from postsales.core.services.messages.parallel_import import default_workers


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


LAYOUTS = ("jsonl", "pretty", "array")


def write_file(batch: list[str], layout: str, folder: Path) -> Path:
    path = folder / f"orders-{layout}.json"
    with path.open("w") as out:
        if layout == "jsonl":
            out.writelines(line + "\n" for line in batch)
        elif layout == "pretty":
            out.writelines(json.dumps(json.loads(line), indent=2) + "\n" for line in batch)
        else:
            out.write(json.dumps([json.loads(line) for line in batch], indent=2) + "\n")
    return path


def whole_process_rate(url: str, path: Path, count: int) -> float:
    """`postsales import PATH` in a new process, timed from its start to its exit."""
    command = [str(Path(sys.executable).with_name("postsales")), "import", str(path)]
    env = {**os.environ, "POSTSALES_DATABASE_URL": url}
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    assert f"{count} applied, 0 duplicates, 0 refused" in done.stdout, done.stdout
    return count / elapsed


def import_rate(url: str, batch: list[str]) -> float:
    app = bootstrap(None, url)
    t0, c0 = time.perf_counter(), time.process_time()
    report = Importer(app, batch_size=1000, workers=default_workers()).run(batch)
    elapsed = time.perf_counter() - t0
    CPU["import"] = len(batch) / (time.process_time() - c0)
    assert report.applied == len(batch) and not report.refused, report.refused[:3]
    app.engine.dispose()
    return len(batch) / elapsed


_CEILING_TABLES = {
    "o": T.orders,
    "l": T.order_lines,
    "p": T.payments,
    "op": T.payment_operations,
    "h": T.history,
    "ob": T.outbox,
    "in": T.inbound_messages,
}


_CHILDREN = ("l", "p", "op", "h")  # rows that hold their order's seq


def ceiling_rate(url: str, batch: list[str]) -> float:
    """Hand-written SQL: the same rows, built and converted to the driver's types outside the
    timer from the same payloads, one transaction per 1,000 orders, written the fastest way
    each database takes many rows: multi-row INSERTs on SQLite (executemany is one statement
    per row, each paying the tables' triggers), COPY on PostgreSQL."""
    now = datetime.now(UTC)
    dialect = make_url(url).get_backend_name()
    dialect = "sqlite" if dialect == "sqlite" else "postgresql"
    prepared: list[dict[str, list[dict[str, Any]]]] = []
    engine = make_engine(url)
    billing = cipher_for(engine)
    for chunk_start in range(0, len(batch), 1000):
        tables: dict[str, list[Any]] = {k: [] for k in _CEILING_TABLES}
        for raw in batch[chunk_start : chunk_start + 1000]:
            env = parse_envelope(raw)
            order = parse_payload(env.type, env.payload).to_order(now)
            order.market = "US"
            row = R.order_row(order, lambda: billing)
            row.update(updated_at=now, version=1)
            tables["o"].append(row)
            tables["l"].append([M.LINES.row(0, ln, "USD") for ln in order.lines])
            tables["p"].append([M.PAYMENTS.row(0, p, "USD") for p in order.payments])
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
        prepared.append(_as_driver_rows(tables, dialect))
    engine = make_engine(url)
    raw_conn = engine.raw_connection()
    driver = raw_conn.driver_connection
    cursor = driver.cursor()
    sqlite = dialect == "sqlite"
    t0 = time.perf_counter()
    cursor.execute("select coalesce(max(seq), 0) + 1 from orders")
    next_seq = cursor.fetchone()[0]
    if not sqlite:
        driver.commit()
    for chunk in prepared:
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        order_rows = chunk["o"][1]
        for row in order_rows:
            row[0] = next_seq
            next_seq += 1
        for key, (columns, rows) in chunk.items():
            if key in _CHILDREN:
                for row in rows:
                    row[0] = order_rows[row[0]][0]  # the order's index in the chunk → its seq
            table = _CEILING_TABLES[key]
            if sqlite:
                _multirow_insert(cursor, table.name, columns, rows)
            else:
                _copy(cursor, table.name, columns, rows)
        if sqlite:
            cursor.execute("COMMIT")
        else:
            driver.commit()
    elapsed = time.perf_counter() - t0
    cursor.close()
    raw_conn.close()
    engine.dispose()
    return len(batch) / elapsed


def _as_driver_rows(
    tables: dict[str, list[Any]], dialect: str
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """(columns, rows as lists) per table; a child row's first value is its order's index in
    the chunk until the order's seq is known."""
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for key, table in _CEILING_TABLES.items():
        rows = tables[key]
        flat: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(rows):
            for row in item if isinstance(item, list) else [item]:
                flat.append((index, row))
        first = flat[0][1]
        columns = [c.name for c in table.columns if c.name in first]
        key_column = "seq" if key == "o" else "order_seq" if key in _CHILDREN else None
        if key_column:
            columns = [key_column] + [c for c in columns if c != key_column]
        convert = converters(table, columns, dialect)
        lists = []
        for index, row in flat:
            values = [fn(row.get(name)) for name, fn in zip(columns, convert, strict=True)]
            if key in _CHILDREN:
                values[0] = index
            lists.append(values)
        out[key] = (columns, lists)
    return out


def _multirow_insert(cursor: Any, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    per = 30_000 // len(columns)
    head = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
    one = "(" + ",".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        cursor.execute(head + ",".join([one] * len(chunk)), [v for r in chunk for v in r])


def _copy(cursor: Any, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=0, help="orders already in the database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--layouts",
        default="jsonl",
        help=f"file layouts for the whole-process import, comma-separated: {', '.join(LAYOUTS)}",
    )
    args = parser.parse_args()
    args.layouts = [name for name in args.layouts.split(",") if name]
    if unknown := set(args.layouts) - set(LAYOUTS):
        parser.error(f"unknown layouts: {', '.join(sorted(unknown))}")
    # The import and the ceiling each get their own database with the same base, so neither
    # writes into the other's rows (a ceiling run after the import into the same database
    # wrote 100,000 orders into 100,000 more, and looked slower than it is).
    urls = [fresh_database(args.db, "ingest"), fresh_database(args.db, "ceiling")]
    urls += [fresh_database(args.db, f"whole{layout}") for layout in args.layouts]
    try:
        run(urls[0], urls[1], urls[2:], args)
    finally:
        for url in urls:
            if args.keep:
                print(f"database kept: {url}")
            else:
                remove_database(url)


def load_base(url: str, count: int) -> None:
    for start in range(0, count, 50_000):
        import_rate(url, messages(10_000_000 + start, min(50_000, count - start)))


def run(url: str, ceiling_url: str, whole_urls: list[str], args: argparse.Namespace) -> None:
    if args.base:
        t0 = time.perf_counter()
        for each in (url, ceiling_url, *whole_urls):
            load_base(each, args.base)
        print(f"bases of {args.base:,} orders loaded in {time.perf_counter() - t0:.0f} s")
    batch = messages(0, args.orders)
    rate = import_rate(url, batch)
    ceiling = ceiling_rate(ceiling_url, messages(0, args.orders))
    kind = make_engine(url).dialect.name
    print(
        f"{kind}: {args.orders:,} orders into {args.base:,}: import {rate:,.0f} orders/s, "
        f"hand-written SQL {ceiling:,.0f} orders/s, ratio {rate / ceiling:.2f} "
        f"(import per CPU second of this process: {CPU['import']:,.0f} orders)"
    )
    whole = {}
    with tempfile.TemporaryDirectory(prefix="pst-files-") as folder:
        for layout, whole_url in zip(args.layouts, whole_urls, strict=True):
            path = write_file(batch, layout, Path(folder))
            whole[layout] = whole_process_rate(whole_url, path, args.orders)
            print(
                f"  whole process, `postsales import` of {layout}: {whole[layout]:,.0f} orders/s "
                f"(ratio to the ceiling {whole[layout] / ceiling:.2f})"
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
                    "whole_process_per_s": {k: round(v) for k, v in whole.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
