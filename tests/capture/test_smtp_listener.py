"""The SMTP listener stores each message once and answers 250 only after commit."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from firsttouch.capture.smtp_listener import start_smtp_listener
from firsttouch.errors import ConfigError
from firsttouch.store.models import Contact, Inbound


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def listener(runtime):  # type: ignore[no-untyped-def]
    running = start_smtp_listener(runtime, f"127.0.0.1:{free_port()}")
    yield running
    running.stop()


def lead_mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Priya Raman <priya@fernhill-clinics.example>"
    msg["To"] = "sales@northwindledger.example"
    msg["Subject"] = "Invoice automation for 12 clinics"
    msg["Message-ID"] = "<lead-1@fernhill-clinics.example>"
    msg.set_content("Hi, we process 4,000 invoices a month. Can we see a demo?")
    return msg


def test_mail_over_smtp_becomes_one_lead(runtime, listener) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
        refused = smtp.send_message(lead_mail())
        code, _ = smtp.noop()
    assert refused == {} and code == 250

    with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
        smtp.send_message(lead_mail())  # the sender's retry

    with runtime.db.sessions() as session:
        inbounds = list(session.scalars(select(Inbound)))
        contacts = session.scalar(select(func.count()).select_from(Contact))
    assert len(inbounds) == 1 and contacts == 1
    inbound = inbounds[0]
    assert inbound.channel == "email" and inbound.provider == "smtp"
    assert inbound.subject == "Invoice automation for 12 clinics"
    assert "4,000 invoices" in (inbound.body_text or "")
    assert inbound.fields["envelope_to"] == ["sales@northwindledger.example"]
    assert inbound.owner_id is not None


def test_listener_accepts_host_and_port_separately(runtime) -> None:  # type: ignore[no-untyped-def]
    running = start_smtp_listener(runtime, "127.0.0.1", free_port())
    try:
        with smtplib.SMTP(running.host, running.port, timeout=10) as smtp:
            assert smtp.noop()[0] == 250
    finally:
        running.stop()


# Names resolved without asking any DNS server: an alias of this machine, and
# a mail server elsewhere (TEST-NET-1).
HOSTS = {
    "vm": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    "mail.northwindledger.example": ["192.0.2.10"],
}


@pytest.fixture(autouse=True)
def _hosts_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:  # type: ignore[type-arg]
        addresses = HOSTS.get(host, [host])
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses]

    monkeypatch.setattr("firsttouch.capture.smtp_listener._getaddrinfo", getaddrinfo)


def _sending_to(runtime, host: str, port: int, *, outbox: bool = False) -> None:  # type: ignore[no-untyped-def]
    channels = runtime.workspace.channels
    smtp = channels.smtp.model_copy(update={"host": host, "port": port})
    channels = channels.model_copy(update={"outbox": outbox, "smtp": smtp})
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})


@pytest.mark.parametrize(
    ("sends_to", "listens_on"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("127.0.0.1", "0.0.0.0"),  # noqa: S104 - refused before anything binds
        ("vm", "127.0.0.1"),  # an alias of this machine
        ("localhost", "vm"),
    ],
)
def test_listening_where_the_workspace_sends_is_refused(
    runtime,  # type: ignore[no-untyped-def]
    sends_to: str,
    listens_on: str,
) -> None:
    port = free_port()
    _sending_to(runtime, sends_to, port)

    with pytest.raises(ConfigError, match="would answer its own emails"):
        start_smtp_listener(runtime, listens_on, port)


def test_listening_beside_the_outbound_server_or_with_the_outbox_is_allowed(
    runtime,  # type: ignore[no-untyped-def]
) -> None:
    port = free_port()
    _sending_to(runtime, "mail.northwindledger.example", port)
    start_smtp_listener(runtime, "127.0.0.1", port).stop()

    _sending_to(runtime, "127.0.0.1", port, outbox=True)  # nothing goes out by SMTP
    start_smtp_listener(runtime, "127.0.0.1", port).stop()


def test_internationalised_sender_is_accepted(runtime, listener) -> None:  # type: ignore[no-untyped-def]
    msg = EmailMessage()
    msg["From"] = "José Núñez <josé@bücher.example>"
    msg["To"] = "sales@northwindledger.example"
    msg["Subject"] = "Cotización"
    msg["Message-ID"] = "<utf8-1@xn--bcher-kva.example>"
    msg.set_content("¿Tienen integración con SAP?")

    with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
        smtp.send_message(msg, mail_options=["SMTPUTF8"])

    with runtime.db.sessions() as session:
        inbound = session.scalar(select(Inbound))
        contact = session.get(Contact, inbound.contact_id)
    assert inbound.subject == "Cotización"
    assert contact.email == "josé@bücher.example"
