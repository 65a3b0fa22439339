"""Internationalised addresses against aiosmtpd on loopback, with and without
SMTPUTF8: an IDNA domain reaches any server, a UTF-8 local part only one that
offers SMTPUTF8, and any other refuses it for good with the reason."""

from __future__ import annotations

import base64
from dataclasses import replace
from email import message_from_string, policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from pathlib import Path

import dkim
import pytest

from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.smtp import SmtpEmail, make_message_id, render_email
from firsttouch.channels.smtp.addresses import (
    AddressError,
    needs_smtputf8,
    wire_address,
)
from firsttouch.config import Secret
from firsttouch.errors import DeliveryError
from tests.channels.fakes import SmtpSink, openssl

FROM = "hello@nw.example"
REFUSAL = (
    "the mail server does not accept internationalised addresses (SMTPUTF8); "
    "m***@exämple.de cannot be reached by email"
)


def _message(to: str, reply_to: str | None = None) -> EmailMessage:
    return EmailMessage(
        to=to,
        to_name="Jürgen Müller",
        from_address=FROM,
        from_name="Maya Chen",
        reply_to=reply_to,
        subject="Grüße aus Northwind",
        text="Hallo Jürgen,\n\ndanke.",
        html="<p>Hallo Jürgen,</p>",
        message_id=make_message_id(f"k:{to}", FROM),
    )


def _parsed(raw: bytes) -> MimeMessage:
    # The email package reads header bytes as ASCII; RFC 6532 headers are
    # UTF-8, so read them as text (the bodies we write are ASCII anyway).
    mail = message_from_string(raw.decode("utf-8"), policy=policy.default)
    assert isinstance(mail, MimeMessage)
    return mail


def _to(mail: MimeMessage) -> Address:
    [address] = mail["To"].addresses
    return address


def _send(sink: SmtpSink, message: EmailMessage) -> None:
    sender = SmtpEmail("127.0.0.1", sink.port, security="none")
    try:
        sender.send(message)
    finally:
        sender.close()


def test_a_domain_outside_ascii_goes_as_idna_to_a_server_without_smtputf8() -> None:
    with SmtpSink() as sink:
        _send(sink, _message("info@exämple.de"))

    [got] = sink.received
    assert got.recipients == ["info@xn--exmple-cua.de"]
    assert "SMTPUTF8" not in got.mail_options
    assert got.raw.isascii()
    to = _to(_parsed(got.raw))
    assert to.addr_spec == "info@xn--exmple-cua.de"
    assert to.display_name == "Jürgen Müller"
    assert b"To: =?utf-8?b?" in got.raw  # the name is still RFC 2047
    assert got.message["Subject"] == "Grüße aus Northwind"


def test_a_utf8_local_part_goes_with_smtputf8_when_the_server_offers_it() -> None:
    with SmtpSink(smtputf8=True) as sink:
        _send(sink, _message("müller@exämple.de"))

    [got] = sink.received
    assert got.recipients == ["müller@xn--exmple-cua.de"]
    assert "SMTPUTF8" in got.mail_options
    to = _to(_parsed(got.raw))
    assert to.addr_spec == "müller@xn--exmple-cua.de"
    assert to.display_name == "Jürgen Müller"
    # RFC 6532: the address itself in UTF-8, the display name still encoded.
    to_line = next(line for line in got.raw.split(b"\r\n") if line.startswith(b"To:"))
    assert to_line.startswith(b"To: =?utf-8?b?")
    assert to_line.endswith("<müller@xn--exmple-cua.de>".encode())
    assert got.text().startswith("Hallo Jürgen,")


def test_a_utf8_local_part_is_refused_for_good_without_smtputf8() -> None:
    with SmtpSink() as sink, pytest.raises(DeliveryError) as refused:
        _send(sink, _message("müller@exämple.de"))

    assert refused.value.permanent
    assert str(refused.value) == REFUSAL
    assert refused.value.provider_code == "smtputf8"
    assert sink.received == []


def test_a_utf8_reply_to_needs_smtputf8_too() -> None:
    message = _message("ann@buyer.example", reply_to="jürgen@nw.example")
    with SmtpSink() as plain, pytest.raises(DeliveryError) as refused:
        _send(plain, message)
    with SmtpSink(smtputf8=True) as able:
        _send(able, message)

    assert refused.value.permanent and "j***@nw.example" in str(refused.value)
    [got] = able.received
    assert got.recipients == ["ann@buyer.example"]
    assert _parsed(got.raw)["Reply-To"] == "jürgen@nw.example"


def test_the_same_connection_sends_ascii_mail_after_an_international_one() -> None:
    with SmtpSink(smtputf8=True) as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        sender.send(_message("müller@exämple.de"))
        sender.send(_message("ann@buyer.example"))
        sender.close()

    first, second = sink.received
    assert "SMTPUTF8" in first.mail_options
    assert "SMTPUTF8" not in second.mail_options
    assert second.recipients == ["ann@buyer.example"]


def test_a_domain_that_is_no_valid_idna_name_is_refused_for_good() -> None:
    with SmtpSink(smtputf8=True) as sink, pytest.raises(DeliveryError) as refused:
        _send(sink, _message("ann@-bücher.de"))

    assert refused.value.permanent
    assert "not a valid internationalised domain name" in str(refused.value)
    assert sink.received == []


def test_render_email_keeps_ascii_bytes_unless_a_local_part_is_utf8() -> None:
    plain = render_email(_message("info@exämple.de"))
    international = render_email(_message("müller@exämple.de"))

    assert plain.isascii()
    assert not international.isascii()
    assert _to(_parsed(international)).username == "müller"


@pytest.mark.parametrize(
    ("address", "wire", "utf8"),
    [
        ("ann@buyer.example", "ann@buyer.example", False),
        ("ann@BÜCHER.de", "ann@xn--bcher-kva.de", False),
        ("müller@buyer.example", "müller@buyer.example", True),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v", True),
    ],
)
def test_wire_address_writes_domains_as_a_labels(
    address: str, wire: str, utf8: bool
) -> None:
    assert wire_address(address) == wire
    assert needs_smtputf8(address) is utf8


@pytest.mark.parametrize("address", ["no-at-sign", "@buyer.example", "ann@ä..de"])
def test_wire_address_names_what_is_wrong(address: str) -> None:
    with pytest.raises(AddressError):
        wire_address(address)


def test_a_dkim_signature_over_utf8_headers_verifies_under_the_idna_domain(
    tmp_path: Path,
) -> None:
    key = tmp_path / "dkim.pem"
    openssl("genrsa", "-out", str(key), "2048")
    public = openssl("rsa", "-in", str(key), "-pubout", "-outform", "DER")
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    message = replace(_message("müller@exämple.de"), from_address="hallo@nörd.example")

    with SmtpSink(smtputf8=True) as sink:
        sender = SmtpEmail(
            "127.0.0.1",
            sink.port,
            security="none",
            dkim_selector="ft",
            dkim_private_key=Secret(key.read_text()),
        )
        sender.send(message)
        sender.close()
    [got] = sink.received

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"ft._domainkey.xn--nrd-sna.example."
        return record

    assert got.sender == "hallo@xn--nrd-sna.example"
    assert dkim.verify(got.raw, dnsfunc=dns)


def test_a_utf8_thread_header_needs_smtputf8_like_an_address() -> None:
    message = replace(
        _message("ann@buyer.example"), in_reply_to="<grüße.1@buyer.example>"
    )
    with SmtpSink() as plain, pytest.raises(DeliveryError) as refused:
        _send(plain, message)
    with SmtpSink(smtputf8=True) as able:
        _send(able, message)

    assert refused.value.permanent and "a***@buyer.example" in str(refused.value)
    [got] = able.received
    assert "SMTPUTF8" in got.mail_options
    assert _parsed(got.raw)["In-Reply-To"] == "<grüße.1@buyer.example>"
