"""Calendly webhooks (v2): ``invitee.created`` is a booked meeting.

Calendly signs with ``Calendly-Webhook-Signature: t=<unix>,v1=<hex>``, the
HMAC-SHA256 of ``t + "." + body`` under the webhook signing key; a
signature older than the tolerance is refused to stop replays
(https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-signatures).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    first_time,
    iana_zone,
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_equal, hmac_hex, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "calendly"
SOURCE = "calendly"
SIGNATURE_HEADER = "Calendly-Webhook-Signature"
TOLERANCE = timedelta(minutes=5)
LEAD_EVENTS = frozenset({"invitee.created"})


def verify_calendly_signature(
    header: str | None, body: bytes, key: Secret, now: datetime
) -> None:
    """Check the ``t=..,v1=..`` signature and that ``t`` is recent."""
    value = require_header(header, SIGNATURE_HEADER, "Calendly")
    parts = dict(p.strip().split("=", 1) for p in value.split(",") if "=" in p)
    stamp, signature = parts.get("t"), parts.get("v1")
    if not stamp or not signature or not stamp.isdigit():
        raise SignatureError(f"Calendly {SIGNATURE_HEADER} must read t=<unix>,v1=<hex>")
    check_equal(
        signature,
        hmac_hex(key, stamp.encode() + b"." + body),
        SIGNATURE_HEADER,
        "Calendly",
    )
    age = abs(now.timestamp() - int(stamp))
    if age > TOLERANCE.total_seconds():
        raise SignatureError(
            f"Calendly signature is {int(age)} s old; older than "
            f"{int(TOLERANCE.total_seconds())} s is refused as a replay"
        )


def _questions(payload: dict[str, Any]) -> dict[str, str]:
    answers = {}
    for item in payload.get("questions_and_answers") or []:
        if isinstance(item, dict) and item.get("question"):
            answers[str(item["question"])] = str(item.get("answer") or "")
    return answers


def parse_calendly(body: bytes) -> InboundEvent:
    """Parse one Calendly webhook into an ``InboundEvent``."""
    envelope = read_json_object(body, "Calendly")
    event_name = str(envelope.get("event") or "")
    payload = envelope.get("payload")
    if not event_name or not isinstance(payload, dict):
        raise InputError("Calendly webhook needs 'event' and a 'payload' object")
    uri = payload.get("uri")
    if not uri:
        raise InputError("Calendly payload without uri", field="payload.uri")

    tracking = payload.get("tracking")
    tracking = tracking if isinstance(tracking, dict) else {}
    utm = {k: str(v) for k, v in tracking.items() if k.startswith("utm_") and v}
    scheduled = payload.get("scheduled_event")
    scheduled = scheduled if isinstance(scheduled, dict) else {}
    occurred, as_typed = first_time(
        read_time(payload.get("created_at")), read_time(envelope.get("created_at"))
    )
    fields = {
        **as_typed,
        "calendly_event": event_name,
        "invitee_uri": uri,
        "scheduled_event_uri": payload.get("event") or scheduled.get("uri"),
        "start_time": scheduled.get("start_time"),
        "meeting_name": scheduled.get("name"),
        "status": payload.get("status"),
        "rescheduled": payload.get("rescheduled"),
        "cancel_url": payload.get("cancel_url"),
        "answers": _questions(payload) or None,
    }
    is_lead = event_name in LEAD_EVENTS
    return InboundEvent(
        dedupe_key=f"calendly:{event_name}:{uri}",
        channel="meeting",
        kind="meeting" if is_lead else "status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=str(uri),
        occurred_at=occurred,
        person=PersonFacts(
            email=text_or_none(payload.get("email")),
            full_name=text_or_none(payload.get("name")),
            first_name=text_or_none(payload.get("first_name")),
            last_name=text_or_none(payload.get("last_name")),
            phone=text_or_none(payload.get("text_reminder_number")),
            timezone=iana_zone(payload.get("timezone")),
        ),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw_text(body),
        creates_lead=is_lead,
    )
