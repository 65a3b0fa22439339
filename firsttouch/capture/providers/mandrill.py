"""Mandrill inbound: a form post whose ``mandrill_events`` is a JSON list.

Each ``inbound`` event carries the whole message as ``msg.raw_msg``, with
``msg.email`` (the inbound address), ``msg.spam_report``, ``msg.spf`` and
``msg.dkim`` (https://mailchimp.com/developer/transactional/docs/webhooks/).
Mandrill signs each post in ``X-Mandrill-Signature``: base64
HMAC-SHA1(webhook key, the webhook URL as registered, then every POST
field's name and value, sorted by name)
(https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests).
Saving a webhook, Mandrill sends a HEAD and then a post with an empty
event list; both are answered 200.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import Batch, mail_event, parse_batch
from firsttouch.capture.providers.payloads import FormFields, read_json
from firsttouch.capture.providers.signing import hmac_base64, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "mandrill"
SIGNATURE_HEADER = "X-Mandrill-Signature"


def mandrill_signed_text(url: str, form: FormFields) -> bytes:
    """The text Mandrill signs: the URL, then each field name and value by name."""
    ordered = sorted(form.pairs, key=lambda pair: pair[0])
    return (url + "".join(name + value for name, value in ordered)).encode()


def verify_mandrill_signature(
    header_value: str | None, url: str, form: FormFields, key: Secret
) -> None:
    """Check ``X-Mandrill-Signature`` against the registered URL and the form."""
    signature = require_header(header_value, SIGNATURE_HEADER, "Mandrill")
    expected = hmac_base64(key, mandrill_signed_text(url, form), "sha1")
    # base64 is case-sensitive, so the comparison is exact (not lower-cased).
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise SignatureError(
            f"Mandrill {SIGNATURE_HEADER} does not match the post; check "
            "MANDRILL_WEBHOOK_KEY and that the webhook URL registered at Mandrill "
            "is FIRSTTOUCH_PUBLIC_URL + /capture/email/mandrill"
        )


def mandrill_events(form: FormFields) -> list[dict[str, Any]]:
    """The decoded ``mandrill_events`` list (400 when it is not one)."""
    raw = form.get("mandrill_events")
    if raw is None:
        raise InputError(
            "Mandrill post has no mandrill_events field", "mandrill_events"
        )
    events = read_json(raw, "Mandrill mandrill_events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise InputError(
            "Mandrill mandrill_events must be a JSON list of objects", "mandrill_events"
        )
    return events


def parse_mandrill_event(event: dict[str, Any]) -> InboundEvent:
    """Parse one ``inbound`` event into an ``InboundEvent``."""
    msg = event.get("msg")
    raw = msg.get("raw_msg") if isinstance(msg, dict) else None
    if not isinstance(msg, dict) or not isinstance(raw, str) or not raw.strip():
        raise InputError("Mandrill inbound event without msg.raw_msg", "msg.raw_msg")
    spam = msg.get("spam_report")
    return mail_event(
        raw.encode("utf-8", errors="surrogateescape"),
        provider=PROVIDER,
        payload=json.dumps(event, ensure_ascii=False),
        extra={
            "envelope_recipient": msg.get("email"),
            "envelope_sender": msg.get("sender"),
            "spam_score": spam.get("score") if isinstance(spam, dict) else None,
            "spf": msg.get("spf"),
            "dkim": msg.get("dkim"),
        },
    )


def parse_mandrill(form: FormFields) -> tuple[Batch, int]:
    """The inbound messages of a post, and how many other events it held.

    Message events (sent, opened, ...) sent to this URL by mistake are
    counted and left out: they are not leads.
    """
    events = mandrill_events(form)
    inbound = [e for e in events if e.get("event") == "inbound"]
    others = len(events) - len(inbound)
    return parse_batch(inbound, parse_mandrill_event, "inbound events"), others
