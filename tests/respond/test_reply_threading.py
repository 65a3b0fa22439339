"""A reply joins the buyer's thread: its References is the buyer's References
followed by the buyer's Message-ID (RFC 5322 section 3.6.4), whichever way
the buyer's mail came in."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.ingest import ingest
from firsttouch.capture.providers.postmark import parse_postmark
from firsttouch.capture.smtp_listener import start_smtp_listener
from firsttouch.jobs.queue import JobQueue
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound
from tests.channels.fakes import SmtpSink, free_port
from tests.respond.conftest import worker_for

BUYER = "Priya Raman <priya@fernhill-clinics.example>"
CHAIN = "<older-0@fernhill-clinics.example> <older-1@fernhill-clinics.example>"
PARENT = "<orig-123@fernhill-clinics.example>"


def _buyer_mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = BUYER
    msg["To"] = "sales@northwindledger.example"
    msg["Subject"] = "Re: Invoice automation for 12 clinics"
    msg["Message-ID"] = PARENT
    msg["In-Reply-To"] = "<older-1@fernhill-clinics.example>"
    msg["References"] = CHAIN
    msg.set_content("Following up: can we see a demo next week?")
    return msg


def _raw_mime() -> InboundEvent:
    # What the SMTP listener and the IMAP poller both parse.
    return email_to_event(bytes(_buyer_mail()), provider="imap", source="email")


def _postmark_json() -> InboundEvent:
    # A provider that posts the parts in JSON: the MIME is rebuilt from them.
    mail = _buyer_mail()
    payload = {
        "From": BUYER,
        "To": mail["To"],
        "Subject": mail["Subject"],
        "TextBody": "Following up: can we see a demo next week?",
        "MessageID": "5d7c1e44-0000-4f0e-9a55-0c2d9b8e7f61",
        "Headers": [
            {"Name": name, "Value": mail[name]}
            for name in ("Message-ID", "In-Reply-To", "References")
        ],
    }
    return parse_postmark(json.dumps(payload).encode())


def _reply_headers(sink: SmtpSink) -> tuple[str, str]:
    [received] = sink.received
    return received.message["In-Reply-To"], received.message["References"]


@pytest.mark.parametrize("parse", [_raw_mime, _postmark_json])
def test_a_captured_reply_answers_in_the_whole_thread(
    live: Runtime, sink: SmtpSink, parse: Callable[[], InboundEvent]
) -> None:
    inbound_id = ingest(live, parse()).inbound_id

    assert run_first_touch(live, inbound_id) == {"email_reply": "sent"}
    assert _reply_headers(sink) == (PARENT, f"{CHAIN} {PARENT}")


def test_mail_over_the_smtp_listener_is_answered_in_its_thread(
    live: Runtime, sink: SmtpSink
) -> None:
    listener = start_smtp_listener(live, "127.0.0.1", free_port())
    try:
        with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
            assert smtp.send_message(_buyer_mail()) == {}
    finally:
        listener.stop()

    # Only this layer's jobs run here: the others (qualify, CRM) go dead.
    run_until_idle(worker_for(live))
    assert _reply_headers(sink) == (PARENT, f"{CHAIN} {PARENT}")
    assert any(
        j.kind == "respond.first_touch" and j.state == "done"
        for j in JobQueue(live.db, live.clock).list()
    )


def test_a_mail_with_only_in_reply_to_is_answered_after_that_id(
    live: Runtime, sink: SmtpSink
) -> None:
    mail = _buyer_mail()
    del mail["References"]
    event = email_to_event(bytes(mail), provider="smtp", source="email")
    inbound_id = ingest(live, event).inbound_id
    with live.db.sessions() as session:
        inbound = session.scalar(select(Inbound).where(Inbound.id == inbound_id))
        assert inbound is not None and "references" not in inbound.fields

    run_first_touch(live, inbound_id)
    assert _reply_headers(sink) == (
        PARENT,
        f"<older-1@fernhill-clinics.example> {PARENT}",
    )
