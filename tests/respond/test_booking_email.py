"""A buyer with no address on file is asked for one before booking, on both engines.

Leads from a call or a text carry a phone number and nothing else, and a
booking link may have no contact behind it at all (issued without one, or
its contact since removed). Either way the page asks for an address with
the slot, and the invitation goes there through the invite job.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.jobs.runner import Worker, run_until_idle
from firsttouch.respond.invites import SmtpInviteMailer, send_invite_handler
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Meeting
from firsttouch.web import create_app
from firsttouch.workspace import Workspace
from tests.respond import test_booking as booked_tests
from tests.respond.test_booking import SLOT_0900_PDT, Sink, csrf_of, token_for

smtp_sink = booked_tests.smtp_sink
MAYA = "maya@northwindledger.example"
EMAIL_FIELD = 'inputmode="email" id="email" name="email"'


@pytest.fixture
def wired(
    settings: Settings,
    any_db: Database,
    workspace: Workspace,
    clock: VirtualClock,
    smtp_sink: tuple[Sink, int],
) -> Iterator[tuple[Runtime, Sink, TestClient]]:
    sink, port = smtp_sink
    runtime = Runtime(
        settings=settings.with_overrides(database_url=any_db.url),
        db=any_db,
        workspace=workspace,
        clock=clock,
    )
    runtime.services["busy_source"] = booked_tests.maya_calendar
    runtime.services["invite_mailer"] = SmtpInviteMailer(
        "127.0.0.1", port, security="none"
    )
    with TestClient(create_app(runtime)) as client:
        yield runtime, sink, client


def add_inbound(db: Database, runtime: Runtime, contact_id: int | None) -> None:
    with db.transaction() as session:
        session.add(
            Inbound(
                id=7,
                dedupe_key="call:7",
                received_at=runtime.clock.now(),
                channel="call",
                kind="missed_call",
                source="phone",
                contact_id=contact_id,
                owner_id="maya",
            )
        )


def send_queued(runtime: Runtime) -> None:
    worker = Worker(
        runtime.db,
        {"respond.send_invite": send_invite_handler(runtime)},
        runtime.clock,
    )
    run_until_idle(worker)


def recipients(sink: Sink) -> list[str]:
    return sorted(rcpt for _, rcpts, _ in sink.messages for rcpt in rcpts)


def test_a_link_with_no_contact_asks_for_an_email_and_the_invite_reaches_it(
    wired: tuple[Runtime, Sink, TestClient],
) -> None:
    runtime, sink, client = wired
    add_inbound(runtime.db, runtime, None)
    token = token_for(runtime, None)

    page = client.get(f"/book/{token}").text
    pick = {"slot": SLOT_0900_PDT, "csrf": csrf_of(page)}
    missing = client.post(f"/book/{token}", data=pick)
    booked = client.post(
        f"/book/{token}",
        data={**pick, "csrf": csrf_of(missing.text), "email": "caller@buyer.example"},
    )
    send_queued(runtime)

    assert EMAIL_FIELD in page
    assert missing.status_code == 400
    assert "Please give the email address" in missing.text
    assert booked.status_code == 200 and "You are booked" in booked.text
    with runtime.db.sessions() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert session.scalars(select(Contact)).all() == []
    assert meeting.contact_id is None
    assert meeting.buyer_email == "caller@buyer.example"
    assert recipients(sink) == ["caller@buyer.example", MAYA]

    ics = client.get(f"/book/{token}/meeting/{meeting.id}.ics").text
    assert "mailto:caller@buyer.example" in ics


def test_a_caller_known_only_by_phone_is_asked_and_the_address_is_kept(
    wired: tuple[Runtime, Sink, TestClient],
) -> None:
    runtime, sink, client = wired
    with runtime.db.transaction() as session:
        caller = Contact(phone_e164="+14155550123", first_name="Rui", owner_id="maya")
        session.add(caller)
        session.flush()
        caller_id = caller.id
    add_inbound(runtime.db, runtime, caller_id)
    token = token_for(runtime, caller_id)

    page = client.get(f"/book/{token}").text
    booked = client.post(
        f"/book/{token}",
        data={
            "slot": SLOT_0900_PDT,
            "csrf": csrf_of(page),
            "email": "rui@buyer.example",
        },
    )
    send_queued(runtime)

    assert EMAIL_FIELD in page
    assert booked.status_code == 200
    with runtime.db.sessions() as session:
        stored = session.get(Contact, caller_id)
    assert stored is not None and stored.email == "rui@buyer.example"
    assert recipients(sink) == [MAYA, "rui@buyer.example"]


def test_a_link_whose_contact_is_gone_still_asks(
    wired: tuple[Runtime, Sink, TestClient],
) -> None:
    runtime, _, client = wired
    add_inbound(runtime.db, runtime, None)
    token = token_for(runtime, 4242)  # a contact id with no row behind it

    page = client.get(f"/book/{token}").text
    refused = client.post(
        f"/book/{token}",
        data={"slot": SLOT_0900_PDT, "csrf": csrf_of(page), "email": "not mail"},
    )

    assert EMAIL_FIELD in page
    assert refused.status_code == 400
    with runtime.db.sessions() as session:
        assert session.scalars(select(Meeting)).all() == []


def test_a_buyer_with_an_address_on_file_keeps_it_and_is_not_asked(
    wired: tuple[Runtime, Sink, TestClient],
) -> None:
    runtime, sink, client = wired
    with runtime.db.transaction() as session:
        known = Contact(email="known@buyer.example", first_name="Kim")
        session.add(known)
        session.flush()
        known_id = known.id
    add_inbound(runtime.db, runtime, known_id)
    token = token_for(runtime, known_id)

    page = client.get(f"/book/{token}").text
    booked = client.post(
        f"/book/{token}",
        data={"slot": SLOT_0900_PDT, "csrf": csrf_of(page)},
    )
    send_queued(runtime)

    assert EMAIL_FIELD not in page
    assert booked.status_code == 200
    assert recipients(sink) == ["known@buyer.example", MAYA]
