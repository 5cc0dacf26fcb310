"""Postsales proved on real hosts (issue 15 item 5): the harness builds its own hosts in Linux
network namespaces, drives agents through a load balancer while it kills an app host, a relay
and the read replica and cuts an app host's network, scrapes every app host's metrics as
Prometheus would, and checks the money rules, the actions, the outbox, the sessions and the
scrapes. Then it adds a third app host and takes it out again, and fails the primary over to
the replica, as docs/deploy.md section 14 says, and checks the same on the new primary.

    sudo .venv/bin/python bench/hosts.py            # the full run (docs/benchmarks.md figures)
    sudo .venv/bin/python bench/hosts.py --short    # ~75 s of load, for CI
    sudo .venv/bin/python bench/hosts.py --cleanup  # remove what a crashed run left behind

Hosts (namespaces `psh-*` on the bridge `psh0`, 10.77.0.0/24; nothing else on the machine is
touched but the shared RabbitMQ, where the run uses an exchange and a queue of its own):

    root ns  10.77.0.1   the driver; haproxy (tcp) forwarding 10.77.0.1:5672 -> 127.0.0.1:5672
    app1     10.77.0.11  gunicorn (2 workers) :8000 + `postsales relay`
    app2     10.77.0.12  gunicorn (2 workers) :8000 + `postsales relay`
    app3     10.77.0.13  the same, started after the faults, reloaded into HAProxy, drained
    lb       10.77.0.20  haproxy (http, round robin, health check GET /readyz) :8080
    db1      10.77.0.31  PostgreSQL primary :5432 (initdb, as the `postgres` account)
    db2      10.77.0.32  PostgreSQL streaming replica :5432 (pg_basebackup -R from db1)

Needs root, iproute2, haproxy and PostgreSQL's server binaries (Debian's packages), and a
RabbitMQ on 127.0.0.1:5672 (POSTSALES_HOSTS_BROKER to name another). Exit 0 when every check
holds, 1 when one fails, 2 when the hosts could not be built.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BRIDGE = "psh0"
PREFIX = "psh-"
NET = "10.77.0"
HOSTS = {"app1": 11, "app2": 12, "app3": 13, "lb": 20, "db1": 31, "db2": 32}
STATE = Path("/run/psh-hosts")  # pids of root-namespace processes, for --cleanup
LOCK = Path("/run/psh-hosts.lock")  # one run at a time: they share the bridge and addresses
LB_URL = f"http://{NET}.20:8080"
PG_OS_USER = os.environ.get("POSTSALES_TEST_PG_OS_USER", "postgres")
BROKER_LOCAL = os.environ.get("POSTSALES_HOSTS_BROKER", "amqp://guest:guest@127.0.0.1:5672/")
RETRIABLE = {502, 503, 504}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(*cmd: str, check: bool = True, timeout: float = 180, **kw: Any) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def in_ns(host: str, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", PREFIX + host, *cmd]


def missing_prerequisites() -> str | None:
    """Why the harness cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth pairs, a bridge)"
    if not shutil.which("ip"):
        return "iproute2 (`ip`) not installed"
    if not shutil.which("haproxy"):
        return "haproxy not installed (apt-get install -y haproxy)"
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"):
        return "PostgreSQL server binaries (initdb, pg_basebackup) not installed"
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        return f"no {PG_OS_USER!r} account to run PostgreSQL as"
    probe = PREFIX + "probe"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode:
        return f"`ip netns add` refused: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(BROKER_LOCAL)).close()
    except Exception as exc:
        return f"no RabbitMQ at {BROKER_LOCAL}: {exc!r}"
    return None


# --------------------------------------------------------------------------------------------
# Cleanup: everything the harness makes is named psh-* / psh0, or recorded under STATE.


def cleanup(keep: Path | None = None) -> None:
    namespaces = sh("ip", "netns", "list", check=False).split()
    for ns in [n for n in namespaces if n.startswith(PREFIX)]:
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2)
        sh("ip", "netns", "del", ns, check=False)
    for name in glob.glob(str(STATE / "*.pid")):
        with contextlib.suppress(Exception):
            os.kill(int(Path(name).read_text()), signal.SIGKILL)
        Path(name).unlink(missing_ok=True)
    for link in sh("ip", "-o", "link", "show", check=False).splitlines():
        m = re.match(r"\d+: (vh-[a-z0-9]+)[@:]", link)
        if m:
            sh("ip", "link", "del", m.group(1), check=False)
    sh("ip", "link", "del", BRIDGE, check=False)
    for folder in glob.glob(str(Path(tempfile.gettempdir()) / "psh-hosts-*")):
        if keep is None or Path(folder) != keep:
            shutil.rmtree(folder, ignore_errors=True)


def build_network() -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for host, last in HOSTS.items():
        ns, outer, inner = PREFIX + host, f"vh-{host}", f"vn-{host}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        sh("ip", "link", "set", inner, "netns", ns)
        sh("ip", "link", "set", outer, "master", BRIDGE, "up")
        sh(*in_ns(host, "ip", "link", "set", "lo", "up"))
        sh(*in_ns(host, "ip", "addr", "add", f"{NET}.{last}/24", "dev", inner))
        sh(*in_ns(host, "ip", "link", "set", inner, "up"))
        sh(*in_ns(host, "ip", "route", "add", "default", "via", f"{NET}.1"))


# --------------------------------------------------------------------------------------------
# The hosts


class Hosts:
    def __init__(self, work: Path, exchange: str) -> None:
        self.work = work
        self.exchange = exchange
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.retired: list[subprocess.Popen[bytes]] = []  # reloaded HAProxy processes
        self.lb_socket = work / "lb.sock"
        self.pg_bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))[-1]).parent
        self.db_url = f"postgresql://postgres@{NET}.31:5432/postsales?connect_timeout=2"
        self.read_url = f"postgresql://postgres@{NET}.32:5432/postsales?connect_timeout=2"
        self.broker = f"amqp://guest:guest@{NET}.1:5672/"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("POSTSALES_")},
            "POSTSALES_DATABASE_URL": self.db_url,
            "POSTSALES_READ_DATABASE_URL": self.read_url,
            "POSTSALES_READ_MAX_LAG": "10",
            "POSTSALES_SECRET_KEY": secrets.token_hex(32),
            "POSTSALES_BILLING_KEY": _new_billing_key(),
            "POSTSALES_METRICS_TOKEN": secrets.token_hex(16),
            "POSTSALES_BROKER_URL": self.broker,
            "POSTSALES_WEB_TRUSTED_PROXIES": "1",
            "POSTSALES_LOG_FORMAT": "json",
        }

    # PostgreSQL -----------------------------------------------------------------------------

    def pg(self, host: str, tool: str, *args: str) -> str:
        return sh(*in_ns(host, "runuser", "-u", PG_OS_USER, "--", str(self.pg_bin / tool), *args))

    def pg_dir(self, host: str) -> Path:
        return self.work / host

    def pg_start(self, host: str) -> None:
        log_file = str(self.work / f"{host}-postgres.log")
        self.pg(
            host, "pg_ctl", "-D", str(self.pg_dir(host)), "-l", log_file, "-w", "-t", "60", "start"
        )

    def pg_stop(self, host: str, mode: str = "fast") -> None:
        self.pg(host, "pg_ctl", "-D", str(self.pg_dir(host)), "-m", mode, "-w", "stop")

    def build_databases(self) -> None:
        shutil.chown(self.work, PG_OS_USER)
        primary = self.pg_dir("db1")
        self.pg("db1", "initdb", "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync")
        sockets = self.work / "sock-db1"
        sockets.mkdir()
        shutil.chown(sockets, PG_OS_USER)
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{NET}.31'\nport = 5432\nunix_socket_directories = "
                f"'{sockets}'\nwal_level = replica\nmax_wal_senders = 4\nmax_connections = 200\n"
                "fsync = off\nsynchronous_commit = off\n"
            )
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {NET}.0/24 trust\nhost replication all {NET}.0/24 trust\n")
        self.pg_start("db1")
        replica = self.pg_dir("db2")
        self.pg(
            "db2",
            "pg_basebackup",
            "-h",
            f"{NET}.31",
            "-U",
            "postgres",
            "-D",
            str(replica),
            "-R",
            "--wal-method=stream",
        )
        sockets = self.work / "sock-db2"
        sockets.mkdir()
        shutil.chown(sockets, PG_OS_USER)
        with open(replica / "postgresql.conf", "a") as conf:  # the last setting wins
            conf.write(f"listen_addresses = '{NET}.32'\nunix_socket_directories = '{sockets}'\n")
        self.pg_start("db2")
        import psycopg

        with psycopg.connect(f"postgresql://postgres@{NET}.31:5432/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE postsales")

    # Processes ------------------------------------------------------------------------------

    def spawn(
        self, name: str, host: str | None, *cmd: str, extra: dict[str, str] | None = None
    ) -> None:
        out = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 (kept open by the child)
        argv = in_ns(host, *cmd) if host else list(cmd)
        self.procs[name] = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**self.env, **(extra or {})},
            cwd=self.work,
            start_new_session=True,
        )
        if host is None:
            STATE.mkdir(parents=True, exist_ok=True)
            (STATE / f"{name}.pid").write_text(str(self.procs[name].pid))

    def kill(self, name: str) -> None:
        """SIGKILL the process and all of its children (its own session): a host's crash."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, name: str, seconds: float = 30) -> None:
        """SIGTERM and wait: a host taken out on purpose (gunicorn finishes its requests)."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=seconds)

    def start_forwarder(self) -> None:
        host, port = re.match(r".*@([^:/]+):(\d+)", BROKER_LOCAL).groups()  # type: ignore[union-attr]
        cfg = self.work / "forwarder.cfg"
        cfg.write_text(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n"
            f"listen amqp\n  bind {NET}.1:5672\n  server broker {host}:{port}\n"
        )
        self.spawn("forwarder", None, "haproxy", "-db", "-f", str(cfg))

    def start_lb(self, apps: tuple[str, ...] = ("app1", "app2")) -> None:
        """HAProxy with `apps` behind it; called again, a reload (`-sf`: the old process
        finishes its connections, the new one takes the port), as `systemctl reload` does."""
        cfg = self.work / "lb.cfg"
        servers = "".join(f"  server {a} {NET}.{HOSTS[a]}:8000 check\n" for a in apps)
        cfg.write_text(
            f"global\n  maxconn 4096\n  stats socket {self.lb_socket} mode 600 level admin\n"
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 120s\n"
            "  timeout server 120s\n  retries 2\n  option redispatch\n  option forwardfor\n"
            f"frontend web\n  bind {NET}.20:8080\n  default_backend apps\n"
            "backend apps\n  balance roundrobin\n  option httpchk GET /readyz\n"
            "  http-check expect status 200\n  default-server inter 1s fall 2 rise 2\n" + servers
        )
        old = self.procs.pop("lb", None)
        finish = ["-sf", str(old.pid)] if old is not None else []
        self.spawn("lb", "lb", "haproxy", "-db", "-f", str(cfg), *finish)
        if old is not None:
            self.retired.append(old)

    def lb_command(self, command: str) -> str:
        """One command on HAProxy's runtime socket (what `socat` or `hatop` send)."""
        import socket

        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.lb_socket))
            sock.sendall(command.encode() + b"\n")
            return sock.recv(65536).decode()

    def start_app(self, host: str) -> None:
        metrics = self.work / f"metrics-{host}"
        ip = f"{NET}.{HOSTS[host]}"
        self.spawn(
            f"{host}-web",
            host,
            str(VENV_BIN / "gunicorn"),
            "-c",
            "python:postsales.adapters.web.gunicorn_conf",
            "-w",
            "2",
            "-b",
            f"{ip}:8000",
            "--timeout",
            "60",
            "postsales.adapters.web:create_app()",
            extra={"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        )
        self.start_relay(host)

    def start_relay(self, host: str) -> None:
        self.spawn(
            f"{host}-relay", host, str(VENV_BIN / "postsales"), "relay", "--exchange", self.exchange
        )

    def wait_ready(self, host: str, seconds: float = 60) -> float:
        import requests

        t0 = time.monotonic()
        url = f"http://{NET}.{HOSTS[host]}:8000/readyz"
        while time.monotonic() - t0 < seconds:
            with contextlib.suppress(Exception):
                if requests.get(url, timeout=2).status_code == 200:
                    return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"{host} not ready after {seconds} s (see {self.work}/{host}-web.log)")

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        for proc in self.retired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


def _new_billing_key() -> str:
    from postsales.core.crypto import new_key

    return str(new_key())


# --------------------------------------------------------------------------------------------
# The data: the demo, the driver's users and their tokens


def prepare_data(hosts: Hosts, orders: int, agents: int) -> tuple[list[dict[str, str]], list[str]]:
    run = partial_env(hosts)
    sh(str(VENV_BIN / "postsales"), "init", env=run, cwd=hosts.work)
    out = sh(
        str(VENV_BIN / "postsales"),
        "demo",
        "--orders",
        str(orders),
        env=run,
        cwd=hosts.work,
        timeout=900,
    )
    log("demo: " + " ".join(out.split()[:6]))
    users = []
    for i in range(agents):
        name, password = f"driver{i}", f"driver-pass-{i}-{secrets.token_hex(4)}"
        role = "supervisor" if i % 2 == 0 else "agent"  # agents' big appeasements wait
        sh(
            str(VENV_BIN / "postsales"),
            "users",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            input=password + "\n",
            env=run,
            cwd=hosts.work,
        )
        token = (
            sh(str(VENV_BIN / "postsales"), "users", "token", name, env=run, cwd=hosts.work)
            .strip()
            .split()[-1]
        )
        users.append({"name": name, "password": password, "token": token, "role": role})
    import psycopg

    with psycopg.connect(hosts.db_url.split("?")[0]) as c:
        shipped = [
            r[0]
            for r in c.execute(
                "SELECT id FROM orders WHERE status IN ('SHIPPED', 'COMPLETE', 'PARTIALLY_SHIPPED')"
            )
        ]
    return users, shipped


def partial_env(hosts: Hosts) -> dict[str, str]:
    return {**hosts.env, "POSTSALES_READ_DATABASE_URL": ""}


# --------------------------------------------------------------------------------------------
# The driver


class Record:
    __slots__ = ("ms", "ok", "op", "replica", "status", "t")

    def __init__(self, t: float, op: str, ms: float, ok: bool, status: str) -> None:
        self.t, self.op, self.ms, self.ok, self.status = t, op, ms, ok, status
        self.replica = False

    @property
    def refused(self) -> bool:
        """A 4xx: the rules or the state said no (a cap reached, lines already returned)."""
        return self.status.startswith("4")

    @property
    def error(self) -> bool:
        """A 5xx or no answer: what a fault costs."""
        return not self.ok and not self.refused


class Driver:
    """N agents, each a thread with a web session (cookie) and an API token."""

    def __init__(self, users: list[dict[str, str]], orders: list[str], seed: int) -> None:
        self.users = users
        self.orders = orders
        self.rng = random.Random(seed)
        self.records: list[Record] = []
        self.keys: dict[str, dict[str, Any]] = {}  # idempotency key -> what happened
        self.signed_out: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t0 = 0.0
        self.waiting: list[tuple[str, str]] = []  # (order, refund) REQUESTED, for a supervisor

    def note(self, t: float, op: str, ms: float, ok: bool, status: Any) -> Record:
        record = Record(t - self.t0, op, ms, ok, str(status))
        with self.lock:
            self.records.append(record)
        return record

    def sign_in(self, user: dict[str, str]) -> Any:
        import requests

        s = requests.Session()
        for _ in range(60):
            try:
                page = s.get(f"{LB_URL}/login", timeout=10)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                if token is None:  # 503 from the load balancer while it checks the hosts
                    time.sleep(0.5)
                    continue
                r = s.post(
                    f"{LB_URL}/login",
                    data={
                        "username": user["name"],
                        "password": user["password"],
                        "csrf_token": token.group(1),
                    },
                    allow_redirects=False,
                    timeout=10,
                )
                if r.status_code in (302, 303) and "/login" not in r.headers.get("Location", ""):
                    return s
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{user['name']} could not sign in")

    def run(self, seconds: float) -> None:
        try:
            sessions = [self.sign_in(u) for u in self.users]
        except BaseException:
            self.stop.set()
            raise
        self.t0 = time.monotonic()
        threads = [
            threading.Thread(
                target=self.agent, args=(u, s, random.Random(self.rng.random())), daemon=True
            )
            for u, s in zip(self.users, sessions, strict=True)
        ]
        for t in threads:
            t.start()
        self.stop.wait(seconds)
        self.stop.set()
        for t in threads:
            t.join(timeout=120)

    def agent(self, user: dict[str, str], web: Any, rng: random.Random) -> None:
        import requests

        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {user['token']}"
        supervisor = user["role"] == "supervisor"
        ops: list[tuple[str, Callable[..., None], int]] = [
            ("search", self.search, 30),
            ("grid", self.grid, 20),
            ("export", self.export, 4 if supervisor else 0),  # agents may not export
            ("appeasement", self.appease, 20),
            ("return", self.return_, 14),
            ("refund", self.refund, 12 if supervisor else 0),  # approving is a supervisor's
        ]
        names, funcs, weights = zip(*ops, strict=True)
        while not self.stop.is_set():
            i = rng.choices(range(len(ops)), weights)[0]
            try:
                funcs[i](user, web, api, rng)
            except Exception as exc:  # a bug of the driver must not end the run silently
                self.note(time.monotonic(), names[i], 0, False, f"driver:{type(exc).__name__}")
                time.sleep(0.1)

    # Reads ---------------------------------------------------------------------------------

    def timed_get(self, op: str, session: Any, url: str, **kw: Any) -> Any:
        import requests

        t = time.monotonic()
        try:
            r = session.get(url, timeout=30, **kw)
            status: Any = r.status_code
        except requests.RequestException as exc:
            r, status = None, type(exc).__name__
        ms = (time.monotonic() - t) * 1000
        record = self.note(t, op, ms, status == 200, status)
        if op == "search" and status == 200:
            record.replica = r.json().get("read_from") == "replica"
        return r

    def search(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        status = rng.choice(["SHIPPED", "COMPLETE", "NEW", "SHIPPED,COMPLETE"])
        self.timed_get(
            "search",
            api,
            f"{LB_URL}/api/v1/orders?status={status}&page={rng.randint(1, 3)}&per_page=20",
        )

    def web_get(self, op: str, user: dict[str, str], web: Any, path: str) -> None:
        for _ in range(40):
            r = self.timed_get(op, web, LB_URL + path, allow_redirects=False)
            if (
                r is not None
                and r.status_code in (302, 303)
                and "/login" in r.headers.get("Location", "")
            ):
                with self.lock:
                    self.signed_out[user["name"]] += 1
                return
            if r is not None and r.status_code == 200:
                if op == "export":
                    _ = r.content
                return
            if self.stop.is_set():
                return
            time.sleep(0.25)  # the load balancer has not yet seen a host die: try again

    def grid(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        self.web_get("grid", user, web, f"/orders?status=SHIPPED&page={rng.randint(1, 3)}")

    def export(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        self.web_get("export", user, web, "/orders/export?status=SHIPPED")

    # Actions -------------------------------------------------------------------------------

    def order(self, api: Any, rng: random.Random) -> dict[str, Any] | None:
        r = self.timed_get("order", api, f"{LB_URL}/api/v1/orders/{rng.choice(self.orders)}")
        return r.json() if r is not None and r.status_code == 200 else None

    def act(self, op: str, api: Any, order_id: str, name: str, body: dict[str, Any]) -> Any:
        """One action with an Idempotency-Key, retried with the same key over faults; every
        attempt has its own X-Request-Id, which lands in the history rows it writes."""
        import requests

        key = str(uuid.uuid4())
        entry: dict[str, Any] = {"op": op, "order": order_id, "attempts": [], "final": None}
        with self.lock:
            self.keys[key] = entry
        t = time.monotonic()
        for attempt in range(60):
            rid = f"psh-{key}-{attempt}"
            entry["attempts"].append(rid)
            try:
                r = api.post(
                    f"{LB_URL}/api/v1/orders/{order_id}/actions/{name}",
                    json=body,
                    timeout=30,
                    headers={"Idempotency-Key": key, "X-Request-Id": rid},
                )
                status: Any = r.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            if status not in RETRIABLE and isinstance(status, int):
                entry["replayed"] = r.headers.get("Idempotent-Replayed") == "true"
                break
            entry.setdefault("failed", []).append(str(status))
            time.sleep(0.25)
        entry["final"] = status
        self.note(t, op, (time.monotonic() - t) * 1000, status == 200, status)
        if status != 200:
            return None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            answer = r.json()
            made = set(answer["result"].get("refunds") or [])
            for refund in answer["order"].get("refunds", []):
                if refund["id"] in made and refund.get("status") == "REQUESTED":
                    with self.lock:
                        self.waiting.append((order_id, refund["id"]))
        return None

    def appease(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        doc = self.order(api, rng)
        if doc:
            line = rng.choice(doc["lines"])["line_number"]
            big = user["role"] == "agent" and rng.random() < 0.3  # above the agent's 50.00
            amount = f"{rng.randint(5001, 6000) / 100 if big else rng.randint(1, 150) / 100:.2f}"
            self.act(
                "appeasement",
                api,
                doc["id"],
                "appeasement",
                {"line": line, "amount": amount, "reason": "Late", "comment": "psh"},
            )

    def return_(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        doc = self.order(api, rng)
        if doc:
            line = rng.choice(doc["lines"])["line_number"]
            self.act(
                "return",
                api,
                doc["id"],
                "return",
                {"lines": [line], "reason": "Damaged", "comment": "psh"},
            )

    def refund(self, user: dict[str, str], web: Any, api: Any, rng: random.Random) -> None:
        """Approve a refund that waits for a supervisor (an agent's appeasement above its
        limit), else one found on a random order."""
        with self.lock:
            found = self.waiting.pop(rng.randrange(len(self.waiting))) if self.waiting else None
        if found is None:
            doc = self.order(api, rng)
            waiting = [f for f in (doc or {}).get("refunds", []) if f.get("status") == "REQUESTED"]
            if not (doc and waiting):
                time.sleep(0.05)
                return
            found = (doc["id"], rng.choice(waiting)["id"])
        self.act("refund", api, found[0], "approve_refund", {"refund_id": found[1]})


# --------------------------------------------------------------------------------------------
# Faults


class Faults(threading.Thread):
    """Each fault in turn: steady load, the fault at a random moment, down for a while, back."""

    def __init__(self, hosts: Hosts, driver: Driver, slot: float, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.hosts, self.driver, self.slot, self.rng = hosts, driver, slot, rng
        self.windows: list[tuple[str, float, float, float, float]] = []
        self.down: list[tuple[str, float, float]] = []  # (app host, from, to): no scrape expected
        self.scraped = ["app1", "app2"]  # the app hosts Prometheus scrapes now
        self.error: BaseException | None = None
        h = hosts
        # (label, the app host it takes away or None, fault, repair)
        self.plan: list[tuple[str, str | None, Callable[[], None], Callable[[], None]]] = [
            (
                "app1 killed (gunicorn + relay, SIGKILL)",
                "app1",
                lambda: (h.kill("app1-web"), h.kill("app1-relay")),
                lambda: (h.start_app("app1"), h.wait_ready("app1")),
            ),
            (
                "app2's relay killed (SIGKILL)",
                None,
                lambda: h.kill("app2-relay"),
                lambda: h.start_relay("app2"),
            ),
            (
                "replica stopped (immediate)",
                None,
                lambda: h.pg_stop("db2", "immediate"),
                lambda: h.pg_start("db2"),
            ),
            (
                # Its link to the bridge down: no packet in or out, no connection reset; the
                # load balancer, the database and the broker just stop hearing from it.
                "app2's network cut (link down)",
                "app2",
                lambda: sh("ip", "link", "set", "vh-app2", "down"),
                lambda: (sh("ip", "link", "set", "vh-app2", "up"), h.wait_ready("app2")),
            ),
        ]

    def at(self, t: float) -> None:
        while time.monotonic() - self.driver.t0 < t and not self.driver.stop.is_set():
            time.sleep(0.05)

    def now(self) -> float:
        return time.monotonic() - self.driver.t0

    def run(self) -> None:
        try:
            self.faults()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def faults(self) -> None:
        slot = self.slot
        start = self.now()
        for label, host, fault, repair in self.plan:
            before = start + slot  # a slot of steady load, then the fault at a random moment
            kill_at = before + self.rng.uniform(0, slot / 2)
            self.at(kill_at)
            t_kill = self.now()
            log(f"fault: {label} at {t_kill:.1f} s")
            fault()
            self.at(t_kill + slot)
            repair()
            t_back = self.now()
            log(f"repaired after {t_back - t_kill:.1f} s")
            self.windows.append((label, t_kill - slot, t_kill, t_back, t_back + slot))
            if host is not None:
                self.down.append((host, t_kill, t_back + 2))
            start = t_back + slot
        self.at(start)
        self.scale(start)

    def scale(self, start: float) -> None:
        """docs/deploy.md section 14 under the same load: add an app host (start it, wait for
        /readyz, add it to HAProxy and reload), then take it out (drain it on the runtime
        socket, wait for its requests, stop it)."""
        h, slot = self.hosts, self.slot
        t_add = self.now()
        log(f"scale: starting app3 at {t_add:.1f} s")
        h.start_app("app3")
        h.wait_ready("app3")
        h.start_lb(("app1", "app2", "app3"))
        t_in = self.now()
        self.scraped.append("app3")
        log(f"scale: app3 in the load balancer after {t_in - t_add:.1f} s")
        self.windows.append(("app3 added (HAProxy reload)", t_add - slot, t_add, t_in, t_in + slot))
        self.at(t_in + slot)
        t_drain = self.now()
        answer = h.lb_command("set server apps/app3 state drain").strip()
        if answer:
            raise RuntimeError(f"HAProxy refused the drain: {answer}")
        self.at(t_drain + 3)  # its requests finish; new ones go to app1 and app2
        self.scraped.remove("app3")
        self.down.append(("app3", t_drain, float("inf")))
        h.stop("app3-web")
        h.stop("app3-relay")
        t_out = self.now()
        log(f"scale: app3 drained and stopped after {t_out - t_drain:.1f} s")
        self.windows.append(
            ("app3 drained, then stopped", t_drain - slot, t_drain, t_out, t_out + slot)
        )
        self.at(t_out + slot)


class Scraper(threading.Thread):
    """Prometheus as an operations team runs it: every app host's `/metrics` (with the token)
    every 2 s, straight to the host, as a scrape job does, not through the load balancer."""

    def __init__(self, hosts: Hosts, driver: Driver, scraped: list[str]) -> None:
        super().__init__(daemon=True)
        self.scraped = scraped  # the app hosts to scrape now (the scale step adds and removes)
        self.token = hosts.env["POSTSALES_METRICS_TOKEN"]
        self.driver = driver
        self.results: list[tuple[str, float, bool]] = []  # (host, t, answered 200)
        self.last: dict[str, str] = {}  # host -> its last scrape's text
        self.stop = threading.Event()

    @staticmethod
    def url(host: str) -> str:
        return f"http://{NET}.{HOSTS[host]}:8000/metrics"

    def run(self) -> None:
        import requests

        auth = {"Authorization": f"Bearer {self.token}"}
        while not self.stop.wait(2.0):
            for host in list(self.scraped):
                try:
                    answer = requests.get(self.url(host), headers=auth, timeout=5)
                    ok = answer.status_code == 200
                    if ok:
                        self.last[host] = answer.text
                except requests.RequestException:
                    ok = False
                # When the answer (or its failure) came: a scrape a fault cut short counts in
                # that fault's window.
                self.results.append((host, time.monotonic() - self.driver.t0, ok))


# --------------------------------------------------------------------------------------------
# Checks


def check_money(db_url: str) -> list[str]:
    """D-1…D-4 over every order: refunds per line within gross, appeasements within net,
    refunds per order within the captured amount, and the guarded ledgers equal to the sums."""
    import psycopg

    problems = []
    with psycopg.connect(db_url.split("?")[0]) as c:
        lines = {
            (s, n): (g, net, rf, ap)
            for s, n, g, net, rf, ap in c.execute(
                "SELECT order_seq, line_number, gross_minor, net_minor, refunded_minor,"
                " appeased_minor"
                " FROM order_lines"
            )
        }
        orders = dict(
            (
                (s, (cap, rf))
                for s, cap, rf in c.execute(
                    "SELECT seq, captured_minor, refunded_minor FROM orders"
                )
            )
        )
        per_line: Counter[tuple[int, int]] = Counter()
        appeased: Counter[tuple[int, int]] = Counter()
        per_order: Counter[int] = Counter()
        for seq, kind, status, amount, rlines in c.execute(
            "SELECT order_seq, kind, status, amount_minor, lines FROM refunds"
        ):
            if status == "CANCELLED":
                continue
            if isinstance(rlines, str):
                rlines = json.loads(rlines)
            per_order[seq] += amount
            if sum(m for _, m in rlines) != amount:
                problems.append(f"refund of order seq {seq}: lines do not add up to its amount")
            for n, m in rlines:
                per_line[(seq, n)] += m
                if kind == "APPEASEMENT":
                    appeased[(seq, n)] += m
    for key, (gross, net, ledger_rf, ledger_ap) in lines.items():
        if per_line[key] > gross:
            problems.append(f"D-1: line {key} refunded {per_line[key]} > gross {gross}")
        if appeased[key] > net:
            problems.append(f"D-2: line {key} appeased {appeased[key]} > net {net}")
        if per_line[key] != ledger_rf or appeased[key] != ledger_ap:
            problems.append(
                f"ledger of line {key}: {ledger_rf}/{ledger_ap}, refunds say "
                f"{per_line[key]}/{appeased[key]}"
            )
    for seq, (captured, ledger) in orders.items():
        if per_order[seq] > captured:
            problems.append(f"D-4: order seq {seq} refunded {per_order[seq]} > captured {captured}")
        if per_order[seq] != ledger:
            problems.append(f"ledger of order seq {seq}: {ledger}, refunds say {per_order[seq]}")
    return problems


def check_actions(db_url: str, driver: Driver) -> tuple[list[str], Counter[str]]:
    """Each action answered 200 is in the history exactly once (one request wrote it); each
    refused one not at all. Keys whose every attempt failed may have run once, never twice."""
    import psycopg

    with psycopg.connect(db_url.split("?")[0]) as c:
        wrote = {
            r[0]
            for r in c.execute(
                "SELECT DISTINCT request_id FROM history WHERE request_id LIKE 'psh-%'"
            )
        }
    problems, tally = [], Counter()
    retried = [e for e in driver.keys.values() if e.get("failed")]
    if retried:
        failures = Counter(f for e in retried for f in e["failed"])
        replays = sum(bool(e.get("replayed")) for e in retried)
        tally[f"retried after {dict(failures)}, then replayed"] = replays
        tally[f"retried after {dict(failures)}, then ran"] = len(retried) - replays
    for key, e in driver.keys.items():
        effects = sum(rid in wrote for rid in e["attempts"])
        final = e["final"]
        tally[f"{e['op']} {final}"] += 1
        if effects > 1:
            problems.append(f"{e['op']} {key} on {e['order']}: applied {effects} times")
        elif final == 200 and effects == 0:
            problems.append(f"{e['op']} {key} on {e['order']}: answered 200, not in the history")
        elif isinstance(final, int) and 400 <= final < 500 and effects:
            problems.append(f"{e['op']} {key} on {e['order']}: answered {final} yet applied")
    return problems, tally


def check_metrics(scraper: Scraper, down: list[tuple[str, float, float]]) -> tuple[list[str], str]:
    """Every scrape of a host that was up answered; a scrape without the token is refused; the
    last scrape of each host counts its requests and the actions it ran since it started."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    problems = [
        f"{host}: the scrape at {t:.1f} s failed while the host was up"
        for host, t, ok in scraper.results
        if not ok and not any(h == host and a <= t <= b for h, a, b in down)
    ]
    parts = []
    for host in sorted({h for h, _, _ in scraper.results}):
        if host in scraper.scraped:  # still up
            refused = requests.get(Scraper.url(host), timeout=5).status_code
            if refused != 401:
                problems.append(f"{host}: /metrics without the token answered {refused}, not 401")
        text = scraper.last.get(host)
        if text is None:
            problems.append(f"{host}: never scraped")
            continue
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        requests_seen = sum(
            s.value for s in samples if s.name == "postsales_http_request_duration_seconds_count"
        )
        actions_ok = sum(
            s.value
            for s in samples
            if s.name == "postsales_actions_total" and s.labels.get("outcome") == "ok"
        )
        if not requests_seen or (not actions_ok and host != "app3"):  # app3: up for one slot
            problems.append(f"{host}: its metrics count {requests_seen:.0f} requests, "
                            f"{actions_ok:.0f} actions")  # fmt: skip
        mine = [ok for h, _, ok in scraper.results if h == host]
        parts.append(
            f"{host} {sum(mine)}/{len(mine)} scrapes answered, since its last start "
            f"{requests_seen:.0f} requests and {actions_ok:.0f} actions counted"
        )
    return problems, "; ".join(parts)


def drained(driver: Driver, faults: Faults) -> list[str]:
    """5xx answers while app3 was drained and stopped and the slot after (a drained server gets
    no new request, and gunicorn finishes the ones it has on SIGTERM)."""
    window = [w for w in faults.windows if w[0].startswith("app3 drained")]
    if not window:
        return ["the scale step did not run"]
    _, _, t_drain, _, t_end = window[0]
    bad = Counter(
        f"{r.op} {r.status}"
        for r in driver.records
        if t_drain <= r.t < t_end and r.status.isdigit() and int(r.status) >= 500
    )
    return [f"{n} times {what}" for what, n in bad.items()]


def failover_drill(
    hosts: Hosts,
    users: list[dict[str, str]],
    shipped: list[str],
    queue: str,
    seed: int,
    slot: float,
    received: set[str],
) -> tuple[list[str], str]:
    """docs/deploy.md section 14, "Failing over the database", command by command: the primary
    fails, the replica is promoted (`pg_ctl promote`), every app host and relay is pointed at
    it with no read replica and restarted; then agents work again and the checks run on the new
    primary. The messages the broker already received are not expected a second time."""
    t0 = time.monotonic()
    hosts.pg_stop("db1", "immediate")  # the primary's host fails
    log("failover: primary stopped; promoting the replica")
    hosts.pg("db2", "pg_ctl", "promote", "-D", str(hosts.pg_dir("db2")), "-w", "-t", "60")
    hosts.db_url = hosts.read_url
    hosts.env["POSTSALES_DATABASE_URL"] = hosts.read_url
    hosts.env["POSTSALES_READ_DATABASE_URL"] = ""  # until a new replica streams from it
    for host in ("app1", "app2"):
        hosts.kill(f"{host}-web")
        hosts.kill(f"{host}-relay")
        hosts.start_app(host)
    for host in ("app1", "app2"):
        hosts.wait_ready(host)
    wait_for_lb()
    back = time.monotonic() - t0
    log(f"failover: both app hosts ready on the new primary after {back:.1f} s; driving agents")
    driver = Driver(users, shipped, seed + 1)
    driver.run(slot)
    ok = [r for r in driver.records if r.ok]
    money = check_money(hosts.db_url)
    actions, tally = check_actions(hosts.db_url, driver)
    outbox, summary, _ = check_outbox(hosts.db_url, queue, already=received)
    problems = money + actions + outbox
    if not any(r.op in ("appeasement", "return", "refund") for r in ok):
        problems.append("no appeasement or return succeeded on the new primary")
    figures = (
        f"primary stopped to both hosts ready {back:.1f} s; then {len(ok) / slot:.1f} ok req/s "
        f"over {slot:.0f} s, {sum(r.error for r in driver.records)} errors; "
        f"actions {dict(sorted(tally.items()))}; outbox: {summary}"
    )
    return problems, figures


def declare_queue(exchange: str, queue: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(BROKER_LOCAL))
    ch = conn.channel()
    ch.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    ch.queue_declare(queue=queue, durable=True)
    ch.queue_bind(queue=queue, exchange=exchange, routing_key="#")
    conn.close()


def drain_queue(queue: str) -> list[str]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(BROKER_LOCAL))
    ch = conn.channel()
    ids = []
    while True:
        method, props, _ = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        ids.append(props.message_id)
    conn.close()
    return ids


def delete_broker_objects(exchange: str, queue: str) -> None:
    import pika

    with contextlib.suppress(Exception):
        conn = pika.BlockingConnection(pika.URLParameters(BROKER_LOCAL))
        ch = conn.channel()
        ch.queue_delete(queue=queue)
        ch.exchange_delete(exchange=exchange)
        conn.close()


def check_outbox(
    db_url: str, queue: str, seconds: float = 90, already: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], str, set[str]]:
    """Every outbox message reached the broker: this drain of the queue, or `already` (an
    earlier drain's). Returns the problems, a summary and the message ids received."""
    import psycopg

    deadline = time.monotonic() + seconds
    with psycopg.connect(db_url.split("?")[0], autocommit=True) as c:
        while True:
            pending = c.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(1)
        stored = {r[0] for r in c.execute("SELECT message_id FROM outbox")}
    got = drain_queue(queue)
    received = set(got)
    problems = []
    if pending:
        problems.append(f"{pending} outbox messages still unsent after {seconds:.0f} s")
    lost = stored - received - already
    if lost:
        problems.append(
            f"{len(lost)} outbox messages never reached the broker, e.g. {sorted(lost)[:3]}"
        )
    duplicates = len(got) - len(received)
    summary = (
        f"{len(stored)} outbox messages, {len(got)} received, {len(received & stored)} "
        f"distinct, {duplicates} duplicates"
    )
    return problems, summary, received


# --------------------------------------------------------------------------------------------
# Figures


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def figures(driver: Driver, windows: list[tuple[str, float, float, float, float]]) -> str:
    rows = [
        "| fault | window | s | ok req/s | refused | errors | p95 ms reads | p95 ms actions "
        "| searches on replica |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    reads = {"search", "grid", "export", "order"}
    for label, a, b, c, d in windows:
        for name, lo, hi in (("before", a, b), ("during", b, c), ("after", c, d)):
            rs = [r for r in driver.records if lo <= r.t < hi]
            ok = [r for r in rs if r.ok]
            searches = [r for r in ok if r.op == "search"]
            span = max(hi - lo, 1e-9)
            pr = p95([r.ms for r in ok if r.op in reads])
            pa = p95([r.ms for r in ok if r.op not in reads])
            share = sum(r.replica for r in searches) / len(searches) * 100 if searches else 0
            rows.append(
                f"| {label} | {name} | {span:.1f} | {len(ok) / span:.1f} | "
                f"{sum(r.refused for r in rs)} | {sum(r.error for r in rs)} | {pr:.0f} | "
                f"{pa:.0f} | {share:.0f} % |"
            )
    return "\n".join(rows)


def error_breakdown(driver: Driver, windows: list[tuple[str, float, float, float, float]]) -> str:
    lines = []
    for label, a, b, c, d in windows:
        for name, lo, hi in (("before", a, b), ("during", b, c), ("after", c, d)):
            errors = Counter(
                f"{r.op} {r.status}" for r in driver.records if lo <= r.t < hi and r.error
            )
            if errors:
                lines.append(f"  {label}, {name}: {dict(errors.most_common(6))}")
    return "\n".join(lines) or "  none"


# --------------------------------------------------------------------------------------------


def wait_for_lb(seconds: float = 30) -> None:
    """Until the load balancer's health checks have let the app hosts in: ten answers in a row
    (round robin, so both hosts answered)."""
    import requests

    deadline, in_a_row = time.monotonic() + seconds, 0
    while in_a_row < 10:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the load balancer at {LB_URL} does not answer")
        try:
            ok = requests.get(f"{LB_URL}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            ok = False
        in_a_row = in_a_row + 1 if ok else 0
        time.sleep(0.1 if ok else 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="~75 s of load (CI)")
    parser.add_argument("--slot", type=float, help="seconds before, during and after each fault")
    parser.add_argument("--agents", type=int, help="concurrent agents (default 6, short 4)")
    parser.add_argument("--orders", type=int, help="demo orders (default 400, short 150)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--cleanup", action="store_true", help="remove a crashed run's leftovers")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that cleanup runs
    why = "needs root" if os.geteuid() else None
    why = why or (None if args.cleanup else missing_prerequisites())
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    lock = open(LOCK, "w")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another bench/hosts.py run holds {LOCK}; wait for it to end", file=sys.stderr)
        return 2
    if args.cleanup:
        cleanup()
        log("cleaned up")
        return 0
    slot = args.slot or (8.0 if args.short else 25.0)
    agents = args.agents or (4 if args.short else 6)
    orders = args.orders or (150 if args.short else 400)
    rng = random.Random(args.seed)
    log(f"seed {args.seed}, {agents} agents, slot {slot:.0f} s, {orders} demo orders")
    cleanup()  # an earlier run's leftovers would hold the addresses
    work = Path(tempfile.mkdtemp(prefix="psh-hosts-"))
    run_id = uuid.uuid4().hex[:8]
    exchange, queue = f"psh-hosts-{run_id}", f"psh-hosts-{run_id}-all"
    hosts = Hosts(work, exchange)
    failed: list[str] = []
    try:
        try:
            build_network()
            hosts.start_forwarder()
            hosts.build_databases()
            log("network, forwarder, primary and replica up")
            declare_queue(exchange, queue)  # before any relay runs: every message lands in it
            users, shipped = prepare_data(hosts, orders, agents)
            hosts.start_lb()
            for host in ("app1", "app2"):
                hosts.start_app(host)
            for host in ("app1", "app2"):
                log(f"{host} ready in {hosts.wait_ready(host):.1f} s")
            wait_for_lb()
        except Exception as exc:
            print(f"could not build the hosts: {exc}", file=sys.stderr)
            return 2
        driver = Driver(users, shipped, args.seed)
        faults = Faults(hosts, driver, slot, rng)
        # an upper bound (the faults and the scale step end it first)
        total = len(faults.plan) * (slot + slot / 2 + slot + 60) + 3 * slot + 120
        log(f"driving {agents} agents through {LB_URL}")
        runner = threading.Thread(target=driver.run, args=(total,), daemon=True)
        runner.start()
        while not driver.t0:
            if driver.stop.is_set():
                print("the agents could not sign in", file=sys.stderr)
                return 2
            time.sleep(0.05)
        scraper = Scraper(hosts, driver, faults.scraped)
        scraper.start()
        faults.start()
        faults.join()
        driver.stop.set()
        scraper.stop.set()
        runner.join(timeout=180)
        scraper.join(timeout=30)
        if faults.error:
            failed.append(f"a fault or its repair failed: {faults.error!r}")
        log("load over; checking")
        money = check_money(hosts.db_url)
        actions, tally = check_actions(hosts.db_url, driver)
        outbox, summary, received = check_outbox(hosts.db_url, queue)
        metrics, scraped = check_metrics(scraper, faults.down)
        signed_out = sum(driver.signed_out.values())
        print("\n## Figures\n")
        print(figures(driver, faults.windows))
        print("\nerrors (5xx, no answer) by operation and status, each attempt counted:")
        print(error_breakdown(driver, faults.windows))
        every = Counter(r.op for r in driver.records if r.ok)
        print(f"ok by operation: {dict(sorted(every.items()))}")
        print(f"\nactions by outcome: {dict(sorted(tally.items()))}")
        print(f"requests: {len(driver.records)}, ok {sum(r.ok for r in driver.records)}")
        print(f"outbox: {summary}")
        print(f"metrics: {scraped}")
        print(f"load: {sh('uptime').strip()}")
        checks = [
            ("D-1…D-4 and the ledgers hold on every order", money),
            ("no action applied twice or lost", actions),
            ("every outbox message reached the broker", outbox),
            (
                "signed-in agents stayed signed in",
                [f"{n}: sent to sign in {k} times" for n, k in driver.signed_out.items()],
            ),
            ("every app host answered Prometheus while it was up", metrics),
            (
                "taking app3 out (drained, then stopped) cost no request a 5xx",
                drained(driver, faults),
            ),
        ]
        print("\n## Checks\n")
        for label, problems in checks:
            print(f"{'ok  ' if not problems else 'FAIL'} {label}")
            for p in problems[:10]:
                print(f"       {p}")
            failed += problems
        print(f"       ({signed_out} sign-in redirects)")
        print("\n## Failover drill (docs/deploy.md section 14)\n")
        drill, drilled = failover_drill(hosts, users, shipped, queue, args.seed, slot, received)
        print(drilled)
        print(f"{'ok  ' if not drill else 'FAIL'} the new primary serves agents; D-1…D-4, "
              "actions and outbox hold there")  # fmt: skip
        for p in drill[:10]:
            print(f"       {p}")
        failed += drill
        print(f"load: {sh('uptime').strip()}")
        return 1 if failed else 0
    finally:
        hosts.stop_all()
        with contextlib.suppress(Exception):
            hosts.pg_stop("db2", "immediate")
        with contextlib.suppress(Exception):
            hosts.pg_stop("db1", "immediate")
        delete_broker_objects(exchange, queue)
        # the namespaces (and anything left in them), the bridge, the pids, the work folder
        cleanup(keep=work if args.keep else None)
        if args.keep:
            log(f"kept {work}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
