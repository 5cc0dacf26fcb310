"""`relay` (outbox -> RabbitMQ) and `consume` (RabbitMQ -> Postsales), SPEC §9."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from postsales.core.errors import BadInput, Unavailable

from .errors import handled
from .main import cli, state
from .output import emit_json

if TYPE_CHECKING:
    from postsales.core.services.messages.outbox import RelayReport

BROKER_HELP = "RabbitMQ URL, amqp://user:password@host:5672/vhost (or POSTSALES_BROKER_URL)."
# SPEC §9's exchange, as `postsales.adapters.messaging.DEFAULT_EXCHANGE` (a test holds them
# equal): that package loads pika, which `postsales --help` must not import.
DEFAULT_EXCHANGE = "postsales"


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM/SIGINT ask for a clean stop (finish the batch or message in hand); a second one
    stops at once."""
    seen = []

    def handler(signum: int, _frame: Any) -> None:
        if seen:
            raise SystemExit(128 + signum)
        seen.append(signum)
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _logging() -> None:
    import logging

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
        )
    # pika logs every socket event, and each failure several times over; our messages say it.
    logging.getLogger("pika").setLevel(logging.CRITICAL)


@contextmanager
def _broker_errors() -> Iterator[None]:
    """A broker URL that cannot be used is bad input (2); a broker that is down or drops the
    connection is unavailable (3)."""
    from postsales.adapters.messaging import BrokerError, BrokerURLError

    try:
        yield
    except BrokerURLError as exc:
        raise BadInput(str(exc), field="broker") from None
    except BrokerError as exc:
        raise Unavailable(str(exc)) from None


def _log(name: str) -> Any:
    import logging

    return logging.getLogger(name)


def _relay_summary(r: RelayReport) -> str:
    text = f"{r.published} published"
    if r.delivered:
        text += f", {r.delivered} delivered by notifiers"
    if r.left:
        text += f", {r.left} left pending (no broker)"
    if r.failed:
        text += f", {len(r.failed)} failed (still pending)"
    return text


def _metrics_and_json(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `relay` and `consume` share: the metrics port and JSON totals."""
    for option in reversed(
        (
            click.option(
                "--metrics-port",
                type=click.IntRange(1, 65535),
                envvar="POSTSALES_METRICS_PORT",
                help="Serve Prometheus metrics on this port of --metrics-address (off by default).",
            ),
            click.option(
                "--metrics-address",
                default="127.0.0.1",
                show_default=True,
                help="Address of the metrics port (keep it off the public network).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON."),
        )
    ):
        command = option(command)
    return command


@cli.command()
@click.option("--broker", envvar="POSTSALES_BROKER_URL", help=BROKER_HELP)
@click.option("--once", is_flag=True, help="Send what is pending now, then exit.")
@click.option("--exchange", default=DEFAULT_EXCHANGE, show_default=True, help="Topic exchange.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds between polls of the outbox.",
)
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Messages published, confirmed and marked sent together.",
)
@_metrics_and_json
@handled
def relay(
    broker: str | None,
    once: bool,
    exchange: str,
    interval: float,
    batch_size: int,
    metrics_port: int | None,
    metrics_address: str,
    as_json: bool,
) -> None:
    """Publish pending outbox messages to RabbitMQ and mark them sent once confirmed.

    Every message goes to the durable topic exchange (default `postsales`) with its type as
    routing key, persistent, under publisher confirms; a batch is marked sent only after the
    broker confirmed all of it, so a relay that dies resends rather than loses. Message types a
    notifier plugin delivers (`notification.email` with `smtp_notifier` configured) are handed
    to it instead. Without --once the relay polls every --interval seconds until SIGTERM or
    Ctrl-C, which finish the batch in hand first.
    """
    from postsales.adapters.messaging import Relay

    app = state().app()
    if broker is None and not app.registry.notifiers_delivering():
        raise BadInput(
            "give --broker amqp://… (no notifier plugin delivers messages by itself)",
            field="broker",
        )
    _logging()
    _serve_metrics(app, metrics_port, metrics_address)
    worker = Relay(app, broker, exchange=exchange, batch_size=batch_size, interval=interval)
    log = _log("postsales.relay")
    try:
        with _broker_errors(), _stop_on_signals(worker.stop):
            if once:
                worker.once()
            else:
                log.info("relaying to exchange %r every %g s", exchange, interval)
                worker.run(on_pass=lambda r: log.info("relay: %s", _relay_summary(r)))
    finally:
        worker.close()
    total = worker.total
    if as_json:
        emit_json(
            {
                "published": total.published,
                "delivered": total.delivered,
                "left": total.left,
                "failed": [{"id": i, "reason": r} for i, r in total.failed],
            }
        )
    else:
        click.echo(_relay_summary(total))


@cli.command()
@click.option("--broker", envvar="POSTSALES_BROKER_URL", required=True, help=BROKER_HELP)
@click.option("--queue", required=True, help="Durable queue to consume (declared if missing).")
@click.option("--once", is_flag=True, help="Exit when the queue stays empty for --idle seconds.")
@click.option("--max-messages", type=click.IntRange(1), help="Exit after handling N messages.")
@click.option("--exchange", default=DEFAULT_EXCHANGE, show_default=True, help="Topic exchange.")
@click.option(
    "--bind",
    "bindings",
    multiple=True,
    help="Binding key (repeatable); default: every inbound message type, with the prefix.",
)
@click.option("--no-bind", is_flag=True, help="Bind nothing: the queue is bound elsewhere.")
@click.option(
    "--prefetch",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Messages taken from the queue ahead of the one in hand.",
)
@click.option(
    "--idle",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="With --once: seconds without a message that mean the queue is empty.",
)
@_metrics_and_json
@handled
def consume(
    broker: str,
    queue: str,
    once: bool,
    max_messages: int | None,
    exchange: str,
    bindings: tuple[str, ...],
    no_bind: bool,
    prefetch: int,
    idle: float,
    metrics_port: int | None,
    metrics_address: str,
    as_json: bool,
) -> None:
    """Apply inbound messages from a RabbitMQ queue, as `postsales import` does.

    Idempotent by message id; each message is acknowledged only after its transaction
    committed. Malformed or refused messages are kept as dead letters with the reason
    (`postsales dead-letters`) and acknowledged; a database outage gives the message back
    to the broker to try again. Runs until SIGTERM or Ctrl-C unless --once or --max-messages.
    """
    from postsales.adapters.messaging import Consumer

    app = state().app()
    # Long-running: a template that does not compile stops it now, not a message later.
    app.registry.check()
    _logging()
    _serve_metrics(app, metrics_port, metrics_address)
    worker = Consumer(
        app,
        broker,
        queue,
        exchange=exchange,
        bindings=[] if no_bind else (list(bindings) or None),
        prefetch=prefetch,
    )
    with _broker_errors(), _stop_on_signals(worker.stop):
        if once:
            worker.run(once=True, idle=idle, max_messages=max_messages)
        else:
            worker.serve(idle=idle, max_messages=max_messages)
    r = worker.report
    if as_json:
        emit_json(
            {
                "applied": r.applied,
                "duplicates": r.duplicates,
                "dead_lettered": r.dead_lettered,
                "retried": r.retried,
            }
        )
    else:
        click.echo(
            f"{r.applied} applied, {r.duplicates} duplicates, {r.dead_lettered} dead-lettered, "
            f"{r.retried} retried"
        )


def _serve_metrics(app: Any, port: int | None, address: str) -> None:
    """Prometheus metrics of this process (and the database's figures) on their own port."""
    if port is None:
        return
    from postsales.adapters.observability import PrometheusMetrics, serve_metrics

    app.metrics = PrometheusMetrics()
    serve_metrics(app, port, address)
