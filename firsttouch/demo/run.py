"""Run the demo end to end: build the week, replay it, report it."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from firsttouch import clock as clock_module
from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.demo import report as figures
from firsttouch.demo.profiles import sample_profiles
from firsttouch.demo.replay import Progress, replay
from firsttouch.demo.week import WEEK, WEEK_START, build_week
from firsttouch.runtime import Runtime, build_runtime
from firsttouch.store import migrate

DEFAULT_CORPUS = Path("../shared/corpus")


@dataclass
class DemoOptions:
    settings: Settings
    corpus: Path | None = DEFAULT_CORPUS
    leads: int = 200
    seed: int = 7
    speed: float = 0.0
    fresh: bool = True


def reset_database(url: str) -> None:
    """Start the demo from an empty SQLite file; refuse to wipe anything else."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise ValueError(
            f"the demo recreates its database and only does so for SQLite files; "
            f"got {parsed.drivername}. Pass --database-url sqlite:///var/demo.db"
        )
    path = Path(parsed.database or "")
    if path.name and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    if path.parent:
        path.parent.mkdir(parents=True, exist_ok=True)


def run_demo(
    options: DemoOptions, progress: Progress | None = None
) -> figures.DemoReport:
    """Replay the week into ``options.settings.database_url`` and report it."""
    settings = options.settings
    if options.fresh:
        reset_database(settings.database_url)
    migrate.upgrade(settings.database_url)

    settings = _demo_settings(settings)
    clock = VirtualClock(WEEK_START)
    previous = clock_module.current()
    runtime = build_runtime(settings, clock=clock)
    try:
        return _replay_and_report(runtime, options, progress)
    finally:
        runtime.close()
        clock_module.install(previous)


def _replay_and_report(
    runtime: Runtime, options: DemoOptions, progress: Progress | None
) -> figures.DemoReport:
    corpus = options.corpus if options.corpus and options.corpus.is_dir() else None
    profiles, note = sample_profiles(corpus, options.leads, options.seed)
    arrivals = build_week(profiles, options.seed, runtime.workspace)

    started = time.monotonic()
    stats = replay(
        runtime,
        arrivals,
        speed=options.speed,
        progress=progress,
        until=monday_morning(runtime.workspace.team.timezone),
    )
    report = figures.build_report(
        runtime,
        seed=options.seed,
        leads_note=note,
        profiles={p.row_id: p for p in profiles},
    )
    report.replay = {
        "arrivals": len(arrivals),
        "delivered": stats.delivered,
        "duplicates": stats.duplicates,
        "rejected": len(stats.rejected),
        "jobs_run": stats.jobs_run,
        "worker_passes": stats.passes,
        "work_seconds": round(stats.work_seconds, 2),
        "replay_seconds": round(time.monotonic() - started, 2),
        "notes": dict(stats.by_note),
        "ended_at": runtime.clock.now().isoformat(),
    }
    return report


def monday_morning(zone: str) -> datetime:
    """09:00 on the Monday after the demo week, in the team's zone: queue time."""
    monday = (WEEK_START + WEEK).date()
    return datetime.combine(monday, clock_time(9), tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


def _demo_settings(settings: Settings) -> Settings:
    # The example workspace names a Twilio token by reference; the demo
    # sends nothing over the wire (the outbox takes every send), so a
    # stand-in keeps the workspace loadable on a machine without one.
    env = dict(settings.env)
    env.setdefault("TWILIO_AUTH_TOKEN", "demo-not-a-secret")
    return settings.with_overrides(env=env)


def demo_runtime(settings: Settings, report: figures.DemoReport) -> Runtime:
    """A runtime on the demo's database whose clock resumes where the week ended.

    The dashboard then shows the queue as a rep would find it that Monday,
    with SLA countdowns that tick, instead of a week that is months old.
    """
    ended = datetime.fromisoformat(str(report.replay["ended_at"]))
    return build_runtime(_demo_settings(settings), clock=VirtualClock(ended, speed=1.0))


def demo_login(runtime: Runtime) -> tuple[str, str]:
    """Create the demo's manager login with a password made for this run."""
    from firsttouch.web.accounts import create_user

    manager = next(
        (rep for rep in runtime.workspace.team.reps if rep.role == "manager"),
        runtime.workspace.team.reps[0],
    )
    password = secrets.token_urlsafe(12)
    create_user(
        runtime.db,
        manager.email,
        password,
        name=manager.name,
        role="manager",
        rep_id=manager.id,
        reps=[r.id for r in runtime.workspace.team.reps],
        clock=runtime.clock,
    )
    return manager.email, password


def save_report(report: figures.DemoReport, path: Path) -> None:
    """Write the figures as JSON (the dashboard and reviewers read this)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")


def deterministic_view(report: figures.DemoReport) -> dict[str, object]:
    """The figures that must match run to run (wall-clock timings removed)."""
    data = report.as_dict()
    data["replay"] = {
        k: v
        for k, v in data["replay"].items()
        if k not in ("work_seconds", "replay_seconds")
    }
    return data


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
