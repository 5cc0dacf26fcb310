"""The RabbitMQ door (SPEC §9): the outbox relay and the inbound consumer, with pika.

Like the web and CLI doors it only translates: the relay logic lives in
`postsales.core.services.messages.outbox` and the inbound path in
`postsales.core.services.messages.inbox` (which feeds `ingest`, the path of `postsales import`).
This package adds the broker: the durable topic exchange, publisher confirms, queues,
bindings, acknowledgements.
"""

from .amqp import DEFAULT_EXCHANGE, BrokerError, BrokerURLError, safe_url
from .consumer import Consumer, ConsumeReport
from .relay import Relay

__all__ = [
    "DEFAULT_EXCHANGE",
    "BrokerError",
    "BrokerURLError",
    "ConsumeReport",
    "Consumer",
    "Relay",
    "safe_url",
]
