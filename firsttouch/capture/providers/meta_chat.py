"""Messenger, Instagram and WhatsApp Cloud messages: Meta's chat webhooks.

Both arrive signed like Meta's lead ads (``X-Hub-Signature-256``, the app
secret; see ``meta_leads``) and may batch many events in one post.

- Messenger and Instagram (``object: page`` / ``instagram``): each
  ``entry[].messaging[]`` item is a ``message`` (``mid``, ``text``), a
  ``postback`` (a button, "Get Started" among them) or a ``referral`` (an
  m.me link or a Click-to-Messenger ad: ``ref``, ``ad_id``, ``source``);
  https://developers.facebook.com/docs/messenger-platform/webhooks.
- WhatsApp Cloud (``object: whatsapp_business_account``): each
  ``entry[].changes[].value`` holds ``messages`` (``id`` is the wamid, ``from``
  the sender's number, ``referral`` for a Click-to-WhatsApp ad) and
  ``statuses`` of the messages the business sent (sent, delivered, read,
  failed with ``errors``);
  https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components.

A visitor's message, postback or ad referral is a chat lead, the ad or ref
kept in ``fields``; the key is the message's mid or wamid. Later messages of
the same thread attach to the first as replies (``message_id`` names the
thread). Echoes of the page's own messages, delivery and read receipts and
message statuses, failed ones included, are recorded and create no lead.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.providers.payloads import (
    from_epoch,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.errors import InputError

PROVIDER = "meta_chat"
MESSENGER_OBJECTS = {"page": "messenger", "instagram": "instagram"}
WHATSAPP_OBJECT = "whatsapp_business_account"


def parse_meta_chat(body: bytes) -> list[InboundEvent]:
    """Parse one Messenger, Instagram or WhatsApp webhook into its events."""
    payload = read_json_object(body, "Meta chat")
    kind = payload.get("object")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise InputError("Meta chat webhook without an entry list", field="entry")
    if not isinstance(kind, str) or (
        kind not in MESSENGER_OBJECTS and kind != WHATSAPP_OBJECT
    ):
        raise InputError(
            f"Meta chat webhook for object {kind!r}; this endpoint reads page, "
            f"instagram and {WHATSAPP_OBJECT}",
            field="object",
        )
    events: list[InboundEvent] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        if kind in MESSENGER_OBJECTS:
            for item in _listed(entry, "messaging", index):
                if isinstance(item, dict):
                    events.append(messenger_event(item, entry, MESSENGER_OBJECTS[kind]))
        else:
            for change in _listed(entry, "changes", index):
                if not isinstance(change, dict):
                    continue
                value = change.get("value")
                if change.get("field") == "messages" and isinstance(value, dict):
                    events += whatsapp_events(value)
    return events


def _listed(entry: dict[str, Any], name: str, index: int) -> list[Any]:
    """``entry[name]``, which Meta always sends as a list (or leaves out)."""
    value = entry.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(
            f"Meta chat entry[{index}].{name} must be a list of events, got "
            f"{type(value).__name__}",
            field=f"entry[{index}].{name}",
        )
    return value


# -- Messenger and Instagram --------------------------------------------------


def _referral_fields(referral: Any) -> dict[str, Any]:
    if not isinstance(referral, dict):
        return {}
    kept = {
        "ref": referral.get("ref"),
        "ad_id": referral.get("ad_id"),
        "referral_source": referral.get("source"),
        "referral_type": referral.get("type"),
        "ads_context": referral.get("ads_context_data"),
    }
    return {k: v for k, v in kept.items() if v is not None}


def messenger_event(
    item: dict[str, Any], entry: dict[str, Any], platform: str
) -> InboundEvent:
    """Build the event of one ``messaging`` item."""
    sender = str((item.get("sender") or {}).get("id") or "")
    page = str((item.get("recipient") or {}).get("id") or entry.get("id") or "")
    stamp = item.get("timestamp")
    message = item.get("message") if isinstance(item.get("message"), dict) else None
    postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
    referral = item.get("referral") if isinstance(item.get("referral"), dict) else None

    reason = None
    text: str | None = None
    if message is not None:
        mid = text_or_none(message.get("mid"))
        text = text_or_none(message.get("text")) or _attachment_text(message)
        referral = referral or message.get("referral")
        quick = (message.get("quick_reply") or {}).get("payload")
        what = "message"
        if message.get("is_echo"):
            reason = "an echo of a message the page sent, not the visitor's"
    elif postback is not None:
        mid = text_or_none(postback.get("mid"))
        text = text_or_none(postback.get("title"))
        referral = referral or postback.get("referral")
        quick = postback.get("payload")
        what = "postback"
    elif referral is not None:
        mid, quick, what = None, None, "referral"
    else:
        mid, quick = None, None
        what = next((k for k in ("delivery", "read", "reaction") if k in item), "other")
        reason = f"a Messenger {what} event, not a message from the visitor"

    if not sender:
        raise InputError(f"{platform} {what} without sender.id", field="sender.id")
    key = mid or f"{what}:{page}:{sender}:{stamp}"
    occurred, as_typed = read_time(stamp, from_epoch)
    fields: dict[str, Any] = {
        **as_typed,
        "platform": platform,
        "page_id": page or None,
        "sender_id": sender,
        "event": what,
        "payload": quick,
        **_referral_fields(referral),
    }
    if reason:
        fields["not_a_lead"] = reason
    thread = f"{platform}:{page}:{sender}"
    return InboundEvent(
        dedupe_key=f"{platform}:{key}"[:255],
        channel="chat",
        kind="chat" if reason is None else "status",
        source=platform,
        provider=PROVIDER,
        provider_event_id=mid,
        occurred_at=occurred,
        body_text=text,
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=text_or_none(fields.get("ad_id")),
        raw=json.dumps(item),
        message_id=thread if reason is None else None,
        in_reply_to=thread if reason is None else None,
        creates_lead=reason is None,
    )


def _attachment_text(message: dict[str, Any]) -> str | None:
    kinds = [
        str(a.get("type"))
        for a in message.get("attachments") or []
        if isinstance(a, dict) and a.get("type")
    ]
    return f"[{', '.join(kinds)}]" if kinds else None


# -- WhatsApp Cloud -----------------------------------------------------------


def whatsapp_events(value: dict[str, Any]) -> list[InboundEvent]:
    """The events of one ``messages`` change: messages, statuses, errors."""
    metadata = value.get("metadata") or {}
    number_id = str(metadata.get("phone_number_id") or "")
    names = {
        str(c.get("wa_id")): text_or_none((c.get("profile") or {}).get("name"))
        for c in value.get("contacts") or []
        if isinstance(c, dict)
    }
    events = [
        whatsapp_message(m, number_id, names)
        for m in value.get("messages") or []
        if isinstance(m, dict)
    ]
    events += [
        whatsapp_status(s, number_id)
        for s in value.get("statuses") or []
        if isinstance(s, dict)
    ]
    for error in value.get("errors") or []:
        if isinstance(error, dict):
            events.append(_whatsapp_error(error, number_id))
    return events


def _whatsapp_text(message: dict[str, Any]) -> str | None:
    kind = str(message.get("type") or "")
    part = message.get(kind)
    part = part if isinstance(part, dict) else {}
    if kind == "text":
        return text_or_none(part.get("body"))
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return text_or_none(reply.get("title"))
    if kind == "button":
        return text_or_none(part.get("text") or part.get("payload"))
    return text_or_none(part.get("caption")) or (f"[{kind}]" if kind else None)


def whatsapp_message(
    message: dict[str, Any], number_id: str, names: dict[str, str | None]
) -> InboundEvent:
    """Build the event of one message a person sent the business."""
    wamid = text_or_none(message.get("id"))
    sender = text_or_none(message.get("from"))
    if not wamid or not sender:
        raise InputError("WhatsApp message needs 'id' and 'from'", field="messages")
    referral = message.get("referral")
    referral = referral if isinstance(referral, dict) else {}
    interactive = message.get("interactive") or {}
    reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
    occurred, as_typed = read_time(message.get("timestamp"), from_epoch)
    fields = {
        **as_typed,
        "platform": "whatsapp",
        "phone_number_id": number_id or None,
        "wa_id": sender,
        "message_type": message.get("type"),
        "reply_id": reply.get("id"),
        "context_message": (message.get("context") or {}).get("id"),
        "ad_id": referral.get("source_id")
        if referral.get("source_type") == "ad"
        else None,
        "referral": referral or None,
    }
    thread = f"whatsapp:{number_id}:{sender}"
    return InboundEvent(
        dedupe_key=f"whatsapp:{wamid}"[:255],
        channel="chat",
        kind="chat",
        source="whatsapp",
        provider=PROVIDER,
        provider_event_id=wamid,
        occurred_at=occurred,
        # wa_id is the sender's number in international form without "+".
        person=PersonFacts(phone=f"+{sender.lstrip('+')}", full_name=names.get(sender)),
        body_text=_whatsapp_text(message),
        fields={k: v for k, v in fields.items() if v is not None},
        campaign=text_or_none(referral.get("headline") or fields.get("ad_id")),
        raw=json.dumps(message),
        message_id=thread,
        in_reply_to=thread,
    )


def whatsapp_status(status: dict[str, Any], number_id: str) -> InboundEvent:
    """Build the record of one status of a message the business sent."""
    wamid = text_or_none(status.get("id"))
    state = text_or_none(status.get("status")) or "unknown"
    if not wamid:
        raise InputError("WhatsApp status without id", field="statuses.id")
    errors = [
        {"code": e.get("code"), "title": e.get("title")}
        for e in status.get("errors") or []
        if isinstance(e, dict)
    ]
    reason = f"the {state} status of a message the business sent, not a new message"
    if errors:
        reason += f" (error {errors[0]['code']}: {errors[0]['title']})"
    recipient = text_or_none(status.get("recipient_id"))
    occurred, as_typed = read_time(status.get("timestamp"), from_epoch)
    fields = {
        **as_typed,
        "platform": "whatsapp",
        "phone_number_id": number_id or None,
        "status": state,
        "errors": errors or None,
        "conversation_id": (status.get("conversation") or {}).get("id"),
        "not_a_lead": reason,
    }
    return InboundEvent(
        dedupe_key=f"whatsapp:status:{wamid}:{state}"[:255],
        channel="chat",
        kind="status",
        source="whatsapp",
        provider=PROVIDER,
        provider_event_id=wamid,
        occurred_at=occurred,
        person=PersonFacts(phone=f"+{recipient.lstrip('+')}" if recipient else None),
        fields={k: v for k, v in fields.items() if v is not None},
        raw=json.dumps(status),
        creates_lead=False,
    )


def _whatsapp_error(error: dict[str, Any], number_id: str) -> InboundEvent:
    raw = json.dumps(error, sort_keys=True)
    digest = hashlib.sha256(f"{number_id}:{raw}".encode()).hexdigest()[:32]
    return InboundEvent(
        dedupe_key=f"whatsapp:error:{digest}",
        channel="chat",
        kind="status",
        source="whatsapp",
        provider=PROVIDER,
        fields={
            "platform": "whatsapp",
            "error_code": error.get("code"),
            "error_title": error.get("title"),
            "not_a_lead": "an error WhatsApp reported about the business's number",
        },
        raw=raw,
        creates_lead=False,
    )
