"""Consent end to end: STOP ends texting, quiet hours move a text to the
morning (across a DST change), and delivery callbacks update the touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.consent import is_opted_out
from firsttouch.respond.delivery import apply_status
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.handlers import handle_sms_keyword
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound, Job, Touch
from tests.channels.fakes import FakeTwilio
from tests.respond.conftest import add_lead, worker_for

PHONE = "+12125550100"


def _touch(runtime: Runtime, inbound_id: int) -> Touch:
    with runtime.db.sessions() as session:
        touch = session.scalar(select(Touch).where(Touch.inbound_id == inbound_id))
        assert touch is not None
        return touch


def test_a_stop_reply_ends_all_further_texts(
    live_any: Runtime, twilio: FakeTwilio
) -> None:
    first = add_lead(live_any, channel="sms", source="sms", email=None, phone=PHONE)
    run_first_touch(live_any, first)
    assert len(twilio.messages) == 1

    # Capture stores the keyword text as an inbound without a contact; the
    # sender is in Twilio's form body, kept verbatim.
    stop = add_lead(
        live_any,
        channel="sms",
        source="sms",
        email=None,
        phone=None,
        kind="opt_out",
        status="recorded",
        fields={"sms_keyword": "STOP", "consent": "opt_out"},
        raw="MessageSid=SMx&From=%2B12125550100&To=%2B14155550199&Body=STOP",
    )
    assert handle_sms_keyword(live_any, stop) == "opt_out"

    again = add_lead(live_any, channel="sms", source="sms", email=None, phone=PHONE)
    assert run_first_touch(live_any, again) == {"sms_reply": "blocked"}
    assert len(twilio.messages) == 1
    assert _touch(live_any, again).error == "opted_out"


def test_start_gives_consent_back(live: Runtime, twilio: FakeTwilio) -> None:
    for word, meaning in (("STOP", "opt_out"), ("START", "opt_in")):
        inbound = add_lead(
            live,
            channel="sms",
            email=None,
            phone=PHONE,
            kind="message",
            status="recorded",
            fields={"sms_keyword": word, "consent": meaning},
        )
        handle_sms_keyword(live, inbound)
    with live.db.sessions() as session:
        assert not is_opted_out(session, "sms", PHONE)


def test_help_is_answered(live: Runtime, twilio: FakeTwilio) -> None:
    inbound = add_lead(
        live,
        channel="sms",
        email=None,
        phone=PHONE,
        status="recorded",
        fields={"sms_keyword": "HELP", "consent": "help"},
    )
    assert handle_sms_keyword(live, inbound) == "help"
    assert "Reply STOP to opt out" in twilio.messages[0]["body"]


def test_a_text_due_at_2230_goes_at_0800_local_across_dst(
    live_any: Runtime, twilio: FakeTwilio
) -> None:
    # Saturday 7 March 2026, 22:30 in New York (EST). The clocks spring
    # forward that night, so 08:00 on Sunday is 12:00 UTC, not 13:00.
    live_any.clock.set(datetime(2026, 3, 8, 3, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone=PHONE
    )
    assert run_first_touch(live_any, inbound_id) == {"sms_reply": "deferred"}
    assert twilio.messages == []
    morning = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    with live_any.db.sessions() as session:
        due = session.scalar(select(Job.due_at).where(Job.kind == "respond.send_touch"))
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None and inbound.sla_state == "deferred_by_policy"
    assert due == morning

    worker = worker_for(live_any)
    live_any.clock.set(morning - timedelta(minutes=1))  # type: ignore[attr-defined]
    run_until_idle(worker)
    assert twilio.messages == []
    live_any.clock.set(morning)  # type: ignore[attr-defined]
    run_until_idle(worker)
    assert len(twilio.messages) == 1
    touch = _touch(live_any, inbound_id)
    assert touch.status == "queued" and touch.sent_at == morning
    with live_any.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None and inbound.first_touch_at == morning
        assert inbound.sla_state == "deferred_by_policy"


def test_delivery_callbacks_move_the_touch_forward_only(
    live_any: Runtime, twilio: FakeTwilio
) -> None:
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone=PHONE
    )
    run_first_touch(live_any, inbound_id)
    sid = twilio.messages[0]["sid"]
    now = live_any.clock.now()
    for status in ("sent", "delivered", "sent"):
        with live_any.db.transaction() as session:
            apply_status(session, sid, status, None, now)
    assert _touch(live_any, inbound_id).status == "delivered"


def test_undelivered_21610_records_the_code_and_opts_the_number_out(
    live_any: Runtime, twilio: FakeTwilio
) -> None:
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone=PHONE
    )
    run_first_touch(live_any, inbound_id)
    sid = twilio.messages[0]["sid"]
    with live_any.db.transaction() as session:
        apply_status(session, sid, "undelivered", "21610", live_any.clock.now())
    touch = _touch(live_any, inbound_id)
    assert (touch.status, touch.error_code) == ("undelivered", "21610")
    with live_any.db.sessions() as session:
        assert is_opted_out(session, "sms", PHONE)


def test_an_unsubscribe_reply_opts_the_email_out(live: Runtime) -> None:
    from firsttouch.respond.handlers import handle_unsubscribe_reply

    reply = add_lead(
        live,
        channel="email",
        kind="reply",
        status="reply",
        subject="Re: Thanks for reaching out",
        fields={},
    )
    with live.db.transaction() as session:
        inbound = session.get(Inbound, reply)
        assert inbound is not None
        inbound.body_text = "unsubscribe\n\n> Hi Ann,"
    assert handle_unsubscribe_reply(live, reply) == "opt_out"
    with live.db.sessions() as session:
        assert is_opted_out(session, "email", "ann@buyer.example")
