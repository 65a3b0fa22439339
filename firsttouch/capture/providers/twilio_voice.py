"""Twilio Voice webhooks: incoming call, call status, recording, transcription.

All four are form posts that share ``CallSid``. An incoming call is an
inbound of kind ``call``; a status callback saying the call was not answered
(busy, no-answer, canceled, failed) is an inbound of kind ``missed_call``;
recording and transcription callbacks are voicemail facts that name the
call they belong to in ``fields["parent_dedupe_key"]``.
See https://www.twilio.com/docs/usage/webhooks/voice-webhooks.
"""

from __future__ import annotations

from typing import Literal

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import FormFields, raw_text, text_or_none
from firsttouch.errors import InputError

PROVIDER = "twilio"
SOURCE = "phone"

Callback = Literal["incoming", "status", "recording", "transcription"]

MISSED_STATUSES = frozenset({"busy", "no-answer", "canceled", "failed"})
RINGING_STATUSES = frozenset({"queued", "initiated", "ringing"})


def call_key(call_sid: str) -> str:
    """The dedupe key of the inbound an incoming call creates."""
    return f"twilio:call:{call_sid}"


def _phone(value: str | None) -> str | None:
    """A caller's number; browser and SIP clients (``client:alice``) have none."""
    if not value or value.startswith(("client:", "sip:")):
        return None
    return value


def detect_callback(form: FormFields) -> Callback:
    """Say which voice callback a body is, from the fields it carries."""
    if "TranscriptionSid" in form or "TranscriptionText" in form:
        return "transcription"
    if "RecordingSid" in form:
        return "recording"
    status = (form.get("CallStatus") or "").lower()
    if status in RINGING_STATUSES and _is_inbound(form):
        return "incoming"
    return "status"


def _is_inbound(form: FormFields) -> bool:
    return (form.get("Direction") or "inbound").lower() == "inbound"


def parse_twilio_voice(
    body: bytes, form: FormFields, callback: Callback | None = None
) -> InboundEvent:
    """Parse one Twilio Voice webhook; ``callback`` names the route it came to."""
    call_sid = form.get("CallSid")
    if not call_sid:
        raise InputError("Twilio voice webhook without CallSid", field="CallSid")
    callback = callback or detect_callback(form)
    if callback == "incoming":
        return _incoming(body, form, call_sid)
    if callback == "status":
        return _status(body, form, call_sid)
    if callback == "recording":
        return _recording(body, form, call_sid)
    return _transcription(body, form, call_sid)


def _caller(form: FormFields) -> PersonFacts:
    """The buyer on the line: the caller inbound, the callee on our own calls."""
    number = form.get("From") if _is_inbound(form) else form.get("To")
    country = form.get("FromCountry") if _is_inbound(form) else form.get("ToCountry")
    return PersonFacts(phone=_phone(number or form.get("Caller")), country=country)


def _call_fields(form: FormFields) -> dict[str, object]:
    fields = {
        "call_sid": form.get("CallSid"),
        "call_status": (form.get("CallStatus") or "").lower() or None,
        "direction": form.get("Direction"),
        "to": form.get("To") or form.get("Called"),
        "caller_city": form.get("FromCity"),
        "caller_state": form.get("FromState"),
        "forwarded_from": form.get("ForwardedFrom"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _incoming(body: bytes, form: FormFields, call_sid: str) -> InboundEvent:
    return InboundEvent(
        dedupe_key=call_key(call_sid),
        channel="call",
        kind="call",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=call_sid,
        person=_caller(form),
        fields=_call_fields(form),
        raw=raw_text(body),
    )


def _status(body: bytes, form: FormFields, call_sid: str) -> InboundEvent:
    status = (form.get("CallStatus") or "unknown").lower()
    fields: dict[str, object] = _call_fields(form)
    for name, key in (
        ("CallDuration", "duration_s"),
        ("SipResponseCode", "sip_code"),
        ("SequenceNumber", "sequence"),
    ):
        if form.get(name):
            fields[key] = form.get(name)

    # Only an unanswered call from a buyer is a new lead signal; the status
    # of our own outbound calls, or of a call that was answered, is a fact.
    missed = status in MISSED_STATUSES and _is_inbound(form)
    return InboundEvent(
        dedupe_key=f"{call_key(call_sid)}:status:{status}",
        channel="call",
        kind="missed_call" if missed else "status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=call_sid,
        person=_caller(form),
        fields=fields,
        raw=raw_text(body),
        creates_lead=missed,
    )


def _recording(body: bytes, form: FormFields, call_sid: str) -> InboundEvent:
    recording_sid = form.get("RecordingSid") or ""
    status = (form.get("RecordingStatus") or "completed").lower()
    fields: dict[str, object] = {
        "call_sid": call_sid,
        "parent_dedupe_key": call_key(call_sid),
        "recording_sid": recording_sid,
        "recording_url": form.get("RecordingUrl"),
        "recording_status": status,
        "recording_duration_s": form.get("RecordingDuration"),
    }
    if form.get("ErrorCode"):
        fields["error_code"] = form.get("ErrorCode")
    return InboundEvent(
        dedupe_key=f"twilio:recording:{recording_sid}:{status}",
        channel="call",
        kind="voicemail",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=recording_sid,
        person=_caller(form),
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw_text(body),
        creates_lead=False,
    )


def _transcription(body: bytes, form: FormFields, call_sid: str) -> InboundEvent:
    sid = form.get("TranscriptionSid") or form.get("RecordingSid") or call_sid
    status = (form.get("TranscriptionStatus") or "completed").lower()
    fields: dict[str, object] = {
        "call_sid": call_sid,
        "parent_dedupe_key": call_key(call_sid),
        "transcription_sid": sid,
        "transcription_status": status,
        "recording_sid": form.get("RecordingSid"),
        "recording_url": form.get("RecordingUrl"),
    }
    return InboundEvent(
        dedupe_key=f"twilio:transcription:{sid}:{status}",
        channel="call",
        kind="voicemail",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=sid,
        person=_caller(form),
        body_text=text_or_none(form.get("TranscriptionText")),
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw_text(body),
        creates_lead=False,
    )
