"""Formsort: a flow's answers, posted when a responder moves through it.

Formsort's webhook posts JSON: ``answers`` (by the variable names of the
flow), ``responder_uuid``, ``flow_label``, ``variant_label``,
``variant_uuid``, ``created_at`` and ``finalized``. Only a finalized
submission is a lead: the responder reached the end of the flow and chose
to send it. A submission sent part way (``finalized: false``) is recorded
with that reason and creates no lead, so a later finalized one still does.

Formsort does not sign its posts; the route checks a shared secret
(``FORMSORT_WEBHOOK_SECRET``, see ``shared_secret``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.forms import UTM_FIELDS
from firsttouch.capture.providers.answer_facts import facts_from_answers, reachable
from firsttouch.capture.providers.payloads import (
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.errors import InputError

PROVIDER = "formsort"
SOURCE = "formsort"
NOT_FINAL = "the responder has not finished the flow (finalized is false)"
NO_CONTACT = "the finalized answers give no email or phone, so no one can be answered"


def parse_formsort(body: bytes) -> InboundEvent:
    """Parse one Formsort submission into an ``InboundEvent``."""
    payload = read_json_object(body, "Formsort")
    responder = text_or_none(payload.get("responder_uuid"))
    answers = payload.get("answers")
    finalized = payload.get("finalized")
    if not responder:
        raise InputError(
            "Formsort submission without responder_uuid", field="responder_uuid"
        )
    if not isinstance(answers, dict):
        raise InputError(
            "Formsort submission without an answers object", field="answers"
        )
    if not isinstance(finalized, bool):
        raise InputError(
            "Formsort submission without a true or false 'finalized'", field="finalized"
        )

    person, text = facts_from_answers(answers)
    flow = text_or_none(payload.get("flow_label"))
    variant = text_or_none(payload.get("variant_uuid")) or text_or_none(
        payload.get("variant_label")
    )
    fields: dict[str, Any] = {
        "flow_label": flow,
        "variant_label": payload.get("variant_label"),
        "variant_uuid": payload.get("variant_uuid"),
        "responder_uuid": responder,
        "finalized": finalized,
        "answers": answers,
    }
    created, as_typed = read_time(payload.get("created_at"))
    fields.update(as_typed)
    is_lead = finalized and reachable(person)
    if not finalized:
        fields["not_a_lead"] = NOT_FINAL
    elif not is_lead:
        fields["not_a_lead"] = NO_CONTACT
    utm = {k: str(answers[k]) for k in UTM_FIELDS if answers.get(k)}
    return InboundEvent(
        dedupe_key=_dedupe_key(responder, flow, variant, finalized, body),
        channel="web_form",
        kind="form",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=responder,
        occurred_at=created,
        person=person,
        subject=text.get("subject"),
        body_text=text.get("message"),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw_text(body),
        creates_lead=is_lead,
    )


def _dedupe_key(
    responder: str, flow: str | None, variant: str | None, final: bool, body: bytes
) -> str:
    """One lead per responder and flow variant; each partial snapshot once."""
    base = f"formsort:{responder}:{flow or '-'}:{variant or '-'}"
    if final:
        return f"{base}:final"[:255]
    # Partial posts of one responder differ by their answers so far.
    return f"{base}:partial:{hashlib.sha256(body).hexdigest()[:24]}"[:255]
