"""Score a pandas DataFrame of lead-level rows, as an export would be scored.

The columns may carry a CRM's headers ("Lead Owner", "Deal - Value") or the
record's own names (``owner``, ``first_touch_at``): both are mapped the same
way as a file's header row, and the values are read as text so every date,
amount and flag goes through the same parsing as an export.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from firsttouch.insights.columns import Source, map_columns
from firsttouch.insights.normalising import ChunkContext, normalise_chunk
from firsttouch.insights.reading import summarise_mapping
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import InputSummary, LeakReport
from firsttouch.insights.settings import LeakSettings
from firsttouch.insights.sniffing import ExportReadError


def leak_score_from_frame(
    frame: pd.DataFrame,
    *,
    now: datetime | None = None,
    settings: LeakSettings | None = None,
    source: Source = "auto",
    name: str = "data frame",
) -> LeakReport:
    """Score ``frame``, one row per lead or deal; ``ExportReadError`` if unmappable."""
    settings = settings or LeakSettings()
    headers = [str(column) for column in frame.columns]
    mapping = map_columns(headers, source)
    if not mapping.by_field:
        raise ExportReadError(name, f"no column matches a known field ({headers[:12]})")

    context = ChunkContext(
        file=name, tz=settings.timezone, dayfirst=None, mapping=mapping
    )
    raw = _as_text(frame)
    records = normalise_chunk(raw, 2, context)
    summary: InputSummary = summarise_mapping(name, mapping, context, len(frame))
    return report_from_records(
        records,
        as_of=now,
        settings=settings,
        summary=summary,
        date_only=frozenset(context.date_only),
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    # Typed columns (datetimes, bools, numbers) become their text form so one
    # parser reads them all; missing stays missing.
    text = frame.astype("string").astype(object)
    text = text.where(frame.notna(), None)
    text.columns = range(len(frame.columns))
    return text.reset_index(drop=True)
