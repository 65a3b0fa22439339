"""Build score parts and layer results the same way in every layer."""

from __future__ import annotations

from firsttouch.insights.results import (
    LAYER_TITLES,
    Figure,
    LayerName,
    LayerResult,
    ScorePart,
)
from firsttouch.insights.scales import combine


def part(
    key: str,
    label: str,
    metric: float | None,
    unit: str,
    score: float | None,
    weight: float,
    scale: str,
) -> ScorePart:
    """A scored part; ``metric`` is rounded for display."""
    shown = None if metric is None else round(metric, 1)
    return ScorePart(
        key=key,
        label=label,
        metric=shown,
        unit=unit,
        score=score,
        weight=weight,
        scale=scale,
    )


def figure(
    key: str,
    label: str,
    value: float | int | str | None,
    unit: str = "",
    note: str = "",
) -> Figure:
    """A figure with floats rounded to one place."""
    if isinstance(value, float):
        value = round(value, 1)
    return Figure(key=key, label=label, value=value, unit=unit, note=note)


def layer_result(
    layer: LayerName,
    parts: list[ScorePart],
    figures: list[Figure],
    needs: list[str],
    empty_reason: str = "",
) -> LayerResult:
    """Combine parts into the layer's score, or say why there is none."""
    score = None if empty_reason else combine(parts)
    reason = empty_reason
    if score is None and not reason:
        lacking: list[str] = []
        for item in parts:
            for name in item.reason.removeprefix("no data: needs ").split(", "):
                if item.reason and name not in lacking:
                    lacking.append(name)
        reason = "no data: nothing recorded for " + ", ".join(lacking or needs)

    return LayerResult(
        layer=layer,
        title=LAYER_TITLES[layer],
        score=score,
        no_data_reason=reason,
        parts=parts,
        figures=figures,
        needs=needs,
    )
