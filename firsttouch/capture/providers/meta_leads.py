"""Meta Lead Ads: the webhook handshake, the signed leadgen notice, the lead.

Meta's webhook carries only ids (``leadgen_id``, ``page_id``, ``form_id``,
``ad_id``); the answers are read from the Graph API by lead id with the
page's token (``meta_graph.GraphClient``) and turned into an event here.
See https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
and https://developers.facebook.com/docs/graph-api/webhooks/getting-started.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, replace
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    ProviderTime,
    first_time,
    from_epoch,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_prefixed_hex
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "meta"
SOURCE = "meta_lead_ads"
SIGNATURE_HEADER = "X-Hub-Signature-256"

# Meta's prefilled question keys, and the person fact each one fills.
PERSON_KEYS = {
    "email": "email",
    "work_email": "email",
    "phone_number": "phone",
    "work_phone_number": "phone",
    "phone": "phone",
    "full_name": "full_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "company_name": "company",
    "company": "company",
    "job_title": "title",
    "country": "country",
    "state": "region",
    "province": "region",
    "website": "website",
}


class ChallengeRefusedError(SignatureError):
    """Meta's GET verification named the wrong token or mode."""

    code = "verify_token_invalid"
    status = 403


@dataclass(frozen=True)
class LeadgenNotice:
    """One ``leadgen`` change of a Page webhook: which lead to fetch."""

    leadgen_id: str
    page_id: str | None
    form_id: str | None
    ad_id: str | None
    adgroup_id: str | None
    created: ProviderTime

    def as_fields(self) -> dict[str, str]:
        ids = {
            "page_id": self.page_id,
            "form_id": self.form_id,
            "ad_id": self.ad_id,
            "adgroup_id": self.adgroup_id,
        }
        return {k: v for k, v in ids.items() if v}


def answer_challenge(params: dict[str, str], verify_token: Secret) -> str:
    """Return ``hub.challenge`` if the subscription request names our token."""
    if params.get("hub.mode") != "subscribe":
        raise ChallengeRefusedError("Meta verification must have hub.mode=subscribe")
    presented = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(presented.encode(), verify_token.reveal().encode()):
        raise ChallengeRefusedError(
            "Meta hub.verify_token does not match META_VERIFY_TOKEN; use the same "
            "value in the app's webhook settings"
        )
    challenge = params.get("hub.challenge")
    if not challenge:
        raise InputError("Meta verification without hub.challenge")
    return challenge


def verify_meta_signature(header: str | None, body: bytes, app_secret: Secret) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex HMAC of the raw body>``."""
    check_prefixed_hex(
        header,
        body,
        app_secret,
        header=SIGNATURE_HEADER,
        provider="Meta",
        prefix="sha256=",
        digest="sha256",
    )


def _id(value: Any) -> str | None:
    # Graph's examples give ids as JSON numbers; keep them as exact strings.
    return None if value is None else str(value)


def parse_leadgen_notification(body: bytes) -> list[LeadgenNotice]:
    """Read every ``leadgen`` change of a Page webhook (one POST may hold many)."""
    payload = read_json_object(body, "Meta")
    if payload.get("object") != "page":
        return []
    notices = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            if (change or {}).get("field") != "leadgen":
                continue
            value = change.get("value") or {}
            leadgen_id = _id(value.get("leadgen_id"))
            if not leadgen_id:
                raise InputError(
                    "Meta leadgen change without leadgen_id",
                    field="entry.changes.value.leadgen_id",
                )
            notices.append(
                LeadgenNotice(
                    leadgen_id=leadgen_id,
                    page_id=_id(value.get("page_id") or entry.get("id")),
                    form_id=_id(value.get("form_id")),
                    ad_id=_id(value.get("ad_id")),
                    adgroup_id=_id(value.get("adgroup_id")),
                    created=read_time(value.get("created_time"), from_epoch),
                )
            )
    return notices


def answers(lead: dict[str, Any]) -> dict[str, str]:
    """Flatten Graph's ``field_data`` into ``{question: answer}``."""
    flat: dict[str, str] = {}
    for item in lead.get("field_data") or []:
        name = (item or {}).get("name")
        values = [str(v) for v in (item.get("values") or []) if v is not None]
        if name and values:
            flat[str(name)] = ", ".join(values)
    return flat


def person_from_answers(flat: dict[str, str]) -> PersonFacts:
    """Fill the person facts Meta's prefilled questions carry."""
    facts: dict[str, str] = {}
    for key, value in flat.items():
        target = PERSON_KEYS.get(key.lower())
        if target and value.strip() and target not in facts:
            facts[target] = value.strip()
    return PersonFacts.model_validate(facts)


def lead_event(notice: LeadgenNotice, lead: dict[str, Any], raw: str) -> InboundEvent:
    """Build the event of one lead from its notice and its Graph record."""
    flat = answers(lead)
    # Graph's record says when in ISO 8601, the webhook's notice in seconds.
    occurred, as_typed = first_time(read_time(lead.get("created_time")), notice.created)
    fields: dict[str, Any] = {
        **as_typed,
        "leadgen_id": notice.leadgen_id,
        **notice.as_fields(),
        "answers": flat,
    }
    if lead.get("custom_disclaimer_responses"):
        fields["consent_checkboxes"] = {
            str(r.get("checkbox_key")): r.get("is_checked") in ("1", 1, True)
            for r in lead["custom_disclaimer_responses"]
            if isinstance(r, dict)
        }
    for key in (
        "campaign_id",
        "campaign_name",
        "ad_name",
        "form_name",
        "platform",
        "is_organic",
    ):
        if lead.get(key) is not None:
            fields[key] = lead[key]

    return InboundEvent(
        dedupe_key=f"meta:leadgen:{notice.leadgen_id}",
        channel="lead_ad",
        kind="lead_ad",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=notice.leadgen_id,
        occurred_at=occurred,
        person=person_from_answers(flat),
        fields=fields,
        campaign=text_or_none(lead.get("campaign_name") or lead.get("campaign_id")),
        raw=raw,
    )


def notice_from_lead(lead: dict[str, Any]) -> LeadgenNotice:
    """A notice for a lead read without a webhook (bulk read, export, poll)."""
    leadgen_id = _id(lead.get("id"))
    if not leadgen_id:
        raise InputError("Meta lead record without id", field="id")
    return LeadgenNotice(
        leadgen_id=leadgen_id,
        page_id=None,
        form_id=_id(lead.get("form_id")),
        ad_id=_id(lead.get("ad_id")),
        adgroup_id=None,
        created=read_time(lead.get("created_time")),
    )


def polled_lead_event(
    lead: dict[str, Any], *, form_id: str, page_id: str | None
) -> InboundEvent:
    """The event of a lead read from its form's list (a poll).

    It is the event the webhook makes for the same lead, so the key is
    ``meta:leadgen:<id>`` either way and a lead seen both ways is stored once.
    """
    notice = notice_from_lead(lead)
    notice = replace(notice, form_id=notice.form_id or form_id, page_id=page_id)
    return lead_event(notice, lead, json.dumps(lead))


def lead_from_flattened(record: Any) -> dict[str, Any]:
    """Turn a Zapier-style export (``{question: [values]}``) into a Graph record.

    Integration tools that relay Meta leads send this shape; the lead id is in
    ``facebook_lead_id`` or ``id``. An empty or null record is refused.
    """
    if not isinstance(record, dict) or not record:
        raise InputError("Meta lead export is empty: it holds no field at all")
    field_data = []
    lead_id = None
    for name, values in record.items():
        listed = values if isinstance(values, list) else [values]
        if name in ("facebook_lead_id", "leadgen_id", "id") and listed:
            lead_id = str(listed[0])
            continue
        field_data.append(
            {"name": name, "values": [v for v in listed if v is not None]}
        )
    if not lead_id:
        raise InputError(
            "Meta lead export without facebook_lead_id; it cannot be de-duplicated",
            field="facebook_lead_id",
        )
    return {"id": lead_id, "field_data": field_data}
