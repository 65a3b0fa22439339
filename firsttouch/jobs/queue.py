"""Enqueue, claim, complete, fail and retry jobs, on SQLite or PostgreSQL.

Claiming is one statement: pick due jobs (or running jobs whose lease has
expired, which means their worker died) and take a lease on them. Each rank
of kinds is read by kind and due time from an index, so a claim costs about
the same behind a backlog of thousands of lower-ranked jobs as behind none. On
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim side
by side; on SQLite the ``BEGIN IMMEDIATE`` write lock serialises claims.

The worker's statements (claim, complete, fail, next due) are built once
against the table and run on a Core connection: they run for every job, and
building a statement or an ORM session per call cost more than the SQL.
They commit without waiting for the disk (``durable=False``): a claim,
completion or retry lost to a power cut only makes a job run again, which
every handler allows, and the next durable commit makes them durable too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    Update,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from firsttouch import clock as clock_module
from firsttouch.clock import Clock
from firsttouch.errors import InputError, JobError, NotFoundError
from firsttouch.jobs.backoff import (
    DELIVERY_HORIZON,
    delivery_retry_delay,
    retry_delay,
)
from firsttouch.jobs.waker import CHANNEL, mark_enqueued
from firsttouch.store.db import Database
from firsttouch.store.fixed_lists import fixed_values, none_of
from firsttouch.store.models import Job
from firsttouch.store.prepared import Prepared
from firsttouch.store.recordset import RecordsetInsert

# Every state a job row can be in, in the order a job passes through them.
STATES = ("queued", "running", "done", "dead")
DEFAULT_MAX_ATTEMPTS = 8
NORMAL_PRIORITY = 0
ERROR_TEXT_CAP = 4000


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds a lease on."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    due_at: datetime
    failing_since: datetime | None = None


@dataclass(frozen=True)
class Batch:
    """Claimed jobs; when there are none, when the next queued one falls due.

    ``buried`` are jobs the claim found past their attempts (their workers
    kept dying) and marked dead instead of running them.
    """

    jobs: list[ClaimedJob]
    next_due: datetime | None
    buried: list[ClaimedJob] = field(default_factory=list)


# Built once against the table (Core, not the ORM): enqueue sits on every
# hot path, and per-call statement building cost six times the insert.
_JOBS = cast(Table, Job.__table__)
_INSERT = Prepared(insert(_JOBS))
_INSERT_ONCE = {
    "postgresql": Prepared(
        postgresql.insert(_JOBS).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
    ),
    "sqlite": Prepared(
        sqlite.insert(_JOBS).on_conflict_do_nothing(index_elements=["idempotency_key"])
    ),
}


_NOTIFY = text("SELECT pg_notify(:channel, '')")
_KEYED_COLUMNS = (
    "kind",
    "payload",
    "state",
    "due_at",
    "attempts",
    "max_attempts",
    "idempotency_key",
    "created_at",
)
# PostgreSQL: one fixed statement however many jobs (see store.recordset).
_INSERT_ONCE_PG_MANY = RecordsetInsert(
    _JOBS, _KEYED_COLUMNS, conflict="idempotency_key"
)


def keyed_insert_sql_pg(select_sql: str) -> str:
    """PostgreSQL text that queues the keyed jobs ``select_sql`` yields.

    For a caller that builds its jobs inside its own statement (the accept
    writer's one statement per group). ``select_sql`` yields the columns
    ``kind, payload, due_at, max_attempts, idempotency_key, created_at``; a
    key already queued or run adds nothing, as with ``enqueue_keyed``. The
    caller sends the NOTIFY (``waker.CHANNEL``) in the same transaction.
    """
    return (
        f'INSERT INTO "{_JOBS.name}" (kind, payload, state, due_at, attempts, '
        "max_attempts, idempotency_key, created_at) "
        "SELECT kind, payload, 'queued', due_at, 0, max_attempts, "
        f"idempotency_key, created_at FROM ({select_sql}) AS keyed "
        "ON CONFLICT (idempotency_key) DO NOTHING"
    )


@dataclass(frozen=True)
class KeyedJob:
    """One job to queue once: ``key`` names it for good."""

    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def enqueue_keyed(session: Session, jobs: Sequence[KeyedJob], now: datetime) -> None:
    """Queue ``jobs`` (due now unless they say otherwise) in one statement.

    The same promise as ``enqueue``: a key already queued or run adds
    nothing, and the jobs exist only if the caller's transaction commits.
    A new lead queues five this way; the accept writer one per request.
    """
    if not jobs:
        return
    rows = [
        {
            "kind": job.kind,
            "payload": job.payload,
            "state": "queued",
            "due_at": job.due_at or now,
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "idempotency_key": job.key,
            "created_at": now,
        }
        for job in jobs
    ]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        _INSERT_ONCE_PG_MANY.execute(conn, rows)
        # Delivered at commit only, once however many jobs there are.
        conn.execute(_NOTIFY, {"channel": CHANNEL})
    else:
        _INSERT_ONCE["sqlite"].run_many(conn, rows)
    mark_enqueued(session)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    due_at: datetime | None = None,
    key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: datetime | None = None,
) -> None:
    """Add a job inside the caller's transaction; it exists only if that commits.

    A job with an idempotency ``key`` that is already queued (or ran) is not
    added again, so a retried webhook or timer never doubles its work.
    """
    now = now or clock_module.now()
    values = {
        "kind": kind,
        "payload": payload or {},
        "state": "queued",
        "due_at": due_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "idempotency_key": key,
        "created_at": now,
    }

    dialect = session.get_bind().dialect.name
    if key is None:
        _INSERT.run(session, values)
    else:
        _INSERT_ONCE.get(dialect, _INSERT_ONCE["sqlite"]).run(session, values)

    if dialect == "postgresql":
        # Delivered at commit only; PostgreSQL folds repeats within one transaction.
        session.execute(_NOTIFY, {"channel": CHANNEL})
    mark_enqueued(session)


def enqueue_many(session: Session, jobs: Sequence[dict[str, Any]]) -> None:
    """Add many key-less jobs in one statement (imports and benchmarks)."""
    if not jobs:
        return
    now = clock_module.now()
    rows = [
        {
            "kind": job["kind"],
            "payload": job.get("payload", {}),
            "state": "queued",
            "due_at": job.get("due_at", now),
            "attempts": 0,
            "max_attempts": job.get("max_attempts", DEFAULT_MAX_ATTEMPTS),
            "idempotency_key": job.get("key"),
            "created_at": now,
        }
        for job in jobs
    ]
    session.execute(insert(Job), rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"channel": CHANNEL})
    mark_enqueued(session)


def _claim_statement(priorities: Mapping[str, int]) -> Update:
    """Lease the best due jobs: highest rank first, then oldest due.

    Each rank of kinds picks its oldest due jobs by kind and due time from
    an index (a rank's kinds are named; the normal rank is every kind not
    named at another), jobs whose lease expired are picked by the lease
    index, and the best of those picks are leased. One ordering of every
    due job by a rank worked out per row read the whole backlog on each
    claim instead: 4 ms a claim behind 5,000 queued qualifications.
    """
    now = bindparam("now_", type_=_JOBS.c.due_at.type)
    limit: Any = bindparam("limit_")
    ranks: dict[int, list[str]] = {}
    for kind, rank in sorted(priorities.items()):
        if rank != NORMAL_PRIORITY:
            ranks.setdefault(rank, []).append(kind)
    ranked = sorted(kind for kinds in ranks.values() for kind in kinds)

    picks = []
    for rank, kinds in sorted(ranks.items(), reverse=True):
        # A kind at a time: equal state and kind, the index is in due order.
        for written in fixed_values(kinds):
            picks.append(_pick(rank, _JOBS.c.kind == written, due=now, limit=limit))
    others = [none_of(_JOBS.c.kind, ranked)] if ranked else []
    picks.append(_pick(NORMAL_PRIORITY, *others, due=now, limit=limit))
    # A worker died holding these: rare, so ranked row by row.
    rank_of = (
        case(dict(priorities), value=_JOBS.c.kind, else_=NORMAL_PRIORITY)
        if priorities
        else literal(NORMAL_PRIORITY)
    )
    picks.append(
        select(_JOBS.c.id, rank_of.label("rank"), _JOBS.c.due_at)
        .where(_JOBS.c.state == "running", _JOBS.c.lease_expires_at < now)
        .order_by(_JOBS.c.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    picked = union_all(*(select(*pick.subquery().c) for pick in picks)).subquery(
        "picked"
    )
    best = (
        select(picked.c.id)
        .order_by(picked.c.rank.desc(), picked.c.due_at, picked.c.id)
        .limit(limit)
    )
    return (
        update(_JOBS)
        .where(_JOBS.c.id.in_(best.scalar_subquery()))
        .values(
            state="running",
            lease_owner=bindparam("worker_"),
            lease_expires_at=bindparam("until_", type_=_JOBS.c.due_at.type),
            attempts=_JOBS.c.attempts + 1,
            started_at=now,
        )
        .returning(
            _JOBS.c.id,
            _JOBS.c.kind,
            _JOBS.c.payload,
            _JOBS.c.attempts,
            _JOBS.c.max_attempts,
            _JOBS.c.due_at,
            _JOBS.c.failing_since,
        )
    )


def _pick(rank: int, *where: Any, due: Any, limit: Any) -> Select[Any]:
    """The oldest queued jobs due by ``due`` that ``where`` picks, with their
    ``rank``, locked if free (PostgreSQL)."""
    return (
        select(_JOBS.c.id, literal(rank).label("rank"), _JOBS.c.due_at)
        .where(_JOBS.c.state == "queued", _JOBS.c.due_at <= due, *where)
        .order_by(_JOBS.c.due_at, _JOBS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


# A job whose workers keep dying never finishes: the claim stops it at the cap.
BURIED_REASON = (
    "lease expired on every attempt: the worker died or hung while running this job"
)
_BURY = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("ids_", expanding=True)))
    .values(
        state="dead",
        lease_owner=None,
        lease_expires_at=None,
        finished_at=bindparam("now_", type_=_JOBS.c.due_at.type),
        last_error=BURIED_REASON,
    )
)


def _complete_statement(which: Any) -> Update:
    """Mark the jobs ``which`` picks done, if the worker still holds them."""
    return (
        update(_JOBS)
        .where(
            which,
            _JOBS.c.lease_owner == bindparam("worker_"),
            _JOBS.c.state == "running",
        )
        .values(
            state="done",
            finished_at=bindparam("now_", type_=_JOBS.c.due_at.type),
            lease_owner=None,
            lease_expires_at=None,
            last_error=None,
        )
    )


# One job (the usual batch when leads trickle in) skips rewriting an
# expanding IN list into the SQL on every call.
_COMPLETE_ONE = Prepared(_complete_statement(_JOBS.c.id == bindparam("id_")))
_COMPLETE = _complete_statement(_JOBS.c.id.in_(bindparam("ids_", expanding=True)))
_NEXT_DUE = Prepared(select(func.min(_JOBS.c.due_at)).where(_JOBS.c.state == "queued"))


class JobQueue:
    """The operations workers and operators run on the job table.

    ``priorities`` ranks job kinds for claiming (higher first, unnamed kinds
    ``NORMAL_PRIORITY``); among equals the job due earliest goes first.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        priorities: Mapping[str, int] | None = None,
    ):
        self.db = db
        self.clock = clock or clock_module.current()
        self.priorities = dict(priorities or {})
        self._claim = Prepared(_claim_statement(self.priorities))

    def claim(
        self,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        *,
        completed: Sequence[int] = (),
    ) -> list[ClaimedJob]:
        """Lease up to ``limit`` due jobs for ``worker_id``; return them.

        ``completed`` jobs (finished by this worker) are marked done in the
        same transaction, which saves a commit per batch.
        """
        return self.claim_batch(
            worker_id, limit, lease_seconds, completed=completed
        ).jobs

    def claim_batch(
        self,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        *,
        completed: Sequence[int] = (),
    ) -> Batch:
        """``claim``, and when nothing is due, when the next job falls due."""
        now = self.clock.now()
        with self.db.write_connection(durable=False) as conn:
            if completed:
                self._complete(conn, completed, worker_id, now)
            if limit <= 0:
                return Batch([], None)
            lease = {
                "now_": now,
                "worker_": worker_id,
                "until_": now + timedelta(seconds=lease_seconds),
            }
            rows = self._claim.run(conn, {**lease, "limit_": limit}).all()
            jobs, over = self._sort_out(rows)
            if over:
                conn.execute(_BURY, {"ids_": [j.id for j in over], "now_": now})
            # An idle worker needs this to know how long to sleep; asking
            # here spares it a transaction of its own.
            due = None if jobs else _NEXT_DUE.run(conn).scalar()
        return Batch(jobs, clock_module.ensure_utc(due) if due else None, over)

    def _sort_out(
        self, rows: Sequence[Any]
    ) -> tuple[list[ClaimedJob], list[ClaimedJob]]:
        """Split claimed rows into jobs to run, in claim order, and jobs to bury."""
        jobs: list[ClaimedJob] = []
        over: list[ClaimedJob] = []
        for job_id, kind, payload, attempts, cap, due_at, failing_since in rows:
            job = ClaimedJob(
                job_id, kind, dict(payload or {}), attempts, cap, due_at, failing_since
            )
            (over if attempts > cap else jobs).append(job)
        # RETURNING comes back in no promised order: run in the claim's order.
        jobs.sort(key=self._order)
        return jobs, over

    def _order(self, job: ClaimedJob) -> tuple[int, datetime, int]:
        return (-self.priorities.get(job.kind, NORMAL_PRIORITY), job.due_at, job.id)

    def complete(self, job_ids: Sequence[int], worker_id: str) -> int:
        """Mark jobs done, if this worker still holds their lease."""
        if not job_ids:
            return 0
        with self.db.write_connection(durable=False) as conn:
            return self._complete(conn, job_ids, worker_id, self.clock.now())

    @staticmethod
    def _complete(
        conn: Connection, job_ids: Sequence[int], worker_id: str, now: datetime
    ) -> int:
        params: dict[str, Any] = {"worker_": worker_id, "now_": now}
        if len(job_ids) == 1:
            result = _COMPLETE_ONE.run(conn, {**params, "id_": job_ids[0]})
        else:
            result = conn.execute(_COMPLETE, {**params, "ids_": list(job_ids)})
        return int(result.rowcount or 0)

    def release(self, job_ids: Sequence[int], worker_id: str) -> int:
        """Give back jobs this worker claimed and did not start (it is stopping).

        They are queued again at once, their attempt not counted, instead of
        waiting out the lease.
        """
        if not job_ids:
            return 0
        with self.db.write_connection() as conn:
            result = conn.execute(
                update(_JOBS)
                .where(
                    _JOBS.c.id.in_(list(job_ids)),
                    _JOBS.c.lease_owner == worker_id,
                    _JOBS.c.state == "running",
                )
                .values(
                    state="queued",
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=_JOBS.c.attempts - 1,
                )
            )
        return int(result.rowcount or 0)

    def fail(
        self,
        job: ClaimedJob,
        worker_id: str,
        error: str,
        *,
        permanent: bool = False,
        transient: bool = False,
    ) -> str:
        """Record a failure: retry later with backoff, or mark dead. Return state.

        A ``transient`` failure (a delivery that may work later) is retried
        on the delivery schedule until ``DELIVERY_HORIZON`` has passed since
        the job's first such failure, and its attempt is not charged to
        ``max_attempts``, which is kept for crashes and errors no wait cures.
        """
        now = self.clock.now()
        values: dict[str, Any] = {
            "last_error": error[:ERROR_TEXT_CAP],
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if transient and not permanent:
            since = job.failing_since or now
            dead = now - since >= DELIVERY_HORIZON
            if not dead:
                values.update(
                    due_at=now + delivery_retry_delay(now - since),
                    failing_since=since,
                    attempts=_JOBS.c.attempts - 1,
                )
        else:
            dead = permanent or job.attempts >= job.max_attempts
            if not dead:
                values.update(due_at=now + retry_delay(job.attempts))
        if dead:
            values.update(state="dead", finished_at=now)
        else:
            values.update(state="queued")

        with self.db.write_connection(durable=False) as conn:
            conn.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job.id, _JOBS.c.lease_owner == worker_id)
                .values(**values)
            )
        return "dead" if dead else "queued"

    def postpone(
        self, job: ClaimedJob, worker_id: str, until: datetime, reason: str
    ) -> str:
        """Queue a job again at ``until``, its attempt not counted; return 'queued'.

        For a job that could not start through no fault of its own (an
        effect another worker's lease still holds): waiting is not failing.
        """
        with self.db.write_connection(durable=False) as conn:
            conn.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job.id, _JOBS.c.lease_owner == worker_id)
                .values(
                    state="queued",
                    due_at=until,
                    attempts=_JOBS.c.attempts - 1,
                    last_error=reason[:ERROR_TEXT_CAP],
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return "queued"

    def retry(self, job_id: int) -> None:
        """Send a dead job back to the queue, due now, with a fresh attempt count."""
        with self.db.transaction() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"no job with id {job_id}")
            if job.state != "dead":
                raise JobError(
                    f"job {job_id} is {job.state}, not dead; only dead jobs are retried"
                )
            job.state = "queued"
            job.attempts = 0
            job.due_at = self.clock.now()
            job.finished_at = None
            job.failing_since = None
            mark_enqueued(session)

    def list(self, state: str | None = None, limit: int = 100) -> list[Job]:
        """Return jobs, newest first, optionally only those in ``state``.

        Raises ``InputError`` for a state no job can be in.
        """
        if state is not None and state not in STATES:
            raise InputError(
                f"no job state {state!r}; use one of {', '.join(STATES)}",
                field="state",
            )
        with self.db.sessions() as session:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if state:
                query = query.where(Job.state == state)
            return list(session.scalars(query))

    def counts(self) -> dict[str, int]:
        """Return how many jobs are in each state."""
        with self.db.sessions() as session:
            rows = session.execute(select(Job.state, func.count()).group_by(Job.state))
            return {state: int(n) for state, n in rows}

    def lag_seconds(self) -> float:
        """How late the oldest due, unclaimed job is (0 when none waits)."""
        now = self.clock.now()
        with self.db.sessions() as session:
            oldest = session.scalar(
                select(func.min(Job.due_at)).where(
                    Job.state == "queued", Job.due_at <= now
                )
            )
        if oldest is None:
            return 0.0
        return max(0.0, (now - clock_module.ensure_utc(oldest)).total_seconds())

    def next_due(self) -> datetime | None:
        """When the next queued job falls due, if any."""
        with self.db.engine.connect() as conn:
            due = _NEXT_DUE.run(conn).scalar()
        return clock_module.ensure_utc(due) if due else None
