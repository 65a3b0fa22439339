"""ingest: one durable inbound per event, with contact, owner and jobs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.ingest import ingest
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Job, RoutingDecision, Touch


@pytest.fixture
def rt(runtime: Runtime, any_db: Database) -> Runtime:
    """The test runtime on each engine in turn."""
    runtime.db = any_db
    return runtime


def form_event(key: str = "form:1", **person: object) -> InboundEvent:
    facts = {
        "email": "ada@lovelace-analytics.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        **person,
    }
    return InboundEvent(
        dedupe_key=key,
        channel="web_form",
        kind="form",
        source="website",
        provider="form",
        person=PersonFacts(**facts),
        body_text="Need a demo",
        utm={"utm_source": "google", "utm_campaign": "spring"},
        raw='{"a": 1}',
    )


def count(db: Database, model: type) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_lead_commits_inbound_contact_owner_and_jobs(rt: Runtime) -> None:
    result = ingest(rt, form_event())

    assert result.created_lead and not result.duplicate
    with rt.db.sessions() as session:
        inbound = session.get(Inbound, result.inbound_id)
        assert inbound is not None
        assert inbound.received_at == rt.clock.now()
        assert inbound.raw == '{"a": 1}'
        assert inbound.campaign == "spring"
        assert inbound.owner_id == result.owner_id == "hannah"
        assert inbound.first_touch_due_at == rt.clock.now() + timedelta(minutes=5)
        jobs = {j.idempotency_key: j for j in session.scalars(select(Job))}
        assert {
            f"qualify:{inbound.id}",
            f"first_touch:{inbound.id}",
            f"sla:{inbound.id}",
        } <= set(jobs)
        assert jobs[f"sla:{inbound.id}"].due_at == inbound.first_touch_due_at
        decision = session.scalar(select(RoutingDecision))
        assert decision is not None and decision.rule == "territory"


def test_same_dedupe_key_again_changes_nothing(rt: Runtime) -> None:
    first = ingest(rt, form_event())
    jobs_before = count(rt.db, Job)

    again = ingest(rt, form_event())

    assert again.duplicate and not again.created_lead
    assert again.inbound_id == first.inbound_id
    assert count(rt.db, Inbound) == 1
    assert count(rt.db, Job) == jobs_before


def test_reply_to_a_touch_attaches_to_its_inbound(rt: Runtime) -> None:
    first = ingest(rt, form_event())
    with rt.db.transaction() as session:
        session.add(
            Touch(
                inbound_id=first.inbound_id,
                contact_id=first.contact_id,
                channel="email",
                message_id="<touch-1@ft.example>",
            )
        )

    reply = InboundEvent(
        dedupe_key="email:reply-1",
        channel="email",
        kind="message",
        source="email",
        provider="smtp",
        person=PersonFacts(email="ada@lovelace-analytics.example"),
        in_reply_to="<touch-1@ft.example>",
    )
    result = ingest(rt, reply)

    assert not result.created_lead
    assert result.contact_id == first.contact_id
    with rt.db.sessions() as session:
        inbound = session.get(Inbound, result.inbound_id)
        assert inbound is not None and inbound.parent_id == first.inbound_id
    assert count(rt.db, Contact) == 1


@pytest.mark.postgres
def test_concurrent_duplicate_deliveries_store_one_inbound(
    runtime: Runtime, pg_db: Database
) -> None:
    runtime.db = pg_db
    results = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        results.append(ingest(runtime, form_event("meta:leadgen:42")))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2
    assert sorted(r.duplicate for r in results) == [False, True]
    assert len({r.inbound_id for r in results}) == 1
    assert count(pg_db, Inbound) == 1


def test_idle_lead_is_reassigned_and_recorded(rt: Runtime) -> None:
    from firsttouch.capture.handlers import reassign_if_idle

    first = ingest(rt, form_event(country="US", region="NY"))
    assert first.owner_id == "luis"
    rt.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]

    new_owner = reassign_if_idle(rt, first.inbound_id)

    assert new_owner not in (None, "luis")
    with rt.db.sessions() as session:
        decisions = list(
            session.scalars(select(RoutingDecision).order_by(RoutingDecision.id))
        )
        assert decisions[-1].rule == "reassigned"
        assert decisions[-1].previous_owner_id == "luis"
        inbound = session.get(Inbound, first.inbound_id)
        assert inbound is not None and inbound.owner_id == new_owner


@pytest.mark.postgres
def test_one_new_person_arriving_twice_at_once_is_one_contact(
    runtime: Runtime, pg_db: Database
) -> None:
    runtime.db = pg_db
    barrier = threading.Barrier(2)
    results = []

    def deliver(key: str) -> None:
        barrier.wait()
        results.append(ingest(runtime, form_event(key, email="twin@same-time.example")))

    threads = [threading.Thread(target=deliver, args=(f"k{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2 and not any(r.duplicate for r in results)
    assert results[0].contact_id == results[1].contact_id
    assert count(pg_db, Contact) == 1


def test_one_callers_transaction_sees_the_rows_each_lead_wrote(rt: Runtime) -> None:
    # The importer's case: many events, one transaction, one commit.
    with rt.db.transaction() as session:
        first = ingest(
            rt, form_event("t:1", email="ana@tidewater.example"), session=session
        )
        again = ingest(
            rt,
            form_event("t:2", email="ANA@tidewater.example", phone="+442079460018"),
            session=session,
        )
        colleague = ingest(
            rt,
            form_event("t:3", email="bo@tidewater.example", first_name="Bo"),
            session=session,
        )

    assert again.contact_id == first.contact_id != colleague.contact_id
    assert first.owner_id == again.owner_id == colleague.owner_id
    assert count(rt.db, Contact) == 2
    with rt.db.sessions() as session:
        ana = session.get(Contact, first.contact_id)
        bo = session.get(Contact, colleague.contact_id)
        assert ana is not None and bo is not None
        assert ana.phone_e164 == "+442079460018"  # filled in by the second lead
        assert ana.company_id == bo.company_id is not None
        rules = list(
            session.scalars(select(RoutingDecision.rule).order_by(RoutingDecision.id))
        )
    assert rules == ["territory", "existing_owner", "existing_owner"]


@pytest.mark.postgres
def test_losing_a_race_inside_a_callers_transaction_is_a_duplicate(
    runtime: Runtime, pg_db: Database
) -> None:
    runtime.db = pg_db
    inserted = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with pg_db.transaction() as session:
            outcome["first"] = ingest(runtime, form_event("race:1"), session=session)
            inserted.set()
            time.sleep(0.3)  # hold the row uncommitted while the second arrives

    def second() -> None:
        inserted.wait(10)
        with pg_db.transaction() as session:
            outcome["second"] = ingest(runtime, form_event("race:1"), session=session)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome["second"].duplicate  # type: ignore[attr-defined]
    assert count(pg_db, Inbound) == 1


def test_a_colleague_from_the_same_company_reaches_the_same_rep(rt: Runtime) -> None:
    first = ingest(rt, form_event("c:1", email="ana@quayside.example", country="US"))
    colleague = ingest(
        rt,
        form_event(
            "c:2",
            email="bo@quayside.example",
            first_name="Bo",
            last_name="Lund",
            country="US",
        ),
    )

    assert colleague.contact_id != first.contact_id
    assert colleague.owner_id == first.owner_id
    with rt.db.sessions() as session:
        decision = session.scalar(
            select(RoutingDecision).where(
                RoutingDecision.inbound_id == colleague.inbound_id
            )
        )
        assert decision is not None and decision.rule == "existing_owner"


def test_idle_lead_at_night_stays_put_and_is_checked_again(rt: Runtime) -> None:
    from firsttouch.capture.handlers import reassign_if_idle

    rt.clock.set(datetime(2026, 3, 8, 3, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    lead = ingest(rt, form_event("night:1", country="US"))
    rt.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]

    assert reassign_if_idle(rt, lead.inbound_id) is None

    with rt.db.sessions() as session:
        inbound = session.get(Inbound, lead.inbound_id)
        assert inbound is not None and inbound.owner_id == lead.owner_id
        keys = set(session.scalars(select(Job.idempotency_key)))
    assert f"reassign:{lead.inbound_id}:2" in keys


def test_the_night_check_comes_back_when_the_next_shift_starts(rt: Runtime) -> None:
    from firsttouch.capture.handlers import reassign_if_idle

    # Sunday 03:00 UTC: nobody works until Hannah starts in London on Monday
    # at 08:30 (GMT), so one check waits for her, not 60 half-hourly ones.
    rt.clock.set(datetime(2026, 3, 8, 3, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    lead = ingest(rt, form_event("night:2", country="US"))
    rt.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]

    assert reassign_if_idle(rt, lead.inbound_id) is None

    with rt.db.sessions() as session:
        due = session.scalar(
            select(Job.due_at).where(
                Job.idempotency_key == f"reassign:{lead.inbound_id}:2"
            )
        )
    assert due is not None
    assert due.replace(tzinfo=UTC) == datetime(2026, 3, 9, 8, 30, tzinfo=UTC)


def test_a_lead_routed_to_nurture_is_not_chased_by_reassignment(rt: Runtime) -> None:
    from firsttouch.capture.handlers import reassign_if_idle
    from firsttouch.store.models import Qualification

    lead = ingest(rt, form_event("nurtured:1", country="US", region="NY"))
    with rt.db.transaction() as session:
        session.add(
            Qualification(
                inbound_id=lead.inbound_id,
                contact_id=lead.contact_id,
                icp_version="test",
                score=20,
                route="nurture",
                intent=0,
                reasons={},
                brief="A nurture lead.",
                brief_source="rules",
                facts={},
                sources=[],
                created_at=rt.clock.now(),
            )
        )
    rt.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]

    assert reassign_if_idle(rt, lead.inbound_id) is None
    with rt.db.sessions() as session:
        keys = set(session.scalars(select(Job.idempotency_key)))
        owner = session.get(Inbound, lead.inbound_id).owner_id  # type: ignore[union-attr]
    assert f"reassign:{lead.inbound_id}:2" not in keys
    assert owner == lead.owner_id


def test_a_person_is_due_an_hour_into_the_owners_working_time(rt: Runtime) -> None:
    # Saturday 03:00 UTC: nobody works, the on-call rep owns the lead, and
    # their hour of follow-up time is counted from their next shift.
    rt.clock.set(datetime(2026, 3, 14, 3, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    lead = ingest(rt, form_event("friday:1", country="US", region="NY"))
    with rt.db.sessions() as session:
        inbound = session.get(Inbound, lead.inbound_id)
        assert inbound is not None and inbound.owner_id
        rep = rt.workspace.team.rep(inbound.owner_id)
        assert rep is not None
        due = inbound.human_due_at
    assert due is not None
    assert due.replace(tzinfo=UTC) == rep.after_working_minutes(
        datetime(2026, 3, 14, 3, 0, tzinfo=UTC), 60
    )
    assert due.replace(tzinfo=UTC) >= datetime(2026, 3, 16, tzinfo=UTC)


def test_a_stop_from_a_known_number_lands_on_that_buyers_timeline(rt: Runtime) -> None:
    lead = ingest(rt, form_event("sms-lead", phone="+14155550123", country="US"))
    stop = ingest(
        rt,
        InboundEvent(
            dedupe_key="twilio:SMstop",
            channel="sms",
            kind="opt_out",
            source="sms",
            provider="twilio",
            person=PersonFacts(phone="+14155550123"),
            body_text="STOP",
            fields={"sms_keyword": "stop"},
            creates_lead=False,
        ),
    )
    stranger = ingest(
        rt,
        InboundEvent(
            dedupe_key="twilio:SMstop2",
            channel="sms",
            kind="opt_out",
            source="sms",
            provider="twilio",
            person=PersonFacts(phone="+14155550999"),
            body_text="STOP",
            fields={"sms_keyword": "stop"},
            creates_lead=False,
        ),
    )
    assert not stop.created_lead and stop.contact_id == lead.contact_id
    assert stranger.contact_id is None
    assert count(rt.db, Contact) == 1
