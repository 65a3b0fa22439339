"""Resend inbound: the Svix-signed ``email.received`` webhook.

The event's ``data`` names the message (``email_id``, ``from``, ``to``,
``cc``, ``subject``, ``message_id``, attachment metadata) but carries no
body (https://resend.com/docs/webhooks/emails/received). The route reads
the bodies and headers from the Receiving API (``resend_api``) when
``RESEND_API_KEY`` is set; without it, or when Resend refuses the read,
the lead is kept with what the event says and ``content_fetched`` false.
The event's own fields win over the fetched headers, so the message keys
the same way either way and a retry after a failed read is a duplicate.
"""

from __future__ import annotations

from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import mail_event
from firsttouch.capture.providers.mime_rebuild import (
    body_part,
    header_pairs,
    rebuild_mime,
    replace_headers,
)
from firsttouch.capture.providers.payloads import raw_text, read_json_object
from firsttouch.errors import InputError

PROVIDER = "resend"
RECEIVED = "email.received"


def received_data(body: bytes) -> dict[str, Any] | None:
    """The ``data`` of an ``email.received`` event; None for other events."""
    payload = read_json_object(body, "Resend")
    if payload.get("type") != RECEIVED:
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InputError("Resend email.received without a data object", "data")
    if not data.get("from"):
        raise InputError("Resend email.received without data.from", "data.from")
    return data


def _joined(value: Any) -> str | None:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v) or None
    return str(value) if value else None


def resend_raw_mime(data: dict[str, Any], content: dict[str, Any] | None) -> bytes:
    """Rebuild the message from the event and, when read, its content."""
    content = content or {}
    pairs = replace_headers(
        header_pairs(content.get("headers")),
        [
            ("From", _joined(data.get("from"))),
            ("To", _joined(data.get("to"))),
            ("Cc", _joined(data.get("cc"))),
            ("Subject", data.get("subject")),
            ("Message-ID", data.get("message_id")),
        ],
    )
    return rebuild_mime(pairs, body_part(content, "text"), body_part(content, "html"))


def _attachments(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "filename": a.get("filename"),
            "content_type": a.get("content_type") or "application/octet-stream",
            "size": a.get("size"),
            "content_id": a.get("content_id"),
        }
        for a in data.get("attachments") or []
        if isinstance(a, dict)
    ]


def received_event(
    data: dict[str, Any], body: bytes, content: dict[str, Any] | None
) -> InboundEvent:
    """The event of an ``email.received`` post, with its content if it was read."""
    email_id = data.get("email_id")
    return mail_event(
        resend_raw_mime(data, content),
        provider=PROVIDER,
        payload=raw_text(body),
        provider_id=str(email_id) if email_id else None,
        extra={"content_fetched": content is not None},
        attachments=_attachments(data),
    )


def parse_resend(
    body: bytes, content: dict[str, Any] | None = None
) -> InboundEvent | None:
    """Parse a Resend webhook post; None for events other than ``email.received``."""
    data = received_data(body)
    return None if data is None else received_event(data, body, content)
