"""Reading exports: encodings, delimiters, odd rows and dates, with known answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from firsttouch.insights.cells import defuse_formula, label_of
from firsttouch.insights.columns import detect_source, map_columns
from firsttouch.insights.dates import parse_times
from firsttouch.insights.reading import read_export
from firsttouch.insights.sniffing import ExportReadError
from firsttouch.insights.values import parse_flags, parse_numbers


def write(
    tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "x.csv"
) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_bom_semicolons_and_quoted_newlines_are_read(tmp_path: Path) -> None:
    text = (
        "\ufeffRecord ID;Create Date;Contact Owner;Original Source\r\n"
        '1;2024-03-04 10:00;Ann;"Paid\nsearch"\r\n'
        "2;2024-03-04 11:00;Bob;Direct\r\n"
    )
    read = read_export(write(tmp_path, text))

    assert read.summary.columns is not None
    assert read.summary.columns.detected_source == "hubspot"
    assert list(read.records["source"]) == ["Paid\nsearch", "Direct"]
    assert any("semicolons" in note for note in read.summary.notes)


def test_blank_and_duplicate_rows_are_counted_not_scored(tmp_path: Path) -> None:
    text = (
        "Lead ID,Created Date,Lead Owner,Lead Source\n"
        "a,2024-03-04,Ann,Web\n"
        ",,,\n"
        "\n"
        "a,2024-03-04,Ann,Web\n"
        "b,2024-03-05,Bob,Web\n"
    )
    read = read_export(write(tmp_path, text))

    assert read.summary.rows_read == 5
    assert read.summary.blank_rows == 2
    assert read.summary.duplicate_rows == 1
    assert read.summary.rows_used == 2
    assert list(read.records["lead_id"]) == ["a", "b"]


def test_cp1252_file_is_read_with_a_note(tmp_path: Path) -> None:
    text = "Lead ID,Lead Owner\n1,Zoë Müller\n"
    read = read_export(write(tmp_path, text, encoding="cp1252"))

    assert read.records["owner"].iloc[0] == "Zoë Müller"
    assert any("Windows-1252" in note for note in read.summary.notes)


def test_missing_file_and_headerless_file_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportReadError, match="no such file"):
        read_export(tmp_path / "nope.csv")

    with pytest.raises(ExportReadError, match="no column matches"):
        read_export(write(tmp_path, "colour,size\nred,2\n"))


def test_unreadable_values_are_reported_with_row_and_column(tmp_path: Path) -> None:
    text = 'Deal ID,Amount\n1,100\n2,lots\n3,"1,250.50"\n'
    read = read_export(write(tmp_path, text))

    assert read.records["deal_value"].tolist()[0] == 100.0
    assert read.records["deal_value"].tolist()[2] == 1250.5
    assert read.summary.problem_count == 1
    problem = read.summary.problems[0]
    assert (problem.row, problem.column, problem.value) == (3, "Amount", "lots")


def test_dates_in_several_formats_and_zones_become_utc() -> None:
    raw = pd.Series(["03/10/2026 9:15 AM", "03/11/2026 5:00 PM"])
    times = parse_times(raw, tz="America/New_York").times
    # 10 March 2026 is after the US DST change (8 March): UTC-4.
    assert list(times) == [
        pd.Timestamp("2026-03-10 13:15"),
        pd.Timestamp("2026-03-11 21:00"),
    ]

    iso = parse_times(
        pd.Series(["2026-03-10T09:15:00+01:00", "2026-03-10 09:15"])
    ).times
    assert list(iso) == [
        pd.Timestamp("2026-03-10 08:15"),
        pd.Timestamp("2026-03-10 09:15"),
    ]

    dotted = parse_times(pd.Series(["31.12.2025 23:00", "01.01.2026 08:00"])).times
    assert dotted.iloc[0] == pd.Timestamp("2025-12-31 23:00")

    epoch = parse_times(pd.Series(["1773151200000", "1773151200"])).times
    assert list(epoch) == [pd.Timestamp("2026-03-10 14:00")] * 2


def test_ambiguous_day_month_defaults_to_month_first_with_a_note() -> None:
    parsed = parse_times(pd.Series(["03/04/2026", "05/06/2026"]))
    assert parsed.times.iloc[0] == pd.Timestamp("2026-03-04")
    assert "month/day" in parsed.note

    dayfirst = parse_times(pd.Series(["03/04/2026"]), dayfirst=True)
    assert dayfirst.times.iloc[0] == pd.Timestamp("2026-04-03")


def test_sources_are_detected_from_their_headers() -> None:
    assert (
        detect_source(["Person - Name", "Deal - Value", "Deal - Owner"])[0]
        == "pipedrive"
    )
    assert detect_source(["Lead ID", "Lead Owner", "Lead Source"])[0] == "salesforce"
    assert detect_source(["Record ID", "Create Date", "Contact owner"])[0] == "hubspot"

    mapping = map_columns(["Deal - ID", "Deal - Owner", "Deal - Value", "Deal - Stage"])
    assert {name: col.header for name, col in mapping.by_field.items()} == {
        "lead_id": "Deal - ID",
        "owner": "Deal - Owner",
        "deal_value": "Deal - Value",
        "stage": "Deal - Stage",
    }


def test_amounts_and_flags_read_as_crms_write_them() -> None:
    numbers = parse_numbers(pd.Series(["$1,054", "1.054,00", "7", None, "n/a?"]))
    assert numbers.values.tolist()[:3] == [1054.0, 1054.0, 7.0]
    assert numbers.failed.tolist() == [False, False, False, False, True]

    flags = parse_flags(pd.Series(["Yes", "0", "won", "maybe", None]))
    assert flags.values.tolist()[:3] == [True, False, True]
    assert flags.failed.tolist() == [False, False, False, True, False]


def test_formula_looking_labels_are_defused() -> None:
    for text in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx"):
        assert defuse_formula(text).startswith("'")
    assert defuse_formula("Ann") == "Ann"
    assert label_of(None) == "(none)"
    assert label_of("  =cmd ") == "'=cmd"


def test_typed_looking_columns_are_still_read_for_what_they_mean(
    tmp_path: Path,
) -> None:
    # Owners as numeric ids, epoch-millisecond dates, 0/1 flags and a count
    # column with a stray word: the parser infers types, the mapping wins.
    text = (
        "Lead ID,Lead Owner,Created Date,First Response Date,Converted,Touches\n"
        "1,1001,1773151200000,1773151500000,1,3\n"
        "2,1002,1773151200000,,0,lots\n"
    )
    read = read_export(write(tmp_path, text))
    records = read.records

    assert records["owner"].tolist() == ["1001", "1002"]
    assert records["created_at"].iloc[0] == pd.Timestamp("2026-03-10 14:00")
    assert records["first_touch_at"].iloc[0] == pd.Timestamp("2026-03-10 14:05")
    assert records["won"].tolist() == [True, False]
    assert records["touches"].iloc[0] == 3.0
    assert read.summary.problem_count == 1
    assert read.summary.problems[0].column == "Touches"


def test_progress_is_reported_up_to_the_file_size(tmp_path: Path) -> None:
    rows = "".join(f"{n},2026-03-0{n % 9 + 1},Ann\n" for n in range(5000))
    path = write(tmp_path, "Lead ID,Created Date,Lead Owner\n" + rows)
    seen: list[tuple[int, int]] = []
    read_export(path, progress=lambda done, total: seen.append((done, total)))

    assert seen
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_a_row_with_extra_fields_is_skipped_and_reported_not_fatal(
    tmp_path: Path,
) -> None:
    text = (
        "Lead ID,Lead Owner,Created Date\n"
        "1,Ann,2026-03-04\n"
        "2,Bob,2026-03-05,stray,comma\n"
        "3,Cy,2026-03-06\n"
    )
    read = read_export(write(tmp_path, text))

    assert read.records["lead_id"].tolist() == [1, 3]
    assert (read.summary.rows_read, read.summary.rows_used) == (3, 2)
    problem = read.summary.problems[0]
    assert (problem.row, problem.value) == (3, "5 fields")


def test_problem_values_and_headers_are_defused_too(tmp_path: Path) -> None:
    text = "Lead ID,Touches,=cmd|' /C calc'!A0\n1,=2+3,x\n2,1,x\n3,2,x\n"
    read = read_export(write(tmp_path, text))

    assert read.summary.problems[0].value == "'=2+3"
    assert read.summary.columns is not None
    assert read.summary.columns.unmapped == ["'=cmd|' /C calc'!A0"]
