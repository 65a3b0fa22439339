"""Each demo arrival as its provider would send it, parsed by the real adapter.

The demo does not hand capture a ready-made event: it writes the body a
provider would post (Twilio's form fields, a Cal.com booking, a raw email,
a Meta lead as the Graph API returns it, the generic chat JSON) and runs it
through the same parser the webhook endpoint uses. What the parser cannot
see (a texter's company) the lead does not get, as in real life.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlencode

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.calcom import parse_calcom
from firsttouch.capture.providers.generic_chat import parse_generic_chat
from firsttouch.capture.providers.meta_leads import lead_event, notice_from_lead
from firsttouch.capture.providers.payloads import FormFields
from firsttouch.capture.providers.twilio_sms import parse_twilio_sms
from firsttouch.capture.providers.twilio_voice import parse_twilio_voice

ACCOUNT_SID = "AC" + "d" * 32
TEAM_NUMBER = "+14155550199"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _form(pairs: list[tuple[str, str]]) -> tuple[bytes, FormFields]:
    return urlencode(pairs).encode(), FormFields(pairs)


def twilio_sms(sid: str, phone: str, text: str, country: str) -> InboundEvent:
    body, form = _form(
        [
            ("ToCountry", "US"),
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", text),
            ("To", TEAM_NUMBER),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", phone),
            ("FromCountry", country),
            ("ApiVersion", "2010-04-01"),
        ]
    )
    return parse_twilio_sms(body, form)


def twilio_missed_call(sid: str, phone: str, country: str) -> InboundEvent:
    body, form = _form(
        [
            ("CallSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", phone),
            ("To", TEAM_NUMBER),
            ("CallStatus", "no-answer"),
            ("Direction", "inbound"),
            ("CallDuration", "0"),
            ("FromCountry", country),
            ("ApiVersion", "2010-04-01"),
        ]
    )
    return parse_twilio_voice(body, form, "status")


def twilio_voicemail(call_sid: str, recording_sid: str, phone: str) -> InboundEvent:
    body, form = _form(
        [
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", call_sid),
            ("RecordingSid", recording_sid),
            (
                "RecordingUrl",
                f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                f"/Recordings/{recording_sid}",
            ),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "21"),
            ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"),
            ("From", phone),
            ("To", TEAM_NUMBER),
        ]
    )
    return parse_twilio_voice(body, form, "recording")


def email(
    message_id: str, sender: str, name: str, subject: str, text: str, sent_at: datetime
) -> InboundEvent:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = "hello@northwindledger.example"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = message_id
    mail.set_content(f"Hello,\n\n{text}\n\nThanks,\n{name}\n")
    return email_to_event(mail.as_bytes(), provider="smtp", source="email")


def generic_chat(
    message_id: str,
    sent_at: datetime,
    visitor: dict[str, str],
    text: str,
    utm: dict[str, str],
) -> InboundEvent:
    body = json.dumps(
        {
            "id": message_id,
            "conversation_id": f"conv-{message_id}",
            "sent_at": _iso(sent_at),
            "visitor": visitor,
            "message": text,
            "page_url": "https://northwindledger.example/pricing",
            "source": "website-chat",
            "utm": utm,
        }
    ).encode()
    return parse_generic_chat(body)


def calcom_booking(
    uid: str,
    created: datetime,
    start: datetime,
    name: str,
    email_address: str,
    zone: str,
    notes: str,
) -> InboundEvent:
    body = json.dumps(
        {
            "triggerEvent": "BOOKING_CREATED",
            "createdAt": _iso(created),
            "payload": {
                "type": "intro-call",
                "title": "Northwind Ledger intro call",
                "startTime": _iso(start),
                "uid": uid,
                "status": "ACCEPTED",
                "additionalNotes": notes,
                "organizer": {
                    "email": "maya@northwindledger.example",
                    "name": "Maya Chen",
                },
                "attendees": [{"email": email_address, "name": name, "timeZone": zone}],
                "responses": {"name": name, "email": email_address, "notes": notes},
            },
        }
    ).encode()
    return parse_calcom(body)


def meta_lead(
    leadgen_id: str, created: datetime, answers: dict[str, str]
) -> InboundEvent:
    """A lead as Graph's ``/{leadgen_id}`` returns it, after the webhook named it."""
    lead = {
        "id": leadgen_id,
        "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "ad_id": "23850000000000001",
        "form_id": "31400000000000001",
        "field_data": [
            {"name": name, "values": [value]}
            for name, value in answers.items()
            if value
        ],
    }
    return lead_event(notice_from_lead(lead), lead, json.dumps(lead))
