"""What a template may say about a lead: the values it is rendered with.

Only plain values cross into a template (dicts of strings), never a model
object, so a sandboxed template cannot reach the session or the database.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from firsttouch.channels.control_chars import header_text
from firsttouch.store.models import Contact, Inbound
from firsttouch.store.prepared import Prepared
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", re.IGNORECASE)
TOPIC_MAX = 80
# Marks that end a sentence or a clause, in the scripts our buyers write.
CLOSING_MARKS = ".,;:!?\u2026\u3002\uff01\uff1f\u061f\u0964 "


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


_INBOUND_FIELDS = (
    "id",
    "channel",
    "source",
    "kind",
    "status",
    "received_at",
    "first_touch_at",
    "first_touch_due_at",
    "subject",
    "message_id",
    "in_reply_to",
    "fields",
    "campaign",
    "owner_id",
)
_CONTACT_FIELDS = (
    "id",
    "owner_id",
    "first_name",
    "last_name",
    "email",
    "phone_e164",
    "company_name",
    "title",
    "timezone",
    "country",
    "region",
    "attributes",
)
_INBOUNDS = cast(Table, Inbound.__table__)
_CONTACTS = cast(Table, Contact.__table__)
# The columns a lead needs, inbound and contact in one statement built once;
# contact columns are labelled contact_<name>.
_LEAD = Prepared(
    select(
        *(_INBOUNDS.c[name] for name in _INBOUND_FIELDS),
        *(_CONTACTS.c[name].label(f"contact_{name}") for name in _CONTACT_FIELDS),
    )
    .select_from(
        _INBOUNDS.outerjoin(_CONTACTS, _CONTACTS.c.id == _INBOUNDS.c.contact_id)
    )
    .where(_INBOUNDS.c.id == bindparam("inbound_id"))
)


def load_lead(session: Session | Connection, inbound_id: int) -> Lead | None:
    """Read the lead of ``inbound_id`` in one query; None if there is none."""
    row = _LEAD.run(session, {"inbound_id": inbound_id}).first()
    return _lead(row._mapping) if row is not None else None


def read_lead(inbound: Inbound, contact: Contact | None) -> Lead:
    """Return the lead of loaded rows as plain values."""
    values = {name: getattr(inbound, name) for name in _INBOUND_FIELDS}
    for name in _CONTACT_FIELDS:
        values[f"contact_{name}"] = getattr(contact, name) if contact else None
    return _lead(values)


def _lead(values: Mapping[Any, Any]) -> Lead:
    attributes = values["contact_attributes"] or {}
    fields = dict(values["fields"] or {})
    route = fields.get("route") or attributes.get("route")
    return Lead(
        inbound_id=values["id"],
        channel=values["channel"],
        source=values["source"],
        kind=values["kind"],
        status=values["status"],
        received_at=values["received_at"],
        first_touch_at=values["first_touch_at"],
        first_touch_due_at=values["first_touch_due_at"],
        subject=values["subject"],
        message_id=values["message_id"],
        in_reply_to=values["in_reply_to"],
        fields=fields,
        campaign=values["campaign"],
        owner_id=values["owner_id"] or values["contact_owner_id"],
        contact_id=values["contact_id"],
        first_name=values["contact_first_name"],
        last_name=values["contact_last_name"],
        email=values["contact_email"],
        phone=values["contact_phone_e164"],
        company=values["contact_company_name"],
        title=values["contact_title"],
        timezone=values["contact_timezone"] or fields.get("timezone"),
        country=values["contact_country"],
        region=values["contact_region"],
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
    """Return what the buyer asked about, in a few words, if we can tell.

    Its closing marks are dropped: templates put it mid-sentence ("about
    {{ topic }}."), where "Pricing for 40 users?" would print "?.".
    """
    candidates = [
        lead.fields.get("topic"),
        REPLY_PREFIX.sub("", lead.subject or ""),
        _form_name(workspace, lead),
    ]
    for value in candidates:
        text = " ".join((plain_text(value) or "").split()).rstrip(CLOSING_MARKS)
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
        # What a buyer typed goes on one line: a line break, tab or NUL in a
        # name would otherwise land in a subject or split a text message. A
        # value that is not plain text falls back as a missing one does.
        "contact": {
            "first_name": plain_text(lead.first_name),
            "last_name": plain_text(lead.last_name),
            "company": plain_text(lead.company),
            "title": plain_text(lead.title),
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
        # A subject says "Re:" only when it answers the buyer's own email.
        "answering_email": lead.channel == "email",
        "booking_url": booking_url,
    }


def plain_text(value: Any) -> str | None:
    """Return a buyer's value fit for a template or a header, or None.

    None makes the template print its fallback, as for a missing value: a
    value that is not text (an object or a list a form or CRM sent, or the
    Python or JSON spelling of one stored as text), or text that is empty
    once control and invisible format characters are taken out.
    """
    if not isinstance(value, str) or _structured(value):
        return None
    return header_text(value) or None


def _structured(text: str) -> bool:
    """True when ``text`` is the written form of a dict or a list."""
    text = text.strip()
    if len(text) < 2 or (text[0], text[-1]) not in (("{", "}"), ("[", "]")):
        return False
    try:
        # Bounded by the column the value came from; literals only, no code.
        return isinstance(ast.literal_eval(text), (dict, list))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        try:
            return isinstance(json.loads(text), (dict, list))
        except ValueError:
            return False
