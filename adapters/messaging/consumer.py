"""`postsales consume`: inbound messages from a RabbitMQ queue into Postsales.

The queue is durable and bound to the durable topic exchange with the inbound types of SPEC §9
as binding keys (configurable). Each delivery goes through
`core.services.messages.inbox.receive` — the path of `postsales import` — and is acknowledged
only after its transaction committed; a transient database failure gives it back to the
broker (nack, requeue) after a short pause.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pika
import pika.exceptions

from postsales.core.bootstrap import Postsales
from postsales.core.services.messages.inbox import (
    APPLIED,
    DEAD_LETTER,
    DUPLICATE,
    RETRY,
    Inbox,
    Received,
    binding_keys,
)

from .amqp import (
    DEFAULT_EXCHANGE,
    BrokerError,
    declare_exchange,
    describe,
    parameters,
    safe_url,
)

log = logging.getLogger(__name__)


@attrs.define
class ConsumeReport:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried: int = 0

    @property
    def handled(self) -> int:
        return self.applied + self.duplicates + self.dead_lettered

    def count(self, outcome: str) -> None:
        if outcome == APPLIED:
            self.applied += 1
        elif outcome == DUPLICATE:
            self.duplicates += 1
        elif outcome == DEAD_LETTER:
            self.dead_lettered += 1
        elif outcome == RETRY:
            self.retried += 1


class Consumer:
    def __init__(
        self,
        app: Postsales,
        url: str,
        queue: str,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        bindings: Sequence[str] | None = None,
        prefetch: int = 50,
        committed: Callable[[Received, bytes], None] | None = None,
    ) -> None:
        """`bindings` default to every inbound type (with the configured prefix); pass `[]`
        to consume a queue bound elsewhere. `committed(outcome, body)` is called after the
        transaction and before the ack (fault-injection tests kill the consumer there)."""
        self.app = app
        self.url = url
        self.queue = queue
        self.exchange = exchange
        self.bindings = (
            list(bindings)
            if bindings is not None
            else binding_keys(app.settings.messages.type_prefix)
        )
        self.prefetch = prefetch
        self.committed = committed
        self.stopping = False
        self.report = ConsumeReport()
        self._attempts: OrderedDict[bytes, int] = OrderedDict()
        self._connected_once = False
        self._inbox = Inbox(app)

    def stop(self) -> None:
        """Finish the message in hand, give back the prefetched ones, return (signal-safe)."""
        self.stopping = True

    def _open(self) -> tuple[Any, Any]:
        try:
            conn = pika.BlockingConnection(parameters(self.url))
            channel = conn.channel()
            declare_exchange(channel, self.exchange)
            channel.queue_declare(queue=self.queue, durable=True)
            for key in self.bindings:
                channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=key)
            channel.basic_qos(prefetch_count=self.prefetch)
            self._connected_once = True
        except pika.exceptions.AMQPError as exc:
            raise BrokerError(f"cannot use broker {safe_url(self.url)}: {describe(exc)}") from exc
        return conn, channel

    def declare(self) -> None:
        """Declare the exchange, the queue and its bindings, then disconnect."""
        conn, _channel = self._open()
        conn.close()

    def run(
        self, *, once: bool = False, idle: float = 1.0, max_messages: int | None = None
    ) -> ConsumeReport:
        """Consume until `stop()`, `max_messages` handled, or (with `once`) `idle` seconds
        without a message."""
        conn, channel = self._open()
        try:
            for method, _props, body in channel.consume(self.queue, inactivity_timeout=idle):
                if method is None:  # nothing for `idle` seconds
                    if once or self.stopping:
                        break
                    continue
                self._handle(channel, method, body)
                if self.stopping or (max_messages and self.report.handled >= max_messages):
                    break
        except pika.exceptions.AMQPError as exc:
            raise BrokerError(f"broker connection lost: {describe(exc)}") from exc
        finally:
            try:
                if channel.is_open:
                    channel.cancel()  # prefetched, unacknowledged messages go back to the queue
                if conn.is_open:
                    conn.close()
            except pika.exceptions.AMQPError:
                pass  # closing anyway: the broker requeues what was not acknowledged
            self._inbox.close()
        return self.report

    def serve(self, *, idle: float = 1.0, max_messages: int | None = None) -> ConsumeReport:
        """`run()` until stopped, reconnecting with a growing pause when the broker is lost.

        A first connection that fails raises at once: a wrong URL or password is not a lost
        broker."""
        pause = 1.0
        while not self.stopping:
            try:
                self.run(idle=idle, max_messages=max_messages)
                pause = 1.0
            except BrokerError as exc:
                if not self._connected_once:
                    raise
                log.error("consume: %s; reconnecting in %.0f s", exc, pause)
                deadline = time.monotonic() + pause
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
                pause = min(pause * 2, 30.0)
            if max_messages and self.report.handled >= max_messages:
                break
        return self.report

    def _handle(self, channel: Any, method: Any, body: bytes) -> None:
        key = body[:4096]
        attempt = self._attempts.get(key, 0) + 1
        outcome = self._inbox.receive(body, attempt=attempt)
        self.report.count(outcome.outcome)
        self.app.metrics.message_consumed(outcome.outcome)
        if outcome.ack:
            self._attempts.pop(key, None)
            if outcome.outcome == DEAD_LETTER:
                log.warning("dead-lettered: %s", outcome.reason)
            if self.committed is not None:
                self.committed(outcome, body)
            channel.basic_ack(delivery_tag=method.delivery_tag)
            return
        self._attempts[key] = attempt
        while len(self._attempts) > 10_000:
            self._attempts.popitem(last=False)
        pause = min(0.1 * 2 ** min(attempt, 6), 5.0)
        log.warning("will retry (attempt %d, in %.1f s): %s", attempt, pause, outcome.reason)
        channel.connection.sleep(pause)  # keeps heartbeats going
        channel.basic_nack(delivery_tag=method.delivery_tag, requeue=True)
