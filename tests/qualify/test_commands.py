"""The commands: `firsttouch qualify --inbound ID` prints the score and brief
and stores them; `firsttouch icp learn|evaluate` read a history CSV with the
workspace's ICP or an ICP file, and bad input is a clear error."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from firsttouch.cli import EXIT_INVALID_WORKSPACE, app
from firsttouch.clock import VirtualClock
from firsttouch.store import migrate
from firsttouch.store.db import Database

from .test_qualify_inbound import add_lead

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
X_ICP = ROOT / "examples" / "x_education" / "icp.yaml"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    # A command configures logging onto the runner's captured stderr, which
    # is closed afterwards; later tests must not log into it.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_qualify_prints_points_and_brief_and_stores_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    db = Database(url)
    inbound_id = add_lead(db, VirtualClock(datetime(2026, 3, 10, 14, tzinfo=UTC)))
    db.dispose()
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)

    result = runner.invoke(app, ["qualify", "--inbound", str(inbound_id)])
    assert result.exit_code == 0, result.output
    assert "route rep_now" in result.output
    assert "company size: employees 200" in result.output
    assert "Dana Ruiz, VP Sales (lead)" in result.output

    again = runner.invoke(app, ["qualify", "--inbound", str(inbound_id)])
    assert "already qualified" in again.output
    missing = runner.invoke(app, ["qualify", "--inbound", "404"])
    assert missing.exit_code == 1 and "no inbound 404" in missing.output


def _history(tmp_path: Path) -> Path:
    rng = random.Random(3)
    rows = [
        "Lead Origin,Lead Source,What is your current occupation,"
        "Total Time Spent on Website,Do Not Email,Converted,Tags"
    ]
    for _ in range(300):
        working = rng.random() < 0.3
        time_on_site = rng.randint(0, 2000)
        won = rng.random() < (0.2 + 0.5 * working + 0.2 * (time_on_site > 900))
        rows.append(
            f"API,Google,{'Working Professional' if working else 'Unemployed'},"
            f"{time_on_site},No,{int(won)},{'Closed' if won else 'Ringing'}"
        )
    path = tmp_path / "history.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_icp_learn_reports_each_criterion_with_a_suggested_weight(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app,
        [
            "icp",
            "learn",
            str(_history(tmp_path)),
            "--icp",
            str(X_ICP),
            "--exclude",
            "Tags",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "learned from 300 leads" in result.output
    assert "occupation" in result.output and "suggested" in result.output


def test_icp_evaluate_compares_written_learned_and_baseline(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "icp",
            "evaluate",
            str(_history(tmp_path)),
            "--icp",
            str(X_ICP),
            "--exclude",
            "Tags",
            "--folds",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "written ICP   auc" in result.output
    assert "learned model auc" in result.output and "baseline" in result.output


def test_icp_evaluate_uses_the_workspace_icp_by_default(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "icp",
            "evaluate",
            str(_history(tmp_path)),
            "--exclude",
            "Tags",
            "--folds",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output


def test_a_bad_icp_file_is_an_invalid_workspace(tmp_path: Path) -> None:
    bad = tmp_path / "icp.yaml"
    bad.write_text("version: x\ncriteria:\n  - {name: a, kind: mood, weight: 1}\n")
    result = runner.invoke(
        app, ["icp", "learn", str(_history(tmp_path)), "--icp", str(bad)]
    )
    assert result.exit_code == EXIT_INVALID_WORKSPACE
    assert "unknown kind 'mood'" in result.output


def test_a_missing_outcome_column_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["icp", "evaluate", str(_history(tmp_path)), "--outcome", "Won"]
    )
    assert result.exit_code == 1
    assert "no outcome column 'Won'" in result.output
