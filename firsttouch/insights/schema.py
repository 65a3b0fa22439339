"""The normalised record: one row per lead (or deal) that every source becomes.

A CRM export is mapped into these columns by ``columns`` and ``reading``;
firsttouch's own database can build the same frame directly. A column that
the source does not record is left out of the frame, and the layers that
need it say "no data". A column that is present but empty on a row means
"did not happen" (no first touch yet, no owner, no reply).

All times are UTC. Aware values are converted to UTC; naive values are
taken to be UTC already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

Kind = Literal["text", "time", "number", "flag"]


@dataclass(frozen=True)
class RecordColumn:
    """One column of the normalised record and what it means."""

    name: str
    kind: Kind
    meaning: str


RECORD_COLUMNS: tuple[RecordColumn, ...] = (
    RecordColumn("lead_id", "text", "the lead's (or deal's) id in its source"),
    RecordColumn("created_at", "time", "when the inbound arrived"),
    RecordColumn("source", "text", "where it came from (campaign, site, referral)"),
    RecordColumn("channel", "text", "how it came (form, email, call, chat, import)"),
    RecordColumn("owner", "text", "the rep or queue that owns it"),
    RecordColumn("first_touch_at", "time", "first outbound touch by a person or us"),
    RecordColumn("touches", "number", "outbound touches made so far"),
    RecordColumn("last_touch_at", "time", "the latest outbound touch"),
    RecordColumn("replied", "flag", "the buyer replied at least once"),
    RecordColumn("reply_touch", "number", "touch number the first reply answered"),
    RecordColumn("score", "number", "the fit score, when one was given"),
    RecordColumn("disqualified", "flag", "ruled out as not a fit"),
    RecordColumn("stage", "text", "current deal or pipeline stage"),
    RecordColumn("deal_value", "number", "deal amount in the team's currency"),
    RecordColumn("won", "flag", "the deal was won (False when lost)"),
    RecordColumn("closed", "flag", "the deal is closed, won or lost"),
    RecordColumn("closed_at", "time", "when the deal closed"),
    RecordColumn("stage_entered_at", "time", "when the deal entered its stage"),
    RecordColumn("last_activity_at", "time", "latest activity logged on it"),
    RecordColumn("logged_at", "time", "when that latest activity was logged"),
    RecordColumn("next_step_at", "time", "the next scheduled step, if any"),
)

COLUMN_KINDS: dict[str, Kind] = {column.name: column.kind for column in RECORD_COLUMNS}

TIME_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in RECORD_COLUMNS if column.kind == "time"
)


def coerce_records(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with each known column in its normal dtype.

    Unknown columns are dropped; missing ones stay missing. Raises
    ``ValueError`` naming the column when a value cannot be coerced.
    """
    out: dict[str, pd.Series] = {}
    for name, kind in COLUMN_KINDS.items():
        if name not in frame.columns:
            continue

        try:
            out[name] = _coerce_column(frame[name], kind)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"records column {name!r}: {exc}") from exc

    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _coerce_column(values: pd.Series, kind: Kind) -> pd.Series:
    values = values.reset_index(drop=True)
    if kind == "time":
        return as_utc_naive(values)

    if kind == "number":
        return pd.to_numeric(values, errors="raise").astype("float64")

    if kind == "flag":
        # Nullable booleans keep "unknown" apart from False.
        return values.astype("boolean")

    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        # A string dtype already keeps text and missing apart; converting a
        # million Arrow strings to Python objects would only cost time.
        return values

    if _is_typed_id(values):
        return values

    return values.astype("object").where(values.notna(), None)


def _is_typed_id(values: pd.Series) -> bool:
    """True for an id column that came typed (numbers): kept as it is."""
    return values.name == "lead_id" and bool(
        pd.api.types.is_numeric_dtype(values.dtype)
    )


def as_utc_naive(values: pd.Series) -> pd.Series:
    """Return times as naive UTC ``datetime64[ns]`` (aware ones converted)."""
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        # utc=True reads naive values as UTC and converts aware ones.
        values = pd.to_datetime(values, utc=True, errors="raise", format="mixed")

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)

    return values.astype("datetime64[ns]")
