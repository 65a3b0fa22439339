"""The job queue: due times, retries with backoff, dead jobs, leases and
idempotent enqueue, on both engines."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from firsttouch.clock import SystemClock, VirtualClock
from firsttouch.errors import DeliveryError, JobError
from firsttouch.jobs.backoff import retry_delay
from firsttouch.jobs.queue import JobQueue, enqueue
from firsttouch.jobs.runner import JobContext, Worker
from firsttouch.store import migrate
from firsttouch.store.db import Database


def _worker(db: Database, clock, handlers) -> Worker:  # type: ignore[no-untyped-def]
    return Worker(db, handlers, clock, worker_id="w1", lease_seconds=30)


def test_job_due_in_the_future_is_not_run_early(
    any_db: Database, clock: VirtualClock
) -> None:
    ran: list[int] = []
    with any_db.transaction() as session:
        enqueue(session, "k", {"n": 1}, due_at=clock.now() + timedelta(minutes=10))
    worker = _worker(any_db, clock, {"k": lambda ctx: ran.append(ctx.payload["n"])})

    clock.advance(timedelta(minutes=9, seconds=59))
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert worker.run_once() == 1
    assert ran == [1]


def test_job_runs_within_a_second_of_its_due_time(any_db: Database) -> None:
    real = SystemClock()
    ran_at: list[datetime] = []
    worker = Worker(
        any_db, {"k": lambda ctx: ran_at.append(real.now())}, real, poll_seconds=0.2
    )
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        due = real.now() + timedelta(seconds=0.5)
        with any_db.transaction() as session:
            enqueue(session, "k", due_at=due, now=real.now())
        deadline = time.monotonic() + 5
        while not ran_at and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
        thread.join(timeout=5)

    assert ran_at, "the job never ran"
    assert due <= ran_at[0] < due + timedelta(seconds=1)


def test_a_key_already_enqueued_is_not_enqueued_again(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "k", {"n": 1}, key="first_touch:1")
    with any_db.transaction() as session:
        enqueue(session, "k", {"n": 2}, key="first_touch:1")
    jobs = JobQueue(any_db, clock).list()
    assert [j.payload for j in jobs] == [{"n": 1}]


def test_enqueue_rolls_back_with_the_transaction_that_caused_it(
    any_db: Database, clock: VirtualClock
) -> None:
    with pytest.raises(RuntimeError), any_db.transaction() as session:
        enqueue(session, "k", {})
        raise RuntimeError("the state change failed")
    assert JobQueue(any_db, clock).counts() == {}


def test_failed_job_retries_with_backoff_then_dies_after_max_attempts(
    any_db: Database, clock: VirtualClock
) -> None:
    def boom(ctx: JobContext) -> None:
        raise RuntimeError("provider down")

    with any_db.transaction() as session:
        enqueue(session, "k", max_attempts=3)
    worker = _worker(any_db, clock, {"k": boom})
    queue = JobQueue(any_db, clock)

    assert worker.run_once() == 1
    job = queue.list()[0]
    assert job.state == "queued" and job.attempts == 1
    assert job.due_at > clock.now()
    assert "provider down" in (job.last_error or "")

    for _ in range(2):
        clock.advance(timedelta(hours=2))
        worker.run_once()
    job = queue.list()[0]
    assert job.state == "dead" and job.attempts == 3
    assert queue.list("dead")[0].id == job.id


def test_permanent_delivery_error_kills_the_job_at_once(
    any_db: Database, clock: VirtualClock
) -> None:
    def reject(ctx: JobContext) -> None:
        raise DeliveryError("550 no such user", permanent=True)

    with any_db.transaction() as session:
        enqueue(session, "k")
    _worker(any_db, clock, {"k": reject}).run_once()
    assert JobQueue(any_db, clock).list()[0].state == "dead"


def test_unknown_kind_dies_with_a_message_that_says_why(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "nobody.handles.this")
    _worker(any_db, clock, {}).run_once()
    job = JobQueue(any_db, clock).list()[0]
    assert job.state == "dead"
    assert "no handler for job kind 'nobody.handles.this'" in (job.last_error or "")


def test_dead_job_can_be_retried(any_db: Database, clock: VirtualClock) -> None:
    with any_db.transaction() as session:
        enqueue(session, "k", max_attempts=1)
    outcomes: list[str] = []

    def flaky(ctx: JobContext) -> None:
        outcomes.append("ran")
        if len(outcomes) == 1:
            raise RuntimeError("first time fails")

    worker = _worker(any_db, clock, {"k": flaky})
    worker.run_once()
    queue = JobQueue(any_db, clock)
    dead = queue.list("dead")[0]
    queue.retry(dead.id)
    worker.run_once()
    assert queue.counts() == {"done": 1}
    with pytest.raises(JobError):
        queue.retry(dead.id)


def test_expired_lease_returns_the_job_of_a_crashed_worker(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "k")
    queue = JobQueue(any_db, clock)
    assert len(queue.claim("crashed", 10, lease_seconds=30)) == 1
    assert queue.claim("other", 10, lease_seconds=30) == []

    clock.advance(timedelta(seconds=31))
    again = queue.claim("other", 10, lease_seconds=30)
    assert [j.attempts for j in again] == [2]
    # The crashed worker's late completion is ignored: it no longer holds the lease.
    assert queue.complete([again[0].id], "crashed") == 0
    assert queue.complete([again[0].id], "other") == 1


def test_a_job_whose_worker_always_dies_ends_dead(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "k", max_attempts=2)
    queue = JobQueue(any_db, clock)
    for _ in range(2):
        assert queue.claim("dies", 10, lease_seconds=5)
        clock.advance(timedelta(seconds=6))
    assert queue.claim("dies", 10, lease_seconds=5) == []
    job = queue.list()[0]
    assert job.state == "dead"
    assert "lease expired" in (job.last_error or "")


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(7)
    delays = [retry_delay(n, rng).total_seconds() for n in range(1, 20)]
    assert delays[0] <= 2 and delays[5] > delays[0]
    assert max(delays) <= 3600


def test_lag_counts_only_due_unclaimed_jobs(
    any_db: Database, clock: VirtualClock
) -> None:
    queue = JobQueue(any_db, clock)
    with any_db.transaction() as session:
        enqueue(session, "k", due_at=clock.now() - timedelta(seconds=30))
        enqueue(session, "k", due_at=clock.now() + timedelta(hours=1))
    assert queue.lag_seconds() == pytest.approx(30)
    assert queue.next_due() == datetime(2026, 3, 10, 13, 59, 30, tzinfo=UTC)


def test_a_higher_priority_kind_is_claimed_before_older_due_work(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "enrich", {"n": 1}, due_at=clock.now() - timedelta(minutes=1))
        enqueue(session, "enrich", {"n": 2})
        enqueue(session, "touch", {"n": 3})
        enqueue(session, "touch", {"n": 4}, due_at=clock.now() + timedelta(minutes=1))
    queue = JobQueue(any_db, clock, priorities={"touch": 10})

    first = queue.claim("w1", 1, lease_seconds=30)
    assert [j.payload["n"] for j in first] == [3]
    rest = queue.claim("w1", 10, lease_seconds=30)
    # Among equals the job due first goes first; a job not yet due waits.
    assert [j.payload["n"] for j in rest] == [1, 2]


def test_a_claim_fills_its_batch_rank_by_rank_oldest_first(
    any_db: Database, clock: VirtualClock
) -> None:
    """Two kinds share the top rank, a named kind is normal, a crashed
    worker's job keeps its rank; a lower rank fills what is left."""
    now = clock.now()
    with any_db.transaction() as session:
        enqueue(session, "later", {"n": 1}, due_at=now - timedelta(hours=1))
        enqueue(session, "enrich", {"n": 2}, due_at=now - timedelta(minutes=3))
        enqueue(session, "plain", {"n": 3}, due_at=now - timedelta(minutes=2))
        enqueue(session, "touch", {"n": 4}, due_at=now - timedelta(seconds=5))
        enqueue(session, "capture", {"n": 5}, due_at=now - timedelta(seconds=9))
        enqueue(session, "capture", {"n": 6}, due_at=now + timedelta(seconds=1))
    ranks = {"touch": 5, "capture": 5, "plain": 0, "later": -5}
    queue = JobQueue(any_db, clock, priorities=ranks)
    (crashed,) = queue.claim("dead-worker", 1, lease_seconds=30)
    assert crashed.payload["n"] == 5
    clock.advance(timedelta(seconds=31))

    claimed = queue.claim("w1", 5, lease_seconds=30)

    # The top rank oldest first (the crashed worker's capture, the touch,
    # the capture that fell due meanwhile), then the normal rank oldest
    # first; "later" does not fit.
    assert [j.payload["n"] for j in claimed] == [5, 4, 6, 2, 3]
    assert [j.payload["n"] for j in queue.claim("w1", 5, lease_seconds=30)] == [1]


def test_a_claim_reads_each_rank_from_the_kind_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A claim behind thousands of lower-ranked jobs reads only what it
    takes: each ranked kind is a search of the kind index in due order, not
    a pass over every due job (SQLite's plan, which the statement is built
    for)."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate.upgrade(url)
    db = Database(url)
    queue = JobQueue(db, priorities={"respond.first_touch": 30, "alerts.send": 10})
    compiled = queue._claim.statement.compile(db.engine)
    params = compiled.construct_params(
        {"now_": "2026-03-10", "limit_": 10, "worker_": "w1", "until_": "2026-03-10"}
    )
    with db.engine.connect() as conn:
        plan = [
            row[3]
            for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}",
                tuple(params[name] for name in compiled.positiontup or ()),
            )
        ]
    db.dispose()

    by_kind = [step for step in plan if "ix_jobs_state_kind_due" in step]
    assert len(by_kind) == 2, plan
    assert all("(state=? AND kind=? AND due_at<?)" in step for step in by_kind)
    assert not any(step.startswith("SCAN jobs") for step in plan), plan


def test_a_worker_runs_its_batch_in_priority_order(
    any_db: Database, clock: VirtualClock
) -> None:
    ran: list[str] = []
    with any_db.transaction() as session:
        for kind in ("later", "enrich", "touch", "enrich", "touch"):
            enqueue(session, kind)
    worker = Worker(
        any_db,
        {
            kind: (lambda ctx: ran.append(ctx.job.kind))
            for kind in ("later", "enrich", "touch")
        },
        clock,
        priorities={"touch": 5, "later": -5},
    )
    assert worker.run_once() == 5
    assert ran == ["touch", "touch", "enrich", "enrich", "later"]


def test_completing_a_batch_and_claiming_the_next_share_one_call(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "k", {"n": 1})
        enqueue(session, "k", {"n": 2})
    queue = JobQueue(any_db, clock)
    (first,) = queue.claim("w1", 1, lease_seconds=30)
    (second,) = queue.claim("w1", 1, lease_seconds=30, completed=[first.id])
    assert second.payload == {"n": 2}
    assert queue.counts() == {"done": 1, "running": 1}
    assert queue.claim("w1", 0, lease_seconds=30, completed=[second.id]) == []
    assert queue.counts() == {"done": 2}


def test_completing_one_job_or_several_counts_those_still_held(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        for n in range(3):
            enqueue(session, "k", {"n": n})
    queue = JobQueue(any_db, clock)
    a, b, c = queue.claim("w1", 3, lease_seconds=30)
    assert queue.complete([a.id], "w1") == 1
    assert queue.complete([a.id, b.id, c.id], "w1") == 2
    assert queue.complete([b.id, c.id], "w2") == 0
    assert queue.counts() == {"done": 3}


def test_a_claim_that_finds_nothing_due_says_when_the_next_job_is(
    any_db: Database, clock: VirtualClock
) -> None:
    queue = JobQueue(any_db, clock)
    assert queue.claim_batch("w1", 5, lease_seconds=30).next_due is None
    with any_db.transaction() as session:
        enqueue(session, "k", due_at=clock.now() + timedelta(minutes=5))
    empty = queue.claim_batch("w1", 5, lease_seconds=30)
    assert empty.jobs == []
    assert empty.next_due == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    assert len(queue.claim_batch("w1", 5, lease_seconds=30).jobs) == 1


def test_a_stopping_worker_gives_back_what_it_claimed_and_did_not_start(
    any_db: Database, clock: VirtualClock
) -> None:
    ran: list[int] = []

    def work(ctx: JobContext) -> None:
        ran.append(int(ctx.payload["n"]))
        worker.stop()  # a SIGTERM arriving while the first job runs

    worker = _worker(any_db, clock, {"test.work": work})
    with any_db.transaction() as session:
        for n in range(3):
            enqueue(session, "test.work", {"n": n})

    assert worker.run_once() == 3

    assert ran == [0]
    with any_db.sessions() as session:
        rows = session.execute(
            text("SELECT state, attempts, lease_owner FROM jobs ORDER BY id")
        ).all()
    assert [tuple(row) for row in rows] == [
        ("done", 1, None),
        ("queued", 0, None),
        ("queued", 0, None),
    ]
