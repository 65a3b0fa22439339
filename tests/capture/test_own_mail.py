"""Mail from the team's own addresses is recorded with its reason and never
answered, on every mail path: the SMTP listener, IMAP and provider webhooks."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.capture.own_mail import OWN_ADDRESS
from firsttouch.capture.providers.imap import ImapMailbox, poll_mailbox
from firsttouch.capture.smtp_listener import SmtpListener, start_smtp_listener
from firsttouch.config import Secret, Settings
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound, Job
from tests.capture.app_hooks_support import with_app_secrets
from tests.capture.imap_server import PASSWORD, USER, Folder, imap_server
from tests.capture.mail_webhook_support import MAIL_SECRETS, basic
from tests.capture.provider_support import fixture_json, inbounds
from tests.capture.test_smtp_listener import free_port

SENDER = "hello@northwindledger.example"
REP = "Maya Chen <Maya@NorthwindLedger.Example>"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def listener(runtime: Runtime) -> Iterator[SmtpListener]:
    running = start_smtp_listener(runtime, f"127.0.0.1:{free_port()}")
    yield running
    running.stop()


def _mail(sender: str, n: int = 1, body: str = "Checking the inbox works.") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "sales@northwindledger.example"
    msg["Subject"] = f"Test {n}"
    msg["Message-ID"] = f"<own-{n}@northwindledger.example>"
    msg.set_content(body)
    return msg.as_bytes()


def _send(listener: SmtpListener, raw: bytes) -> None:
    with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
        smtp.sendmail("x@northwindledger.example", ["sales@example.test"], raw)


def _first_touch_jobs(runtime: Runtime) -> list[Job]:
    with runtime.db.sessions() as session:
        query = select(Job).where(Job.kind == "respond.first_touch")
        return list(session.scalars(query))


def _assert_recorded_as_own(inbound: Inbound) -> None:
    assert inbound.status == "recorded"
    assert inbound.sla_state == "not_applicable"
    assert inbound.fields["not_a_lead"] == OWN_ADDRESS


@pytest.mark.parametrize("sender", [f"Northwind Ledger <{SENDER}>", REP])
def test_mail_over_smtp_from_our_sender_or_a_rep_is_not_a_lead(
    runtime: Runtime, listener: SmtpListener, sender: str
) -> None:
    _send(listener, _mail(sender))

    [inbound] = inbounds(runtime)
    _assert_recorded_as_own(inbound)
    assert _first_touch_jobs(runtime) == []


def test_a_buyer_forwarded_by_a_rep_over_smtp_is_still_a_lead(
    runtime: Runtime, listener: SmtpListener
) -> None:
    body = (
        "FYI, see below.\n\n---------- Forwarded message ---------\n"
        "From: Priya Raman <priya@fernhill-clinics.example>\n"
        "Subject: Demo\n\nCan we see a demo?\n"
    )
    _send(listener, _mail(REP, body=body))

    [inbound] = inbounds(runtime)
    assert inbound.status == "new"
    assert "not_a_lead" not in inbound.fields
    assert len(_first_touch_jobs(runtime)) == 1


def test_mail_polled_over_imap_from_a_rep_is_not_a_lead(runtime: Runtime) -> None:
    with imap_server(Folder(uid_validity=7)) as folder:
        folder.add(_mail(REP).replace(b"\n", b"\r\n"))
        box = ImapMailbox(
            host="127.0.0.1",
            port=folder.port,
            username=USER,
            password=Secret(PASSWORD),
            security="none",
            timeout=5,
        )
        poll_mailbox(runtime, box)

    [inbound] = inbounds(runtime)
    _assert_recorded_as_own(inbound)
    assert _first_touch_jobs(runtime) == []


def test_a_webhook_mail_from_our_sender_is_a_not_lead_in_the_answer(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("brevo_inbound.json")
    item = payload["items"][0]
    item["From"] = {"Name": "Northwind Ledger", "Address": SENDER.upper()}
    item["Headers"]["From"] = f"Northwind Ledger <{SENDER.upper()}>"

    response = client.post(
        "/capture/email/brevo",
        content=json.dumps(payload).encode(),
        headers=basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"]),
    )

    assert response.status_code == 200, response.text
    [inbound] = inbounds(runtime)
    _assert_recorded_as_own(inbound)
    assert response.json()["not_leads"] == [
        {"inbound_id": inbound.id, "reason": OWN_ADDRESS}
    ]
    assert _first_touch_jobs(runtime) == []
