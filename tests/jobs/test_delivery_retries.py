"""How the worker meets a failure that is not the job's fault: a delivery
that may work later is retried for a long horizon, an effect held by another
worker's lease is waited for, and neither uses up the job's attempts."""

from __future__ import annotations

import random
from datetime import timedelta

from firsttouch.clock import VirtualClock
from firsttouch.errors import DeliveryError
from firsttouch.jobs.backoff import (
    DELIVERY_CAP_SECONDS,
    DELIVERY_HORIZON,
    delivery_retry_delay,
)
from firsttouch.jobs.ledger import Ledger
from firsttouch.jobs.queue import JobQueue, enqueue
from firsttouch.jobs.runner import JobContext, Worker, run_until_idle
from firsttouch.store.db import Database
from firsttouch.store.models import Job

CAP = timedelta(seconds=DELIVERY_CAP_SECONDS)


def _job(db: Database, clock: VirtualClock) -> Job:
    return JobQueue(db, clock).list()[0]


def _unreachable(ctx: JobContext) -> None:
    raise DeliveryError("cannot reach 127.0.0.1:1: refused", permanent=False)


def test_a_transient_delivery_failure_outlives_max_attempts(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "send", max_attempts=3)
    worker = Worker(any_db, {"send": _unreachable}, clock, worker_id="w1")

    # Six hours of a mail server down: four times a capped wait an hour.
    for _ in range(24):
        run_until_idle(worker)
        clock.advance(CAP)

    job = _job(any_db, clock)
    assert job.state == "queued"
    assert job.attempts == 0
    assert "cannot reach" in (job.last_error or "")
    assert job.failing_since is not None


def test_a_transient_delivery_failure_dies_after_the_horizon(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "send")
    dead: list[tuple[int, str]] = []
    worker = Worker(
        any_db,
        {"send": _unreachable},
        clock,
        worker_id="w1",
        give_ups={"send": lambda ctx, reason: dead.append((ctx.job.id, reason))},
    )
    started = clock.now()

    rounds = int(DELIVERY_HORIZON / CAP) * 2 + 10  # max rounds: twice the horizon
    for _ in range(rounds):
        run_until_idle(worker)
        if _job(any_db, clock).state == "dead":
            break
        clock.advance(CAP)

    job = _job(any_db, clock)
    assert job.state == "dead"
    assert job.finished_at is not None
    assert job.finished_at - started >= DELIVERY_HORIZON
    assert job.finished_at - started <= DELIVERY_HORIZON + CAP * 2
    assert dead == [(job.id, "DeliveryError: cannot reach 127.0.0.1:1: refused")]


def test_a_permanent_delivery_failure_still_dies_at_once(
    any_db: Database, clock: VirtualClock
) -> None:
    def refused(ctx: JobContext) -> None:
        raise DeliveryError("550 no such user", permanent=True)

    with any_db.transaction() as session:
        enqueue(session, "send")
    Worker(any_db, {"send": refused}, clock, worker_id="w1").run_once()
    assert _job(any_db, clock).state == "dead"


def test_other_failures_keep_their_attempt_cap(
    any_db: Database, clock: VirtualClock
) -> None:
    def broken(ctx: JobContext) -> None:
        raise RuntimeError("a bug")

    with any_db.transaction() as session:
        enqueue(session, "send", max_attempts=2)
    worker = Worker(any_db, {"send": broken}, clock, worker_id="w1")
    for _ in range(3):
        worker.run_once()
        clock.advance(timedelta(hours=2))
    assert _job(any_db, clock).state == "dead"


def test_delivery_waits_grow_from_seconds_to_the_cap() -> None:
    rng = random.Random(11)
    failing_for = timedelta(0)
    waits: list[float] = []
    for _ in range(40):
        wait = delivery_retry_delay(failing_for, rng)
        waits.append(wait.total_seconds())
        failing_for += wait

    assert waits[0] <= 2
    assert waits[10] > waits[0] * 10
    assert max(waits) <= DELIVERY_CAP_SECONDS
    assert waits[-1] >= DELIVERY_CAP_SECONDS / 2


def test_an_effect_held_by_a_dead_workers_lease_costs_no_attempt(
    any_db: Database, clock: VirtualClock
) -> None:
    ledger = Ledger(any_db, clock, lease_seconds=120)
    # A worker opened the send, took the lease and was killed.
    assert ledger._open("touch:1", "email")[1]
    sent: list[int] = []

    def send(ctx: JobContext) -> None:
        Ledger(any_db, clock, lease_seconds=120).perform(
            "touch:1", "email", lambda: sent.append(1) or {}, lookup=lambda: None
        )

    with any_db.transaction() as session:
        enqueue(session, "send", max_attempts=1)
    worker = Worker(any_db, {"send": send}, clock, worker_id="w2")
    lease_ends = clock.now() + timedelta(seconds=120)

    # Tried again and again while the lease holds: it waits, and stays alive.
    for _ in range(5):
        run_until_idle(worker)
        clock.advance(timedelta(seconds=10))
    job = _job(any_db, clock)
    assert job.state == "queued" and job.attempts == 0
    assert lease_ends <= job.due_at <= lease_ends + timedelta(seconds=5)
    assert "another worker" in (job.last_error or "")
    assert sent == []

    clock.advance(job.due_at - clock.now())
    run_until_idle(worker)
    assert _job(any_db, clock).state == "done"
    assert sent == [1]


def test_a_job_buried_after_its_workers_died_goes_to_its_give_up_hook(
    any_db: Database, clock: VirtualClock
) -> None:
    with any_db.transaction() as session:
        enqueue(session, "send", max_attempts=1)
    queue = JobQueue(any_db, clock)
    assert queue.claim("dies", 10, lease_seconds=5)
    clock.advance(timedelta(seconds=6))

    told: list[str] = []
    worker = Worker(
        any_db,
        {"send": lambda ctx: None},
        clock,
        worker_id="w1",
        give_ups={"send": lambda ctx, reason: told.append(reason)},
    )
    assert worker.run_once() == 0
    assert _job(any_db, clock).state == "dead"
    assert len(told) == 1 and "lease expired" in told[0]
