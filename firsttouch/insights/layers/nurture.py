"""Nurture: do reps keep working leads that have not answered, and on time?"""

from __future__ import annotations

import pandas as pd

from firsttouch.insights.basis import Basis, flag, percent
from firsttouch.insights.layers.parts import figure, layer_result, part
from firsttouch.insights.results import (
    Charts,
    Figure,
    HistogramBin,
    LayerResult,
    ScorePart,
)
from firsttouch.insights.scales import linear, missing_part

NEEDS = ["touches", "replied", "next_step_at", "last_touch_at"]
PERSISTENT_TOUCHES = 5
MAX_TOUCH_BIN = 10


def measure_nurture(basis: Basis, charts: Charts) -> LayerResult:
    """Score persistence (touches before giving up) and leads left unbooked."""
    leads = basis.leads()
    if len(leads) == 0:
        return layer_result("nurture", [], [], NEEDS, "no data: the export has no rows")

    figures: list[Figure] = []
    parts = _persistence(basis, figures, charts) + [_gone_quiet(basis, figures)]
    if basis.has("replied"):
        replied = int(flag(leads, "replied").sum())
        figures.append(
            figure(
                "reply_share",
                "Leads that replied",
                percent(replied / len(leads)),
                "%",
                note=f"{replied} leads",
            )
        )
    if basis.has("reply_touch", "touches"):
        charts.reply_rate_by_touch = _reply_rate_by_touch(leads)

    return layer_result("nurture", parts, figures, NEEDS)


def _persistence(
    basis: Basis, figures: list[Figure], charts: Charts
) -> list[ScorePart]:
    median_scale = "0 at 1 touch, 100 at 5 or more"
    five_scale = "0 at 0%, 100 at 60% or more"
    median_label = "Touches per unanswered lead before the last touch (median)"
    five_label = f"Unanswered leads worked {PERSISTENT_TOUCHES}+ times"
    if not basis.has("touches"):
        return [
            missing_part(
                "touches_median", median_label, 1.0, median_scale, ["touches"]
            ),
            missing_part("worked_5_plus", five_label, 1.0, five_scale, ["touches"]),
        ]

    leads = basis.leads()
    touches = leads["touches"].fillna(0)
    charts.touches_per_lead = _touch_bins(touches)
    figures.append(
        figure("touches_mean", "Touches per lead (mean)", float(touches.mean()))
    )

    # Leads that answered or bought stop being chased for a good reason.
    done = flag(leads, "replied") | flag(leads, "won")
    chased = touches[~done & (touches > 0)]
    figures.append(
        figure("chased", "Unanswered leads touched at least once", len(chased))
    )
    if chased.empty:
        return [
            missing_part(
                "touches_median", median_label, 1.0, median_scale, ["touches"]
            ),
            missing_part("worked_5_plus", five_label, 1.0, five_scale, ["touches"]),
        ]

    median = float(chased.median())
    five = int((chased >= PERSISTENT_TOUCHES).sum()) / len(chased)
    return [
        part(
            "touches_median",
            median_label,
            median,
            "touches",
            linear(median, 1.0, float(PERSISTENT_TOUCHES)),
            1.0,
            median_scale,
        ),
        part(
            "worked_5_plus",
            five_label,
            percent(five),
            "%",
            linear(five, 0.0, 0.6),
            1.0,
            five_scale,
        ),
    ]


def _gone_quiet(basis: Basis, figures: list[Figure]) -> ScorePart:
    days = basis.settings.quiet_after_days
    scale = "0 at 50% or more of open leads, 100 at 5% or less"
    label = f"Open leads quiet {days:g}+ days with no next step"
    last = _last_contact(basis)
    if last is None or not basis.has("next_step_at"):
        needs = (
            ["next_step_at"] if last is not None else ["next_step_at", "last_touch_at"]
        )
        return missing_part(
            "gone_quiet", label, 2.0, scale, basis.lacking(*needs) or needs
        )

    leads = basis.leads()
    open_leads = ~(flag(leads, "closed") | flag(leads, "disqualified"))
    stale = last < basis.as_of_ts - pd.Timedelta(days=days)
    quiet = open_leads & stale & leads["next_step_at"].isna()
    total = int(open_leads.sum())
    figures.append(
        figure(
            "quiet_count", "Open leads gone quiet with no next step", int(quiet.sum())
        )
    )
    if total == 0:
        return missing_part("gone_quiet", label, 2.0, scale, ["open leads"])

    value = int(quiet.sum()) / total
    return part(
        "gone_quiet", label, percent(value), "%", linear(value, 0.5, 0.05), 2.0, scale
    )


def _last_contact(basis: Basis) -> pd.Series | None:
    # The latest sign of life we know of: last touch, else last logged
    # activity, else first touch, else arrival.
    leads = basis.leads()
    order = ("last_touch_at", "last_activity_at", "first_touch_at", "created_at")
    found = [leads[name] for name in order if name in leads]
    if not found:
        return None
    last = found[0]
    for other in found[1:]:
        last = last.fillna(other)
    return last


def _touch_bins(touches: pd.Series) -> list[HistogramBin]:
    capped = touches.clip(upper=MAX_TOUCH_BIN).astype(int)
    counts = capped.value_counts()
    bins = []
    for number in range(MAX_TOUCH_BIN + 1):
        label = f"{number}+" if number == MAX_TOUCH_BIN else str(number)
        bins.append(HistogramBin(label=label, count=int(counts.get(number, 0))))
    return bins


def _reply_rate_by_touch(leads: pd.DataFrame) -> list[Figure]:
    touches = leads["touches"].fillna(0)
    reply_touch = leads["reply_touch"]
    rates = []
    for number in range(1, MAX_TOUCH_BIN + 1):
        reached = int((touches >= number).sum())
        if reached == 0:
            break
        answered = int((reply_touch == number).sum())
        rates.append(
            figure(
                f"reply_rate_touch_{number}",
                f"Touch {number}",
                percent(answered / reached),
                "%",
                note=f"{answered} of {reached} leads reached",
            )
        )
    return rates
