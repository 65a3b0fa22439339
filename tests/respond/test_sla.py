"""The first-touch SLA check: met, deferred by policy, or breached and escalated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.sla import check_first_touch_sla, escalate_to_manager
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound, Job, SlaEvent
from tests.respond.conftest import add_lead


def _jobs(runtime: Runtime) -> list[tuple[str, dict[str, object]]]:
    with runtime.db.sessions() as session:
        return [
            (j.kind, j.payload) for j in session.scalars(select(Job).order_by(Job.id))
        ]


def _events(runtime: Runtime, inbound_id: int) -> list[str]:
    with runtime.db.sessions() as session:
        return list(
            session.scalars(
                select(SlaEvent.state)
                .where(SlaEvent.inbound_id == inbound_id)
                .order_by(SlaEvent.id)
            )
        )


def test_a_first_touch_in_time_is_met_and_alerts_nobody(live_any: Runtime) -> None:
    inbound_id = add_lead(live_any)
    run_first_touch(live_any, inbound_id)
    live_any.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert check_first_touch_sla(live_any, inbound_id) == "met"
    assert _events(live_any, inbound_id) == ["met"]
    assert not [k for k, _ in _jobs(live_any) if k == "respond.alert_owner"]


def test_no_first_touch_is_a_breach_that_alerts_owner_then_manager(
    live_any: Runtime,
) -> None:
    inbound_id = add_lead(live_any, email=None)  # a web lead with no address
    run_first_touch(live_any, inbound_id)
    live_any.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]

    assert check_first_touch_sla(live_any, inbound_id) == "breached"
    assert check_first_touch_sla(live_any, inbound_id) == "breached"  # once only
    alerts = [p for k, p in _jobs(live_any) if k == "respond.alert_owner"]
    assert alerts == [
        {
            "inbound_id": inbound_id,
            "reason": "sla_breach",
            "audience": "owner",
            "detail": "email: blocked (no_email_address)",
        }
    ]
    with live_any.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None and inbound.sla_state == "breached"
        escalation = session.scalar(
            select(Job).where(Job.kind == "respond.sla_escalate")
        )
        assert escalation is not None
        assert escalation.due_at == live_any.clock.now() + timedelta(minutes=15)

    assert escalate_to_manager(live_any, inbound_id)
    audiences = [
        p["audience"] for k, p in _jobs(live_any) if k == "respond.alert_owner"
    ]
    assert audiences == ["owner", "manager"]
    assert _events(live_any, inbound_id) == ["breached", "escalated"]


def test_a_text_held_by_quiet_hours_is_deferred_by_policy_not_a_miss(
    live_any: Runtime,
) -> None:
    live_any.clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone="+12125550100"
    )
    run_first_touch(live_any, inbound_id)
    live_any.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert check_first_touch_sla(live_any, inbound_id) == "deferred_by_policy"
    assert not [k for k, _ in _jobs(live_any) if k == "respond.alert_owner"]


def test_the_manager_is_not_told_once_someone_answered(live: Runtime) -> None:
    inbound_id = add_lead(live)
    run_first_touch(live, inbound_id)
    assert not escalate_to_manager(live, inbound_id)


def _route(runtime: Runtime, inbound_id: int, route: str, due_in: timedelta) -> None:
    from firsttouch.store.models import Qualification

    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None
        inbound.human_due_at = now + due_in
        session.add(
            Qualification(
                inbound_id=inbound_id,
                contact_id=inbound.contact_id,
                icp_version="test",
                score=88,
                route=route,
                intent=0,
                reasons={},
                brief="A hot lead.",
                brief_source="rules",
                facts={},
                sources=[],
                created_at=now,
            )
        )


def test_a_hot_lead_nobody_followed_up_alerts_its_owner(live_any: Runtime) -> None:
    from firsttouch.respond.sla import check_human_follow_up

    inbound_id = add_lead(live_any)
    _route(live_any, inbound_id, "rep_now", timedelta(hours=1))
    live_any.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]

    assert check_human_follow_up(live_any, inbound_id) == "breached"
    # Checked once: a retried job changes nothing.
    assert check_human_follow_up(live_any, inbound_id) is None
    alerts = [p for k, p in _jobs(live_any) if k == "respond.alert_owner"]
    assert len(alerts) == 1 and alerts[0]["inbound_id"] == inbound_id
    with live_any.db.sessions() as session:
        clocks = list(session.scalars(select(SlaEvent.clock)))
    assert clocks == ["human"]


def test_a_followed_up_lead_is_met_and_a_nurture_lead_is_not_held_to_it(
    live_any: Runtime,
) -> None:
    from firsttouch.respond.sla import check_human_follow_up

    touched = add_lead(live_any)
    _route(live_any, touched, "fast_track", timedelta(hours=1))
    nurtured = add_lead(live_any, email="bo@buyer.example")
    _route(live_any, nurtured, "nurture", timedelta(hours=1))
    with live_any.db.transaction() as session:
        row = session.get(Inbound, touched)
        assert row is not None
        row.human_touch_at = live_any.clock.now()
    live_any.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]

    assert check_human_follow_up(live_any, touched) == "met"
    assert check_human_follow_up(live_any, nurtured) is None
    assert _events(live_any, nurtured) == []
    assert not [k for k, _ in _jobs(live_any) if k == "respond.alert_owner"]


def test_a_follow_up_breach_escalates_to_the_manager_in_working_time(
    live_any: Runtime,
) -> None:
    from firsttouch.respond.sla import check_human_follow_up

    # Tuesday 16:50 in Los Angeles: ten minutes of Maya's shift are left.
    live_any.clock.set(datetime(2026, 3, 10, 23, 50, tzinfo=UTC))  # type: ignore[attr-defined]
    inbound_id = add_lead(live_any)
    _route(live_any, inbound_id, "rep_now", timedelta(0))

    assert check_human_follow_up(live_any, inbound_id) == "breached"
    with live_any.db.sessions() as session:
        escalation = session.scalars(
            select(Job).where(Job.kind == "respond.sla_escalate")
        ).one()
    assert escalation.payload == {"inbound_id": inbound_id, "clock": "human"}
    # 15 working minutes: ten tonight, five into Wednesday's 08:00 shift.
    assert escalation.due_at == datetime(2026, 3, 11, 15, 5, tzinfo=UTC)

    live_any.clock.set(escalation.due_at)  # type: ignore[attr-defined]
    assert escalate_to_manager(live_any, inbound_id, "human")
    assert not escalate_to_manager(live_any, inbound_id, "human")  # a retry
    alerts = [p for k, p in _jobs(live_any) if k == "respond.alert_owner"]
    assert [(p["audience"], p["clock"]) for p in alerts] == [
        ("owner", "human"),
        ("manager", "human"),
    ]
    assert alerts[1]["detail"] == "no person followed up after the owner's alert"
    with live_any.db.sessions() as session:
        events = list(
            session.execute(
                select(SlaEvent.clock, SlaEvent.state).order_by(SlaEvent.id)
            )
        )
    assert events == [("human", "breached"), ("human", "escalated")]


@pytest.mark.parametrize("change", ["touched", "nurture", "disqualified", "closed"])
def test_a_follow_up_escalation_is_dropped_once_it_is_moot(
    live_any: Runtime, change: str
) -> None:
    from firsttouch.respond.sla import check_human_follow_up

    inbound_id = add_lead(live_any)
    _route(live_any, inbound_id, "fast_track", timedelta(0))
    assert check_human_follow_up(live_any, inbound_id) == "breached"

    if change in ("nurture", "disqualified"):
        _route(live_any, inbound_id, change, timedelta(0))
    else:
        with live_any.db.transaction() as session:
            row = session.get(Inbound, inbound_id)
            assert row is not None
            if change == "touched":
                row.human_touch_at = live_any.clock.now()
            else:
                row.status = "closed"

    assert not escalate_to_manager(live_any, inbound_id, "human")
    audiences = [
        p["audience"] for k, p in _jobs(live_any) if k == "respond.alert_owner"
    ]
    assert audiences == ["owner"]
    assert _events(live_any, inbound_id) == ["breached"]


def test_a_lead_that_breaches_both_clocks_alerts_for_each(live: Runtime) -> None:
    from firsttouch.respond.sla import check_human_follow_up
    from firsttouch.store.models import Touch
    from tests.respond.conftest import worker_for

    inbound_id = add_lead(live, email=None)
    run_first_touch(live, inbound_id)
    live.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert check_first_touch_sla(live, inbound_id) == "breached"
    _route(live, inbound_id, "rep_now", timedelta(0))
    assert check_human_follow_up(live, inbound_id) == "breached"
    live.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    worker = worker_for(live)
    while worker.run_once():
        pass

    # Each clock's alerts are their own sends: none is taken for a replay
    # of the other's, and the escalations reach the manager.
    with live.db.sessions() as session:
        sent = dict(
            session.execute(
                select(Touch.idempotency_key, Touch.owner_id).where(
                    Touch.purpose == "rep_alert",
                    Touch.status == "sent",
                    Touch.to_address == "email:owner",
                )
            ).all()
        )
    base = f"alert:{inbound_id}:sla_breach"
    assert sent == {
        f"{base}:owner:owner": "maya",
        f"{base}:manager:owner": "dana",
        f"{base}:human:owner:owner": "maya",
        f"{base}:human:manager:owner": "dana",
    }
