"""Rebuild one RFC 5322 message from an inbound-parse provider's fields.

Mailgun, SendGrid and Postmark can post either the raw MIME or the message
already taken apart (headers, text, HTML). Putting the parts back together
lets every email, whichever way it arrived, go through the same
``email_to_event`` (charsets, forwarded leads, auto-reply detection).
The boundary is derived from the content, so a provider's retry rebuilds
byte-identical mail and de-duplicates even without a Message-ID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from email import encoders
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from typing import Any

from firsttouch.errors import InputError

# Headers that describe the provider's body, not the one rebuilt here.
_BODY_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


def body_part(fields: Any, name: str) -> str | None:
    """The text or HTML body a provider put under ``name``; 400 if not text.

    Providers send a string or nothing; a number or an object there would
    otherwise fail deep in the MIME library with a message no one can act on.
    """
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InputError(
        f"{name} must be the message body as text (or null), got "
        f"{type(value).__name__}",
        field=name,
    )


def rebuild_mime(
    headers: Iterable[tuple[str, str]],
    text: str | None,
    html: str | None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> bytes:
    """Return the raw bytes of a message with these headers and bodies."""
    files = list(attachments)
    seed = hashlib.sha256(
        "\0".join([text or "", html or "", *[f[0] for f in files]]).encode()
    ).hexdigest()[:24]

    body: Message
    if text is not None and html is not None:
        body = MIMEMultipart("alternative", boundary=f"alt-{seed}")
        body.attach(MIMEText(text, "plain", "utf-8"))
        body.attach(MIMEText(html, "html", "utf-8"))
    elif html is not None:
        body = MIMEText(html, "html", "utf-8")
    else:
        body = MIMEText(text or "", "plain", "utf-8")

    if files:
        mixed = MIMEMultipart("mixed", boundary=f"mix-{seed}")
        mixed.attach(body)
        for name, content_type, data in files:
            maintype, _, subtype = (
                content_type or "application/octet-stream"
            ).partition("/")
            part = MIMEBase(maintype or "application", subtype or "octet-stream")
            part.set_payload(data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=name)
            mixed.attach(part)
        body = mixed

    for name, value in headers:
        if name.lower() in _BODY_HEADERS:
            continue
        body[name] = value
    return body.as_bytes(policy=compat32)


def header_pairs(headers: object) -> list[tuple[str, str]]:
    """Turn a provider's header block into (name, value) pairs, in order.

    Providers write headers three ways: a mapping of name to value or to a
    list of values for repeated headers (Brevo, Mailjet, MailerSend,
    Resend), a list of ``{"name": ..., "value": ...}`` objects (Amazon SES),
    or a list of pairs (Mailgun). Anything else yields no headers.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(headers, dict):
        for name, value in headers.items():
            values = value if isinstance(value, list) else [value]
            pairs += [(str(name), str(v)) for v in values if v is not None]
    elif isinstance(headers, list):
        for item in headers:
            if isinstance(item, dict) and item.get("name"):
                pairs.append((str(item["name"]), str(item.get("value") or "")))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((str(item[0]), str(item[1])))
    return pairs


def replace_headers(
    pairs: list[tuple[str, str]], overrides: Iterable[tuple[str, str | None]]
) -> list[tuple[str, str]]:
    """Return ``pairs`` with each named header set to the override's value.

    Used where the provider states a field (From, Subject) apart from the
    header block: its value wins, and the header is kept once.
    """
    given = [(name, value) for name, value in overrides if value]
    names = {name.lower() for name, _ in given}
    return given + [(n, v) for n, v in pairs if n.lower() not in names]
