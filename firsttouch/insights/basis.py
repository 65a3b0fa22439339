"""What every layer measures against: the records, the moment and the knobs.

A layer reads only the record columns it needs. ``Basis.has`` says whether
the source recorded a column at all (absent means "no data", not zero), and
``Basis.as_of`` is the moment ages and "still waiting" are judged from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from firsttouch.insights.settings import LeakSettings

MINUTE = np.timedelta64(60, "s")


@dataclass(frozen=True)
class Basis:
    """Records, the moment they are judged at, and the settings in force."""

    records: pd.DataFrame
    as_of: datetime
    settings: LeakSettings
    date_only: frozenset[str] = frozenset()

    def has(self, *names: str) -> bool:
        """True when the source recorded every named column.

        A recorded column that is blank on every row still counts: a blank
        owner or first touch is a finding, not an absence of data.
        """
        return all(name in self.records for name in names)

    def lacking(self, *names: str) -> list[str]:
        """The named columns this source did not record."""
        return [name for name in names if not self.has(name)]

    @property
    def as_of_ts(self) -> pd.Timestamp:
        """``as_of`` as a naive UTC timestamp, the form record times take."""
        stamp = pd.Timestamp(self.as_of)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp

    def leads(self) -> pd.DataFrame:
        """Rows that are inbound leads: those with an arrival time when recorded."""
        if "created_at" in self.records:
            return self.records[self.records["created_at"].notna()]
        return self.records

    def deals(self) -> pd.DataFrame:
        """Rows that are deals: those with a stage."""
        if "stage" not in self.records:
            return self.records.iloc[0:0]
        return self.records[self.records["stage"].notna()]


def flag(frame: pd.DataFrame, name: str) -> pd.Series:
    """A boolean column with unknown read as False, or all False when absent."""
    if name not in frame:
        return pd.Series(False, index=frame.index)
    return frame[name].fillna(False).astype(bool)


def share(part: int, whole: int) -> float | None:
    """``part / whole`` or None when there is nothing to divide."""
    return None if whole == 0 else part / whole


def minutes_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Minutes from ``start`` to ``end`` as floats (NaN where either is missing)."""
    return (end - start) / MINUTE


def local_times(times: pd.Series, timezone: str) -> pd.Series:
    """Naive UTC times seen on the team's wall clock."""
    return times.dt.tz_localize("UTC").dt.tz_convert(timezone)


def in_business_hours(times: pd.Series, settings: LeakSettings) -> pd.Series:
    """Whether each naive UTC time falls inside the team's working hours."""
    local = local_times(times, settings.timezone)
    hour = local.dt.hour
    working_day = local.dt.day_of_week.isin(list(settings.business_days))
    working_hour = (hour >= settings.business_start_hour) & (
        hour < settings.business_end_hour
    )
    return (working_day & working_hour).fillna(False).astype(bool)


def percent(value: float | None) -> float | None:
    """A share as a percentage rounded to one place."""
    return None if value is None else round(100.0 * value, 1)
