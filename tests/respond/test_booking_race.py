"""Two buyers racing for one slot: exactly one meeting, on both engines."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.respond.availability import Interval
from firsttouch.respond.booking import BookingClaims, SlotTakenError, confirm_slot
from firsttouch.store.db import Database
from firsttouch.store.models import Job, Meeting
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep

SLOT = datetime.fromisoformat("2026-03-10T16:00:00+00:00")  # 09:00 in Los Angeles


def no_calendar(rep: Rep, window: Interval) -> list[Interval]:
    return []


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
