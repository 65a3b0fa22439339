"""LinkedIn Lead Sync notifications and the webhook's endpoint validation.

A notification names a lead form response (``leadGenFormResponse`` URN) and
an action: ``CREATED`` is a new lead, ``DELETED`` means the member withdrew
it (a fact to record, never a lead). The answers themselves are read from
the Lead Sync API by URN. LinkedIn signs each POST with ``X-LI-Signature``,
the hex HMAC-SHA256 of the body keyed by the app's client secret, and
validates the endpoint with a GET ``challengeCode`` that must be answered
with its HMAC (https://learn.microsoft.com/linkedin/shared/api-guide/webhook-validation).
"""

from __future__ import annotations

import json
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.linkedin_api import read_answers
from firsttouch.capture.providers.payloads import (
    from_epoch,
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_equal, hmac_hex, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError

PROVIDER = "linkedin"
SOURCE = "linkedin_lead_gen"
SIGNATURE_HEADER = "X-LI-Signature"
RESPONSE_URN_PREFIX = "urn:li:leadGenFormResponse:"


def answer_challenge(challenge_code: str, client_secret: Secret) -> dict[str, str]:
    """Return the JSON LinkedIn expects back from endpoint validation."""
    if not challenge_code:
        raise InputError(
            "LinkedIn validation without challengeCode", field="challengeCode"
        )
    return {
        "challengeCode": challenge_code,
        "challengeResponse": hmac_hex(client_secret, challenge_code.encode()),
    }


def verify_linkedin_signature(header: str | None, body: bytes, secret: Secret) -> None:
    """Check ``X-LI-Signature`` (with or without a ``hmacsha256=`` prefix)."""
    value = require_header(header, SIGNATURE_HEADER, "LinkedIn")
    if value.lower().startswith("hmacsha256="):
        value = value.split("=", 1)[1]
    check_equal(value, hmac_hex(secret, body), SIGNATURE_HEADER, "LinkedIn")


def _owner(payload: dict[str, Any]) -> str | None:
    owner = payload.get("owner")
    if isinstance(owner, dict) and owner:
        return str(next(iter(owner.values())))
    return None


def parse_linkedin(body: bytes) -> InboundEvent:
    """Parse one LEAD_ACTION notification into an ``InboundEvent``."""
    return notification_event(read_json_object(body, "LinkedIn"), raw_text(body))


def notification_event(payload: dict[str, Any], raw: str) -> InboundEvent:
    """The event of one LEAD_ACTION notification, already read as JSON."""
    response_urn = payload.get("leadGenFormResponse")
    action = str(payload.get("leadAction") or "").upper()
    if not response_urn:
        raise InputError(
            "LinkedIn notification without leadGenFormResponse",
            field="leadGenFormResponse",
        )
    if action not in ("CREATED", "DELETED"):
        raise InputError(
            f"LinkedIn leadAction {action or '(none)'} is not CREATED or DELETED",
            field="leadAction",
        )

    entity = payload.get("associatedEntity")
    fields: dict[str, Any] = {
        "lead_action": action,
        "lead_type": payload.get("leadType"),
        "form_response_urn": response_urn,
        "form_urn": payload.get("leadGenForm"),
        "owner_urn": _owner(payload),
        "associated_entity": entity if isinstance(entity, dict) else None,
    }
    if action == "CREATED":
        # The notification carries no answers: they are fetched by URN.
        fields["needs_fetch"] = True

    occurred, as_typed = read_time(payload.get("occurredAt"), from_epoch)
    fields.update(as_typed)
    deleted = action == "DELETED"
    return InboundEvent(
        dedupe_key=f"linkedin:{response_urn}:{action.lower()}",
        channel="lead_ad",
        kind="status" if deleted else "lead_ad",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=str(response_urn),
        occurred_at=occurred,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw,
        # A withdrawn response must never become (or revive) a lead.
        creates_lead=not deleted,
    )


def with_answers(
    event: InboundEvent, response: dict[str, Any], form: dict[str, Any]
) -> InboundEvent:
    """The notification's event completed with the fetched answers."""
    person, answers = read_answers(response, form)
    metadata = (response.get("leadMetadata") or {}).get("sponsoredLeadMetadata") or {}
    fields = {
        **event.fields,
        "answers": answers,
        "needs_fetch": False,
        "test_lead": bool(response.get("testLead")),
    }
    consents = (response.get("formResponse") or {}).get("consentResponses")
    if consents:
        fields["consents"] = consents
    return event.model_copy(
        update={
            "person": person,
            "fields": fields,
            "campaign": text_or_none(metadata.get("campaign")) or event.campaign,
        }
    )


def response_event(response: dict[str, Any], form: dict[str, Any]) -> InboundEvent:
    """The event of a response read from the owner finder (a poll).

    It is the event the CREATED notification of the same response makes,
    answers included, so its key is the webhook's and a lead seen both
    ways is stored once.
    """
    response_id = str(response.get("id") or "")
    if not response_id:
        raise InputError("LinkedIn form response without id", field="id")
    urn = (
        response_id
        if response_id.startswith("urn:li:")
        else f"{RESPONSE_URN_PREFIX}{response_id}"
    )
    notice = {
        "leadGenFormResponse": urn,
        "leadGenForm": response.get("versionedLeadGenFormUrn"),
        "owner": response.get("owner"),
        "associatedEntity": response.get("associatedEntity"),
        "leadType": response.get("leadType"),
        "leadAction": "CREATED",
        "occurredAt": response.get("submittedAt"),
    }
    event = notification_event(notice, json.dumps(response))
    return with_answers(event, response, form)
