"""The terminal summary and the progress bar for big files."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from firsttouch.insights.report import report_from_records
from firsttouch.insights.terminal import (
    PROGRESS_FROM_BYTES,
    print_summary,
    progress_bar,
)


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=120, force_terminal=True), buffer


def test_a_report_with_nothing_to_score_says_so() -> None:
    out, buffer = console()
    report = report_from_records(pd.DataFrame({"lead_id": ["1", "2"]}))
    print_summary(report, out)

    text = buffer.getvalue()
    assert "no layer had data to score" in text
    assert text.count("no data") == 5


def test_progress_bar_only_for_big_files() -> None:
    out, _buffer = console()
    with progress_bar(out, 1000) as small:
        assert small is None
    with progress_bar(out, PROGRESS_FROM_BYTES * 2) as big:
        assert big is not None
        big(PROGRESS_FROM_BYTES, PROGRESS_FROM_BYTES * 2)
