"""A provisional owner for every lead, and the reason it was chosen.

Rules, in order, first one that yields a rep wins:

1. ``existing_owner``: the contact's owner, else its company's owner, while
   that rep is still on the team and not away.
2. ``territory``: the most specific territories that match the contact's
   country, region, industry and company size; weighted round-robin among
   their reps who are working now.
3. ``round_robin``: weighted round-robin among every rep working now.
4. ``on_call`` / ``manager``: nobody is working, so the on-call rep (or a
   manager) takes it; the first response still goes out automatically.

Round-robin is by load: each rep's share of recent assignments divided by
their weight, lowest first. A rep who was away or off shift keeps a low
load and so gets the next lead when back (their turn is not lost). A rep
who joined recently starts at the team's average load rather than zero,
so they do not take every lead until the counts even out. A rep whose open
leads reach their capacity is skipped. Every skip is recorded with why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Table, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from firsttouch.store.fixed_lists import one_of
from firsttouch.store.models import Company, Contact, Inbound, RoutingDecision
from firsttouch.store.prepared import Prepared, connection_of
from firsttouch.workspace import Workspace
from firsttouch.workspace.routing import Territory
from firsttouch.workspace.team import Rep

# How far back assignment counts reach when balancing round-robin.
BALANCE_WINDOW = timedelta(days=7)
# Inbound states that still occupy a rep's capacity.
OPEN_STATES = ("new", "open", "working")
# Rules whose assignments count towards round-robin balance.
BALANCED_RULES = ("territory", "round_robin", "reassigned")


@dataclass
class RoutingChoice:
    """The chosen rep, the rule that chose, and who was passed over and why."""

    owner_id: str
    rule: str
    reason: str
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Lead:
    """What routing needs to know about a lead."""

    country: str | None = None
    region: str | None = None
    industry: str | None = None
    employees: int | None = None
    contact_owner: str | None = None
    company_owner: str | None = None


def lead_facts(session: Session, contact: Contact | None) -> Lead:
    """Collect the routing facts for ``contact`` and its company."""
    if contact is None:
        return Lead()
    company = session.get(Company, contact.company_id) if contact.company_id else None
    attributes = contact.attributes or {}
    employees = company.employee_count if company else None
    return Lead(
        country=(contact.country or (company.country if company else None)),
        region=contact.region,
        industry=(
            company.industry
            if company and company.industry
            else attributes.get("industry")
        ),
        employees=employees or attributes.get("employees"),
        contact_owner=contact.owner_id,
        company_owner=company.owner_id if company else None,
    )


def choose_owner(
    session: Session,
    workspace: Workspace,
    lead: Lead,
    now: datetime,
    *,
    exclude: frozenset[str] = frozenset(),
) -> RoutingChoice:
    """Apply the routing rules and return a choice; never leaves a lead unowned."""
    team = workspace.team
    skipped: list[dict[str, Any]] = []

    existing = _existing_owner(workspace, lead, exclude, skipped)
    if existing is not None:
        return RoutingChoice(*existing, skipped=skipped)

    territories = matching_territories(workspace.routing.territories, lead)
    if territories:
        ids = list(dict.fromkeys(r for t in territories for r in t.reps))
        reps = [r for r in team.reps if r.id in ids and r.id not in exclude]
        rep = _balanced_pick(session, workspace, reps, now, skipped)
        if rep is not None:
            names = ", ".join(t.name for t in territories)
            return RoutingChoice(
                rep.id,
                "territory",
                f"territory {names}; least loaded rep working now",
                skipped,
            )

    if workspace.routing.round_robin:
        reps = [r for r in team.reps if r.id not in exclude]
        rep = _balanced_pick(session, workspace, reps, now, skipped)
        if rep is not None:
            return RoutingChoice(
                rep.id,
                "round_robin",
                "weighted round-robin among reps working now",
                skipped,
            )

    return _fallback(workspace, exclude, skipped)


def _existing_owner(
    workspace: Workspace,
    lead: Lead,
    exclude: frozenset[str],
    skipped: list[dict[str, Any]],
) -> tuple[str, str, str] | None:
    for owner, whose in (
        (lead.contact_owner, "contact"),
        (lead.company_owner, "company"),
    ):
        if not owner:
            continue
        rep = workspace.team.rep(owner)
        if rep is None:
            skipped.append(
                {"rep": owner, "why": f"{whose} owner is no longer on the team"}
            )
        elif rep.away:
            skipped.append({"rep": owner, "why": f"{whose} owner is marked away"})
        elif owner in exclude:
            skipped.append({"rep": owner, "why": f"{whose} owner did not act in time"})
        else:
            return owner, "existing_owner", f"the {whose} is already owned by {owner}"
    return None


def matching_territories(territories: list[Territory], lead: Lead) -> list[Territory]:
    """The territories ``lead`` falls in, keeping only the most specific ones."""
    scored: list[tuple[int, Territory]] = []
    for territory in territories:
        score = _territory_score(territory, lead)
        if score is not None:
            scored.append((score, territory))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [t for score, t in scored if score == best]


def _territory_score(territory: Territory, lead: Lead) -> int | None:
    # Each condition a territory sets must hold; the more it sets, the more
    # specific it is (na-west with regions beats na-east for a Californian).
    score = 0
    if territory.countries:
        if not lead.country or lead.country.upper() not in territory.countries:
            return None
        score += 1
    if territory.regions:
        if not lead.region or lead.region.upper() not in territory.regions:
            return None
        score += 1
    if territory.industries:
        industries = {i.lower() for i in territory.industries}
        if not lead.industry or lead.industry.lower() not in industries:
            return None
        score += 1
    if territory.min_employees is not None or territory.max_employees is not None:
        if lead.employees is None:
            return None
        low = territory.min_employees or 0
        high = territory.max_employees if territory.max_employees is not None else 10**9
        if not low <= lead.employees <= high:
            return None
        score += 1
    return score


def is_available(workspace: Workspace, rep: Rep, now: datetime) -> str | None:
    """None when ``rep`` can take a lead now, else the reason they cannot."""
    if rep.away:
        return "marked away"
    if rep.weight <= 0:
        return "weight 0 (takes no round-robin leads)"
    local_day = now.astimezone(ZoneInfo(rep.timezone)).date()
    if local_day in workspace.team.holidays:
        return f"team holiday {local_day.isoformat()}"
    if not rep.is_working(now):
        return "outside working hours in " + rep.timezone
    return None


def _balanced_pick(
    session: Session,
    workspace: Workspace,
    reps: list[Rep],
    now: datetime,
    skipped: list[dict[str, Any]],
) -> Rep | None:
    available: list[Rep] = []
    for rep in reps:
        why = is_available(workspace, rep, now)
        if why:
            _skip(skipped, rep.id, why)
        else:
            available.append(rep)
    if not available:
        return None

    # One statement reads both sides of the owner state: the open leads
    # each rep holds (capacity) and their recent assignments (balance).
    since = now - BALANCE_WINDOW
    open_counts, recent = _owner_state(session, [r.id for r in available], since)
    within: list[Rep] = []
    for rep in available:
        held = open_counts.get(rep.id, 0)
        if rep.capacity is not None and held >= rep.capacity:
            _skip(skipped, rep.id, f"at capacity ({held}/{rep.capacity} open leads)")
        else:
            within.append(rep)
    if not within:
        return None

    loads = _loads(session, workspace, within, since, recent)
    order = {r.id: i for i, r in enumerate(workspace.team.reps)}
    return min(within, key=lambda r: (loads[r.id], order[r.id]))


def _skip(skipped: list[dict[str, Any]], rep_id: str, why: str) -> None:
    if not any(s["rep"] == rep_id and s["why"] == why for s in skipped):
        skipped.append({"rep": rep_id, "why": why})


_INBOUNDS = cast(Table, Inbound.__table__)
_DECISIONS = cast(Table, RoutingDecision.__table__)
_OPEN = (
    select(literal("open").label("side"), _INBOUNDS.c.owner_id, func.count())
    .where(
        _INBOUNDS.c.owner_id.in_(bindparam("reps", expanding=True)),
        one_of(_INBOUNDS.c.status, OPEN_STATES),
        _INBOUNDS.c.parent_id.is_(None),
        _INBOUNDS.c.contact_id.is_not(None),
    )
    .group_by(_INBOUNDS.c.owner_id)
)


def _assigned_since(side: str) -> Select[Any]:
    return (
        select(literal(side).label("side"), _DECISIONS.c.owner_id, func.count())
        .where(
            _DECISIONS.c.created_at >= bindparam("since"),
            one_of(_DECISIONS.c.rule, BALANCED_RULES),
            _DECISIONS.c.owner_id.in_(bindparam("reps", expanding=True)),
        )
        .group_by(_DECISIONS.c.owner_id)
    )


# Built once: routing runs for every lead that no one owns yet.
_OWNER_STATE = union_all(_OPEN, _assigned_since("recent"))
_COUNTS_SINCE = _assigned_since("since")


def _owner_state(
    session: Session, rep_ids: list[str], since: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Open leads per rep, and balanced assignments per rep since ``since``."""
    counts: dict[str, dict[str, int]] = {"open": {}, "recent": {}}
    params = {"reps": rep_ids, "since": since}
    rows = connection_of(session).execute(_OWNER_STATE, params)
    for side, owner, count in rows:
        if owner:
            counts[side][owner] = count
    return counts["open"], counts["recent"]


def _loads(
    session: Session,
    workspace: Workspace,
    reps: list[Rep],
    since: datetime,
    recent: dict[str, int],
) -> dict[str, float]:
    """Each rep's weighted share of the balanced assignments in ``recent``."""
    ids = [r.id for r in reps]
    loads = {r.id: recent.get(r.id, 0) / r.weight for r in reps}

    # A newcomer starts from the average load the others built before they
    # joined, so they share the flow instead of taking all of it.
    for rep in reps:
        joined = _joined_at(rep, workspace)
        others = [r for r in reps if r.id != rep.id]
        if joined is None or joined <= since or not others:
            continue
        after = _counts_since(session, ids, joined)
        before = [(recent.get(o.id, 0) - after.get(o.id, 0)) / o.weight for o in others]
        loads[rep.id] = after.get(rep.id, 0) / rep.weight + sum(before) / len(before)
    return loads


def _counts_since(
    session: Session, rep_ids: list[str], since: datetime
) -> dict[str, int]:
    params = {"reps": rep_ids, "since": since}
    rows = connection_of(session).execute(_COUNTS_SINCE, params)
    return {owner: count for _, owner, count in rows}


def _joined_at(rep: Rep, workspace: Workspace) -> datetime | None:
    if rep.joined is None:
        return None
    zone = ZoneInfo(rep.timezone or workspace.team.timezone)
    return datetime.combine(rep.joined, time(0), zone).astimezone(UTC)


def _fallback(
    workspace: Workspace, exclude: frozenset[str], skipped: list[dict[str, Any]]
) -> RoutingChoice:
    team = workspace.team
    on_call = workspace.routing.on_call
    candidates: list[tuple[str, str]] = []
    if on_call:
        candidates.append((on_call, "on_call"))
    candidates += [(r.id, "on_call") for r in team.reps if r.on_call]
    candidates += [(r.id, "manager") for r in team.managers()]
    candidates += [(r.id, "any_rep") for r in team.reps]

    for rep_id, rule in candidates:
        rep = team.rep(rep_id)
        if rep is None or rep.away or rep_id in exclude:
            continue
        who = {"on_call": "on-call rep", "manager": "manager"}.get(
            rule, "first rep free"
        )
        return RoutingChoice(
            rep_id, rule, f"nobody eligible is working now; the {who} takes it", skipped
        )
    # Everyone is away or excluded: the first rep still owns it, so no lead
    # is ever without an owner.
    first = team.reps[0].id
    return RoutingChoice(
        first,
        "last_resort",
        "every rep is away or excluded; assigned to the first rep",
        skipped,
    )


def record_decision(
    session: Session,
    choice: RoutingChoice,
    *,
    inbound_id: int | None,
    contact_id: int | None,
    now: datetime,
    previous_owner_id: str | None = None,
) -> RoutingDecision:
    """Store the routing audit row for ``choice``; commits nothing."""
    decision = RoutingDecision(
        **decision_values(
            choice,
            inbound_id=inbound_id,
            contact_id=contact_id,
            now=now,
            previous_owner_id=previous_owner_id,
        )
    )
    session.add(decision)
    return decision


def decision_values(
    choice: RoutingChoice,
    *,
    inbound_id: int | None,
    contact_id: int | None,
    now: datetime,
    previous_owner_id: str | None = None,
) -> dict[str, Any]:
    """The ``routing_decisions`` row that audits ``choice``."""
    return {
        "inbound_id": inbound_id,
        "contact_id": contact_id,
        "owner_id": choice.owner_id,
        "previous_owner_id": previous_owner_id,
        "rule": choice.rule,
        "reason": choice.reason,
        "skipped": choice.skipped,
        "created_at": now,
    }


# Core, built once: a new lead's audit row needs no unit of work.
INSERT_DECISION = Prepared(_DECISIONS.insert())
