"""Postmark inbound: one JSON document per message.

Postmark posts ``From``/``FromFull``, ``To``, ``Cc``, ``Subject``, ``Date``,
``Headers`` (with the original ``Message-ID``), ``TextBody``, ``HtmlBody``,
``Attachments`` (base64 ``Data``) and, when enabled, ``RawEmail``
(https://postmarkapp.com/developer/webhooks/inbound-webhook). ``MessageID``
is Postmark's own id, used for de-duplication only when the mail has no
Message-ID header. Postmark does not sign inbound posts; its advice is Basic
auth in the webhook URL, which the route checks.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mime_rebuild import body_part, rebuild_mime
from firsttouch.capture.providers.payloads import read_json_object
from firsttouch.errors import InputError

PROVIDER = "postmark"
SOURCE = "email"


def _from_header(payload: dict[str, Any]) -> str:
    full = payload.get("FromFull")
    full = full if isinstance(full, dict) else {}
    address = full.get("Email") or payload.get("From") or ""
    name = full.get("Name") or payload.get("FromName") or ""
    return f'"{name}" <{address}>' if name else str(address)


def _attachments(payload: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    files = []
    for item in payload.get("Attachments") or []:
        if not isinstance(item, dict):
            continue
        try:
            data = base64.b64decode(item.get("Data") or "", validate=False)
        except (binascii.Error, ValueError):
            data = b""
        files.append(
            (
                str(item.get("Name") or "attachment"),
                str(item.get("ContentType") or "application/octet-stream"),
                data,
            )
        )
    return files


def postmark_raw_mime(payload: dict[str, Any]) -> bytes:
    """The message as raw bytes: ``RawEmail`` or rebuilt from the JSON."""
    raw = payload.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return raw.encode("utf-8", errors="surrogateescape")
    if not (payload.get("From") or payload.get("FromFull")):
        raise InputError("Postmark inbound without From", field="From")

    headers = [("From", _from_header(payload))]
    for name, key in (
        ("To", "To"),
        ("Cc", "Cc"),
        ("Reply-To", "ReplyTo"),
        ("Subject", "Subject"),
        ("Date", "Date"),
    ):
        if payload.get(key):
            headers.append((name, str(payload[key])))
    taken = {name.lower() for name, _ in headers}
    for item in payload.get("Headers") or []:
        if (
            isinstance(item, dict)
            and item.get("Name")
            and str(item["Name"]).lower() not in taken
        ):
            headers.append((str(item["Name"]), str(item.get("Value") or "")))
    return rebuild_mime(
        headers,
        body_part(payload, "TextBody"),
        body_part(payload, "HtmlBody"),
        _attachments(payload),
    )


def parse_postmark(body: bytes) -> InboundEvent:
    """Parse one Postmark inbound post into an ``InboundEvent``."""
    payload = read_json_object(body, "Postmark")
    event = email_to_event(postmark_raw_mime(payload), provider=PROVIDER, source=SOURCE)
    update: dict[str, Any] = {"raw": body.decode("utf-8", errors="replace")}
    postmark_id = payload.get("MessageID")
    if postmark_id:
        update["fields"] = {
            **event.fields,
            "postmark_message_id": postmark_id,
            "stripped_text_reply": payload.get("StrippedTextReply"),
            "mailbox_hash": payload.get("MailboxHash") or None,
        }
        if event.message_id is None:
            update["dedupe_key"] = f"postmark:{postmark_id}"
            update["provider_event_id"] = str(postmark_id)
    return event.model_copy(update=update)
