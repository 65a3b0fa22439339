"""Read a CRM export file into normalised records, losing nothing silently.

The file is read in chunks so a million rows fit in modest memory and a
progress bar can move. Every row is accounted for in the summary: used,
blank, or a duplicate of an earlier row; every unreadable value is listed
with its row and column (spreadsheet numbering: the header is row 1).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from firsttouch.insights.cells import defuse_formula
from firsttouch.insights.columns import ColumnMapping, Source, map_columns
from firsttouch.insights.normalising import (
    MAX_PROBLEMS_KEPT,
    ChunkContext,
    normalise_chunk,
)
from firsttouch.insights.results import ColumnReport, InputProblem, InputSummary
from firsttouch.insights.schema import COLUMN_KINDS
from firsttouch.insights.sniffing import ExportReadError, FileShape, sniff_file

CHUNK_ROWS = 200_000

# Words CRMs write for "nothing here"; "-" alone is Pipedrive's blank.
NA_WORDS: list[str] = ["", "NULL", "null", "N/A", "n/a", "#N/A", "-", "--", "Select"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportRead:
    """Records read from one export and the account of how they were read."""

    records: pd.DataFrame
    summary: InputSummary
    date_only: frozenset[str]


def read_export(
    path: Path,
    source: Source = "auto",
    tz: str = "UTC",
    dayfirst: bool | None = None,
    progress: Progress | None = None,
) -> ExportRead:
    """Read ``path`` as a CRM export; raise ``ExportReadError`` if it cannot be read."""
    shape = sniff_file(path)
    mapping = map_columns(shape.headers, source)
    if not mapping.by_field:
        shown = ", ".join(shape.headers[:12])
        raise ExportReadError(
            str(path), f"no column matches a known CRM field ({shown})"
        )

    context = ChunkContext(file=str(path), tz=tz, dayfirst=dayfirst, mapping=mapping)
    parts: list[pd.DataFrame] = []
    rows_read = 0
    blank_rows = 0
    skipped: list[tuple[int, int, int]] = []
    for raw in _chunks(path, shape, progress, skipped):
        records = normalise_chunk(raw, rows_read + 2, context)
        blank = _blank_rows(raw)
        blank_rows += int(blank.sum())
        parts.append(records[~blank])
        rows_read += len(raw)

    records = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    records, duplicates, repeated_ids = _drop_duplicates(records)
    _report_skipped(skipped, context)
    rows_read += len(skipped)
    summary = _summarise(path, shape, mapping, context, rows_read, blank_rows)
    summary.duplicate_rows = duplicates
    summary.rows_used = len(records)
    if repeated_ids:
        summary.notes.append(
            f"{repeated_ids} ids appear on rows that differ; each row is counted"
        )

    return ExportRead(records, summary, frozenset(context.date_only))


def _chunks(
    path: Path,
    shape: FileShape,
    progress: Progress | None,
    skipped: list[tuple[int, int, int]],
) -> Iterator[pd.DataFrame]:
    with path.open("rb") as binary:
        reader = pd.read_csv(
            binary,
            sep=shape.delimiter,
            encoding=shape.encoding,
            # Letting the parser infer types is several times faster than
            # asking for text everywhere; ``normalising`` turns any column
            # that came back typed into text where text is needed.
            keep_default_na=False,
            na_values=NA_WORDS,
            skip_blank_lines=False,
            chunksize=CHUNK_ROWS,
            header=0,
            # A row with more fields than the header is skipped and
            # reported, so one bad row never costs the rest of the file.
            on_bad_lines="warn",
        )
        try:
            for chunk in _recording_skips(reader, skipped):
                # The parser reads ahead in blocks, so the file position is
                # a close enough measure of how far the read has come.
                if progress is not None:
                    progress(min(binary.tell(), shape.size), shape.size)
                yield chunk
        except pd.errors.ParserError as exc:
            raise ExportReadError(
                str(path), _parser_message(exc), row=_parser_line(exc)
            ) from exc
        except UnicodeDecodeError as exc:
            raise ExportReadError(
                str(path), f"undecodable bytes ({exc.reason})"
            ) from exc


def _recording_skips(
    reader: Iterator[pd.DataFrame], skipped: list[tuple[int, int, int]]
) -> Iterator[pd.DataFrame]:
    """Yield chunks, noting each row the parser skipped: (line, expected, saw)."""
    chunks = iter(reader)
    while True:
        # Caught around the parser's own step only, so the caller's warnings
        # are left alone.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            chunk = next(chunks, None)
        for warning in caught:
            skipped.extend(
                (int(line), int(expected), int(saw))
                for line, expected, saw in _SKIPPED.findall(str(warning.message))
            )
        if chunk is None:
            return
        yield chunk


_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def _report_skipped(skipped: list[tuple[int, int, int]], context: ChunkContext) -> None:
    context.problem_count += len(skipped)
    for line, expected, saw in skipped:
        if len(context.problems) >= MAX_PROBLEMS_KEPT:
            break
        context.problems.append(
            InputProblem(
                file=context.file,
                row=line,
                column="(whole row)",
                value=f"{saw} fields",
                message=f"the header has {expected}; a value probably holds an "
                "unquoted delimiter. Row skipped",
            )
        )
    if skipped:
        context.notes.append(
            f"{len(skipped)} rows had more fields than the header "
            "and were skipped (listed under problems)"
        )


def _blank_rows(raw: pd.DataFrame) -> pd.Series:
    # Judged on the raw cells: derived flags (closed, won) are filled in
    # even on an empty row. A blank row is blank in its first cell, so only
    # those few rows need every cell checked.
    blank = pd.Series(False, index=raw.index)
    candidates = raw.iloc[:, 0].isna()
    if candidates.any():
        blank[candidates] = raw[candidates].isna().all(axis=1)
    return blank


def _parser_line(exc: Exception) -> int | None:
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _parser_message(exc: Exception) -> str:
    found = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", str(exc))
    if found:
        expected, saw = found.groups()
        return (
            f"{saw} fields where the header has {expected}; a value probably holds "
            "an unquoted delimiter"
        )

    return f"unreadable CSV ({exc})"


def _drop_duplicates(records: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    if records.empty:
        return records, 0, 0

    # Only rows sharing an id can be duplicates; comparing just those keeps
    # a million-row export from paying for a full-row hash.
    if "lead_id" in records:
        candidates = records["lead_id"].notna() & records["lead_id"].duplicated(
            keep=False
        )
        if not candidates.any():
            return records, 0, 0

        subset = records[candidates]
        repeated = subset[~subset.duplicated()]
        repeated_ids = int(repeated["lead_id"].duplicated().sum())
        duplicate = pd.Series(False, index=records.index)
        duplicate[subset.index] = subset.duplicated()
    else:
        duplicate = records.duplicated()
        repeated_ids = 0

    kept = records[~duplicate].reset_index(drop=True)
    return kept, int(duplicate.sum()), repeated_ids


def _summarise(
    path: Path,
    shape: FileShape,
    mapping: ColumnMapping,
    context: ChunkContext,
    rows_read: int,
    blank_rows: int,
) -> InputSummary:
    summary = summarise_mapping(str(path), mapping, context, rows_read, blank_rows)
    summary.notes = list(shape.notes)
    return summary


def summarise_mapping(
    origin: str,
    mapping: ColumnMapping,
    context: ChunkContext,
    rows_read: int,
    blank_rows: int = 0,
) -> InputSummary:
    """Account for a read: rows, problems, and which columns fed which field."""
    mapped = {
        name: column.header
        for name, column in mapping.by_field.items()
        if name not in context.dropped
    }
    # Headers are export text too: defused before they enter the report.
    shown = {name: defuse_formula(header) for name, header in mapped.items()}
    kept_mapping = ColumnMapping(
        mapping.source,
        mapping.detection_note,
        {name: mapping.by_field[name] for name in mapped},
        mapping.unmapped,
    )
    notes = list(mapping.notes) + list(context.notes)
    if context.score_is_words:
        notes.append(
            "scores are words (Hot, Warm, Cold): only whether one is set is used"
        )

    columns = ColumnReport(
        detected_source=mapping.source,
        detection_note=mapping.detection_note,
        mapped=shown,
        missing=kept_mapping.missing(tuple(COLUMN_KINDS)),
        unmapped=[defuse_formula(header) for header in mapping.unmapped],
        notes=notes,
    )
    return InputSummary(
        origin=origin,
        rows_read=rows_read,
        rows_used=rows_read - blank_rows,
        blank_rows=blank_rows,
        problem_count=context.problem_count,
        problems=list(context.problems),
        columns=columns,
    )
