"""A real PostgreSQL streaming replica (issue 15 item 3): searches, totals, the work queue, the
dashboard and exports read there; order pages and actions on the primary; a replica that lags
beyond its bound or is down is skipped. The test builds its own primary and replica clusters
with initdb and pg_basebackup on free ports (PostgreSQL's binaries from Debian's packages),
never touching the machine's PostgreSQL. PostgreSQL refuses to run as root: as root the
clusters run as the `postgres` account (POSTSALES_TEST_PG_OS_USER to choose another).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from postsales.adapters.web import create_app
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import BadInput
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.replica import replica_from_env
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.orders import show_order
from postsales.core.services.schema import upgrade_database
from postsales.core.services.search import search_orders, work_queue
from postsales.core.services.tokens import issue_token
from postsales.core.services.users import add_user, get_user
from tests.adapters.test_web import PASSWORD, sign_in
from tests.conftest import import_examples
from tests.integration import messaging_harness as H

pytestmark = pytest.mark.postgres


def _problem(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clusters:
    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
        if not found:  # a CI job with PostgreSQL as a service container has no server here
            pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) not installed")
        self.bin = Path(found[-1]).parent
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = os.environ.get("POSTSALES_TEST_PG_OS_USER", "postgres")
            try:
                pwd.getpwnam(user)
            except KeyError:
                _problem(f"running as root and no {user!r} account to run PostgreSQL as")
            self.prefix = ["runuser", "-u", user, "--"]
            self.owner = user
        else:
            self.owner = pwd.getpwuid(os.geteuid()).pw_name
        self.root = Path(tempfile.mkdtemp(prefix="pst-replica-"))
        shutil.chown(self.root, self.owner)
        self.ports = {"primary": _free_port(), "replica": _free_port()}

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bin / tool), *args], capture_output=True, timeout=180
        )
        if done.returncode:
            raise RuntimeError(f"{tool}: {done.stderr.decode()[-2000:]}")

    def dir(self, name: str) -> str:
        return str(self.root / name)

    def url(self, name: str, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[name]}/{db}?connect_timeout=2"

    def start(self, name: str) -> None:
        log = self.dir(f"{name}.log")
        self.run("pg_ctl", "-D", self.dir(name), "-l", log, "-w", "-t", "60", "start")

    def stop(self, name: str, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", self.dir(name), "-m", mode, "-w", "stop")

    def build(self) -> None:
        primary = self.dir("primary")
        self.run("initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync")
        with open(Path(primary) / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.ports['primary']}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nwal_level = replica\n"
                "max_wal_senders = 4\nfsync = off\n"
            )
        with open(Path(primary) / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.start("primary")
        self.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U",
            "postgres", "-D", self.dir("replica"), "-R", "--wal-method=stream",
        )  # fmt: skip
        conf = Path(self.dir("replica")) / "postgresql.conf"
        conf.write_text(
            conf.read_text().replace(
                f"port = {self.ports['primary']}", f"port = {self.ports['replica']}"
            )
        )
        self.start("replica")

    def close(self) -> None:
        for name in ("replica", "primary"):
            with contextlib.suppress(Exception):  # already stopped
                self.run("pg_ctl", "-D", self.dir(name), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def clusters() -> Iterator[Clusters]:
    c = Clusters()
    try:
        c.build()
    except Exception as exc:
        c.close()
        _problem(f"could not build a primary and a replica: {exc}")
    yield c
    c.close()


def _wait(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def app(clusters: Clusters, request: pytest.FixtureRequest) -> Iterator[Postsales]:
    db = f"t{abs(hash(request.node.name)) % 10**8}"
    admin = make_engine(clusters.url("primary"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {db}"))
        conn.execute(text(f"CREATE DATABASE {db}"))
    admin.dispose()
    services = bootstrap(None, clusters.url("primary", db), read_replica=False)
    upgrade_database(services)
    replica = replica_from_env(
        services.engine,
        {
            "POSTSALES_READ_DATABASE_URL": clusters.url("replica", db),
            "POSTSALES_READ_MAX_LAG": "30",
        },
    )
    assert replica is not None
    assert _wait(lambda: _answers(replica.engine)), "the new database reached the replica"
    replica.check_every = 0
    services.replica = replica
    yield services
    replica.engine.dispose()
    services.engine.dispose()


def _answers(engine: object) -> bool:
    try:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("SELECT 1 FROM alembic_version"))
        return True
    except Exception:
        return False


def _replica_orders(app: Postsales) -> int:
    assert app.replica is not None
    with app.replica.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM orders")).scalar_one())


def _second_order(app: Postsales) -> str:
    data = H.order_create(2, prefix="rep")  # the example order under another id
    import_lines(app, [json.dumps(data)])
    return str(data["payload"]["order"]["id"])


def test_searches_read_the_replica_order_pages_the_primary_and_a_lagging_replica_is_skipped(
    app: Postsales, clusters: Clusters
) -> None:
    import_examples(app, "order-create.json")
    assert _wait(lambda: _replica_orders(app) == 1)
    admin = get_user(app, None)
    first = search_orders(app, admin)
    assert first.read_from == "replica" and first.total == 1
    assert first.lag_seconds is not None and first.lag_seconds <= 30
    assert work_queue(app, admin).read_from == "replica"

    assert app.replica is not None
    with app.replica.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        new = _second_order(app)
        # The replica (paused, within its 30 s bound) still answers searches: without the new
        # order. The order page reads the primary: the agent sees what was just written.
        behind = search_orders(app, admin)
        assert behind.read_from == "replica" and behind.total == 1
        assert show_order(app, new, admin)["id"] == new
        # Past the bound, searches go to the primary and see it.
        app.replica.max_lag = 0.5
        time.sleep(1.0)
        fallback = search_orders(app, admin)
        assert fallback.read_from == "primary" and fallback.total == 2
        assert app.read_state() == ("primary", None)
    finally:
        app.replica.max_lag = 30
        with app.replica.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("SELECT pg_wal_replay_resume()"))
    assert _wait(lambda: _replica_orders(app) == 2)
    assert search_orders(app, admin).read_from == "replica"


def test_the_orders_page_says_its_figures_come_from_the_replica(
    app: Postsales, clusters: Clusters, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTSALES_METRICS_TOKEN", "metrics-token-0123456789")
    import_examples(app, "order-create.json")
    add_user(app, "anna", ["agent"], PASSWORD)
    assert _wait(lambda: _replica_orders(app) == 1)
    web = create_app(app, secret_key="test-secret-key")
    web.config["TESTING"] = True
    client = web.test_client()
    sign_in(client)
    page = client.get("/orders").text
    assert "from a read replica" in page
    bearer = {"Authorization": f"Bearer {issue_token(app, 'anna')}"}
    api = client.get("/api/v1/orders", headers=bearer).json  # the API says it too, with its lag
    assert api["read_from"] == "replica" and api["total"] == 1
    assert api["lag_seconds"] is None or 0 <= api["lag_seconds"] <= 30
    queue = client.get("/queue")
    assert queue.status_code == 200  # empty here; a full queue's pager carries the same note
    ready = client.get("/readyz").json
    assert ready["status"] == "ready" and ready["checks"]["read_replica"]["in_use"] is True
    metrics = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"})
    assert "postsales_read_replica_in_use 1.0" in metrics.text
    assert "postsales_read_replica_lag_seconds" in metrics.text
    app.replica = None
    assert "from a read replica" not in client.get("/orders").text
    assert "read_from" not in client.get("/api/v1/orders", headers=bearer).json


def test_a_replica_that_is_down_falls_back_to_the_primary(
    app: Postsales, clusters: Clusters
) -> None:
    import_examples(app, "order-create.json")
    admin = get_user(app, None)
    assert _wait(lambda: _replica_orders(app) == 1)
    clusters.stop("replica")
    try:
        result = search_orders(app, admin)
        assert result.read_from == "primary" and result.total == 1
        assert app.replica is not None and "down" in app.replica.state().reason
    finally:
        clusters.start("replica")
    assert _wait(lambda: search_orders(app, admin).read_from == "replica")


def test_a_replica_that_dies_between_checks_costs_no_read(
    app: Postsales, clusters: Clusters
) -> None:
    """Between two checks of its state (every 2 s by default) the replica may die under a warm
    pooled connection: the next read still answers, from the primary (the several-hosts harness
    saw a 503 per gunicorn worker here)."""
    import_examples(app, "order-create.json")
    admin = get_user(app, None)
    assert _wait(lambda: _replica_orders(app) == 1)
    assert app.replica is not None
    app.replica.check_every = 3600  # the state stays "up" until a read finds otherwise
    assert search_orders(app, admin).read_from == "replica"  # a connection is now pooled
    clusters.stop("replica")
    try:
        result = search_orders(app, admin)
        assert result.read_from == "primary" and result.total == 1
        assert "down" in app.replica.state().reason
    finally:
        clusters.start("replica")
    app.replica.check_every = 0
    assert _wait(lambda: search_orders(app, admin).read_from == "replica")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_replica_that_dies_during_a_read_costs_no_read(
    app: Postsales, clusters: Clusters, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The replica dies after the read's connection was checked and before its statement ran:
    the search runs again on the primary and answers (a read changes nothing)."""
    import postsales.core.services.search as service

    import_examples(app, "order-create.json")
    admin = get_user(app, None)
    assert _wait(lambda: _replica_orders(app) == 1)
    real = service.page_rows
    stopped: list[bool] = []

    def replica_dies_first(*args: object, **kwargs: object) -> object:
        if not stopped:
            stopped.append(True)
            clusters.stop("replica", mode)  # the read's session is terminated, or just gone
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "page_rows", replica_dies_first)
    try:
        result = search_orders(app, admin)
        assert stopped and result.read_from == "primary" and result.total == 1
        assert app.replica is not None and "down" in app.replica.state().reason
    finally:
        clusters.start("replica")
    monkeypatch.setattr(service, "page_rows", real)
    assert _wait(lambda: search_orders(app, admin).read_from == "replica")


def test_the_environment_names_the_replica_and_its_bound(clusters: Clusters) -> None:
    primary = make_engine(clusters.url("primary"))
    try:
        replica = replica_from_env(
            primary,
            {"POSTSALES_READ_DATABASE_URL": clusters.url("replica"), "POSTSALES_READ_MAX_LAG": "3"},
        )
        assert replica is not None and replica.max_lag == 3
        assert replica.state().use_replica
        assert replica_from_env(primary, {}) is None
        with pytest.raises(BadInput, match="POSTSALES_READ_MAX_LAG='soon'"):
            replica_from_env(
                primary,
                {
                    "POSTSALES_READ_DATABASE_URL": clusters.url("replica"),
                    "POSTSALES_READ_MAX_LAG": "soon",
                },
            )
        with pytest.raises(BadInput, match="needs PostgreSQL"):
            replica_from_env(primary, {"POSTSALES_READ_DATABASE_URL": "sqlite:///x.db"})
    finally:
        primary.dispose()
