"""A rep cancels a lead's booked meeting from the lead's page."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from firsttouch.respond.availability import Interval
from firsttouch.respond.booking import BookingClaims, confirm_slot
from firsttouch.store.models import Activity, Job, Meeting
from firsttouch.workspace.team import Rep
from tests.web.dashboard_data import (
    cheap_hashing,  # noqa: F401, E402 - fixture
    csrf_of,
    log_in,
    make_lead,
    make_users,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")

SLOT = datetime.fromisoformat("2026-03-10T16:00:00+00:00")  # 09:00 in Los Angeles


def no_calendar(rep: Rep, window: Interval) -> list[Interval]:
    return []


@pytest.fixture
def booked(runtime):  # type: ignore[no-untyped-def]
    """Maya's lead with a meeting booked, and Luis's lead with one too."""
    make_users(runtime.db, runtime.clock)
    leads = {}
    for owner, first in (("maya", "Booked"), ("luis", "Other")):
        lead = make_lead(runtime.db, runtime.clock.now(), first=first, owner=owner)
        claims = BookingClaims(owner_id=owner, inbound_id=lead)
        meeting = confirm_slot(
            runtime.db,
            runtime.workspace,
            runtime.clock,
            claims,
            SLOT,
            "UTC",
            no_calendar,
        )
        leads[owner] = (lead, meeting.id)
    return runtime, leads


def test_the_rep_cancels_a_meeting_from_the_lead_page(client, booked) -> None:  # type: ignore[no-untyped-def]
    runtime, leads = booked
    lead, meeting_id = leads["maya"]
    log_in(client, "maya")
    page = client.get(f"/leads/{lead}").text
    assert "Booked meetings" in page and "Cancel meeting" in page
    form = {"csrf_token": csrf_of(page), "meeting_id": str(meeting_id), "back": "lead"}

    done = client.post(
        f"/leads/{lead}/cancel_meeting", data=form, follow_redirects=False
    )
    again = client.post(
        f"/leads/{lead}/cancel_meeting", data=form, follow_redirects=False
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/leads/{lead}?done=meeting_cancelled"
    assert again.status_code == 303  # already cancelled: nothing more happens
    with runtime.db.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        sends = session.scalars(
            select(Job.payload).where(Job.kind == "respond.send_invite")
        ).all()
        cancelled_by = session.scalars(
            select(Activity.actor).where(Activity.kind == "meeting.cancelled")
        ).all()
    assert meeting is not None and meeting.status == "cancelled"
    assert {"meeting_id": meeting_id, "sequence": 1} in sends
    assert cancelled_by == ["maya"]
    assert "Cancel meeting" not in client.get(f"/leads/{lead}").text


def test_a_rep_cannot_cancel_a_meeting_they_cannot_see(client, booked) -> None:  # type: ignore[no-untyped-def]
    runtime, leads = booked
    mine, _ = leads["maya"]
    theirs, their_meeting = leads["luis"]
    log_in(client, "maya")
    token = csrf_of(client.get(f"/leads/{mine}").text)

    hidden = client.post(
        f"/leads/{theirs}/cancel_meeting",
        data={"csrf_token": token, "meeting_id": str(their_meeting)},
    )
    smuggled = client.post(
        f"/leads/{mine}/cancel_meeting",
        data={"csrf_token": token, "meeting_id": str(their_meeting)},
    )
    forged = client.post(
        f"/leads/{mine}/cancel_meeting",
        data={"csrf_token": "forged", "meeting_id": str(leads["maya"][1])},
    )

    assert [hidden.status_code, smuggled.status_code] == [404, 404]
    assert forged.status_code == 403
    with runtime.db.sessions() as session:
        states = set(session.scalars(select(Meeting.status)))
    assert states == {"confirmed"}
