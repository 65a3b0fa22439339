"""The consent gate: opt-outs by address, quiet hours, caps and mailbox limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from firsttouch.respond.consent import (
    Allowed,
    Blocked,
    Deferred,
    MailboxLimits,
    check_send,
    is_opted_out,
    record_opt_in,
    record_opt_out,
    sms_keyword,
)
from firsttouch.respond.quiet_hours import Recipient, place_recipient
from firsttouch.store.db import Database
from firsttouch.store.models import ConsentEvent, Contact, SendCounter, Touch
from firsttouch.workspace.respond import Limits

NOON_NY = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def test_stop_words_start_words_and_help_are_recognised() -> None:
    assert sms_keyword(" stop ") == "stop"
    assert sms_keyword("Unsubscribe.") == "stop"
    assert sms_keyword("UNSTOP") == "start"
    assert sms_keyword("help") == "help"
    assert sms_keyword("stop calling me at work") is None


def test_an_opt_out_outlives_its_contact_and_blocks_calls_too(any_db: Database) -> None:
    with any_db.transaction() as session:
        record_opt_out(
            session, "sms", "(212) 555-0100", source="sms_keyword", now=NOON_NY
        )
    with any_db.transaction() as session:
        assert is_opted_out(session, "sms", "+12125550100")
        assert is_opted_out(session, "call", "+1 212 555 0100")
        decision = check_send(
            session,
            channel="sms",
            address="+12125550100",
            contact_id=None,
            now=NOON_NY,
            limits=Limits(),
        )
        assert decision == Blocked("opted_out")


def test_consent_comes_back_only_by_a_recorded_act(any_db: Database) -> None:
    with any_db.transaction() as session:
        record_opt_out(
            session, "email", "Ann@Example.com", source="unsubscribe_link", now=NOON_NY
        )
    with any_db.transaction() as session:
        record_opt_in(
            session,
            "email",
            "ann@example.com",
            source="web_form",
            form="demo-request",
            now=NOON_NY + timedelta(days=1),
        )
    with any_db.transaction() as session:
        assert not is_opted_out(session, "email", "ann@example.com")
        actions = [
            e.action for e in session.query(ConsentEvent).order_by(ConsentEvent.id)
        ]
        assert actions == ["opt_out", "opt_in"]


def test_sms_at_night_is_deferred_to_the_morning(any_db: Database) -> None:
    placement = place_recipient(Recipient(phone_e164="+12125550100"), "UTC")
    night = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # 23:00 in New York
    with any_db.transaction() as session:
        decision = check_send(
            session,
            channel="sms",
            address="+12125550100",
            contact_id=None,
            now=night,
            limits=Limits(),
            placement=placement,
        )
    assert isinstance(decision, Deferred)
    assert decision.until == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    assert decision.reason.startswith("quiet_hours")


def test_email_goes_at_any_hour(any_db: Database) -> None:
    night = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
    with any_db.transaction() as session:
        decision = check_send(
            session,
            channel="email",
            address="a@b.example",
            contact_id=None,
            now=night,
            limits=Limits(),
        )
    assert decision == Allowed()


def test_per_contact_cap_defers_the_next_touch(any_db: Database) -> None:
    with any_db.transaction() as session:
        contact = Contact(email="a@b.example", created_at=NOON_NY)
        session.add(contact)
        session.flush()
        for minutes in range(2):
            session.add(
                Touch(
                    contact_id=contact.id,
                    channel="email",
                    status="sent",
                    created_at=NOON_NY + timedelta(minutes=minutes),
                )
            )
        contact_id = contact.id
    with any_db.transaction() as session:
        decision = check_send(
            session,
            channel="email",
            address="a@b.example",
            contact_id=contact_id,
            now=NOON_NY + timedelta(hours=1),
            limits=Limits(touches_per_contact=2, window_hours=24),
        )
    assert decision == Deferred(NOON_NY + timedelta(hours=24), "contact_frequency_cap")


def test_florida_allows_three_attempts_in_24_hours(any_db: Database) -> None:
    placement = place_recipient(Recipient(phone_e164="+13055550100"), "UTC")
    with any_db.transaction() as session:
        contact = Contact(phone_e164="+13055550100", created_at=NOON_NY)
        session.add(contact)
        session.flush()
        for hour in range(3):
            session.add(
                Touch(
                    contact_id=contact.id,
                    channel="sms",
                    status="delivered",
                    created_at=NOON_NY + timedelta(hours=hour),
                )
            )
        contact_id = contact.id
    with any_db.transaction() as session:
        decision = check_send(
            session,
            channel="sms",
            address="+13055550100",
            contact_id=contact_id,
            now=NOON_NY + timedelta(hours=3),
            limits=Limits(touches_per_contact=10),
            placement=placement,
        )
    assert isinstance(decision, Deferred)
    assert decision.reason.startswith("attempt_cap")
    assert decision.until >= NOON_NY + timedelta(hours=24)


def test_mailbox_minute_limit_spends_in_the_callers_transaction(
    any_db: Database,
) -> None:
    mailbox = MailboxLimits("hello@nw.example", per_minute=2, per_day=100)
    decisions = []
    for n in range(3):
        with any_db.transaction() as session:
            decisions.append(
                check_send(
                    session,
                    channel="email",
                    address=f"p{n}@b.example",
                    contact_id=None,
                    now=NOON_NY,
                    limits=Limits(),
                    mailbox=mailbox,
                )
            )
    assert decisions[:2] == [Allowed(), Allowed()]
    assert decisions[2] == Deferred(
        NOON_NY + timedelta(minutes=1), "mailbox_minute_limit"
    )


def test_a_send_held_back_by_one_limit_spends_neither_allowance(
    any_db: Database,
) -> None:
    mailbox = MailboxLimits("hello@nw.example", per_minute=10, per_day=2)

    def ask(n: int, now: datetime) -> object:
        with any_db.transaction() as session:
            return check_send(
                session,
                channel="email",
                address=f"p{n}@b.example",
                contact_id=None,
                now=now,
                limits=Limits(),
                mailbox=mailbox,
            )

    assert [ask(0, NOON_NY), ask(1, NOON_NY)] == [Allowed(), Allowed()]
    later = NOON_NY + timedelta(minutes=5)
    assert ask(2, later) == Deferred(
        datetime(2026, 3, 11, tzinfo=UTC), "mailbox_daily_limit"
    )
    with any_db.sessions() as session:
        rows = session.execute(select(SendCounter.bucket, SendCounter.count)).all()
    # The day's two sends; the later minute was given back what it spent.
    assert dict(rows) == {
        "d:2026-03-10": 2,
        "m:2026-03-10T16:00": 2,
        "m:2026-03-10T16:05": 0,
    }


def test_no_address_is_blocked_with_a_reason(db: Database) -> None:
    with db.transaction() as session:
        decision = check_send(
            session,
            channel="sms",
            address=None,
            contact_id=None,
            now=NOON_NY,
            limits=Limits(),
        )
    assert decision == Blocked("no_phone_address")


def test_a_reply_that_plainly_asks_to_unsubscribe_is_recognised() -> None:
    from firsttouch.respond.consent import is_unsubscribe_reply

    assert is_unsubscribe_reply("unsubscribe", "")
    assert is_unsubscribe_reply("Re: Pricing", "Remove me.\n\n> Hi Ann, ...")
    assert is_unsubscribe_reply("Re: Pricing", "STOP")
    assert not is_unsubscribe_reply("Re: Pricing", "Please don't stop, send pricing")
    assert not is_unsubscribe_reply("How do I unsubscribe my team from Bill.com?", "")


def test_the_gate_sees_what_its_own_transaction_has_not_flushed(
    any_db: Database,
) -> None:
    # The same session records an opt-out and counts a touch it has only
    # added: the gate answers as if both were already in the database.
    with any_db.transaction() as session:
        contact = Contact(email="ann@example.com", created_at=NOON_NY)
        session.add(contact)
        session.flush()
        record_opt_out(
            session, "email", "ann@example.com", source="unsubscribe_link", now=NOON_NY
        )
        opted_out = check_send(
            session,
            channel="email",
            address="ann@example.com",
            contact_id=contact.id,
            now=NOON_NY,
            limits=Limits(),
        )
        session.add(
            Touch(
                contact_id=contact.id,
                channel="sms",
                status="sending",
                created_at=NOON_NY,
            )
        )
        capped = check_send(
            session,
            channel="email",
            address="other@example.com",
            contact_id=contact.id,
            now=NOON_NY,
            limits=Limits(touches_per_contact=1),
        )
    assert opted_out == Blocked("opted_out")
    assert capped == Deferred(NOON_NY + timedelta(hours=24), "contact_frequency_cap")
