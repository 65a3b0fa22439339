"""Read a column of export dates, whatever format and zone it was written in.

Each column is read with one format chosen from a sample, so a million rows
parse in one vectorised pass; values the chosen format misses get a second
pass through the other formats before they are reported as unreadable.
Naive times are taken to be in the export's zone (``tz``) and stored as
naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ISO = "ISO8601"

# (format, order) where order says which of day/month comes first, if any.
CANDIDATES: tuple[tuple[str, str], ...] = (
    (ISO, "ymd"),
    ("%m/%d/%Y %I:%M %p", "mdy"),
    ("%m/%d/%Y, %I:%M %p", "mdy"),
    ("%m/%d/%Y %I:%M:%S %p", "mdy"),
    ("%m/%d/%Y %H:%M", "mdy"),
    ("%m/%d/%Y %H:%M:%S", "mdy"),
    ("%m/%d/%Y", "mdy"),
    ("%m/%d/%y %I:%M %p", "mdy"),
    ("%m/%d/%y", "mdy"),
    ("%d/%m/%Y %H:%M", "dmy"),
    ("%d/%m/%Y %H:%M:%S", "dmy"),
    ("%d/%m/%Y, %H:%M", "dmy"),
    ("%d/%m/%Y", "dmy"),
    ("%d/%m/%y", "dmy"),
    ("%d.%m.%Y %H:%M", "dmy"),
    ("%d.%m.%Y %H:%M:%S", "dmy"),
    ("%d.%m.%Y", "dmy"),
    ("%Y/%m/%d %H:%M:%S", "ymd"),
    ("%Y/%m/%d %H:%M", "ymd"),
    ("%Y/%m/%d", "ymd"),
    ("%d-%b-%Y", "dmy"),
    ("%d %b %Y", "dmy"),
    ("%d %b %Y %H:%M", "dmy"),
    ("%b %d, %Y", "mdy"),
    ("%b %d, %Y %I:%M %p", "mdy"),
    ("%B %d, %Y", "mdy"),
)

_OFFSET_AT_END = r"(?:Z|[+-]\d\d:?\d\d)$"
_SAMPLE_SIZE = 1500


@dataclass(frozen=True)
class ParsedTimes:
    """A parsed column: UTC times, which raw values failed, and how it was read."""

    times: pd.Series
    failed: pd.Series
    format: str
    date_only: bool
    note: str


def parse_times(
    raw: pd.Series,
    tz: str = "UTC",
    dayfirst: bool | None = None,
    fmt: str | None = None,
) -> ParsedTimes:
    """Parse text dates to naive UTC ``datetime64[ns]``; unreadable ones become NaT.

    ``dayfirst`` settles 03/04/2024 when the sample cannot; None means month
    first unless some value proves otherwise. ``fmt`` reuses a format chosen
    on an earlier chunk of the same column.
    """
    present = raw.notna()
    if not present.any():
        empty = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        return ParsedTimes(empty, present, "", False, "")

    # Stripping a million values costs more than the parse: only the
    # leftovers of the first pass are stripped.
    text = raw[present].astype("object")
    chosen, note = (fmt, "") if fmt else _choose_format(_sample(text), dayfirst)

    # One vectorised pass with the chosen format, then the leftovers.
    times = _parse_with(text, chosen, tz)
    missed = times.isna()
    if missed.any():
        times[missed] = _parse_leftovers(text[missed], chosen, tz)

    full = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    full[present] = times
    failed = present & full.isna()
    date_only = _is_date_only(chosen, text)
    return ParsedTimes(full, failed, chosen, date_only, note)


def _sample(text: pd.Series) -> pd.Series:
    if len(text) <= _SAMPLE_SIZE:
        return text

    # Spread the sample over the file: exports are often sorted by date,
    # and a format change usually follows a system change part way down.
    positions = np.linspace(0, len(text) - 1, _SAMPLE_SIZE).astype(int)
    return text.iloc[positions]


def _choose_format(sample: pd.Series, dayfirst: bool | None) -> tuple[str, str]:
    # ISO 8601 is unambiguous and by far the commonest: when it reads the
    # whole sample, no other format needs trying.
    if int(_parse_with(sample, ISO, "UTC").notna().sum()) == len(sample):
        return ISO, ""

    hits: dict[str, int] = {}
    for fmt, _order in CANDIDATES:
        hits[fmt] = int(_parse_with(sample, fmt, "UTC").notna().sum())

    if _looks_like_epoch(sample):
        hits["epoch"] = len(sample)

    best = max(hits.values())
    if best == 0:
        # Nothing reads: the caller judges the column; no order note applies.
        return ISO, ""

    tied = [fmt for fmt, count in hits.items() if count == best]
    if len(tied) == 1:
        return tied[0], ""

    # 03/04/2024 reads both ways: a day-first format wins only when asked.
    orders = dict(CANDIDATES)
    wanted = "dmy" if dayfirst else "mdy"
    preferred = [fmt for fmt in tied if orders.get(fmt) == wanted] or tied
    other = "day/month" if wanted == "mdy" else "month/day"
    shown = "month/day" if wanted == "mdy" else "day/month"
    note = f"dates read as {shown}; every sampled value also reads as {other}"
    return preferred[0], note


def _looks_like_epoch(sample: pd.Series) -> bool:
    return bool(sample.astype(str).str.fullmatch(r"\d{10}(?:\d{3})?").all())


def _parse_with(text: pd.Series, fmt: str, tz: str) -> pd.Series:
    if fmt == "epoch":
        return _parse_epoch(text)

    if fmt == ISO:
        return _parse_iso(text, tz)

    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return _local_to_utc(parsed, tz)


def _parse_iso(text: pd.Series, tz: str) -> pd.Series:
    parsed = pd.to_datetime(text, format=ISO, errors="coerce", utc=True)
    parsed = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    if tz == "UTC":
        return parsed

    # Values with an offset are already UTC; naive ones are in the export zone.
    naive = ~text.str.contains(_OFFSET_AT_END, regex=True, na=False)
    if naive.any():
        parsed[naive] = _local_to_utc(parsed[naive], tz)

    return parsed


def _parse_epoch(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    millis = numbers.where(numbers < 1e11, numbers / 1000.0)
    return pd.to_datetime(millis, unit="s", errors="coerce").astype("datetime64[ns]")


def _local_to_utc(parsed: pd.Series, tz: str) -> pd.Series:
    parsed = parsed.astype("datetime64[ns]")
    if tz == "UTC":
        return parsed

    # A wall time skipped or repeated by a DST change has no single UTC
    # moment; shifting forward and taking the first keeps the row.
    flags = np.ones(len(parsed), dtype=bool)
    local = parsed.dt.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC").dt.tz_localize(None)


def _parse_leftovers(text: pd.Series, chosen: str, tz: str) -> pd.Series:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    remaining = text.astype(str).str.strip()
    first = _parse_with(remaining, chosen, tz)
    found = first.notna()
    result[found[found].index] = first[found]
    remaining = remaining[~found]
    for fmt, _order in CANDIDATES:
        if fmt == chosen or remaining.empty:
            continue

        parsed = _parse_with(remaining, fmt, tz)
        found = parsed.notna()
        result[found[found].index] = parsed[found]
        remaining = remaining[~found]

    if not remaining.empty and chosen != "epoch":
        parsed = _parse_epoch(remaining.where(remaining.str.fullmatch(r"\d{10,13}")))
        found = parsed.notna()
        result[found[found].index] = parsed[found]

    return result


def _is_date_only(chosen: str, text: pd.Series) -> bool:
    if chosen == ISO:
        return bool(_sample(text).astype(str).str.strip().str.len().max() <= 10)

    return chosen != "epoch" and "%H" not in chosen and "%I" not in chosen
