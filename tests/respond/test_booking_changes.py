"""Cancelling and moving a booked meeting: from the booked page, on both engines.

The cancellation is an iTIP CANCEL and the move an updated REQUEST, both
with the meeting's UID and a raised SEQUENCE, sent once to each side
through the invite job; the slot a meeting leaves is offered again.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from email.message import Message
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from firsttouch.clock import VirtualClock
from firsttouch.jobs.runner import Worker, run_until_idle
from firsttouch.respond.availability import Interval
from firsttouch.respond.booking import (
    BookingClaims,
    MeetingCancelledError,
    MeetingNotFoundError,
    SlotTakenError,
    cancel_meeting,
    confirm_slot,
    reschedule_meeting,
)
from firsttouch.respond.invites import SmtpInviteMailer, send_invite_handler
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Activity, Contact, Job, Meeting
from firsttouch.workspace import Workspace
from firsttouch.workspace.team import Rep
from tests.respond import test_booking as booked_tests
from tests.respond.test_booking import (
    SLOT_0900_PDT,
    Sink,
    calendar_part,
    csrf_of,
    token_for,
)

# The booking tests' fixtures, shared: a runtime with Maya's calendar, Ana
# with her inbound 7, and an aiosmtpd sink.
booking_runtime = booked_tests.booking_runtime
buyer = booked_tests.buyer
smtp_sink = booked_tests.smtp_sink

SLOT = datetime.fromisoformat(SLOT_0900_PDT)
ANA = "ana.ruiz@buyer.example"
MAYA = "maya@northwindledger.example"


def no_calendar(rep: Rep, window: Interval) -> list[Interval]:
    return []


def offered(page: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', page)


def meeting_field(page: str) -> str:
    match = re.search(r'name="meeting" value="(\d+)"', page)
    assert match, "the form names the meeting"
    return match.group(1)


def send_queued(runtime: Runtime, db: Database) -> int:
    worker = Worker(
        db, {"respond.send_invite": send_invite_handler(runtime)}, runtime.clock
    )
    return run_until_idle(worker)


def sent(sink: Sink) -> list[tuple[str, str, int, Message]]:
    """(recipient, METHOD, SEQUENCE, message) of every message the sink took."""
    found = []
    for _, rcpts, message in sink.messages:
        part, calendar = calendar_part(message)
        event = calendar.walk("VEVENT")[0]
        assert part.get_param("method") == calendar["METHOD"]
        found.append(
            (rcpts[0], str(calendar["METHOD"]), int(event["SEQUENCE"]), message)
        )
    return found


@pytest.fixture
def wired(
    booking_runtime: Runtime, smtp_sink: tuple[Sink, int]
) -> tuple[Runtime, Sink]:
    sink, port = smtp_sink
    booking_runtime.services["invite_mailer"] = SmtpInviteMailer(
        "127.0.0.1", port, security="none"
    )
    return booking_runtime, sink


def book_on_the_page(client: TestClient, token: str) -> str:
    """Book SLOT through the page; return the booked page's HTML."""
    csrf = csrf_of(client.get(f"/book/{token}").text)
    done = client.post(f"/book/{token}", data={"slot": SLOT_0900_PDT, "csrf": csrf})
    assert done.status_code == 200 and "You are booked" in done.text
    return done.text


def test_the_buyer_cancels_from_the_booked_page_and_both_sides_are_told(
    wired: tuple[Runtime, Sink], client: TestClient, buyer: Contact, db: Database
) -> None:
    runtime, sink = wired
    token = token_for(runtime, buyer.id)
    booked = book_on_the_page(client, token)
    send_queued(runtime, db)
    form = {"csrf": csrf_of(booked), "meeting": meeting_field(booked)}

    cancelled = client.post(f"/book/{token}/cancel", data=form)
    send_queued(runtime, db)
    replay = client.post(f"/book/{token}/cancel", data=form)
    send_queued(runtime, db)

    assert cancelled.status_code == 200
    assert "Your meeting is cancelled" in cancelled.text
    assert replay.status_code == 200
    with db.sessions() as session:
        meeting = session.scalars(select(Meeting)).one()
        jobs = session.scalars(select(Job).where(Job.kind == "respond.send_invite"))
        assert len(jobs.all()) == 2  # the invite and one cancellation
        kinds = list(session.scalars(select(Activity.kind).order_by(Activity.id)))
    assert meeting.status == "cancelled" and meeting.sequence == 1
    assert meeting.slot_key is None and meeting.cancelled_at is not None
    assert kinds == ["meeting.booked", "meeting.cancelled"]
    assert sorted((to, method, seq) for to, method, seq, _ in sent(sink)) == [
        (ANA, "CANCEL", 1),
        (ANA, "REQUEST", 0),
        (MAYA, "CANCEL", 1),
        (MAYA, "REQUEST", 0),
    ]
    for _to, method, _, message in sent(sink):
        _, calendar = calendar_part(message)
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == meeting.uid
        if method == "CANCEL":
            assert str(event["STATUS"]) == "CANCELLED"
            assert str(message["Subject"]).startswith("Cancelled:")

    # The slot is free again, for this buyer and for anyone else.
    assert SLOT_0900_PDT in offered(client.get(f"/book/{token}").text)
    other = token_for(runtime, None, inbound_id=8)
    assert SLOT_0900_PDT in offered(client.get(f"/book/{other}").text)


def test_the_buyer_moves_the_meeting_and_the_old_slot_is_offered_again(
    wired: tuple[Runtime, Sink], client: TestClient, buyer: Contact, db: Database
) -> None:
    runtime, sink = wired
    token = token_for(runtime, buyer.id)
    book_on_the_page(client, token)
    send_queued(runtime, db)

    choosing = client.get(f"/book/{token}", params={"change": "1"}).text
    assert "Move your meeting" in choosing
    assert SLOT_0900_PDT not in offered(choosing)  # it holds that slot still
    later = offered(choosing)[3]
    form = {
        "slot": later,
        "tz": "Europe/Berlin",
        "csrf": csrf_of(choosing),
        "meeting": meeting_field(choosing),
    }
    moved = client.post(f"/book/{token}/reschedule", data=form)
    send_queued(runtime, db)
    # The same move again, with the form pair the new page handed out.
    again = client.post(
        f"/book/{token}/reschedule", data={**form, "csrf": csrf_of(moved.text)}
    )
    send_queued(runtime, db)

    assert moved.status_code == 200 and "Your meeting has moved" in moved.text
    assert again.status_code == 200
    new_start = datetime.fromisoformat(later.replace("Z", "+00:00"))
    with db.sessions() as session:
        meeting = session.scalars(select(Meeting)).one()
    assert meeting.starts_at == new_start and meeting.sequence == 1
    updates = [(to, m, s, msg) for to, m, s, msg in sent(sink) if s == 1]
    assert sorted((to, m) for to, m, _, _ in updates) == [
        (ANA, "REQUEST"),
        (MAYA, "REQUEST"),
    ]
    for _, _, _, message in updates:
        _, calendar = calendar_part(message)
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == meeting.uid
        assert event.decoded("DTSTART") == new_start
        assert str(message["Subject"]).startswith("Updated invitation:")
    assert len(sink.messages) == 4  # the replayed move sent nothing

    other = token_for(runtime, None, inbound_id=8)
    page = client.get(f"/book/{other}").text
    assert SLOT_0900_PDT in offered(page) and later not in offered(page)


def test_cancel_and_move_forms_need_the_csrf_pair_and_our_origin(
    wired: tuple[Runtime, Sink], client: TestClient, buyer: Contact, db: Database
) -> None:
    runtime, _ = wired
    token = token_for(runtime, buyer.id)
    booked = book_on_the_page(client, token)
    meeting = meeting_field(booked)
    other_token = token_for(runtime, buyer.id, inbound_id=99)

    refused = [
        client.post(f"/book/{token}/cancel", data={"meeting": meeting}),
        client.post(
            f"/book/{token}/cancel",
            data={"meeting": meeting, "csrf": "forged"},
        ),
        client.post(
            f"/book/{token}/cancel",
            data={"meeting": meeting, "csrf": csrf_of(booked)},
            headers={"Origin": "https://evil.example"},
        ),
        client.post(
            f"/book/{other_token}/cancel",
            data={"meeting": meeting, "csrf": csrf_of(booked)},
        ),
        client.post(
            f"/book/{token}/reschedule",
            data={"meeting": meeting, "slot": SLOT_0900_PDT},
        ),
    ]

    assert [r.status_code for r in refused] == [403] * 5
    with db.sessions() as session:
        row = session.scalars(select(Meeting)).one()
        assert row.status == "confirmed" and row.sequence == 0


def test_a_link_cannot_cancel_another_leads_meeting(
    wired: tuple[Runtime, Sink], client: TestClient, buyer: Contact, db: Database
) -> None:
    runtime, _ = wired
    mine = token_for(runtime, buyer.id)
    meeting = meeting_field(book_on_the_page(client, mine))
    other = token_for(runtime, buyer.id, inbound_id=8)
    csrf = csrf_of(client.get(f"/book/{other}").text)

    answer = client.post(
        f"/book/{other}/cancel", data={"meeting": meeting, "csrf": csrf}
    )

    assert answer.status_code == 404
    with db.sessions() as session:
        assert session.scalars(select(Meeting)).one().status == "confirmed"


def test_a_move_superseded_by_a_cancel_sends_only_the_cancel(
    wired: tuple[Runtime, Sink], buyer: Contact, db: Database
) -> None:
    runtime, sink = wired
    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    args = (db, runtime.workspace, runtime.clock, claims)
    meeting = confirm_slot(*args, SLOT, "Europe/Berlin", no_calendar)
    send_queued(runtime, db)
    later = SLOT.replace(hour=20)

    reschedule_meeting(*args, meeting.id, later, "Europe/Berlin", no_calendar)
    cancel_meeting(db, runtime.clock, meeting.id, actor="buyer", claims=claims)
    send_queued(runtime, db)

    assert sorted((to, m, s) for to, m, s, _ in sent(sink)) == [
        (ANA, "CANCEL", 2),
        (ANA, "REQUEST", 0),
        (MAYA, "CANCEL", 2),
        (MAYA, "REQUEST", 0),
    ]


def test_a_meeting_cancelled_before_its_invite_went_sends_nothing(
    wired: tuple[Runtime, Sink], buyer: Contact, db: Database
) -> None:
    runtime, sink = wired
    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    meeting = confirm_slot(
        db, runtime.workspace, runtime.clock, claims, SLOT, "UTC", no_calendar
    )
    cancel_meeting(db, runtime.clock, meeting.id, actor="buyer", claims=claims)

    send_queued(runtime, db)

    assert sink.messages == []


def test_a_freed_slot_is_booked_again_and_a_cancelled_meeting_stays_put(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    first = BookingClaims(owner_id="maya", inbound_id=1)
    second = BookingClaims(owner_id="maya", inbound_id=2)
    meeting = confirm_slot(any_db, workspace, clock, first, SLOT, "UTC", no_calendar)
    with pytest.raises(SlotTakenError):
        confirm_slot(any_db, workspace, clock, second, SLOT, "UTC", no_calendar)

    _, changed = cancel_meeting(any_db, clock, meeting.id, actor="buyer", claims=first)
    _, again = cancel_meeting(any_db, clock, meeting.id, actor="buyer", claims=first)
    rebooked = confirm_slot(any_db, workspace, clock, second, SLOT, "UTC", no_calendar)

    assert changed and not again
    assert rebooked.uid != meeting.uid and rebooked.starts_at == SLOT
    with pytest.raises(MeetingCancelledError):
        later = SLOT.replace(hour=20)
        reschedule_meeting(
            any_db, workspace, clock, first, meeting.id, later, "UTC", no_calendar
        )
    with pytest.raises(MeetingNotFoundError):
        cancel_meeting(any_db, clock, rebooked.id, actor="buyer", claims=first)


def test_two_meetings_racing_to_one_slot_get_one_move(
    any_db: Database, workspace: Workspace, clock: VirtualClock
) -> None:
    claims = [BookingClaims(owner_id="maya", inbound_id=n) for n in (1, 2)]
    starts = [SLOT.replace(hour=17), SLOT.replace(hour=18)]
    meetings = [
        confirm_slot(any_db, workspace, clock, c, s, "UTC", no_calendar)
        for c, s in zip(claims, starts, strict=True)
    ]
    target = SLOT.replace(hour=20)
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def move(index: int) -> None:
        gate.wait()
        try:
            reschedule_meeting(
                any_db,
                workspace,
                clock,
                claims[index],
                meetings[index].id,
                target,
                "UTC",
                no_calendar,
            )
            outcomes.append("moved")
        except SlotTakenError:
            outcomes.append("taken")

    threads = [threading.Thread(target=move, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["moved", "taken"]
    with any_db.sessions() as session:
        at_target = session.scalars(
            select(Meeting).where(Meeting.starts_at == target)
        ).all()
    assert len(at_target) == 1


def test_a_buyer_without_an_email_is_asked_for_one_and_gets_the_invite(
    wired: tuple[Runtime, Sink], client: TestClient, db: Database
) -> None:
    from firsttouch.store.models import Inbound

    runtime, sink = wired
    with db.transaction() as session:
        contact = Contact(phone_e164="+12125550100", first_name="Noa", owner_id="maya")
        session.add(contact)
        session.flush()
        session.add(
            Inbound(
                id=7,
                dedupe_key="sms:7",
                received_at=runtime.clock.now(),
                channel="sms",
                kind="message",
                source="sms",
                contact_id=contact.id,
                owner_id="maya",
            )
        )
        contact_id = contact.id
    token = token_for(runtime, contact_id)
    page = client.get(f"/book/{token}").text
    assert 'inputmode="email" id="email" name="email"' in page

    pick = {"slot": SLOT_0900_PDT, "csrf": csrf_of(page)}
    missing = client.post(f"/book/{token}", data=pick)
    wrong = client.post(
        f"/book/{token}", data={**pick, "csrf": csrf_of(missing.text), "email": "noa"}
    )
    booked = client.post(
        f"/book/{token}",
        data={**pick, "csrf": csrf_of(wrong.text), "email": " Noa@Buyer.example "},
    )
    send_queued(runtime, db)

    assert [missing.status_code, wrong.status_code] == [400, 400]
    assert "Please give the email address" in missing.text
    assert "That is not an email address we can send to" in wrong.text
    assert booked.status_code == 200 and "You are booked" in booked.text
    with db.sessions() as session:
        stored = session.get(Contact, contact_id)
        assert len(session.scalars(select(Meeting)).all()) == 1
    assert stored is not None
    assert stored.email == "Noa@Buyer.example"
    assert stored.email_norm == "noa@buyer.example"
    assert sorted(to for to, _, _, _ in sent(sink)) == ["Noa@Buyer.example", MAYA]


def test_a_buyer_with_an_email_on_file_is_not_asked_again(
    booking_runtime: Runtime, client: TestClient, buyer: Contact, db: Database
) -> None:
    token = token_for(booking_runtime, buyer.id)
    page = client.get(f"/book/{token}").text
    done = client.post(
        f"/book/{token}",
        data={
            "slot": SLOT_0900_PDT,
            "csrf": csrf_of(page),
            "email": "someone.else@evil.example",
        },
    )

    assert 'name="email"' not in page
    assert done.status_code == 200
    with db.sessions() as session:
        stored = session.get(Contact, buyer.id)
    assert stored is not None and stored.email == ANA


def test_the_migration_gives_booked_meetings_their_slot(tmp_path: Path) -> None:
    from firsttouch.store import migrate

    url = f"sqlite:///{tmp_path / 'before.db'}"
    migrate.upgrade(url, "respond_0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        for uid, status in (("ft-a@x", "confirmed"), ("ft-b@x", "cancelled")):
            conn.execute(
                text(
                    "INSERT INTO meetings (uid, owner_id, starts_at, ends_at, "
                    "buyer_timezone, status, created_at) VALUES (:uid, 'maya', "
                    "'2026-03-10 16:00:00.000000', '2026-03-10 16:30:00.000000', "
                    "'UTC', :status, '2026-03-01 00:00:00.000000')"
                ),
                {"uid": uid, "status": status},
            )
    migrate.upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT uid, slot_key, sequence FROM meetings ORDER BY uid")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("ft-a@x", "maya|2026-03-10T16:00:00Z", 0),
        ("ft-b@x", None, 0),
    ]


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" Noa@Buyer.example ", "Noa@Buyer.example"),
        ("noa", None),
        ("noa@buyer", None),
        ("Noa <noa@buyer.example>", None),
        ("noa@buyer.example, eve@evil.example", None),
        ("noa@buyer.example\r\nBcc: eve@evil.example", None),
        ("n" * 320 + "@buyer.example", None),
    ],
)
def test_the_booking_form_keeps_only_a_bare_address(
    typed: str, kept: str | None
) -> None:
    from firsttouch.respond.booking import valid_email

    assert valid_email(typed) == kept
