"""Respond: how long inbound waits for its first touch, and how often forever."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firsttouch.insights.basis import (
    Basis,
    in_business_hours,
    local_times,
    minutes_between,
    percent,
)
from firsttouch.insights.layers.parts import figure, layer_result, part
from firsttouch.insights.results import (
    Charts,
    Figure,
    Heatmap,
    HistogramBin,
    LayerResult,
    ScorePart,
)
from firsttouch.insights.scales import linear, logarithmic

NEEDS = ["created_at", "first_touch_at"]

# Bin edges in minutes for the response-time chart; "never" is added last.
BINS: tuple[tuple[str, float], ...] = (
    ("under 5 min", 5),
    ("5-15 min", 15),
    ("15-60 min", 60),
    ("1-4 h", 240),
    ("4-24 h", 1440),
    ("1-3 days", 4320),
    ("over 3 days", float("inf")),
)


def response_minutes(basis: Basis) -> tuple[pd.DataFrame, pd.Series, int]:
    """Leads judged for response, their minutes to first touch, and how many wait.

    A lead not yet touched that arrived within ``pending_hours`` of the
    as-of moment is still waiting, not ignored: it is left out.
    """
    leads = basis.leads()
    untouched = leads["first_touch_at"].isna()
    cutoff = basis.as_of_ts - pd.Timedelta(hours=basis.settings.pending_hours)
    waiting = untouched & (leads["created_at"] > cutoff)
    judged = leads[~waiting]
    minutes = minutes_between(judged["created_at"], judged["first_touch_at"])
    return judged, minutes, int(waiting.sum())


def measure_respond(basis: Basis, charts: Charts) -> LayerResult:
    """Score speed to first touch: median, share inside 5 minutes, share never."""
    if not basis.has(*NEEDS):
        return layer_result("respond", [], [], NEEDS, _lacking(basis))

    judged, minutes, waiting = response_minutes(basis)
    total = len(judged)
    if total == 0:
        return layer_result(
            "respond", [], [], NEEDS, "no data: no inbound to judge yet"
        )

    early = int((minutes < 0).sum())
    minutes = minutes.clip(lower=0)
    touched = minutes.dropna()
    never = total - len(touched)
    median = float(touched.median()) if len(touched) else None
    p90 = float(touched.quantile(0.9)) if len(touched) else None
    within5 = int((touched <= 5).sum()) / total
    within60 = int((touched <= 60).sum()) / total

    parts = _parts(median, within5, never / total)
    day_dates = sorted(basis.date_only & set(NEEDS))
    if day_dates:
        # With whole days, "same day" reads as 0 minutes: only "never" holds.
        reason = (
            "no data: needs times of day; " + ", ".join(day_dates) + " has dates only"
        )
        parts = [
            item.model_copy(update={"metric": None, "score": None, "reason": reason})
            if item.key != "never"
            else item
            for item in parts
        ]
    figures = [
        figure("judged", "Inbound judged", total),
        figure("median_minutes", "Median time to first touch", median, "min"),
        figure("p90_minutes", "90th percentile time to first touch", p90, "min"),
        figure("within_5_share", "First touch within 5 minutes", percent(within5), "%"),
        figure("within_60_share", "First touch within an hour", percent(within60), "%"),
        figure("never_share", "Never touched", percent(never / total), "%"),
        figure("never_count", "Never touched (leads)", never),
        figure(
            "waiting",
            "Still inside the waiting window",
            waiting,
            note=f"untouched and under {basis.settings.pending_hours:g} h old",
        ),
    ]
    figures += _business_split(judged, minutes, basis)
    if early:
        figures.append(
            figure(
                "touch_before_arrival",
                "First touch before arrival",
                early,
                note="counted as instant; check the export's time zones",
            )
        )
    if day_dates:
        figures.append(
            figure(
                "date_only",
                "Dates without times",
                ", ".join(day_dates),
                note="minutes are not scored; only never-touched is",
            )
        )

    charts.response_minutes = _histogram(touched, never)
    charts.heatmap = _heatmap(judged, minutes, basis.settings.timezone)
    return layer_result("respond", parts, figures, NEEDS)


def _lacking(basis: Basis) -> str:
    return "no data: nothing recorded for " + ", ".join(basis.lacking(*NEEDS))


def _parts(median: float | None, within5: float, never: float) -> list[ScorePart]:
    median_scale = "100 at 5 min or less, 0 at 24 h or more (log scale)"
    median_score = 0.0 if median is None else logarithmic(median, 5.0, 1440.0)
    return [
        part(
            "median_response",
            "Median time to first touch",
            median,
            "min",
            median_score,
            2.0,
            median_scale,
        ),
        part(
            "within_5",
            "Touched within 5 minutes",
            percent(within5),
            "%",
            linear(within5, 0.0, 0.8),
            1.0,
            "0 at 0%, 100 at 80% or more",
        ),
        part(
            "never",
            "Never touched",
            percent(never),
            "%",
            linear(never, 0.3, 0.0),
            2.0,
            "0 at 30% or more, 100 at 0%",
        ),
    ]


def _business_split(
    judged: pd.DataFrame, minutes: pd.Series, basis: Basis
) -> list[Figure]:
    inside = in_business_hours(judged["created_at"], basis.settings)
    figures = []
    for key, label, mask in (
        ("business_hours", "in business hours", inside),
        ("after_hours", "after hours", ~inside),
    ):
        group = minutes[mask]
        touched = group.dropna()
        median = float(touched.median()) if len(touched) else None
        figures.append(
            figure(
                f"median_{key}",
                f"Median first touch, arrived {label}",
                median,
                "min",
                note=f"{int(mask.sum())} inbound",
            )
        )
        if len(group):
            figures.append(
                figure(
                    f"within_5_{key}",
                    f"Within 5 min, arrived {label}",
                    percent(int((touched <= 5).sum()) / len(group)),
                    "%",
                )
            )
    return figures


def _histogram(touched: pd.Series, never: int) -> list[HistogramBin]:
    # Right-closed bins: a touch at exactly 5 minutes is "under 5 min", as
    # the score counts it.
    labels = [label for label, _edge in BINS]
    edges = [-np.inf] + [edge for _label, edge in BINS]
    counts = pd.cut(touched, bins=edges, labels=labels, right=True).value_counts()
    bins = [HistogramBin(label=label, count=int(counts[label])) for label in labels]
    bins.append(HistogramBin(label="never", count=never))
    return bins


def _heatmap(judged: pd.DataFrame, minutes: pd.Series, timezone: str) -> Heatmap:
    local = local_times(judged["created_at"], timezone)
    # One integer key per hour of the week keeps the grouping to one column.
    slot = (local.dt.day_of_week * 24 + local.dt.hour).to_numpy()
    counts = np.bincount(slot, minlength=7 * 24)
    medians = pd.Series(minutes.to_numpy()).groupby(slot).median()
    grid = [[int(counts[day * 24 + hour]) for hour in range(24)] for day in range(7)]
    median_grid: list[list[float | None]] = []
    for day in range(7):
        row: list[float | None] = []
        for hour in range(24):
            value = medians.get(day * 24 + hour)
            row.append(
                None if value is None or pd.isna(value) else round(float(value), 1)
            )
        median_grid.append(row)
    return Heatmap(timezone=timezone, counts=grid, median_minutes=median_grid)
