"""Booking: signed links, the page in the buyer's zone, confirming, invites."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.config import Secret
from firsttouch.jobs.ledger import Ledger
from firsttouch.respond.availability import Interval, busy_intervals, read_calendar
from firsttouch.respond.booking import (
    BookingClaims,
    BookingLinkError,
    SlotTakenError,
    confirm_slot,
    issue_token,
    read_token,
)
from firsttouch.respond.invites import (
    OutboxInviteMailer,
    SmtpInviteMailer,
    send_invites,
)
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import (
    Contact,
    Inbound,
    Job,
    Meeting,
    OutboxMessage,
    Touch,
)
from firsttouch.workspace.team import Rep

CALENDARS = Path(__file__).parent / "calendars"
SLOT_0900_PDT = "2026-03-10T16:00:00Z"  # Tue 09:00 Los Angeles, 17:00 Berlin


def maya_calendar(rep: Rep, window: Interval) -> list[Interval]:
    calendar = read_calendar(str(CALENDARS / "maya_busy.ics"))
    return busy_intervals(calendar, window, rep.timezone)


@pytest.fixture
def booking_runtime(runtime: Runtime) -> Runtime:
    runtime.services["busy_source"] = maya_calendar
    return runtime


@pytest.fixture
def buyer(db: Database, clock: VirtualClock) -> Contact:
    with db.transaction() as session:
        contact = Contact(
            email="ana.ruiz@buyer.example",
            first_name="Ana",
            last_name="Ruiz",
            company_name="Ruiz Logistics",
            timezone="Europe/Berlin",
            owner_id="maya",
        )
        session.add(contact)
        session.flush()
        session.add(
            Inbound(
                id=7,
                dedupe_key="form:7",
                received_at=clock.now(),
                channel="web_form",
                kind="form",
                source="website",
                contact_id=contact.id,
                owner_id="maya",
            )
        )
        session.expunge(contact)
    return contact


def token_for(runtime: Runtime, contact_id: int | None, inbound_id: int = 7) -> str:
    claims = BookingClaims(
        owner_id="maya", inbound_id=inbound_id, contact_id=contact_id
    )
    return issue_token(runtime.settings.secret_key, runtime.clock, claims)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the form carries a CSRF field"
    return match.group(1)


def test_token_carries_its_claims_and_refuses_tampering(clock: VirtualClock) -> None:
    secret = Secret("s3cret")
    claims = BookingClaims(owner_id="maya", inbound_id=3, contact_id=4)
    token = issue_token(secret, clock, claims)

    assert read_token(secret, clock, token) == claims
    with pytest.raises(BookingLinkError, match="not valid"):
        read_token(secret, clock, token[:-2] + ("A" if token[-2] != "A" else "B") + "x")
    with pytest.raises(BookingLinkError, match="not valid"):
        read_token(Secret("other"), clock, token)


def test_token_expires_on_the_injected_clock(clock: VirtualClock) -> None:
    secret = Secret("s3cret")
    token = issue_token(secret, clock, BookingClaims(owner_id="maya"))

    clock.advance(timedelta(days=13))
    assert read_token(secret, clock, token).owner_id == "maya"
    clock.advance(timedelta(days=2))
    with pytest.raises(BookingLinkError, match="expired"):
        read_token(secret, clock, token)


def test_page_lists_slots_in_the_buyers_zone(
    booking_runtime: Runtime, client: TestClient, buyer: Contact
) -> None:
    token = token_for(booking_runtime, buyer.id)

    page = client.get(f"/book/{token}")

    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "Europe/Berlin" in html
    assert "<legend>Tuesday 10 March</legend>" in html
    assert f'value="{SLOT_0900_PDT}"' in html
    assert "<span>17:00</span>" in html  # 09:00 in Los Angeles
    # 10:00-11:00 Pacific is the weekly pipeline review (18:00 Berlin).
    assert 'value="2026-03-10T17:00:00Z"' not in html
    assert page.headers["cache-control"] == "no-store"


def test_buyer_may_switch_the_time_zone(
    booking_runtime: Runtime, client: TestClient, buyer: Contact
) -> None:
    token = token_for(booking_runtime, buyer.id)

    html = client.get(f"/book/{token}", params={"tz": "America/New_York"}).text

    assert '<option value="America/New_York" selected>' in html
    assert "<span>12:00</span>" in html
    unknown = client.get(f"/book/{token}", params={"tz": "Mars/Olympus"}).text
    assert '<option value="Europe/Berlin" selected>' in unknown


def test_lead_supplied_text_is_escaped(
    booking_runtime: Runtime, client: TestClient, db: Database
) -> None:
    with db.transaction() as session:
        contact = Contact(
            email="x@buyer.example", first_name="<script>alert(1)</script>"
        )
        session.add(contact)
        session.flush()
        contact_id = contact.id

    html = client.get(f"/book/{token_for(booking_runtime, contact_id)}").text

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_and_expired_links_get_a_readable_page(
    booking_runtime: Runtime, client: TestClient, clock: VirtualClock
) -> None:
    token = token_for(booking_runtime, None)

    forged = client.get(f"/book/{token}x")
    clock.advance(timedelta(days=15))
    expired = client.get(f"/book/{token}")

    assert forged.status_code == 404 and "not valid" in forged.text
    assert expired.status_code == 404 and "expired" in expired.text


def test_confirming_records_a_meeting_and_queues_the_invites(
    booking_runtime: Runtime, client: TestClient, buyer: Contact, db: Database
) -> None:
    token = token_for(booking_runtime, buyer.id)
    csrf = csrf_of(client.get(f"/book/{token}").text)

    done = client.post(
        f"/book/{token}",
        data={"slot": SLOT_0900_PDT, "tz": "Europe/Berlin", "csrf": csrf},
    )

    assert done.status_code == 200
    assert "You are booked" in done.text
    assert "Tuesday 10 March 2026 at 17:00 (Europe/Berlin)" in done.text
    with db.sessions() as session:
        meeting = session.scalars(select(Meeting)).one()
        job = session.scalars(
            select(Job).where(Job.kind == "respond.send_invite")
        ).one()
    assert meeting.owner_id == "maya" and meeting.contact_id == buyer.id
    assert meeting.starts_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=30)
    assert meeting.buyer_timezone == "Europe/Berlin"
    assert job.payload == {"meeting_id": meeting.id}

    # Back on the link later: the booking is shown, not a second set of slots.
    again = client.get(f"/book/{token}")
    assert "You are booked" in again.text

    # The page offers the meeting as a file, and only this link's meeting.
    ics = client.get(f"/book/{token}/meeting/{meeting.id}.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert f"UID:{meeting.uid}" in ics.text and "DTSTART:20260310T160000Z" in ics.text
    other = token_for(booking_runtime, buyer.id, inbound_id=8)
    assert client.get(f"/book/{other}/meeting/{meeting.id}.ics").status_code == 404


def test_a_taken_slot_is_refused_and_no_longer_offered(
    booking_runtime: Runtime, client: TestClient, buyer: Contact, db: Database
) -> None:
    first = token_for(booking_runtime, buyer.id, inbound_id=1)
    second = token_for(booking_runtime, None, inbound_id=2)
    csrf = csrf_of(client.get(f"/book/{first}").text)
    client.post(f"/book/{first}", data={"slot": SLOT_0900_PDT, "csrf": csrf})

    page = client.get(f"/book/{second}").text
    late = client.post(
        f"/book/{second}",
        data={
            "slot": SLOT_0900_PDT,
            "csrf": csrf_of(page),
            "email": "second@buyer.example",
        },
    )

    assert f'value="{SLOT_0900_PDT}"' not in page
    assert late.status_code == 409
    assert "no longer free" in late.text
    with db.sessions() as session:
        assert len(session.scalars(select(Meeting)).all()) == 1


def test_a_slot_inside_the_buffer_of_a_new_meeting_is_refused_with_fresh_slots(
    booking_runtime: Runtime, client: TestClient, buyer: Contact, db: Database
) -> None:
    # Both pages were opened before either buyer confirmed, so both offer two
    # neighbouring slots; a meeting in the first plus its buffer takes the
    # second as well, though it starts on another minute.
    first = token_for(booking_runtime, buyer.id, inbound_id=1)
    second = token_for(booking_runtime, buyer.id, inbound_id=2)
    other_browser = TestClient(client.app)
    first_page = client.get(f"/book/{first}").text
    second_page = other_browser.get(f"/book/{second}").text
    offered = re.findall(r'name="slot" value="([^"]+)"', second_page)
    at = {v: datetime.fromisoformat(v.replace("Z", "+00:00")) for v in offered}
    early, late_slot = next(
        (a, b)
        for a, b in zip(offered, offered[1:], strict=False)
        if at[b] - at[a] == timedelta(minutes=30)
    )

    client.post(f"/book/{first}", data={"slot": early, "csrf": csrf_of(first_page)})
    late = other_browser.post(
        f"/book/{second}", data={"slot": late_slot, "csrf": csrf_of(second_page)}
    )

    assert late.status_code == 409
    assert "no longer free" in late.text and 'role="alert"' in late.text
    fresh = re.findall(r'name="slot" value="([^"]+)"', late.text)
    assert fresh and early not in fresh and late_slot not in fresh
    with db.sessions() as session:
        assert len(session.scalars(select(Meeting)).all()) == 1


def test_confirming_twice_keeps_one_meeting(
    booking_runtime: Runtime, buyer: Contact, db: Database
) -> None:
    claims = BookingClaims(owner_id="maya", inbound_id=9, contact_id=buyer.id)
    start = datetime.fromisoformat(SLOT_0900_PDT)
    busy = maya_calendar
    args = (db, booking_runtime.workspace, booking_runtime.clock, claims)

    one = confirm_slot(*args, start, "Europe/Berlin", busy)
    two = confirm_slot(*args, start, "Europe/Berlin", busy)

    assert one.id == two.id
    with pytest.raises(SlotTakenError):
        other = BookingClaims(owner_id="maya", inbound_id=10)
        confirm_slot(
            db,
            booking_runtime.workspace,
            booking_runtime.clock,
            other,
            start,
            "UTC",
            busy,
        )


def test_slots_outside_the_offer_are_refused(
    booking_runtime: Runtime, buyer: Contact, db: Database
) -> None:
    claims = BookingClaims(owner_id="maya", inbound_id=9, contact_id=buyer.id)
    # 10:00 Pacific is the weekly meeting; 03:00 is outside working hours.
    for moment in ("2026-03-10T17:00:00Z", "2026-03-11T11:00:00Z"):
        with pytest.raises(SlotTakenError):
            confirm_slot(
                db,
                booking_runtime.workspace,
                booking_runtime.clock,
                claims,
                datetime.fromisoformat(moment),
                "UTC",
                maya_calendar,
            )


def test_form_without_the_csrf_pair_or_from_another_site_is_refused(
    booking_runtime: Runtime, client: TestClient, buyer: Contact, db: Database
) -> None:
    token = token_for(booking_runtime, buyer.id)
    csrf = csrf_of(client.get(f"/book/{token}").text)
    other_token = token_for(booking_runtime, buyer.id, inbound_id=99)

    missing = client.post(f"/book/{token}", data={"slot": SLOT_0900_PDT})
    foreign = client.post(
        f"/book/{token}",
        data={"slot": SLOT_0900_PDT, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    wrong_link = client.post(
        f"/book/{other_token}", data={"slot": SLOT_0900_PDT, "csrf": csrf}
    )

    assert [r.status_code for r in (missing, foreign, wrong_link)] == [403, 403, 403]
    with db.sessions() as session:
        assert session.scalars(select(Meeting)).first() is None


def test_unreadable_calendar_pauses_booking(
    runtime: Runtime, client: TestClient, buyer: Contact
) -> None:
    def broken(rep: Rep, window: Interval) -> list[Interval]:
        return busy_intervals(read_calendar("/nonexistent/cal.ics"), window, "UTC")

    runtime.services["busy_source"] = broken

    page = client.get(f"/book/{token_for(runtime, buyer.id)}")

    assert page.status_code == 503
    assert "Booking is paused" in page.text


class Sink:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def calendar_part(message: Message) -> tuple[Message, icalendar.Calendar]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return part, icalendar.Calendar.from_ical(payload)
    raise AssertionError("no text/calendar part")


def test_invites_reach_both_sides_once_over_smtp(
    booking_runtime: Runtime,
    buyer: Contact,
    db: Database,
    smtp_sink: tuple[Sink, int],
) -> None:
    sink, port = smtp_sink
    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    meeting = confirm_slot(
        db,
        booking_runtime.workspace,
        booking_runtime.clock,
        claims,
        datetime.fromisoformat(SLOT_0900_PDT),
        "Europe/Berlin",
        maya_calendar,
    )
    mailer = SmtpInviteMailer("127.0.0.1", port, security="none")
    ledger = Ledger(db, booking_runtime.clock)
    send = dict(
        db=db,
        workspace=booking_runtime.workspace,
        clock=booking_runtime.clock,
        ledger=ledger,
        mailer=mailer,
    )

    send_invites(meeting.id, **send)  # type: ignore[arg-type]
    send_invites(meeting.id, **send)  # a retried job sends nothing more

    assert sorted(r for _, rcpts, _ in sink.messages for r in rcpts) == [
        "ana.ruiz@buyer.example",
        "maya@northwindledger.example",
    ]
    for _, _to, message in sink.messages:
        part, calendar = calendar_part(message)
        assert part.get_param("method") == "REQUEST"
        assert calendar["METHOD"] == "REQUEST"
        event = calendar.walk("VEVENT")[0]
        assert event["UID"] == meeting.uid
        assert event.decoded("DTSTART") == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
        assert event.decoded("DTEND") == datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
        assert str(event["ORGANIZER"]) == "mailto:maya@northwindledger.example"
        attendees = sorted(str(a) for a in event["ATTENDEE"])
        assert attendees == [
            "mailto:ana.ruiz@buyer.example",
            "mailto:maya@northwindledger.example",
        ]
        assert any(p.get_filename() == "invite.ics" for p in message.walk())
    buyer_copy = next(m for _, r, m in sink.messages if r == ["ana.ruiz@buyer.example"])
    assert "17:00-17:30 (Europe/Berlin)" in str(buyer_copy["Subject"])
    with db.sessions() as session:
        touches = session.scalars(
            select(Touch).where(Touch.purpose == "meeting_invite")
        )
        assert len(touches.all()) == 2


def test_invites_go_to_the_outbox_in_the_embedded_default(
    booking_runtime: Runtime, buyer: Contact, db: Database
) -> None:
    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    meeting = confirm_slot(
        db,
        booking_runtime.workspace,
        booking_runtime.clock,
        claims,
        datetime.fromisoformat(SLOT_0900_PDT),
        "Europe/Berlin",
        maya_calendar,
    )
    mailer = OutboxInviteMailer(db, booking_runtime.clock)

    send_invites(
        meeting.id,
        db=db,
        workspace=booking_runtime.workspace,
        clock=booking_runtime.clock,
        ledger=Ledger(db, booking_runtime.clock),
        mailer=mailer,
    )

    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert {r.to_address for r in rows} == {
        "ana.ruiz@buyer.example",
        "maya@northwindledger.example",
    }
    assert all("METHOD:REQUEST" in (r.raw or "") for r in rows)


def test_workspace_calendar_urls_are_read_and_kept_for_a_while(
    runtime: Runtime,
) -> None:
    from firsttouch.respond.booking import calendar_busy
    from tests.respond.extras_fakes import Answer, fake_api

    ics = (CALENDARS / "maya_busy.ics").read_text()
    with fake_api() as api:
        api.queue("/cal/maya.ics", Answer(200, ics), Answer(200, ics))
        booking = runtime.workspace.respond.booking.model_copy(
            update={"busy_calendars": {"maya": f"{api.url}/cal/maya.ics"}}
        )
        respond = runtime.workspace.respond.model_copy(update={"booking": booking})
        workspace = runtime.workspace.model_copy(update={"respond": respond})
        maya = workspace.team.rep("maya")
        luis = workspace.team.rep("luis")
        assert maya is not None and luis is not None
        window = Interval(
            datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
        )

        cached = calendar_busy(workspace)
        first = cached(maya, window)
        second = cached(maya, window)
        fresh = calendar_busy(workspace, max_age=0)
        fresh(maya, window)

        assert first == second
        assert (
            Interval(
                datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
                datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
            )
            in first
        )
        assert cached(luis, window) == []  # no calendar listed for Luis
        assert len(api.requests_to("/cal/maya.ics")) == 2


def test_the_invite_job_sends_through_the_workspace_outbox(
    booking_runtime: Runtime, buyer: Contact, db: Database
) -> None:
    from firsttouch.respond.invites import invite_mailer, send_invite_handler

    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    meeting = confirm_slot(
        db,
        booking_runtime.workspace,
        booking_runtime.clock,
        claims,
        datetime.fromisoformat(SLOT_0900_PDT),
        "Europe/Berlin",
        maya_calendar,
    )
    with db.sessions() as session:
        job = session.scalars(
            select(Job).where(Job.kind == "respond.send_invite")
        ).one()

    class Ctx:
        payload = job.payload

    Ctx.db = db  # type: ignore[attr-defined]
    Ctx.clock = booking_runtime.clock  # type: ignore[attr-defined]
    send_invite_handler(booking_runtime)(Ctx())  # type: ignore[arg-type]

    assert isinstance(invite_mailer(booking_runtime), OutboxInviteMailer)
    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 2
    assert all(meeting.uid in (r.raw or "") for r in rows)


def test_a_booking_lands_on_the_leads_timeline(
    booking_runtime: Runtime, buyer: Contact, db: Database
) -> None:
    from firsttouch.store.models import Activity

    claims = BookingClaims(owner_id="maya", inbound_id=7, contact_id=buyer.id)
    confirm_slot(
        db,
        booking_runtime.workspace,
        booking_runtime.clock,
        claims,
        datetime.fromisoformat(SLOT_0900_PDT),
        "Europe/Berlin",
        maya_calendar,
    )

    with db.sessions() as session:
        activity = session.scalars(select(Activity)).one()
    assert activity.kind == "meeting.booked" and activity.contact_id == buyer.id
    assert activity.details["starts_at"] == "2026-03-10T16:00:00+00:00"


def test_a_team_on_an_external_scheduler_is_sent_there(
    booking_runtime: Runtime, client: TestClient, buyer: Contact
) -> None:
    workspace = booking_runtime.workspace
    booking = workspace.respond.booking.model_copy(
        update={"external_url": "https://cal.example/northwind/demo"}
    )
    respond = workspace.respond.model_copy(update={"booking": booking})
    booking_runtime.workspace = workspace.model_copy(update={"respond": respond})

    page = client.get(
        f"/book/{token_for(booking_runtime, buyer.id)}", follow_redirects=False
    )

    assert page.status_code == 302
    assert page.headers["location"] == "https://cal.example/northwind/demo"


def test_from_the_booking_page_to_both_inboxes_through_the_worker(
    booking_runtime: Runtime,
    client: TestClient,
    buyer: Contact,
    db: Database,
    smtp_sink: tuple[Sink, int],
) -> None:
    from firsttouch.jobs.runner import Worker, run_until_idle
    from firsttouch.respond.invites import send_invite_handler

    sink, port = smtp_sink
    booking_runtime.services["invite_mailer"] = SmtpInviteMailer(
        "127.0.0.1", port, security="none"
    )
    token = token_for(booking_runtime, buyer.id)
    csrf = csrf_of(client.get(f"/book/{token}").text)
    client.post(f"/book/{token}", data={"slot": SLOT_0900_PDT, "csrf": csrf})

    worker = Worker(
        db,
        {"respond.send_invite": send_invite_handler(booking_runtime)},
        booking_runtime.clock,
    )
    run_until_idle(worker)

    assert sorted(r for _, rcpts, _ in sink.messages for r in rcpts) == [
        "ana.ruiz@buyer.example",
        "maya@northwindledger.example",
    ]
    with db.sessions() as session:
        job = session.scalars(
            select(Job).where(Job.kind == "respond.send_invite")
        ).one()
    assert job.state == "done"


def test_without_a_known_zone_the_browser_is_asked_once(
    booking_runtime: Runtime, client: TestClient, db: Database
) -> None:
    with db.transaction() as session:
        contact = Contact(email="no.zone@buyer.example", first_name="Noa")
        session.add(contact)
        session.flush()
        contact_id = contact.id
    token = token_for(booking_runtime, contact_id)

    guessing = client.get(f"/book/{token}").text
    told = client.get(f"/book/{token}", params={"tz": "Asia/Tokyo"}).text

    assert "Intl.DateTimeFormat" in guessing
    assert '<option value="America/Los_Angeles" selected>' in guessing
    assert "Intl.DateTimeFormat" not in told
