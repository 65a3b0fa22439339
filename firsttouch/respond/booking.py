"""Booking: signed links, the slots on offer, and confirming one into a meeting.

A booking link carries its claims (owner, inbound, contact) signed with the
process secret by ``itsdangerous``; nothing in the URL can be changed without
breaking the signature, and links expire (``TOKEN_MAX_AGE``). The link's age
is read from the injected clock, so tests and the demo age it virtually.

Confirming is one transaction: the slot is checked against the rep's
calendar and meetings again, the ``Meeting`` row is written, and the
``respond.send_invite`` job that emails the ICS invite to both sides is
enqueued beside it. Bookings of one owner are serialised for that
transaction (``hold_owner_calendar``): two buyers taking 10:00 and 10:30
with a ten-minute buffer hold different slots, so no unique key can refuse
the second, and a check that reads before the other commits would let
both in. Under the hold the second reads the first's meeting and is told
the time is gone. A meeting also holds its slot through a unique
``slot_key`` (owner and start), a second guard for the same start; the
same buyer confirming twice gets the meeting they already have.

A meeting keeps its UID for life. Rescheduling moves it (and its slot key)
and cancelling frees the slot; each raises the iCalendar SEQUENCE and
enqueues the send of that sequence (an updated REQUEST, or a CANCEL) in the
same commit. Doing either again changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import structlog
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
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
from firsttouch.respond.buyer_email import (
    BuyerEmailError,
    read_buyer_email,
    store_buyer_email,
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


class MeetingNotFoundError(BookingError):
    """The meeting is not this link's (or this lead's), or does not exist."""

    code = "meeting_not_found"
    status = 404


class MeetingCancelledError(BookingError):
    """A cancelled meeting cannot be moved; it can only be booked anew."""

    code = "meeting_cancelled"
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
    session: Session, owner_id: str, window: Interval, *, excluding: int | None = None
) -> list[Interval]:
    """Return the owner's confirmed meetings that touch ``window``.

    ``excluding`` leaves out the meeting being moved: its old time does not
    stand in the way of its new one.
    """
    query = select(Meeting.starts_at, Meeting.ends_at).where(
        Meeting.owner_id == owner_id,
        Meeting.status == "confirmed",
        Meeting.starts_at < window.end,
        Meeting.ends_at > window.start,
    )
    if excluding is not None:
        query = query.where(Meeting.id != excluding)
    return [Interval(start, end) for start, end in session.execute(query)]


def open_slots(
    session: Session,
    workspace: Workspace,
    owner: Rep,
    now: datetime,
    busy: BusySource,
    *,
    moving: int | None = None,
) -> list[Slot]:
    """Return the owner's free slots: hours minus calendar minus meetings.

    ``moving`` is the id of a meeting being moved, whose own time is free
    to it.
    """
    booking = workspace.respond.booking
    window = booking_window(now, booking)
    # Widen by the buffer so a meeting just outside the window still pads it.
    reach = timedelta(minutes=booking.buffer_minutes)
    padded = Interval(window.start - reach, window.end + reach)
    meetings = booked_meetings(session, owner.id, padded, excluding=moving)
    blocked = busy(owner, padded) + meetings
    return free_slots(owner, booking, blocked, now, holidays=workspace.team.holidays)


def hold_owner_calendar(session: Session, owner_id: str) -> None:
    """Queue this transaction behind any other booking of the owner's until it ends.

    Call it first in a transaction that checks a slot and then writes a
    meeting. On PostgreSQL it takes a transaction-scoped advisory lock
    keyed by the owner, which every web replica shares; under READ
    COMMITTED each later statement then sees what the previous holder
    committed. On SQLite ``Database.transaction`` began IMMEDIATE and
    already holds the database's one writer lock from the first read to
    the commit, so there is nothing more to take.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_calendar_lock_id(owner_id))))


def _calendar_lock_id(owner_id: str) -> int:
    """A stable signed 64-bit advisory lock id for the owner's calendar."""
    digest = hashlib.blake2b(
        f"firsttouch.meetings:{owner_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


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


def meeting_uid(domain: str) -> str:
    """Return a new, globally unique iCalendar UID for a meeting.

    Random rather than derived from the slot: a meeting keeps its UID when
    it moves, and a freed slot may be booked again by someone else.
    """
    return f"ft-{secrets.token_hex(12)}@{domain}"


def slot_key(owner_id: str, start: datetime) -> str:
    """Return the key that lets one meeting at a time hold an owner's slot."""
    return f"{owner_id}|{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def valid_email(value: str) -> str | None:
    """Return the address a buyer typed, trimmed, or None if it is not one."""
    try:
        return read_buyer_email(value)
    except BuyerEmailError:
        return None


def _note_on_timeline(
    session: Session,
    meeting: Meeting,
    now: datetime,
    *,
    kind: str,
    actor: str,
    summary: str,
) -> None:
    """Put a change of the meeting on the lead's timeline, when it is on file."""
    inbound = session.get(Inbound, meeting.inbound_id) if meeting.inbound_id else None
    if inbound is None:
        return
    session.add(
        Activity(
            contact_id=inbound.contact_id,
            inbound_id=inbound.id,
            kind=kind,
            actor=actor,
            summary=summary,
            details={
                "meeting_uid": meeting.uid,
                "starts_at": meeting.starts_at.isoformat(),
                "sequence": meeting.sequence,
            },
            occurred_at=now,
            created_at=now,
        )
    )


def _enqueue_invite(session: Session, meeting: Meeting, now: datetime) -> None:
    """Queue the send of the meeting's current sequence, once per sequence.

    The first invite keeps the payload and key it always had; later ones
    name their sequence, so the sender can drop one already superseded.
    """
    payload: dict[str, int] = {"meeting_id": meeting.id}
    key = f"invite:{meeting.uid}"
    if meeting.sequence:
        payload["sequence"] = meeting.sequence
        key = f"{key}:{meeting.sequence}"
    enqueue(session, INVITE_JOB, payload, key=key, now=now)


def confirm_slot(
    db: Database,
    workspace: Workspace,
    clock: Clock,
    claims: BookingClaims,
    start: datetime,
    zone: str,
    busy: BusySource,
    *,
    buyer_email: str | None = None,
) -> Meeting:
    """Book ``start`` with the owner; enqueue the invites in the same commit.

    Raises ``SlotTakenError`` when the slot is not (or no longer) free.
    Confirming again with the same link returns the meeting already booked.
    ``buyer_email`` (already checked by ``read_buyer_email``) is kept on the
    meeting and stored on a contact that had none, or one whose last invite
    could not be delivered, in the same commit, so the invite reaches the
    buyer even when the link has no contact at all.
    """
    owner = resolve_owner(workspace, claims)
    domain = owner.email.rpartition("@")[2] or "firsttouch.invalid"
    uid = meeting_uid(domain)
    length = timedelta(minutes=workspace.respond.booking.meeting_minutes)

    try:
        with db.transaction() as session:
            hold_owner_calendar(session, owner.id)
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
                slot_key=slot_key(owner.id, start),
                sequence=0,
                buyer_email=buyer_email,
                created_at=clock.now(),
            )
            session.add(meeting)
            session.flush()
            store_buyer_email(session, claims.contact_id, buyer_email)
            _note_on_timeline(
                session,
                meeting,
                clock.now(),
                kind="meeting.booked",
                actor="buyer",
                summary=f"booked a {owner.name} meeting on the booking page",
            )
            _enqueue_invite(session, meeting, clock.now())
            session.expunge(meeting)
    except IntegrityError as exc:
        # Another request committed this owner's slot between our check and
        # insert: the same buyer's double click gets the meeting it made.
        with db.sessions() as session:
            mine = existing_meeting(session, claims)
            if mine is not None and mine.starts_at == start:
                session.expunge(mine)
                return mine
        raise SlotTakenError("that time was just taken; please pick another") from exc

    log.info(
        "meeting.booked",
        meeting_uid=uid,
        owner=owner.id,
        inbound_id=claims.inbound_id,
        starts_at=start.isoformat(),
    )
    return meeting


def _meeting_for_change(
    session: Session,
    meeting_id: int,
    *,
    claims: BookingClaims | None = None,
    inbound_id: int | None = None,
) -> Meeting:
    """Return the meeting, locked, if the caller may change it.

    A buyer's link changes only its own meeting (same owner and lead, as
    the ICS download checks); a rep acts from the lead's page, so the
    meeting must belong to that lead.
    """
    meeting = session.get(Meeting, meeting_id, with_for_update=True)
    if meeting is None:
        raise MeetingNotFoundError("there is no such meeting")
    if claims is not None and (
        meeting.owner_id != claims.owner_id or meeting.inbound_id != claims.inbound_id
    ):
        raise MeetingNotFoundError("this link does not book that meeting")
    if claims is None and (inbound_id is None or meeting.inbound_id != inbound_id):
        raise MeetingNotFoundError("that meeting is not this lead's")
    return meeting


def cancel_meeting(
    db: Database,
    clock: Clock,
    meeting_id: int,
    *,
    actor: str,
    claims: BookingClaims | None = None,
    inbound_id: int | None = None,
) -> tuple[Meeting, bool]:
    """Cancel a meeting, free its slot and queue the CANCEL to both sides.

    ``actor`` is who asked ("buyer", or the rep's id), for the timeline.
    Returns the meeting and whether this call cancelled it: cancelling a
    cancelled meeting (a replayed form, a second click) changes nothing.
    """
    now = clock.now()
    with db.transaction() as session:
        meeting = _meeting_for_change(
            session, meeting_id, claims=claims, inbound_id=inbound_id
        )
        changed = meeting.status == "confirmed"
        if changed:
            meeting.status = "cancelled"
            meeting.slot_key = None
            meeting.sequence += 1
            meeting.cancelled_at = now
            session.flush()
            _note_on_timeline(
                session,
                meeting,
                now,
                kind="meeting.cancelled",
                actor=actor,
                summary="cancelled the meeting",
            )
            _enqueue_invite(session, meeting, now)
        session.expunge(meeting)
    if changed:
        log.info("meeting.cancelled", meeting_uid=meeting.uid, actor=actor)
    return meeting, changed


def reschedule_meeting(
    db: Database,
    workspace: Workspace,
    clock: Clock,
    claims: BookingClaims,
    meeting_id: int,
    start: datetime,
    zone: str,
    busy: BusySource,
) -> Meeting:
    """Move the link's meeting to ``start``; queue the updated invite.

    The old slot is free from this commit on. Raises ``SlotTakenError`` when
    ``start`` is not free and ``MeetingCancelledError`` for a cancelled
    meeting; moving a meeting to where it already is changes nothing.
    """
    owner = resolve_owner(workspace, claims)
    length = timedelta(minutes=workspace.respond.booking.meeting_minutes)
    now = clock.now()
    try:
        with db.transaction() as session:
            hold_owner_calendar(session, owner.id)
            meeting = _meeting_for_change(session, meeting_id, claims=claims)
            if meeting.status != "confirmed":
                raise MeetingCancelledError(
                    "this meeting was cancelled; please book a new time"
                )
            if meeting.starts_at == start:
                session.expunge(meeting)
                return meeting
            offered = open_slots(
                session, workspace, owner, now, busy, moving=meeting.id
            )
            if start not in {slot.start for slot in offered}:
                raise SlotTakenError("that time is no longer free; please pick another")
            meeting.starts_at = start
            meeting.ends_at = start + length
            meeting.buyer_timezone = zone
            meeting.slot_key = slot_key(owner.id, start)
            meeting.sequence += 1
            session.flush()
            _note_on_timeline(
                session,
                meeting,
                now,
                kind="meeting.rescheduled",
                actor="buyer",
                summary=f"moved the {owner.name} meeting on the booking page",
            )
            _enqueue_invite(session, meeting, now)
            session.expunge(meeting)
    except IntegrityError as exc:
        raise SlotTakenError("that time was just taken; please pick another") from exc
    log.info(
        "meeting.rescheduled", meeting_uid=meeting.uid, starts_at=start.isoformat()
    )
    return meeting
