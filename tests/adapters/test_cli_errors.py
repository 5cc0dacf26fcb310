"""CLI errors by kind (issue 12 item 6, SPEC §10): every error a user can cause exits 2, 3, 4 or
5 with one line naming it; 1 is a bug, said as such with where to report it. Database errors
never print SQL or its parameters (issue 17 item 11). Each case runs through Click's CliRunner
and through the installed `postsales` in a real process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from postsales.adapters.cli import commands  # noqa: F401  (registers the subcommands)
from postsales.adapters.cli.errors import issue_tracker
from postsales.adapters.cli.main import cli
from tests.conftest import example_path

POSTSALES = Path(sys.executable).parent / "postsales"


@attrs.frozen
class Run:
    code: int
    stdout: str
    stderr: str


Runner = Callable[..., Run]


def in_process(*args: str, env: dict[str, str] | None = None) -> Run:
    result = CliRunner().invoke(cli, list(args), env=env)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(params=["CliRunner", "process"])
def postsales(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    if request.param == "CliRunner":
        return in_process

    def process(*args: str, env: dict[str, str] | None = None) -> Run:
        done = subprocess.run(
            [str(POSTSALES), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=120,
        )  # in this folder, as the in-process runs: the billing key is var/billing.key here
        return Run(done.returncode, done.stdout, done.stderr)

    return process


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite database holding the example order 000000101."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert in_process("--db", url, "init").code == 0
    imported = in_process("--db", url, "import", str(example_path("order-create.json")))
    assert imported.code == 0, imported.stderr
    return url


def one_error_line(run: Run) -> str:
    """The error is one line on stderr, no traceback."""
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["orders", "show"], "Missing argument 'ORDER_ID'"),
        (["--colour", "red", "orders", "show", "1"], "No such option '--colour'"),
        (["orders", "search", "--page", "many"], "'many' is not a valid integer"),
        (["import", "no-such-file.json"], "no-such-file.json"),
    ],
)
def test_usage_errors_exit_2(postsales: Runner, args: list[str], says: str) -> None:
    run = postsales(*args)
    assert run.code == 2
    assert says in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("foo:bar", "database URL 'foo:bar' cannot be read"),
        ("mysql://me:secret@host/db", "Postsales runs on SQLite"),
        ("sqlite:///x.db?timeout=soon", "timeout='soon' is not a number of seconds"),
    ],
)
def test_a_bad_db_url_is_bad_input(postsales: Runner, url: str, says: str) -> None:
    run = postsales("--db", url, "orders", "show", "1")
    assert run.code == 2
    line = one_error_line(run)
    assert says in line
    assert "secret" not in line  # the password is never shown


def test_a_database_init_never_made_is_refused_with_exit_3(
    postsales: Runner, tmp_path: Path
) -> None:
    run = postsales("--db", f"sqlite:///{tmp_path / 'none.db'}", "orders", "show", "1")
    assert run.code == 3
    assert "is not initialised; run `postsales init`" in one_error_line(run)


def test_an_unreachable_database_server_exits_3(postsales: Runner) -> None:
    # Port 1 on the loopback: nothing listens there, the connection is refused at once.
    run = postsales("--db", "postgresql://me:secret@127.0.0.1:1/postsales", "orders", "show", "1")
    assert run.code == 3
    line = one_error_line(run)
    assert "unreachable" in line and "Connection refused" in line and "secret" not in line


@pytest.fixture
def held_lock(db: str) -> Iterator[str]:
    """Another process's write transaction on the database while the test runs."""
    path = db.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE orders SET status_reason = status_reason")
    yield db
    other.execute("ROLLBACK")
    other.close()


def test_a_locked_sqlite_file_exits_3_and_reads_still_work(
    postsales: Runner, held_lock: str
) -> None:
    url = f"{held_lock}?timeout=0.2"  # wait 0.2 s for the lock instead of 30
    write = postsales("--db", url, "act", "000000101", "comment", "--param", "text=hello")
    assert write.code == 3
    line = one_error_line(write)
    assert "is locked by another process" in line
    assert "BEGIN" not in line and "hello" not in line
    # Readers never take the write lock (issue 17 item 10): not even the start-up check.
    read = postsales("--db", url, "orders", "show", "000000101", "--json")
    assert read.code == 0, read.stderr


def test_a_read_only_sqlite_file_exits_5_and_reads_still_work(postsales: Runner, db: str) -> None:
    path = db.removeprefix("sqlite:///")
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    write = postsales("--db", url, "act", "000000101", "comment", "--param", "text=hello")
    assert write.code == 5
    assert "is read-only here" in one_error_line(write)
    assert postsales("--db", url, "orders", "show", "000000101").code == 0


def test_not_found_exits_4_with_the_id(postsales: Runner, db: str) -> None:
    run = postsales("--db", db, "orders", "show", "404404")
    assert run.code == 4
    assert "404404" in one_error_line(run)


@pytest.mark.parametrize(
    ("broker", "code", "says"),
    [
        ("amqp://guest:guest@127.0.0.1:1/", 3, "cannot connect to broker"),
        ("http://broker.example", 2, "broker URL must start with amqp://"),
        ("amqp://guest:guest@127.0.0.1:notaport/", 2, "cannot be used"),
    ],
)
def test_a_broker_down_or_a_bad_broker_url(
    postsales: Runner, db: str, broker: str, code: int, says: str
) -> None:
    run = postsales("--db", db, "relay", "--broker", broker, "--once")
    assert run.code == code, run.stderr
    assert says in one_error_line(run)


BUG_PROBE = """
import sys
from postsales.core.services import orders
def broken(*args, **kwargs):
    {body}
orders.show_order = broken
from postsales.adapters.cli import main
sys.argv = ["postsales", *sys.argv[1:]]
main()
"""
DIVIDE = "return 1 / 0"
# A statement that fails in the database: its text and parameters must not be shown.
BAD_SQL = (
    "from sqlalchemy import text\n"
    "    with args[0].uow() as uow:\n"
    "        uow.conn.execute(text('INSERT INTO orders (id) VALUES (:v)'), {'v': 'PARAM-42'})"
)


def run_bug(body: str, db: str, tmp_path: Path, env: dict[str, str] | None = None) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", BUG_PROBE.format(body=body), "--db", db, "orders", "show", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=tmp_path,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def test_a_bug_exits_1_with_one_line_saying_where_to_report_it(db: str, tmp_path: Path) -> None:
    run = run_bug(DIVIDE, db, tmp_path)
    assert run.code == 1
    line = one_error_line(run)
    assert "a bug in Postsales (ZeroDivisionError: division by zero)" in line
    assert issue_tracker().startswith("https://") and issue_tracker() in line
    assert "POSTSALES_DEBUG=1" in line
    debug = run_bug(DIVIDE, db, tmp_path, env={"POSTSALES_DEBUG": "1"})
    assert debug.code == 1 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr


def test_the_same_bug_through_clirunner(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from postsales.core.services import orders

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(orders, "show_order", broken)
    run = in_process("--db", db, "orders", "show", "1")
    assert run.code == 1
    assert "a bug in Postsales (KeyError: 'boom')" in one_error_line(run)
    as_json = in_process("--db", db, "orders", "show", "1", "--json")
    assert as_json.code == 1 and '"error": "bug"' in as_json.stderr


def test_a_database_error_never_prints_sql_or_parameters(db: str, tmp_path: Path) -> None:
    run = run_bug(BAD_SQL, db, tmp_path)
    assert run.code == 1  # a statement the code got wrong is a bug ...
    line = one_error_line(run)
    assert "IntegrityError: NOT NULL constraint failed" in line  # ... named by its reason
    for leaked in ("INSERT", "VALUES", "PARAM-42", "[SQL", "[parameters"):
        assert leaked not in run.stderr


def test_ctrl_c_exits_130(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from postsales.core.services import orders

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(orders, "show_order", interrupted)
    run = in_process("--db", db, "orders", "show", "1")
    assert run.code == 130 and "Traceback" not in run.stderr
