"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL.

`app` runs each test that uses it on both databases. PostgreSQL tests skip with a reason when the
server is absent, except in CI (`CI=true`), where its absence is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.crypto import KEY_ENV, KEY_FILE_ENV
from postsales.core.persistence import tables as T
from postsales.core.persistence.database import make_engine
from postsales.core.persistence.migrate import upgrade
from postsales.core.services.messages.inbound import import_lines

ROOT = Path(__file__).resolve().parents[1]
# The example outside plugin, which ./scripts/test installs into a folder of its own instead of
# the venv ./scripts/run serves from (issue 13 item 8): on the path of the tests and of the
# processes they start, and nowhere else.
TEST_PLUGINS = ROOT / "var" / "test-plugins"
if TEST_PLUGINS.is_dir():
    sys.path.insert(0, str(TEST_PLUGINS))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TEST_PLUGINS), os.environ.get("PYTHONPATH")) if p
    )

EXAMPLES = ROOT / "examples" / "messages"
PG_URL = os.environ.get("POSTSALES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


# The only reasons a test may skip: a service this machine may not run (never in CI).
SERVICES = ("PostgreSQL", "RabbitMQ", "chromium")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A skip for anything but an absent service, or any skip in CI, is a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    if os.environ.get("CI") == "true":
        report.outcome, report.longrepr = "failed", f"skipped in CI, where nothing may be: {reason}"
    elif not any(service in reason for service in SERVICES):
        report.outcome, report.longrepr = "failed", f"skipped without an absent service: {reason}"


def example_path(name: str) -> Path:
    """An example message of the project's own `examples/messages/`; a missing one is a failure
    (the project owns its test data: nothing may be skipped for want of a fixture)."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.fail(f"example message {name} is missing from {EXAMPLES}")
    return path


def example(name: str) -> dict:
    return json.loads(example_path(name).read_text())


def message_line(name: str, **changes: object) -> str:
    """An example message as one JSON line, with top-level envelope fields changed."""
    data = example(name)
    data.update(changes)
    return json.dumps(data)


@pytest.fixture(scope="session", autouse=True)
def billing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One billing key file for the session, unless the environment configures keys: a
    PostgreSQL database has no folder to keep its key beside (core/persistence/keys.py), and
    the module-wide search data set is built before any per-test fixture could set one. Tests
    of the default (a key beside the SQLite database) delete the variable themselves."""
    path = tmp_path_factory.mktemp("keys") / "billing.key"
    if not os.environ.get(KEY_ENV):
        os.environ.setdefault(KEY_FILE_ENV, str(path))
    return Path(os.environ.get(KEY_FILE_ENV, path))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _pg_available() -> str | None:
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip message
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="session")
def pg_schema_url() -> str:
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    schema = f"pst_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in T.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _make_app(url: str, config: str | None = None) -> Postsales:
    return bootstrap(config, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Postsales:
    """The services object on a fresh database — once on SQLite, once on PostgreSQL."""
    request.param  # noqa: B018
    url = _db_for(request, tmp_path)
    application = _make_app(url)
    yield application
    application.engine.dispose()


@pytest.fixture
def sqlite_app(request: pytest.FixtureRequest, tmp_path: Path) -> Postsales:
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "postsales.db"
    shutil.copy(template, path)
    application = _make_app(f"sqlite:///{path}")
    yield application
    application.engine.dispose()


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path: Path) -> Postsales:
    """The services object on a fresh PostgreSQL schema, for what only PostgreSQL does."""
    application = _make_app(_db_for(request, tmp_path, "postgres"))
    yield application
    application.engine.dispose()


def _db_for(request: pytest.FixtureRequest, tmp_path: Path, kind: str | None = None) -> str:
    """A fresh migrated database of `kind` (default: the `app` fixture's parameter)."""
    if (kind or request.param) == "postgres":
        url = request.getfixturevalue("pg_schema_url")
        _truncate_pg(url)
        return url
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "postsales.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def outbox_rows(application: Postsales, type_: str | None = None) -> list[SimpleNamespace]:
    """The outbox table's rows in order, each payload as it was emitted (one that carries a
    billing address is sealed at rest, S-6)."""
    from postsales.core.persistence.keys import cipher_for
    from postsales.core.persistence.sealing import open_outbox_payload

    query = select(T.outbox).order_by(T.outbox.c.seq)
    if type_ is not None:
        query = query.where(T.outbox.c.type == type_)
    with application.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    cipher = cipher_for(application.engine)
    for row in rows:
        row["payload"] = open_outbox_payload(cipher, row["message_id"], row["payload"])
    return [SimpleNamespace(**row) for row in rows]


def import_examples(application: Postsales, *names: str) -> None:
    report = import_lines(
        application, [example_path(n).read_text().replace("\n", " ") for n in names]
    )
    assert not report.refused, report.refused


@pytest.fixture
def shipped_order(app: Postsales) -> str:
    """The example order 000000101 imported and shipped (all five lines SHIPPED)."""
    import_examples(app, "order-create.json", "shipment-shipped.json")
    return "000000101"
