"""firsttouch's own lead webhook, for Zapier, Make, n8n and any JSON sender.

The format, documented here because this module is its home::

    POST /capture/leads/generic
    X-Firsttouch-Secret: <GENERIC_LEAD_SECRET>
    Content-Type: application/json
    {
      "id": "zap-8812",              # optional; else the body's digest dedupes
      "source": "zapier",            # optional; else "zapier" for Zapier's
                                     # User-Agent, else "webhook"
      "email": "ana@acme.example",   # an email or a phone is required
      "phone": "+14155550100",
      "first_name": "Ana", "last_name": "Ruiz", "company": "Acme",
      "message": "Pricing for 40 seats?",
      "utm_campaign": "spring",      # utm_* and page_url are kept as tracking
      "anything_else": "kept as it came, under fields"
    }

A post whose ``entityType`` names something other than a person (an
``account``, a ``user_event``) is recorded with that reason and creates no
lead. Field names map as on firsttouch's web forms (``email``, ``work_email``,
``First Name``, ``company_name``...). The person's fields may also sit one
level down, under ``contact``, ``lead``, ``person``, ``fields``, ``data``,
``properties``, ``attributes``, ``claims`` or ``answers``, which is where
Zapier steps and CRMs put them. A body that is not a JSON object, or that
holds no email or phone, is refused with 400 and the reason, so the
sender's own log shows what to fix.
"""

from __future__ import annotations

import hashlib
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.forms import REFERRER_FIELDS, UTM_FIELDS
from firsttouch.capture.providers.answer_facts import facts_from_answers, reachable
from firsttouch.capture.providers.payloads import (
    first_time,
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.errors import InputError

PROVIDER = "generic_lead"
NESTED = (
    "contact",
    "lead",
    "person",
    "fields",
    "data",
    "properties",
    "attributes",
    "claims",
    "answers",
)
# Automation tools that relay CRM records say what each one is in
# "entityType"; only these are people who can become leads.
PERSON_ENTITIES = frozenset({"lead", "contact", "user", "person", "prospect"})
ID_FIELDS = ("id", "event_id", "lead_id", "submission_id")
TIME_FIELDS = ("submitted_at", "created_at", "timestamp", "date")


def flatten_lead(payload: dict[str, Any]) -> dict[str, Any]:
    """The top level's values, then those one level down in the known places."""
    flat = {k: v for k, v in payload.items() if not isinstance(v, dict)}
    for name in NESTED:
        inner = payload.get(name)
        if isinstance(inner, dict):
            for key, value in inner.items():
                if not isinstance(value, dict):
                    flat.setdefault(key, value)
    return flat


def _source(payload: dict[str, Any], user_agent: str | None) -> str:
    named = text_or_none(payload.get("source"))
    if named:
        return named[:60]
    if user_agent and user_agent.lower().startswith("zapier"):
        return "zapier"
    return "webhook"


def parse_generic_lead(body: bytes, *, user_agent: str | None = None) -> InboundEvent:
    """Parse one generic lead post into an ``InboundEvent``; 400 if no one to reach."""
    payload = read_json_object(body, "Lead webhook")
    flat = flatten_lead(payload)
    person, text = facts_from_answers(flat)
    entity = text_or_none(payload.get("entityType") or payload.get("entity_type"))
    not_a_person = entity is not None and entity.lower() not in PERSON_ENTITIES
    if not not_a_person and not reachable(person):
        raise InputError(
            "the lead has no email or phone; send one as 'email' or 'phone' at "
            f"the top level or under one of {', '.join(NESTED)}",
            field="email",
        )

    source = _source(payload, user_agent)
    given_id = next((t for k in ID_FIELDS if (t := text_or_none(payload.get(k)))), None)
    key = given_id or "sha256:" + hashlib.sha256(body).hexdigest()[:40]
    utm = {k: str(flat[k]) for k in UTM_FIELDS if text_or_none(flat.get(k))}
    page = next((t for k in REFERRER_FIELDS if (t := text_or_none(flat.get(k)))), None)
    occurred, as_typed = first_time(*(read_time(flat.get(k)) for k in TIME_FIELDS))
    fields = {"payload": payload, "page_url": page, **as_typed}
    if not_a_person:
        fields["not_a_lead"] = (
            f"the post describes a {entity!r} record, not a person asking to be "
            "contacted"
        )
    return InboundEvent(
        dedupe_key=f"webhook:{source}:{key}"[:255],
        channel="api",
        kind="status" if not_a_person else "form",
        source=source,
        provider=PROVIDER,
        provider_event_id=given_id,
        occurred_at=occurred,
        person=person,
        subject=text.get("subject"),
        body_text=text.get("message"),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw_text(body),
        creates_lead=not not_a_person,
    )
