"""The local outbox keeps each message once and lists the newest first."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_string

from firsttouch.channels.messages import EmailMessage, SmsMessage
from firsttouch.channels.outbox import OutboxEmail, OutboxSms, list_outbox
from firsttouch.clock import VirtualClock
from firsttouch.store.db import Database


def _email(n: int) -> EmailMessage:
    return EmailMessage(
        to=f"p{n}@buyer.example",
        from_address="hello@nw.example",
        subject=f"Hello {n}",
        text="Hi there,\n\nThanks.",
        html="<p>Hi there,</p>",
        message_id=f"<m{n}@nw.example>",
        headers={"List-Unsubscribe": "<https://ft.example/u/x>"},
    )


def test_an_email_is_kept_once_with_its_mime_source(
    any_db: Database, clock: VirtualClock
) -> None:
    outbox = OutboxEmail(any_db, clock)
    outbox.send(_email(1))
    outbox.send(_email(1))
    clock.advance(timedelta(seconds=1))
    OutboxSms(any_db, clock).send(SmsMessage(to="+12125550100", body="Hi", key="k1"))

    with any_db.sessions() as session:
        rows = list_outbox(session, limit=10)
    assert [r.channel for r in rows] == ["sms", "email"]
    mime = message_from_string(rows[1].raw or "")
    assert mime["Message-ID"] == "<m1@nw.example>"
    assert mime["List-Unsubscribe"] == "<https://ft.example/u/x>"
    assert outbox.lookup(_email(1)) is not None
    assert outbox.lookup(_email(2)) is None
