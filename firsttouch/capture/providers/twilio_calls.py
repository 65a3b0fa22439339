"""One phone call, one lead: join Twilio's later callbacks to the call's inbound.

Twilio reports one call through several webhooks: the incoming call, then
status callbacks, then the voicemail's recording and transcription. When
the incoming call is already stored, each later callback is stored as its
child (no second lead, no second first touch) and its facts land on the
call: an unanswered status turns the call into a missed call, a recording
and a transcript become its voicemail. Without a stored call (only the
status callback configured), a missed-call status is the lead itself and
the voicemail joins that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.ingest import IngestResult, ingest
from firsttouch.capture.providers.twilio_voice import call_key
from firsttouch.logs import get_logger
from firsttouch.store.models import Inbound

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)


def capture_call_event(runtime: Runtime, event: InboundEvent) -> IngestResult:
    """Store a status, recording or transcription, joined to its call."""
    try:
        with runtime.db.transaction() as session:
            parent = find_call(session, event)
            if parent is not None:
                event = event.model_copy(update={"creates_lead": False})
            result = ingest(runtime, event, session=session)
            if parent is not None and not result.duplicate:
                _join(session, parent, event, result.inbound_id)
            elif parent is None and event.kind == "voicemail":
                log.warning(
                    "voicemail.unattached", call_sid=event.fields.get("call_sid")
                )
    except IntegrityError:
        # A concurrent delivery of the same callback won and did the work.
        return ingest(runtime, event)
    return result


def find_call(session: Session, event: InboundEvent) -> Inbound | None:
    """The stored inbound of the call this callback belongs to, if any."""
    call_sid = event.fields.get("call_sid")
    if not call_sid:
        return None
    key = call_key(str(call_sid))
    call = session.scalar(select(Inbound).where(Inbound.dedupe_key == key))
    if call is not None or event.kind != "voicemail":
        return call
    return session.scalar(
        select(Inbound)
        .where(
            Inbound.dedupe_key.like(f"{key}:status:%"), Inbound.kind == "missed_call"
        )
        .order_by(Inbound.id)
        .limit(1)
    )


def _join(session: Session, call: Inbound, event: InboundEvent, child_id: int) -> None:
    child = session.get(Inbound, child_id)
    if child is not None:
        child.parent_id = call.id
        child.contact_id = call.contact_id
        child.owner_id = call.owner_id

    # New dicts throughout, so the JSON column sees the change.
    fields = dict(call.fields or {})
    if event.kind == "voicemail":
        voicemail = dict(fields.get("voicemail") or {})
        for name in ("recording_url", "recording_sid", "recording_duration_s"):
            if event.fields.get(name):
                voicemail[name] = event.fields[name]
        if event.body_text:
            voicemail["transcript"] = event.body_text
            call.body_text = call.body_text or event.body_text
        fields["voicemail"] = voicemail
    else:
        fields["call_status"] = event.fields.get("call_status")
        if event.fields.get("duration_s") is not None:
            fields["duration_s"] = event.fields["duration_s"]
        if event.kind == "missed_call":
            call.kind = "missed_call"
    call.fields = fields
    session.flush()
