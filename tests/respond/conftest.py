"""A runtime wired to loopback channels, and leads written straight to the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from firsttouch.channels.smtp import SmtpEmail
from firsttouch.channels.twilio import TwilioClient, TwilioSms
from firsttouch.clock import VirtualClock
from firsttouch.config import Secret, Settings
from firsttouch.jobs.queue import enqueue
from firsttouch.jobs.runner import Worker
from firsttouch.respond.consent import MailboxLimits
from firsttouch.respond.handlers import give_ups, handlers
from firsttouch.respond.senders import SERVICE, Senders
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound
from firsttouch.workspace import Workspace
from tests.channels.fakes import FakeTwilio, SmtpSink

TWILIO_SID = "AC" + "3" * 32
FROM = "hello@northwindledger.example"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(TWILIO_SID, "test-twilio-token") as server:
        yield server


def wire(runtime: Runtime, sink: SmtpSink, twilio: FakeTwilio) -> Runtime:
    """Point the runtime's senders at the loopback SMTP sink and Twilio."""
    client = TwilioClient(twilio.base_url, TWILIO_SID, Secret("test-twilio-token"))
    runtime.services[SERVICE] = Senders(
        email=SmtpEmail("127.0.0.1", sink.port, security="none"),
        sms=TwilioSms(client, from_numbers=["+14155550199"], segments_per_second=1000),
        from_address=FROM,
        from_name="Northwind Ledger",
        mailbox=MailboxLimits(FROM, per_minute=600, per_day=10_000),
        status_callback="http://127.0.0.1:8000/respond/twilio/status",
    )
    return runtime


@pytest.fixture
def live(runtime: Runtime, sink: SmtpSink, twilio: FakeTwilio) -> Runtime:
    """The SQLite runtime, sending to loopback servers."""
    return wire(runtime, sink, twilio)


@pytest.fixture
def live_any(
    any_db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    sink: SmtpSink,
    twilio: FakeTwilio,
) -> Runtime:
    """The same, on SQLite and on PostgreSQL."""
    runtime = Runtime(
        settings=settings.with_overrides(database_url=any_db.url),
        db=any_db,
        workspace=workspace,
        clock=clock,
    )
    return wire(runtime, sink, twilio)


def add_lead(
    runtime: Runtime,
    *,
    channel: str = "web_form",
    source: str = "website",
    email: str | None = "ann@buyer.example",
    phone: str | None = None,
    first_name: str | None = "Ann",
    owner: str = "maya",
    subject: str | None = None,
    message_id: str | None = None,
    fields: dict[str, Any] | None = None,
    timezone: str | None = None,
    raw: str | None = None,
    kind: str = "message",
    status: str = "new",
) -> int:
    """Write a contact and an inbound as capture would; return the inbound id."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        contact = Contact(
            email=email,
            email_norm=email.lower() if email else None,
            phone_e164=phone,
            phone=phone,
            first_name=first_name,
            company_name="Acme Books",
            owner_id=owner,
            timezone=timezone,
            created_at=now,
        )
        session.add(contact)
        session.flush()
        inbound = Inbound(
            dedupe_key=f"test:{channel}:{contact.id}:{now.timestamp()}",
            received_at=now,
            channel=channel,
            kind=kind,
            source=source,
            contact_id=contact.id,
            owner_id=owner,
            subject=subject,
            message_id=message_id,
            fields=fields or {},
            raw=raw,
            status=status,
            first_touch_due_at=now + timedelta(minutes=5),
        )
        session.add(inbound)
        session.flush()
        return inbound.id


def queue_first_touch(
    runtime: Runtime, inbound_id: int, *, due: datetime | None = None
) -> None:
    """Queue the inbound's first touch as capture does (same key), due now
    unless ``due`` says when."""
    with runtime.db.transaction() as session:
        enqueue(
            session,
            "respond.first_touch",
            {"inbound_id": inbound_id},
            key=f"first_touch:{inbound_id}",
            now=due,
        )


def worker_for(runtime: Runtime) -> Worker:
    """A worker that runs this layer's jobs on the runtime's clock."""
    return Worker(
        runtime.db,
        handlers(runtime),
        runtime.clock,
        worker_id="test",
        lease_seconds=30,
        poll_seconds=0.01,
        give_ups=give_ups(runtime),
    )
