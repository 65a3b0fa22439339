"""Raw RFC 5322 mail to a ``ParsedEmail``, and to an ``InboundEvent``.

Real mail is often broken: wrong or missing charsets, bad transfer
encodings, multiparts without parts or boundaries, raw 8-bit headers. The
parser never raises on content; what it cannot read cleanly it decodes as
best it can, so a lead is never lost to a malformed message. Attachments
are kept as metadata only (name, type, size). A message a colleague
forwarded is attributed to the buyer named in the forwarded header block.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from firsttouch.capture.charsets import decode_bytes, raw_to_text
from firsttouch.capture.encoded_words import decode_encoded_words
from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.html_text import html_to_text
from firsttouch.capture.identity import normalise_email, split_full_name
from firsttouch.capture.providers.payloads import time_as_typed
from firsttouch.workspace import Workspace

# Bodies beyond this are the sender's archive, not the buyer's message.
BODY_TEXT_CAP = 100_000

_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|enc|doorst)\s*:", re.I)
_FORWARD_MARKERS = re.compile(
    r"(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:|"
    r"-{2,}\s*original message\s*-{2,}|-{2,}\s*weitergeleitete nachricht\s*-{2,}|"
    r"-{2,}\s*message transf[ée]r[ée]\s*-{2,})",
    re.I,
)
_FROM_LINE = re.compile(r"^[>\s*]*(from|von|de|van)\s*:\**\s*(?P<value>.+)$", re.I)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)


@dataclass(frozen=True)
class Attachment:
    """An attachment as metadata: what it was, never its content."""

    filename: str | None
    content_type: str
    size: int
    content_id: str | None = None


@dataclass
class ParsedEmail:
    """What firsttouch reads out of one message."""

    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    from_name: str | None
    from_address: str | None
    to: list[str]
    cc: list[str]
    reply_to: str | None
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    forwarded_from: tuple[str | None, str] | None = None
    auto_submitted: str | None = None
    is_delivery_report: bool = False
    html_only: bool = False
    defects: list[str] = field(default_factory=list)
    # The Date header as written, for a person when ``date`` could not be read.
    date_header: str = ""

    @property
    def buyer(self) -> tuple[str | None, str | None]:
        """The person the lead is about: the original sender of a forward."""
        if self.forwarded_from is not None:
            return self.forwarded_from
        return self.from_name, self.from_address


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one raw message; never raises on malformed content."""
    msg = message_from_bytes(raw, policy=compat32)
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    charsets: list[str] = []
    inner: list[Message] = []
    _collect(msg, text_parts, html_parts, attachments, charsets, inner)

    html = "\n".join(html_parts) or None
    text = "\n\n".join(p for p in text_parts if p.strip())
    html_only = not text.strip() and html is not None
    if html_only and html:
        text = html_to_text(html)
    if not text.strip():
        text = _fallback_body(raw)

    from_name, from_address = _sender(msg)
    subject = header_text(msg, "Subject")
    date_header = header_text(msg, "Date")
    parsed = ParsedEmail(
        message_id=_first_id(header_text(msg, "Message-ID")),
        in_reply_to=_first_id(header_text(msg, "In-Reply-To")),
        references=_MSG_ID.findall(header_text(msg, "References")),
        from_name=from_name,
        from_address=from_address,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        reply_to=_address(header_text(msg, "Reply-To"))[1],
        subject=subject,
        date=_date(date_header),
        date_header=date_header,
        text=text[:BODY_TEXT_CAP],
        html=html,
        attachments=attachments,
        charsets=charsets,
        auto_submitted=_auto_submitted(msg, subject),
        is_delivery_report=_is_delivery_report(msg, from_address),
        html_only=html_only,
        defects=[type(d).__name__ for d in getattr(msg, "defects", [])],
    )
    parsed.forwarded_from = _forwarded_from(parsed, inner)
    return parsed


def _collect(
    msg: Message,
    texts: list[str],
    htmls: list[str],
    attachments: list[Attachment],
    charsets: list[str],
    inner: list[Message],
) -> None:
    """Walk the MIME tree, keeping text, HTML and attachment metadata."""
    try:
        parts = list(msg.walk())
    except Exception:  # noqa: BLE001 - a broken tree still has a root part
        parts = [msg]
    for part in parts:
        ctype = _content_type(part)
        if ctype == "message/rfc822":
            # The walk goes on into the attached message's own parts.
            payload = part.get_payload()
            if isinstance(payload, list):
                inner.extend(p for p in payload if isinstance(p, Message))
            continue
        if part.is_multipart():
            continue
        filename = _filename(part)
        disposition = header_text(part, "Content-Disposition").split(";")[0].lower()
        data = _payload_bytes(part)
        # A delivery-status part is plain "Field: value" text (RFC 3464).
        is_text = ctype.startswith("text/") or ctype == "message/delivery-status"
        if disposition == "attachment" or filename or not is_text:
            attachments.append(
                Attachment(
                    filename=filename,
                    content_type=ctype,
                    size=len(data),
                    content_id=header_text(part, "Content-ID").strip("<> ") or None,
                )
            )
            continue
        declared = part.get_content_charset()
        if declared is None and ctype == "text/html":
            declared = _meta_charset(data)
        body, used = decode_bytes(data, declared)
        charsets.append(used)
        if ctype == "text/html":
            htmls.append(body)
        else:
            texts.append(body)


def _meta_charset(html: bytes) -> str | None:
    """The charset an HTML body names for itself in a <meta> tag, if any."""
    found = _META_CHARSET.search(html[:4096])
    return found.group(1).decode("ascii", errors="ignore") if found else None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001 - a garbled Content-Type means plain text
        return "text/plain"


def _payload_bytes(part: Message) -> bytes:
    # compat32 decodes base64 and quoted-printable and hands unknown
    # transfer encodings ("7-bit", "x-uuencode" gone wrong) back raw.
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken base64 padding and the like
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - RFC 2231 parameters that do not decode
        return None
    if not name:
        return None
    return _decode_words(name if isinstance(name, str) else str(name))


def header_text(msg: Message, name: str) -> str:
    """A header as Unicode: encoded words and raw 8-bit both decoded."""
    # The value as received: compat32 would wrap a raw 8-bit one in a
    # Header whose chunks no longer show the encoded words inside it.
    wanted = name.lower()
    value = next((v for k, v in msg.raw_items() if k.lower() == wanted), None)
    if value is None:
        return ""
    return _decode_words(str(value))


def _decode_words(value: str) -> str:
    # Raw 8-bit header bytes arrive as surrogate escapes; turn them into
    # text first, then decode any RFC 2047 encoded words.
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("utf-8", errors="surrogateescape")
        value = decode_bytes(raw)[0]
    return " ".join(decode_encoded_words(value).split())


def _address(value: str) -> tuple[str | None, str | None]:
    name, address = parseaddr(value)
    if not address or "@" not in address:
        found = _ADDRESS.search(value or "")
        if not found:
            # No address at all: what is there is a name ("Website Visitor").
            bare = (name or value or "").strip().strip('"<>').strip()
            return (bare or None), None
        address = found.group(0)
    display = name.strip().strip('"').strip() or None
    return display, address.strip()


def _sender(msg: Message) -> tuple[str | None, str | None]:
    # A From without an address (broken mailers, list digests) still leaves
    # someone to answer: Sender, then Reply-To, then the envelope's path.
    name: str | None = None
    for header in ("From", "Sender", "Reply-To", "Return-Path"):
        found_name, address = _address(header_text(msg, header))
        name = name or found_name
        if address:
            return name, address
    return name, None


def _addresses(msg: Message, name: str) -> list[str]:
    value = header_text(msg, name)
    return [addr for _, addr in getaddresses([value]) if addr and "@" in addr]


def _first_id(value: str) -> str | None:
    found = _MSG_ID.search(value or "")
    if found:
        return found.group(0)
    value = (value or "").strip()
    return f"<{value}>" if value and " " not in value else None


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 31 Dec 9999 at -1200 is a valid date that UTC cannot hold: no
        # time is better than a message refused (and retried) for days.
        return None


def _auto_submitted(msg: Message, subject: str) -> str | None:
    # RFC 3834 Auto-Submitted, plus the headers Exchange and list servers set.
    auto = header_text(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return auto
    if header_text(msg, "X-Autoreply") or header_text(msg, "X-Autorespond"):
        return "auto-replied"
    if header_text(msg, "Precedence").lower() in ("bulk", "junk", "list", "auto_reply"):
        return "precedence-" + header_text(msg, "Precedence").lower()
    if re.match(
        r"^\s*(automatic reply|auto reply|autoreply|out of office)", subject, re.I
    ):
        return "auto-replied"
    return None


def _is_delivery_report(msg: Message, from_address: str | None) -> bool:
    ctype = _content_type(msg)
    if ctype == "multipart/report":
        return True
    local = (from_address or "").partition("@")[0].lower()
    return local in ("mailer-daemon", "postmaster")


def _forwarded_from(
    parsed: ParsedEmail, inner: list[Message]
) -> tuple[str | None, str] | None:
    """The original sender of a forwarded lead, if this mail is a forward."""
    for message in inner:
        name, address = _address(header_text(message, "From"))
        if address and _differs(address, parsed.from_address):
            return name, address

    marked = _FORWARD_MARKERS.search(parsed.text)
    if not marked and not _FORWARD_SUBJECT.match(parsed.subject):
        return None
    tail = parsed.text[marked.end() :] if marked else parsed.text
    for line in tail.splitlines()[:40]:
        found = _FROM_LINE.match(line.strip())
        if not found:
            continue
        value = found.group("value").replace("[mailto:", "<").replace("]", ">")
        name, address = _address(value)
        if address and _differs(address, parsed.from_address):
            return name, address
    return None


def _differs(address: str, other: str | None) -> bool:
    return normalise_email(address) != normalise_email(other)


def _fallback_body(raw: bytes) -> str:
    """Text from the bytes after the header block, when MIME gave nothing."""
    head_end = raw.find(b"\r\n\r\n")
    head_end = raw.find(b"\n\n") if head_end < 0 else head_end
    body = raw[head_end:] if head_end >= 0 else raw
    text = decode_bytes(body)[0]
    lines = [
        line
        for line in text.splitlines()
        if not line.startswith("--") and not re.match(r"^[\w-]+:\s", line)
    ]
    return "\n".join(lines).strip()


def email_to_event(
    raw: bytes,
    *,
    provider: str,
    source: str,
    team_domains: Collection[str] | None = None,
) -> InboundEvent:
    """Parse ``raw`` into the event ``ingest`` stores.

    The dedupe key is the Message-ID, so one message arriving by SMTP and
    again through a provider's webhook is one inbound; without a Message-ID
    it is a digest of the bytes. A forward is attributed to the original
    sender; given ``team_domains``, only when a colleague (someone at one
    of those domains) forwarded it, so a buyer forwarding their own
    colleague's mail stays the lead.
    """
    parsed = parse_email(raw)
    if parsed.forwarded_from is not None and team_domains is not None:
        sender_domain = (parsed.from_address or "").rpartition("@")[2].lower()
        if sender_domain not in {d.lower() for d in team_domains}:
            parsed.forwarded_from = None
    name, address = parsed.buyer
    first, last = split_full_name(name)
    person = PersonFacts(
        email=address, first_name=first, last_name=last, full_name=name
    )
    raw_text, raw_encoding = raw_to_text(raw)
    fields = _fields(parsed, raw_encoding)
    not_a_lead = _not_a_lead(parsed, person)
    if not_a_lead:
        fields["not_a_lead"] = not_a_lead

    return InboundEvent(
        dedupe_key=email_dedupe_key(parsed, raw),
        channel="email",
        kind="status" if parsed.is_delivery_report else "message",
        source=source,
        provider=provider,
        provider_event_id=parsed.message_id,
        occurred_at=parsed.date,
        person=person,
        subject=parsed.subject or None,
        body_text=parsed.text or None,
        fields=fields,
        raw=raw_text,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references[-20:],
        creates_lead=not_a_lead is None,
    )


def _not_a_lead(parsed: ParsedEmail, person: PersonFacts) -> str | None:
    """Why a message is recorded without becoming a lead, or None."""
    if parsed.is_delivery_report:
        return "a delivery report (bounce or delay notice), not a person writing"
    if parsed.auto_submitted:
        return f"an automatic message ({parsed.auto_submitted}), not a person writing"
    if person.email is None:
        return "the message has no sender address that can be answered"
    return None


def team_domains(workspace: Workspace) -> frozenset[str]:
    """The mail domains of the team: its reps' addresses and its website."""
    domains = {r.email.rpartition("@")[2].lower() for r in workspace.team.reps}
    website = urlsplit(workspace.company.website or "").hostname
    if website:
        domains.add(website.lower().removeprefix("www."))
    return frozenset(d for d in domains if d)


def email_dedupe_key(parsed: ParsedEmail, raw: bytes) -> str:
    """``email:<message-id>:<digest of sender and subject>``.

    The Message-ID alone is not enough: some mailers stamp one constant id
    on every message. A retry of the same message (or the same message by
    SMTP and by webhook) repeats sender and subject too. Without a usable
    Message-ID the key is a digest of the bytes.
    """
    message_id = parsed.message_id
    if not message_id or len(message_id) > 200:
        return "email:sha256:" + hashlib.sha256(raw).hexdigest()
    who = (
        f"{normalise_email(parsed.from_address) or ''}|{parsed.subject.strip().lower()}"
    )
    digest = hashlib.sha256(who.encode("utf-8", errors="replace")).hexdigest()[:12]
    return f"email:{message_id.strip('<>')}:{digest}"


def _fields(parsed: ParsedEmail, raw_encoding: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "from": parsed.from_address,
        "to": parsed.to,
        "cc": parsed.cc,
        "reply_to": parsed.reply_to,
        "attachments": [a.__dict__ for a in parsed.attachments],
        "charsets": sorted(set(parsed.charsets)),
        "html_only": parsed.html_only,
        "raw_encoding": raw_encoding,
    }
    if parsed.forwarded_from is not None:
        fields["forwarded_by"] = parsed.from_address
    if parsed.auto_submitted:
        fields["auto_submitted"] = parsed.auto_submitted
    if parsed.defects:
        fields["mime_defects"] = sorted(set(parsed.defects))
    fields.update(time_as_typed(parsed.date_header, parsed.date))
    return fields
