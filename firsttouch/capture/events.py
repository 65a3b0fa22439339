"""The one shape every channel's payload is parsed into before it is stored.

Each provider adapter (form, email, Twilio, Meta, Calendly, ...) turns its
own wire format into an ``InboundEvent``; ``capture_inbound`` then stores
every event the same way, whatever channel it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal[
    "web_form",
    "email",
    "sms",
    "call",
    "chat",
    "lead_ad",
    "meeting",
    "referral",
    "api",
    "import",
]

Kind = Literal[
    "form",
    "message",
    "reply",
    "call",
    "missed_call",
    "voicemail",
    "chat",
    "lead_ad",
    "meeting",
    "referral",
    "import",
    "status",
    "opt_out",
]


class PersonFacts(BaseModel):
    """What the payload says about the person, before identity resolution."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    company: str | None = None
    website: str | None = None
    country: str | None = None
    region: str | None = None
    timezone: str | None = None
    employees: int | None = None
    industry: str | None = None


class InboundEvent(BaseModel):
    """One provider event, parsed and ready to be captured.

    ``dedupe_key`` must be stable across the provider's retries (its own
    message id, lead id, call sid + status, booking uid). ``raw`` is the body
    exactly as received.
    """

    model_config = ConfigDict(extra="forbid")

    dedupe_key: str = Field(min_length=1, max_length=255)
    channel: Channel
    kind: Kind
    source: str
    provider: str
    provider_event_id: str | None = None
    occurred_at: datetime | None = None
    person: PersonFacts = Field(default_factory=PersonFacts)
    subject: str | None = None
    body_text: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    campaign: str | None = None
    utm: dict[str, str] = Field(default_factory=dict)
    raw: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    default_region: str | None = None
    # Events that are not leads (a delivery status, a deletion) are recorded
    # but create no contact and start no first response.
    creates_lead: bool = True
