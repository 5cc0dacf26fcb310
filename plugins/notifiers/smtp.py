"""Customer e-mail by SMTP (SPEC §9). Off until configured::

    plugins:
      smtp_notifier:
        host: smtp.example.com        # required
        from: "Luma <care@luma.example>"  # required
        port: 587                     # default: 465 with tls: ssl, else 25
        tls: starttls                 # none (default) | starttls | ssl
        username: postsales           # optional, with password
        password: "..."
        ca_file: /etc/ssl/private-ca.pem   # optional: trust this CA for TLS
        timeout: 30                   # seconds

It sends the `notification.email` messages that `outbox_notifier` recorded, after their
transaction committed: `postsales relay` hands those messages to this plugin instead of the
broker and marks each sent once the SMTP server accepted it. A refused or unreachable server
leaves the message pending for the next pass; a recipient the server refuses for good
(5xx) is logged and not retried. Like every relay, delivery is at least once: a
relay that dies between the server's "250 OK" and the mark sends that e-mail again; its
`Message-ID` is the outbox message id, so mail clients can tell the copies apart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from postsales.core import EMAIL, ConfigError, Notifier, hookimpl

if TYPE_CHECKING:  # smtplib, ssl and email load when a message is sent, not at start-up
    import smtplib
    import ssl
    from email.message import EmailMessage

PLUGIN = "smtp_notifier"
TLS_MODES = ("none", "starttls", "ssl")
OPTIONS = ("host", "port", "tls", "username", "password", "from", "ca_file", "timeout")
log = logging.getLogger(__name__)


@attrs.frozen
class SmtpOptions:
    host: str
    sender: str
    port: int
    tls: str = "none"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0


def _fail(key: str, problem: str) -> ConfigError:
    return ConfigError([f"{problem} @ $.plugins.{PLUGIN}.{key}"])


def parse_options(options: Mapping[str, Any]) -> SmtpOptions:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = ", ".join(OPTIONS)
        raise _fail(unknown[0], f"unknown option (known: {known})")
    for key in ("host", "from"):
        if not str(options.get(key) or "").strip():
            raise _fail(key, "required when smtp_notifier is configured")
    tls = str(options.get("tls", "none"))
    if tls not in TLS_MODES:
        raise _fail("tls", f"must be one of {', '.join(TLS_MODES)}, got {tls!r}")
    port = options.get("port", 465 if tls == "ssl" else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _fail("port", f"expected a port number, got {port!r}")
    timeout = options.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise _fail("timeout", f"expected a number of seconds, got {timeout!r}")
    if bool(options.get("username")) != bool(options.get("password")):
        raise _fail("username", "username and password go together")
    return SmtpOptions(
        host=str(options["host"]),
        sender=str(options["from"]),
        port=port,
        tls=tls,
        username=options.get("username"),
        password=options.get("password"),
        ca_file=options.get("ca_file"),
        timeout=float(timeout),
    )


def build_message(message: Any, sender: str) -> EmailMessage | None:
    """The e-mail of one `notification.email` outbox message, or None without a recipient."""
    from email.message import EmailMessage
    from email.utils import formatdate

    p = message.payload
    if not p.get("to"):
        return None
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = p["to"]
    mail["Subject"] = p.get("subject") or "Your order"
    mail["Date"] = formatdate(localtime=False)
    # The same id every time it is sent: a resend after a crash is recognisably the same e-mail.
    mail["Message-ID"] = f"<{message.id}@postsales>"
    mail["X-Postsales-Order"] = str(p.get("order_id") or "")
    # Messages recorded before templates existed carry data but no body.
    body = p.get("body") or "\n".join(f"{k}: {v}" for k, v in (p.get("data") or {}).items())
    mail.set_content(body)
    return mail


class SmtpSender:
    def __init__(self, options: SmtpOptions) -> None:
        self.options = options

    def _context(self) -> ssl.SSLContext:
        import ssl

        return ssl.create_default_context(cafile=self.options.ca_file)

    def connect(self) -> smtplib.SMTP:
        import smtplib

        o = self.options
        if o.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                o.host, o.port, timeout=o.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(o.host, o.port, timeout=o.timeout)
            if o.tls == "starttls":
                smtp.starttls(context=self._context())
        if o.username:
            smtp.login(o.username, o.password or "")
        return smtp

    def deliver(self, message: Any) -> None:
        import smtplib

        mail = build_message(message, self.options.sender)
        if mail is None:
            log.warning("notification %s has no recipient; nothing sent", message.id)
            return
        try:
            with self.connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                # Permanent: sending again would be refused again (a poison message).
                log.error("notification %s: recipient refused for good %s", message.id, codes)
                return
            raise


@hookimpl
def postsales_register_notifiers(settings: Any) -> list[Notifier]:
    if PLUGIN not in settings.plugins:  # installed but not configured: off
        return []
    sender = SmtpSender(parse_options(settings.plugin_options(PLUGIN)))
    return [
        Notifier(
            name="smtp",
            deliver=sender.deliver,
            delivers=(EMAIL,),
            description=f"Sends notification.email by SMTP via {sender.options.host}.",
        )
    ]
