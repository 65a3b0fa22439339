"""What a template may say about a lead: the values it is rendered with.

Only plain values cross into a template (dicts of strings), never a model
object, so a sandboxed template cannot reach the session or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from firsttouch.store.models import Contact, Inbound
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", re.IGNORECASE)
TOPIC_MAX = 80


@dataclass(frozen=True)
class Lead:
    """An inbound and its contact, read once and detached from the session."""

    inbound_id: int
    channel: str
    source: str
    kind: str
    status: str
    received_at: Any
    first_touch_at: Any
    first_touch_due_at: Any
    subject: str | None
    message_id: str | None
    in_reply_to: str | None
    fields: dict[str, Any]
    campaign: str | None
    owner_id: str | None
    contact_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    timezone: str | None
    country: str | None
    region: str | None
    route: str | None


def read_lead(inbound: Inbound, contact: Contact | None) -> Lead:
    """Return the lead as plain values."""
    attributes = (contact.attributes if contact else None) or {}
    fields = dict(inbound.fields or {})
    route = fields.get("route") or attributes.get("route")
    return Lead(
        inbound_id=inbound.id,
        channel=inbound.channel,
        source=inbound.source,
        kind=inbound.kind,
        status=inbound.status,
        received_at=inbound.received_at,
        first_touch_at=inbound.first_touch_at,
        first_touch_due_at=inbound.first_touch_due_at,
        subject=inbound.subject,
        message_id=inbound.message_id,
        in_reply_to=inbound.in_reply_to,
        fields=fields,
        campaign=inbound.campaign,
        owner_id=inbound.owner_id or (contact.owner_id if contact else None),
        contact_id=contact.id if contact else None,
        first_name=contact.first_name if contact else None,
        last_name=contact.last_name if contact else None,
        email=contact.email if contact else None,
        phone=contact.phone_e164 if contact else None,
        company=contact.company_name if contact else None,
        title=contact.title if contact else None,
        timezone=(contact.timezone if contact else None) or fields.get("timezone"),
        country=contact.country if contact else None,
        region=contact.region if contact else None,
        route=str(route) if route else None,
    )


def owner_of(workspace: Workspace, lead: Lead) -> Rep:
    """Return the lead's owner, or the on-call rep, or the first manager."""
    for rep_id in (lead.owner_id, workspace.routing.on_call):
        rep = workspace.team.rep(rep_id) if rep_id else None
        if rep is not None:
            return rep
    managers = workspace.team.managers()
    return managers[0] if managers else workspace.team.reps[0]


def topic_of(workspace: Workspace, lead: Lead) -> str | None:
    """Return what the buyer asked about, in a few words, if we can tell."""
    candidates = [
        lead.fields.get("topic"),
        REPLY_PREFIX.sub("", lead.subject or ""),
        _form_name(workspace, lead),
    ]
    for value in candidates:
        text = " ".join(str(value or "").split())
        if text and len(text) <= TOPIC_MAX:
            return text
    return None


def _form_name(workspace: Workspace, lead: Lead) -> str | None:
    form_id = lead.fields.get("form") or lead.fields.get("form_id")
    form = workspace.forms.get(str(form_id)) if form_id else None
    return form.name.lower() if form is not None else None


def template_context(
    workspace: Workspace, lead: Lead, owner: Rep, booking_url: str | None
) -> dict[str, Any]:
    """Return the values a first-touch template is rendered with."""
    company = workspace.company
    return {
        "contact": {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "company": lead.company,
            "title": lead.title,
        },
        "owner": {
            "name": owner.name,
            "first_name": owner.name.split()[0],
            "email": owner.email,
            "phone": owner.phone,
        },
        "company": {
            "name": company.name,
            "website": company.website,
            "postal_address": company.postal_address,
        },
        "topic": topic_of(workspace, lead),
        "route": lead.route,
        "channel": lead.channel,
        "booking_url": booking_url,
    }
