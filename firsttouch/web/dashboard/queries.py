"""What each dashboard page reads from the store, limited to what the
viewer may see (``visibility``). Queries return plain rows; templates never
touch a database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from firsttouch.clock import ensure_utc
from firsttouch.errors import NotFoundError
from firsttouch.store.models import (
    Company,
    Contact,
    Deal,
    Inbound,
    Qualification,
    Task,
)
from firsttouch.store.models.inbound import CLOSED_STATUSES
from firsttouch.web.dashboard.scores import (
    DISQUALIFIED_ROUTES,
    HOT_ROUTES,
    NURTURE_ROUTES,
    UNSCORED,
    LeadScore,
    latest_ids,
    scores_for,
    to_lead_score,
)
from firsttouch.web.dashboard.visibility import visible_clause, visible_owners
from firsttouch.web.sessions import DashboardUser
from firsttouch.workspace import Workspace

# An inbound in one of these states needs nobody.
SNOOZE_TASK_PREFIX = "Snoozed"
# Rows shown per queue section; the page says how many more there are.
SECTION_LIMIT = 50
# The sections a rep works from show every row; the others a shorter list.
SHORT_SECTION_LIMIT = 20
FULL_SECTIONS = ("hot", "replies")


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
    # Which clock ``due_at`` is: a person's follow-up, or the first touch.
    due_label: str
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


def lead_row(
    inbound: Inbound, contact: Contact | None, names: dict[str, str]
) -> LeadRow:
    due = inbound.human_due_at or inbound.first_touch_due_at
    label = "follow-up" if inbound.human_due_at else "first touch"
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
        due_label=label,
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


SECTION_TITLES = {
    "hot": "Hot leads",
    "replies": "Replies waiting for a person",
    "open": "Other open leads",
    "sequences": "In sequences",
    "disqualified": "Disqualified by the ICP (check before closing)",
}


def _due() -> Any:
    return func.coalesce(Inbound.human_due_at, Inbound.first_touch_due_at)


def _judged(query: Any, session: Session) -> Any:
    """Join each inbound's latest qualification (if any) onto ``query``.

    The planners differ: SQLite walks the qualifications index fastest with
    a correlated ``max(id)`` per inbound, while PostgreSQL re-runs that
    subplan inside its hash join and does better grouping the table once.
    """
    if session.get_bind().dialect.name == "postgresql":
        grouped = latest_ids()
        return query.outerjoin(grouped, grouped.c.inbound_id == Inbound.id).outerjoin(
            Qualification, Qualification.id == grouped.c.qualification_id
        )
    earlier = aliased(Qualification)
    latest = (
        select(func.max(earlier.id))
        .where(earlier.inbound_id == Inbound.id)
        .correlate(Inbound)
        .scalar_subquery()
    )
    return query.outerjoin(Qualification, Qualification.id == latest)


def queue_sections(
    session: Session, user: DashboardUser, workspace: Workspace, now: datetime
) -> list[QueueSection]:
    """The queue: hot leads, replies waiting, other open leads, in sequences.

    One query ranks every open lead inside its section (window functions, so
    the database sorts and counts and only the shown rows come back); a
    second reads the full rows of just those leads.
    """
    names = _owner_names(workspace)
    placed, totals = _place(session, open_leads_clause(user, workspace, now))
    rows = _full_rows(session, [i for ids in placed.values() for i in ids], names)
    return [
        QueueSection(
            key,
            title,
            [rows[i] for i in placed.get(key, [])[: _limit(key)] if i in rows],
            totals.get(key, 0),
        )
        for key, title in SECTION_TITLES.items()
    ]


def _limit(section: str) -> int:
    return SECTION_LIMIT if section in FULL_SECTIONS else SHORT_SECTION_LIMIT


def _section_expression() -> Any:
    """The queue section of an open lead, from the latest route."""
    route = Qualification.route
    is_reply = or_(Inbound.parent_id.is_not(None), Inbound.kind == "reply")
    return case(
        (is_reply, "replies"),
        (route.in_(HOT_ROUTES), "hot"),
        (route.in_(NURTURE_ROUTES), "sequences"),
        (route.in_(DISQUALIFIED_ROUTES), "disqualified"),
        else_="open",
    )


def _place(session: Session, base: Any) -> tuple[dict[str, list[int]], dict[str, int]]:
    """The ids shown in each section, in order, and each section's total."""
    section = _section_expression()
    # Hot leads by score first; every section then by the SLA due soonest.
    by_score = case((section == "hot", -func.coalesce(Qualification.score, 0)), else_=0)
    ranked = (
        _judged(
            select(
                Inbound.id.label("inbound_id"),
                section.label("section"),
                func.row_number()
                .over(
                    partition_by=section,
                    order_by=(by_score, _due().is_(None), _due(), Inbound.id),
                )
                .label("position"),
                func.count().over(partition_by=section).label("total"),
            ).select_from(Inbound),
            session,
        )
        .where(base)
        .subquery("ranked")
    )
    query = (
        select(ranked.c.inbound_id, ranked.c.section, ranked.c.total)
        .where(ranked.c.position <= SECTION_LIMIT)
        .order_by(ranked.c.section, ranked.c.position)
    )
    placed: dict[str, list[int]] = {}
    totals: dict[str, int] = {}
    for inbound_id, key, total in session.execute(query):
        totals[key] = int(total)
        if len(placed.setdefault(key, [])) < _limit(key):
            placed[key].append(inbound_id)
    return placed, totals


def _full_rows(
    session: Session, inbound_ids: list[int], names: dict[str, str]
) -> dict[int, LeadRow]:
    if not inbound_ids:
        return {}
    query = _judged(
        select(Inbound, Contact, Qualification).join(
            Contact, Contact.id == Inbound.contact_id
        ),
        session,
    ).where(Inbound.id.in_(inbound_ids))
    rows = {}
    for inbound, contact, qualification in session.execute(query):
        row = lead_row(inbound, contact, names)
        row.score = to_lead_score(qualification)
        rows[inbound.id] = row
    return rows


def _fetch(
    session: Session, where: Any, names: dict[str, str], limit: int
) -> list[LeadRow]:
    query = _judged(
        select(Inbound, Contact, Qualification).join(
            Contact, Contact.id == Inbound.contact_id
        ),
        session,
    )
    query = query.where(where).order_by(Inbound.received_at.desc()).limit(limit)
    rows = []
    for inbound, contact, qualification in session.execute(query):
        row = lead_row(inbound, contact, names)
        row.score = to_lead_score(qualification)
        rows.append(row)
    return rows


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
    where = and_(
        open_leads_clause(user, workspace, now),
        Inbound.received_at >= since,
        _section_expression() == "hot",
    )
    return _fetch(session, where, names, SECTION_LIMIT)


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
        (lead_row(i, c, names), ensure_utc(due))
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
    row = lead_row(found[0], found[1], _owner_names(workspace))
    row.score = scores_for(session, [inbound_id])[inbound_id]
    return row


def start_of_week(now: datetime, days_back: int | None = None) -> datetime:
    """Monday 00:00 UTC of ``now``'s week."""
    monday = now - timedelta(days=now.weekday() if days_back is None else days_back)
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


# A deal whose stage has not moved for this long is flagged on the queue.
STUCK_AFTER = timedelta(days=14)


@dataclass(frozen=True)
class StuckDeal:
    name: str
    stage: str
    owner_name: str
    since: datetime
    inbound_id: int | None


def stuck_deals(
    session: Session, user: DashboardUser, workspace: Workspace, now: datetime
) -> list[StuckDeal]:
    """Open deals the user may see whose stage has not moved in two weeks."""
    owners = visible_owners(user, workspace)
    moved = func.coalesce(Deal.stage_changed_at, Deal.created_at)
    latest_inbound = (
        select(func.max(Inbound.id))
        .where(Inbound.contact_id == Deal.contact_id)
        .correlate(Deal)
        .scalar_subquery()
    )
    query = (
        select(Deal, latest_inbound)
        .where(Deal.closed_at.is_(None), moved < now - STUCK_AFTER)
        .order_by(moved)
        .limit(SHORT_SECTION_LIMIT)
    )
    if owners is not None:
        query = query.where(or_(Deal.owner_id.is_(None), Deal.owner_id.in_(owners)))
    names = _owner_names(workspace)
    return [
        StuckDeal(
            name=deal.name,
            stage=deal.stage,
            owner_name=names.get(deal.owner_id or "", deal.owner_id or "unassigned"),
            since=ensure_utc(deal.stage_changed_at or deal.created_at),
            inbound_id=inbound_id,
        )
        for deal, inbound_id in session.execute(query)
    ]


def contact_facts(session: Any, contact_id: int | None) -> list[tuple[str, str, str]]:
    """Enrichment the contact and its company carry, with their sources."""
    if contact_id is None:
        return []
    contact = session.get(Contact, contact_id)
    if contact is None:
        return []
    facts = []
    for key, value in sorted((contact.attributes or {}).items()):
        facts.append((key, _fact_text(value), _fact_source(value, "contact")))
    company = session.get(Company, contact.company_id) if contact.company_id else None
    if company is not None:
        for key, value in (
            ("company", company.name),
            ("domain", company.domain),
            ("industry", company.industry),
            ("employees", company.employee_count),
        ):
            if value:
                facts.append((key, str(value), "company record"))
        for key, value in sorted((company.facts or {}).items()):
            facts.append((key, _fact_text(value), _fact_source(value, "company")))
    return facts


def _fact_text(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        return str(value["value"])
    return str(value)


def _fact_source(value: Any, default: str) -> str:
    if isinstance(value, dict) and value.get("source"):
        return str(value["source"])
    return default
