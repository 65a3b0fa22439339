"""The ``leak-score`` command: files it writes, JSON it prints, errors it gives."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from firsttouch.cli import app

EXPORTS = Path(__file__).parent / "exports"
runner = CliRunner()


def test_html_report_is_self_contained_with_charts_beside_it(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = runner.invoke(
        app, ["leak-score", str(EXPORTS / "hubspot_contacts.csv"), "--html", str(html)]
    )

    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert text.count("data:image/svg+xml;base64,") == 3
    # Nothing to fetch: no external scripts, styles or images.
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "Harvard Business Review" in text
    assert "CRM hygiene: no data" in text
    for name in ("response_time", "hour_of_week", "touches_per_lead"):
        assert (tmp_path / f"report-{name}.svg").read_bytes().startswith(b"<?xml")
        assert (tmp_path / f"report-{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert "Biggest leak" in result.output


def test_json_output_is_the_whole_report(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "leak-score",
            str(EXPORTS / "pipedrive_deals.csv"),
            "--json",
            "--source",
            "pipedrive",
        ],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["biggest_leak"]["layer"] == "crm"
    assert [layer["score"] for layer in data["layers"]] == [42, None, None, 25, 6]
    assert data["input"]["columns"]["detected_source"] == "pipedrive"


def test_csv_re_export_never_carries_a_live_formula(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app, ["leak-score", str(EXPORTS / "pipedrive_deals.csv"), "--csv", str(out)]
    )

    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert cells
    assert not [
        cell
        for cell in cells
        if cell[:1] in ("=", "+", "@", "\t", "\r")
        or (cell.startswith("-") and not _number(cell))
    ]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_assumptions_change_the_estimate(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "leak-score",
            str(EXPORTS / "hubspot_contacts.csv"),
            "--json",
            "--assume",
            "average_deal_value=1000",
            "--assume",
            "effect_reaching_revenue=0.05",
        ],
    )

    assert result.exit_code == 0, result.output
    estimate = json.loads(result.stdout)["estimate"]
    # 2 slow leads x 0.5 conversion x 6 x 0.05 = 0.3 deals of 1,000.
    assert (estimate["extra_won_deals"], estimate["value"]) == (0.3, 300.0)


def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["leak-score", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1
    assert "no such file" in missing.output

    wrong = runner.invoke(
        app,
        ["leak-score", str(EXPORTS / "hubspot_contacts.csv"), "--assume", "speed=fast"],
    )
    assert wrong.exit_code == 1
    assert "not adjustable" in wrong.output

    source = runner.invoke(
        app, ["leak-score", str(EXPORTS / "hubspot_contacts.csv"), "--source", "zoho"]
    )
    assert source.exit_code == 1


def test_as_of_sets_the_moment_ages_are_judged_from(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "leak-score",
            str(EXPORTS / "hubspot_contacts.csv"),
            "--json",
            "--as-of",
            "2026-03-10T14:00",
        ],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-03-10T14:00:00Z"
    assert data["as_of_note"] == "as of the moment given"

    bad = runner.invoke(
        app,
        ["leak-score", str(EXPORTS / "hubspot_contacts.csv"), "--as-of", "yesterday"],
    )
    assert bad.exit_code == 1


def test_markup_in_an_export_is_shown_as_text_in_the_html(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(
        "Deal ID,Deal Stage,Deal owner,Last Stage Change Date\n"
        "1,<script>alert(1)</script>,Ann,2026-03-01\n"
    )
    html = tmp_path / "report.html"
    result = runner.invoke(app, ["leak-score", str(export), "--html", str(html)])

    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
