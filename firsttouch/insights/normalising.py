"""Turn one raw chunk of an export into normalised records.

Each mapped column is parsed by its kind. A value that cannot be read is
kept as missing and reported with its row and column; a column that turns
out to hold something else entirely (words where dates belong) is set aside
with a note instead of flooding the report with one problem per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from firsttouch.insights.cells import defuse_formula
from firsttouch.insights.columns import ColumnMapping
from firsttouch.insights.dates import parse_times
from firsttouch.insights.results import InputProblem
from firsttouch.insights.schema import COLUMN_KINDS
from firsttouch.insights.values import Distinct, parse_flags, parse_numbers

MAX_PROBLEMS_KEPT = 50

# Past this share of unreadable values a column is judged the wrong column.
_WRONG_COLUMN_SHARE = 0.5

_DISQUALIFIED = re.compile(
    r"unqualif|disqualif|not converted|junk|bad fit|not a fit|spam|bad timing"
)
_LOST = re.compile(r"\blost\b|closedlost|\bdead\b")
_WON = re.compile(r"\bwon\b|closedwon")

HELPER_KINDS: dict[str, str] = {
    "replied_on": "time",
    "status": "text",
    "lifecycle": "text",
}


@dataclass
class ChunkContext:
    """What one chunk needs from the read so far: zone, formats, problems."""

    file: str
    tz: str
    dayfirst: bool | None
    mapping: ColumnMapping
    time_formats: dict[str, str] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    problems: list[InputProblem] = field(default_factory=list)
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)
    date_only: set[str] = field(default_factory=set)
    score_is_words: bool = False


def normalise_chunk(
    raw: pd.DataFrame, first_row: int, context: ChunkContext
) -> pd.DataFrame:
    """Return records for ``raw``, whose first row is spreadsheet row ``first_row``."""
    out: dict[str, pd.Series] = {}
    for name, column in context.mapping.by_field.items():
        if name in context.dropped:
            continue

        kind = COLUMN_KINDS.get(name) or HELPER_KINDS[name]
        values = raw.iloc[:, column.position]
        if kind in ("number", "flag") and _is_typed(values):
            # The parser already read it as numbers or booleans.
            out[name] = _typed(values, kind)
            continue

        if name != "lead_id":
            values = as_text(values)
        parsed = _parse_column(name, kind, values, first_row, context)
        if parsed is not None:
            out[name] = parsed

    records = pd.DataFrame(out, index=raw.index)
    return fold_helpers(records)


def _is_typed(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values.dtype))


def _typed(values: pd.Series, kind: str) -> pd.Series:
    if kind == "flag":
        return values.astype("float64").map({1.0: True, 0.0: False}).astype("boolean")
    return values.astype("float64")


def as_text(values: pd.Series) -> pd.Series:
    """Return ``values`` as strings (missing kept missing), whatever was inferred."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        return values

    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if (finite == finite.round()).all():
            # 1773151200.0 is an epoch second or an id, not a fraction.
            values = values.astype("Int64")
    elif pd.api.types.is_object_dtype(values.dtype) and pd.api.types.infer_dtype(
        values, skipna=True
    ) in ("string", "empty"):
        return values

    return values.astype("str").where(values.notna(), None)


def _parse_column(
    name: str, kind: str, values: pd.Series, first_row: int, context: ChunkContext
) -> pd.Series | None:
    header = context.mapping.by_field[name].header
    if name == "lead_id":
        # Ids are all distinct: splitting them would cost and save nothing,
        # and they are only compared, so whatever type they came as will do.
        return values

    if kind == "time":
        return _parse_time_column(name, values, first_row, context)

    distinct = Distinct.of(values)
    if kind == "text":
        stripped = distinct.values.str.strip()
        stripped = stripped.where(stripped != "", None)
        return distinct.spread(stripped, values.index, None)

    parsed, failed_distinct = _parse_distinct(name, kind, distinct.values, context)
    if name == "score" and _mostly(failed_distinct):
        # Ratings written as words (Hot, Warm, Cold): only presence counts.
        context.score_is_words = True
        present = pd.Series(1.0, index=distinct.values.index, dtype="float64")
        return distinct.spread(present, values.index, np.nan)

    if _mostly(failed_distinct) and first_row <= 2:
        context.dropped.add(name)
        context.notes.append(
            f"column {header!r} does not hold {_kind_words(kind)}; not used for {name}"
        )
        return None

    failed = distinct.spread(failed_distinct, values.index, False)
    _record_problems(failed, values, header, kind, first_row, context)
    blank: object = pd.NaT if kind == "time" else (pd.NA if kind == "flag" else np.nan)
    return distinct.spread(parsed, values.index, blank)


def _parse_time_column(
    name: str, values: pd.Series, first_row: int, context: ChunkContext
) -> pd.Series | None:
    header = context.mapping.by_field[name].header
    times, failed = _parse_distinct(name, "time", values, context)
    present = values.notna()
    wrong = (
        present.any() and int(failed.sum()) / int(present.sum()) > _WRONG_COLUMN_SHARE
    )
    # Judged on the first chunk only: later chunks must not drop a column
    # that earlier ones already filled.
    if wrong and first_row <= 2:
        context.dropped.add(name)
        context.notes.append(f"column {header!r} does not hold a date; not used")
        return None

    _record_problems(failed, values, header, "time", first_row, context)
    return times


def _parse_distinct(
    name: str, kind: str, values: pd.Series, context: ChunkContext
) -> tuple[pd.Series, pd.Series]:
    if kind == "time":
        header = context.mapping.by_field[name].header
        fmt = context.time_formats.get(name)
        times = parse_times(values, context.tz, context.dayfirst, fmt)
        if fmt is None and times.format:
            context.time_formats[name] = times.format
            if times.note:
                context.notes.append(f"{header!r}: {times.note}")
            if times.date_only:
                context.date_only.add(name)
        return times.times, times.failed

    if kind == "flag":
        flags = parse_flags(values)
        return flags.values, flags.failed

    numbers = parse_numbers(values)
    return numbers.values, numbers.failed


def _mostly(failed: pd.Series) -> bool:
    # Judged over distinct values: one stray word repeated a million times
    # is still one thing to report, not a wrong column.
    return len(failed) > 0 and int(failed.sum()) / len(failed) > _WRONG_COLUMN_SHARE


def _record_problems(
    failed: pd.Series,
    values: pd.Series,
    header: str,
    kind: str,
    first_row: int,
    context: ChunkContext,
) -> None:
    count = int(failed.sum())
    if count == 0:
        return

    context.problem_count += count
    room = MAX_PROBLEMS_KEPT - len(context.problems)
    positions = np.flatnonzero(failed.to_numpy())[: max(room, 0)]
    for position in positions:
        context.problems.append(
            InputProblem(
                file=context.file,
                row=first_row + int(position),
                column=defuse_formula(header),
                value=defuse_formula(str(values.iloc[position])[:80]),
                message=f"not readable as {_kind_words(kind)}; left blank",
            )
        )


def _kind_words(kind: str) -> str:
    return {"time": "a date", "flag": "yes/no", "number": "a number"}.get(kind, kind)


def fold_helpers(records: pd.DataFrame) -> pd.DataFrame:
    """Fold status, lifecycle, stage and reply dates into the record's flags."""
    if "replied_on" in records and "replied" not in records:
        records["replied"] = records["replied_on"].notna().astype("boolean")

    won: pd.Series | None = records.get("won")
    closed: pd.Series | None = records.get("closed")
    for helper in ("status", "stage", "lifecycle"):
        if helper not in records:
            continue

        distinct = Distinct.of(records[helper])
        words = distinct.values.astype(str).str.lower()
        won_words, closed_words = _outcome_from_words(words, helper)
        helper_won = distinct.spread(won_words, records.index, pd.NA)
        helper_closed = (
            None
            if closed_words is None
            else distinct.spread(closed_words, records.index, pd.NA)
        )
        won = helper_won if won is None else won.fillna(helper_won)
        if helper_closed is not None:
            closed = helper_closed if closed is None else closed.fillna(helper_closed)

        if helper == "status" and "disqualified" not in records:
            # Only a status vocabulary that has a "disqualified" word says
            # anything about disqualification; otherwise leave it unknown.
            ruled_out = pd.Series(words.str.contains(_DISQUALIFIED), dtype="boolean")
            if ruled_out.any():
                records["disqualified"] = distinct.spread(
                    ruled_out, records.index, False
                )

    if won is not None:
        records["won"] = won
        if closed is None:
            # Only a win says a record is over; a blank or False may be open.
            closed = won.fillna(False).astype("boolean")
        records["closed"] = closed.fillna(False) | won.fillna(False)

    return records.drop(columns=[name for name in HELPER_KINDS if name in records])


def _outcome_from_words(
    words: pd.Series, helper: str
) -> tuple[pd.Series, pd.Series | None]:
    if helper == "lifecycle":
        # A contact is won when it became a customer; nothing says it closed.
        won = pd.Series(words.eq("customer"), dtype="boolean")
        return won, None

    is_won = words.str.contains(_WON)
    is_lost = words.str.contains(_LOST) | words.str.contains(_DISQUALIFIED)
    won = pd.Series(pd.NA, index=words.index, dtype="boolean")
    won[is_won] = True
    won[is_lost & ~is_won] = False
    closed = pd.Series(is_won | is_lost, dtype="boolean")
    if helper == "status" and not (is_won | is_lost).any():
        return won, None

    return won, closed
