"""A worker that dies between the send and the record never sends twice and
never skips: the ledger and the touch row tell the retry what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import Connection, event, select

from firsttouch.channels.messages import Accepted, EmailMessage, Result
from firsttouch.channels.outbox import OutboxEmail
from firsttouch.clock import VirtualClock
from firsttouch.jobs.runner import run_until_idle
from firsttouch.respond import touches
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.senders import SERVICE
from firsttouch.respond.touches import Draft, deliver_touch, stage_touch
from firsttouch.runtime import Runtime
from firsttouch.store import db as db_module
from firsttouch.store.models import Inbound, Touch
from tests.channels.fakes import FakeTwilio, SmtpSink
from tests.respond.conftest import add_lead, queue_first_touch, worker_for

PROC = Path(__file__).with_name("first_touch_proc.py")


class Killed(BaseException):
    """Stands in for the process dying: nothing after it runs."""


def _status(runtime: Runtime, inbound_id: int) -> tuple[str, datetime | None]:
    with runtime.db.sessions() as session:
        touch = session.scalar(select(Touch).where(Touch.inbound_id == inbound_id))
        inbound = session.get(Inbound, inbound_id)
        assert touch is not None and inbound is not None
        return touch.status, inbound.first_touch_at


def test_death_after_the_ledger_and_before_the_touch_record(
    live_any: Runtime, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound_id = add_lead(
        live_any, channel="sms", source="sms", email=None, phone="+12125550100"
    )

    def die(*args: object) -> str:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(touches, "_record_sent", die)
        with pytest.raises(Killed):
            run_first_touch(live_any, inbound_id)
    assert len(twilio.messages) == 1
    assert _status(live_any, inbound_id) == ("sending", None)

    # The ledger holds Twilio's answer: the retry records it, sends nothing.
    assert run_first_touch(live_any, inbound_id) == {"sms_reply": "queued"}
    assert len(twilio.messages) == 1
    assert _status(live_any, inbound_id)[1] is not None


def test_death_after_the_250_and_before_the_ledger_record(
    live_any: Runtime, sink: SmtpSink
) -> None:
    senders = live_any.services[SERVICE]
    real = senders.email

    class DiesAfterAcceptance:
        name = "smtp"

        def send(
            self, message: EmailMessage, on_accepted: Accepted | None = None
        ) -> Result:
            real.send(message, on_accepted)
            raise Killed

    inbound_id = add_lead(live_any)
    senders.email = DiesAfterAcceptance()
    with pytest.raises(Killed):
        run_first_touch(live_any, inbound_id)
    senders.email = real
    assert len(sink.received) == 1

    # The 250 was recorded on the touch at once, so the retry has nothing to do.
    assert run_first_touch(live_any, inbound_id) == {"email": "sent"}
    live_any.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    assert run_first_touch(live_any, inbound_id) == {"email": "sent"}
    assert len(sink.received) == 1
    status, first_touch_at = _status(live_any, inbound_id)
    assert status == "sent" and first_touch_at is not None


def test_a_worker_process_killed_between_send_and_commit_sends_one_email(
    live_any: Runtime, sink: SmtpSink
) -> None:
    # The process runs on the wall clock; the lead and the retry use a
    # virtual clock set from it, moved past every lease for the retry.
    start = datetime.now(UTC)
    live_any.clock.set(start)  # type: ignore[attr-defined]
    inbound_id = add_lead(live_any)
    queue_first_touch(live_any, inbound_id, due=start - timedelta(seconds=1))

    env = {**os.environ, "PYTHONPATH": str(PROC.parents[2])}
    proc = subprocess.Popen(  # noqa: S603 - our own test worker
        [sys.executable, str(PROC), live_any.db.url, str(sink.port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        # Kill it once the server's 250 is on record (the touch and the
        # ledger in one commit) and the worker is holding still after it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the worker process exited early"
            if sink.received and _status(live_any, inbound_id)[0] == "sent":
                break
            time.sleep(0.02)
        assert len(sink.received) == 1, "the worker never sent"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()

    # Killed after the 250 was recorded and before the send returned.
    assert _status(live_any, inbound_id)[0] == "sent"
    clock = live_any.clock
    assert isinstance(clock, VirtualClock)
    clock.set(start + timedelta(minutes=10))
    run_until_idle(worker_for(live_any))

    assert len(sink.received) == 1
    status, first_touch_at = _status(live_any, inbound_id)
    assert status == "sent" and first_touch_at is not None


Commits = list[tuple[int, list[str]]]


@contextmanager
def _commits(runtime: Runtime) -> Iterator[Commits]:
    """Each commit on SQLite: its synchronous level (2 FULL, 1 NORMAL), statements.

    A commit the writer syncs right after letting go of the lock (see
    ``WriterLock.sync``) counts as FULL: it is on disk before the write
    returns.
    """
    commits: Commits = []
    pending: list[str] = []
    real_fsync = db_module._fsync

    def synced(path: Path, *, fallback: Path) -> None:
        real_fsync(path, fallback=fallback)
        if commits:
            commits[-1] = (2, commits[-1][1])

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        pending.append(statement)

    def committed(conn: Connection) -> None:
        driver = conn.connection.driver_connection
        level = driver.execute("PRAGMA synchronous").fetchone()[0]
        commits.append((int(level), pending[:]))
        pending.clear()

    engine = runtime.db.engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        with patch.object(db_module, "_fsync", synced):
            yield commits
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)


def _first_to_write(commits: Commits, table: str) -> int:
    """The index of the first commit that inserted into ``table``."""
    for index, (_, statements) in enumerate(commits):
        if any(s.startswith(f"INSERT INTO {table}") for s in statements):
            return index
    raise AssertionError(f"no commit wrote {table}")


def test_an_smtp_send_opens_its_ledger_entry_with_the_staged_touch(
    live: Runtime, sink: SmtpSink
) -> None:
    inbound_id = add_lead(live)
    with _commits(live) as commits:
        assert run_first_touch(live, inbound_id) == {"email": "sent"}

    # SMTP cannot be asked what it took: the mark goes with the touch,
    # unsynced, and only the record of the 250 is synced.
    [(staging_level, staging), (record_level, record)] = commits
    assert _first_to_write(commits, "touches") == 0
    assert _first_to_write(commits, "outbound_ledger") == 0
    assert staging_level == 1
    assert any(s.startswith("UPDATE touches") for s in record)
    assert any(s.startswith("UPDATE outbound_ledger") for s in record)
    assert record_level == 2


def test_a_send_the_channel_can_look_up_is_marked_durably_before_the_call(
    live: Runtime,
) -> None:
    senders = live.services[SERVICE]
    senders.email = OutboxEmail(live.db, live.clock)
    inbound_id = add_lead(live)
    with _commits(live) as commits:
        assert run_first_touch(live, inbound_id) == {"email": "sent"}

    # The outbox's lookup is only any use if the mark outlives a power cut.
    marked = _first_to_write(commits, "outbound_ledger")
    assert commits[marked][0] == 2
    assert marked < _first_to_write(commits, "outbox_messages")


def test_a_staged_email_sent_later_costs_the_same_two_commits(
    live: Runtime, sink: SmtpSink
) -> None:
    now = live.clock.now()
    draft = Draft(
        key="later:1",
        channel="email",
        to="ann@buyer.example",
        text="Following up.",
        from_address="hello@northwindledger.example",
        subject="Following up",
        message_id="<later.1@northwindledger.example>",
    )
    with live.db.transaction() as session:
        stage_touch(session, draft, now)
    with _commits(live) as commits:
        assert deliver_touch(live, "later:1") == "sent"

    # The gate's answer and the unsynced ledger mark; the synced 250.
    [(admit_level, _), (record_level, record)] = commits
    assert _first_to_write(commits, "outbound_ledger") == 0
    assert (admit_level, record_level) == (1, 2)
    assert any(s.startswith("UPDATE outbound_ledger") for s in record)
    assert len(sink.received) == 1
