"""HubSpot webhooks: batches of CRM events, one inbound each.

HubSpot posts a JSON array of events, each with ``eventId``,
``subscriptionId``, ``portalId``, ``occurredAt`` (ms), ``objectId``,
``changeSource`` and the event's type, named ``subscriptionType`` in real
deliveries and ``eventType`` in the documentation's example
(https://developers.hubspot.com/docs/api/webhooks); both are read.

``contact.creation`` is a lead: the event carries only the contact's id, so
the inbound records it, and the route may read the contact's properties
from the CRM API when a token is configured (``hubspot_api``). Deletions,
property changes and other objects' events are recorded, never leads.

Requests are signed with ``X-HubSpot-Signature-v3``: the base64
HMAC-SHA256, under the app's client secret, of method + URI + body +
``X-HubSpot-Request-Timestamp`` (ms); a timestamp older than five minutes
is refused as a replay
(https://developers.hubspot.com/docs/api/webhooks/validating-requests).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from firsttouch.capture.events import InboundEvent, Kind, PersonFacts
from firsttouch.capture.inbound_channels import Channel
from firsttouch.capture.providers.payloads import (
    from_epoch,
    read_json,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.shared_secret import check_base64_digest
from firsttouch.capture.providers.signing import hmac_base64, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "hubspot"
SOURCE = "hubspot"
SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
TOLERANCE = timedelta(minutes=5)
LEAD_TYPES = frozenset({"contact.creation"})
# HubSpot's object type id of contacts, in the generic object.* events.
CONTACT_OBJECT_TYPE = "0-1"
# The characters HubSpot decodes in the URI before signing it.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# Where the contact came from, as HubSpot's changeSource tells it.
_CHANNELS: dict[str, tuple[Channel, Kind]] = {
    "FORM": ("web_form", "form"),
    "IMPORT": ("import", "import"),
}


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: a few percent-escapes decoded."""
    for escaped, char in _DECODED.items():
        url = url.replace(escaped, char).replace(escaped.lower(), char)
    return url


def verify_hubspot_signature(
    *,
    signature: str | None,
    timestamp: str | None,
    method: str,
    url: str,
    body: bytes,
    secret: Secret,
    now: datetime,
) -> None:
    """Check ``X-HubSpot-Signature-v3`` and that its timestamp is recent."""
    presented = require_header(signature, SIGNATURE_HEADER, "HubSpot")
    stamp = require_header(timestamp, TIMESTAMP_HEADER, "HubSpot")
    if not stamp.isdigit():
        raise SignatureError(f"HubSpot {TIMESTAMP_HEADER} must be milliseconds")
    age = now.timestamp() - int(stamp) / 1000
    if abs(age) > TOLERANCE.total_seconds():
        raise SignatureError(
            f"HubSpot request timestamp is {int(age)} s away from now; more than "
            f"{int(TOLERANCE.total_seconds())} s is refused as a replay"
        )
    message = method.upper().encode() + signed_uri(url).encode() + body + stamp.encode()
    check_base64_digest(
        presented,
        hmac_base64(secret, message),
        header=SIGNATURE_HEADER,
        provider="HubSpot",
    )


def event_type(item: dict[str, Any]) -> str:
    """The event's type, whichever of its two names HubSpot used."""
    return str(item.get("subscriptionType") or item.get("eventType") or "")


def is_contact_creation(item: dict[str, Any]) -> bool:
    """True for a new contact, in the contact.* or the generic object.* form."""
    kind = event_type(item)
    if kind in LEAD_TYPES:
        return True
    return kind == "object.creation" and str(item.get("objectTypeId")) == (
        CONTACT_OBJECT_TYPE
    )


def parse_hubspot(body: bytes) -> list[InboundEvent]:
    """Parse one HubSpot webhook batch into one event per item."""
    payload = read_json(body, "HubSpot")
    # HubSpot always sends an array; a lone event object means the same.
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InputError("HubSpot body must be a non-empty JSON array of event objects")
    return [hubspot_event(item, index) for index, item in enumerate(items)]


def hubspot_event(item: dict[str, Any], index: int = 0) -> InboundEvent:
    """Build the event of one item of a batch."""
    kind = event_type(item)
    event_id = text_or_none(item.get("eventId"))
    object_id = text_or_none(item.get("objectId"))
    if not kind or not event_id or not object_id:
        raise InputError(
            f"HubSpot event {index} needs eventId, objectId and subscriptionType "
            "(or eventType)",
            field=f"[{index}]",
        )

    portal = text_or_none(item.get("portalId")) or "-"
    source = str(item.get("changeSource") or "")
    is_lead = is_contact_creation(item)
    channel, inbound_kind = _CHANNELS.get(source, ("api", "form"))
    fields: dict[str, Any] = {
        "hubspot_event": kind,
        "hubspot_object_id": object_id,
        "portal_id": item.get("portalId"),
        "subscription_id": item.get("subscriptionId"),
        "change_source": source or None,
        "change_flag": item.get("changeFlag"),
        "property_name": item.get("propertyName"),
        "property_value": item.get("propertyValue"),
        "attempt": item.get("attemptNumber"),
    }
    if is_lead:
        fields["needs_fetch"] = True
    else:
        fields["not_a_lead"] = f"a HubSpot {kind} event is CRM bookkeeping, not a lead"
    occurred, as_typed = read_time(item.get("occurredAt"), from_epoch)
    fields.update(as_typed)
    return InboundEvent(
        # A retry repeats the event id with a higher attemptNumber.
        dedupe_key=f"hubspot:{portal}:{event_id}:{kind}:{object_id}"[:255],
        channel=channel if is_lead else "api",
        kind=inbound_kind if is_lead else "status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=event_id,
        occurred_at=occurred,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=json.dumps(item),
        creates_lead=is_lead,
    )


# HubSpot's contact properties, and the person fact each one fills.
CONTACT_PROPERTIES = {
    "email": "email",
    "phone": "phone",
    "mobilephone": "phone",
    "firstname": "first_name",
    "lastname": "last_name",
    "jobtitle": "title",
    "company": "company",
    "website": "website",
    "country": "country",
    "state": "region",
    "industry": "industry",
}


ID_ONLY_REASON = (
    "HubSpot sends a new contact's id only and HUBSPOT_ACCESS_TOKEN is not set, "
    "so there is no email or phone to answer; set HUBSPOT_ACCESS_TOKEN (a "
    "private app token with crm.objects.contacts.read) and restart firsttouch"
)


def unreachable_reason(event: InboundEvent, fetch_problem: str | None) -> str | None:
    """Why a new contact's event reaches no one, or None when it does."""
    if not event.creates_lead or event.person.email or event.person.phone:
        return None
    object_id = event.fields.get("hubspot_object_id")
    if fetch_problem is not None:
        return (
            f"HubSpot did not give contact {object_id} ({fetch_problem}); check "
            "HUBSPOT_ACCESS_TOKEN and its crm.objects.contacts.read scope"
        )
    if event.fields.get("needs_fetch"):
        return f"HubSpot has no contact {object_id} to read an email or phone from"
    return f"HubSpot contact {object_id} has neither an email nor a phone"


def recorded_only(event: InboundEvent, reason: str) -> InboundEvent:
    """The event of a new contact no one can be reached at: recorded, not a lead."""
    fields = {k: v for k, v in event.fields.items() if k != "needs_fetch"}
    return event.model_copy(
        update={"creates_lead": False, "fields": {**fields, "not_a_lead": reason}}
    )


def with_contact(event: InboundEvent, contact: dict[str, Any]) -> InboundEvent:
    """The event of a new contact, completed with its CRM record."""
    properties = contact.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    facts: dict[str, str] = {}
    for name, target in CONTACT_PROPERTIES.items():
        value = text_or_none(properties.get(name))
        if value and target not in facts:
            facts[target] = value
    fields = {k: v for k, v in event.fields.items() if k != "needs_fetch"}
    message = text_or_none(properties.get("message"))
    utm = {
        k: str(properties[k])
        for k in ("utm_source", "utm_medium", "utm_campaign")
        if properties.get(k)
    }
    return event.model_copy(
        update={
            "person": PersonFacts.model_validate(facts),
            "body_text": message,
            "fields": {**fields, "hubspot_properties": properties},
            "utm": utm,
            "campaign": utm.get("utm_campaign"),
        }
    )
