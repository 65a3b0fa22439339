"""The workspace picks the wire: the local outbox by default, SMTP and Twilio
when it says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from firsttouch.channels.outbox import OutboxEmail, list_outbox
from firsttouch.channels.smtp import SmtpEmail
from firsttouch.channels.twilio import TwilioSms
from firsttouch.errors import ConfigError
from firsttouch.respond.alerts import email_channel
from firsttouch.respond.call_bridge import voice_channel
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.invites import invite_mailer
from firsttouch.respond.senders import build_senders, senders
from firsttouch.runtime import Runtime
from firsttouch.store.models import Touch
from tests.channels.fakes import SmtpSink
from tests.respond.conftest import add_lead


def test_the_embedded_default_keeps_mail_in_the_outbox(runtime: Runtime) -> None:
    inbound_id = add_lead(runtime, phone="+12125550100", fields={"route": "rep_now"})
    assert run_first_touch(runtime, inbound_id) == {"email": "sent", "sms": "sent"}
    with runtime.db.sessions() as session:
        rows = list_outbox(session, limit=10)
    assert sorted(r.channel for r in rows) == ["email", "sms"]
    email = next(r for r in rows if r.channel == "email")
    assert email.to_address == "ann@buyer.example"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in (email.raw or "")
    assert isinstance(build_senders(runtime).email, OutboxEmail)


def test_outbox_off_means_smtp_and_twilio_from_the_workspace(runtime: Runtime) -> None:
    channels = runtime.workspace.channels.model_copy(update={"outbox": False})
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})
    wires = build_senders(runtime)
    assert isinstance(wires.email, SmtpEmail) and wires.email.port == 1025
    assert isinstance(wires.sms, TwilioSms)
    assert wires.mailbox is not None and wires.mailbox.per_minute == 60
    assert wires.status_callback == "http://127.0.0.1:8000/respond/twilio/status"


def test_sending_for_real_without_smtp_is_a_clear_error(runtime: Runtime) -> None:
    channels = runtime.workspace.channels.model_copy(
        update={"outbox": False, "smtp": None}
    )
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})
    with pytest.raises(ConfigError, match="channels.smtp"):
        build_senders(runtime)


def test_an_unset_sms_secret_stops_texts_only(runtime: Runtime, sink: SmtpSink) -> None:
    env = {k: v for k, v in runtime.settings.env.items() if k != "TWILIO_AUTH_TOKEN"}
    runtime.settings = runtime.settings.with_overrides(env=env)
    smtp = runtime.workspace.channels.smtp
    assert smtp is not None
    channels = runtime.workspace.channels.model_copy(
        update={
            "outbox": False,
            "smtp": smtp.model_copy(update={"port": sink.port, "security": "none"}),
        }
    )
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})

    wires = build_senders(runtime)
    assert wires.sms is None and "TWILIO_AUTH_TOKEN" in (wires.sms_unavailable or "")

    inbound_id = add_lead(runtime, phone="+12125550100", fields={"route": "rep_now"})
    assert run_first_touch(runtime, inbound_id) == {"email": "sent", "sms": "failed"}
    assert [r.recipients for r in sink.received] == [["ann@buyer.example"]]
    with runtime.db.sessions() as session:
        sms = session.scalar(select(Touch).where(Touch.channel == "sms"))
    assert sms is not None and "TWILIO_AUTH_TOKEN" in (sms.error or "")


def test_each_channel_is_built_once_per_runtime(runtime: Runtime) -> None:
    channels = runtime.workspace.channels.model_copy(update={"outbox": False})
    runtime.workspace = runtime.workspace.model_copy(update={"channels": channels})
    for build in (senders, email_channel, voice_channel, invite_mailer):
        first = build(runtime)
        assert build(runtime) is first
    email = email_channel(runtime)
    # The CA certificates are loaded when TLS is first used, not when built.
    assert isinstance(email, SmtpEmail) and email._ssl_context is None
