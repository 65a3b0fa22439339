"""Cal.com webhooks: ``BOOKING_CREATED`` (and ``BOOKING_REQUESTED``) are meetings.

Cal.com signs with ``X-Cal-Signature-256``, the hex HMAC-SHA256 of the raw
body under the webhook's secret (https://cal.com/docs/developing/guides/automation/webhooks).
"""

from __future__ import annotations

from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    iana_zone,
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_prefixed_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError

PROVIDER = "calcom"
SOURCE = "calcom"
SIGNATURE_HEADER = "X-Cal-Signature-256"
LEAD_TRIGGERS = frozenset({"BOOKING_CREATED", "BOOKING_REQUESTED"})
NO_ATTENDEE = (
    "the booking names no attendee with an email or phone (Cal.com sends "
    "'attendees' as a list of objects with an 'email'), so no one can be answered"
)


def verify_calcom_signature(header: str | None, body: bytes, secret: Secret) -> None:
    """Check ``X-Cal-Signature-256`` (hex HMAC-SHA256 of the body)."""
    check_prefixed_hex(
        header,
        body,
        secret,
        header=SIGNATURE_HEADER,
        provider="Cal.com",
        prefix="",
        digest="sha256",
    )


def _response(responses: dict[str, Any], name: str) -> Any:
    item = responses.get(name)
    return item.get("value") if isinstance(item, dict) else item


def _person(payload: dict[str, Any]) -> PersonFacts:
    responses = payload.get("responses")
    responses = responses if isinstance(responses, dict) else {}
    attendees = [a for a in payload.get("attendees") or [] if isinstance(a, dict)]
    first = attendees[0] if attendees else {}

    name = _response(responses, "name") or first.get("name")
    first_name = last_name = None
    # Cal.com's split name field answers {"firstName": .., "lastName": ..}.
    if isinstance(name, dict):
        first_name = text_or_none(name.get("firstName"))
        last_name = text_or_none(name.get("lastName"))
        name = " ".join(p for p in (first_name, last_name) if p) or None
    phone = (
        _response(responses, "attendeePhoneNumber")
        or _response(responses, "phone")
        or first.get("phoneNumber")
    )
    zone = first.get("timeZone")
    return PersonFacts(
        email=text_or_none(_response(responses, "email") or first.get("email")),
        full_name=text_or_none(name),
        first_name=first_name,
        last_name=last_name,
        phone=text_or_none(phone),
        timezone=iana_zone(zone),
    )


def parse_calcom(body: bytes) -> InboundEvent:
    """Parse one Cal.com webhook into an ``InboundEvent``."""
    envelope = read_json_object(body, "Cal.com")
    trigger = str(envelope.get("triggerEvent") or "")
    payload = envelope.get("payload")
    if not trigger or not isinstance(payload, dict):
        raise InputError("Cal.com webhook needs 'triggerEvent' and a 'payload' object")
    uid = payload.get("uid") or payload.get("bookingId")
    if not uid:
        raise InputError("Cal.com payload without uid", field="payload.uid")

    occurred, as_typed = read_time(envelope.get("createdAt"))
    fields = {
        **as_typed,
        "trigger": trigger,
        "booking_uid": str(uid),
        "booking_id": payload.get("bookingId"),
        "title": payload.get("title"),
        "event_type": payload.get("type"),
        "start_time": payload.get("startTime"),
        "status": payload.get("status"),
        "notes": payload.get("additionalNotes") or None,
        "organizer_email": (payload.get("organizer") or {}).get("email"),
    }
    person = _person(payload)
    is_lead = trigger in LEAD_TRIGGERS
    if is_lead and not (person.email or person.phone):
        # Recorded for a person to look at, but a meeting with no one in it
        # is not a lead.
        is_lead = False
        fields["not_a_lead"] = NO_ATTENDEE
    return InboundEvent(
        dedupe_key=f"calcom:{trigger.lower()}:{uid}",
        channel="meeting",
        kind="meeting" if trigger in LEAD_TRIGGERS else "status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=str(uid),
        occurred_at=occurred,
        person=person,
        body_text=text_or_none(
            payload.get("additionalNotes") or payload.get("description")
        ),
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw_text(body),
        creates_lead=is_lead,
    )
