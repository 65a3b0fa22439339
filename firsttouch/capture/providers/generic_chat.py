"""firsttouch's own chat webhook, for chat tools without a native adapter.

The format, documented here because this module is its home::

    POST /capture/chat/generic
    X-Firsttouch-Signature: sha256=<hex HMAC-SHA256 of the raw body>
    {
      "id": "msg-123",                 # required, unique per message
      "conversation_id": "conv-9",     # optional
      "sent_at": "2026-03-10T14:00:00Z",
      "visitor": {"email": "...", "phone": "...", "name": "...",
                  "company": "..."},   # at least an email or a phone
                                       # (one no one can be reached at is
                                       # recorded, but is not a lead)
      "message": "Do you integrate with NetSuite?",
      "page_url": "https://example.com/pricing",
      "source": "drift",               # optional: which tool relayed it
      "utm": {"utm_source": "google"}
    }

The secret is ``GENERIC_CHAT_SECRET``.
"""

from __future__ import annotations

from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_prefixed_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError

PROVIDER = "generic_chat"
NO_CONTACT = "the visitor's email and phone reach no one, so no one can be answered"
SIGNATURE_HEADER = "X-Firsttouch-Signature"


def verify_generic_chat_signature(
    header: str | None, body: bytes, secret: Secret
) -> None:
    """Check ``X-Firsttouch-Signature: sha256=<hex>`` over the raw body."""
    check_prefixed_hex(
        header,
        body,
        secret,
        header=SIGNATURE_HEADER,
        provider="Generic chat",
        prefix="sha256=",
        digest="sha256",
    )


def parse_generic_chat(body: bytes) -> InboundEvent:
    """Parse one generic chat message into an ``InboundEvent``."""
    payload = read_json_object(body, "Generic chat")
    message_id = text_or_none(payload.get("id"))
    if not message_id:
        raise InputError("chat message without 'id'", field="id")
    visitor = payload.get("visitor")
    visitor = visitor if isinstance(visitor, dict) else {}
    email, phone = (
        text_or_none(visitor.get("email")),
        text_or_none(visitor.get("phone")),
    )
    if not email and not phone:
        raise InputError("chat visitor needs an email or a phone", field="visitor")

    utm_in: Any = payload.get("utm")
    utm = (
        {str(k): str(v) for k, v in (utm_in or {}).items() if v}
        if isinstance(utm_in, dict)
        else {}
    )
    source = text_or_none(payload.get("source")) or "chat"
    person = PersonFacts(
        email=email,
        phone=phone,
        full_name=text_or_none(visitor.get("name")),
        company=text_or_none(visitor.get("company")),
    )
    sent_at, as_typed = read_time(payload.get("sent_at"))
    fields = {
        "conversation_id": payload.get("conversation_id"),
        "page_url": payload.get("page_url"),
        **as_typed,
    }
    # Given, but not an address (kept as typed by PersonFacts): recorded
    # like every other channel's unreachable visitor, never a contact.
    is_lead = bool(person.email or person.phone)
    if not is_lead:
        fields["not_a_lead"] = NO_CONTACT
    return InboundEvent(
        dedupe_key=f"chat:{source}:{message_id}",
        channel="chat",
        kind="chat",
        source=source,
        provider=PROVIDER,
        provider_event_id=message_id,
        occurred_at=sent_at,
        person=person,
        body_text=text_or_none(payload.get("message")),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw_text(body),
        creates_lead=is_lead,
    )
