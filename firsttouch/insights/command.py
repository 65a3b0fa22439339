"""Run ``firsttouch leak-score`` end to end: read, score, write, print.

The CLI only parses options and hands them here, so the same run can be
driven from tests and scripts without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console

from firsttouch.insights.columns import Source
from firsttouch.insights.reading import read_export
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import LeakReport
from firsttouch.insights.settings import LeakSettings, settings_with
from firsttouch.insights.terminal import print_summary, progress_bar
from firsttouch.insights.writing import report_json, write_csv, write_html


@dataclass
class LeakScoreRun:
    """Everything one ``leak-score`` run was asked to do."""

    export: Path
    source: Source = "auto"
    html: Path | None = None
    csv: Path | None = None
    json: bool = False
    timezone: str = "UTC"
    dayfirst: bool | None = None
    as_of: datetime | None = None
    assume: list[str] = field(default_factory=list)


def run_leak_score(run: LeakScoreRun, out: Console, err: Console) -> LeakReport:
    """Score the export; print JSON to ``out`` or a summary, progress to ``err``.

    Raises ``ExportReadError`` for an unreadable file and ``ValueError`` for
    a bad ``--assume``.
    """
    settings = settings_with(LeakSettings(timezone=run.timezone), run.assume)
    size = run.export.stat().st_size if run.export.is_file() else 0
    with progress_bar(err, size) as progress:
        read = read_export(run.export, run.source, run.timezone, run.dayfirst, progress)

    report = report_from_records(
        read.records,
        as_of=run.as_of,
        settings=settings,
        summary=read.summary,
        date_only=read.date_only,
    )
    written: list[Path] = []
    if run.html is not None:
        written += write_html(report, run.html)
    if run.csv is not None:
        write_csv(report, run.csv)
        written.append(run.csv)

    if run.json:
        out.file.write(report_json(report) + "\n")
    else:
        print_summary(report, out)
    for path in written:
        err.print(f"[dim]wrote {path}[/dim]")
    return report
