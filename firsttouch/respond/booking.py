"""Booking: signed links, the slots on offer, and confirming one into a meeting.

A booking link carries its claims (owner, inbound, contact) signed with the
process secret by ``itsdangerous``; nothing in the URL can be changed without
breaking the signature, and links expire (``TOKEN_MAX_AGE``). The link's age
is read from the injected clock, so tests and the demo age it virtually.

Confirming is one transaction: the slot is checked against the rep's
calendar and meetings again, the ``Meeting`` row is written, and the
``respond.send_invite`` job that emails the ICS invite to both sides is
enqueued beside it. A meeting's UID is derived from the owner and the start,
so two buyers racing for the same slot meet the unique constraint and the
second is told the slot is gone; the same buyer confirming twice gets the
meeting they already have.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import structlog
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from firsttouch.clock import Clock
from firsttouch.config import Secret
from firsttouch.errors import FirsttouchError
from firsttouch.jobs.queue import enqueue
from firsttouch.respond.availability import (
    Interval,
    Slot,
    booking_window,
    busy_intervals,
    free_slots,
    read_calendar,
)
from firsttouch.respond.signed_links import link_serializer
from firsttouch.store.db import Database
from firsttouch.store.models import Activity, Contact, Inbound, Meeting
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

log = structlog.get_logger(__name__)

SALT = "firsttouch.booking.v1"
TOKEN_MAX_AGE = timedelta(days=14)
INVITE_JOB = "respond.send_invite"
CALENDAR_MAX_AGE = 300.0
SPAN_MARGIN = timedelta(days=7)

BusySource = Callable[[Rep, Interval], list[Interval]]


class BookingError(FirsttouchError):
    """A booking request cannot be honoured."""

    code = "booking_invalid"
    status = 400


class BookingLinkError(BookingError):
    """The link is forged, damaged or too old."""

    code = "booking_link_invalid"
    status = 404


class SlotTakenError(BookingError):
    """The chosen time is no longer free."""

    code = "slot_taken"
    status = 409


@dataclass(frozen=True)
class BookingClaims:
    """Who the link books with, and for which inbound and contact."""

    owner_id: str
    inbound_id: int | None = None
    contact_id: int | None = None


def _serializer(secret: Secret, clock: Clock) -> URLSafeTimedSerializer:
    return link_serializer(secret, clock, SALT)


def issue_token(secret: Secret, clock: Clock, claims: BookingClaims) -> str:
    """Return a signed, URL-safe token carrying ``claims``."""
    data = {"o": claims.owner_id, "i": claims.inbound_id, "c": claims.contact_id}
    return str(_serializer(secret, clock).dumps(data))


def read_token(secret: Secret, clock: Clock, token: str) -> BookingClaims:
    """Return the claims of a genuine, unexpired token; raise ``BookingLinkError``."""
    serializer = _serializer(secret, clock)
    try:
        data = serializer.loads(token, max_age=int(TOKEN_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise BookingLinkError(
            "this booking link has expired; reply to the email for a new one"
        ) from None
    except BadSignature:
        raise BookingLinkError("this booking link is not valid") from None
    return BookingClaims(owner_id=data["o"], inbound_id=data["i"], contact_id=data["c"])


def booking_url(public_url: str, token: str) -> str:
    """Return the booking page's address for ``token``."""
    return f"{public_url.rstrip('/')}/book/{token}"


@dataclass(frozen=True)
class _Kept:
    read_at: float
    span: Interval
    busy: list[Interval]


def calendar_busy(
    workspace: Workspace,
    http: httpx.Client | None = None,
    *,
    max_age: float = CALENDAR_MAX_AGE,
) -> BusySource:
    """Return a busy source reading each rep's ICS from the workspace's list.

    What a calendar read found is kept for ``max_age`` seconds, expanded over
    a span a week wider than asked: expanding many recurring series costs
    far more than the page itself, and calendar apps publish their ICS feeds
    minutes late anyway. Each call still cuts its own window from it.
    """
    calendars = workspace.respond.booking.busy_calendars
    base_dir = workspace.source_path.parent if workspace.source_path else Path(".")
    kept: dict[tuple[str, str], _Kept] = {}
    lock = threading.Lock()

    def busy(rep: Rep, window: Interval) -> list[Interval]:
        source = calendars.get(rep.id)
        if not source:
            return []
        key = (source, rep.timezone)
        with lock:
            entry = kept.get(key)
        usable = (
            entry is not None
            and time.monotonic() - entry.read_at <= max_age
            and entry.span.start <= window.start
            and window.end <= entry.span.end
        )
        if entry is None or not usable:
            calendar = read_calendar(source, base_dir=base_dir, http=http)
            span = Interval(window.start, window.end + SPAN_MARGIN)
            entry = _Kept(
                time.monotonic(), span, busy_intervals(calendar, span, rep.timezone)
            )
            with lock:
                kept[key] = entry
        return [item for item in entry.busy if item.overlaps(window)]

    return busy


def booked_meetings(
    session: Session, owner_id: str, window: Interval
) -> list[Interval]:
    """Return the owner's confirmed meetings that touch ``window``."""
    rows = session.execute(
        select(Meeting.starts_at, Meeting.ends_at).where(
            Meeting.owner_id == owner_id,
            Meeting.status == "confirmed",
            Meeting.starts_at < window.end,
            Meeting.ends_at > window.start,
        )
    )
    return [Interval(start, end) for start, end in rows]


def open_slots(
    session: Session,
    workspace: Workspace,
    owner: Rep,
    now: datetime,
    busy: BusySource,
) -> list[Slot]:
    """Return the owner's free slots: hours minus calendar minus meetings."""
    booking = workspace.respond.booking
    window = booking_window(now, booking)
    # Widen by the buffer so a meeting just outside the window still pads it.
    reach = timedelta(minutes=booking.buffer_minutes)
    padded = Interval(window.start - reach, window.end + reach)
    blocked = busy(owner, padded) + booked_meetings(session, owner.id, padded)
    return free_slots(owner, booking, blocked, now, holidays=workspace.team.holidays)


def resolve_owner(workspace: Workspace, claims: BookingClaims) -> Rep:
    """Return the rep the link books with; a rep since removed voids the link."""
    owner = workspace.team.rep(claims.owner_id)
    if owner is None:
        raise BookingLinkError("this booking link names someone no longer on the team")
    return owner


def buyer_zone(requested: str | None, contact: Contact | None, owner: Rep) -> str:
    """Pick the zone to show times in: asked for, then known, then the owner's."""
    for candidate in (requested, contact.timezone if contact else None):
        if candidate:
            try:
                ZoneInfo(candidate)
                return candidate
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return owner.timezone


def existing_meeting(session: Session, claims: BookingClaims) -> Meeting | None:
    """Return the confirmed meeting this link already booked, if any."""
    if claims.inbound_id is None:
        return None
    return session.scalar(
        select(Meeting).where(
            Meeting.inbound_id == claims.inbound_id,
            Meeting.owner_id == claims.owner_id,
            Meeting.status == "confirmed",
        )
    )


def meeting_uid(owner_id: str, start: datetime, domain: str) -> str:
    """Return the iCalendar UID of the owner's meeting starting at ``start``."""
    digest = hashlib.sha256(f"{owner_id}|{start.isoformat()}".encode()).hexdigest()
    return f"ft-{digest[:24]}@{domain}"


def _note_on_timeline(
    session: Session, meeting: Meeting, owner: Rep, now: datetime
) -> None:
    """Put the booking on the lead's timeline, when the lead is on file."""
    inbound = session.get(Inbound, meeting.inbound_id) if meeting.inbound_id else None
    if inbound is None:
        return
    session.add(
        Activity(
            contact_id=inbound.contact_id,
            inbound_id=inbound.id,
            kind="meeting.booked",
            actor="buyer",
            summary=f"booked a {owner.name} meeting on the booking page",
            details={
                "meeting_uid": meeting.uid,
                "starts_at": meeting.starts_at.isoformat(),
            },
            occurred_at=now,
            created_at=now,
        )
    )


def confirm_slot(
    db: Database,
    workspace: Workspace,
    clock: Clock,
    claims: BookingClaims,
    start: datetime,
    zone: str,
    busy: BusySource,
) -> Meeting:
    """Book ``start`` with the owner; enqueue the invites in the same commit.

    Raises ``SlotTakenError`` when the slot is not (or no longer) free.
    Confirming again with the same link returns the meeting already booked.
    """
    owner = resolve_owner(workspace, claims)
    domain = owner.email.rpartition("@")[2] or "firsttouch.invalid"
    uid = meeting_uid(owner.id, start, domain)
    length = timedelta(minutes=workspace.respond.booking.meeting_minutes)

    try:
        with db.transaction() as session:
            already = existing_meeting(session, claims)
            if already is not None:
                session.expunge(already)
                return already

            offered = open_slots(session, workspace, owner, clock.now(), busy)
            if start not in {slot.start for slot in offered}:
                raise SlotTakenError("that time is no longer free; please pick another")

            meeting = Meeting(
                uid=uid,
                inbound_id=claims.inbound_id,
                contact_id=claims.contact_id,
                owner_id=owner.id,
                starts_at=start,
                ends_at=start + length,
                buyer_timezone=zone,
                status="confirmed",
                created_at=clock.now(),
            )
            session.add(meeting)
            session.flush()
            _note_on_timeline(session, meeting, owner, clock.now())
            enqueue(
                session,
                INVITE_JOB,
                {"meeting_id": meeting.id},
                key=f"invite:{uid}",
                now=clock.now(),
            )
            session.expunge(meeting)
    except IntegrityError as exc:
        # Another buyer committed this owner's slot between our check and insert.
        raise SlotTakenError("that time was just taken; please pick another") from exc

    log.info(
        "meeting.booked",
        meeting_uid=uid,
        owner=owner.id,
        inbound_id=claims.inbound_id,
        starts_at=start.isoformat(),
    )
    return meeting
