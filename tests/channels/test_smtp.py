"""The SMTP sender against aiosmtpd on loopback: plain, STARTTLS, TLS, auth,
DKIM, threading headers and the error mapping."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import dkim
import pytest

from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.smtp import SmtpEmail, make_message_id
from firsttouch.config import Secret
from firsttouch.errors import DeliveryError
from tests.channels.fakes import SmtpSink, openssl, self_signed_cert


def _message(to: str = "ann@buyer.example") -> EmailMessage:
    return EmailMessage(
        to=to,
        from_address="hello@nw.example",
        from_name="Maya Chen",
        subject="Re: pricing",
        text="Hi Ann,\n\nThanks.",
        html="<p>Hi Ann,</p>",
        message_id=make_message_id("first_touch:1:email_reply", "hello@nw.example"),
        in_reply_to="<q1@buyer.example>",
        references=("<q0@buyer.example>", "<q1@buyer.example>"),
        headers={
            "List-Unsubscribe": "<https://ft.example/u/t>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


@pytest.fixture(scope="module")
def tls(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_a_server_slow_on_every_step_is_given_up_on_within_the_exchange() -> None:
    """Each reply in time, the whole too long: a retry must not find this
    call still talking to the server once the send's lease is over."""
    with SmtpSink(delay=0.4) as sink:
        sender = SmtpEmail(
            "127.0.0.1", sink.port, security="none", timeout=5.0, exchange_seconds=0.6
        )
        started = time.monotonic()
        with pytest.raises(DeliveryError) as failed:
            sender.send(_message())
        elapsed = time.monotonic() - started
        sender.close()

    assert not failed.value.permanent
    assert "longer than the exchange allows" in str(failed.value) or (
        "timed out" in str(failed.value)
    )
    assert elapsed < 2.0  # the exchange's 0.6 s, not the replies' 5 s each


def test_a_server_slow_on_every_step_is_waited_for_within_the_exchange() -> None:
    with SmtpSink(delay=0.2) as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none", timeout=5.0)
        sender.send(_message())
        sender.close()

    assert len(sink.received) == 1


def test_a_plain_send_carries_both_parts_and_the_threading_headers() -> None:
    with SmtpSink() as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        result = sender.send(_message())
        sender.close()
    [got] = sink.received
    mail = got.message
    assert got.recipients == ["ann@buyer.example"]
    assert mail["Message-ID"] == result["message_id"]
    assert mail["In-Reply-To"] == "<q1@buyer.example>"
    assert mail["References"] == "<q0@buyer.example> <q1@buyer.example>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.get_payload()] == [
        "text/plain",
        "text/html",
    ]


def test_the_message_id_is_the_same_for_the_same_key() -> None:
    first = make_message_id("k", "hello@nw.example")
    assert first == make_message_id("k", "hello@nw.example")
    assert first != make_message_id("k2", "hello@nw.example")
    assert first.endswith("@nw.example>")


def test_starttls_with_auth(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server, client = tls
    with SmtpSink(tls_context=server, credentials=("maya", "s3cret")) as sink:
        sender = SmtpEmail(
            "127.0.0.1",
            sink.port,
            security="starttls",
            username="maya",
            password=Secret("s3cret"),
            ssl_context=client,
        )
        sender.send(_message())
        sender.close()
    assert len(sink.received) == 1


def test_a_wrong_password_is_a_permanent_error(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server, client = tls
    with SmtpSink(tls_context=server, credentials=("maya", "s3cret")) as sink:
        sender = SmtpEmail(
            "127.0.0.1",
            sink.port,
            security="starttls",
            username="maya",
            password=Secret("wrong"),
            ssl_context=client,
        )
        with pytest.raises(DeliveryError) as caught:
            sender.send(_message())
    assert caught.value.permanent
    assert caught.value.provider_code == "535"


def test_implicit_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server, client = tls
    with SmtpSink(tls_context=server, implicit_tls=True) as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="tls", ssl_context=client)
        sender.send(_message())
        sender.close()
    assert len(sink.received) == 1


def test_a_refused_recipient_is_permanent_and_a_4xx_is_not() -> None:
    with SmtpSink() as sink:
        sink.refuse("gone@buyer.example", "550 5.1.1 no such user")
        sink.refuse("busy@buyer.example", "451 4.3.0 try again later")
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        with pytest.raises(DeliveryError) as gone:
            sender.send(_message("gone@buyer.example"))
        with pytest.raises(DeliveryError) as busy:
            sender.send(_message("busy@buyer.example"))
    assert gone.value.permanent and gone.value.provider_code == "550"
    assert not busy.value.permanent


def test_an_unreachable_server_is_worth_retrying() -> None:
    from tests.channels.fakes import free_port

    sender = SmtpEmail("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message())
    assert not caught.value.permanent


def test_dkim_signature_verifies(tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    openssl("genrsa", "-out", str(key), "2048")
    public = openssl("rsa", "-in", str(key), "-pubout", "-outform", "DER")
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    with SmtpSink() as sink:
        sender = SmtpEmail(
            "127.0.0.1",
            sink.port,
            security="none",
            dkim_selector="ft",
            dkim_private_key=Secret(key.read_text()),
        )
        sender.send(_message())
        sender.close()
    raw = sink.received[0].raw
    assert raw.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"ft._domainkey.nw.example."
        return record

    assert dkim.verify(raw, dnsfunc=dns)
