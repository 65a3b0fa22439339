"""The email bytes written without the email package's header machinery:
parsed back with that package, they give every header and part exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage as ParsedMessage

from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.smtp import SmtpEmail, render_email
from tests.channels.fakes import SmtpSink

UNSUBSCRIBE = (
    "<https://ft.example/u/" + "t" * 140 + ">, <mailto:u@nw.example?subject=stop>"
)


def _message(**changes: object) -> EmailMessage:
    values: dict[str, object] = {
        "to": "ann@buyer.example",
        "from_address": "hello@nw.example",
        "from_name": "Maya Chen (Northwind Ledger)",
        "to_name": "Ann O'Brien, Jr.",
        "subject": "Re: pricing",
        "text": "Hi Ann,\n\nThanks.\n.\nFrom here on",
        "html": "<p>Hi Ann,</p>\n",
        "message_id": "<ft.abc@nw.example>",
        "reply_to": "maya@nw.example",
        "in_reply_to": "<q1@buyer.example>",
        "references": ("<q0@buyer.example>", "<q1@buyer.example>"),
        "headers": {
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "date": datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC),
    }
    values.update(changes)
    return EmailMessage(**values)  # type: ignore[arg-type]


def _parse(raw: bytes) -> ParsedMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, ParsedMessage)
    return parsed


def _lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    return lines


def _head(raw: bytes) -> list[bytes]:
    return _lines(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n")


def test_every_header_and_both_parts_parse_back() -> None:
    raw = render_email(_message())
    mail = _parse(raw)
    assert mail["From"] == '"Maya Chen (Northwind Ledger)" <hello@nw.example>'
    assert mail["To"].addresses[0].display_name == "Ann O'Brien, Jr."
    assert mail["To"].addresses[0].addr_spec == "ann@buyer.example"
    assert mail["Subject"] == "Re: pricing"
    assert mail["Date"].datetime == datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)
    assert mail["Message-ID"] == "<ft.abc@nw.example>"
    assert mail["Reply-To"] == "maya@nw.example"
    assert mail["In-Reply-To"] == "<q1@buyer.example>"
    assert mail["References"] == "<q0@buyer.example> <q1@buyer.example>"
    assert mail["List-Unsubscribe"] == UNSUBSCRIBE
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["MIME-Version"] == "1.0"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content_charset() == "utf-8"
    assert text.get_content() == "Hi Ann,\r\n\r\nThanks.\r\n.\r\nFrom here on\r\n"
    assert html.get_content_type() == "text/html"
    assert html.get_content() == "<p>Hi Ann,</p>\r\n"
    assert not mail.defects and not text.defects and not html.defects


def test_lines_are_crlf_folded_at_spaces_and_uris_stay_whole() -> None:
    subject = "A long subject " + " ".join(f"word{n}" for n in range(40))
    raw = render_email(_message(subject=subject))
    head = _head(raw)
    assert all(len(line) <= 998 for line in _lines(raw))
    # Folded lines start with a space; only the URI token may pass 78.
    long_lines = [line for line in head if len(line) > 78]
    assert len(long_lines) == 1 and b"https://ft.example/u/ttt" in long_lines[0]
    assert b"List-Unsubscribe: <https://ft.example/u/" + b"t" * 140 + b">," in head
    assert sum(1 for line in head if line.startswith(b"Subject:")) == 1
    assert any(line.startswith(b" word") for line in head)
    assert _parse(raw)["Subject"] == subject


def test_non_ascii_names_and_subjects_become_encoded_words() -> None:
    subject = "Ré: ünsere Preise für 2026, " + "größer " * 20 + "日本語の件名"
    message = _message(
        from_name="Zoë Brontë-Åström (Nörthwind)",
        to_name="José Müller",
        subject=subject,
    )
    raw = render_email(message)
    assert raw.isascii()
    mail = _parse(raw)
    assert mail["Subject"] == subject
    assert str(make_header(decode_header(raw_header(raw, b"Subject")))) == subject
    sender = mail["From"].addresses[0]
    assert sender.display_name == "Zoë Brontë-Åström (Nörthwind)"
    assert sender.addr_spec == "hello@nw.example"
    assert mail["To"].addresses[0].display_name == "José Müller"
    words = [w for line in _head(raw) for w in line.split() if w.startswith(b"=?")]
    assert words and all(len(word) <= 75 for word in words)
    assert all(len(line) <= 78 for line in _head(raw) if b"https://" not in line)


def raw_header(raw: bytes, name: bytes) -> str:
    """The header's value as sent, unfolded (RFC 5322 section 2.2.3)."""
    unfolded = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    [line] = [ln for ln in unfolded.split(b"\r\n") if ln.startswith(name + b": ")]
    return line[len(name) + 2 :].decode("ascii")


def test_non_ascii_or_long_bodies_go_quoted_printable() -> None:
    text = "Grüße aus Köln,\n\n" + "x" * 1200 + "\nline with trailing space \nend"
    raw = render_email(_message(text=text, html="<p>Grüße</p>"))
    assert raw.isascii()
    assert all(len(line) <= 78 for line in _lines(raw.split(b"\r\n\r\n", 1)[1]))
    mail = _parse(raw)
    plain, html = mail.iter_parts()
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content() == text.replace("\n", "\r\n") + "\r\n"
    assert html.get_content() == "<p>Grüße</p>\r\n"


def test_a_message_without_names_or_threading() -> None:
    message = _message(
        from_name=None, to_name=None, reply_to=None, in_reply_to=None, references=()
    )
    mail = _parse(render_email(message))
    assert mail["From"] == "hello@nw.example"
    assert mail["To"] == "ann@buyer.example"
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert mail["Reply-To"] is None


def test_a_line_break_in_a_header_value_is_folded_to_a_space() -> None:
    raw = render_email(_message(subject="Hello\r\nBcc: victim@example.com"))

    assert b"Subject: Hello Bcc: victim@example.com\r\n" in raw
    assert not any(line.startswith(b"Bcc") for line in _head(raw))


def test_the_parts_are_framed_by_the_boundary() -> None:
    raw = render_email(_message(), boundary="b0undary")
    assert b'Content-Type: multipart/alternative; boundary="b0undary"' in raw
    assert raw.count(b"\r\n--b0undary\r\n") == 2
    assert raw.endswith(b"\r\n--b0undary--\r\n")
    chosen = _parse(render_email(_message())).get_boundary()
    assert chosen and chosen not in "Hi Ann,\n\nThanks.\n.\nFrom here on"


def test_smtp_carries_the_bytes_unchanged() -> None:
    message = _message(subject="Über uns")
    with SmtpSink() as sink:
        sender = SmtpEmail("127.0.0.1", sink.port, security="none")
        sender.send(message)
        sender.close()
    mail = sink.received[0].message
    assert mail["Subject"] == "Über uns"
    assert mail["Message-ID"] == "<ft.abc@nw.example>"
