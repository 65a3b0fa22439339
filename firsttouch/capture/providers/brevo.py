"""Brevo (formerly Sendinblue) inbound parsing: JSON ``items``, one a message.

Each item carries the original ``Headers`` (a value, or a list for a
repeated header), the sender and recipients as ``{Name, Address}``
objects, ``RawTextBody``/``RawHtmlBody``, Brevo's own reply extraction
(``ExtractedMarkdownMessage``), ``SpamScore`` and attachment metadata
(https://developers.brevo.com/docs/inbound-parse-webhooks). The files
themselves stay at Brevo behind a download token, so only their names and
sizes are kept. Brevo does not sign these posts; the route checks the
Basic auth of the webhook URL instead.
"""

from __future__ import annotations

import json
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import (
    Batch,
    address_header,
    mail_event,
    parse_batch,
)
from firsttouch.capture.providers.mime_rebuild import (
    body_part,
    header_pairs,
    rebuild_mime,
)
from firsttouch.capture.providers.payloads import read_json_object
from firsttouch.errors import InputError

PROVIDER = "brevo"


def _person(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return address_header(value.get("Name"), value.get("Address"))


def _people(value: Any) -> str | None:
    people = [_person(v) for v in value] if isinstance(value, list) else []
    return ", ".join(p for p in people if p) or None


def brevo_raw_mime(item: dict[str, Any]) -> bytes:
    """Rebuild the message of one item from its headers and bodies."""
    if not _person(item.get("From")) and not item.get("Headers"):
        raise InputError(
            "Brevo inbound item has neither From nor Headers", field="From"
        )

    pairs = header_pairs(item.get("Headers"))
    present = {name.lower() for name, _ in pairs}
    stated = [
        ("From", _person(item.get("From"))),
        ("To", _people(item.get("To"))),
        ("Cc", _people(item.get("Cc"))),
        ("Reply-To", _person(item.get("ReplyTo"))),
        ("Subject", item.get("Subject")),
        ("Date", item.get("SentAtDate")),
        ("Message-ID", item.get("MessageId")),
        ("In-Reply-To", item.get("InReplyTo")),
    ]
    # The original headers win; the parsed fields fill only what is missing.
    pairs += [(n, str(v)) for n, v in stated if v and n.lower() not in present]
    return rebuild_mime(
        pairs, body_part(item, "RawTextBody"), body_part(item, "RawHtmlBody")
    )


def _attachments(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "filename": a.get("Name"),
            "content_type": a.get("ContentType") or "application/octet-stream",
            "size": a.get("ContentLength"),
            "content_id": a.get("ContentID"),
        }
        for a in item.get("Attachments") or []
        if isinstance(a, dict)
    ]


def parse_brevo_item(item: dict[str, Any]) -> InboundEvent:
    """Parse one inbound item into an ``InboundEvent``."""
    uuids = item.get("Uuid")
    uuid = uuids[0] if isinstance(uuids, list) and uuids else uuids
    return mail_event(
        brevo_raw_mime(item),
        provider=PROVIDER,
        payload=json.dumps(item, ensure_ascii=False),
        provider_id=str(uuid) if uuid else None,
        extra={
            "spam_score": item.get("SpamScore"),
            "stripped_text": item.get("ExtractedMarkdownMessage"),
        },
        attachments=_attachments(item),
    )


def _item_event(item: Any) -> InboundEvent:
    if not isinstance(item, dict):
        raise InputError("the item is not an object")
    return parse_brevo_item(item)


def parse_brevo(body: bytes) -> Batch:
    """Parse a Brevo inbound post: one event per readable item."""
    payload = read_json_object(body, "Brevo")
    items = payload.get("items")
    if not isinstance(items, list):
        raise InputError(
            "Brevo inbound post has no items list; is this the inbound "
            "parsing webhook (type inbound)?",
            field="items",
        )
    return parse_batch(items, _item_event, "items")
