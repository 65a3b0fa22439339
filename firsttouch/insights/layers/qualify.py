"""Qualify: does every lead get an owner and a fit score, and where does rep time go?"""

from __future__ import annotations

from firsttouch.insights.basis import Basis, flag, percent
from firsttouch.insights.layers.parts import figure, layer_result, part
from firsttouch.insights.results import Charts, Figure, LayerResult, ScorePart
from firsttouch.insights.scales import linear, missing_part

NEEDS = ["score", "owner", "disqualified", "touches"]


def measure_qualify(basis: Basis, charts: Charts) -> LayerResult:
    """Score how many leads are owned and scored, and rep time spent on misfits."""
    leads = basis.leads()
    if len(leads) == 0:
        return layer_result("qualify", [], [], NEEDS, "no data: the export has no rows")

    figures: list[Figure] = []
    parts = [_owned_and_scored(basis, figures), _time_on_misfits(basis, figures)]
    return layer_result("qualify", parts, figures, NEEDS)


def _owned_and_scored(basis: Basis, figures: list[Figure]) -> ScorePart:
    scale = "0 at 30% or less, 100 at 95% or more"
    if not basis.has("score"):
        return missing_part(
            "owned_and_scored",
            "Leads with an owner and a fit score",
            2.0,
            scale,
            ["score"],
        )

    leads = basis.leads()
    scored = leads["score"].notna()
    figures.append(
        figure(
            "scored_share",
            "Leads with a fit score",
            percent(int(scored.sum()) / len(leads)),
            "%",
        )
    )
    label = "Leads with a fit score"
    if basis.has("owner"):
        scored = scored & leads["owner"].notna()
        label = "Leads with an owner and a fit score"

    value = int(scored.sum()) / len(leads)
    return part(
        "owned_and_scored",
        label,
        percent(value),
        "%",
        linear(value, 0.3, 0.95),
        2.0,
        scale,
    )


def _time_on_misfits(basis: Basis, figures: list[Figure]) -> ScorePart:
    scale = "0 at 50% or more of touches, 100 at 5% or less"
    label = "Rep touches spent on leads later disqualified"
    if not basis.has("disqualified", "touches"):
        if basis.has("disqualified"):
            _disqualified_share(basis, figures)
        return missing_part(
            "time_on_disqualified",
            label,
            1.0,
            scale,
            basis.lacking("disqualified", "touches"),
        )

    leads = basis.leads()
    ruled_out = flag(leads, "disqualified")
    touches = leads["touches"].fillna(0)
    total = float(touches.sum())
    wasted = float(touches[ruled_out].sum())
    hours = wasted * basis.settings.minutes_per_touch / 60.0
    _disqualified_share(basis, figures)
    figures.append(
        figure(
            "hours_on_disqualified",
            "Rep hours on disqualified leads",
            hours,
            "h",
            note=f"{wasted:g} touches at "
            f"{basis.settings.minutes_per_touch:g} min each (adjustable)",
        )
    )
    if total == 0:
        return missing_part("time_on_disqualified", label, 1.0, scale, ["touches"])

    value = wasted / total
    return part(
        "time_on_disqualified",
        label,
        percent(value),
        "%",
        linear(value, 0.5, 0.05),
        1.0,
        scale,
    )


def _disqualified_share(basis: Basis, figures: list[Figure]) -> None:
    leads = basis.leads()
    ruled_out = int(flag(leads, "disqualified").sum())
    figures.append(
        figure(
            "disqualified_share",
            "Leads disqualified",
            percent(ruled_out / len(leads)),
            "%",
            note=f"{ruled_out} leads",
        )
    )
