"""Customer notifications through notifier plugins (issue 7 item 4): Jinja templates per
language recorded in the outbox by `outbox_notifier`, sent by `smtp_notifier` to a local SMTP
server (aiosmtpd) after commit — plain and with STARTTLS.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from postsales.adapters.messaging import Relay
from postsales.core.bootstrap import Postsales, bootstrap
from postsales.core.errors import ConfigError
from postsales.core.notifiers import Notification
from postsales.core.persistence import tables as T
from postsales.plugins.notifiers import email as email_plugin
from tests.conftest import _db_for, import_examples
from tests.integration import messaging_harness as H


class Sink:
    """An SMTP server's handler keeping what it was given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "postsales.yaml"
    path.write_text(text)
    return str(path)


def make_app(request: pytest.FixtureRequest, tmp_path: Path, yaml: str) -> Postsales:
    return bootstrap(config(tmp_path, yaml), _db_for(request, tmp_path, "sqlite"))


def outbox(app: Postsales) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(T.outbox).order_by(T.outbox.c.seq)))


def notification(**changes: Any) -> Notification:
    base = {
        "order_id": "000000101",
        "sales_channel": "ST1",
        "to": "veronica.costello@example.com",
        "customer_name": "Veronica Costello",
        "language": "en_US",
        "template": "order_shipped",
        "subject": "Your order has shipped",
        "data": {"carrier": "UPS", "tracking_number": "1Z9"},
    }
    return Notification(**{**base, **changes})


# -- rendering ---------------------------------------------------------------------------------
def test_templates_per_language_with_fallbacks() -> None:
    renderer = email_plugin.make_renderer({})
    en = renderer.render(notification())
    assert en.subject == "Your order 000000101 has shipped" and en.language == "en"
    assert "with UPS" in en.body and "Tracking number: 1Z9" in en.body
    fr = renderer.render(notification(language="fr_FR"))
    assert fr.language == "fr" and fr.subject == "Votre commande 000000101 a été expédiée"
    assert renderer.render(notification(language="ja_JP")).language == "en"  # default language
    other = renderer.render(
        notification(template="gift_card_issued", subject="Gift card issued", data={"code": "X1"})
    )
    assert other.subject == "Gift card issued (order 000000101)" and "Code: X1" in other.body


def test_a_deployment_overrides_templates_and_broken_ones_are_named(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    mail = tmp_path / "mail" / "en"
    mail.mkdir(parents=True)
    (mail / "order_shipped.txt").write_text(
        "{% block subject %}Shipped: {{ order_id }}{% endblock %}"
        "{% block body %}Via {{ carrier }}.{% endblock %}"
    )
    renderer = email_plugin.make_renderer({"templates": str(tmp_path / "mail")})
    assert renderer.render(notification()).subject == "Shipped: 000000101"
    assert renderer.render(notification(language="de_DE")).language == "de"  # built-in German
    (mail / "order_cancelled.txt").write_text("{% block subject %}{{ oops {% endblock %}")
    # Templates compile on first use (issue 18 item 1): a one-shot command starts, but the
    # start-up check of `config check`, the web app and the consumer names the broken one ...
    app = make_app(
        request, tmp_path, f"plugins:\n  outbox_notifier: {{templates: {mail.parent}}}\n"
    )
    with pytest.raises(ConfigError, match=r"template en/order_cancelled.txt line 1"):
        app.registry.check()
    # ... and so does its first use, as bad config rather than a crash.
    with pytest.raises(ConfigError, match=r"template en/order_cancelled.txt line 1"):
        renderer.render(notification(template="order_cancelled"))
    with pytest.raises(ConfigError, match=r"unknown option 'colour' @ \$.plugins.outbox_notifier"):
        make_app(request, tmp_path, "plugins:\n  outbox_notifier: {colour: red}\n")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ("{host: 127.0.0.1}", r"required when .* @ \$.plugins.smtp_notifier.from"),
        ("{host: h, from: a@b, tls: yes}", r"tls"),
        ("{host: h, from: a@b, port: lots}", r"expected a port number, got 'lots'"),
        ("{host: h, from: a@b, usernme: x}", r"unknown option .*smtp_notifier\.usernme"),
    ],
)  # fmt: skip
def test_smtp_options_are_checked_at_start_up(
    request: pytest.FixtureRequest, tmp_path: Path, options: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_app(request, tmp_path, f"plugins:\n  smtp_notifier: {options}\n")


def test_smtp_is_off_unless_configured(sqlite_app: Postsales) -> None:
    assert [n.name for n in sqlite_app.registry.notifiers] == ["outbox"]
    assert sqlite_app.registry.deliverer_for("notification.email") is None


# -- SMTP --------------------------------------------------------------------------------------
def test_smtp_sends_after_commit_from_the_relay(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    app = make_app(
        request,
        tmp_path,
        f"plugins:\n  smtp_notifier: {{host: 127.0.0.1, port: {port}, "
        f'from: "Luma <care@luma.example>"}}\n',
    )
    import_examples(app, "order-create.json", "shipment-shipped.json")
    assert sink.envelopes == []  # nothing is sent inside the transaction
    (mail_row,) = [r for r in outbox(app) if r.type == "notification.email"]
    report = Relay(app, None).once()  # no broker: only what a notifier delivers
    assert (report.delivered, report.published, report.left) == (1, 0, 2)
    (envelope,) = sink.envelopes
    assert envelope.rcpt_tos == ["veronica.costello@example.com"]
    text = envelope.content.decode()
    assert "Subject: Your order 000000101 has shipped" in text
    assert "From: Luma <care@luma.example>" in text
    assert f"Message-ID: <{mail_row.message_id}@postsales>" in text  # the same on a resend
    assert "Tracking number: 1Z999AA10123456784" in text
    sent = {r.type: r.sent_at for r in outbox(app)}
    assert sent["notification.email"] is not None
    assert sent["sales.order_management.updated"] is None  # waits for a broker
    assert Relay(app, None).once().delivered == 0


def test_an_unreachable_smtp_server_leaves_the_mail_pending(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    port = free_port()
    app = make_app(
        request,
        tmp_path,
        f"plugins:\n  smtp_notifier: {{host: 127.0.0.1, port: {port}, from: a@b.example, "
        "timeout: 2}\n",
    )
    import_examples(app, "order-create.json", "shipment-shipped.json")
    report = Relay(app, None).once()
    assert report.delivered == 0 and len(report.failed) == 1
    assert "smtp: ConnectionRefusedError" in report.failed[0][1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert Relay(app, None).once().delivered == 1
    finally:
        controller.stop()
    assert len(sink.envelopes) == 1


def test_with_a_broker_mail_goes_by_smtp_and_the_rest_to_the_exchange(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    broker = H.Broker(H.require_broker(pytest))
    try:
        sink, port = smtp
        app = make_app(
            request,
            tmp_path,
            f"plugins:\n  smtp_notifier: {{host: 127.0.0.1, port: {port}, from: a@b.example}}\n",
        )
        import_examples(app, "order-create.json", "shipment-shipped.json")
        exchange = broker.exchange()
        queue = broker.queue(exchange)
        relay = Relay(app, broker.url, exchange=exchange)
        report = relay.once()
        relay.close()
        assert (report.delivered, report.published, report.left) == (1, 2, 0)
        assert len(sink.envelopes) == 1
        assert [m["routing_key"] for m in broker.drain(queue)] == [
            "sales.order_management.updated"
        ] * 2
    finally:
        broker.close()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_smtp_with_starttls_and_login(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        logins.append((auth.login, auth.password))
        return AuthResult(success=auth.login == b"postsales" and auth.password == b"s3cret")

    sink, port = Sink(), free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        app = make_app(
            request,
            tmp_path,
            f"plugins:\n  smtp_notifier: {{host: 127.0.0.1, port: {port}, from: a@b.example, "
            f"tls: starttls, ca_file: {cert}, username: postsales, password: s3cret}}\n",
        )
        import_examples(app, "order-create.json", "shipment-shipped.json")
        assert Relay(app, None).once().delivered == 1
    finally:
        controller.stop()
    assert logins == [(b"postsales", b"s3cret")] and len(sink.envelopes) == 1


class Refusing(Sink):
    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"{self.code} no such mailbox" if self.code >= 500 else f"{self.code} try later"


@pytest.mark.parametrize(("code", "delivered", "failed"), [(550, 1, 0), (450, 0, 1)])
def test_a_recipient_refused_for_good_is_not_retried_a_temporary_refusal_is(
    request: pytest.FixtureRequest, tmp_path: Path, code: int, delivered: int, failed: int
) -> None:
    port = free_port()
    controller = Controller(Refusing(code), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(
            request,
            tmp_path,
            f"plugins:\n  smtp_notifier: {{host: 127.0.0.1, port: {port}, from: a@b.example}}\n",
        )
        import_examples(app, "order-create.json", "shipment-shipped.json")
        report = Relay(app, None).once()
    finally:
        controller.stop()
    assert (report.delivered, len(report.failed)) == (delivered, failed)
    (mail,) = [r for r in outbox(app) if r.type == "notification.email"]
    assert (mail.sent_at is not None) == (code >= 500)
