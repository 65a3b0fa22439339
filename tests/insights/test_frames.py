"""Scoring a DataFrame: the same answers as the file, typed columns welcome."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from firsttouch.insights import LeakSettings, leak_score_from_frame
from firsttouch.insights.sniffing import ExportReadError

EXPORTS = Path(__file__).parent / "exports"
AS_OF = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def test_a_frame_of_export_columns_scores_like_the_file() -> None:
    frame = pd.read_csv(EXPORTS / "hubspot_contacts.csv")
    report = leak_score_from_frame(
        frame, now=AS_OF, settings=LeakSettings(quiet_after_days=3)
    )

    # The same answers as test_known_answers computes from the file.
    assert [layer.score for layer in report.layers] == [52, 55, 65, 40, None]
    assert report.biggest_leak is not None
    assert report.biggest_leak.layer == "nurture"


def test_typed_record_columns_are_read_as_they_are() -> None:
    created = pd.Timestamp("2026-03-09 09:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "lead_id": [1, 2, 3, 4],
            "created_at": [created] * 4,
            "first_touch_at": [created + pd.Timedelta(minutes=m) for m in (1, 2, 90)]
            + [pd.NaT],
            "owner": ["ann", "ann", None, "bob"],
            "touches": [1, 3, 6, 0],
            "replied": [True, False, False, False],
            "won": [True, False, None, None],
        }
    )
    report = leak_score_from_frame(frame, now=AS_OF)

    parts = {p.key: p.metric for layer in report.layers for p in layer.parts}
    assert parts["median_response"] == 2.0  # 1, 2 and 90 minutes
    assert parts["never"] == 25.0
    assert parts["within_5"] == 50.0
    assert parts["no_owner"] == 25.0
    # Unanswered, not won, touched: 3 and 6 touches.
    assert parts["touches_median"] == 4.5
    assert parts["worked_5_plus"] == 50.0


def test_a_frame_with_no_known_column_is_refused() -> None:
    with pytest.raises(ExportReadError, match="no column matches"):
        leak_score_from_frame(pd.DataFrame({"colour": ["red"]}))
