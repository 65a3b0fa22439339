"""A mail server that is down for hours delays a first touch, never drops it;
a touch whose job finally gives up is recorded failed, with the reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from firsttouch.channels.smtp import SmtpEmail
from firsttouch.clock import VirtualClock
from firsttouch.jobs.backoff import DELIVERY_CAP_SECONDS, DELIVERY_HORIZON
from firsttouch.jobs.queue import JobQueue
from firsttouch.jobs.runner import Worker, run_until_idle
from firsttouch.respond.senders import SERVICE, Senders
from firsttouch.respond.touches import GAVE_UP
from firsttouch.runtime import Runtime
from firsttouch.store.models import Job, Touch
from tests.channels.fakes import SmtpSink, free_port
from tests.respond.conftest import add_lead, queue_first_touch, worker_for

CAP = timedelta(seconds=DELIVERY_CAP_SECONDS)


def _mail_server_down(runtime: Runtime) -> Senders:
    """Point email at a loopback port nobody listens on; return the senders."""
    live: Senders = runtime.services[SERVICE]
    down = SmtpEmail("127.0.0.1", free_port(), security="none")
    runtime.services[SERVICE] = replace(live, email=down)
    return live


def _first_touch_job(runtime: Runtime, inbound_id: int) -> Job:
    queue_first_touch(runtime, inbound_id)
    [job] = JobQueue(runtime.db, runtime.clock).list()
    return job


def _job(runtime: Runtime, job_id: int) -> Job:
    with runtime.db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _touch(runtime: Runtime, inbound_id: int) -> Touch:
    with runtime.db.sessions() as session:
        touch = session.scalar(select(Touch).where(Touch.inbound_id == inbound_id))
        assert touch is not None
        return touch


def _run_for(worker: Worker, clock: VirtualClock, rounds: int) -> None:
    """Run due jobs, then move the clock on by the longest wait; ``rounds`` times."""
    for _ in range(rounds):
        run_until_idle(worker)
        clock.advance(CAP)


def test_a_first_touch_waits_out_a_six_hour_mail_outage(
    live_any: Runtime, sink: SmtpSink, clock: VirtualClock
) -> None:
    live = _mail_server_down(live_any)
    inbound_id = add_lead(live_any)
    job = _first_touch_job(live_any, inbound_id)
    worker = worker_for(live_any)

    _run_for(worker, clock, rounds=24)  # six hours
    assert _job(live_any, job.id).state == "queued"
    assert _touch(live_any, inbound_id).status == "sending"
    assert sink.received == []

    live_any.services[SERVICE] = live  # the server is back
    _run_for(worker, clock, rounds=2)
    assert _job(live_any, job.id).state == "done"
    assert _touch(live_any, inbound_id).status == "sent"
    assert [r.recipients for r in sink.received] == [["ann@buyer.example"]]


def test_a_first_touch_given_up_is_failed_with_the_reason_and_can_be_retried(
    live: Runtime, sink: SmtpSink, clock: VirtualClock
) -> None:
    working = _mail_server_down(live)
    inbound_id = add_lead(live)
    job = _first_touch_job(live, inbound_id)
    worker = worker_for(live)

    rounds = int(DELIVERY_HORIZON / CAP) + 10  # max: past the horizon
    _run_for(worker, clock, rounds=rounds)
    assert _job(live, job.id).state == "dead"
    touch = _touch(live, inbound_id)
    assert touch.status == "failed"
    assert touch.error_code == GAVE_UP
    assert "cannot reach 127.0.0.1" in (touch.error or "")
    assert sink.received == []

    # The server is back and an operator sends the job again: it goes out.
    live.services[SERVICE] = working
    JobQueue(live.db, live.clock).retry(job.id)
    run_until_idle(worker)
    assert _job(live, job.id).state == "done"
    assert _touch(live, inbound_id).status == "sent"
    assert len(sink.received) == 1


def test_a_recipient_the_server_refuses_fails_at_once(
    live: Runtime, sink: SmtpSink
) -> None:
    sink.refuse("ann@buyer.example", "550 5.1.1 no such user")
    inbound_id = add_lead(live)
    job = _first_touch_job(live, inbound_id)
    run_until_idle(worker_for(live))

    assert _job(live, job.id).state == "done"
    touch = _touch(live, inbound_id)
    assert touch.status == "failed" and touch.error_code == "550"
