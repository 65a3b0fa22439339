"""Amazon SES receiving: an SNS notification whose ``Message`` is the mail.

A receipt rule's SNS action publishes ``{"notificationType": "Received",
"mail": ..., "receipt": ..., "content": ...}``: ``mail`` has SES's
``messageId``, the envelope (``source``, ``destination``) and the headers as
``{name, value}`` objects; ``receipt`` the spam, virus, SPF, DKIM and DMARC
verdicts and the action (whose ``encoding`` says if ``content`` is UTF-8 or
base64); ``content`` the raw message, up to 150 KB
(https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html).
An S3 action leaves ``content`` out and stores the mail in a bucket
firsttouch does not read; the lead is then kept from the headers alone,
with the bucket and key in its fields. Signature and topic checks are in
``sns``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import mail_event
from firsttouch.capture.providers.mime_rebuild import header_pairs, rebuild_mime
from firsttouch.capture.providers.payloads import read_json
from firsttouch.errors import InputError

PROVIDER = "amazon_ses"
RECEIVED = "Received"
# SES's reply to the SNS topic check of a new receipt rule; not a mail.
TOPIC_CHECK = "Successfully validated SNS topic for Amazon SES event publishing."


def ses_notification(message: dict[str, Any]) -> dict[str, Any] | None:
    """The SES document inside an SNS ``Notification``; None if not a receipt."""
    text = message.get("Message")
    if text == TOPIC_CHECK:
        return None
    try:
        ses = read_json(str(text), "SES notification")
    except InputError as exc:
        raise InputError(
            f"SNS Message is not the JSON of an SES notification: {exc}", "Message"
        ) from exc
    if not isinstance(ses, dict):
        raise InputError("SNS Message must be an SES notification object", "Message")
    if ses.get("notificationType") != RECEIVED:
        return None
    return ses


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _verdicts(receipt: dict[str, Any]) -> dict[str, Any]:
    return {
        name: verdict.get("status")
        for name in ("spam", "virus", "spf", "dkim", "dmarc")
        if isinstance(verdict := receipt.get(f"{name}Verdict"), dict)
    }


def ses_raw_mime(ses: dict[str, Any]) -> bytes:
    """The message as raw bytes: ``content``, or rebuilt from the headers."""
    mail = ses.get("mail")
    if not isinstance(mail, dict):
        raise InputError("SES notification without a mail object", "mail")
    receipt = _object(ses.get("receipt"))
    action = _object(receipt.get("action"))
    content = ses.get("content")

    if isinstance(content, str) and content:
        if str(action.get("encoding", "")).upper() != "BASE64":
            return content.encode("utf-8", errors="surrogateescape")
        try:
            return base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"SES content is not base64: {exc}", "content") from exc

    pairs = header_pairs(mail.get("headers"))
    if not any(name.lower() == "from" for name, _ in pairs):
        raise InputError(
            "SES notification has neither content nor a From header", "mail.headers"
        )
    return rebuild_mime(pairs, "", None)


def parse_ses_received(ses: dict[str, Any], payload: str) -> InboundEvent:
    """Parse one SES ``Received`` notification into an ``InboundEvent``."""
    raw = ses_raw_mime(ses)
    mail = ses["mail"]
    receipt = _object(ses.get("receipt"))
    action = _object(receipt.get("action"))
    without_body = not ses.get("content")
    return mail_event(
        raw,
        provider=PROVIDER,
        payload=payload,
        provider_id=str(mail["messageId"]) if mail.get("messageId") else None,
        extra={
            "envelope_sender": mail.get("source"),
            "envelope_recipients": mail.get("destination"),
            "verdicts": _verdicts(receipt),
            "headers_truncated": mail.get("headersTruncated") or None,
            "body_missing": (
                {
                    "reason": "SES sent no content (an S3 receipt action keeps "
                    "the mail in a bucket firsttouch does not read); the lead "
                    "was kept from its headers",
                    "bucket": action.get("bucketName"),
                    "key": action.get("objectKey"),
                }
                if without_body
                else None
            ),
        },
    )
