"""What each dashboard page reads from the store, limited to what the
viewer may see (``visibility``). Queries return plain rows; templates never
touch a database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from firsttouch.clock import ensure_utc
from firsttouch.errors import NotFoundError
from firsttouch.store.models import Contact, Inbound, Task
from firsttouch.web.dashboard.scores import UNSCORED, LeadScore, scores_for
from firsttouch.web.dashboard.visibility import visible_clause
from firsttouch.web.sessions import DashboardUser
from firsttouch.workspace import Workspace

# An inbound in one of these states needs nobody.
CLOSED_STATUSES = ("disqualified", "closed", "converted", "spam", "merged")
SNOOZE_TASK_PREFIX = "Snoozed"
# Rows shown per queue section; the page says how many more there are.
SECTION_LIMIT = 50
# Candidates read to rank a section by score when the ranking happens here.
RANK_WINDOW = 400


@dataclass
class LeadRow:
    """One lead as the queue and the lead page show it."""

    inbound_id: int
    contact_id: int | None
    name: str
    company: str
    title: str
    email: str
    phone: str
    source: str
    channel: str
    kind: str
    owner_id: str | None
    owner_name: str
    status: str
    received_at: datetime
    due_at: datetime | None
    first_touch_due_at: datetime | None
    is_reply: bool
    subject: str
    message: str
    score: LeadScore = field(default_factory=lambda: UNSCORED)


@dataclass
class QueueSection:
    key: str
    title: str
    rows: list[LeadRow]
    total: int


def _owner_names(workspace: Workspace) -> dict[str, str]:
    return {r.id: r.name for r in workspace.team.reps}


def _row(inbound: Inbound, contact: Contact | None, names: dict[str, str]) -> LeadRow:
    due = inbound.human_due_at or inbound.first_touch_due_at
    return LeadRow(
        inbound_id=inbound.id,
        contact_id=inbound.contact_id,
        name=contact.display_name if contact else f"inbound {inbound.id}",
        company=(contact.company_name or "") if contact else "",
        title=(contact.title or "") if contact else "",
        email=(contact.email or "") if contact else "",
        phone=(contact.phone_e164 or contact.phone or "") if contact else "",
        source=inbound.source,
        channel=inbound.channel,
        kind=inbound.kind,
        owner_id=inbound.owner_id,
        owner_name=names.get(inbound.owner_id or "", inbound.owner_id or "unassigned"),
        status=inbound.status,
        received_at=ensure_utc(inbound.received_at),
        due_at=ensure_utc(due) if due else None,
        first_touch_due_at=ensure_utc(inbound.first_touch_due_at)
        if inbound.first_touch_due_at
        else None,
        is_reply=inbound.parent_id is not None or inbound.kind == "reply",
        subject=inbound.subject or "",
        message=(inbound.body_text or "")[:600],
    )


def _snoozed(now: datetime) -> Any:
    """Contacts with a snooze task still running."""
    return exists().where(
        Task.contact_id == Inbound.contact_id,
        Task.done_at.is_(None),
        Task.due_at > now,
        Task.title.like(f"{SNOOZE_TASK_PREFIX}%"),
    )


def open_leads_clause(user: DashboardUser, workspace: Workspace, now: datetime) -> Any:
    """Inbounds waiting for a human that ``user`` may see, snoozed ones aside."""
    return and_(
        visible_clause(user, workspace),
        Inbound.contact_id.is_not(None),
        Inbound.status.not_in(CLOSED_STATUSES),
        Inbound.human_touch_at.is_(None),
        ~_snoozed(now),
    )


def queue_sections(
    session: Session, user: DashboardUser, workspace: Workspace, now: datetime
) -> list[QueueSection]:
    """The queue: hot leads, replies waiting, other open leads, in sequences."""
    names = _owner_names(workspace)
    base = open_leads_clause(user, workspace, now)
    is_reply = or_(Inbound.parent_id.is_not(None), Inbound.kind == "reply")

    # Replies are read apart; the rest is ranked by judgement below.
    replies, replies_total = _fetch(session, and_(base, is_reply), names, SECTION_LIMIT)
    candidates, open_total = _fetch(session, and_(base, ~is_reply), names, RANK_WINDOW)
    scores = scores_for(session, [r.inbound_id for r in candidates])
    for row in candidates:
        row.score = scores[row.inbound_id]
    for row in replies:
        row.score = scores_for(session, [row.inbound_id])[row.inbound_id]

    hot = [r for r in candidates if r.score.is_hot]
    nurture = [r for r in candidates if r.score.in_nurture]
    other = [r for r in candidates if not r.score.is_hot and not r.score.in_nurture]
    hot.sort(key=lambda r: (-(r.score.score or 0), _due_key(r)))
    other.sort(key=lambda r: (_due_key(r), -(r.score.score or 0)))

    unranked = max(0, open_total - len(candidates))
    return [
        QueueSection("hot", "Hot leads", hot[:SECTION_LIMIT], len(hot)),
        QueueSection("replies", "Replies waiting for a person", replies, replies_total),
        QueueSection(
            "open", "Other open leads", other[:SECTION_LIMIT], len(other) + unranked
        ),
        QueueSection(
            "sequences", "In sequences", nurture[:SECTION_LIMIT], len(nurture)
        ),
    ]


def _due_key(row: LeadRow) -> float:
    return row.due_at.timestamp() if row.due_at else row.received_at.timestamp() + 1e9


def _fetch(
    session: Session, where: Any, names: dict[str, str], limit: int
) -> tuple[list[LeadRow], int]:
    # Newest first: a fresh inbound is the one most likely to still be saved.
    query = (
        select(Inbound, Contact)
        .join(Contact, Contact.id == Inbound.contact_id)
        .where(where)
        .order_by(Inbound.received_at.desc(), Inbound.id.desc())
        .limit(limit)
    )
    rows = [_row(i, c, names) for i, c in session.execute(query)]
    total = session.scalar(select(func.count()).select_from(Inbound).where(where))
    return rows, int(total or 0)


def hot_since(
    session: Session,
    user: DashboardUser,
    workspace: Workspace,
    now: datetime,
    since: datetime,
) -> list[LeadRow]:
    """Open hot leads received since ``since`` (for live updates).

    By time rather than by id: a lead becomes hot only once qualify has
    judged it, which may be after the page first asked.
    """
    names = _owner_names(workspace)
    where = and_(open_leads_clause(user, workspace, now), Inbound.received_at >= since)
    rows, _ = _fetch(session, where, names, SECTION_LIMIT)
    scores = scores_for(session, [r.inbound_id for r in rows])
    for row in rows:
        row.score = scores[row.inbound_id]
    return [r for r in rows if r.score.is_hot]


def snoozed_leads(
    session: Session, user: DashboardUser, workspace: Workspace, now: datetime
) -> list[tuple[LeadRow, datetime]]:
    """Leads put aside until later, with the time each comes back."""
    names = _owner_names(workspace)
    query = (
        select(Inbound, Contact, Task.due_at)
        .join(Contact, Contact.id == Inbound.contact_id)
        .join(Task, Task.contact_id == Inbound.contact_id)
        .where(
            visible_clause(user, workspace),
            Inbound.status.not_in(CLOSED_STATUSES),
            Inbound.human_touch_at.is_(None),
            Task.done_at.is_(None),
            Task.due_at > now,
            Task.title.like(f"{SNOOZE_TASK_PREFIX}%"),
        )
        .order_by(Task.due_at)
        .limit(SECTION_LIMIT)
    )
    return [
        (_row(i, c, names), ensure_utc(due))
        for i, c, due in session.execute(query)
        if due is not None
    ]


def get_lead(
    session: Session, user: DashboardUser, workspace: Workspace, inbound_id: int
) -> LeadRow:
    """One lead the user may see; ``NotFoundError`` for any other id."""
    query = (
        select(Inbound, Contact)
        .outerjoin(Contact, Contact.id == Inbound.contact_id)
        .where(Inbound.id == inbound_id, visible_clause(user, workspace))
    )
    found = session.execute(query).first()
    if found is None:
        raise NotFoundError(f"no lead {inbound_id}")
    row = _row(found[0], found[1], _owner_names(workspace))
    row.score = scores_for(session, [inbound_id])[inbound_id]
    return row


def start_of_week(now: datetime, days_back: int | None = None) -> datetime:
    """Monday 00:00 UTC of ``now``'s week."""
    monday = now - timedelta(days=now.weekday() if days_back is None else days_back)
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)
