"""Twilio Messaging webhooks: an inbound SMS/MMS/WhatsApp, or a status callback.

Twilio posts ``application/x-www-form-urlencoded`` fields (``MessageSid``,
``From``, ``To``, ``Body``, ``NumMedia``, ``MediaUrl0``...). A status
callback carries ``MessageStatus`` instead of a body; error ``21610`` means
the recipient has replied STOP, so the number is marked opted out.
"""

from __future__ import annotations

from firsttouch.capture.events import InboundEvent, Kind, PersonFacts
from firsttouch.capture.providers.payloads import FormFields, raw_text, text_or_none
from firsttouch.capture.providers.sms_keywords import sms_keyword
from firsttouch.errors import InputError

PROVIDER = "twilio"
SOURCE = "sms"

# https://www.twilio.com/docs/api/errors/21610 - "Attempt to send to
# unsubscribed recipient": the number has opted out with STOP.
OPTED_OUT_ERROR = "21610"
KEYWORD_ACTIONS = {"opt_out": "stop", "opt_in": "start", "help": "help"}
MESSAGE_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "canceled",
        "queued",
        "sending",
        "sent",
        "failed",
        "delivered",
        "undelivered",
        "receiving",
        "received",
        "read",
        "partially_delivered",
    }
)


def _address(value: str | None) -> str | None:
    """Strip Twilio's channel prefix (``whatsapp:+1...``) to the number."""
    if not value:
        return None
    return value.split(":", 1)[1] if ":" in value else value


def _channel_of(value: str | None) -> str:
    if value and ":" in value:
        return value.split(":", 1)[0]
    return "sms"


def _media(form: FormFields) -> list[dict[str, str]]:
    """Every ``MediaUrlN`` with its content type, in Twilio's order."""
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    media = []
    for index in range(max(count, 0)):
        url = form.get(f"MediaUrl{index}")
        if url:
            item = {"url": url}
            content_type = form.get(f"MediaContentType{index}")
            if content_type:
                item["content_type"] = content_type
            media.append(item)
    return media


def is_status_callback(form: FormFields) -> bool:
    """Tell a delivery status callback from an incoming message."""
    return "MessageStatus" in form and "Body" not in form and "NumMedia" not in form


def parse_twilio_sms(body: bytes, form: FormFields) -> InboundEvent:
    """Parse one Twilio Messaging webhook into an ``InboundEvent``."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sid:
        raise InputError(
            "Twilio message webhook without MessageSid", field="MessageSid"
        )
    if is_status_callback(form):
        return _status_event(body, form, sid)
    return _message_event(body, form, sid)


def _message_event(body: bytes, form: FormFields, sid: str) -> InboundEvent:
    sender = form.get("From")
    text = form.get("Body")
    fields: dict[str, object] = {
        "to": form.get("To"),
        "messaging_channel": _channel_of(sender),
        "num_segments": form.get("NumSegments"),
        "from_country": form.get("FromCountry"),
        "from_state": form.get("FromState"),
        "from_city": form.get("FromCity"),
    }
    media = _media(form)
    if media:
        fields["media"] = media
    for name in ("ButtonText", "ButtonPayload", "MessagingServiceSid", "ProfileName"):
        if form.get(name):
            fields[name[0].lower() + name[1:]] = form.get(name)

    # A keyword message is consent bookkeeping, not a buyer raising a hand:
    # it is stored for the consent gate but starts no first response.
    kind: Kind = "message"
    creates_lead = True
    keyword = sms_keyword(text)
    if keyword:
        word, meaning = keyword
        # The same words respond's consent gate uses: stop, start, help.
        fields["sms_keyword"] = KEYWORD_ACTIONS[meaning]
        fields["sms_keyword_text"] = word
        if meaning != "help":
            fields["consent"] = meaning
        creates_lead = False
        kind = "opt_out" if meaning == "opt_out" else "message"

    return InboundEvent(
        dedupe_key=f"twilio:sms:{sid}",
        channel="sms",
        kind=kind,
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=sid,
        person=PersonFacts(phone=_address(sender), country=form.get("FromCountry")),
        body_text=text,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw_text(body),
        creates_lead=creates_lead,
    )


def _status_event(body: bytes, form: FormFields, sid: str) -> InboundEvent:
    status = (form.get("MessageStatus") or "").lower()
    error_code = text_or_none(form.get("ErrorCode"))
    fields: dict[str, object] = {
        "message_status": status,
        "known_status": status in MESSAGE_STATUSES,
        "to": form.get("To"),
    }
    if error_code:
        fields["error_code"] = error_code
    kind: Kind = "status"
    if error_code == OPTED_OUT_ERROR:
        fields["consent"] = "opt_out"
        fields["opted_out_reason"] = "twilio error 21610: recipient replied STOP"
        kind = "opt_out"

    # A status callback is a new event per (message, status): "sent" then
    # "delivered" are two facts, while Twilio retrying "delivered" is one.
    return InboundEvent(
        dedupe_key=f"twilio:sms:{sid}:status:{status or 'unknown'}",
        channel="sms",
        kind=kind,
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=sid,
        person=PersonFacts(phone=_address(form.get("To"))),
        fields=fields,
        raw=raw_text(body),
        creates_lead=False,
    )
