"""Buyers racing for one owner's time: never two meetings that clash, on both engines.

A clash is two confirmed meetings of one owner closer than the workspace's
buffer: the same slot, or neighbouring slots (10:00 and 10:30 with a
ten-minute buffer), or a slot against a meeting that does not start on the
grid. The busy source here is read inside the booking transaction, after
the owner's hold and before the insert; it pauses there so that, without a
hold that really serialises, every racer would read an empty calendar.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.respond.availability import Interval
from firsttouch.respond.booking import (
    BookingClaims,
    SlotTakenError,
    confirm_slot,
    open_slots,
    reschedule_meeting,
)
from firsttouch.store.db import Database
from firsttouch.store.models import Job, Meeting
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

SLOT = datetime.fromisoformat("2026-03-10T16:00:00+00:00")  # 09:00 in Los Angeles
HALF_HOUR = timedelta(minutes=30)


def no_calendar(rep: Rep, window: Interval) -> list[Interval]:
    return []


def slow_empty_calendar(rep: Rep, window: Interval) -> list[Interval]:
    # Widen the gap between reading the meetings and writing one, as a slow
    # calendar fetch would: racers that were not queued would all get in.
    time.sleep(0.05)
    return []


def race(attempts: list[tuple[BookingClaims, datetime]], book: object) -> list[str]:
    """Start every attempt at once; return each one's outcome, in order."""
    gate = threading.Barrier(len(attempts))
    outcomes = [""] * len(attempts)

    def attempt(index: int, claims: BookingClaims, start: datetime) -> None:
        gate.wait()
        try:
            book(claims, start)  # type: ignore[operator]
            outcomes[index] = "booked"
        except SlotTakenError:
            outcomes[index] = "taken"

    threads = [
        threading.Thread(target=attempt, args=(n, claims, start))
        for n, (claims, start) in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def confirmed(db: Database) -> list[Meeting]:
    with db.sessions() as session:
        rows = session.scalars(
            select(Meeting)
            .where(Meeting.status == "confirmed")
            .order_by(Meeting.starts_at)
        ).all()
        session.expunge_all()
    return list(rows)


def assert_no_clash(meetings: list[Meeting], buffer: timedelta) -> None:
    for earlier, later in zip(meetings, meetings[1:], strict=False):
        assert later.starts_at >= earlier.ends_at + buffer, (earlier, later)


def test_racing_buyers_get_one_meeting_and_one_refusal(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def book(inbound_id: int) -> None:
        claims = BookingClaims(owner_id="maya", inbound_id=inbound_id)
        start.wait()
        try:
            confirm_slot(any_db, workspace, clock, claims, SLOT, "UTC", no_calendar)
            outcomes.append("booked")
        except SlotTakenError:
            outcomes.append("taken")

    threads = [threading.Thread(target=book, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["booked", "taken", "taken", "taken"]
    with any_db.sessions() as session:
        assert len(session.scalars(select(Meeting)).all()) == 1
        invites = session.scalars(select(Job).where(Job.kind == "respond.send_invite"))
        assert len(invites.all()) == 1


def test_the_same_buyer_confirming_twice_keeps_one_meeting(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    claims = BookingClaims(owner_id="maya", inbound_id=1)

    first = confirm_slot(any_db, workspace, clock, claims, SLOT, "UTC", no_calendar)
    second = confirm_slot(any_db, workspace, clock, claims, SLOT, "UTC", no_calendar)

    assert first.uid == second.uid


def test_neighbouring_slots_inside_the_buffer_are_never_both_booked(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    # 09:00 and 09:30 are both on offer, but a 10-minute buffer keeps them
    # apart: each buyer holds a different slot key, so only the hold on the
    # owner's calendar can refuse the second. Odd buyers come through a
    # second engine and pool, as through another web replica.
    buffer = timedelta(minutes=workspace.respond.booking.buffer_minutes)
    assert buffer > timedelta(0)
    starts = [SLOT, SLOT + HALF_HOUR, SLOT + 2 * HALF_HOUR, SLOT + 3 * HALF_HOUR]
    replica = Database(any_db.url)

    def book(claims: BookingClaims, start: datetime) -> None:
        db = replica if (claims.inbound_id or 0) % 2 else any_db
        confirm_slot(db, workspace, clock, claims, start, "UTC", slow_empty_calendar)

    attempts = [
        (BookingClaims(owner_id="maya", inbound_id=n + 1), start)
        for n, start in enumerate(starts)
    ]
    try:
        outcomes = race(attempts, book)
    finally:
        replica.dispose()

    meetings = confirmed(any_db)
    assert "taken" in outcomes and outcomes.count("booked") == len(meetings)
    assert 1 <= len(meetings) <= 2
    assert_no_clash(meetings, buffer)
    with any_db.sessions() as session:
        invites = session.scalars(select(Job).where(Job.kind == "respond.send_invite"))
        assert len(invites.all()) == len(meetings)


def test_the_refused_buyer_is_offered_fresh_slots_without_the_clash(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    first = BookingClaims(owner_id="maya", inbound_id=1)
    second = BookingClaims(owner_id="maya", inbound_id=2)
    confirm_slot(any_db, workspace, clock, first, SLOT, "UTC", no_calendar)

    try:
        confirm_slot(
            any_db, workspace, clock, second, SLOT + HALF_HOUR, "UTC", no_calendar
        )
        raise AssertionError("a slot inside the buffer was booked")
    except SlotTakenError as refused:
        assert refused.status == 409 and "pick another" in str(refused)

    maya = workspace.team.rep("maya")
    assert maya is not None
    with any_db.sessions() as session:
        fresh = open_slots(session, workspace, maya, clock.now(), no_calendar)
    starts = {slot.start for slot in fresh}
    assert SLOT not in starts and SLOT + HALF_HOUR not in starts
    assert SLOT + 2 * HALF_HOUR in starts


def test_a_meeting_off_the_grid_blocks_every_slot_it_overlaps(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    # A meeting booked at 09:15 (say, before the meeting length changed)
    # overlaps both 09:00 and 09:30: neither may be booked beside it.
    with any_db.transaction() as session:
        session.add(
            Meeting(
                uid="ft-off-grid@northwindledger.example",
                owner_id="maya",
                starts_at=SLOT + timedelta(minutes=15),
                ends_at=SLOT + timedelta(minutes=45),
                buyer_timezone="UTC",
                status="confirmed",
                slot_key="maya|off-grid",
                sequence=0,
                created_at=clock.now(),
            )
        )

    refused = []
    for n, start in enumerate((SLOT, SLOT + HALF_HOUR), start=1):
        claims = BookingClaims(owner_id="maya", inbound_id=n)
        try:
            confirm_slot(any_db, workspace, clock, claims, start, "UTC", no_calendar)
        except SlotTakenError:
            refused.append(start)

    assert refused == [SLOT, SLOT + HALF_HOUR]
    assert len(confirmed(any_db)) == 1


def test_a_move_and_a_new_booking_racing_for_neighbouring_slots_never_clash(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    buffer = timedelta(minutes=workspace.respond.booking.buffer_minutes)
    mover = BookingClaims(owner_id="maya", inbound_id=1)
    newcomer = BookingClaims(owner_id="maya", inbound_id=2)
    later = SLOT + 4 * HALF_HOUR
    meeting = confirm_slot(any_db, workspace, clock, mover, later, "UTC", no_calendar)

    def book(claims: BookingClaims, start: datetime) -> None:
        if claims == mover:
            reschedule_meeting(
                any_db,
                workspace,
                clock,
                claims,
                meeting.id,
                start,
                "UTC",
                slow_empty_calendar,
            )
        else:
            confirm_slot(
                any_db, workspace, clock, claims, start, "UTC", slow_empty_calendar
            )

    outcomes = race([(mover, SLOT), (newcomer, SLOT + HALF_HOUR)], book)

    assert sorted(outcomes) == ["booked", "taken"]
    meetings = confirmed(any_db)
    # The moved meeting stays one meeting; the newcomer adds one if it won.
    assert len(meetings) == 1 + (outcomes[1] == "booked")
    assert_no_clash(meetings, buffer)


def test_a_meeting_moves_to_the_slot_beside_its_own(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    claims = BookingClaims(owner_id="maya", inbound_id=1)
    meeting = confirm_slot(any_db, workspace, clock, claims, SLOT, "UTC", no_calendar)

    moved = reschedule_meeting(
        any_db,
        workspace,
        clock,
        claims,
        meeting.id,
        SLOT + HALF_HOUR,
        "UTC",
        no_calendar,
    )

    assert moved.starts_at == SLOT + HALF_HOUR
