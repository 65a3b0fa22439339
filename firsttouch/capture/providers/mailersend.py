"""MailerSend inbound routes: a signed JSON ``inbound.message`` event.

``data`` holds the whole mail as ``raw`` plus its parts (``from`` as
``{email, name, raw}``, ``recipients``, ``subject``, ``text``, ``html``,
``headers``) and MailerSend's message ``id``
(https://developers.mailersend.com/api/v1/inbound.html). The parts are
used when ``raw`` is absent. MailerSend signs each post in the
``Signature`` header: hex HMAC-SHA256(the route's signing secret, body)
(https://developers.mailersend.com/api/v1/webhooks.html#security).
"""

from __future__ import annotations

from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import address_header, mail_event
from firsttouch.capture.providers.mime_rebuild import (
    body_part,
    header_pairs,
    rebuild_mime,
)
from firsttouch.capture.providers.payloads import raw_text, read_json_object
from firsttouch.capture.providers.signing import check_prefixed_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError

PROVIDER = "mailersend"
SIGNATURE_HEADER = "Signature"
INBOUND_TYPE = "inbound.message"


def verify_mailersend_signature(
    header_value: str | None, body: bytes, secret: Secret
) -> None:
    """Check ``Signature``: hex HMAC-SHA256 of the raw body."""
    check_prefixed_hex(
        header_value,
        body,
        secret,
        header=SIGNATURE_HEADER,
        provider="MailerSend",
        prefix="",
        digest="sha256",
    )


def _address(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if not isinstance(value, dict):
        return None
    return value.get("raw") or address_header(value.get("name"), value.get("email"))


def _recipients(data: dict[str, Any]) -> str | None:
    recipients = data.get("recipients")
    to = recipients.get("to") if isinstance(recipients, dict) else data.get("to")
    if isinstance(to, dict) and to.get("raw"):
        return str(to["raw"])
    people = to.get("data") if isinstance(to, dict) else to
    if isinstance(people, list):
        return ", ".join(a for a in (_address(p) for p in people) if a) or None
    return None


def mailersend_raw_mime(data: dict[str, Any]) -> bytes:
    """The message as raw bytes: ``raw`` itself or rebuilt from the parts."""
    raw = data.get("raw")
    if isinstance(raw, str) and raw.strip():
        return raw.encode("utf-8", errors="surrogateescape")

    pairs = header_pairs(data.get("headers"))
    present = {name.lower() for name, _ in pairs}
    stated = [
        ("From", _address(data.get("from"))),
        ("To", _recipients(data)),
        ("Subject", data.get("subject")),
        ("Date", data.get("date")),
    ]
    pairs += [(n, str(v)) for n, v in stated if v and n.lower() not in present]
    if "from" not in {name.lower() for name, _ in pairs}:
        raise InputError("MailerSend inbound message without raw or from", "data.from")
    return rebuild_mime(pairs, body_part(data, "text"), body_part(data, "html"))


def parse_mailersend(body: bytes) -> InboundEvent | None:
    """Parse an inbound route post; None for another event type."""
    payload = read_json_object(body, "MailerSend")
    if payload.get("type") != INBOUND_TYPE:
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InputError("MailerSend inbound.message without a data object", "data")

    sender = data.get("sender")
    recipients = data.get("recipients")
    rcpt_to = recipients.get("rcptTo") if isinstance(recipients, dict) else None
    envelope = (
        [r.get("email") for r in rcpt_to if isinstance(r, dict)]
        if isinstance(rcpt_to, list)
        else None
    )
    message_id = data.get("id")
    return mail_event(
        mailersend_raw_mime(data),
        provider=PROVIDER,
        payload=raw_text(body),
        provider_id=str(message_id) if message_id else None,
        extra={
            "envelope_sender": sender.get("email")
            if isinstance(sender, dict)
            else None,
            "envelope_recipients": envelope,
            "inbound_route_id": payload.get("inbound_id"),
        },
    )
