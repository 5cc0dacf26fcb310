"""Prometheus metrics and JSON log lines, shared by the doors (issue 15 item 4).

The core reports through `postsales.core.observe.Metrics`; `PrometheusMetrics` is that
interface backed by `prometheus_client`. The metric objects are module-level, as
prometheus_client wants (one registry per process). With `PROMETHEUS_MULTIPROC_DIR` set before
start-up (gunicorn with several workers), every worker writes its samples there and a scrape
of any worker adds them up (prometheus_client's multiprocess mode, docs/deploy.md).

Figures that live in the database (refunds by status, outbox backlog, relay lag) are read at
scrape time, so every host reports the same truth whichever worker answers.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from postsales.core.bootstrap import Postsales
from postsales.core.observe import current_request_id
from postsales.core.services.monitoring import figures, pool_use

REQUEST_SECONDS = Histogram(
    "postsales_http_request_duration_seconds",
    "Time to answer a request, by route (the URL rule, not the path) and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ACTIONS = Counter(
    "postsales_actions_total",
    "Post-sales actions run, by action and outcome.",
    ["action", "outcome"],
)
CONSUMED = Counter(
    "postsales_messages_consumed_total", "Inbound messages handled, by outcome.", ["outcome"]
)
POOL = Gauge(
    "postsales_db_pool_connections",
    "Database connections of this process's pool, by state (summed over live processes).",
    ["state"],
    multiprocess_mode="livesum",
)


class PrometheusMetrics:
    """`postsales.core.observe.Metrics` on prometheus_client."""

    def action_run(self, name: str, outcome: str) -> None:
        ACTIONS.labels(name, outcome).inc()

    def message_consumed(self, outcome: str) -> None:
        CONSUMED.labels(outcome).inc()


def record_pool(app: Postsales) -> None:
    use = pool_use(app)
    if use is not None:
        POOL.labels("size").set(use.size)
        POOL.labels("checked_out").set(use.checked_out)
        POOL.labels("overflow").set(use.overflow)


class DatabaseCollector(Collector):
    """Figures read from the database when Prometheus scrapes."""

    def __init__(self, app: Postsales) -> None:
        self.app = app

    def collect(self) -> Iterable[GaugeMetricFamily]:
        f = figures(self.app)
        refunds = GaugeMetricFamily(
            "postsales_refunds", "Refunds in the database, by status.", labels=["status"]
        )
        for status, n in sorted(f.refunds_by_status.items()):
            refunds.add_metric([status], n)
        yield refunds
        yield GaugeMetricFamily(
            "postsales_outbox_pending", "Outbox messages not yet sent.", value=f.outbox_pending
        )
        replica = self.app.replica
        if replica is not None:
            state = replica.state()
            yield GaugeMetricFamily(
                "postsales_read_replica_in_use",
                "1 while reads go to the read replica, 0 while they fall back to the primary.",
                value=1 if state.use_replica else 0,
            )
            if state.lag_seconds is not None:
                yield GaugeMetricFamily(
                    "postsales_read_replica_lag_seconds",
                    "How far the read replica's replay is behind the primary, at the last check.",
                    value=state.lag_seconds,
                )
        yield GaugeMetricFamily(
            "postsales_relay_lag_seconds",
            "Age of the oldest unsent outbox message (0 when none waits).",
            value=f.relay_lag_seconds,
        )


def exposition(app: Postsales) -> tuple[bytes, str]:
    """The text a scrape gets: this process's (or, in multiprocess mode, every worker's)
    samples, then the database's figures."""
    record_pool(app)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    db = CollectorRegistry(auto_describe=False)
    db.register(DatabaseCollector(app))
    return own + generate_latest(db), CONTENT_TYPE_LATEST


class _ProcessAndDatabase(Collector):
    def __init__(self, app: Postsales) -> None:
        self.app = app

    def collect(self) -> Iterable[Any]:
        record_pool(self.app)
        yield from REGISTRY.collect()
        yield from DatabaseCollector(self.app).collect()


def serve_metrics(app: Postsales, port: int, address: str = "127.0.0.1") -> None:
    """A metrics endpoint of its own (a thread) for `postsales relay` and `consume`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessAndDatabase(app))
    start_http_server(port, addr=address, registry=registry)


def broker_reachable(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """A TCP connection to the AMQP broker's host and port (readiness; no login)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return False, f"broker {host}:{port} unreachable: {exc.__class__.__name__}"
    return True, "reachable"


# -- JSON log lines ---------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, and any
    `extra={"fields": {...}}` given to the log call."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or current_request_id()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send the `postsales` loggers to stderr as JSON lines (once per process)."""
    logger = logging.getLogger("postsales")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
