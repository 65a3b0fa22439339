"""Values at the edge of what the store holds never lose an accepted lead.

A time on the last day of the calendar, a company name of 5,000 letters or
a head count of 10**30 is valid input that no column can hold as given: it
must not turn a 2xx into a ``capture.ingest`` job that fails forever on
PostgreSQL (or a 500 and an SMTP 451 the sender retries for days). What
cannot be kept is left out of the typed columns and kept in the event's
fields as the sender wrote it.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.capture.email_parse import parse_email
from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.identity import normalise_email
from firsttouch.capture.providers.amazon_ses import parse_ses_received
from firsttouch.capture.providers.formsort import parse_formsort
from firsttouch.capture.providers.generic_lead import parse_generic_lead
from firsttouch.capture.providers.payloads import from_iso
from firsttouch.capture.smtp_listener import SmtpListener, start_smtp_listener
from firsttouch.config import Settings
from firsttouch.jobs.runner import run_until_idle
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Company, Contact, Inbound, Job
from firsttouch.web.apikeys import create_api_key
from firsttouch.worker import build_worker
from tests.capture.app_hooks_support import (
    contact_of,
    typeform_headers,
    with_app_secrets,
)
from tests.capture.provider_support import (
    basic_auth,
    fixture_bytes,
    fixture_json,
    inbounds,
    post_api_inbound,
)
from tests.capture.test_provider_bookings import calcom_headers
from tests.capture.test_provider_chat import generic_headers

LAST_DAY = "Fri, 31 Dec 9999 23:59:59 -1200"
EDGE_TIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def _failed_jobs(runtime: Runtime) -> list[tuple[str, str | None]]:
    with runtime.db.sessions() as session:
        jobs = list(session.scalars(select(Job)))
    return [(j.kind, j.last_error) for j in jobs if j.state == "dead" or j.last_error]


def _contacts(runtime: Runtime) -> list[Contact]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Contact)))


# -- times UTC cannot hold ------------------------------------------------------


@pytest.mark.parametrize("text", EDGE_TIMES)
def test_an_iso_time_utc_cannot_hold_is_no_time(text: str) -> None:
    assert from_iso(text) is None
    assert from_iso("2026-03-10T14:00:00+01:00") == datetime(
        2026, 3, 10, 13, tzinfo=UTC
    )


def test_a_mail_dated_on_the_last_day_has_no_date_and_keeps_the_header() -> None:
    raw = (
        f"From: Ada <ada@quay.example>\r\nDate: {LAST_DAY}\r\n"
        "Subject: hi\r\n\r\nA demo, please.\r\n"
    ).encode()

    parsed = parse_email(raw)

    assert parsed.date is None and parsed.date_header == LAST_DAY


def test_ses_raw_mail_dated_on_the_last_day_is_a_lead_without_a_time() -> None:
    ses = fixture_json("ses_received.json")
    ses["content"] = re.sub(
        r"(?m)^Date: [^\r\n]*", f"Date: {LAST_DAY}", ses["content"], count=1
    )

    event = parse_ses_received(ses, "{}")

    assert event.creates_lead and event.person.email
    assert event.occurred_at is None
    assert event.fields["occurred_at_as_typed"] == LAST_DAY


@pytest.mark.parametrize("text", EDGE_TIMES)
def test_formsort_and_generic_lead_times_utc_cannot_hold_are_left_out(
    text: str,
) -> None:
    formsort = {
        "responder_uuid": "r-1",
        "finalized": True,
        "created_at": text,
        "answers": {"email": "ann@kiln.example"},
    }
    lead = {"id": "l-1", "email": "ann@kiln.example", "created_at": text}

    events = [
        parse_formsort(json.dumps(formsort).encode()),
        parse_generic_lead(json.dumps(lead).encode()),
    ]

    assert [e.occurred_at for e in events] == [None, None]
    assert events[0].fields["occurred_at_as_typed"] == text


def test_an_event_time_utc_cannot_hold_is_kept_as_typed_in_fields() -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    base: dict[str, Any] = {
        "dedupe_key": "k",
        "channel": "api",
        "kind": "form",
        "source": "api",
    }

    event = InboundEvent(**base, provider="api", occurred_at=last)
    naive = InboundEvent(**base, provider="api", occurred_at=datetime(2026, 3, 1))
    moved = InboundEvent(
        **base,
        provider="api",
        occurred_at=datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=9))),
    )

    assert event.occurred_at is None
    assert event.fields["occurred_at_as_typed"] == "9999-12-31T23:59:59-12:00"
    assert naive.occurred_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert moved.occurred_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert moved.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", EDGE_TIMES)
def test_generic_chat_sent_at_the_edge_is_a_lead_without_a_time(
    client: TestClient, runtime: Runtime, text: str
) -> None:
    payload = fixture_json("generic_chat_message.json")
    payload["sent_at"] = text
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/chat/generic", content=body, headers=generic_headers(body)
    )

    assert response.status_code == 200, response.text
    (inbound,) = inbounds(runtime)
    assert inbound.occurred_at is None and inbound.contact_id is not None
    assert inbound.fields["occurred_at_as_typed"] == text


def test_typeform_submitted_on_the_last_day_is_a_lead_without_a_time(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("typeform_form_response.json")
    payload["form_response"]["submitted_at"] = EDGE_TIMES[0]
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/typeform", content=body, headers=typeform_headers(body)
    )

    assert response.status_code == 200, response.text
    (inbound,) = inbounds(runtime)
    assert inbound.occurred_at is None and inbound.contact_id is not None
    assert inbound.fields["occurred_at_as_typed"] == EDGE_TIMES[0]


def test_postmark_mail_dated_on_the_last_day_is_a_lead(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("postmark_inbound.json")
    payload["Date"] = LAST_DAY
    for header in payload.get("Headers", []):
        if header.get("Name") == "Date":
            header["Value"] = LAST_DAY

    response = client.post(
        "/capture/email/postmark",
        json=payload,
        headers=basic_auth("POSTMARK_INBOUND_AUTH"),
    )

    assert response.status_code == 200, response.text
    (inbound,) = inbounds(runtime)
    assert inbound.occurred_at is None and inbound.contact_id is not None


@pytest.fixture
def listener(runtime: Runtime) -> Iterator[SmtpListener]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    running = start_smtp_listener(runtime, f"127.0.0.1:{port}")
    yield running
    running.stop()


def test_mail_over_smtp_dated_on_the_last_day_is_taken(
    runtime: Runtime, listener: SmtpListener
) -> None:
    msg = EmailMessage()
    msg["From"] = "Priya Raman <priya@fernhill-clinics.example>"
    msg["To"] = "sales@northwindledger.example"
    msg["Subject"] = "Invoice automation"
    msg["Message-ID"] = "<edge-date-1@fernhill-clinics.example>"
    msg["Date"] = LAST_DAY
    msg.set_content("Can we see a demo?")

    with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
        refused = smtp.send_message(msg)

    assert refused == {}
    (inbound,) = inbounds(runtime)
    assert inbound.occurred_at is None and inbound.contact_id is not None
    assert inbound.fields["occurred_at_as_typed"] == LAST_DAY


@pytest.mark.parametrize("text", EDGE_TIMES)
def test_api_inbound_occurred_at_the_edge_is_taken(
    client: TestClient, runtime: Runtime, text: str
) -> None:
    inbound = post_api_inbound(client, runtime, text)

    assert inbound.occurred_at is None
    assert (
        inbound.fields["occurred_at_as_typed"]
        == datetime.fromisoformat(text).isoformat()
    )


# -- facts longer or larger than their columns ----------------------------------


def test_a_form_with_huge_company_title_and_head_count_reaches_the_lead(
    raw_client: TestClient, runtime: Runtime
) -> None:
    huge = "1" + "0" * 30
    body = (
        '{"email": "mo@kiln.example", "name": "Mo Ito", '
        f'"Company": "{"x" * 5000}", "Job Title": "{"t" * 5000}", '
        f'"Employees": {huge}}}'
    )

    response = raw_client.post(
        "/capture/forms/demo-request",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 202, 303), response.text

    run_until_idle(build_worker(runtime))

    assert _failed_jobs(runtime) == []
    (inbound,) = inbounds(runtime)
    contact = contact_of(runtime, inbound)
    widths = (Contact.company_name.type.length, Contact.title.type.length)
    assert (contact.company_name, contact.title) == ("x" * widths[0], "t" * widths[1])
    assert inbound.fields["company_as_typed"] == "x" * 5000
    assert inbound.fields["title_as_typed"] == "t" * 5000
    assert inbound.fields["employees_as_typed"] == huge
    with runtime.db.sessions() as session:
        counts = list(session.scalars(select(Company.employee_count)))
    assert counts in ([], [None])


@pytest.mark.parametrize("name", ["company", "title"])
def test_api_inbound_with_a_300_letter_company_or_title_is_taken(
    client: TestClient, runtime: Runtime, name: str
) -> None:
    key = {"X-Api-Key": create_api_key(runtime.db, "partner", runtime.clock)}
    body = {"person": {"email": "ref@partner.example", name: "y" * 300}}

    response = client.post("/api/inbounds", json=body, headers=key)

    assert response.status_code == 202, response.text
    (inbound,) = inbounds(runtime)
    contact = contact_of(runtime, inbound)
    stored = contact.company_name if name == "company" else contact.title
    assert stored == "y" * 255
    assert inbound.fields[f"{name}_as_typed"] == "y" * 300


def test_person_facts_fit_their_columns_and_lose_line_breaks() -> None:
    facts = PersonFacts(
        first_name="Ann\r\nBcc: x",
        last_name="L" * 500,
        company="Kiln\x07Works\x7f",
        title="CTO\tand\x1bfounder",
        phone="+1 415 555 0123 " * 10,
        employees=2**31,
        industry="i" * 121,
    )

    assert facts.first_name == "Ann  Bcc: x"
    assert facts.last_name == "L" * Contact.last_name.type.length
    assert facts.company == "Kiln Works "
    assert facts.title == "CTO and founder"
    assert facts.phone is None and facts.employees is None
    assert facts.industry == "i" * 120
    assert facts.as_typed == {
        "last_name": "L" * 500,
        "phone": "+1 415 555 0123 " * 10,
        "employees": str(2**31),
        "industry": "i" * 121,
    }
    assert PersonFacts(employees=2**31 - 1).employees == 2**31 - 1


# -- addresses no one can write to ----------------------------------------------


def test_an_address_longer_than_rfc_5321_allows_is_not_one() -> None:
    long_local = "a" * 65 + "@kiln.example"
    long_whole = "a" * 60 + "@" + "d" * 190 + ".example"

    assert normalise_email("a" * 64 + "@kiln.example") == "a" * 64 + "@kiln.example"
    assert normalise_email(long_local) is None
    assert normalise_email(long_whole) is None
    facts = PersonFacts(email="a" * 300 + "@kiln.example")
    assert facts.email is None and facts.as_typed["email"].startswith("aaa")


def test_generic_chat_with_no_usable_address_is_recorded_not_a_lead(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("generic_chat_message.json")
    payload["visitor"] = {"email": "not-an-email", "phone": "call me maybe"}
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/chat/generic", content=body, headers=generic_headers(body)
    )

    assert response.status_code == 200, response.text
    (not_lead,) = response.json()["not_leads"]
    assert "email and phone reach no one" in not_lead["reason"]
    assert (
        "the phone given ('call me maybe') is not a phone number"
        in (not_lead["reason"])
    )
    (inbound,) = inbounds(runtime)
    assert inbound.contact_id is None
    assert inbound.fields["email_as_typed"] == "not-an-email"
    assert inbound.fields["phone_as_typed"] == "call me maybe"
    assert _contacts(runtime) == []


def test_calcom_booking_with_no_attendee_is_recorded_not_a_lead(
    client: TestClient, runtime: Runtime
) -> None:
    payload: Any = json.loads(fixture_bytes("calcom_booking_created.json"))
    payload["payload"]["attendees"] = {"a": 1}
    payload["payload"].pop("responses", None)
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/calcom", content=body, headers=calcom_headers(body)
    )

    assert response.status_code == 200, response.text
    (not_lead,) = response.json()["not_leads"]
    assert "attendees" in not_lead["reason"]
    (inbound,) = inbounds(runtime)
    assert inbound.contact_id is None
    assert _contacts(runtime) == []
    with runtime.db.sessions() as session:
        assert session.scalar(select(Inbound.status)) == "recorded"
