"""A control character a buyer typed never adds a header nor fails a send.

Each message goes to a real aiosmtpd server on loopback and is parsed back
from what that server received.
"""

from __future__ import annotations

from email.message import EmailMessage as ParsedMessage

import pytest
from sqlalchemy import select

from firsttouch.channels.control_chars import has_control, header_text, sms_text
from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.outbox import OutboxEmail
from firsttouch.channels.smtp import SmtpEmail
from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.store.db import Database
from firsttouch.store.models import OutboxMessage
from tests.channels.fakes import Received, SmtpSink

CONTROLS = ["\r\n", "\n", "\r", "\t", "\x00", "\x85", "\u2028", "\r\n\t\x00"]


def _message(**changes: object) -> EmailMessage:
    values: dict[str, object] = {
        "to": "ann@buyer.example",
        "from_address": "hello@nw.example",
        "subject": "Thanks",
        "text": "Hi Ann,\n\nThanks.",
        "html": "<p>Hi Ann,</p>",
        "message_id": "<ft.ctl@nw.example>",
    }
    values.update(changes)
    return EmailMessage(**values)  # type: ignore[arg-type]


def _send(message: EmailMessage) -> Received:
    with SmtpSink() as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        sender.send(message)
        sender.close()
    [got] = sink.received
    return got


def _head_lines(got: Received) -> list[bytes]:
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    # Each header line ends in CRLF, with no other control character in it.
    assert all(not has_control(line.decode("utf-8")) for line in lines)
    return lines


def _header_names(got: Received) -> list[str]:
    return [
        line.split(b":", 1)[0].decode()
        for line in _head_lines(got)
        if not line.startswith((b" ", b"\t"))
    ]


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_names_and_subject_with_a_control_character_arrive_on_one_line(
    control: str,
) -> None:
    got = _send(
        _message(
            to_name=f"Bob{control}Bcc: evil@example.com",
            from_name=f"Maya{control}Chen",
            subject=f"Pricing{control}Bcc: evil@example.com",
            in_reply_to=f"<q1@buyer.example>{control}Bcc: evil@example.com",
            headers={"X-Campaign": f"spring{control}Bcc: evil@example.com"},
        )
    )

    assert got.recipients == ["ann@buyer.example"]
    assert "Bcc" not in _header_names(got)
    mail: ParsedMessage = got.message
    assert mail["Bcc"] is None
    [to] = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == (
        "Bob Bcc: evil@example.com",
        "ann@buyer.example",
    )
    assert mail["From"].addresses[0].display_name == "Maya Chen"
    assert mail["Subject"] == "Pricing Bcc: evil@example.com"
    assert mail["X-Campaign"] == "spring Bcc: evil@example.com"
    assert mail["In-Reply-To"] == "<q1@buyer.example> Bcc: evil@example.com"


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_a_non_ascii_name_with_a_control_character_is_encoded_on_one_line(
    control: str,
) -> None:
    got = _send(
        _message(
            to_name=f"Jürgen{control}Bcc: evil@example.com",
            subject=f"Grüße{control}Bcc: evil@example.com",
        )
    )

    assert "Bcc" not in _header_names(got)
    mail = got.message
    assert mail["To"].addresses[0].display_name == "Jürgen Bcc: evil@example.com"
    assert mail["Subject"] == "Grüße Bcc: evil@example.com"


def test_a_name_of_control_characters_only_leaves_the_bare_address() -> None:
    got = _send(_message(to_name="\r\n\t\x00 ", subject="  Thanks\r\n"))

    assert got.message["To"] == "ann@buyer.example"
    assert got.message["Subject"] == "Thanks"


@pytest.mark.parametrize(
    "field", ["to", "reply_to", "from_address"], ids=["to", "reply_to", "from"]
)
@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\x00"], ids=repr)
def test_an_address_with_a_control_character_is_a_permanent_failure(
    field: str, control: str
) -> None:
    address = f"ann@buyer.example{control}Bcc: evil@example.com"
    with SmtpSink() as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        with pytest.raises(DeliveryError) as raised:
            sender.send(_message(**{field: address}))
        sender.close()

    assert sink.received == []
    assert raised.value.permanent
    assert "line break or another control character" in str(raised.value)
    assert not has_control(str(raised.value))


def test_the_outbox_keeps_a_folded_subject_and_refuses_a_broken_address(
    any_db: Database, clock: VirtualClock
) -> None:
    outbox = OutboxEmail(any_db, clock)
    outbox.send(_message(to_name="Bob\r\nBcc: x@example.com", subject="Hi\r\nthere"))

    with pytest.raises(DeliveryError) as raised:
        outbox.send(
            _message(to="ann@buyer.example\nBcc: x@example.com", message_id="<b@x>")
        )
    assert raised.value.permanent
    with any_db.sessions() as session:
        [kept] = session.scalars(select(OutboxMessage)).all()
    assert kept.subject == "Hi there"
    assert 'To: "Bob Bcc: x@example.com" <ann@buyer.example>\r\n' in (kept.raw or "")
    assert "\nBcc" not in (kept.raw or "")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Bob\r\nBcc: evil@example.com", "Bob Bcc: evil@example.com"),
        ("  Ann \t O'Brien\x00 ", "Ann O'Brien"),
        ("\u2028Lee\x7f\x9fKim", "Lee Kim"),
        ("plain", "plain"),
        ("\r\n", ""),
    ],
)
def test_header_text_folds_each_control_run_to_one_space(
    typed: str, written: str
) -> None:
    assert header_text(typed) == written


def test_sms_text_keeps_line_feeds_and_folds_the_rest() -> None:
    assert sms_text("Hi Bob\r\nBcc\tx\x00y\rend") == "Hi Bob\nBcc x y\nend"
    assert sms_text("Hi Ann,\n\nThanks.") == "Hi Ann,\n\nThanks."
