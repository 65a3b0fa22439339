"""The leak score from firsttouch's own tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from firsttouch.clock import VirtualClock
from firsttouch.insights import leak_score_from_store
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import (
    Activity,
    Contact,
    Deal,
    Inbound,
    Qualification,
    Task,
    Touch,
)
from tests.conftest import T0


def seed(db: Database) -> None:
    """Four leads, a reply, touches, scores, a deal on a lead and one alone."""
    day, minute = timedelta(days=1), timedelta(minutes=1)
    with db.transaction() as session:
        c1, c2, c3, c4 = (Contact(first_name=n) for n in ("A", "B", "C", "D"))
        session.add_all([c1, c2, c3, c4])
        session.flush()

        def inbound(key: str, contact: Contact, at: object, **kw: object) -> Inbound:
            row = Inbound(dedupe_key=key, received_at=at, contact_id=contact.id, **kw)
            session.add(row)
            session.flush()
            return row

        l1 = inbound(
            "l1",
            c1,
            T0 - 3 * day,
            source="web",
            channel="form",
            owner_id="ann",
            first_touch_at=T0 - 3 * day + 2 * minute,
        )
        l2 = inbound("l2", c2, T0 - 2 * day, source="", channel="email")
        inbound(
            "l3", c3, T0 - 60 * minute, source="chat", channel="chat", owner_id="bob"
        )
        l4 = inbound("l4", c1, T0 - day, source="web", channel="form", owner_id="ann")
        inbound(
            "r1",
            c1,
            T0 - 2 * day + 60 * minute,
            source="web",
            channel="email",
            parent_id=l1.id,
            kind="reply",
        )
        for inbound_row, at in (
            (l1, T0 - 3 * day + 2 * minute),
            (l1, T0 - 2 * day),
            (l1, T0 - day),
            (l4, T0 - day + 30 * minute),
        ):
            session.add(
                Touch(
                    inbound_id=inbound_row.id,
                    contact_id=inbound_row.contact_id,
                    channel="email",
                    status="sent",
                    sent_at=at,
                )
            )
        for inbound_row, score, route in (
            (l1, 80, "rep_now"),
            (l2, 20, "disqualified"),
        ):
            session.add(
                Qualification(
                    inbound_id=inbound_row.id,
                    icp_version="v1",
                    score=score,
                    route=route,
                    brief="b",
                    brief_source="rules",
                )
            )
        session.add(
            Deal(
                contact_id=c1.id,
                name="d1",
                stage="proposal",
                value=5000,
                stage_changed_at=T0 - 40 * day,
            )
        )
        session.add(
            Deal(
                contact_id=c4.id,
                name="d2",
                stage="won",
                value=3000,
                stage_changed_at=T0 - 5 * day,
                closed_at=T0 - 5 * day,
            )
        )
        session.add(
            Activity(
                contact_id=c1.id,
                kind="call",
                summary="call",
                occurred_at=T0 - 2 * day,
                created_at=T0 - 2 * day + 120 * minute,
            )
        )
        session.add(Task(contact_id=c1.id, title="follow up", due_at=T0 + day))


def test_live_records_score_every_layer_with_known_answers(
    any_db: Database, clock: VirtualClock
) -> None:
    seed(any_db)
    with any_db.sessions() as session:
        report = leak_score_from_store(session, now=T0)

    parts = {p.key: p.metric for layer in report.layers for p in layer.parts}
    # Four first inbounds (the reply is not a lead); l2 has no source, no owner.
    assert (parts["no_source"], parts["no_owner"]) == (25.0, 25.0)
    # l3 is an hour old and untouched: waiting. l1 took 2 min, l4 30 min
    # (from its touch), l2 never.
    assert parts["median_response"] == 16.0
    assert parts["within_5"] == 33.3
    assert parts["never"] == 33.3
    # Owned and scored: l1 only. l2 was disqualified but never touched.
    assert parts["owned_and_scored"] == 25.0
    assert parts["time_on_disqualified"] == 0.0
    # l1 replied after its second touch; l4 is chased with one touch.
    assert parts["touches_median"] == 1.0
    rates = {f.key: f.value for f in report.charts.reply_rate_by_touch}
    # Touch 1 reached l1 and l4, neither answered it; touch 2 reached l1 only.
    assert (rates["reply_rate_touch_1"], rates["reply_rate_touch_2"]) == (0.0, 100.0)
    # d1 sits 40 days in its stage (fallback limit 30); d2 is won.
    assert parts["stuck_deals"] == 100.0
    assert parts["recent_activity"] == 100.0
    assert parts["log_lag"] == 2.0
    assert report.layers_scored == 5
    assert report.estimate.available


def test_dashboard_can_pass_a_runtime(runtime: Runtime) -> None:
    report = leak_score_from_store(runtime)
    assert report.records == 0
    assert report.biggest_leak is None
    assert report.no_leak_reason


def test_a_store_that_never_logged_an_activity_has_no_crm_data(
    db: Database, clock: VirtualClock
) -> None:
    # Leads, touches, no deals and no activity log at all: the CRM layer is
    # not writing yet, which is "no data", not "nothing logged on any lead".
    with db.transaction() as session:
        contact = Contact(first_name="E")
        session.add(contact)
        session.flush()
        session.add(
            Inbound(
                dedupe_key="e1",
                received_at=T0 - timedelta(hours=2),
                contact_id=contact.id,
                source="web",
                channel="form",
                owner_id="ann",
                first_touch_at=T0 - timedelta(hours=2),
            )
        )
    with db.sessions() as session:
        report = leak_score_from_store(session, now=T0)

    crm = report.layer("crm")
    assert crm.score is None
    assert crm.no_data_reason
    assert report.layer("respond").score is not None


def test_recorded_events_are_not_leads(db: Database, clock: VirtualClock) -> None:
    # An SMS STOP or a delivery status is stored by capture as "recorded",
    # with no owner: it must not count as a lead without an owner.
    with db.transaction() as session:
        session.add_all(
            [
                Inbound(
                    dedupe_key="lead",
                    received_at=T0 - timedelta(hours=1),
                    source="web",
                    channel="form",
                    owner_id="ann",
                    first_touch_at=T0 - timedelta(hours=1),
                ),
                Inbound(
                    dedupe_key="stop",
                    received_at=T0 - timedelta(minutes=5),
                    source="sms",
                    channel="sms",
                    kind="opt_out",
                    status="recorded",
                ),
            ]
        )
    with db.sessions() as session:
        report = leak_score_from_store(session, now=T0)

    parts = {p.key: p.metric for layer in report.layers for p in layer.parts}
    assert report.records == 1
    assert parts["no_owner"] == 0.0
