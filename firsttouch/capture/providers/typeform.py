"""Typeform: the ``form_response`` webhook and the Responses API's pages.

Typeform posts ``{"event_id", "event_type": "form_response", "form_response":
{...}}`` signed with ``Typeform-Signature: sha256=<base64 HMAC-SHA256 of the
raw body>`` under the webhook's secret
(https://www.typeform.com/developers/webhooks/secure-your-webhooks/). Each
answer names its type and carries its value under that name (``"type":
"email", "email": "..."``; ``"type": "choice", "choice": {"label"}``), see
https://www.typeform.com/developers/webhooks/example-payload/. The Responses
API (``GET /forms/{id}/responses``) lists the same responses as ``items``.

Both paths key a response on its ``token``, which Typeform keeps across its
webhook retries and shows in the API, so a response seen both ways is
stored once; the webhook's ``event_id`` is kept as the provider's event id.
A response that gives no email or phone is recorded with that reason and
answered 200: a 4xx would only make Typeform retry and then switch the
webhook off.
"""

from __future__ import annotations

import json
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.forms import UTM_FIELDS
from firsttouch.capture.providers.answer_facts import (
    facts_from_answers,
    merge_facts,
    reachable,
)
from firsttouch.capture.providers.payloads import (
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.shared_secret import check_base64_digest
from firsttouch.capture.providers.signing import hmac_base64, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "typeform"
SOURCE = "typeform"
SIGNATURE_HEADER = "Typeform-Signature"
NO_CONTACT = "the response gives no email or phone, so no one can be answered"

# Answer types whose value says how to reach the person, whatever the
# question's reference is called.
_TYPED_FACTS = {"email": "email", "phone_number": "phone", "url": "website"}


def verify_typeform_signature(header: str | None, body: bytes, secret: Secret) -> None:
    """Check ``Typeform-Signature: sha256=<base64>`` over the raw body."""
    value = require_header(header, SIGNATURE_HEADER, "Typeform")
    if not value.startswith("sha256="):
        raise SignatureError(
            f"Typeform {SIGNATURE_HEADER} must start with 'sha256='; got another scheme"
        )
    check_base64_digest(
        value[len("sha256=") :],
        hmac_base64(secret, body),
        header=SIGNATURE_HEADER,
        provider="Typeform",
    )


def answer_value(answer: dict[str, Any]) -> Any:
    """The value of one answer, whatever its type, as plain JSON."""
    kind = str(answer.get("type") or "")
    value = answer.get(kind)
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        return labels + ([value["other"]] if value.get("other") else [])
    return value


def _answer_name(answer: dict[str, Any], titles: dict[str, str]) -> str:
    field = answer.get("field") or {}
    field_id = str(field.get("id") or "")
    # A ref the author set ("work_email") says more than Typeform's id.
    return str(field.get("ref") or titles.get(field_id) or field_id or "answer")


def _answers(
    response: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers by name, and the facts their types give away."""
    definition = response.get("definition") or {}
    titles = {
        str(f.get("id")): str(f.get("title"))
        for f in definition.get("fields") or []
        if isinstance(f, dict) and f.get("id") and f.get("title")
    }
    named: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        value = answer_value(answer)
        name = _answer_name(answer, titles)
        if name in named:
            # Typeform lets two questions share a ref; keep both answers.
            name = f"{name}:{(answer.get('field') or {}).get('id')}"
        named[name] = value
        target = _TYPED_FACTS.get(str(answer.get("type")))
        if target and isinstance(value, str) and target not in typed:
            typed[target] = value
    return named, typed


def _variables(response: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for item in response.get("variables") or []:
        if isinstance(item, dict) and item.get("key"):
            found[str(item["key"])] = item.get(str(item.get("type") or ""))
    return found


def response_event(
    response: dict[str, Any], raw: str, *, event_id: str | None = None
) -> InboundEvent:
    """Build the event of one Typeform response (webhook or API item)."""
    token = text_or_none(response.get("token") or response.get("response_id"))
    key = token or event_id
    if not key:
        raise InputError(
            "Typeform response without a token or event_id; it cannot be de-duplicated",
            field="form_response.token",
        )

    named, typed = _answers(response)
    given = response.get("hidden")
    hidden: dict[str, Any] = given if isinstance(given, dict) else {}
    person, text = facts_from_answers({**hidden, **named})
    person = merge_facts(PersonFacts.model_validate(typed), person)
    utm = {k: str(hidden[k]) for k in UTM_FIELDS if hidden.get(k)}
    definition = response.get("definition") or {}
    metadata = response.get("metadata") or {}
    fields: dict[str, Any] = {
        "form_id": response.get("form_id") or definition.get("id"),
        "form_title": definition.get("title"),
        "event_id": event_id,
        "answers": named,
        "hidden": hidden or None,
        "variables": _variables(response) or None,
        "calculated": response.get("calculated") or None,
        "landed_at": response.get("landed_at"),
        "referer": metadata.get("referer") if isinstance(metadata, dict) else None,
    }
    submitted, as_typed = read_time(response.get("submitted_at"))
    fields.update(as_typed)
    is_lead = reachable(person)
    if not is_lead:
        fields["not_a_lead"] = NO_CONTACT
    return InboundEvent(
        dedupe_key=f"typeform:response:{key}",
        channel="web_form",
        kind="form",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=event_id or token,
        occurred_at=submitted,
        person=person,
        subject=text.get("subject"),
        body_text=text.get("message"),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=utm.get("utm_campaign"),
        utm=utm,
        raw=raw,
        creates_lead=is_lead,
    )


def parse_typeform(body: bytes) -> InboundEvent:
    """Parse one ``form_response`` webhook into an ``InboundEvent``."""
    payload = read_json_object(body, "Typeform")
    event_id = text_or_none(payload.get("event_id"))
    event_type = payload.get("event_type")
    response = payload.get("form_response")
    if not event_id:
        raise InputError("Typeform webhook without event_id", field="event_id")
    if event_type != "form_response" or not isinstance(response, dict):
        raise InputError(
            f"Typeform webhook of type {event_type!r} without a form_response "
            "object; only form_response events are delivered to this endpoint",
            field="form_response",
        )
    return response_event(response, raw_text(body), event_id=event_id)


def parse_typeform_responses(body: bytes) -> list[InboundEvent]:
    """Parse one page of the Responses API (``{"items": [...]}``)."""
    payload = read_json_object(body, "Typeform responses")
    items = payload.get("items")
    if not isinstance(items, list):
        raise InputError("Typeform responses page without items", field="items")
    # Each response keeps its own record, not the whole page.
    return [
        response_event(item, json.dumps(item))
        for item in items
        if isinstance(item, dict)
    ]
