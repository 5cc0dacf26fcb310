"""Web throughput and latency: the orders view and the order page under concurrent load from a
second process (issue 6 item 8).

gunicorn serves the app with `--workers` sync workers on 127.0.0.1; this process signs in once,
then `--clients` threads (http.client, a new connection per request, as sync workers close
each one) request one page as fast as they can, bounded by `--requests` and `--seconds`.
Printed per page: requests/s and latency p50/p95/p99; then the same pages in-process through
Flask's test client (no network, no gunicorn) for the p95 the app itself costs.

    .venv/bin/python bench/web.py --orders 100000             # SQLite, built once, then reused
    .venv/bin/python bench/web.py --orders 1000000 --seconds 30
    .venv/bin/python bench/web.py --db postgresql://postgres@127.0.0.1/bench   # prepared DB

The SQLite database is built with bench/ingest.py's order messages through the real importer
and kept in `var/bench/web-<N>.db` (with its billing key beside it) for the next run.
Loopback only: the server binds 127.0.0.1 and the clients connect there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ingest.py, run as a script
from ingest import messages

from postsales.core.bootstrap import bootstrap
from postsales.core.crypto import KEY_ENV, new_key
from postsales.core.errors import NotFound
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.migrate import upgrade
from postsales.core.services.messages.inbound import Importer
from postsales.core.services.users import add_user, get_user

USER, PASSWORD = "bench", "bench-password-1"
HOST = "127.0.0.1"


# -- the database -----------------------------------------------------------------------------


def prepare_sqlite(orders: int, folder: Path) -> tuple[str, str]:
    """A SQLite database of `orders` bench orders (built once) and its billing key."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder.resolve() / f"web-{orders}.db"  # gunicorn runs in `folder`
    key_file = folder / f"web-{orders}.billing-key"
    if not key_file.exists():
        key_file.write_text(new_key() + "\n")
    key = key_file.read_text().strip()
    os.environ[KEY_ENV] = key  # the importer encrypts billing addresses with it
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(T.orders)).scalar_one()
    engine.dispose()
    if have < orders:
        app = bootstrap(None, url)
        t0 = time.perf_counter()
        for start in range(have, orders, 50_000):
            batch = messages(start, min(50_000, orders - start))
            report = Importer(app, batch_size=1000).run(batch)
            assert not report.refused, report.refused[:3]
            done = start + len(batch)
            rate = (done - have) / (time.perf_counter() - t0)
            print(f"  built {done:,}/{orders:,} orders ({rate:,.0f}/s)", file=sys.stderr)
        app.engine.dispose()
    return url, key


def prepare_user_and_ids(url: str, sample: int) -> tuple[list[str], int]:
    """The bench user (an agent) and a random sample of order ids to open."""
    app = bootstrap(None, url)
    try:
        get_user(app, USER)
    except NotFound:
        add_user(app, USER, ["agent"], PASSWORD)
    with app.engine.connect() as conn:
        top = conn.execute(select(func.max(T.orders.c.seq))).scalar_one() or 0
        total = conn.execute(select(func.count()).select_from(T.orders)).scalar_one()
        seqs = random.Random(1).sample(range(1, top + 1), min(sample, top))
        ids = list(conn.execute(select(T.orders.c.id).where(T.orders.c.seq.in_(seqs))).scalars())
    app.engine.dispose()
    if not ids:
        raise SystemExit("the database has no orders")
    return ids, total


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_gunicorn(url: str, key: str, workers: int, port: int, cwd: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "POSTSALES_DATABASE_URL": url,
        KEY_ENV: key,
        "POSTSALES_SECRET_KEY": secrets.token_hex(32),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "postsales.adapters.web:create_app()",
    ]
    server = subprocess.Popen(command, env=env, cwd=cwd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            status, _, _ = request(port, "GET", "/login")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()  # SIGTERM: gunicorn's graceful shutdown of its own workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# -- the clients ------------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, *, cookie: str = "", body: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def session_cookie(headers: dict[str, str]) -> str:
    return headers.get("set-cookie", "").split(";", 1)[0]


def sign_in(port: int) -> str:
    """Sign in through the form once; the rotated session cookie is shared by every client."""
    _, headers, page = request(port, "GET", "/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in form"
    form = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrf_token": token.group(1).decode()}
    )
    status, signed, _ = request(port, "POST", "/login", cookie=session_cookie(headers), body=form)
    assert status == 302, f"sign-in answered {status}"
    return session_cookie(signed)


def load(
    port: int, cookie: str, paths: list[str], clients: int, limit: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads share `limit` requests (or `seconds`), cycling through `paths`."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(limit))
    deadline = time.perf_counter() + seconds

    def client() -> None:
        mine: list[float] = []
        while time.perf_counter() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            path = paths[n % len(paths)]
            t0 = time.perf_counter()
            try:
                status, _, _ = request(port, "GET", path, cookie=cookie)
            except OSError as exc:
                status = 0
                errors.append(f"{path}: {exc}")
            mine.append(time.perf_counter() - t0)
            if status != 200 and status:
                errors.append(f"{path}: HTTP {status}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, time.perf_counter() - t0, errors)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summary(latencies: list[float], elapsed: float, errors: list[str]) -> dict[str, Any]:
    ordered = sorted(latencies)
    ms = {f"p{q}": round(percentile(ordered, q) * 1000, 1) for q in (50, 95, 99)}
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(elapsed, 2),
        "rps": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else None,
        **{f"{k}_ms": v for k, v in ms.items()},
    }


# -- in process -------------------------------------------------------------------------------


def in_process(url: str, paths: dict[str, list[str]], count: int) -> dict[str, dict[str, Any]]:
    """The same pages through Flask's test client, one at a time: the app's own cost."""
    from postsales.adapters.web import create_app

    app = create_app(bootstrap(None, url), secret_key=secrets.token_hex(16))
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    signed = client.post(
        "/login", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 302
    results = {}
    for name, urls in paths.items():
        for path in urls[:20]:  # warm caches and the connection pool
            client.get(path)
        latencies = []
        t0, cpu0 = time.perf_counter(), time.process_time()
        for n in range(count):
            start = time.perf_counter()
            response = client.get(urls[n % len(urls)])
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, (urls[n % len(urls)], response.status_code)
        results[name] = summary(latencies, time.perf_counter() - t0, [])
        # CPU time per page: what the app costs, much less moved by other load than latency.
        results[name]["cpu_ms"] = round((time.process_time() - cpu0) / count * 1000, 2)
    return results


# -- main -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": metadata.version("gunicorn"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="SQLite demo size")
    parser.add_argument("--db", help="a prepared database URL instead of the SQLite demo")
    parser.add_argument("--folder", default="var/bench", help="where the SQLite demo is kept")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=5000, help="per page, at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="per page, at most")
    parser.add_argument("--in-process", type=int, default=500, help="requests per page; 0: skip")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    if args.db:
        url, key = args.db, os.environ.get(KEY_ENV, "")
        if not key:
            raise SystemExit(f"--db needs {KEY_ENV}: the key the database was filled with")
    else:
        url, key = prepare_sqlite(args.orders, Path(args.folder))
    os.environ[KEY_ENV] = key
    ids, total = prepare_user_and_ids(url, 2000)
    pages = {
        "/orders": ["/orders"],
        "/orders/<id>": [f"/orders/{order_id}" for order_id in ids],
    }
    # The sign-in form: a template and a cookie, no database. It calibrates the machine (the
    # issue's "bare Flask page" figure) under the same load, at the same moment.
    reference = {"/login (reference)": ["/login"]}
    port = free_port()
    cwd = Path(args.folder).resolve()
    cwd.mkdir(parents=True, exist_ok=True)
    info = machine()
    server = start_gunicorn(url, key, args.workers, port, cwd)
    results: dict[str, Any] = {"orders": total, "db": url.split(":", 1)[0], "machine": info}
    try:
        cookie = sign_in(port)
        for name, paths in {**pages, **reference}.items():
            load(port, cookie, paths, args.clients, 50, 10)  # warm-up, not counted
            results[name] = load(port, cookie, paths, args.clients, args.requests, args.seconds)
    finally:
        stop(server)
    if args.in_process:
        results["in_process"] = in_process(url, pages, args.in_process)

    print(
        f"\n{total:,} orders ({results['db']}), gunicorn {info['gunicorn']} with {args.workers} "
        f"sync workers, {args.clients} client threads in one process, on {info['cpus']} CPUs "
        f"(load average {info['load_avg_1m']} at start)"
    )
    print(
        f"{'page':<20}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}"
    )
    for name in {**pages, **reference}:
        r = results[name]
        print(
            f"{name:<20}{r['requests']:>9}{r['errors']:>8}{r['rps']:>8.0f}{r['p50_ms']:>9}"
            f"{r['p95_ms']:>9}{r['p99_ms']:>9}"
        )
        for error in r["first_errors"]:
            print(f"  error: {error}")
    for name, r in results.get("in_process", {}).items():
        print(
            f"in-process {name}: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
            f"p99 {r['p99_ms']} ms ({r['rps']:.0f} req/s, one at a time; {r['cpu_ms']} ms CPU)"
        )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
