"""Capture: does every inbound arrive with a source and an owner?"""

from __future__ import annotations

from firsttouch.insights.basis import Basis, in_business_hours, local_times, percent
from firsttouch.insights.cells import label_of
from firsttouch.insights.layers.parts import figure, layer_result, part
from firsttouch.insights.results import Charts, Figure, LayerResult, ScorePart
from firsttouch.insights.scales import linear, missing_part

NEEDS = ["source", "owner", "channel", "created_at"]
TOP_CHANNELS = 8


def measure_capture(basis: Basis, charts: Charts) -> LayerResult:
    """Score the share of inbound that arrives unattributed or unowned."""
    leads = basis.leads()
    total = len(leads)
    if total == 0:
        return layer_result("capture", [], [], NEEDS, "no data: the export has no rows")

    figures = [figure("inbound", "Inbound records", total)]
    parts = [
        _missing_share(basis, "source", "Inbound with no source", 1.0, 0.5),
        _missing_share(basis, "owner", "Inbound with no owner", 2.0, 0.3),
    ]
    if basis.has("channel"):
        figures += _channel_mix(leads["channel"])
    if basis.has("created_at") and "created_at" not in basis.date_only:
        figures += _off_hours(basis)

    return layer_result("capture", parts, figures, NEEDS)


def _missing_share(
    basis: Basis, column: str, label: str, weight: float, leaking: float
) -> ScorePart:
    scale = f"0 at {leaking:.0%} or more, 100 at 0%"
    if not basis.has(column):
        return missing_part(f"no_{column}", label, weight, scale, [column])

    leads = basis.leads()
    missing = int(leads[column].isna().sum())
    share = missing / len(leads)
    return part(
        f"no_{column}",
        label,
        percent(share),
        "%",
        linear(share, leaking, 0.0),
        weight,
        scale,
    )


def _channel_mix(channels: object) -> list[Figure]:
    counts = channels.fillna("(none)").value_counts()  # type: ignore[attr-defined]
    total = int(counts.sum())
    figures = []
    for name, count in counts.head(TOP_CHANNELS).items():
        figures.append(
            figure(
                f"channel:{label_of(name)}",
                f"Channel: {label_of(name)}",
                percent(int(count) / total),
                "%",
                note=f"{int(count)} inbound",
            )
        )
    return figures


def _off_hours(basis: Basis) -> list[Figure]:
    created = basis.leads()["created_at"].dropna()
    if created.empty:
        return []

    local = local_times(created, basis.settings.timezone)
    weekend = int((local.dt.day_of_week >= 5).sum())
    after = int((~in_business_hours(created, basis.settings)).sum())
    hours = (
        f"{basis.settings.business_start_hour:02d}:00-"
        f"{basis.settings.business_end_hour:02d}:00 {basis.settings.timezone}"
    )
    return [
        figure(
            "after_hours_share",
            "Inbound outside business hours",
            percent(after / len(created)),
            "%",
            note=f"business hours {hours}",
        ),
        figure(
            "weekend_share", "Inbound on weekends", percent(weekend / len(created)), "%"
        ),
    ]
