"""The bytes of one email as they go on the wire, written directly.

The ``email`` package's header registry parses and refolds every header it
is given, which made building a message the costliest step of a first touch.
What we send has one fixed shape (headers we produce ourselves, then a
``multipart/alternative`` of a text and an HTML part), so it is written here
as bytes:

- lines end in CRLF; a header longer than 78 characters is folded at a space
  (RFC 5322 section 2.2.3) and never inside a token, so a long
  List-Unsubscribe URI stays whole;
- a non-ASCII subject or display name becomes RFC 2047 encoded words of at
  most 75 characters, each holding whole UTF-8 characters;
- a body part is 7bit when it is ASCII with lines within RFC 5322's 998,
  quoted-printable otherwise, so no server has to accept 8-bit data;
- every address has its domain as IDNA A-labels (``addresses.py``); a
  local part outside ASCII stays UTF-8 (RFC 6532), the one thing that can
  make the bytes non-ASCII, and then the message needs a server that
  takes SMTPUTF8;
- a control character (CR, LF, TAB, NUL, ...) in a display name, subject or
  any other header value is folded to a space before it is written
  (``control_chars.py``): a buyer's name can neither add a header nor make
  the send fail. An address holding one cannot be written (``AddressError``).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime

from firsttouch.channels.control_chars import header_text
from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.smtp.addresses import wire_address

FOLD_AT = 78
MAX_LINE = 998
# RFC 2047 section 2 allows an encoded word 75 characters. 39 bytes make 52
# base64 characters, 64 with the "=?utf-8?b?...?=" frame: the first word
# still fits a 78-character line after "Subject: " or "From: ".
WORD_BYTES = 39
CRLF = "\r\n"
# RFC 5322 specials: a word holding one cannot stand as a plain atom.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def render_email(message: EmailMessage, boundary: str | None = None) -> bytes:
    """Return ``message`` as RFC 5322 bytes: headers, text and HTML parts.

    The bytes are ASCII unless an address has a non-ASCII local part
    (``needs_smtputf8``). Raises ``AddressError`` for an address that cannot
    be written at all.
    """
    boundary = boundary or _boundary(message)
    head = [_header(name, value) for name, value in _headers(message)]
    head.append("MIME-Version: 1.0")
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    parts = [
        f"--{boundary}{CRLF}{_part('plain', message.text)}",
        f"--{boundary}{CRLF}{_part('html', message.html)}",
    ]
    wire = CRLF.join(head) + CRLF + CRLF + "".join(parts) + f"--{boundary}--{CRLF}"
    return wire.encode("utf-8")


def header_items(message: EmailMessage) -> list[tuple[str, str]]:
    """Return the message's own headers as (name, folded value), no MIME ones."""
    return [
        (name, _header(name, value)[len(name) + 2 :])
        for name, value in _headers(message)
    ]


def _headers(message: EmailMessage) -> list[tuple[str, str]]:
    # The Date comes from the message (our clock); the wall clock only if none.
    # It is UTC for certain, so "+0000" (RFC 5322 section 3.3), not "-0000".
    date = (message.date or datetime.now(UTC)).astimezone(UTC)
    fields = [
        ("From", mailbox(message.from_name, message.from_address)),
        ("To", mailbox(message.to_name, message.to)),
        ("Subject", unstructured(header_text(message.subject))),
        ("Date", format_datetime(date)),
        ("Message-ID", message.message_id),
    ]
    if message.reply_to:
        fields.append(("Reply-To", wire_address(message.reply_to)))
    if message.in_reply_to:
        # RFC 5322 section 3.6.4: both headers make the reply thread.
        fields.append(("In-Reply-To", message.in_reply_to))
        references = message.references or (message.in_reply_to,)
        fields.append(("References", " ".join(references)))
    fields.extend(message.headers.items())
    return fields


def _header(name: str, value: str) -> str:
    # A line break in a value would start a header of the buyer's choosing:
    # every value is folded onto one line (names and the subject already were,
    # before encoding; this catches threading and extra headers).
    return fold(f"{name}: {header_text(value)}")


def fold(line: str) -> str:
    """Fold a header line at spaces so each line fits 78 characters if it can.

    Unfolding (removing each CRLF) gives back ``line`` exactly.
    """
    if len(line) <= FOLD_AT:
        return line
    lines: list[str] = []
    current = ""
    for index, token in enumerate(line.split(" ")):
        if index == 0:
            current = token  # the field name and its colon
        elif index > 1 and current.strip() and len(current) + 1 + len(token) > FOLD_AT:
            lines.append(current)
            current = " " + token
        else:
            current = f"{current} {token}"
    lines.append(current)
    return CRLF.join(lines)


def unstructured(text: str) -> str:
    """Return a subject-like value, as encoded words when it is not ASCII."""
    if text.isascii():
        return text
    return " ".join(encoded_words(text))


def mailbox(name: str | None, address: str) -> str:
    """Return ``Name <address>``, the name quoted or encoded as it needs.

    Control characters in the name become spaces; a name left empty by that
    gives the bare address.

    The address's domain is written as IDNA A-labels when it is not ASCII.
    """
    address = wire_address(address)
    name = header_text(name or "")
    if not name:
        return address
    if name.isascii():
        return f"{_quoted(name)} <{address}>"
    return f"{phrase(name)} <{address}>"


def _quoted(name: str) -> str:
    # formataddr would do this, but it refuses an address outside ASCII.
    if _SPECIALS.search(name) is None:
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def phrase(name: str) -> str:
    """Return a display name with its non-ASCII runs as encoded words.

    Plain ASCII words stay as they are, between the encoded runs: mail
    readers that insert a space between two adjacent encoded words in a
    name (Python's own parser does) then still show the name right.
    """
    tokens: list[str] = []
    run: list[str] = []
    for word in name.split():
        if word.isascii() and _SPECIALS.search(word) is None and "=?" not in word:
            if run:
                tokens.extend(encoded_words(" ".join(run)))
                run.clear()
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens.extend(encoded_words(" ".join(run)))
    return " ".join(tokens)


def encoded_words(text: str) -> list[str]:
    """Split ``text`` into base64 encoded words of whole UTF-8 characters."""
    words: list[str] = []
    chunk = bytearray()
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > WORD_BYTES:
            words.append(_encoded_word(bytes(chunk)))
            chunk.clear()
        chunk += data
    if chunk or not words:
        words.append(_encoded_word(bytes(chunk)))
    return words


def _encoded_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def _part(subtype: str, text: str) -> str:
    lines = _lines(text)
    if text.isascii() and all(len(line) <= MAX_LINE for line in lines):
        encoding, body = "7bit", CRLF.join(lines)
    else:
        encoding, body = "quoted-printable", _quoted_printable(lines)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}{CRLF}{CRLF}"
    )


def _lines(text: str) -> list[str]:
    # Only CR, LF and CRLF end a line (str.splitlines knows a dozen more).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.removesuffix("\n").split("\n")


def _quoted_printable(lines: list[str]) -> str:
    data = "\n".join(lines).encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    return encoded.decode("ascii").replace("\n", CRLF)


def _boundary(message: EmailMessage) -> str:
    # Random, and checked against both bodies (RFC 2046 section 5.1.1).
    while True:
        boundary = f"=_ft_{secrets.token_hex(12)}"
        if boundary not in message.text and boundary not in message.html:
            return boundary
