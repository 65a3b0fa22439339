"""Olark chat transcripts and offline messages.

Olark's webhook integration posts one ``Conversation`` when a chat ends or
an offline message is left: ``id``, ``items`` (``MessageToOperator``,
``MessageToVisitor``, ``OfflineMessage``, each with ``body`` and a
``timestamp`` in seconds as a string) and the ``visitor`` (``fullName``,
``emailAddress``, ``phoneNumber``, ``organization``, ``city``, ``region``,
``countryCode``...). It sends it as a form field ``data`` holding the JSON;
a JSON body is read too. An offline message is Olark's form: its body is
the text the visitor typed into it, ``name: ...`` / ``email: ...`` /
``Message: ...`` lines, which are what the visitor said about themselves.

Olark does not sign; the route checks a shared secret
(``OLARK_WEBHOOK_SECRET``, see ``shared_secret``).
"""

from __future__ import annotations

import re
from typing import Any

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.identity import normalise_email
from firsttouch.capture.providers.answer_facts import merge_facts, reachable
from firsttouch.capture.providers.payloads import (
    from_epoch,
    raw_text,
    read_form,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.errors import InputError

PROVIDER = "olark"
SOURCE = "olark"
VISITOR_KINDS = frozenset({"MessageToOperator", "OfflineMessage"})
NO_CONTACT = "the visitor left no email or phone, so no one can be answered"
# "Label: value" lines of an offline message, the label one or two words.
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,20}?)\s*:\s*(.*)$")
_OFFLINE_FACTS = {
    "name": "full_name",
    "full name": "full_name",
    "email": "email",
    "e-mail": "email",
    "phone": "phone",
    "phone number": "phone",
    "company": "company",
}


def read_olark_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The conversation JSON, from a ``data`` form field or a JSON body."""
    if content_type and "form" in content_type.lower():
        data = read_form(body, "Olark").get("data")
        if not data:
            raise InputError("Olark form post without a 'data' field", field="data")
        return read_json_object(data.encode(), "Olark data")
    return read_json_object(body, "Olark")


def offline_fields(text: str) -> tuple[dict[str, str], str | None]:
    """The facts an offline message's lines give, and its message."""
    facts: dict[str, str] = {}
    message_lines: list[str] = []
    in_message = False
    for line in text.splitlines():
        match = _LINE.match(line)
        label = match.group(1).strip().lower() if match else ""
        if match and label in _OFFLINE_FACTS and not in_message:
            value = match.group(2).strip()
            if value:
                facts.setdefault(_OFFLINE_FACTS[label], value)
        elif match and label == "message" and not in_message:
            in_message = True
            message_lines.append(match.group(2))
        elif in_message:
            message_lines.append(line)
    if facts.get("email") and normalise_email(facts["email"]) is None:
        facts.pop("email")
    message = "\n".join(message_lines).strip() or None
    return facts, message


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _visitor(visitor: dict[str, Any]) -> PersonFacts:
    return PersonFacts(
        email=text_or_none(visitor.get("emailAddress")),
        phone=text_or_none(visitor.get("phoneNumber")),
        full_name=text_or_none(visitor.get("fullName")),
        company=text_or_none(visitor.get("organization")),
        region=text_or_none(visitor.get("region")),
        country=text_or_none(visitor.get("countryCode")),
    )


def olark_event(conversation: dict[str, Any], raw: str) -> InboundEvent:
    """Build the event of one Olark conversation."""
    conversation_id = text_or_none(conversation.get("id"))
    if not conversation_id:
        raise InputError("Olark conversation without id", field="id")
    items = [i for i in conversation.get("items") or [] if isinstance(i, dict)]
    visitor = conversation.get("visitor")
    visitor = visitor if isinstance(visitor, dict) else {}

    typed: dict[str, str] = {}
    lines: list[str] = []
    for item in items:
        if item.get("kind") not in VISITOR_KINDS or not text_or_none(item.get("body")):
            continue
        text = str(item["body"])
        if item.get("kind") == "OfflineMessage":
            facts, message = offline_fields(text)
            for name, value in facts.items():
                typed.setdefault(name, value)
            text = message or text
        lines.append(text.strip())
    # What the visitor typed beats what Olark guessed about them.
    person = merge_facts(PersonFacts.model_validate(typed), _visitor(visitor))

    stamps = [str(i["timestamp"]) for i in items if _is_number(i.get("timestamp"))]
    last = max(stamps, key=float, default="")
    # The latest item that says when; else the last one's time as typed.
    given = [i.get("timestamp") for i in items if i.get("timestamp") is not None]
    occurred, as_typed = read_time(last or (given[-1] if given else None), from_epoch)
    offline = any(i.get("kind") == "OfflineMessage" for i in items)
    fields: dict[str, Any] = {
        **as_typed,
        "conversation_id": conversation_id,
        "visitor_id": visitor.get("id"),
        "offline_message": offline,
        "page_url": visitor.get("conversationBeginPage"),
        "referrer": visitor.get("referrer"),
        "tags": conversation.get("tags") or None,
        "groups": [
            g.get("name")
            for g in conversation.get("groups") or []
            if isinstance(g, dict)
        ]
        or None,
        "items": len(items),
    }
    is_lead = reachable(person)
    if not is_lead:
        fields["not_a_lead"] = NO_CONTACT
    return InboundEvent(
        # A conversation id is reused when the visitor comes back; its
        # latest item tells the posts apart, and a retry repeats it.
        dedupe_key=f"olark:{conversation_id}:{last or '-'}"[:255],
        channel="chat",
        kind="chat",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=conversation_id,
        occurred_at=occurred,
        person=person,
        body_text="\n".join(lines) or None,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw,
        creates_lead=is_lead,
    )


def parse_olark(body: bytes, content_type: str | None = None) -> InboundEvent:
    """Parse one Olark webhook post into an ``InboundEvent``."""
    conversation = read_olark_body(body, content_type)
    if conversation.get("kind") not in (None, "Conversation"):
        raise InputError(
            f"Olark post of kind {conversation.get('kind')!r}; only Conversation "
            "is delivered to this endpoint",
            field="kind",
        )
    return olark_event(conversation, raw_text(body))
