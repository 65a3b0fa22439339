"""Mailgun inbound routes: a forwarded message, parsed or raw (``body-mime``).

Mailgun signs each post with three fields, ``timestamp``, ``token`` and
``signature`` = hex HMAC-SHA256(signing key, timestamp + token), at the top
level of a route's form or under ``signature`` in JSON webhooks
(https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mime_rebuild import rebuild_mime
from firsttouch.capture.providers.signing import check_equal, hmac_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "mailgun"
SOURCE = "email"
TOLERANCE = timedelta(minutes=15)


def verify_mailgun_signature(
    fields: Mapping[str, Any], key: Secret, now: datetime
) -> None:
    """Check Mailgun's timestamp/token/signature fields and their age."""
    nested = fields.get("signature")
    source = nested if isinstance(nested, Mapping) else fields
    timestamp = str(source.get("timestamp") or "")
    token = str(source.get("token") or "")
    signature = source.get("signature") if source is not fields else nested
    if not timestamp or not token or not isinstance(signature, str) or not signature:
        raise SignatureError(
            "Mailgun post without timestamp, token and signature "
            "fields; it was refused and nothing was stored"
        )
    check_equal(
        signature, hmac_hex(key, (timestamp + token).encode()), "signature", "Mailgun"
    )
    if (
        not timestamp.isdigit()
        or abs(now.timestamp() - int(timestamp)) > TOLERANCE.total_seconds()
    ):
        raise SignatureError(
            "Mailgun timestamp is outside 15 minutes of now; refused as a replay"
        )


def _headers(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    raw = fields.get("message-headers")
    if not raw:
        raise InputError(
            "Mailgun post has neither body-mime nor message-headers",
            field="message-headers",
        )
    try:
        pairs = json.loads(raw) if isinstance(raw, str) else raw
        return [(str(name), str(value)) for name, value in pairs]
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"Mailgun message-headers is not a JSON list of pairs: {exc}",
            field="message-headers",
        ) from exc


def mailgun_raw_mime(fields: Mapping[str, Any]) -> bytes:
    """The message as raw bytes: ``body-mime`` itself or rebuilt from parts."""
    mime = fields.get("body-mime")
    if isinstance(mime, str) and mime:
        return mime.encode("utf-8", errors="surrogateescape")
    if isinstance(mime, bytes) and mime:
        return mime
    return rebuild_mime(
        _headers(fields), fields.get("body-plain"), fields.get("body-html")
    )


def parse_mailgun(
    fields: Mapping[str, Any], attachments: list[dict[str, Any]] | None = None
) -> InboundEvent:
    """Parse one Mailgun inbound post into an ``InboundEvent``."""
    event = email_to_event(mailgun_raw_mime(fields), provider=PROVIDER, source=SOURCE)
    extra = {
        "envelope_recipient": fields.get("recipient"),
        "envelope_sender": fields.get("sender"),
        "stripped_text": fields.get("stripped-text"),
    }
    merged = {**event.fields, **{k: v for k, v in extra.items() if v}}
    if attachments:
        merged["attachments"] = attachments
    return event.model_copy(update={"fields": merged})
