"""Intercom webhooks: the chat provider firsttouch speaks natively.

Intercom posts a ``notification_event`` (``id``, ``topic``, ``data.item``)
signed with ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`` under the
app's client secret (https://developers.intercom.com/docs/webhooks/setting-up-webhooks).
A new contact or a visitor's message is a chat lead; an admin's action on a
conversation, a tag or a deletion is recorded but is not a lead.
"""

from __future__ import annotations

import html
import re
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    from_epoch,
    iana_zone,
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_prefixed_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError

PROVIDER = "intercom"
SOURCE = "intercom"
SIGNATURE_HEADER = "X-Hub-Signature"
LEAD_TOPICS = frozenset(
    {
        "contact.created",
        "contact.signed_up",
        "contact.added_email",
        "contact.lead.created",
        "contact.lead.signed_up",
        "contact.user.created",
        "user.created",
        "conversation.user.created",
        "conversation.user.replied",
    }
)
_TAG = re.compile(r"<[^>]+>")


def verify_intercom_signature(header: str | None, body: bytes, secret: Secret) -> None:
    """Check ``X-Hub-Signature: sha1=<hex>`` over the raw body."""
    check_prefixed_hex(
        header,
        body,
        secret,
        header=SIGNATURE_HEADER,
        provider="Intercom",
        prefix="sha1=",
        digest="sha1",
    )


def html_to_text(markup: str | None) -> str | None:
    """Intercom sends message bodies as HTML; keep the words."""
    if not markup:
        return None
    spaced = re.sub(r"(?i)<br\s*/?>|</p>", "\n", markup)
    return text_or_none(html.unescape(_TAG.sub("", spaced)))


def _contact_person(item: dict[str, Any]) -> PersonFacts:
    location = item.get("location_data") or item.get("location") or {}
    companies = (item.get("companies") or {}).get("companies") or []
    attributes = item.get("custom_attributes") or {}
    zone = location.get("timezone") if isinstance(location, dict) else None
    return PersonFacts(
        email=text_or_none(item.get("email")),
        phone=text_or_none(item.get("phone")),
        full_name=text_or_none(item.get("name")),
        company=text_or_none(companies[0].get("name")) if companies else None,
        title=text_or_none(attributes.get("job_title")),
        region=text_or_none(location.get("region_name")) if location else None,
        timezone=iana_zone(zone),
    )


def _conversation(item: dict[str, Any]) -> tuple[PersonFacts, str | None, str | None]:
    """The visitor, the latest visitor text and the subject of a conversation."""
    # Intercom's 1.x payloads name the visitor in "user", 2.x in "contacts".
    listed = (item.get("contacts") or {}).get("contacts") or [{}]
    user = item.get("user") or listed[0] or {}
    name = text_or_none(user.get("name"))
    person = PersonFacts(
        email=text_or_none(user.get("email")),
        full_name=None if name and "@" in name else name,
    )
    message = item.get("source") or item.get("conversation_message") or {}
    text = html_to_text(message.get("body"))
    parts = (item.get("conversation_parts") or {}).get("conversation_parts") or []
    for part in reversed(parts):
        author = (part or {}).get("author") or {}
        if author.get("type") in ("user", "lead", "contact") and part.get("body"):
            text = html_to_text(part["body"])
            break
    return person, text, text_or_none(message.get("subject"))


def parse_intercom(body: bytes) -> InboundEvent:
    """Parse one Intercom notification into an ``InboundEvent``."""
    payload = read_json_object(body, "Intercom")
    notification_id = payload.get("id")
    topic = str(payload.get("topic") or "")
    item = (payload.get("data") or {}).get("item")
    if not notification_id or not topic:
        raise InputError("Intercom notification needs 'id' and 'topic'")
    if not isinstance(item, dict):
        raise InputError("Intercom notification without data.item", field="data.item")

    subject = text = None
    if item.get("type") == "conversation":
        person, text, subject = _conversation(item)
    elif item.get("type") in ("contact", "user", "lead"):
        person = _contact_person(item)
    else:
        person = PersonFacts()

    occurred, as_typed = read_time(payload.get("created_at"), from_epoch)
    fields = {
        **as_typed,
        "topic": topic,
        "item_type": item.get("type"),
        "item_id": item.get("id"),
        "app_id": payload.get("app_id"),
        "conversation_url": (item.get("links") or {}).get("conversation_web"),
    }
    utm = {
        k: str(item[k])
        for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
        if item.get(k)
    }
    is_lead = topic in LEAD_TOPICS
    return InboundEvent(
        dedupe_key=f"intercom:{notification_id}",
        channel="chat",
        kind="chat" if is_lead else "status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=str(notification_id),
        occurred_at=occurred,
        person=person,
        subject=subject,
        body_text=text,
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw_text(body),
        creates_lead=is_lead,
    )
