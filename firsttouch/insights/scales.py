"""Turn a measured figure into a 0-100 mark, and marks into a layer score.

Each mark is a straight line between a "leaking" point (0) and a "healthy"
point (100), clipped; times use a log line because 5 minutes against 1 hour
matters as much as 1 hour against 12. The points are written beside each
part so a reader can check them.
"""

from __future__ import annotations

import math

from firsttouch.insights.results import ScorePart


def linear(metric: float, leaking: float, healthy: float) -> float:
    """Score ``metric`` on a line from ``leaking`` (0) to ``healthy`` (100)."""
    fraction = (metric - leaking) / (healthy - leaking)
    return round(100.0 * min(max(0.0, fraction), 1.0), 1)


def logarithmic(metric: float, healthy: float, leaking: float) -> float:
    """Score a duration: 100 at or under ``healthy``, 0 at or over ``leaking``."""
    if metric <= healthy:
        return 100.0

    if metric >= leaking:
        return 0.0

    fraction = math.log(metric / healthy) / math.log(leaking / healthy)
    return round(100.0 * (1.0 - fraction), 1)


def combine(parts: list[ScorePart]) -> int | None:
    """Weighted mean of the parts that could be scored; None when none could."""
    scored = [part for part in parts if part.score is not None]
    if not scored:
        return None

    weight = sum(part.weight for part in scored)
    total = sum(part.score * part.weight for part in scored if part.score is not None)
    return round(total / weight)


def missing_part(
    key: str, label: str, weight: float, scale: str, needs: list[str]
) -> ScorePart:
    """A part that cannot be scored, naming the record fields it lacks."""
    return ScorePart(
        key=key,
        label=label,
        metric=None,
        unit="",
        score=None,
        weight=weight,
        scale=scale,
        reason="no data: needs " + ", ".join(needs),
    )
