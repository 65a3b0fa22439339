"""The last step every inbound-mail webhook shares: raw MIME to an event.

Each email provider hands over the message its own way (raw MIME, or the
parts in JSON); once the adapter has the RFC 5322 bytes, this turns them
into the ``InboundEvent`` through ``email_to_event``, so charsets,
HTML-only bodies, forwarded leads and auto-replies are read as for any
other mail. What the provider adds (envelope, spam verdicts, its own id)
goes into ``fields``; its own id keys the event only when the mail has no
Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.payloads import SHAPE_ERRORS
from firsttouch.errors import InputError

SOURCE = "email"


def mail_event(
    raw_mime: bytes,
    *,
    provider: str,
    payload: str,
    provider_id: str | None = None,
    extra: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> InboundEvent:
    """Parse ``raw_mime`` and attach what the provider said about it.

    ``payload`` is the provider's post (or its part about this message) as
    received, kept as the inbound's raw record. ``attachments`` is metadata
    the provider gave when the files are not in the MIME.
    """
    event = email_to_event(raw_mime, provider=provider, source=SOURCE)
    stated = {k: v for k, v in (extra or {}).items() if v not in (None, "", [])}
    fields = {**event.fields, **stated}
    if provider_id:
        fields[f"{provider}_id"] = provider_id
    if attachments and not fields.get("attachments"):
        fields["attachments"] = attachments

    update: dict[str, Any] = {"fields": fields, "raw": payload}
    if event.message_id is None and provider_id:
        update["dedupe_key"] = f"{provider}:{provider_id}"[:255]
        update["provider_event_id"] = provider_id
    return event.model_copy(update=update)


def address_header(name: Any, address: Any) -> str | None:
    """``"Name" <address>`` (or the bare address) for a rebuilt header."""
    if not address:
        return None
    if not name:
        return str(address)
    quoted = str(name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


@dataclass
class Batch:
    """The events of a multi-message post, and the items that could not be read."""

    events: list[InboundEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def parse_batch(
    items: list[Any], parse: Callable[[Any], InboundEvent], where: str
) -> Batch:
    """Parse each item; one unreadable item does not cost the others.

    A provider retries the whole post on a 4xx, so refusing it for one bad
    item would hold back (and, once the provider gives up, lose) every good
    message beside it. Each bad item is named with its reason instead; only
    a post in which no item can be read is refused.
    """
    batch = Batch()
    for index, item in enumerate(items):
        try:
            batch.events.append(parse(item))
        except InputError as exc:
            batch.rejected.append(f"{where}[{index}]: {exc}")
        except SHAPE_ERRORS as exc:
            # A value of another type than documented: the item is the
            # sender's error, like any unreadable one.
            batch.rejected.append(
                f"{where}[{index}]: unexpected shape ({type(exc).__name__}: {exc})"
            )
    if batch.rejected and not batch.events:
        raise InputError("; ".join(batch.rejected[:5]), field=where)
    return batch
