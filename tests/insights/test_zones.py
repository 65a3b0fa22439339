"""Dates written in a team's own zone and format: read, converted, judged locally."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from firsttouch.insights.reading import read_export
from firsttouch.insights.report import report_from_records
from firsttouch.insights.settings import LeakSettings

SALESFORCE_LEADS = (
    "Lead ID,Lead Owner,Lead Source,Created Date,First Response Date\n"
    # 8:30 PM in New York on a Monday: after hours there, not in UTC terms.
    '00Q1,Cara Diaz,Web,"3/9/2026, 8:30 PM","3/10/2026, 9:00 AM"\n'
    '00Q2,Cara Diaz,Web,"3/10/2026, 10:00 AM","3/10/2026, 10:04 AM"\n'
)


def test_us_export_in_new_york_time_is_judged_in_new_york(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(SALESFORCE_LEADS)
    read = read_export(path, tz="America/New_York")
    settings = LeakSettings(timezone="America/New_York")
    report = report_from_records(
        read.records,
        settings=settings,
        summary=read.summary,
        as_of=datetime(2026, 3, 11, tzinfo=UTC),
    )

    # 8:30 PM EDT (UTC-4 after 8 March) is 00:30 UTC the next day.
    assert read.records["created_at"].iloc[0] == pd.Timestamp("2026-03-10 00:30")
    figures = {f.key: f.value for f in report.layer("respond").figures}
    assert figures["median_minutes"] == 377.0  # median of 750 and 4 minutes
    assert figures["median_after_hours"] == 750.0
    assert figures["median_business_hours"] == 4.0
    assert report.charts.heatmap is not None
    assert report.charts.heatmap.counts[0][20] == 1  # Monday 20:00 local
    capture = {f.key: f.value for f in report.layer("capture").figures}
    assert capture["after_hours_share"] == 50.0


def test_day_first_dates_are_recognised_when_a_day_passes_twelve(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Lead ID;Lead Owner;Created Date\n"
        "1;Ann;03/04/2026 09:00\n"
        "2;Ann;13/04/2026 09:00\n"
    )
    read = read_export(path)

    assert read.records["created_at"].tolist() == [
        pd.Timestamp("2026-04-03 09:00"),
        pd.Timestamp("2026-04-13 09:00"),
    ]


def test_dates_without_times_score_only_never_touched(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Lead ID,Created Date,First Response Date\n"
        "1,2026-03-02,2026-03-02\n"
        "2,2026-03-02,2026-03-03\n"
        "3,2026-03-03,\n"
        "4,2026-03-04,2026-03-04\n"
    )
    read = read_export(path)
    report = report_from_records(
        read.records,
        summary=read.summary,
        date_only=read.date_only,
        as_of=datetime(2026, 3, 10, tzinfo=UTC),
    )

    parts = {p.key: (p.metric, p.score) for p in report.layer("respond").parts}
    assert parts["median_response"] == (None, None)
    assert parts["within_5"] == (None, None)
    assert parts["never"] == (25.0, linear_never(0.25))
    # Only the never-touched part is left: its mark is the layer's score.
    assert report.layer("respond").score == round(linear_never(0.25))


def linear_never(share: float) -> float:
    return round(100 * (0.3 - share) / 0.3, 1)
