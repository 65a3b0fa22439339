"""The first touch end to end: lead rows in, a message out through a real wire,
a touch recorded, the inbound marked answered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from firsttouch.channels.sms_segments import measure_sms
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound, Job, Touch
from tests.channels.fakes import FakeTwilio, SmtpSink
from tests.respond.conftest import add_lead, queue_first_touch, worker_for


def _touches(runtime: Runtime, inbound_id: int) -> list[Touch]:
    with runtime.db.sessions() as session:
        return list(
            session.scalars(
                select(Touch).where(Touch.inbound_id == inbound_id).order_by(Touch.id)
            )
        )


def test_a_web_lead_gets_a_personal_email_from_its_owner(
    live_any: Runtime, sink: SmtpSink
) -> None:
    inbound_id = add_lead(live_any)
    queue_first_touch(live_any, inbound_id)
    run_until_idle(worker_for(live_any))

    [mail] = [r.message for r in sink.received]
    assert sink.received[0].recipients == ["ann@buyer.example"]
    assert mail["To"] == "Ann <ann@buyer.example>"
    assert (
        mail["From"] == '"Maya Chen (Northwind Ledger)" <hello@northwindledger.example>'
    )
    assert mail["Reply-To"] == "maya@northwindledger.example"
    text = sink.received[0].text()
    assert text.startswith("Hi Ann,")
    assert "I'm Maya Chen, and I look after Acme Books" in text
    assert "/book/" in text
    assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    [touch] = _touches(live_any, inbound_id)
    assert touch.status == "sent"
    assert touch.message_id == mail["Message-ID"]
    with live_any.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None
        assert inbound.first_touch_at == live_any.clock.now()
        assert inbound.sla_state == "met"


def test_a_lead_changed_while_its_message_was_written_gets_one_written_anew(
    live: Runtime, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message is written before the staging transaction; a correction
    committed in between (the contact's name here) is not sent stale."""
    from firsttouch.respond import first_touch
    from firsttouch.store.models import Contact

    inbound_id = add_lead(live, first_name="Anne-Marie")
    real = first_touch.load_lead
    reads = []

    def load_lead(session: object, wanted: int) -> object:
        lead = real(session, wanted)  # type: ignore[arg-type]
        reads.append(lead)
        if len(reads) == 1:
            # Someone corrects the name between the read and the transaction.
            with live.db.transaction() as writing:
                inbound = writing.get(Inbound, wanted)
                assert inbound is not None
                contact = writing.get(Contact, inbound.contact_id)
                assert contact is not None
                contact.first_name = "Annie"
        return lead

    monkeypatch.setattr(first_touch, "load_lead", load_lead)
    assert run_first_touch(live, inbound_id) == {"email": "sent"}

    assert len(reads) == 2
    assert sink.received[0].text().startswith("Hi Annie,")
    [touch] = _touches(live, inbound_id)
    assert touch.body is not None and touch.body.startswith("Hi Annie,")


def test_an_email_is_answered_in_its_own_thread(live: Runtime, sink: SmtpSink) -> None:
    inbound_id = add_lead(
        live,
        channel="email",
        source="inbox",
        subject="Pricing for 40 users",
        message_id="q1@buyer.example",
        fields={"references": ["<q0@buyer.example>"]},
    )
    assert run_first_touch(live, inbound_id) == {"email_reply": "sent"}
    mail = sink.received[0].message
    assert mail["Subject"] == "Re: Pricing for 40 users"
    assert mail["In-Reply-To"] == "<q1@buyer.example>"
    assert mail["References"] == "<q0@buyer.example> <q1@buyer.example>"
    assert "about Pricing for 40 users" in sink.received[0].text()


def test_no_first_name_means_hi_there(live: Runtime, sink: SmtpSink) -> None:
    inbound_id = add_lead(live, first_name=None)
    run_first_touch(live, inbound_id)
    text = sink.received[0].text()
    assert text.startswith("Hi there,")


def test_an_sms_is_answered_by_text_through_twilio(
    live_any: Runtime, twilio: FakeTwilio
) -> None:
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone="+12125550100"
    )
    assert run_first_touch(live_any, inbound_id) == {"sms_reply": "queued"}
    [sent] = twilio.messages
    assert sent["to"] == "+12125550100"
    assert sent["body"].startswith("Hi Ann, it's Maya from Northwind Ledger.")
    [touch] = _touches(live_any, inbound_id)
    assert touch.provider_id == sent["sid"]
    # The signed booking link makes this text run to two GSM-7 parts.
    assert touch.segments == measure_sms(sent["body"]).segments == 2


def test_running_the_job_twice_sends_once(live: Runtime, sink: SmtpSink) -> None:
    inbound_id = add_lead(live)
    run_first_touch(live, inbound_id)
    assert run_first_touch(live, inbound_id) == {"email": "sent"}
    assert len(sink.received) == 1


def test_a_hot_lead_gets_email_text_and_a_call_bridge_job(
    live: Runtime, sink: SmtpSink, twilio: FakeTwilio
) -> None:
    inbound_id = add_lead(live, phone="+12125550100", fields={"route": "rep_now"})
    statuses = run_first_touch(live, inbound_id)
    assert statuses == {"email": "sent", "sms": "queued"}
    assert len(sink.received) == 1 and len(twilio.messages) == 1
    with live.db.sessions() as session:
        kinds = set(session.scalars(select(Job.kind)))
    assert "respond.call_bridge" in kinds


def test_a_mail_server_down_does_not_hold_back_the_text(
    live: Runtime,
    sink: SmtpSink,
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from firsttouch.errors import DeliveryError
    from firsttouch.respond.senders import SERVICE

    inbound_id = add_lead(live, phone="+12125550100", fields={"route": "rep_now"})
    email = live.services[SERVICE].email
    working = email.send

    def unreachable(*args: object, **kwargs: object) -> None:
        raise DeliveryError("cannot reach the mail server", permanent=False)

    monkeypatch.setattr(email, "send", unreachable)
    with pytest.raises(DeliveryError, match="cannot reach"):
        run_first_touch(live, inbound_id)
    assert len(twilio.messages) == 1 and sink.received == []

    # The retry sends the email only; the text left already.
    monkeypatch.setattr(email, "send", working)
    assert run_first_touch(live, inbound_id) == {"email": "sent", "sms": "queued"}
    assert len(twilio.messages) == 1 and len(sink.received) == 1


def test_a_template_without_fallback_sends_nothing_and_says_why(
    live: Runtime, sink: SmtpSink
) -> None:
    templates = dict(live.workspace.templates)
    templates["first_touch_email"] = "Dear {{ contact.title }}, hello"
    live.workspace = live.workspace.model_copy(update={"templates": templates})
    inbound_id = add_lead(live)
    assert run_first_touch(live, inbound_id) == {"email": "blocked"}
    assert sink.received == []
    [touch] = _touches(live, inbound_id)
    assert "broken merge near 'Dear ,'" in (touch.error or "")


def test_a_lead_with_no_address_is_blocked_with_the_reason(live: Runtime) -> None:
    inbound_id = add_lead(live, email=None, phone=None)
    assert run_first_touch(live, inbound_id) == {"email": "blocked"}
    [touch] = _touches(live, inbound_id)
    assert touch.error == "no_email_address"


def test_a_lead_no_policy_can_answer_is_marked_no_channel(live: Runtime) -> None:
    inbound_id = add_lead(live, channel="referral", email=None, phone=None)
    assert run_first_touch(live, inbound_id) == {}
    with live.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None and inbound.sla_state == "no_channel"


def test_a_missed_call_from_a_mobile_gets_one_text_back(
    live: Runtime, twilio: FakeTwilio
) -> None:
    first = add_lead(
        live,
        channel="call",
        source="phone",
        kind="missed_call",
        email=None,
        phone="+12125550123",
    )
    assert run_first_touch(live, first) == {"sms_textback": "queued"}
    assert "Sorry we missed your call" in twilio.messages[0]["body"]

    # Calling again within the day gets no second text.
    again = add_lead(
        live,
        channel="call",
        source="phone",
        kind="missed_call",
        email=None,
        phone="+12125550123",
    )
    assert run_first_touch(live, again) == {"sms_textback": "blocked"}
    assert len(twilio.messages) == 1


def test_follow_up_mail_carries_the_postal_address_and_an_opt_out(
    live: Runtime, sink: SmtpSink
) -> None:
    from firsttouch.respond.context import read_lead
    from firsttouch.respond.first_touch import compose
    from firsttouch.respond.policies import PlannedTouch
    from firsttouch.respond.touches import deliver_touch, stage_touch
    from firsttouch.store.models import Contact

    inbound_id = add_lead(live)
    now = live.clock.now()
    with live.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None
        lead = read_lead(inbound, session.get(Contact, inbound.contact_id))
        step = PlannedTouch("email", "followup_1", 0, "fast track")
        draft = compose(live, lead, step, "followup:1", now, purpose="followup")
        stage_touch(session, draft, now)
    assert deliver_touch(live, "followup:1") == "sent"
    text = sink.received[0].text()
    assert "500 Market Street, Suite 900, San Francisco" in text
    assert "No more emails from us: http://127.0.0.1:8000/u/" in text
    with live.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None and inbound.first_touch_at is None


def test_a_first_touch_after_its_due_time_is_late_and_on_it_is_met(
    live_any: Runtime, sink: SmtpSink
) -> None:
    now = live_any.clock.now()
    late_id = add_lead(live_any, email="late@buyer.example")
    on_time_id = add_lead(live_any, email="on.time@buyer.example")
    with live_any.db.transaction() as session:
        for inbound_id, due in (
            (late_id, now - timedelta(microseconds=1)),
            (on_time_id, now),
        ):
            inbound = session.get(Inbound, inbound_id)
            assert inbound is not None
            inbound.first_touch_due_at = due

    assert run_first_touch(live_any, late_id) == {"email": "sent"}
    assert run_first_touch(live_any, on_time_id) == {"email": "sent"}
    # A second run finds the touch settled and leaves the inbound alone.
    live_any.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    assert run_first_touch(live_any, late_id) == {"email": "sent"}

    with live_any.db.sessions() as session:
        late = session.get(Inbound, late_id)
        on_time = session.get(Inbound, on_time_id)
        assert late is not None and on_time is not None
        assert (late.sla_state, late.first_touch_at) == ("late", now)
        assert (on_time.sla_state, on_time.first_touch_at) == ("met", now)
    assert len(sink.received) == 2


def test_a_lead_read_in_one_query_equals_the_lead_of_its_rows(
    live_any: Runtime,
) -> None:
    from firsttouch.respond.context import load_lead, read_lead
    from firsttouch.store.models import Contact

    with_contact = add_lead(
        live_any, phone="+12125550100", fields={"route": "rep_now"}, timezone=None
    )
    with live_any.db.transaction() as session:
        inbound = session.get(Inbound, with_contact)
        assert inbound is not None
        contact = session.get(Contact, inbound.contact_id)
        assert contact is not None
        contact.attributes = {"route": "nurture"}
        orphan = Inbound(
            dedupe_key="test:orphan",
            received_at=live_any.clock.now(),
            channel="web_form",
            source="website",
            fields={"timezone": "Europe/London"},
        )
        session.add(orphan)
        session.flush()
        orphan_id = orphan.id

    with live_any.db.sessions() as session:
        inbound = session.get(Inbound, with_contact)
        assert inbound is not None
        rows = read_lead(inbound, session.get(Contact, inbound.contact_id))
        loaded = load_lead(session, with_contact)
        assert loaded is not None and loaded == rows
        assert loaded.email == "ann@buyer.example" and loaded.route == "rep_now"
        assert loaded.phone == "+12125550100" and loaded.company == "Acme Books"

        lone = load_lead(session, orphan_id)
        orphan_row = session.get(Inbound, orphan_id)
        assert orphan_row is not None and lone is not None
        assert lone == read_lead(orphan_row, None)
        assert lone.contact_id is None and lone.email is None
        assert lone.timezone == "Europe/London"
        assert load_lead(session, orphan_id + 1000) is None


def test_a_first_email_costs_two_commits_within_its_statement_budget(
    live_any: Runtime, sink: SmtpSink
) -> None:
    run_first_touch(live_any, add_lead(live_any, email="warm@up.example"))
    inbound_id = add_lead(live_any)
    statements: list[str] = []
    commits: list[object] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def committed(conn: object) -> None:
        commits.append(conn)

    engine = live_any.db.engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        assert run_first_touch(live_any, inbound_id) == {"email": "sent"}
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)

    # One commit stages the touch, spends the mailbox allowance and opens the
    # ledger entry before the send; one records the 250 and closes the entry.
    assert len(commits) == 2
    # The lead (read to write the message before the transaction, and again
    # in it); the contact locked (PostgreSQL) and its earlier intro looked
    # for; an earlier staging of this touch; the gate (opt-out, recent
    # touches, the mailbox allowance spent); the touch; the ledger; the
    # touch and its inbound marked sent with the ledger entry done.
    budget = 12 if live_any.db.is_sqlite else 13
    assert len(statements) <= budget, "\n".join(statements)
    assert len(sink.received) == 2
