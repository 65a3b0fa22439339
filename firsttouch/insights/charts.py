"""Draw the report's charts with matplotlib, off-screen, as SVG or PNG bytes.

The Agg backend is chosen before pyplot is imported so a server or a CI
box without a display can draw. Each chart comes from the pre-binned data in
``results.Charts``; a chart with no data is simply not drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be set first
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

from firsttouch.insights.results import Charts, LeakReport  # noqa: E402

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BAR = "#3b6ea5"
ALARM = "#c0504d"


@dataclass(frozen=True)
class Chart:
    """One drawn chart: a file-friendly name, a title and its image bytes."""

    name: str
    title: str
    svg: bytes
    png: bytes | None = None


def draw_charts(report: LeakReport, png: bool = False) -> list[Chart]:
    """Draw every chart the report has data for."""
    charts = report.charts
    drawn = []
    for name, title, draw in (
        ("response_time", "Time to first touch", _response_time),
        (
            "hour_of_week",
            f"Inbound and response by hour of week ({report.timezone})",
            _heatmap,
        ),
        ("touches_per_lead", "Touches per lead", _touches),
        ("stage_aging", "Open deals by days in stage", _stage_aging),
    ):
        figure = draw(charts)
        if figure is None:
            continue
        figure.suptitle(title, fontsize=11)
        drawn.append(
            Chart(
                name,
                title,
                _render(figure, "svg"),
                _render(figure, "png") if png else None,
            )
        )
        plt.close(figure)
    return drawn


def _render(figure: MplFigure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # No date in the metadata, so the same report draws the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, bbox_inches="tight", metadata=metadata, dpi=110)
    return buffer.getvalue()


def _bars(labels: list[str], counts: list[int], highlight: set[str]) -> MplFigure:
    figure, axes = plt.subplots(figsize=(7, 3.2))
    colours = [ALARM if label in highlight else BAR for label in labels]
    axes.bar(labels, counts, color=colours)
    axes.set_ylabel("leads")
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure


def _response_time(charts: Charts) -> MplFigure | None:
    bins = charts.response_minutes
    if not bins or sum(b.count for b in bins) == 0:
        return None
    slow = {"1-4 h", "4-24 h", "1-3 days", "over 3 days", "never"}
    return _bars([b.label for b in bins], [b.count for b in bins], slow)


def _touches(charts: Charts) -> MplFigure | None:
    bins = charts.touches_per_lead
    if not bins or sum(b.count for b in bins) == 0:
        return None
    figure = _bars([b.label for b in bins], [b.count for b in bins], {"0", "1"})
    figure.axes[0].set_xlabel("outbound touches")
    return figure


def _heatmap(charts: Charts) -> MplFigure | None:
    heatmap = charts.heatmap
    if heatmap is None or sum(map(sum, heatmap.counts)) == 0:
        return None
    figure, (counts_axes, minutes_axes) = plt.subplots(
        2, 1, figsize=(8, 5.6), sharex=True
    )
    image = counts_axes.imshow(heatmap.counts, aspect="auto", cmap="Blues")
    figure.colorbar(image, ax=counts_axes, label="inbound")
    counts_axes.set_title("inbound", fontsize=9)

    # Minutes span seconds to days: a log colour scale keeps both readable.
    minutes = np.array(
        [
            [np.nan if v is None else max(v, 0.5) for v in row]
            for row in heatmap.median_minutes
        ],
        dtype=float,
    )
    if np.isfinite(minutes).any():
        finite = minutes[np.isfinite(minutes)]
        norm = LogNorm(
            vmin=max(float(finite.min()), 0.5), vmax=max(float(finite.max()), 1.0)
        )
        image = minutes_axes.imshow(minutes, aspect="auto", cmap="OrRd", norm=norm)
        figure.colorbar(image, ax=minutes_axes, label="minutes")
    minutes_axes.set_title("median minutes to first touch", fontsize=9)
    for axes in (counts_axes, minutes_axes):
        axes.set_yticks(range(7), DAYS)
    minutes_axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    minutes_axes.set_xlabel("hour of arrival")
    return figure


def _stage_aging(charts: Charts) -> MplFigure | None:
    stages = [s for s in charts.stage_aging if s.with_age > 0]
    if not stages:
        return None
    figure, axes = plt.subplots(figsize=(7, 0.5 * len(stages) + 1.5))
    labels = [b.label for b in stages[0].age_bins]
    left = [0] * len(stages)
    palette = plt.get_cmap("RdYlGn_r")
    for index, label in enumerate(labels):
        counts = [s.age_bins[index].count for s in stages]
        axes.barh(
            [s.stage for s in stages],
            counts,
            left=left,
            label=label,
            color=palette(index / max(len(labels) - 1, 1)),
        )
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_xlabel("open deals")
    axes.legend(
        fontsize=7,
        ncols=len(labels),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
        frameon=False,
    )
    return figure
