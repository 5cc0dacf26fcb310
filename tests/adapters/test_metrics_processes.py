"""Metrics across processes (issue 15 item 4): gunicorn with two workers in prometheus_client's
multiprocess mode adds every worker's samples into one scrape, and logs JSON lines with request
ids; `postsales consume --metrics-port` counts consumed messages by outcome."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from postsales.core.bootstrap import Postsales
from postsales.core.services.messages.inbox import binding_keys
from tests.integration import messaging_harness as H

TOKEN = "metrics-token-0123456789"
GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def total(text: str, name: str, **labels: str) -> float:
    out = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                out += float(line.rsplit(" ", 1)[1])
    return out


@pytest.fixture
def gunicorn(sqlite_app: Postsales, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    if GUNICORN is None:
        pytest.skip("gunicorn is not installed (pip install '.[web]')")
    port = free_port()
    env = {
        **os.environ,
        "POSTSALES_DATABASE_URL": H.db_url(sqlite_app),
        "POSTSALES_SECRET_KEY": "shared-secret-key-of-every-host-0123",
        "POSTSALES_METRICS_TOKEN": TOKEN,
        "POSTSALES_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    proc = subprocess.Popen(
        [GUNICORN, "-c", "python:postsales.adapters.web.gunicorn_conf", "-w", "2",
         "-b", f"127.0.0.1:{port}", "postsales.adapters.web:create_app()"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url + "/healthz", proc)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_two_gunicorn_workers_report_every_request_in_one_scrape(
    gunicorn: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, proc = gunicorn
    n = 40
    for _ in range(n):
        status, _, headers = get(url + "/login")
        assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-Id"])
    assert get(url + "/readyz")[0] == 200
    for _ in range(6):  # whichever worker answers the scrape, it counts both workers' requests
        status, body, _ = get(url + "/metrics", Authorization=f"Bearer {TOKEN}")
        assert status == 200
        text = body.decode()
        assert total(text, "postsales_http_request_duration_seconds_count", route="/login") == n
        assert "postsales_outbox_pending" in text
    assert get(url + "/metrics")[0] == 401
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    lines = [json.loads(x) for x in err.decode().splitlines() if x.startswith("{")]
    logged = [x for x in lines if x.get("logger") == "postsales.request"]
    assert len([x for x in logged if x["route"] == "/login"]) == n
    assert all(re.fullmatch(r"[0-9a-f]{32}", x["request_id"]) for x in logged)
    assert {x["status"] for x in logged if x["route"] == "/login"} == {200}


@pytest.mark.postgres
def test_consume_serves_its_metrics_on_its_own_port(pg_app: Postsales) -> None:
    broker = H.Broker(H.require_broker(pytest))
    try:
        exchange = broker.exchange()
        queue = broker.queue(exchange, keys=binding_keys())
        n = 10
        creates = [H.order_create(i, prefix="met") for i in range(n)]
        broker.publish(exchange, [(m["type"], json.dumps(m).encode()) for m in creates * 2])
        broker.publish(exchange, [("sales.order_management.create", b"not json")])
        port = free_port()
        proc = H.cli(
            H.db_url(pg_app), "consume", "--broker", broker.url, "--exchange", exchange,
            "--queue", queue, "--no-bind", "--metrics-port", str(port),
        )  # fmt: skip
        try:
            wait_up(f"http://127.0.0.1:{port}/metrics", proc)
            assert H._wait(lambda: broker.depth(queue) == 0, 60)
            text = ""
            for _ in range(100):
                text = get(f"http://127.0.0.1:{port}/metrics")[1].decode()
                consumed = "postsales_messages_consumed_total"
                if total(text, consumed) >= 2 * n + 1:
                    break
                time.sleep(0.1)
            assert total(text, consumed, outcome="applied") == n
            assert total(text, consumed, outcome="duplicate") == n
            assert total(text, consumed, outcome="dead_letter") == 1
            assert "postsales_outbox_pending" in text  # the database's figures too
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        broker.close()
