"""Write a leak report out: HTML with embedded charts, chart files, JSON, CSV.

The HTML opens offline: styles are inline and each chart is a data URI.
The CSV writer defuses every text cell (see ``cells``), so a value such as
``=HYPERLINK(...)`` from an export never comes back as a live formula.
"""

from __future__ import annotations

import base64
import csv
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from firsttouch.insights.cells import defuse_formula
from firsttouch.insights.charts import Chart, draw_charts
from firsttouch.insights.results import LeakReport

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class EmbeddedChart:
    """A chart as the template sees it."""

    title: str
    uri: str


def render_html(report: LeakReport, charts: list[Chart] | None = None) -> str:
    """Render the self-contained HTML report."""
    charts = draw_charts(report) if charts is None else charts
    embedded = [
        EmbeddedChart(
            chart.title,
            "data:image/svg+xml;base64," + base64.b64encode(chart.svg).decode("ascii"),
        )
        for chart in charts
    ]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    return environment.get_template("leak_report.html").render(
        report=report, charts=embedded
    )


def write_html(report: LeakReport, path: Path, png: bool = True) -> list[Path]:
    """Write the HTML report and its charts beside it; return every file written."""
    charts = draw_charts(report, png=png)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, charts), encoding="utf-8")
    written = [path]
    for chart in charts:
        svg = path.with_name(f"{path.stem}-{chart.name}.svg")
        svg.write_bytes(chart.svg)
        written.append(svg)
        if chart.png is not None:
            png_path = svg.with_suffix(".png")
            png_path.write_bytes(chart.png)
            written.append(png_path)
    return written


def report_json(report: LeakReport) -> str:
    """The report as JSON for automation."""
    return report.model_dump_json(indent=2)


def write_csv(report: LeakReport, path: Path) -> None:
    """Write every scored part and figure as rows, safe to open in a spreadsheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "layer",
                "layer_score",
                "kind",
                "key",
                "label",
                "value",
                "unit",
                "mark",
                "note",
            ]
        )
        for layer in report.layers:
            for part in layer.parts:
                writer.writerow(
                    _safe(
                        [
                            layer.layer,
                            layer.score,
                            "part",
                            part.key,
                            part.label,
                            part.metric,
                            part.unit,
                            part.score,
                            part.reason or part.scale,
                        ]
                    )
                )
            for fig in layer.figures:
                writer.writerow(
                    _safe(
                        [
                            layer.layer,
                            layer.score,
                            "figure",
                            fig.key,
                            fig.label,
                            fig.value,
                            fig.unit,
                            "",
                            fig.note,
                        ]
                    )
                )


def _safe(cells: list[object]) -> list[object]:
    # Numbers go out as numbers; text is defused even if already defused
    # upstream (an apostrophe prefix is idempotent in effect).
    return [
        defuse_formula(cell)
        if isinstance(cell, str) and not cell.startswith("'")
        else ("" if cell is None else cell)
        for cell in cells
    ]
