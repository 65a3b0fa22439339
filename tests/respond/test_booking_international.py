"""Booking invites to internationalised addresses, on both engines, against
aiosmtpd with and without SMTPUTF8; and a buyer whose invite could not be
delivered is told so and can give another address."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.respond.invites import SmtpInviteMailer
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Job, Meeting, Touch
from firsttouch.web import create_app
from firsttouch.workspace import Workspace
from tests.channels.fakes import Received, SmtpSink
from tests.respond import test_booking as booked_tests
from tests.respond.test_booking import SLOT_0900_PDT, csrf_of, token_for
from tests.respond.test_booking_email import (
    EMAIL_FIELD,
    MAYA,
    add_inbound,
    send_queued,
)

JURGEN = "müller@exämple.de"
JURGEN_WIRE = "müller@xn--exmple-cua.de"


def _wired(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
    sink: SmtpSink,
) -> Iterator[tuple[Runtime, TestClient]]:
    runtime = Runtime(
        settings=settings.with_overrides(database_url=db.url),
        db=db,
        workspace=workspace,
        clock=clock,
    )
    runtime.services["busy_source"] = booked_tests.maya_calendar
    runtime.services["invite_mailer"] = SmtpInviteMailer(
        "127.0.0.1", sink.port, security="none"
    )
    with TestClient(create_app(runtime)) as client:
        yield runtime, client


@pytest.fixture
def able(
    settings: Settings, any_db: Database, workspace: Workspace, clock: VirtualClock
) -> Iterator[tuple[Runtime, TestClient, SmtpSink]]:
    """A runtime whose invites go to a server that offers SMTPUTF8."""
    with SmtpSink(smtputf8=True) as sink:
        for runtime, client in _wired(settings, any_db, workspace, clock, sink):
            yield runtime, client, sink


@pytest.fixture
def plain(
    settings: Settings, any_db: Database, workspace: Workspace, clock: VirtualClock
) -> Iterator[tuple[Runtime, TestClient, SmtpSink]]:
    """A runtime whose invites go to a server without SMTPUTF8."""
    with SmtpSink() as sink:
        for runtime, client in _wired(settings, any_db, workspace, clock, sink):
            yield runtime, client, sink


def _parsed(got: Received) -> MimeMessage:
    # RFC 6532 header fields are UTF-8; the email package reads bytes as ASCII.
    mail = message_from_string(got.raw.decode("utf-8"), policy=policy.default)
    assert isinstance(mail, MimeMessage)
    return mail


def _attendees(got: Received) -> list[str]:
    # Bodies read right from bytes (an 8bit part decodes with its charset).
    part = got.message.get_body(("calendar",))
    assert part is not None
    calendar = icalendar.Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    return sorted(str(a) for a in event.get("attendee"))


def _book(client: TestClient, token: str, email: str | None) -> str:
    page = client.get(f"/book/{token}").text
    data = {"slot": SLOT_0900_PDT, "csrf": csrf_of(page)}
    if email is not None:
        data["email"] = email
    answer = client.post(f"/book/{token}", data=data)
    assert answer.status_code == 200, answer.text
    return answer.text


def _phone_only_buyer(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        caller = Contact(phone_e164="+4915112345678", first_name="Jürgen")
        session.add(caller)
        session.flush()
        caller_id = caller.id
    add_inbound(runtime.db, runtime, caller_id)
    return caller_id


def test_the_invite_reaches_a_utf8_address_through_smtputf8(
    able: tuple[Runtime, TestClient, SmtpSink],
) -> None:
    runtime, client, sink = able
    add_inbound(runtime.db, runtime, None)

    _book(client, token_for(runtime, None), JURGEN)
    send_queued(runtime)

    buyer, owner = sorted(
        sink.received, key=lambda got: got.recipients != [JURGEN_WIRE]
    )
    assert buyer.recipients == [JURGEN_WIRE]
    assert "SMTPUTF8" in buyer.mail_options
    assert owner.recipients == [MAYA] and "SMTPUTF8" not in owner.mail_options
    mail = _parsed(buyer)
    assert mail["To"].addresses[0].addr_spec == JURGEN_WIRE
    assert _attendees(buyer) == [f"mailto:{MAYA}", f"mailto:{JURGEN_WIRE}"]
    assert mail.get_body(("plain",)) is not None


def test_an_idna_domain_is_invited_through_a_server_without_smtputf8(
    plain: tuple[Runtime, TestClient, SmtpSink],
) -> None:
    runtime, client, sink = plain
    add_inbound(runtime.db, runtime, None)

    _book(client, token_for(runtime, None), "jurgen@exämple.de")
    send_queued(runtime)

    assert sorted(r for got in sink.received for r in got.recipients) == [
        "jurgen@xn--exmple-cua.de",
        MAYA,
    ]
    assert all(got.raw.split(b"\r\n\r\n")[0].isascii() for got in sink.received)


def test_an_undelivered_invite_is_said_and_the_buyer_can_give_another_address(
    plain: tuple[Runtime, TestClient, SmtpSink],
) -> None:
    runtime, client, sink = plain
    caller_id = _phone_only_buyer(runtime)
    token = token_for(runtime, caller_id)

    _book(client, token, JURGEN)
    send_queued(runtime)
    booked_again = client.get(f"/book/{token}").text
    with runtime.db.sessions() as session:
        [failed] = session.scalars(select(Touch).where(Touch.status == "failed"))
        job = session.scalars(select(Job)).one()
        meeting = session.scalars(select(Meeting)).one()

    # The buyer's copy is refused for good, once; the owner's still went.
    assert [got.recipients for got in sink.received] == [[MAYA]]
    assert failed.contact_id == caller_id and failed.to_address == JURGEN
    assert "does not accept internationalised addresses (SMTPUTF8)" in (
        failed.error or ""
    )
    assert job.attempts == 1
    assert "could not be delivered" in booked_again

    cancel = client.post(
        f"/book/{token}/cancel",
        data={"meeting": meeting.id, "csrf": csrf_of(booked_again)},
    )
    asked = client.get(f"/book/{token}").text
    _book(client, token, "juergen@exämple.de")
    send_queued(runtime)

    assert cancel.status_code == 200
    assert EMAIL_FIELD in asked
    assert "Our last email to m***@exämple.de could not be delivered" in asked
    with runtime.db.sessions() as session:
        stored = session.get(Contact, caller_id)
    assert stored is not None and stored.email == "juergen@exämple.de"
    assert "juergen@xn--exmple-cua.de" in [
        r for got in sink.received for r in got.recipients
    ]
    assert EMAIL_FIELD not in client.get(f"/book/{token}?change=1").text


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("ann@-bücher.de", "Email cannot reach -bücher.de"),
        ("ann@bücher..de", "Email cannot reach bücher..de"),
        ("ann@buyer..example", "Email cannot reach buyer..example"),
        ("ann@-buyer.example", "Email cannot reach -buyer.example"),
        ("Ann <ann@bücher.de>", "That is not an email address we can send to"),
    ],
)
def test_an_address_mail_cannot_reach_is_refused_when_typed(
    plain: tuple[Runtime, TestClient, SmtpSink], typed: str, said: str
) -> None:
    runtime, client, _ = plain
    add_inbound(runtime.db, runtime, None)
    token = token_for(runtime, None)

    page = client.get(f"/book/{token}").text
    refused = client.post(
        f"/book/{token}",
        data={"slot": SLOT_0900_PDT, "csrf": csrf_of(page), "email": typed},
    )

    assert refused.status_code == 400
    assert said in refused.text
    with runtime.db.sessions() as session:
        assert session.scalars(select(Meeting)).all() == []


def test_a_lead_whose_first_reply_bounced_is_asked_for_another_address(
    plain: tuple[Runtime, TestClient, SmtpSink],
) -> None:
    runtime, client, sink = plain
    with runtime.db.transaction() as session:
        lead = Contact(email=JURGEN, first_name="Jürgen")
        session.add(lead)
        session.flush()
        lead_id = lead.id
        # As the first touch records a reply the mail server refused for good.
        session.add(
            Touch(
                contact_id=lead_id,
                channel="email",
                purpose="first_touch",
                status="failed",
                to_address=JURGEN,
                error="the mail server does not accept internationalised addresses",
                idempotency_key="first_touch:7:email",
            )
        )
    add_inbound(runtime.db, runtime, lead_id)
    token = token_for(runtime, lead_id)

    asked = client.get(f"/book/{token}").text
    _book(client, token, "jurgen@exämple.de")
    send_queued(runtime)

    assert EMAIL_FIELD in asked
    assert sorted(r for got in sink.received for r in got.recipients) == [
        "jurgen@xn--exmple-cua.de",
        MAYA,
    ]
    with runtime.db.sessions() as session:
        stored = session.get(Contact, lead_id)
    assert stored is not None and stored.email == "jurgen@exämple.de"
