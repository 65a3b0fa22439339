"""Learning from history: criteria that predict are found stronger than
noise, weights are suggested, and evaluation compares the written ICP with
the learned model and a plain baseline on the same folds."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from firsttouch.errors import InputError
from firsttouch.qualify.learning import (
    evaluate,
    fact_name,
    learn,
    read_history,
    top_decile_rate,
)
from firsttouch.workspace.icp import Icp

ICP = Icp.model_validate(
    {
        "version": "h1",
        "criteria": [
            {
                "name": "referral",
                "kind": "field",
                "weight": 50,
                "rules": {
                    "field": "lead_source",
                    "values": {"referral": 1.0, "ads": 0.2},
                },
            },
            {
                "name": "shoe size",
                "kind": "number",
                "weight": 50,
                "rules": {"field": "shoe_size", "bands": [{"min": 42, "points": 1.0}]},
            },
        ],
    }
)


def _history(tmp_path: Path, rows: int = 600) -> Path:
    rng = random.Random(5)
    lines = ["Lead Source,Shoe Size,Won,Notes After Call"]
    for _ in range(rows):
        referral = rng.random() < 0.4
        won = rng.random() < (0.7 if referral else 0.2)
        lines.append(
            f"{'Referral' if referral else 'Ads'},{rng.randint(36, 47)},"
            f"{'yes' if won else 'no'},{'great call' if won else 'no answer'}"
        )
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_predictive_criterion_is_found_stronger_than_noise(tmp_path: Path) -> None:
    learned = learn(
        ICP, read_history(_history(tmp_path), "Won", exclude=["Notes After Call"])
    )
    by_name = {s.name: s for s in learned.strengths}
    assert by_name["referral"].coefficient > 0.5
    assert abs(by_name["shoe size"].coefficient) < 0.2
    assert by_name["referral"].auc > 0.65
    assert by_name["referral"].suggested_weight > 80
    assert sum(s.suggested_weight for s in learned.strengths) == pytest.approx(100)
    assert 0 < learned.brier < 0.25
    assert "referral" in learned.render()


def test_evaluate_reports_written_learned_and_baseline_auc(tmp_path: Path) -> None:
    history = read_history(_history(tmp_path), "Won", exclude=["Notes After Call"])
    report = evaluate(ICP, history, folds=5)
    assert report.rows == 600 and report.folds == 5
    # Half the written weight is on noise; the learned model puts it on referral.
    assert 0.55 < report.auc_written < report.auc_learned
    assert 0.65 < report.auc_learned < 0.85
    assert 0.65 < report.auc_baseline < 0.85
    assert report.top_decile_written > report.base_rate
    assert "baseline" in report.render()


def test_a_leaking_column_would_be_read_unless_excluded(tmp_path: Path) -> None:
    history = read_history(_history(tmp_path), "Won")
    assert evaluate(ICP, history).auc_baseline > 0.99
    assert "notes_after_call" in history.facts[0]


def test_a_missing_outcome_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no outcome column 'Converted'"):
        read_history(_history(tmp_path), "Converted")


def test_an_unreadable_outcome_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("Lead Source,Won\nAds,1\nAds,maybe\n")
    with pytest.raises(InputError, match="row 3: Won='maybe'"):
        read_history(path, "Won")


def test_one_outcome_only_is_nothing_to_learn(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("Lead Source,Won\nAds,1\nAds,1\n")
    with pytest.raises(InputError, match="same outcome"):
        read_history(path, "Won")


def test_headers_become_fact_names() -> None:
    assert fact_name("What is your current occupation") == (
        "what_is_your_current_occupation"
    )
    assert fact_name("Total Time Spent on Website") == "total_time_spent_on_website"


def test_top_decile_ties_go_by_row_order() -> None:
    scores = np.array([90, 10, 90] + [5] * 17, dtype=float)
    labels = np.array([1, 1, 0] + [0] * 17)
    assert top_decile_rate(scores, labels) == 0.5


def test_history_rows_get_email_type_and_title_like_live_leads(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("Email,Title,Won\nana@acme.example,VP Finance,1\nb@gmail.com,,0\n")
    first, second = read_history(path, "Won").facts
    assert (first.get("email_type"), first.get("seniority"), first.get("function")) == (
        "business",
        "vp",
        "finance",
    )
    assert second.get("email_type") == "free" and "seniority" not in second
