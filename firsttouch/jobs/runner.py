"""The worker loop: claim due jobs, run each kind's handler, record the outcome.

Handlers own their transactions. A handler may run more than once (a worker
can die after the effect and before ``complete``), so every handler is
idempotent and every outbound effect goes through the ``Ledger``.

Due jobs are taken by the priority the worker is given per kind, then in
due order; a finished batch is marked done with the next claim.

How a failure is met:

- ``DeliveryError``, permanent: dead at once. Not permanent: retried on the
  delivery schedule for a long horizon (``backoff.DELIVERY_HORIZON``),
  those attempts not charged to the job's ``max_attempts``.
- ``EffectInFlightError``: another worker's ledger lease holds the effect;
  the job waits for that lease, its attempt not counted.
- anything else: retried with backoff until ``max_attempts``.

A job that goes dead, whether it failed or its workers kept dying, is
handed to its kind's ``GiveUp`` hook, if any, so the layer can record what
will now never happen (a touch left ``sending``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from firsttouch.clock import Clock
from firsttouch.errors import DeliveryError, FirsttouchError, UnknownJobKindError
from firsttouch.jobs.ledger import EffectInFlightError
from firsttouch.jobs.queue import BURIED_REASON, ClaimedJob, JobQueue
from firsttouch.jobs.waker import Waker, libpq_dsn, listen_forever, local_waker
from firsttouch.store.db import Database

log = structlog.get_logger(__name__)


@dataclass
class JobContext:
    """What a handler is given: the job, the database, the clock and services."""

    job: ClaimedJob
    db: Database
    clock: Clock
    services: Mapping[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload


class Handler(Protocol):
    def __call__(self, ctx: JobContext) -> None: ...


class GiveUp(Protocol):
    """Told that a job went dead, and why; records what will not happen now."""

    def __call__(self, ctx: JobContext, reason: str) -> None: ...


# How long after another worker's ledger lease expires a waiting job runs:
# its holder, if alive, has had time to record the outcome.
IN_FLIGHT_GRACE = timedelta(seconds=1)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs jobs from the queue with a handler per kind, until told to stop."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        clock: Clock,
        *,
        worker_id: str | None = None,
        batch: int = 20,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.2,
        services: Mapping[str, Any] | None = None,
        waker: Waker | None = None,
        on_job: Callable[[ClaimedJob, str, float], None] | None = None,
        priorities: Mapping[str, int] | None = None,
        give_ups: Mapping[str, GiveUp] | None = None,
    ):
        self.db = db
        self.queue = JobQueue(db, clock, priorities)
        self.handlers = dict(handlers)
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.services = services or {}
        self.waker = waker or local_waker
        self.on_job = on_job
        self.give_ups = dict(give_ups or {})
        self.stop_event = threading.Event()

    def run_job(self, job: ClaimedJob) -> str:
        """Run one claimed job's handler; return 'done', 'queued' or 'dead'."""
        bound = structlog.contextvars.bind_contextvars(
            job_id=job.id, job_kind=job.kind, attempt=job.attempts
        )
        started = time.perf_counter()
        try:
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise UnknownJobKindError(
                    f"no handler for job kind {job.kind!r}; is the worker older "
                    "than the code that enqueued it?"
                )
            handler(JobContext(job, self.db, self.clock, self.services))
            outcome = "done"
        except DeliveryError as exc:
            outcome = self.queue.fail(
                job,
                self.worker_id,
                f"{type(exc).__name__}: {exc}",
                permanent=exc.permanent,
                transient=not exc.permanent,
            )
            self._after_failure(job, exc, outcome)
        except EffectInFlightError as exc:
            outcome = self._wait_for_lease(job, exc)
        except UnknownJobKindError as exc:
            outcome = self.queue.fail(job, self.worker_id, str(exc), permanent=True)
            self._after_failure(job, exc, outcome)
        except Exception as exc:  # noqa: BLE001 - the edge of one job: record, go on
            outcome = self.queue.fail(
                job, self.worker_id, f"{type(exc).__name__}: {exc}"
            )
            self._after_failure(job, exc, outcome)
        finally:
            structlog.contextvars.reset_contextvars(**bound)

        elapsed = time.perf_counter() - started
        if self.on_job:
            self.on_job(job, outcome, elapsed)
        return outcome

    def _wait_for_lease(self, job: ClaimedJob, exc: EffectInFlightError) -> str:
        """Put ``job`` back for when the other worker's lease runs out."""
        now = self.clock.now()
        until = max(exc.until or now, now) + IN_FLIGHT_GRACE
        log.info(
            "job.postponed",
            job_id=job.id,
            kind=job.kind,
            until=until.isoformat(),
            reason=str(exc),
        )
        return self.queue.postpone(job, self.worker_id, until, f"waiting: {exc}")

    def _give_up(self, job: ClaimedJob, reason: str) -> None:
        """Hand a dead job to its kind's hook; a failing hook is logged, not raised."""
        hook = self.give_ups.get(job.kind)
        if hook is None:
            return
        try:
            hook(JobContext(job, self.db, self.clock, self.services), reason)
        except Exception as exc:  # noqa: BLE001 - the job is dead already: record, go on
            log.error(
                "job.give_up_failed",
                job_id=job.id,
                kind=job.kind,
                error=f"{type(exc).__name__}: {exc}",
                exc_info=True,
            )

    def _after_failure(self, job: ClaimedJob, exc: BaseException, outcome: str) -> None:
        """Log a failed run; a job that is now dead goes to its give-up hook."""
        self._log_failure(job, exc, outcome)
        if outcome == "dead":
            self._give_up(job, f"{type(exc).__name__}: {exc}")

    def _log_failure(self, job: ClaimedJob, exc: BaseException, outcome: str) -> None:
        level = "error" if outcome == "dead" else "warning"
        expected = isinstance(exc, FirsttouchError)
        getattr(log, level)(
            "job.failed",
            job_id=job.id,
            kind=job.kind,
            attempt=job.attempts,
            outcome=outcome,
            error=f"{type(exc).__name__}: {exc}",
            exc_info=not expected,
        )

    def run_once(self) -> int:
        """Claim one batch and run it; return how many jobs were claimed."""
        batch = self.queue.claim_batch(self.worker_id, self.batch, self.lease_seconds)
        for job in batch.buried:
            self._give_up(job, BURIED_REASON)
        self.queue.complete(self._run_batch(batch.jobs), self.worker_id)
        return len(batch.jobs)

    def _run_batch(self, jobs: list[ClaimedJob]) -> list[int]:
        """Run claimed jobs in order; return the ids of those that finished."""
        done: list[int] = []
        for index, job in enumerate(jobs):
            if self.stop_event.is_set():
                # Stopping: what was claimed and not started goes back now,
                # not when its lease runs out a minute from now.
                self.queue.release([j.id for j in jobs[index:]], self.worker_id)
                break
            if self.run_job(job) == "done":
                done.append(job.id)
        return done

    def _run_while_due(self) -> tuple[int, datetime | None]:
        """Run batches back to back until none is due.

        Return the waker's count as it stood before the claim that found
        nothing, and when the next queued job falls due. A finished batch is
        marked done in the same transaction that claims the next one: one
        commit per batch instead of two.
        """
        done: list[int] = []
        while True:
            more = self.batch if not self.stop_event.is_set() else 0
            # Read before the claim: a job committed after it bumps the count.
            seen = self.waker.generation()
            batch = self.queue.claim_batch(
                self.worker_id, more, self.lease_seconds, completed=done
            )
            for job in batch.buried:
                self._give_up(job, BURIED_REASON)
            if not batch.jobs:
                return seen, batch.next_due
            done = self._run_batch(batch.jobs)

    def _sleep_until_work(self, seen: int, due: datetime | None) -> None:
        if self.waker.generation() != seen:
            return  # something was enqueued while we worked: look again now
        # Sleep no longer than the poll interval, and not past the next due job
        # (on a virtual clock the wall-time wait is only an upper bound).
        timeout = self.poll_seconds
        if due is not None:
            wait = (due - self.clock.now()).total_seconds()
            timeout = max(0.0, min(timeout, wait))
        if timeout > 0:
            self.waker.wait(seen, timeout)

    def run_forever(self) -> None:
        """Work until ``stop()`` is called; survive database hiccups."""
        log.info(
            "worker.started", worker_id=self.worker_id, kinds=sorted(self.handlers)
        )
        listener = self._start_listener()
        try:
            while not self.stop_event.is_set():
                try:
                    seen, due = self._run_while_due()
                except Exception as exc:  # noqa: BLE001 - keep the worker alive
                    log.error("worker.claim_failed", error=str(exc))
                    self.stop_event.wait(1.0)
                    continue
                if not self.stop_event.is_set():
                    self._sleep_until_work(seen, due)
        finally:
            self.stop_event.set()
            if listener:
                listener.join(timeout=3)
            log.info("worker.stopped", worker_id=self.worker_id)

    def _start_listener(self) -> threading.Thread | None:
        if not self.db.is_postgres:
            return None
        dsn = libpq_dsn(self.db.engine.url)
        thread = threading.Thread(
            target=listen_forever,
            args=(dsn, self.waker, self.stop_event),
            name="job-listener",
            daemon=True,
        )
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        self.waker.notify()


def run_until_idle(
    worker: Worker, until: datetime | None = None, max_rounds: int = 10_000
) -> int:
    """Run due jobs until none is due (tests and the demo use it); return the count."""
    total = 0
    for _ in range(max_rounds):
        claimed = worker.run_once()
        total += claimed
        if claimed == 0:
            break
    return total
