"""The demo end to end on a small week: every lead answered, same figures twice."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from firsttouch.config import Settings
from firsttouch.demo.run import DemoOptions, deterministic_view, run_demo

EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[2] / "examples" / "workspace"


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """The same week twice: on the driver path, then all through SQLAlchemy.

    A listener on every engine's statements makes ``store.prepared`` hand
    each statement to SQLAlchemy, so the two databases must hold the same.
    """
    base = Settings(
        workspace_path=EXAMPLE_WORKSPACE, env={"TWILIO_AUTH_TOKEN": "test-twilio-token"}
    )
    runs = []
    for attempt in ("first", "second"):
        folder = tmp_path_factory.mktemp(attempt)
        settings = base.with_overrides(
            database_url=f"sqlite:///{folder}/demo.db", outbox_dir=folder / "outbox"
        )
        listening = attempt == "second"
        if listening:
            event.listen(Engine, "before_cursor_execute", _watch)
        try:
            # No corpus: the stand-in leads keep this test independent of ../shared.
            report = run_demo(
                DemoOptions(settings=settings, corpus=None, leads=30, seed=3)
            )
        finally:
            if listening:
                event.remove(Engine, "before_cursor_execute", _watch)
        runs.append((report, folder / "demo.db"))
    return runs


def _watch(*_: Any) -> None:
    """Listens only so that SQLAlchemy runs every statement."""


@pytest.fixture(scope="module")
def two_runs(demo_runs):
    return [report for report, _ in demo_runs]


def test_the_same_week_gives_the_same_figures(two_runs):
    first, second = two_runs
    assert deterministic_view(first) == deterministic_view(second)


# Text that differs between any two runs: signed links and message ids made
# with the run's own key, worker names, and enrichment's measured wall time.
RUN_BOUND = {"body", "meta", "message_id", "provider_id", "lease_owner", "result"}
RUN_BOUND_IN = {
    "outbox_messages": {"key", "raw", "html"},
    "qualifications": {"sources"},
}


def _contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite%'"
            )
        ]
        contents = {}
        for table in tables:
            skip = RUN_BOUND | RUN_BOUND_IN.get(table, set())
            columns = [
                row[1]
                for row in conn.execute(f"PRAGMA table_info({table})")
                if row[1] not in skip
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            contents[table] = conn.execute(
                f"SELECT {listed} FROM {table} ORDER BY 1"  # noqa: S608 - our tables
            ).fetchall()
    return contents


def test_the_driver_path_stores_what_sqlalchemy_stores(demo_runs):
    (_, on_driver), (_, through_sqlalchemy) = demo_runs
    driver, reference = _contents(on_driver), _contents(through_sqlalchemy)

    assert driver.keys() == reference.keys()
    for table, rows in reference.items():
        assert driver[table] == rows, table
    assert len(driver["touches"]) >= 30 and len(driver["jobs"]) >= 100


def test_every_lead_is_captured_answered_and_qualified(two_runs):
    report = two_runs[0]
    assert report.leads >= 30
    assert report.first_touch.leads == report.leads
    assert report.first_touch.touched == report.leads
    assert report.first_touch.under_5min > 0.9
    assert "not qualified" not in report.routes
    assert sum(report.routes.values()) == report.leads
    assert report.replay["rejected"] == 0


def test_nights_and_the_weekend_are_answered_too(two_runs):
    parts = two_runs[0].first_touch.by_part
    for part in ("night", "weekend"):
        if parts[part]["leads"]:
            assert (
                parts[part]["median_s"] is not None and parts[part]["median_s"] <= 300
            )


def test_the_stop_is_honoured_and_no_sla_is_breached(two_runs):
    report = two_runs[0]
    stops = report.replay["notes"].get("SMS STOP to our text-back", 0)
    assert stops >= 1
    assert report.opt_outs == stops
    assert report.sla_breaches == 0


def test_the_monday_queue_is_sorted_and_briefed(two_runs):
    queue = two_runs[0].monday_queue
    scores = [entry.score for entry in queue]
    assert scores == sorted(scores, reverse=True)
    assert all(entry.brief for entry in queue)


def test_both_leak_scores_are_there(two_runs):
    report = two_runs[0]
    assert report.leak_week and report.leak_week["layers"]["respond"] is not None
    assert (
        report.leak_as_handled and report.leak_as_handled["layers"]["respond"] is None
    )


def test_the_demo_refuses_to_wipe_a_database_that_is_not_sqlite():
    from firsttouch.demo.run import reset_database

    with pytest.raises(ValueError, match="only does so for SQLite"):
        reset_database("postgresql+psycopg://127.0.0.1/test")
