"""Meeting invites: an iCalendar REQUEST emailed to the buyer and the owner.

The invite follows iTIP and iMIP (RFC 5546, RFC 6047): a VCALENDAR with
``METHOD:REQUEST`` whose VEVENT names the owner as ORGANIZER and both people
as ATTENDEEs, carried as a ``text/calendar; method=REQUEST`` alternative so
mail clients show accept and decline buttons, and attached as ``invite.ics``
for those that do not.

Each copy is one outbound effect with its own ledger key
(``invite:<uid>:buyer`` and ``invite:<uid>:owner``), so a retried job sends
neither twice.

A meeting keeps its UID when it changes. A reschedule sends an updated
``METHOD:REQUEST`` and a cancellation a ``METHOD:CANCEL`` (``STATUS:
CANCELLED``), each with the meeting's raised SEQUENCE and ledger keys of
their own (``invite:<uid>:<sequence>:<role>``). A send queued for a sequence
that a later change has already superseded is dropped: the newest one
carries the whole state, and calendars ignore a lower SEQUENCE anyway.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage as MimeMessage
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import icalendar
import structlog
from markupsafe import escape
from sqlalchemy import select

from firsttouch.channels.control_chars import header_text
from firsttouch.channels.messages import EmailMessage, Result
from firsttouch.channels.outbox.store import OutboxEmail
from firsttouch.channels.smtp.addresses import (
    AddressError,
    needs_smtputf8,
    wire_address,
)
from firsttouch.channels.smtp.sender import (
    WIRE_POLICY,
    SmtpEmail,
    build_mime,
    make_message_id,
)
from firsttouch.clock import Clock
from firsttouch.errors import DeliveryError, JobError
from firsttouch.jobs.ledger import Ledger
from firsttouch.logs import mask_email
from firsttouch.respond.senders import built_once
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Meeting, OutboxMessage, Touch
from firsttouch.workspace import Workspace
from firsttouch.workspace.channels import ref_name
from firsttouch.workspace.team import Rep

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime

log = structlog.get_logger(__name__)

PRODID = "-//firsttouch//booking//EN"
CANCELLED = "cancelled"


class InviteMailer(Protocol):
    """Sends a finished MIME message; ``find_mime`` finds an earlier send."""

    def send_mime(self, mime: MimeMessage, key: str) -> Result: ...

    def find_mime(self, key: str, message_id: str) -> Result | None: ...


def invite_calendar(
    meeting: Meeting,
    owner: Rep,
    buyer: Contact | None,
    workspace: Workspace,
    stamp: datetime,
) -> bytes:
    """Return the ICS for ``meeting`` as it stands: a REQUEST, or a CANCEL."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", itip_method(meeting))

    event = icalendar.Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("sequence", meeting.sequence or 0)
    cancelled = meeting.status == CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Names and titles go on one line, control characters folded to spaces
    # (``control_chars.py``): a NUL or a line break has no place in a
    # calendar field, and some calendars refuse the whole invite over one.
    event.add("summary", header_text(meeting_title(workspace, buyer)))
    company = header_text(workspace.company.name)
    event.add("description", f"Booked on {company}'s booking page.")

    organizer = icalendar.vCalAddress(f"mailto:{_ics_address(owner.email)}")
    organizer.params["cn"] = header_text(owner.name)
    event.add("organizer", organizer)
    event.add("attendee", _attendee(owner.email, owner.name, "CHAIR", "ACCEPTED"))
    if buyer is not None and buyer.email:
        name = buyer.display_name
        event.add(
            "attendee", _attendee(buyer.email, name, "REQ-PARTICIPANT", "NEEDS-ACTION")
        )
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def invite_buyer(meeting: Meeting, contact: Contact | None) -> Contact | None:
    """Return who the buyer's copy goes to: the contact, or the address typed.

    A booking link with no contact behind it keeps the address its buyer
    typed on the meeting. It stands in as an unsaved contact, so the invite
    and the ICS file name the buyer the way they name any other.
    """
    if (contact is not None and contact.email) or not meeting.buyer_email:
        return contact
    stand_in = Contact(email=meeting.buyer_email)
    if contact is not None:
        stand_in.first_name = contact.first_name
        stand_in.last_name = contact.last_name
        stand_in.company_name = contact.company_name
    return stand_in


def itip_method(meeting: Meeting) -> str:
    """Return the iTIP method that tells calendars the meeting's state."""
    return "CANCEL" if meeting.status == CANCELLED else "REQUEST"


def _ics_address(email: str) -> str:
    """Return the address as the invite's email carries it (IDNA domain)."""
    try:
        return wire_address(email)
    except AddressError:
        # The send of that copy says why; the rest still goes, and a line
        # break in the address must not break the other copy's calendar.
        return header_text(email)


def _attendee(email: str, name: str, role: str, state: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{_ics_address(email)}")
    address.params["cn"] = header_text(name)
    address.params["role"] = role
    address.params["partstat"] = state
    address.params["rsvp"] = "TRUE" if state == "NEEDS-ACTION" else "FALSE"
    return address


def meeting_title(workspace: Workspace, buyer: Contact | None) -> str:
    who = buyer.company_name or buyer.display_name if buyer else None
    company = workspace.company.name
    return f"{company} and {who}" if who else f"Meeting with {company}"


def invite_mime(
    message: EmailMessage, calendar: bytes, method: str = "REQUEST"
) -> MimeMessage:
    """Return ``message`` with the invite as a calendar alternative and a file."""
    mime = build_mime(message)
    ics = calendar.decode()
    mime.add_alternative(ics, subtype="calendar", params={"method": method})
    mime.add_attachment(
        calendar, maintype="application", subtype="ics", filename="invite.ics"
    )
    return mime


def _when(meeting: Meeting, zone: str) -> str:
    local = meeting.starts_at.astimezone(ZoneInfo(zone))
    end = meeting.ends_at.astimezone(ZoneInfo(zone))
    return f"{local:%A %d %B %Y, %H:%M}-{end:%H:%M} ({zone})"


def invite_message(
    meeting: Meeting,
    owner: Rep,
    buyer: Contact | None,
    workspace: Workspace,
    role: str,
) -> EmailMessage:
    """Return the email that carries one side's copy of the invite."""
    smtp = workspace.channels.smtp
    sender = smtp.from_address if smtp else owner.email
    title = meeting_title(workspace, buyer)
    if role == "buyer":
        assert buyer is not None and buyer.email
        to, to_name, zone = buyer.email, buyer.display_name, meeting.buyer_timezone
    else:
        to, to_name, zone = owner.email, owner.name, owner.timezone
    label, greeting = _wording(meeting, owner, buyer, workspace, role)

    when = _when(meeting, zone)
    text = f"{greeting}\n\nWhen: {when}\n\nThe calendar invite is attached.\n"
    html = (
        f"<p>{_escape(greeting)}</p><p><strong>When:</strong> {_escape(when)}</p>"
        "<p>The calendar invite is attached.</p>"
    )
    key = invite_key(meeting, role)
    return EmailMessage(
        to=to,
        to_name=to_name,
        from_address=sender,
        from_name=owner.name,
        reply_to=owner.email,
        subject=f"{label}: {title}, {when}",
        text=text,
        html=html,
        message_id=make_message_id(key, sender),
    )


def _wording(
    meeting: Meeting,
    owner: Rep,
    buyer: Contact | None,
    workspace: Workspace,
    role: str,
) -> tuple[str, str]:
    """Return the subject's label and the first line, for the meeting's state."""
    who = buyer.display_name if buyer else "a buyer"
    company = workspace.company.name
    if meeting.status == CANCELLED:
        if role == "buyer":
            return "Cancelled", f"Your meeting with {owner.name} of {company} is off."
        return "Cancelled", f"The meeting with {who} is cancelled."
    if meeting.sequence:
        if role == "buyer":
            return "Updated invitation", f"Your meeting with {owner.name} has moved."
        return "Updated invitation", f"{who} moved their meeting with you."
    if role == "buyer":
        return "Invitation", f"You are booked with {owner.name} of {company}."
    return "Invitation", f"{who} booked a meeting with you on the booking page."


def invite_key(meeting: Meeting, role: str) -> str:
    """Return the ledger key of one side's copy of the meeting's current state.

    The first invite keeps the key it always had, so an upgrade in the middle
    of a retry never sends it twice.
    """
    if not meeting.sequence:
        return f"invite:{meeting.uid}:{role}"
    return f"invite:{meeting.uid}:{meeting.sequence}:{role}"


def _escape(value: str) -> str:
    return str(escape(value))


class SmtpInviteMailer(SmtpEmail):
    """SMTP submission of a finished MIME message, on the same pooled client."""

    def send_mime(self, mime: MimeMessage, key: str) -> Result:
        envelope_from = _address(mime["From"])
        recipient = _address(mime["To"])
        reply_to = _address(mime["Reply-To"]) if mime["Reply-To"] else None
        # SMTP wants CRLF line ends (RFC 5321 section 2.3.8); smtplib leaves the
        # bare LF of a bytes message alone, and servers refuse the long "line".
        # A non-ASCII local part stays UTF-8 (RFC 6532); ``submit`` then asks
        # the server for SMTPUTF8, or refuses the send for good.
        utf8 = needs_smtputf8(envelope_from, recipient, reply_to)
        raw = mime.as_bytes(policy=WIRE_POLICY.clone(utf8=utf8))
        raw = self._sign(raw, envelope_from)
        latency_ms = self.submit(envelope_from, recipient, raw, reply_to=reply_to)
        log.info("invite.accepted", to=mask_email(recipient), host=self.host)
        return {
            "message_id": str(mime["Message-ID"]),
            "provider": "smtp",
            "latency_ms": latency_ms,
        }

    def find_mime(self, key: str, message_id: str) -> Result | None:
        # SMTP cannot be asked whether it took a message; the Message-ID is
        # stable, so a rare second copy threads with the first.
        return None


class OutboxInviteMailer(OutboxEmail):
    """Keeps the invite, MIME source and all, in the local outbox."""

    def send_mime(self, mime: MimeMessage, key: str) -> Result:
        self._keep(
            key,
            channel="email",
            to_address=_address(mime["To"]),
            from_address=_address(mime["From"]),
            subject=str(mime["Subject"]),
            body="calendar invite",
            raw=mime.as_string(),
            message_id=str(mime["Message-ID"]),
            meta={"kind": "meeting_invite"},
        )
        return {"message_id": str(mime["Message-ID"]), "provider": "outbox"}

    def find_mime(self, key: str, message_id: str) -> Result | None:
        with self.db.sessions() as session:
            found = session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.key == key)
            )
        return (
            None if found is None else {"message_id": message_id, "provider": "outbox"}
        )


def _address(header: Any) -> str:
    """Return the address of a parsed address header (non-ASCII kept)."""
    addresses = getattr(header, "addresses", ())
    if not addresses:
        raise DeliveryError(
            f"the invite's header {header!r} holds no address to send to",
            permanent=True,
        )
    return str(addresses[0].addr_spec)


def send_invites(
    meeting_id: int,
    *,
    db: Database,
    workspace: Workspace,
    clock: Clock,
    ledger: Ledger,
    mailer: InviteMailer,
    sequence: int = 0,
) -> list[Result]:
    """Send the buyer's and the owner's copy of a meeting's invite, once each.

    ``sequence`` is the change the send was queued for; when the meeting has
    moved on since, nothing is sent (the newer send is queued already).
    """
    with db.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise JobError(f"meeting {meeting_id} does not exist; nothing to invite")
        contact = (
            session.get(Contact, meeting.contact_id) if meeting.contact_id else None
        )
        session.expunge_all()
    buyer = invite_buyer(meeting, contact)
    if (meeting.sequence or 0) != sequence:
        log.info(
            "invite.superseded",
            meeting_uid=meeting.uid,
            queued=sequence,
            current=meeting.sequence,
        )
        return []

    owner = workspace.team.rep(meeting.owner_id)
    if owner is None:
        raise DeliveryError(
            f"meeting {meeting.uid} names unknown rep {meeting.owner_id!r}",
            permanent=True,
        )

    calendar = invite_calendar(meeting, owner, buyer, workspace, clock.now())
    roles = ["owner"]
    if buyer is not None and buyer.email:
        roles.insert(0, "buyer")
    else:
        log.warning(
            "invite.buyer_skipped",
            meeting_uid=meeting.uid,
            reason="no address on file and none given on the booking page",
        )

    method = itip_method(meeting)
    if method == "CANCEL":
        # Nobody is told a meeting is off that they were never told was on.
        roles = [r for r in roles if _was_invited(db, meeting, r)]
    results = []
    refused: list[DeliveryError] = []
    for role in roles:
        try:
            results.append(
                _send_copy(
                    meeting,
                    owner,
                    buyer,
                    workspace,
                    role,
                    calendar,
                    method,
                    db=db,
                    clock=clock,
                    ledger=ledger,
                    mailer=mailer,
                )
            )
        except DeliveryError as exc:
            if not exc.permanent:
                raise
            # One side's address that cannot be reached must not keep the
            # other side's copy back; the job still fails, with this reason.
            refused.append(exc)
    if refused:
        raise refused[0]
    return results


def _send_copy(
    meeting: Meeting,
    owner: Rep,
    buyer: Contact | None,
    workspace: Workspace,
    role: str,
    calendar: bytes,
    method: str,
    *,
    db: Database,
    clock: Clock,
    ledger: Ledger,
    mailer: InviteMailer,
) -> Result:
    """Send one side's copy once; keep it, or its permanent failure, as a touch."""
    message = invite_message(meeting, owner, buyer, workspace, role)
    key = invite_key(meeting, role)
    try:
        mime = invite_mime(message, calendar, method)
        outcome = ledger.perform(
            key,
            "email.invite",
            partial(mailer.send_mime, mime, key),
            lookup=partial(mailer.find_mime, key, message.message_id),
        )
    except AddressError as exc:
        failure = DeliveryError(
            f"{exc}; the invite cannot be addressed", permanent=True
        )
        _record_touch(db, meeting, message, role, key, {}, clock, failure)
        raise failure from exc
    except DeliveryError as exc:
        if exc.permanent:
            _record_touch(db, meeting, message, role, key, {}, clock, exc)
        raise
    _record_touch(db, meeting, message, role, key, outcome.result, clock)
    return outcome.result


def _was_invited(db: Database, meeting: Meeting, role: str) -> bool:
    """True when an earlier invite of the meeting went to ``role``."""
    earlier = {invite_key(meeting, role)}
    with db.sessions() as session:
        keys = session.scalars(
            select(Touch.idempotency_key).where(
                Touch.purpose == "meeting_invite",
                Touch.status == "sent",
                Touch.idempotency_key.like(f"invite:{meeting.uid}:%"),
            )
        )
        prefix, suffix = f"invite:{meeting.uid}:", f":{role}"
        return any(
            k.startswith(prefix) and k.endswith(suffix) and k not in earlier
            for k in keys
            if k
        )


def _record_touch(
    db: Database,
    meeting: Meeting,
    message: EmailMessage,
    role: str,
    key: str,
    result: Result,
    clock: Clock,
    failure: DeliveryError | None = None,
) -> None:
    """Keep the send as a touch row, once, even when a retry finds it done.

    A copy that failed for good is kept too, with its reason: the booking
    page reads it to let the buyer correct an address that cannot be reached.
    """
    with db.transaction() as session:
        if session.scalar(select(Touch.id).where(Touch.idempotency_key == key)):
            return
        session.add(
            Touch(
                inbound_id=meeting.inbound_id,
                contact_id=meeting.contact_id if role == "buyer" else None,
                owner_id=meeting.owner_id,
                channel="email",
                purpose="meeting_invite",
                status="failed" if failure else "sent",
                to_address=message.to,
                from_address=message.from_address,
                subject=message.subject,
                message_id=message.message_id,
                idempotency_key=key,
                error=str(failure) if failure else None,
                error_code=(failure.provider_code or None) if failure else None,
                sent_at=None if failure else clock.now(),
                latency_ms=result.get("latency_ms"),
                meta={
                    "meeting_uid": meeting.uid,
                    "role": role,
                    "method": itip_method(meeting),
                    "sequence": meeting.sequence or 0,
                },
                created_at=clock.now(),
            )
        )
    if failure is not None:
        log.error(
            "invite.failed",
            meeting_uid=meeting.uid,
            role=role,
            to=mask_email(message.to),
            reason=str(failure),
        )


def invite_mailer(runtime: Runtime) -> InviteMailer:
    """Return the mailer the workspace asks for: the outbox, or SMTP."""
    given = runtime.services.get("invite_mailer")
    if given is not None:
        return given  # type: ignore[no-any-return]
    return built_once(runtime, "respond.invite_mailer", _build_mailer)


def _build_mailer(runtime: Runtime) -> InviteMailer:
    channels = runtime.workspace.channels
    if channels.outbox or channels.smtp is None:
        return OutboxInviteMailer(runtime.db, runtime.clock)
    smtp = channels.smtp
    settings = runtime.settings
    return SmtpInviteMailer(
        smtp.host,
        smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=settings.secret(ref_name(smtp.password)) if smtp.password else None,
        dkim_selector=smtp.dkim_selector,
        dkim_private_key=(
            settings.secret(ref_name(smtp.dkim_private_key))
            if smtp.dkim_private_key
            else None
        ),
    )


def send_invite_handler(runtime: Runtime) -> Handler:
    """Return the handler of ``respond.send_invite`` (payload ``{"meeting_id"}``)."""
    ledger = Ledger(runtime.db, runtime.clock)

    def handle(ctx: JobContext) -> None:
        send_invites(
            int(ctx.payload["meeting_id"]),
            db=ctx.db,
            workspace=runtime.workspace,
            clock=ctx.clock,
            ledger=ledger,
            mailer=invite_mailer(runtime),
            sequence=int(ctx.payload.get("sequence", 0)),
        )

    return handle
