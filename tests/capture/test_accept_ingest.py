"""Small groups on SQLite are ingested in the commit that answers the provider."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from firsttouch.capture import accept as accept_module
from firsttouch.capture import ingest as ingest_module
from firsttouch.capture.accept import (
    INGEST_KIND,
    PACE_WINDOW,
    Accepted,
    AcceptWriter,
    Earlier,
    _Request,
    deliver_to,
)
from firsttouch.clock import VirtualClock
from firsttouch.jobs.queue import JobQueue
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Job
from firsttouch.worker import PRIORITIES
from tests.capture.test_accept import chat_event, count, one_event_requests
from tests.conftest import settle_accepted


@pytest.fixture
def writer(runtime: Runtime) -> Iterator[AcceptWriter]:
    accept = AcceptWriter(runtime)
    yield accept
    accept.stop()


def jobs_of(runtime: Runtime, kind: str) -> list[Job]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Job).where(Job.kind == kind)))


def test_a_small_group_is_stored_as_a_lead_with_its_follow_ups(
    writer: AcceptWriter, runtime: Runtime
) -> None:
    (accepted,) = writer.accept_blocking([chat_event(1)])

    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, accepted.inbound_id)
        assert inbound is not None and inbound.status == "new" and inbound.owner_id
        contact = session.get(Contact, inbound.contact_id)
        assert contact is not None
        assert contact.email == "visitor1@harbourfreight1.example"
        arrived = inbound.received_at
    assert jobs_of(runtime, INGEST_KIND) == []
    (first_touch,) = jobs_of(runtime, "respond.first_touch")
    # Due from the buyer's arrival: the oldest buyer is answered first.
    assert first_touch.state == "queued" and first_touch.due_at == arrived
    assert [j.state for j in jobs_of(runtime, "qualify.inbound")] == ["queued"]
    assert settle_accepted(runtime) == 0


def test_an_ingest_that_fails_leaves_its_group_whole_to_jobs(
    writer: AcceptWriter, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.enqueue_followups
    failing = {"once": True}

    def enqueue_followups(*args: Any, **kwargs: Any) -> None:
        # The second event fails after its contact and inbound are written.
        if args[2] == 2 and failing.pop("once", False):
            raise RuntimeError("the queue table is being rebuilt")
        real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "enqueue_followups", enqueue_followups)
    answers = writer.accept_blocking([chat_event(n) for n in (1, 2, 3)])

    # Every request answered and stored; nothing half-captured is kept.
    assert [a.duplicate for a in answers] == [False, False, False]
    assert count(runtime.db, Inbound, Inbound.status == "accepted") == 3
    assert count(runtime.db, Contact) == 0
    assert len(jobs_of(runtime, INGEST_KIND)) == 3

    assert settle_accepted(runtime) == 3
    assert count(runtime.db, Inbound, Inbound.status == "new") == 3
    assert count(runtime.db, Contact) == 3


def test_a_group_larger_than_the_limit_is_stored_for_jobs(runtime: Runtime) -> None:
    writer = AcceptWriter(runtime, ingest_up_to=2)
    try:
        writer.accept_blocking([chat_event(n) for n in range(3)])
        writer.accept_blocking([chat_event(n) for n in range(3, 5)])
    finally:
        writer.stop()

    assert count(runtime.db, Inbound, Inbound.status == "accepted") == 3
    assert count(runtime.db, Inbound, Inbound.status == "new") == 2
    assert len(jobs_of(runtime, INGEST_KIND)) == 3


@pytest.fixture
def behind_after_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count a request as behind only after a minute, far from any wait the
    test run causes: a busy machine may take the writer thread tens of
    milliseconds to wake."""
    monkeypatch.setattr(accept_module, "BEHIND_SECONDS", 60.0)


def statuses_after(
    writer: AcceptWriter, runtime: Runtime, requests: list[_Request], answers: list
) -> list[str]:
    """Hand ``requests`` to the writer thread one at a time; each one's status."""
    writer._start()
    for request, answer in zip(requests, answers, strict=True):
        writer._waiting.put(request)
        answer.result(timeout=30)
    with runtime.db.sessions() as session:
        return [
            session.get(Inbound, answer.result()[0].inbound_id).status
            for answer in answers
        ]


@pytest.mark.usefixtures("behind_after_a_minute")
def test_a_writer_that_is_behind_only_stores(
    writer: AcceptWriter, runtime: Runtime
) -> None:
    """A request that waited long behind the writer's earlier groups: it
    stores and catches up; one that waited less is captured."""
    answers, (first, late, fresh) = one_event_requests(writer, runtime, 3)
    late.queued -= 120.0

    statuses = statuses_after(writer, runtime, [first, late, fresh], answers)

    assert statuses == ["new", "accepted", "new"]
    assert len(jobs_of(runtime, INGEST_KIND)) == 1


def test_a_request_that_finds_the_writer_idle_is_never_behind(
    writer: AcceptWriter, runtime: Runtime
) -> None:
    """However long the writer thread takes to wake (a busy machine)."""
    answers, (first, slow_to_wake) = one_event_requests(writer, runtime, 2)
    statuses_after(writer, runtime, [first], answers[:1])
    slow_to_wake.queued = time.monotonic()
    time.sleep(0.05)  # as if the writer thread took 50 ms to wake

    assert statuses_after(writer, runtime, [slow_to_wake], answers[1:]) == ["new"]


@pytest.mark.parametrize(
    ("apart_s", "status"),
    [(0.0001, "accepted"), (0.005, "new")],
    ids=["flood", "200/s"],
)
@pytest.mark.usefixtures("behind_after_a_minute")
def test_a_flood_is_only_stored_though_each_request_finds_the_writer_free(
    writer: AcceptWriter, runtime: Runtime, apart_s: float, status: str
) -> None:
    """10,000 requests a second just before: stored for jobs; 200 a second: captured."""
    answers, (request,) = one_event_requests(writer, runtime, 1)
    seen, _ = one_event_requests(writer, runtime, PACE_WINDOW)
    for n, earlier in enumerate(seen):
        earlier.queued = request.queued - (PACE_WINDOW - n) * apart_s
    writer._pace.note(seen)

    assert statuses_after(writer, runtime, [request], answers) == [status]


def test_an_earlier_key_stored_recently_enough_is_a_duplicate(
    writer: AcceptWriter, runtime: Runtime
) -> None:
    (first,) = writer.accept_blocking([chat_event(1, key="form:bucket-1")])
    stored_at = runtime.clock.now()

    answer: Future[list[Accepted]] = Future()
    earlier = Earlier("form:bucket-1", stored_at)
    writer._enqueue([chat_event(2, key="form:bucket-2")], deliver_to(answer), [earlier])

    assert answer.result(timeout=30) == [Accepted(first.inbound_id, duplicate=True)]
    assert count(runtime.db, Inbound) == 1


def test_an_earlier_buyers_capture_goes_before_a_later_buyers_touch(
    runtime: Runtime,
) -> None:
    """A burst left to jobs is not starved by touches of leads ingested later."""
    storing = AcceptWriter(runtime, ingest_up_to=0)
    ingesting = AcceptWriter(runtime)
    clock = runtime.clock
    assert isinstance(clock, VirtualClock)
    try:
        (older,) = storing.accept_blocking([chat_event(1)])
        clock.advance(timedelta(seconds=1))
        ingesting.accept_blocking([chat_event(2)])
    finally:
        storing.stop()
        ingesting.stop()

    queue = JobQueue(runtime.db, clock, PRIORITIES)
    (job,) = queue.claim("w", limit=1, lease_seconds=60)
    assert job.kind == INGEST_KIND and job.payload["inbound_id"] == older.inbound_id


@pytest.mark.postgres
def test_postgresql_writers_only_store(runtime: Runtime, pg_db: Database) -> None:
    # Its workers ingest side by side; the writers keep their one statement.
    on_pg = Runtime(
        settings=runtime.settings.with_overrides(database_url=pg_db.url),
        db=pg_db,
        workspace=runtime.workspace,
        clock=runtime.clock,
    )
    writer = AcceptWriter(on_pg)
    try:
        (accepted,) = writer.accept_blocking([chat_event(1)])
    finally:
        writer.stop()

    with pg_db.sessions() as session:
        inbound = session.get(Inbound, accepted.inbound_id)
        assert inbound is not None and inbound.status == "accepted"
