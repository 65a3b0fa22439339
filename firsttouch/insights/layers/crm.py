"""CRM hygiene: deals stuck in a stage, deals with no recent activity, late logging."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firsttouch.insights.basis import Basis, flag, percent
from firsttouch.insights.cells import label_of
from firsttouch.insights.layers.parts import figure, layer_result, part
from firsttouch.insights.results import (
    Charts,
    Figure,
    HistogramBin,
    LayerResult,
    ScorePart,
    StageAging,
)
from firsttouch.insights.scales import linear, logarithmic, missing_part

NEEDS = ["stage", "stage_entered_at", "last_activity_at", "logged_at"]
FALLBACK_LIMIT_DAYS = 30.0
AGE_BINS: tuple[tuple[str, float], ...] = (
    ("0-7 d", 7),
    ("8-30 d", 30),
    ("31-90 d", 90),
    ("91-180 d", 180),
    ("181+ d", np.inf),
)
DAY = np.timedelta64(1, "D")


def measure_crm(basis: Basis, charts: Charts) -> LayerResult:
    """Score stage aging, recent activity on open deals and logging lag."""
    if len(basis.records) == 0:
        return layer_result("crm", [], [], NEEDS, "no data: the export has no rows")

    figures: list[Figure] = []
    parts = [
        _stage_aging(basis, figures, charts),
        _recent_activity(basis, figures),
        _log_lag(basis, figures),
    ]
    return layer_result("crm", parts, figures, NEEDS)


def _open_deals(basis: Basis) -> pd.DataFrame:
    deals = basis.deals()
    return deals[~flag(deals, "closed")]


def _stage_aging(basis: Basis, figures: list[Figure], charts: Charts) -> ScorePart:
    scale = "0 at 50% or more of open deals, 100 at 5% or less"
    label = "Open deals past their stage's age limit"
    if not basis.has("stage", "stage_entered_at"):
        return missing_part(
            "stuck_deals", label, 2.0, scale, basis.lacking("stage", "stage_entered_at")
        )

    open_deals = _open_deals(basis)
    ages = (basis.as_of_ts - open_deals["stage_entered_at"]) / DAY
    limit, origin = _default_limit(basis)
    figures.append(figure("open_deals", "Open deals", len(open_deals)))
    figures.append(
        figure(
            "stage_limit_days", "Default stage age limit", limit, "days", note=origin
        )
    )

    aging: list[StageAging] = []
    past_total = 0
    for stage, group in ages.groupby(open_deals["stage"], sort=True):
        stage_limit = basis.settings.stage_age_limits.get(str(stage), limit)
        stage_origin = (
            "set by you" if str(stage) in basis.settings.stage_age_limits else origin
        )
        known = group.dropna()
        past = int((known > stage_limit).sum())
        past_total += past
        aging.append(
            StageAging(
                stage=label_of(stage),
                open_deals=len(group),
                with_age=len(known),
                median_age_days=None
                if known.empty
                else round(float(known.median()), 1),
                limit_days=stage_limit,
                limit_origin=stage_origin,
                past_limit=past,
                age_bins=_age_bins(known),
            )
        )
    charts.stage_aging = aging

    dated = int(ages.notna().sum())
    figures.append(
        figure(
            "open_deals_without_stage_date",
            "Open deals with no stage date",
            len(open_deals) - dated,
        )
    )
    figures.append(
        figure("stuck_count", "Open deals past their stage limit", past_total)
    )
    if dated == 0:
        return missing_part("stuck_deals", label, 2.0, scale, ["stage_entered_at"])

    value = past_total / dated
    return part(
        "stuck_deals", label, percent(value), "%", linear(value, 0.5, 0.05), 2.0, scale
    )


def _default_limit(basis: Basis) -> tuple[float, str]:
    """The stage age limit: set by the user, else learned from won deals."""
    if basis.settings.default_stage_age_days is not None:
        return basis.settings.default_stage_age_days, "set by you"

    deals = basis.deals()
    if basis.has("closed_at", "stage_entered_at", "won"):
        won = deals[flag(deals, "won")]
        cycle = ((won["closed_at"] - won["stage_entered_at"]) / DAY).dropna()
        cycle = cycle[cycle >= 0]
        if len(cycle) >= 10:
            limit = round(float(cycle.quantile(0.9)), 1)
            return limit, (
                f"90th percentile of days from stage entry to close on "
                f"{len(cycle)} won deals"
            )

    return FALLBACK_LIMIT_DAYS, "fallback: no won deals to learn from"


def _age_bins(ages: pd.Series) -> list[HistogramBin]:
    labels = [label for label, _edge in AGE_BINS]
    edges = [-np.inf] + [edge for _label, edge in AGE_BINS]
    counts = pd.cut(ages, bins=edges, labels=labels, right=True).value_counts()
    return [HistogramBin(label=label, count=int(counts[label])) for label in labels]


def _activity_scope(basis: Basis) -> pd.DataFrame:
    # Open deals when the export has deals; otherwise every open record.
    if basis.has("stage"):
        return _open_deals(basis)
    records = basis.records
    return records[~flag(records, "closed")]


def _recent_activity(basis: Basis, figures: list[Figure]) -> ScorePart:
    days = basis.settings.recent_activity_days
    scale = "0 at 20% or less, 100 at 90% or more"
    label = f"Open records with activity logged in the last {days:g} days"
    if not basis.has("last_activity_at"):
        return missing_part("recent_activity", label, 1.0, scale, ["last_activity_at"])

    scope = _activity_scope(basis)
    if scope.empty:
        return missing_part("recent_activity", label, 1.0, scale, ["open records"])

    since = basis.as_of_ts - pd.Timedelta(days=days)
    recent = int((scope["last_activity_at"] >= since).sum())
    value = recent / len(scope)
    figures.append(
        figure(
            "recent_activity_count",
            "Open records with recent activity",
            recent,
            note=f"of {len(scope)}",
        )
    )
    return part(
        "recent_activity",
        label,
        percent(value),
        "%",
        linear(value, 0.2, 0.9),
        1.0,
        scale,
    )


def _log_lag(basis: Basis, figures: list[Figure]) -> ScorePart:
    scale = "100 at 1 h or less, 0 at 72 h or more (log scale)"
    label = "Lag from activity to its log entry (median)"
    if not basis.has("last_activity_at", "logged_at"):
        return missing_part(
            "log_lag", label, 1.0, scale, basis.lacking("last_activity_at", "logged_at")
        )

    records = basis.records
    hours = (records["logged_at"] - records["last_activity_at"]) / np.timedelta64(
        1, "h"
    )
    hours = hours.dropna().clip(lower=0)
    if hours.empty:
        return missing_part("log_lag", label, 1.0, scale, ["logged_at"])

    median = float(hours.median())
    figures.append(
        figure(
            "log_lag_p90_hours",
            "Lag from activity to log (p90)",
            float(hours.quantile(0.9)),
            "h",
        )
    )
    return part(
        "log_lag", label, median, "h", logarithmic(median, 1.0, 72.0), 1.0, scale
    )
