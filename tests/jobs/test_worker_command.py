"""`firsttouch worker`: several threads drain the queue; SIGTERM stops them cleanly."""

# S603: the command is our own entry point with our own arguments.
# ruff: noqa: S603

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.ingest import ingest
from firsttouch.clock import SystemClock
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store import migrate
from firsttouch.store.db import Database
from firsttouch.store.models import Job, Touch
from firsttouch.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "examples" / "workspace"
LEADS = 12


def _lead(number: int) -> InboundEvent:
    return InboundEvent(
        dedupe_key=f"worker-test:{number}",
        channel="web_form",
        kind="form",
        source="website",
        provider="form",
        person=PersonFacts(
            email=f"buyer{number}@worker-test.example",
            first_name="Robin",
            last_name=f"Tester{number}",
            company="Worker Test Ltd",
            country="US",
        ),
        body_text="Could we see a demo of the invoice workflow?",
        raw="{}",
    )


def _count(db: Database, *where: object) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Job).where(*where)))


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_worker_threads_answer_every_lead_and_stop_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, workspace_path=WORKSPACE)
    db = Database(url)
    runtime = Runtime(
        settings=settings,
        db=db,
        workspace=load_workspace(WORKSPACE),
        clock=SystemClock(),
    )
    for number in range(LEADS):
        ingest(runtime, _lead(number))

    env = {
        **os.environ,
        "FIRSTTOUCH_DATABASE_URL": url,
        "FIRSTTOUCH_WORKSPACE": str(WORKSPACE),
        "FIRSTTOUCH_LOG_LEVEL": "WARNING",
        "TWILIO_AUTH_TOKEN": "test-twilio-token",
    }
    firsttouch = str(Path(sys.executable).with_name("firsttouch"))
    worker = subprocess.Popen(
        [firsttouch, "worker", "--threads", "3"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and answered < LEADS:
            with db.sessions() as session:
                answered = int(
                    session.scalar(
                        select(func.count())
                        .select_from(Touch)
                        .where(Touch.status == "sent")
                    )
                )
            time.sleep(0.2)
        # The main thread and three workers at least.
        threads = len(list(Path(f"/proc/{worker.pid}/task").iterdir()))

        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert answered == LEADS
    assert threads >= 4
    assert code == 0, worker.stderr.read() if worker.stderr else ""
    # Each thread finished the job in hand and recorded it before exiting.
    assert _count(db, Job.state == "running") == 0
    db.dispose()
