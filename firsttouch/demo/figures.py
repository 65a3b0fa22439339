"""Small, exact statistics the demo report needs (no numpy for ten numbers)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``share`` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def share(count: int, total: int) -> float:
    """``count / total`` as a fraction, 0 when there is nothing to divide."""
    return count / total if total else 0.0


def after_hours(
    moment: datetime, zone: str, *, opens: int = 8, closes: int = 18
) -> str:
    """Name the part of the week ``moment`` falls in, in ``zone``'s local time.

    ``weekend`` for Saturday and Sunday, ``night`` outside opens..closes on
    a weekday, ``business`` otherwise.
    """
    local = moment.astimezone(ZoneInfo(zone))
    if local.weekday() >= 5:
        return "weekend"
    if local.hour < opens or local.hour >= closes:
        return "night"
    return "business"


def format_seconds(seconds: float | None) -> str:
    """Say a duration the way a rep would read it."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
