"""A lead's judgement (score, reasons, brief, route) as the dashboard shows it.

The qualify layer writes one ``Qualification`` row per scoring; the latest
row of an inbound counts. This module only reads those rows and turns them
into one plain shape. A lead not yet scored shows as unscored; it is never
hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from firsttouch.store.models import Qualification

HOT_ROUTES = ("rep_now",)
NURTURE_ROUTES = ("nurture",)
DISQUALIFIED_ROUTES = ("disqualified",)


@dataclass(frozen=True)
class Reason:
    """One criterion's share of the score, and why."""

    label: str
    points: float | None
    why: str = ""


@dataclass(frozen=True)
class LeadScore:
    score: int | None = None
    route: str | None = None
    brief: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    facts: list[tuple[str, str, str]] = field(default_factory=list)
    disqualified_because: str | None = None
    icp_version: str | None = None
    intent: int | None = None

    @property
    def is_hot(self) -> bool:
        return self.route in HOT_ROUTES

    @property
    def in_nurture(self) -> bool:
        return self.route in NURTURE_ROUTES


UNSCORED = LeadScore()


def latest_ids(inbound_ids: list[int] | None = None) -> Subquery:
    """Each inbound's latest qualification id (a re-score adds a row)."""
    query = select(
        Qualification.inbound_id.label("inbound_id"),
        func.max(Qualification.id).label("qualification_id"),
    ).group_by(Qualification.inbound_id)
    if inbound_ids is not None:
        query = query.where(Qualification.inbound_id.in_(inbound_ids))
    return query.subquery("latest_qualification")


def _reasons(raw: Any) -> list[Reason]:
    criteria = raw.get("criteria", []) if isinstance(raw, Mapping) else raw or []
    reasons = []
    for item in criteria:
        if not isinstance(item, Mapping):
            continue
        points = item.get("points")
        reasons.append(
            Reason(
                label=str(item.get("name") or item.get("label") or "criterion"),
                points=float(points) if isinstance(points, int | float) else None,
                why=str(item.get("reason") or item.get("why") or ""),
            )
        )
    # The criteria that added most come first: that is what a rep reads.
    reasons.sort(key=lambda r: -(r.points or 0))
    return reasons


def _facts(raw: Any) -> list[tuple[str, str, str]]:
    if not isinstance(raw, Mapping):
        return []
    facts = []
    for name, item in sorted(raw.items()):
        if isinstance(item, Mapping):
            value, source = item.get("value"), item.get("source") or ""
        else:
            value, source = item, ""
        if value not in (None, ""):
            facts.append((str(name), str(value), str(source)))
    return facts


def to_lead_score(row: Qualification | None) -> LeadScore:
    """Turn a stored qualification into a ``LeadScore``."""
    if row is None:
        return UNSCORED
    return LeadScore(
        score=row.score,
        route=row.route,
        brief=row.brief,
        reasons=_reasons(row.reasons),
        facts=_facts(row.facts),
        disqualified_because=row.disqualified_reason,
        icp_version=row.icp_version,
        intent=row.intent,
    )


def scores_for(session: Session, inbound_ids: Iterable[int]) -> dict[int, LeadScore]:
    """Each inbound's latest judgement (``UNSCORED`` when there is none)."""
    ids = list(inbound_ids)
    result = dict.fromkeys(ids, UNSCORED)
    if not ids:
        return result
    latest = latest_ids(ids)
    rows = session.scalars(
        select(Qualification).join(
            latest, latest.c.qualification_id == Qualification.id
        )
    )
    for row in rows:
        result[row.inbound_id] = to_lead_score(row)
    return result
