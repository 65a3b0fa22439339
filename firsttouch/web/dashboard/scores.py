"""A lead's judgement (score, reasons, brief, route) as the dashboard shows it.

The qualify layer owns the judgement; this module only reads it, through
``firsttouch.qualify.latest_qualification`` when that layer is installed,
and turns whatever it returns into one plain shape. A lead not yet scored
shows as unscored; it is never hidden.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

HOT_ROUTES = ("rep_now",)
NURTURE_ROUTES = ("nurture",)


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

    @property
    def is_hot(self) -> bool:
        return self.route in HOT_ROUTES

    @property
    def in_nurture(self) -> bool:
        return self.route in NURTURE_ROUTES


UNSCORED = LeadScore()


def _latest_function() -> Callable[[Session, int], Any] | None:
    try:
        module = importlib.import_module("firsttouch.qualify")
    except ImportError:
        return None
    found = getattr(module, "latest_qualification", None)
    return found if callable(found) else None


def _get(source: Any, *names: str) -> Any:
    for name in names:
        if isinstance(source, Mapping) and name in source:
            return source[name]
        if hasattr(source, name):
            return getattr(source, name)
    return None


def _reasons(raw: Any) -> list[Reason]:
    if isinstance(raw, Mapping):
        raw = [{"label": k, "points": v} for k, v in raw.items()]
    reasons = []
    for item in raw or []:
        label = _get(item, "label", "criterion", "name", "key") or "criterion"
        points = _get(item, "points", "contribution", "score", "weight")
        why = _get(item, "why", "reason", "explanation", "detail") or ""
        try:
            number = float(points) if points is not None else None
        except (TypeError, ValueError):
            number = None
        reasons.append(Reason(str(label), number, str(why)))
    return reasons


def _facts(raw: Any) -> list[tuple[str, str, str]]:
    if isinstance(raw, Mapping):
        return [(str(k), _fact_value(v), _fact_source(v)) for k, v in raw.items()]
    facts = []
    for item in raw or []:
        name = _get(item, "name", "key", "label") or "fact"
        facts.append((str(name), _fact_value(item), _fact_source(item)))
    return facts


def _fact_value(value: Any) -> str:
    inner = _get(value, "value")
    return str(inner if inner is not None else value)


def _fact_source(value: Any) -> str:
    return str(_get(value, "source") or "")


def to_lead_score(found: Any) -> LeadScore:
    """Turn a qualification record (object or mapping) into a ``LeadScore``."""
    if found is None:
        return UNSCORED
    score = _get(found, "score", "fit_score", "total")
    route = _get(found, "route")
    return LeadScore(
        score=int(round(float(score))) if score is not None else None,
        route=str(_get(route, "value") or route) if route is not None else None,
        brief=_get(found, "brief", "summary"),
        reasons=_reasons(_get(found, "contributions", "breakdown", "reasons", "parts")),
        facts=_facts(_get(found, "facts", "enrichment")),
        disqualified_because=_get(
            found, "disqualified_because", "disqualifier", "disqualified_reason"
        ),
        icp_version=str(_get(found, "icp_version") or "") or None,
    )


def qualify_available() -> bool:
    return _latest_function() is not None


def scores_for(session: Session, inbound_ids: Iterable[int]) -> dict[int, LeadScore]:
    """Return each inbound's latest judgement (``UNSCORED`` when there is none)."""
    latest = _latest_function()
    result: dict[int, LeadScore] = {}
    for inbound_id in inbound_ids:
        found = latest(session, inbound_id) if latest else None
        result[inbound_id] = to_lead_score(found)
    return result
