"""The first-touch SLA clock: at the deadline, check and escalate a breach.

Capture enqueues ``respond.sla_check`` for the moment the first touch is
due. The check records what it found as an ``SlaEvent``:

- ``met``: a first touch went out in time (nothing else happens);
- ``deferred_by_policy``: the first touch is held back by consent rules
  (quiet hours, caps); reports count it apart from a miss;
- ``breached``: nothing went out and nothing holds it back. The owner is
  alerted now (``respond.alert_owner``) and, unless someone answers first,
  the manager ``escalate_to_manager_minutes`` later.

The human follow-up clock (``respond.human_sla_check``) breaches the same
way and escalates through the same path (``respond.sla_escalate`` with
``clock: human``). Its minutes to the manager count in the owner's working
time, like its deadline: a breach at the end of a shift reaches the manager
that many minutes into the owner's next shift, not in the night. Each
escalation is an ``escalated`` SLA event on its clock, so the lead's
timeline shows it beside the breach.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger
from firsttouch.store.models import Inbound, SlaEvent, Touch
from firsttouch.store.models.inbound import CLOSED_STATUSES
from firsttouch.store.models.qualify import REP_ROUTES, latest_route

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

ALERT_KIND = "respond.alert_owner"
FIRST_TOUCH_CLOCK = "first_touch"
HUMAN_CLOCK = "human"

ESCALATE_KIND = "respond.sla_escalate"

# What the owner and then the manager are told, per clock.
BREACH_DETAIL = {
    HUMAN_CLOCK: "a hot lead is waiting for a person",
}
ESCALATION_DETAIL = {
    FIRST_TOUCH_CLOCK: "no first touch after the owner's alert",
    HUMAN_CLOCK: "no person followed up after the owner's alert",
}


def check_first_touch_sla(runtime: Runtime, inbound_id: int) -> str | None:
    """Check one inbound's first-touch clock; return the state recorded."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id, with_for_update=True)
        if inbound is None or inbound.sla_state == "not_applicable":
            return None
        if _already_checked(session, inbound_id):
            return inbound.sla_state

        state, reason, details = _judge(session, inbound, now)
        inbound.sla_state = state if state != "met" else inbound.sla_state
        _record(session, inbound, state, reason, details, now)
        if state == "breached":
            _alert(session, inbound, "owner", reason, now)
            _schedule_escalation(runtime, session, inbound, FIRST_TOUCH_CLOCK, now)
            log.warning("sla.breached", inbound_id=inbound_id, reason=reason)
        return state


def escalation_due(
    runtime: Runtime, inbound: Inbound, clock: str, now: datetime
) -> datetime:
    """When the manager hears of a breach found at ``now`` on ``clock``.

    The first touch runs around the clock, so its minutes are wall minutes.
    The human clock is measured in the owner's working time, so its minutes
    are too; an owner with no working hours ahead falls back to wall minutes
    rather than never escalating.
    """
    minutes = runtime.workspace.respond.sla.escalate_to_manager_minutes
    if clock == HUMAN_CLOCK and inbound.owner_id:
        owner = runtime.workspace.team.rep(inbound.owner_id)
        due = owner.after_working_minutes(now, minutes) if owner else None
        if due is not None:
            return due
    return now + timedelta(minutes=minutes)


def _schedule_escalation(
    runtime: Runtime, session: Session, inbound: Inbound, clock: str, now: datetime
) -> None:
    payload: dict[str, Any] = {"inbound_id": inbound.id}
    key = f"sla_escalate:{inbound.id}"
    if clock != FIRST_TOUCH_CLOCK:
        # The first-touch job keeps its original payload and key, so jobs
        # queued before the human clock escalated still run as they were.
        payload["clock"] = clock
        key = f"sla_escalate:{clock}:{inbound.id}"
    enqueue(
        session,
        ESCALATE_KIND,
        payload,
        key=key,
        due_at=escalation_due(runtime, inbound, clock, now),
        now=now,
    )


def escalate_to_manager(
    runtime: Runtime, inbound_id: int, clock: str = FIRST_TOUCH_CLOCK
) -> bool:
    """Alert the manager if the breach on ``clock`` still stands; return whether."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id, with_for_update=True)
        if inbound is None or _escalation_moot(session, inbound, clock):
            return False
        if _already_checked(session, inbound_id, clock=clock, state="escalated"):
            return False  # a retried job: the manager was told already
        _alert(session, inbound, "manager", ESCALATION_DETAIL[clock], now, clock=clock)
        _record(session, inbound, "escalated", "manager alerted", {}, now, clock=clock)
        log.warning("sla.escalated", inbound_id=inbound_id, clock=clock)
        return True


def _escalation_moot(session: Session, inbound: Inbound, clock: str) -> bool:
    """True when nobody needs to hear of the breach any more.

    A person's touch answers both clocks; a closed lead needs neither. The
    automatic touch answers only the first-touch clock, and only leads still
    routed to a rep are held to the human one (a lead since sent to nurture
    or disqualified is not).
    """
    if inbound.human_touch_at is not None or inbound.status in CLOSED_STATUSES:
        return True
    if clock == HUMAN_CLOCK:
        return latest_route(session, inbound.id) not in REP_ROUTES
    return inbound.first_touch_at is not None


def _already_checked(
    session: Session,
    inbound_id: int,
    *,
    clock: str = FIRST_TOUCH_CLOCK,
    state: str | None = None,
) -> bool:
    query = select(SlaEvent.id).where(
        SlaEvent.inbound_id == inbound_id, SlaEvent.clock == clock
    )
    if state is not None:
        query = query.where(SlaEvent.state == state)
    return session.scalar(query.limit(1)) is not None


def _judge(
    session: Session, inbound: Inbound, now: datetime
) -> tuple[str, str, dict[str, Any]]:
    if inbound.first_touch_at is not None:
        return "met", "first touch sent in time", {}

    touches = list(
        session.scalars(
            select(Touch).where(
                Touch.inbound_id == inbound.id, Touch.purpose == "first_touch"
            )
        )
    )
    deferred = [t for t in touches if t.status == "deferred"]
    if deferred:
        until = min(t.scheduled_for for t in deferred if t.scheduled_for)
        return (
            "deferred_by_policy",
            deferred[0].error or "consent rules",
            {"until": until.isoformat()},
        )

    reasons = sorted(
        {
            f"{t.channel}: {t.status} ({t.error})"
            for t in touches
            if t.status in ("blocked", "failed", "undelivered")
        }
    )
    if reasons:
        return "breached", "; ".join(reasons), {"touches": len(touches)}
    if not touches:
        return "breached", "no first touch was planned or sent", {}
    return "breached", "the first touch has not gone out yet", {"touches": len(touches)}


def check_human_follow_up(runtime: Runtime, inbound_id: int) -> str | None:
    """At the human follow-up deadline, check that a person has acted.

    The automatic first touch answers the buyer; this clock asks whether a
    rep followed up within the workspace's business minutes of their own
    working time. Only leads routed to a rep (rep now, fast track) are
    held to it; a breach alerts the owner with the brief, then the manager
    (``escalation_due``) unless someone follows up first.
    """
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id, with_for_update=True)
        if inbound is None or inbound.human_due_at is None:
            return None
        if _already_checked(session, inbound_id, clock=HUMAN_CLOCK):
            return None
        if inbound.human_touch_at is not None:
            state, reason = "met", "a person followed up in time"
        elif inbound.status in CLOSED_STATUSES or (
            latest_route(session, inbound_id) not in REP_ROUTES
        ):
            return None
        else:
            state, reason = "breached", "no person has followed up yet"
        _record(session, inbound, state, reason, {}, now, clock=HUMAN_CLOCK)
        if state == "breached":
            detail = BREACH_DETAIL[HUMAN_CLOCK]
            _alert(session, inbound, "owner", detail, now, clock=HUMAN_CLOCK)
            _schedule_escalation(runtime, session, inbound, HUMAN_CLOCK, now)
            log.warning("sla.human_breached", inbound_id=inbound_id)
        return state


def _record(
    session: Session,
    inbound: Inbound,
    state: str,
    reason: str,
    details: dict[str, Any],
    now: datetime,
    *,
    clock: str = FIRST_TOUCH_CLOCK,
) -> None:
    session.add(
        SlaEvent(
            inbound_id=inbound.id,
            clock=clock,
            state=state,
            reason=reason,
            due_at=inbound.human_due_at
            if clock == HUMAN_CLOCK
            else (inbound.first_touch_due_at),
            occurred_at=now,
            details=details,
            created_at=now,
        )
    )


def _alert(
    session: Session,
    inbound: Inbound,
    audience: str,
    reason: str,
    now: datetime,
    *,
    clock: str = FIRST_TOUCH_CLOCK,
) -> None:
    payload: dict[str, Any] = {
        "inbound_id": inbound.id,
        "reason": "sla_breach",
        "audience": audience,
        "detail": reason,
    }
    key = f"sla_alert:{audience}:{inbound.id}"
    if clock == HUMAN_CLOCK:
        # Its own ledger scope (see alerts.alert_owner): a lead that breached
        # both clocks gets both alerts. The owner's key is the one it had
        # before the manager was added, so queued jobs keep deduplicating.
        payload["clock"] = clock
        key = (
            f"human_alert:{inbound.id}"
            if audience == "owner"
            else f"human_alert:{audience}:{inbound.id}"
        )
    enqueue(session, ALERT_KIND, payload, key=key, now=now)
