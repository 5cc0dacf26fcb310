"""What both sides share: the exchange, connection parameters, errors."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pika
from pika.adapters.blocking_connection import BlockingChannel

DEFAULT_EXCHANGE = "postsales"
HEARTBEAT = 30  # seconds; both sides service heartbeats while they wait


class BrokerError(Exception):
    """The broker is unreachable, closed the connection, or did not confirm a publish."""


class BrokerURLError(BrokerError):
    """The broker URL itself cannot be used (a user's typing, not a lost broker)."""


def parameters(url: str) -> pika.URLParameters:
    """`amqp://user:password@host:port/vhost` with our heartbeat unless the URL sets one."""
    if not url.startswith(("amqp://", "amqps://")):
        raise BrokerURLError(
            f"broker URL must start with amqp:// or amqps://, got {safe_url(url)!r}"
        )
    try:
        params = pika.URLParameters(url)
    except (ValueError, TypeError) as exc:  # a port that is not a number, a bad option
        raise BrokerURLError(f"broker URL {safe_url(url)!r} cannot be used: {exc}") from None
    if "heartbeat=" not in url:
        params.heartbeat = HEARTBEAT
    if "blocked_connection_timeout=" not in url:
        params.blocked_connection_timeout = 60
    return params


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]  # as written: a port that is not a number stays text
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def describe(error: object) -> str:
    """A broker error in one line: pika wraps the real cause in layers with no text."""
    attempts = getattr(error, "exceptions", None)  # AMQPConnectionWorkflowFailed
    if attempts:
        return describe(attempts[-1])
    wrapped = getattr(error, "exception", None)  # AMQPConnectorSocketConnectError, …
    if isinstance(wrapped, BaseException):
        return describe(wrapped)
    if not isinstance(error, BaseException):
        return str(error) or "refused"
    if len(error.args) == 1 and isinstance(error.args[0], BaseException):
        return describe(error.args[0])
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def declare_exchange(channel: BlockingChannel, exchange: str) -> None:
    """The durable topic exchange every Postsales message goes through (routing key = type)."""
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
