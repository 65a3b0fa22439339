"""The first-touch SLA clock: at the deadline, check and escalate a breach.

Capture enqueues ``respond.sla_check`` for the moment the first touch is
due. The check records what it found as an ``SlaEvent``:

- ``met``: a first touch went out in time (nothing else happens);
- ``deferred_by_policy``: the first touch is held back by consent rules
  (quiet hours, caps); reports count it apart from a miss;
- ``breached``: nothing went out and nothing holds it back. The owner is
  alerted now (``respond.alert_owner``) and, unless someone answers first,
  the manager ``escalate_to_manager_minutes`` later.
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
HUMAN_CLOCK = "human"

ESCALATE_KIND = "respond.sla_escalate"


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
            minutes = runtime.workspace.respond.sla.escalate_to_manager_minutes
            enqueue(
                session,
                ESCALATE_KIND,
                {"inbound_id": inbound_id},
                key=f"sla_escalate:{inbound_id}",
                due_at=now + timedelta(minutes=minutes),
                now=now,
            )
            log.warning("sla.breached", inbound_id=inbound_id, reason=reason)
        return state


def escalate_to_manager(runtime: Runtime, inbound_id: int) -> bool:
    """Alert the manager if the inbound is still unanswered; return whether."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.first_touch_at or inbound.human_touch_at:
            return False
        _alert(
            session, inbound, "manager", "no first touch after the owner's alert", now
        )
        _record(session, inbound, "escalated", "manager alerted", {}, now)
        log.warning("sla.escalated", inbound_id=inbound_id)
        return True


def _already_checked(
    session: Session, inbound_id: int, *, clock: str = "first_touch"
) -> bool:
    found = session.scalar(
        select(SlaEvent.id)
        .where(SlaEvent.inbound_id == inbound_id, SlaEvent.clock == clock)
        .limit(1)
    )
    return found is not None


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
    held to it; a breach alerts the owner with the brief.
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
            enqueue(
                session,
                ALERT_KIND,
                {
                    "inbound_id": inbound.id,
                    "reason": "sla_breach",
                    "audience": "owner",
                    "detail": "a hot lead is waiting for a person",
                },
                key=f"human_alert:{inbound.id}",
                now=now,
            )
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
    clock: str = "first_touch",
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
    session: Session, inbound: Inbound, audience: str, reason: str, now: datetime
) -> None:
    payload = {
        "inbound_id": inbound.id,
        "reason": "sla_breach",
        "audience": audience,
        "detail": reason,
    }
    enqueue(
        session, ALERT_KIND, payload, key=f"sla_alert:{audience}:{inbound.id}", now=now
    )
