"""Assemble the whole leak report from normalised records.

This is the one place every entry point meets: an export read from a file,
a DataFrame handed in by the demo, and firsttouch's own tables all become
records and come here. It does no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from firsttouch import clock
from firsttouch.insights.advice import biggest_leak
from firsttouch.insights.basis import Basis
from firsttouch.insights.estimate import estimate_recoverable
from firsttouch.insights.layers import (
    measure_capture,
    measure_crm,
    measure_nurture,
    measure_qualify,
    measure_respond,
)
from firsttouch.insights.results import Charts, InputSummary, LeakReport
from firsttouch.insights.schema import TIME_COLUMNS, coerce_records
from firsttouch.insights.settings import LeakSettings

# Times that record something that already happened; a next step is planned.
PAST_COLUMNS = tuple(
    name for name in TIME_COLUMNS if name not in ("next_step_at", "closed_at")
)

MEASURES = (
    measure_capture,
    measure_respond,
    measure_qualify,
    measure_nurture,
    measure_crm,
)


def report_from_records(
    records: pd.DataFrame,
    *,
    as_of: datetime | None = None,
    settings: LeakSettings | None = None,
    summary: InputSummary | None = None,
    date_only: frozenset[str] = frozenset(),
) -> LeakReport:
    """Score every layer of ``records`` and name the biggest leak.

    ``records`` uses the columns of ``schema.RECORD_COLUMNS`` (others are
    ignored). Without ``as_of`` the report is judged at the latest time the
    records hold, since an export does not say when it was taken.
    """
    settings = settings or LeakSettings()
    records = coerce_records(records)
    moment, note = _as_of(records, as_of)
    basis = Basis(records=records, as_of=moment, settings=settings, date_only=date_only)

    charts = Charts()
    layers = [measure(basis, charts) for measure in MEASURES]
    leak = biggest_leak(layers)
    summary = summary or InputSummary(
        origin="records", rows_read=len(records), rows_used=len(records)
    )
    return LeakReport(
        as_of=moment,
        as_of_note=note,
        timezone=settings.timezone,
        records=len(records),
        layers=layers,
        biggest_leak=leak,
        no_leak_reason="" if leak else "no layer had data to score",
        estimate=estimate_recoverable(basis),
        charts=charts,
        input=summary,
    )


def _as_of(records: pd.DataFrame, as_of: datetime | None) -> tuple[datetime, str]:
    if as_of is not None:
        return clock.ensure_utc(as_of), "as of the moment given"

    latest = [records[name].max() for name in PAST_COLUMNS if name in records]
    if "closed_at" in records and "closed" in records:
        # An open deal's close date is a forecast, not something that happened.
        latest.append(records.loc[records["closed"].fillna(False), "closed_at"].max())
    latest = [value for value in latest if not pd.isna(value)]
    if latest:
        moment = max(latest).to_pydatetime().replace(tzinfo=UTC)
        return (
            moment,
            "as of the latest date in the data (an export does not say when "
            "it was taken)",
        )

    return clock.now(), "as of now (the data holds no dates)"
