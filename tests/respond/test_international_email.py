"""A lead whose address is internationalised is answered, or refused with the
reason on its touch: never a job that crashes and retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from firsttouch.channels.messages import EmailMessage
from firsttouch.channels.outbox.store import OutboxEmail
from firsttouch.channels.smtp import make_message_id
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.invites import OutboxInviteMailer, invite_mime
from firsttouch.runtime import Runtime
from firsttouch.store.models import Job, OutboxMessage, Touch
from tests.channels.fakes import FakeTwilio, SmtpSink
from tests.respond.conftest import add_lead, queue_first_touch, wire, worker_for

JURGEN = "müller@exämple.de"


@pytest.fixture
def utf8_sink() -> Iterator[SmtpSink]:
    with SmtpSink(smtputf8=True) as server:
        yield server


def _first_touch(runtime: Runtime, email: str) -> tuple[list[Touch], Job]:
    inbound_id = add_lead(runtime, email=email, first_name="Jürgen")
    queue_first_touch(runtime, inbound_id)
    run_until_idle(worker_for(runtime))
    with runtime.db.sessions() as session:
        touches = session.scalars(
            select(Touch).where(Touch.inbound_id == inbound_id).order_by(Touch.id)
        ).all()
        job = session.scalars(select(Job).where(Job.kind == "respond.first_touch"))
        return list(touches), job.one()


def test_a_utf8_address_is_answered_through_a_server_with_smtputf8(
    live_any: Runtime, utf8_sink: SmtpSink, twilio: FakeTwilio
) -> None:
    runtime = wire(live_any, utf8_sink, twilio)

    touches, job = _first_touch(runtime, JURGEN)

    [got] = utf8_sink.received
    assert got.recipients == ["müller@xn--exmple-cua.de"]
    assert "SMTPUTF8" in got.mail_options
    assert [t.status for t in touches] == ["sent"]
    assert job.state == "done" and job.attempts == 1


def test_a_utf8_address_without_smtputf8_fails_once_with_the_reason(
    live_any: Runtime, sink: SmtpSink
) -> None:
    touches, job = _first_touch(live_any, JURGEN)

    assert sink.received == []
    [touch] = touches
    assert touch.status == "failed"
    assert touch.error == (
        "the mail server does not accept internationalised addresses (SMTPUTF8); "
        "m***@exämple.de cannot be reached by email"
    )
    assert job.attempts == 1  # permanent: no eight retries


def test_an_idna_domain_reaches_a_server_without_smtputf8(
    live_any: Runtime, sink: SmtpSink
) -> None:
    touches, _ = _first_touch(live_any, "jurgen@exämple.de")

    [got] = sink.received
    assert got.recipients == ["jurgen@xn--exmple-cua.de"]
    assert got.message["To"].addresses[0].domain == "xn--exmple-cua.de"
    assert [t.status for t in touches] == ["sent"]


def test_the_outbox_keeps_a_message_to_a_utf8_address(live: Runtime) -> None:
    outbox = OutboxEmail(live.db, live.clock)
    message = EmailMessage(
        to=JURGEN,
        to_name="Jürgen Müller",
        from_address="hello@northwindledger.example",
        subject="Hallo",
        text="Hallo Jürgen",
        html="<p>Hallo Jürgen</p>",
        message_id=make_message_id("k", "hello@northwindledger.example"),
    )

    outbox.send(message)

    with live.db.sessions() as session:
        kept = session.scalars(select(OutboxMessage)).one()
    assert kept.to_address == JURGEN
    assert "<müller@xn--exmple-cua.de>" in (kept.raw or "")


def test_the_outbox_keeps_an_invite_to_a_utf8_address(live: Runtime) -> None:
    message = EmailMessage(
        to=JURGEN,
        to_name="Jürgen Müller",
        from_address="hello@northwindledger.example",
        subject="Invitation",
        text="You are booked.",
        html="<p>You are booked.</p>",
        message_id=make_message_id("invite:u:buyer", "hello@northwindledger.example"),
    )
    calendar = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"

    OutboxInviteMailer(live.db, live.clock).send_mime(
        invite_mime(message, calendar), "invite:u:buyer"
    )

    with live.db.sessions() as session:
        kept = session.scalars(select(OutboxMessage)).one()
    assert kept.to_address == "müller@xn--exmple-cua.de"
    assert "To: =?utf-8?b?" in (kept.raw or "")
    assert "text/calendar" in (kept.raw or "")
