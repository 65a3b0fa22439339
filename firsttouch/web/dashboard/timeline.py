"""One contact's history across every channel, newest first.

Inbounds, touches, activities (calls, claims, notes, stage changes), routing
decisions, SLA checks and deals are read separately and merged by time.
Ownership changes made from the dashboard are written both as a routing
decision and as an activity; the activity is the entry shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from firsttouch.clock import ensure_utc
from firsttouch.store.models import Activity, Deal, Inbound, RoutingDecision, Touch
from firsttouch.store.models.respond import SlaEvent

DASHBOARD_RULE_PREFIX = "dashboard:"
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    actor: str = ""
    # Breaks ties between entries of the same second: later rows first.
    rank: tuple[int, int] = (0, 0)


def contact_timeline(
    session: Session, contact_id: int | None, inbound_id: int
) -> list[Entry]:
    """Every event of the contact (or of the lone inbound), newest first."""
    inbound_ids = _inbound_ids(session, contact_id, inbound_id)
    entries: list[Entry] = []
    entries += _inbounds(session, inbound_ids)
    entries += _touches(session, contact_id, inbound_ids)
    entries += _activities(session, contact_id, inbound_ids)
    entries += _routing(session, inbound_ids)
    entries += _sla(session, inbound_ids)
    if contact_id is not None:
        entries += _deals(session, contact_id)
    entries.sort(key=lambda e: (e.at, e.rank), reverse=True)
    return entries[:TIMELINE_LIMIT]


def _inbound_ids(
    session: Session, contact_id: int | None, inbound_id: int
) -> list[int]:
    if contact_id is None:
        return [inbound_id]
    ids = session.scalars(select(Inbound.id).where(Inbound.contact_id == contact_id))
    return sorted(set(ids) | {inbound_id})


def _inbounds(session: Session, ids: list[int]) -> list[Entry]:
    rows = session.scalars(select(Inbound).where(Inbound.id.in_(ids)))
    return [
        Entry(
            ensure_utc(i.received_at),
            "inbound",
            f"{i.kind.replace('_', ' ')} via {i.channel.replace('_', ' ')} "
            f"({i.source})",
            (i.subject or "")
            + (" — " if i.subject and i.body_text else "")
            + (i.body_text or "")[:300],
            rank=(0, i.id),
        )
        for i in rows
    ]


def _touches(session: Session, contact_id: int | None, ids: list[int]) -> list[Entry]:
    where: ColumnElement[bool] = Touch.inbound_id.in_(ids)
    if contact_id is not None:
        where = where | (Touch.contact_id == contact_id)
    rows = session.scalars(select(Touch).where(where).limit(TIMELINE_LIMIT))
    return [
        Entry(
            ensure_utc(t.sent_at or t.created_at),
            "touch",
            f"{t.purpose.replace('_', ' ')} by {t.channel}: {t.status}",
            t.subject or (t.body or "")[:200] or (t.error or ""),
            t.owner_id or "firsttouch",
            rank=(2, t.id),
        )
        for t in rows
    ]


def _activities(
    session: Session, contact_id: int | None, ids: list[int]
) -> list[Entry]:
    where: ColumnElement[bool] = Activity.inbound_id.in_(ids)
    if contact_id is not None:
        where = where | (Activity.contact_id == contact_id)
    rows = session.scalars(select(Activity).where(where).limit(TIMELINE_LIMIT))
    return [
        Entry(
            ensure_utc(a.occurred_at),
            a.kind.split(".")[0],
            a.summary,
            str(a.details.get("reason", "")) if a.details else "",
            a.actor or "",
            rank=(3, a.id),
        )
        for a in rows
    ]


def _routing(session: Session, ids: list[int]) -> list[Entry]:
    rows = session.scalars(
        select(RoutingDecision).where(
            RoutingDecision.inbound_id.in_(ids),
            RoutingDecision.rule.not_like(f"{DASHBOARD_RULE_PREFIX}%"),
        )
    )
    return [
        Entry(
            ensure_utc(r.created_at),
            "routing",
            f"owner set to {r.owner_id} by rule {r.rule}",
            r.reason,
            rank=(1, r.id),
        )
        for r in rows
    ]


def _sla(session: Session, ids: list[int]) -> list[Entry]:
    rows = session.scalars(select(SlaEvent).where(SlaEvent.inbound_id.in_(ids)))
    return [
        Entry(
            ensure_utc(s.occurred_at),
            "sla",
            f"SLA {s.clock}: {s.state}",
            s.reason,
            rank=(2, s.id),
        )
        for s in rows
    ]


def _deals(session: Session, contact_id: int) -> list[Entry]:
    rows = session.scalars(select(Deal).where(Deal.contact_id == contact_id))
    return [
        Entry(
            ensure_utc(d.stage_changed_at or d.created_at),
            "stage",
            f"deal {d.name}: {d.stage}",
            "",
            d.owner_id or "",
            rank=(3, d.id),
        )
        for d in rows
    ]
