"""A buyer's name with a line break, a tab or a NUL in it: the lead is
answered once, on one line, and no header of the buyer's making goes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.invites import (
    SmtpInviteMailer,
    invite_calendar,
    invite_message,
    invite_mime,
)
from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Job, Meeting, Touch
from firsttouch.web import create_app
from tests.channels.fakes import FakeTwilio, SmtpSink
from tests.conftest import settle_accepted
from tests.respond.conftest import add_lead, queue_first_touch, worker_for

FORM = "/capture/forms/demo-request"
INJECTED = "Bob\r\nBcc: evil@example.com"


def _touches(runtime: Runtime) -> list[Touch]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Touch).order_by(Touch.id)))


def _first_touch_jobs(runtime: Runtime) -> list[Job]:
    with runtime.db.sessions() as session:
        query = select(Job).where(Job.kind == "respond.first_touch")
        return list(session.scalars(query))


def _answer(runtime: Runtime, inbound_id: int) -> None:
    queue_first_touch(runtime, inbound_id)
    run_until_idle(worker_for(runtime))


def _header_names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return [line.split(b":", 1)[0] for line in head if not line.startswith(b" ")]


def test_a_form_post_with_a_line_break_in_the_name_is_answered_once(
    live_any: Runtime, sink: SmtpSink
) -> None:
    with TestClient(create_app(live_any)) as client:
        posted = client.post(
            FORM, json={"work_email": "crlf@example.com", "First Name": INJECTED}
        )
    assert posted.status_code == 202, posted.text
    settle_accepted(live_any)
    assert _first_touch_jobs(live_any), "capture queues the first touch"
    run_until_idle(worker_for(live_any))

    [got] = sink.received
    assert got.recipients == ["crlf@example.com"]
    assert b"Bcc" not in _header_names(got.raw)
    assert got.message["Bcc"] is None
    [to] = got.message["To"].addresses
    assert to.addr_spec == "crlf@example.com"
    assert "\r" not in to.display_name and "\n" not in to.display_name
    [touch] = [t for t in _touches(live_any) if t.channel == "email"]
    assert touch.status == "sent"
    [job] = _first_touch_jobs(live_any)
    assert job.state == "done" and job.attempts == 1


@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\t", "\x00"], ids=repr)
def test_a_stored_name_with_a_control_character_goes_out_on_one_line(
    live: Runtime, sink: SmtpSink, control: str
) -> None:
    # Written straight to the store: whatever capture cleans, the wire holds.
    inbound_id = add_lead(live, first_name=f"Bob{control}Bcc: evil@example.com")

    _answer(live, inbound_id)

    [got] = sink.received
    assert got.recipients == ["ann@buyer.example"]
    assert b"Bcc" not in _header_names(got.raw)
    assert got.message["To"].addresses[0].display_name == "Bob Bcc: evil@example.com"
    [touch] = _touches(live)
    assert touch.status == "sent"
    assert touch.subject is not None and "\n" not in touch.subject


def test_an_address_with_a_line_break_fails_once_with_the_reason(
    live: Runtime, sink: SmtpSink
) -> None:
    inbound_id = add_lead(live, email="ann@buyer.example\r\nBcc: evil@example.com")

    _answer(live, inbound_id)

    assert sink.received == []
    [touch] = _touches(live)
    assert touch.status == "failed"
    assert "line break or another control character" in (touch.error or "")
    [job] = _first_touch_jobs(live)
    assert job.attempts == 1  # permanent: no retries


@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\t", "\x00"], ids=repr)
def test_a_text_to_a_name_with_a_control_character_is_sent(
    live: Runtime, twilio: FakeTwilio, control: str
) -> None:
    inbound_id = add_lead(
        live,
        channel="sms",
        source="sms",
        email=None,
        phone="+12125550100",
        first_name=f"Bob{control}Smith",
    )

    _answer(live, inbound_id)

    [sent] = twilio.messages
    assert sent["body"].startswith("Hi Bob Smith, it's Maya from Northwind Ledger.")
    [touch] = _touches(live)
    assert touch.status == "queued", touch.error
    assert touch.body == sent["body"]


def test_a_template_with_a_tab_or_carriage_return_texts_line_feeds_only(
    live: Runtime, twilio: FakeTwilio
) -> None:
    templates = dict(live.workspace.templates)
    templates["first_touch_sms"] = (
        "Hi {{ contact.first_name }},\r\nthanks\tfor writing.\rMaya\x00"
    )
    live.workspace = live.workspace.model_copy(update={"templates": templates})
    inbound_id = add_lead(
        live, channel="sms", source="sms", email=None, phone="+12125550100"
    )

    _answer(live, inbound_id)

    [sent] = twilio.messages
    assert sent["body"] == "Hi Ann,\nthanks for writing.\nMaya"


@pytest.mark.parametrize("control", ["\r\n", "\n", "\t", "\x00"], ids=repr)
def test_an_invite_for_a_name_with_a_control_character_goes_out_whole(
    runtime: Runtime, control: str
) -> None:
    workspace = runtime.workspace
    owner = workspace.team.rep("maya")
    assert owner is not None
    buyer = Contact(
        email="ana@buyer.example",
        first_name=f"Ana{control}Bcc: evil@example.com",
        company_name=f"Ruiz{control}Logistics",
    )
    starts = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    meeting = Meeting(
        uid="m1@firsttouch",
        owner_id="maya",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        buyer_timezone="Europe/Berlin",
        status="confirmed",
        sequence=0,
    )
    calendar = invite_calendar(meeting, owner, buyer, workspace, starts)
    message = invite_message(meeting, owner, buyer, workspace, "buyer")

    with SmtpSink() as sink:
        mailer = SmtpInviteMailer("127.0.0.1", sink.port, security="none")
        mailer.send_mime(invite_mime(message, calendar), "invite:m1:buyer")
        mailer.close()

    [got] = sink.received
    assert got.recipients == ["ana@buyer.example"]
    assert b"Bcc" not in _header_names(got.raw)
    assert got.message["To"].addresses[0].display_name == ("Ana Bcc: evil@example.com")
    ics = next(
        part.get_content()
        for part in got.message.walk()
        if part.get_content_type() == "text/calendar"
    )
    assert "\x00" not in ics and "\t" not in ics
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Northwind Ledger and Ruiz Logistics"
    names = sorted(str(a.params["CN"]) for a in event["ATTENDEE"])
    assert "Ana Bcc: evil@example.com" in names
