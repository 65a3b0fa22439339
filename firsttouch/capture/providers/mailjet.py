"""Mailjet Parse API: one JSON document per inbound message.

Mailjet posts the original ``Headers`` (a value, or a list for a repeated
header), the envelope (``Sender``, ``Recipient``), the bodies as
``Text-part`` and ``Html-part``, each attachment base64 under the name a
``Parts`` entry's ``ContentRef`` gives (``Attachment1``, ...), and
``SpamAssassinScore`` (https://dev.mailjet.com/email/guides/parse-api/).
The Parse API does not sign its posts; Mailjet accepts Basic auth
credentials in the ``Url`` of the parse route, which the route checks.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import mail_event
from firsttouch.capture.providers.mime_rebuild import (
    body_part,
    header_pairs,
    rebuild_mime,
)
from firsttouch.capture.providers.payloads import raw_text, read_json_object
from firsttouch.errors import InputError

PROVIDER = "mailjet"

_NAME = re.compile(r'(?:file)?name\*?="?([^";]+)"?', re.I)


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


def _attachments(payload: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    files = []
    for part in payload.get("Parts") or []:
        ref = part.get("ContentRef") if isinstance(part, dict) else None
        if not isinstance(ref, str) or not ref.lower().startswith("attachment"):
            continue
        headers = part.get("Headers") or {}
        content_type = _first(headers.get("Content-Type")) or "application/octet-stream"
        found = _NAME.search(
            _first(headers.get("Content-Disposition"))
        ) or _NAME.search(content_type)
        try:
            data = base64.b64decode(str(payload.get(ref) or ""), validate=False)
        except (binascii.Error, ValueError):
            data = b""
        name = found.group(1) if found else ref
        files.append((name, content_type.split(";")[0].strip(), data))
    return files


def mailjet_raw_mime(payload: dict[str, Any]) -> bytes:
    """Rebuild the message from its headers, bodies and attachments."""
    pairs = header_pairs(payload.get("Headers"))
    present = {name.lower() for name, _ in pairs}
    stated = [("From", payload.get("From")), ("Subject", payload.get("Subject"))]
    pairs += [(n, str(v)) for n, v in stated if v and n.lower() not in present]
    if not any(name.lower() == "from" for name, _ in pairs):
        raise InputError(
            "Mailjet parse post has neither From nor Headers", field="From"
        )
    return rebuild_mime(
        pairs,
        body_part(payload, "Text-part"),
        body_part(payload, "Html-part"),
        _attachments(payload),
    )


def parse_mailjet(body: bytes) -> InboundEvent:
    """Parse one Mailjet Parse API post into an ``InboundEvent``."""
    payload = read_json_object(body, "Mailjet")
    return mail_event(
        mailjet_raw_mime(payload),
        provider=PROVIDER,
        payload=raw_text(body),
        extra={
            "envelope_sender": payload.get("Sender"),
            "envelope_recipient": payload.get("Recipient"),
            "spam_score": payload.get("SpamAssassinScore"),
            "custom_id": payload.get("CustomID"),
        },
    )
