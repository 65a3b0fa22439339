"""Acknowledge webhooks fast without weakening durability: grouped commits.

A provider may be told 2xx only once its event is on disk. Resolving the
contact, choosing an owner and queueing the follow-ups (``ingest``) costs
milliseconds of CPU per event; a fsync per request costs more under load.
So the web tier does the least that makes an event safe, and does it for
many requests at once:

1. each request turns its payload into an ``InboundEvent`` (signature
   checked, wire format parsed) and hands it to the ``AcceptWriter``;
2. the writer's one thread takes every event waiting, stores each as an
   ``inbounds`` row with status ``accepted`` plus its ``capture.ingest``
   job, and commits them together: one transaction, one fsync (SQLite keeps
   ``synchronous=FULL``), however many requests are waiting. On PostgreSQL
   that transaction is one statement on the writer's own connection
   (``accept_pg``);
3. only then does each waiting request answer.

The ``capture.ingest`` job (``ingest_accepted``) then does what ``ingest``
does inline, within milliseconds on an idle worker. A provider's retry hits
the same unique key, in the same group or a later one, and is answered with
the first row's id.

A group that fails as a whole (one bad row must not sink its neighbours) is
retried one request per transaction, so each request gets its own answer.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from firsttouch.capture.accept_pg import FIND_KEYS, GroupInsert
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.ingest import (
    ACCEPTED,
    inbound_values,
    ingest_accepted,
    ingest_in_group,
    log_captured,
)
from firsttouch.capture.own_mail import mark_own_mail
from firsttouch.jobs.queue import KeyedJob, enqueue_keyed
from firsttouch.jobs.waker import local_waker
from firsttouch.logs import get_logger
from firsttouch.store.models import Inbound
from firsttouch.store.prepared import Prepared

if TYPE_CHECKING:
    from firsttouch.jobs.runner import JobContext
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

INGEST_KIND = "capture.ingest"
INGEST_KEY_PREFIX = "capture:"
# Enough to empty the backlog of a 2,000-a-second burst in a few groups,
# few enough that one group's transaction stays short.
MAX_GROUP = 512
# Writer threads on PostgreSQL, each with its own connection: a group's
# commit waits for the WAL to reach the disk, and meanwhile the next group
# is sent on the other connection (the server syncs both in one flush when
# they meet). SQLite takes one writer at a time, so it has one thread.
PG_WRITERS = 2
# A request that waited longer than this behind the writer's earlier groups
# means it is behind: it then only stores. A steady stream that the writer
# keeps up with waits a turn or two of the lock, a few milliseconds. (A
# request that finds the writer idle is never behind, however long the
# thread takes to wake.)
BEHIND_SECONDS = 0.010
# Past this many requests a second the writer only stores, though each one
# finds it free: capturing one costs 1-2 ms of the lock, so a flood captured
# on acceptance would take the lock from everything else and answer the
# provider several times slower. Jobs capture it in arrival order instead.
FLOOD_PER_S = 400.0
# Requests the pace is measured over.
PACE_WINDOW = 64

_INBOUNDS = cast(Table, Inbound.__table__)
# When the earlier keys of a group were stored. Built once: a form post asks
# for one key, and a statement made per call cost as much as the ingest's
# contact lookup.
_STORED_AT = select(_INBOUNDS.c.dedupe_key, _INBOUNDS.c.received_at).where(
    _INBOUNDS.c.dedupe_key.in_(bindparam("keys", expanding=True))
)
_STORED_AT_ONE = Prepared(
    select(_INBOUNDS.c.dedupe_key, _INBOUNDS.c.received_at).where(
        _INBOUNDS.c.dedupe_key == bindparam("key")
    )
)
# Built once: a provider's retry of a stored key inserts nothing and the
# RETURNING rows say which keys were new. (PostgreSQL takes a group, jobs
# included, as one statement instead; see accept_pg.)
_INSERT_INBOUNDS = (
    sqlite.insert(_INBOUNDS)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_INBOUNDS.c.id, _INBOUNDS.c.dedupe_key)
)


@dataclass(frozen=True)
class Accepted:
    """The stored row of one accepted event, and whether it was already there."""

    inbound_id: int
    duplicate: bool


Outcome = list[Accepted] | BaseException


@dataclass(frozen=True)
class Earlier:
    """Another key the same event may be stored under, if stored since ``since``."""

    key: str
    since: datetime


@dataclass
class _Request:
    rows: list[dict[str, Any]]
    events: list[InboundEvent]
    # Called on the writer thread with the answer or the error.
    deliver: Callable[[Outcome], None]
    # Per row: a key the same event may already be stored under, and since
    # when that counts (a form sent twice across a 30-second bucket edge).
    earlier: list[Earlier | None] = field(default_factory=list)
    queued: float = field(default_factory=time.monotonic)


class _Pace:
    """Requests a second over the last ``PACE_WINDOW`` the writer took."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=PACE_WINDOW)

    def note(self, group: list[_Request]) -> None:
        self._times.extend(request.queued for request in group)

    def per_second(self) -> float:
        """0 until the window is full: two requests at once are no flood."""
        if len(self._times) < PACE_WINDOW:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else float("inf")


def deliver_to(future: Future[list[Accepted]]) -> Callable[[Outcome], None]:
    """Hand outcomes to a ``concurrent.futures.Future`` (a waiting thread)."""

    def deliver(outcome: Outcome) -> None:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    return deliver


def _settle(future: asyncio.Future[list[Accepted]], outcome: Outcome) -> None:
    if future.cancelled():
        return  # the client went away; the row is stored all the same
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class AcceptWriter:
    """Threads that commit accepted events in groups; see the module doc."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        max_group: int = MAX_GROUP,
        ingest_up_to: int | None = None,
    ):
        self._runtime = runtime
        self._max_group = max_group
        # SQLite only (see ``_ingest_group``); PostgreSQL's workers ingest
        # side by side, so its writers only store.
        limit = runtime.settings.accept_ingest_up_to
        self._ingest_up_to = limit if ingest_up_to is None else ingest_up_to
        self._waiting: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._pace = _Pace()
        # When the writer last finished a group: a request queued before
        # that waited behind it.
        self._free_since = float("-inf")
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._postgres = runtime.db.engine.dialect.name == "postgresql"
        self._writers = PG_WRITERS if self._postgres else 1
        self._pg_group: GroupInsert | None = None
        # PostgreSQL only: each writer thread's own connection, in autocommit.
        self._local = threading.local()
        self._pg_conns: list[Any] = []

    async def accept(
        self,
        events: Sequence[InboundEvent],
        *,
        earlier: Sequence[Earlier | None] | None = None,
    ) -> list[Accepted]:
        """Store ``events`` durably; return once their group has committed.

        ``earlier`` (one per event, or None) names a key under which the
        same event counts as already stored, if it was stored since then.
        """
        if not events:
            return []
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Accepted]] = loop.create_future()

        def deliver(outcome: Outcome) -> None:
            # Straight onto the event loop: cheaper per request than a
            # concurrent Future chained to an asyncio one.
            loop.call_soon_threadsafe(_settle, answer, outcome)

        self._enqueue(events, deliver, earlier)
        return await answer

    def accept_blocking(self, events: Sequence[InboundEvent]) -> list[Accepted]:
        """``accept`` for callers on a plain thread."""
        return self.submit(events).result() if events else []

    def submit(self, events: Sequence[InboundEvent]) -> Future[list[Accepted]]:
        """Queue ``events``; the future resolves once their group commits."""
        answer: Future[list[Accepted]] = Future()
        self._enqueue(events, deliver_to(answer))
        return answer

    def _enqueue(
        self,
        events: Sequence[InboundEvent],
        deliver: Callable[[Outcome], None],
        earlier: Sequence[Earlier | None] | None = None,
    ) -> None:
        now = self._runtime.clock.now()
        # An entry point of capture, as ``ingest`` is: our own mail is no lead.
        workspace = self._runtime.workspace
        events = [mark_own_mail(workspace, event) for event in events]
        request = _Request(
            rows=[self._row(event, now) for event in events],
            events=events,
            deliver=deliver,
            earlier=list(earlier or [None] * len(events)),
        )
        threads = self._threads
        if len(threads) < self._writers or not threads[0].is_alive():
            self._start()
        self._waiting.put(request)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is waiting, then end the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._waiting.put(None)
        for thread in threads:
            thread.join(timeout)
        if not any(thread.is_alive() for thread in threads):
            with self._lock:
                conns, self._pg_conns = self._pg_conns, []
            for conn in conns:
                conn.close()

    def _row(self, event: InboundEvent, now: datetime) -> dict[str, Any]:
        # As ingested; the paths that only store mark it ACCEPTED (_accepted).
        return inbound_values(self._runtime, event, now)

    def _start(self) -> None:
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < self._writers:
                thread = threading.Thread(
                    target=self._run, name="firsttouch-accept", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            group = [first]
            stopping = False
            while len(group) < self._max_group:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
            self._commit(group, ingest=self._keeps_up(group))
            if stopping:
                return

    def _keeps_up(self, group: list[_Request]) -> bool:
        """Whether to capture ``group`` in its commit: the writer keeps up.

        A request that waited long, or a flood, means storing alone: it
        answers faster and catches up, and jobs capture what it stored.
        """
        self._pace.note(group)
        oldest = group[0].queued
        behind = (
            oldest < self._free_since and time.monotonic() - oldest > BEHIND_SECONDS
        )
        return not behind and self._pace.per_second() <= FLOOD_PER_S

    def _commit(self, group: list[_Request], *, ingest: bool = True) -> None:
        try:
            answers = self._write(group, ingest=ingest)
        except Exception as exc:  # noqa: BLE001 - each request is retried alone below
            log.warning(
                "capture.accept_group_failed",
                requests=len(group),
                error=f"{type(exc).__name__}: {exc}",
                action="storing each request on its own, for capture.ingest jobs",
            )
            self._commit_one_by_one(group)
            return
        # Before the answers: a request sent after one of them finds it free.
        self._free_since = time.monotonic()
        for request, answer in zip(group, answers, strict=True):
            _hand_over(request, answer)

    def _commit_one_by_one(self, group: list[_Request]) -> None:
        self._free_since = time.monotonic()
        for request in group:
            try:
                # Stored only: the ingest that sank the group must not sink
                # this request's answer too; its job retries it.
                (answer,) = self._write([request], ingest=False)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                _hand_over(request, exc)
            else:
                _hand_over(request, answer)

    def _write(
        self, group: list[_Request], *, ingest: bool = True
    ) -> list[list[Accepted]]:
        rows = [row for request in group for row in request.rows]
        events = [event for request in group for event in request.events]
        earlier = [
            (row, before)
            for request in group
            for row, before in zip(request.rows, request.earlier, strict=False)
            if before is not None
        ]
        if self._postgres:
            stored = self._write_pg(rows, [job_payload(e) for e in events], earlier)
        elif ingest and len(rows) <= self._ingest_up_to:
            stored = self._ingest_group(rows, events, earlier)
        else:
            with self._runtime.db.transaction() as session:
                _adopt_earlier_keys(session, earlier)
                stored = self._store_inbounds(session, rows)
                self._queue_ingests(session, stored, events)
        answers, start = [], 0
        for request in group:
            answers.append(stored[start : start + len(request.rows)])
            start += len(request.rows)
        return answers

    def _ingest_group(
        self,
        rows: list[dict[str, Any]],
        events: list[InboundEvent],
        earlier: list[tuple[dict[str, Any], Earlier]],
    ) -> list[Accepted]:
        """Store a small group fully ingested, in the one transaction.

        On SQLite every write of the process takes turns on one lock, and
        each turn costs more than the work in it: storing an event as
        accepted and then ingesting it in a job takes two turns, a job
        insert, a claim and a completion. While the writer keeps up and few
        events came, it ingests them itself, and the buyer's first touch is
        queued by the commit that answers the provider. Under a flood
        (``_keeps_up``, or a large group) it only
        stores, which answers faster, and jobs ingest when they can. An
        ingest that fails fails the group, whose requests are then stored
        one by one for their jobs (``_commit``): no savepoint per event to
        pay for on the common path.
        """
        runtime = self._runtime
        with runtime.db.transaction() as session:
            _adopt_earlier_keys(session, earlier)
            results = [
                ingest_in_group(runtime, session, row, event)
                for row, event in zip(rows, events, strict=True)
            ]

        for result, event in zip(results, events, strict=True):
            log_captured(result, event)
        return [Accepted(r.inbound_id, duplicate=r.duplicate) for r in results]

    def _store_inbounds(
        self, session: Session, rows: list[dict[str, Any]]
    ) -> list[Accepted]:
        """Insert the rows; a key already stored answers with its first row."""
        conn = session.connection()
        inserted = list(conn.execute(_INSERT_INBOUNDS, _accepted(rows)))
        fresh = {key: int(inbound_id) for inbound_id, key in inserted}
        older = {row["dedupe_key"] for row in rows} - fresh.keys()
        known: dict[str, int] = {}
        if older:
            found = conn.execute(
                select(_INBOUNDS.c.dedupe_key, _INBOUNDS.c.id).where(
                    _INBOUNDS.c.dedupe_key.in_(older)
                )
            )
            known = {key: int(inbound_id) for key, inbound_id in found}
        return _answers(rows, fresh, known)

    def _write_pg(
        self,
        rows: list[dict[str, Any]],
        events: list[dict[str, Any]],
        earlier: list[tuple[dict[str, Any], Earlier]],
    ) -> list[Accepted]:
        """One statement stores the group and queues its jobs (see accept_pg)."""
        conn = self._pg_connection()
        try:
            if earlier:
                keys = list({before.key for _, before in earlier})
                found = conn.execute(FIND_KEYS, [keys]).fetchall()
                _adopt(earlier, {key: stored_at for key, _, stored_at in found})

            if self._pg_group is None:
                # Every row comes from inbound_values, so the first group's
                # columns serve for the life of the process.
                self._pg_group = GroupInsert(
                    tuple(rows[0]), INGEST_KIND, INGEST_KEY_PREFIX
                )
            group = self._pg_group
            now = self._runtime.clock.now()
            params = group.params(_accepted(rows), events, now)
            inserted = conn.execute(group.sql, params)
            fresh = {key: int(inbound_id) for inbound_id, key, _ in inserted}

            # A retry of a key stored before: its first row's id. Read after
            # the insert, which waited for any writer of the same key.
            older = list({row["dedupe_key"] for row in rows} - fresh.keys())
            known: dict[str, int] = {}
            if older:
                found = conn.execute(FIND_KEYS, [older]).fetchall()
                known = {key: int(inbound_id) for key, inbound_id, _ in found}
        except Exception:
            if conn.broken:
                self._close_pg_connection()
            raise
        if fresh:
            local_waker.notify()  # workers in this process; NOTIFY reaches others
        return _answers(rows, fresh, known)

    def _pg_connection(self) -> Any:
        """This thread's own connection, opened (in autocommit) on first use."""
        conn: Any = getattr(self._local, "conn", None)
        if conn is None:
            pooled = self._runtime.db.engine.raw_connection()
            conn = pooled.driver_connection
            # Ours for good: the pool must not hand it out in autocommit.
            pooled.detach()
            conn.rollback()  # the pool's ping may have opened a transaction
            conn.autocommit = True
            self._local.conn = conn
            with self._lock:
                self._pg_conns.append(conn)
        return conn

    def _close_pg_connection(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            with self._lock:
                if conn in self._pg_conns:
                    self._pg_conns.remove(conn)
            conn.close()

    def _queue_ingests(
        self, session: Session, stored: list[Accepted], events: list[InboundEvent]
    ) -> None:
        # One job per stored row (keyed on it), so a duplicate adds nothing.
        jobs = [
            KeyedJob(
                INGEST_KIND,
                f"{INGEST_KEY_PREFIX}{accepted.inbound_id}",
                {"inbound_id": accepted.inbound_id, "event": job_payload(event)},
            )
            for accepted, event in zip(stored, events, strict=True)
            if not accepted.duplicate
        ]
        enqueue_keyed(session, jobs, self._runtime.clock.now())


def _accepted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as stored for a ``capture.ingest`` job to finish."""
    return [{**row, "status": ACCEPTED} for row in rows]


def job_payload(event: InboundEvent) -> dict[str, Any]:
    """The event as its ``capture.ingest`` job carries it (the raw payload is
    on the inbound row already). Made only for events left to a job."""
    return event.model_dump(mode="json", exclude={"raw"})


def _adopt_earlier_keys(
    session: Session, earlier: list[tuple[dict[str, Any], Earlier]]
) -> None:
    """Look up the earlier keys, then ``_adopt`` those stored recently enough."""
    if not earlier:
        return
    keys = list({before.key for _, before in earlier})
    conn = session.connection()
    if len(keys) == 1:
        rows = _STORED_AT_ONE.run(conn, {"key": keys[0]})
    else:
        rows = conn.execute(_STORED_AT, {"keys": keys})
    _adopt(earlier, {key: stored_at for key, stored_at in rows})


def _adopt(
    earlier: list[tuple[dict[str, Any], Earlier]], found: dict[str, datetime]
) -> None:
    """Give a row its earlier key where that key was stored recently enough.

    The row's insert then meets the unique key and is answered as a
    duplicate of the stored one, like any other retry.
    """
    for row, before in earlier:
        stored_at = found.get(before.key)
        if stored_at is not None and stored_at >= before.since:
            row["dedupe_key"] = before.key


def _answers(
    rows: list[dict[str, Any]], fresh: dict[str, int], known: dict[str, int]
) -> list[Accepted]:
    """Each row's answer: its new row, or the first row stored under its key.

    A key repeated inside one group: its first row is the new one, the
    others are its duplicates.
    """
    answers, claimed = [], set()
    for row in rows:
        key = row["dedupe_key"]
        if key in fresh and key not in claimed:
            answers.append(Accepted(fresh[key], duplicate=False))
            claimed.add(key)
        else:
            answers.append(Accepted(fresh.get(key) or known[key], duplicate=True))
    return answers


def _hand_over(request: _Request, outcome: Outcome) -> None:
    """Answer one waiting request; its failure must not stop the writer."""
    try:
        request.deliver(outcome)
    except Exception as exc:  # noqa: BLE001 - e.g. the client's loop has closed
        # The rows are committed either way; only this answer is lost.
        log.warning("capture.accept_answer_lost", error=f"{type(exc).__name__}: {exc}")


def run_ingest_job(runtime: Runtime, ctx: JobContext) -> None:
    """The ``capture.ingest`` handler: finish one accepted inbound."""
    payload = ctx.payload
    event = InboundEvent.model_validate(payload["event"])
    ingest_accepted(runtime, int(payload["inbound_id"]), event)
