"""`postsales relay`: the outbox to RabbitMQ, marked sent only after the broker confirmed.

One pass (`--once`) or a loop that polls every `interval` seconds until asked to stop (SIGTERM
or SIGINT: the current batch is finished and marked, then the relay exits). A lost broker or
database is retried with a growing pause in the loop; with `--once` it is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from postsales.core.bootstrap import Postsales
from postsales.core.faults import database_errors
from postsales.core.services.messages.outbox import OutboxMessage, RelayReport, relay_pass

from .amqp import DEFAULT_EXCHANGE, BrokerError
from .publisher import ConfirmingPublisher

log = logging.getLogger(__name__)


class Relay:
    def __init__(
        self,
        app: Postsales,
        url: str | None,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        batch_size: int = 500,
        interval: float = 1.0,
        confirmed: Callable[[Sequence[OutboxMessage]], None] | None = None,
    ) -> None:
        self.app = app
        self.url = url
        self.exchange = exchange
        self.batch_size = batch_size
        self.interval = interval
        self.confirmed = confirmed
        self.stopping = False
        self.total = RelayReport()
        self._publisher: ConfirmingPublisher | None = None

    def stop(self) -> None:
        """Ask the relay to finish its current batch and return (safe from a signal handler)."""
        self.stopping = True

    def _stopped(self) -> bool:
        return self.stopping

    def _connect(self) -> ConfirmingPublisher | None:
        if self.url is None:
            return None
        if self._publisher is None:
            self._publisher = ConfirmingPublisher(self.url, self.exchange)
        return self._publisher

    def _drop(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def once(self) -> RelayReport:
        """Send what is pending now; raises BrokerError or a database error."""
        publisher = self._connect()
        try:
            report = relay_pass(
                self.app,
                publisher.publish if publisher else None,
                batch_size=self.batch_size,
                should_stop=self._stopped,
                confirmed=self.confirmed,
            )
        except BrokerError:
            self._drop()
            raise
        self.total.add(report)
        return report

    def run(self, on_pass: Callable[[RelayReport], None] | None = None) -> RelayReport:
        """Poll until `stop()`; broker and database failures are logged and retried, except a
        first connection that fails (a wrong URL or password is not a lost broker)."""
        pause = self.interval
        self._connect()
        try:
            while not self.stopping:
                try:
                    report = self.once()
                except (BrokerError, *database_errors()) as exc:
                    log.error("relay: %s; retrying in %.0f s", _short(exc), pause)
                    self._wait(pause)
                    pause = min(pause * 2, 30.0)
                    continue
                pause = self.interval
                if on_pass is not None and (report.sent or report.failed):
                    on_pass(report)
                self._wait(self.interval)
        finally:
            self._drop()
        return self.total

    def _wait(self, seconds: float) -> None:
        if self._publisher is not None:
            try:
                self._publisher.idle(seconds, self._stopped)
                return
            except BrokerError as exc:
                log.error("relay: %s", exc)
                self._drop()
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def close(self) -> None:
        self._drop()


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}"
