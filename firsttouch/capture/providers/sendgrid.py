"""SendGrid Inbound Parse: a multipart post of the parsed or raw message.

With "POST the raw, full MIME message" the message is in ``email``;
otherwise it comes as ``headers`` (the header block), ``text`` and ``html``
(https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook).
Inbound Parse does not sign its posts; SendGrid's advice is to put Basic
auth credentials in the destination URL, which the route checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email import message_from_string
from email.policy import compat32
from typing import Any

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mime_rebuild import rebuild_mime
from firsttouch.errors import InputError

PROVIDER = "sendgrid"
SOURCE = "email"


def _headers(block: str) -> list[tuple[str, str]]:
    msg = message_from_string(block.strip() + "\n\n", policy=compat32)
    return [(name, str(value)) for name, value in msg.items()]


def sendgrid_raw_mime(fields: Mapping[str, Any]) -> bytes:
    """The message as raw bytes: ``email`` itself or rebuilt from parts."""
    raw = fields.get("email")
    if isinstance(raw, bytes) and raw:
        return raw
    if isinstance(raw, str) and raw:
        return raw.encode("utf-8", errors="surrogateescape")
    block = fields.get("headers")
    if not isinstance(block, str) or not block.strip():
        raise InputError("SendGrid post has neither email nor headers", field="headers")
    return rebuild_mime(_headers(block), fields.get("text"), fields.get("html"))


def _json_field(fields: Mapping[str, Any], name: str) -> Any:
    try:
        return json.loads(fields[name]) if fields.get(name) else None
    except (TypeError, ValueError):
        return None


def parse_sendgrid(
    fields: Mapping[str, Any], attachments: list[dict[str, Any]] | None = None
) -> InboundEvent:
    """Parse one SendGrid Inbound Parse post into an ``InboundEvent``."""
    event = email_to_event(sendgrid_raw_mime(fields), provider=PROVIDER, source=SOURCE)
    extra = {
        "envelope": _json_field(fields, "envelope"),
        "spf": fields.get("SPF"),
        "dkim": fields.get("dkim"),
        "spam_score": fields.get("spam_score"),
    }
    merged = {**event.fields, **{k: v for k, v in extra.items() if v}}
    if attachments:
        merged["attachments"] = attachments
    return event.model_copy(update={"fields": merged})
